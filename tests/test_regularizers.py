"""Regularizers against float64 formulas: binary, one-hot, entropy and symmetry penalties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl


def _reduce(loss, reduction, w=None, m=None):
    if w is not None:
        loss = loss * w
    if m is not None:
        m = np.broadcast_to(m, loss.shape)
        loss = np.where(m, loss, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    n = loss.size if m is None else m.sum()
    return loss.sum() / max(n, 1)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------ references
def ref_binary(x, power, alpha):
    return (np.abs(x * (1 - x)) ** power) ** alpha


def ref_one_hot(p, axis=-1):
    C = p.shape[axis]
    q = p ** (np.log(2) / np.log(C))
    return np.sum(q - q**2, axis=axis)


def ref_entropy(p, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log(p), 0.0)
    return -np.sum(t, axis=axis)


def ref_symmetry(x, axes, kind, delta=1.0):
    d = x - np.swapaxes(x, *axes)
    a = np.abs(d)
    if kind == "l1":
        return a
    if kind == "l2":
        return d**2
    return np.where(a < delta, 0.5 * d**2, delta * (a - 0.5 * delta))


# --------------------------------------------------------- binary_penalty
@pytest.mark.parametrize("power,alpha", [(2.0, 1.0), (1.0, 1.0), (1.5, 1.3), (2.0, 0.25), (3, 1)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_penalty_matches_reference(xp, rng, power, alpha, reduction):
    x = rng.uniform(-0.5, 1.5, size=(4, 6))
    w = rng.uniform(0.5, 2.0, size=(6,))
    expect = _reduce(ref_binary(x, power, alpha), reduction, w)
    got = run(xp, cl.binary_penalty, x, power=power, alpha=alpha, weight=w, reduction=reduction)
    assert_close(got, expect)


def test_binary_penalty_shape_of_wells():
    x = np.linspace(0, 1, 101)
    v = np.asarray(cl.binary_penalty(x, reduction="none"))
    assert v[0] == 0 and v[-1] == 0 and np.argmax(v) == 50
    assert_close(v[50], 0.0625)
    # power=1 is the V-shaped |x(1-x)|; alpha < 1 widens the well walls
    assert_close(cl.binary_penalty(np.array([0.5]), power=1), 0.25)
    assert cl.binary_penalty(np.array([0.05]), alpha=0.5) > cl.binary_penalty(np.array([0.05]))


@pytest.mark.parametrize("power,alpha", [(2.0, 1.0), (1.5, 1.3), (2.0, 0.4)])
def test_binary_penalty_gradient_fd(ad, rng, power, alpha):
    x = rng.uniform(0.05, 0.95, size=(3, 5))
    x[0, 0] = -0.4
    x[0, 1] = 1.3
    (g,) = grad(ad, cl.binary_penalty, x, power=power, alpha=alpha)
    assert_close(
        g, numeric_grad(cl.binary_penalty, x, power=power, alpha=alpha), rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("power,alpha", [(2.0, 1.0), (1.0, 1.0), (2.0, 0.25)])
def test_binary_penalty_exact_zero_one_finite(ad, power, alpha):
    x = np.array([0.0, 1.0, 0.5, 0.0])
    (g,) = grad(ad, cl.binary_penalty, x, power=power, alpha=alpha)
    assert np.all(np.isfinite(g))
    assert g[2] == 0.0  # the top of the hump is flat


def test_binary_penalty_mask_nan(ad):
    x = np.array([[0.2, np.nan, 0.7], [np.inf, 0.4, 0.9]])
    m = np.isfinite(x)
    v = run(ad, cl.binary_penalty, x, mask=m)
    assert_close(v, ref_binary(x[m], 2, 1).mean())
    (g,) = grad(ad, cl.binary_penalty, x, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)
    assert float(run(ad, cl.binary_penalty, x, mask=np.zeros_like(m))) == 0.0


def test_binary_penalty_bad_input():
    x = np.array([0.2, 0.4])
    with pytest.raises(ValueError, match="power"):
        cl.binary_penalty(x, power=0)
    with pytest.raises(ValueError, match="power"):
        cl.binary_penalty(x, power=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        cl.binary_penalty(x, alpha=0.0)
    with pytest.raises(TypeError, match="power"):
        cl.binary_penalty(x, power="2")
    with pytest.raises(TypeError, match="'x'"):
        cl.binary_penalty(np.array([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        cl.binary_penalty(x, reduction="avg")
    with pytest.raises(ValueError, match="mask"):
        cl.binary_penalty(x, mask=np.ones(3, dtype=bool))


# -------------------------------------------------------- one_hot_penalty
@pytest.mark.parametrize("C", [2, 3, 5, 10])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_one_hot_penalty_matches_reference(xp, rng, C, reduction):
    p = _softmax(rng.normal(size=(6, C)) * 2)
    w = rng.uniform(0.5, 2.0, size=(6,))
    expect = _reduce(ref_one_hot(p), reduction, w)
    assert_close(run(xp, cl.one_hot_penalty, p, weight=w, reduction=reduction), expect)


@pytest.mark.parametrize("C", [2, 3, 4, 7, 16])
def test_one_hot_penalty_zero_at_one_hot_max_at_uniform(rng, C):
    onehot = np.eye(C)
    assert np.all(np.asarray(cl.one_hot_penalty(onehot, reduction="none")) == 0)
    uniform = np.full((1, C), 1.0 / C)
    assert_close(cl.one_hot_penalty(uniform), C / 4)  # q = 1/2 everywhere
    others = rng.dirichlet(np.full(C, 0.7), size=200)
    assert np.all(np.asarray(cl.one_hot_penalty(others, reduction="none")) < C / 4)


def test_one_hot_penalty_two_classes_is_two_p_one_minus_p(rng):
    p = rng.uniform(size=8)
    pp = np.stack([p, 1 - p], axis=-1)
    assert_close(cl.one_hot_penalty(pp, reduction="none"), 2 * p * (1 - p))


def test_one_hot_penalty_logits_axis(xp, rng):
    z = rng.normal(size=(3, 4, 5)) * 3
    expect = ref_one_hot(_softmax(z, axis=1), axis=1)
    got = run(xp, cl.one_hot_penalty, z, axis=1, from_logits=True, reduction="none")
    assert got.shape == (3, 5)
    assert_close(got, expect)


@pytest.mark.parametrize("from_logits", [False, True])
def test_one_hot_penalty_gradient_fd(ad, rng, from_logits):
    z = rng.normal(size=(4, 5))
    x = z if from_logits else _softmax(z)
    kw = {"from_logits": from_logits, "axis": -1}
    (g,) = grad(ad, cl.one_hot_penalty, x, **kw)
    assert_close(g, numeric_grad(cl.one_hot_penalty, x, eps=1e-7, **kw), rtol=1e-5, atol=1e-8)


def test_one_hot_penalty_extreme_logits_finite_gradient(ad):
    z = np.array([[1e4, 0.0, -1e4], [50.0, -50.0, 0.0], [-np.inf, 0.0, 0.0]])
    v = run(ad, cl.one_hot_penalty, z, from_logits=True, reduction="none")
    assert np.all(np.isfinite(v))
    (g,) = grad(ad, cl.one_hot_penalty, z, from_logits=True)
    assert np.all(np.isfinite(g))
    # exact zeros in probabilities: finite gradient too
    (g,) = grad(ad, cl.one_hot_penalty, np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]))
    assert np.all(np.isfinite(g))


def test_one_hot_penalty_mask_nan(ad, rng):
    p = _softmax(rng.normal(size=(5, 4)))
    m = np.array([True, False, True, True, False])
    p[1] = np.nan
    p[4, 0] = np.inf
    v = run(ad, cl.one_hot_penalty, p, mask=m)
    assert_close(v, ref_one_hot(p[m]).mean())
    (g,) = grad(ad, cl.one_hot_penalty, p, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


def test_one_hot_penalty_bad_input():
    with pytest.raises(ValueError, match="'p' needs at least 2 classes"):
        cl.one_hot_penalty(np.ones((4, 1)))
    with pytest.raises(ValueError, match="'p' needs at least 2 classes"):
        cl.one_hot_penalty(np.ones((1, 4)), axis=0)
    with pytest.raises(ValueError, match="'p'.*probabilities"):
        cl.one_hot_penalty(np.array([[1.5, -0.5]]))
    with pytest.raises(ValueError, match="axis"):
        cl.one_hot_penalty(np.ones((2, 3)) / 3, axis=2)
    with pytest.raises(ValueError, match="weight"):
        cl.one_hot_penalty(np.ones((2, 3)) / 3, weight=np.ones(3))


# -------------------------------------------------------- entropy_penalty
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_entropy_penalty_matches_reference(xp, rng, reduction):
    z = rng.normal(size=(6, 5)) * 2
    w = rng.uniform(0.5, 2.0, size=(6,))
    expect = _reduce(ref_entropy(_softmax(z)), reduction, w)
    assert_close(run(xp, cl.entropy_penalty, z, weight=w, reduction=reduction), expect)
    p = _softmax(z)
    got = run(xp, cl.entropy_penalty, p, from_logits=False, weight=w, reduction=reduction)
    assert_close(got, expect)


def test_entropy_penalty_known_values():
    assert_close(cl.entropy_penalty(np.zeros((1, 7))), math.log(7))
    assert_close(cl.entropy_penalty(np.array([[1.0, 0.0, 0.0]]), from_logits=False), 0.0)


def test_entropy_penalty_peer_torch(rng):
    torch = pytest.importorskip("torch")
    z = torch.from_numpy(rng.normal(size=(3, 6, 4)) * 2)
    peer = torch.distributions.Categorical(logits=z.movedim(1, -1)).entropy()
    assert_close(cl.entropy_penalty(z, axis=1, reduction="none"), peer)


@pytest.mark.parametrize("from_logits", [True, False])
def test_entropy_penalty_gradient_fd(ad, rng, from_logits):
    z = rng.normal(size=(3, 4))
    x = z if from_logits else _softmax(z)
    (g,) = grad(ad, cl.entropy_penalty, x, axis=0, from_logits=from_logits)
    assert_close(
        g,
        numeric_grad(cl.entropy_penalty, x, axis=0, from_logits=from_logits),
        rtol=1e-6,
        atol=1e-9,
    )


def test_entropy_penalty_zero_probabilities_and_inf_logits(ad):
    z = np.array([[-np.inf, 0.0, 1.0], [1e4, 0.0, -1e4]])
    v = run(ad, cl.entropy_penalty, z, reduction="none")
    assert np.all(np.isfinite(v))
    assert_close(v[1], 0.0, atol=1e-12)
    (g,) = grad(ad, cl.entropy_penalty, z)
    assert np.all(np.isfinite(g))
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert_close(
        run(ad, cl.entropy_penalty, p, from_logits=False, reduction="none"), [0.0, math.log(2)]
    )
    (g,) = grad(ad, cl.entropy_penalty, p, from_logits=False)
    assert np.all(np.isfinite(g))


def test_entropy_penalty_mask_nan(ad, rng):
    z = rng.normal(size=(4, 3))
    z[2] = np.nan
    m = np.array([True, True, False, True])
    assert_close(run(ad, cl.entropy_penalty, z, mask=m), ref_entropy(_softmax(z[m])).mean())
    (g,) = grad(ad, cl.entropy_penalty, z, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[2] == 0)


def test_entropy_penalty_bad_input():
    with pytest.raises(ValueError, match="probabilities"):
        cl.entropy_penalty(np.array([[2.0, -1.0]]), from_logits=False)
    with pytest.raises(TypeError, match="'input'"):
        cl.entropy_penalty(np.array([[1, 2]]))
    with pytest.raises(ValueError, match="axis"):
        cl.entropy_penalty(np.zeros((2, 3)), axis=-3)


# ------------------------------------------------------- symmetry_penalty
@pytest.mark.parametrize("kind,delta", [("l1", 1.0), ("l2", 1.0), ("huber", 1.0), ("huber", 0.3)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_symmetry_penalty_matches_reference(xp, rng, kind, delta, reduction):
    x = rng.normal(size=(2, 5, 5))
    w = rng.uniform(0.5, 2.0, size=(5,))
    expect = _reduce(ref_symmetry(x, (-2, -1), kind, delta), reduction, w)
    got = run(xp, cl.symmetry_penalty, x, kind=kind, delta=delta, weight=w, reduction=reduction)
    assert_close(got, expect)


def test_symmetry_penalty_other_axes(xp, rng):
    x = rng.normal(size=(4, 3, 4))
    got = run(xp, cl.symmetry_penalty, x, axes=(0, 2), kind="l2", reduction="none")
    assert_close(got, ref_symmetry(x, (0, 2), "l2"))
    got2 = run(xp, cl.symmetry_penalty, x, axes=(2, 0), kind="l2", reduction="none")
    assert_close(got2, got)


def test_symmetry_penalty_zero_on_symmetric(rng):
    a = rng.normal(size=(6, 6))
    for kind in ("l1", "l2", "huber"):
        assert float(cl.symmetry_penalty(a + a.T, kind=kind)) == 0.0


@pytest.mark.parametrize("kind", ["l1", "l2", "huber"])
def test_symmetry_penalty_gradient_fd(ad, rng, kind):
    x = rng.normal(size=(2, 4, 4))
    (g,) = grad(ad, cl.symmetry_penalty, x, kind=kind, delta=0.5)
    assert_close(
        g, numeric_grad(cl.symmetry_penalty, x, kind=kind, delta=0.5), rtol=1e-6, atol=1e-9
    )


def test_symmetry_penalty_symmetric_mask_nan(ad, rng):
    x = rng.normal(size=(5, 5))
    m = np.ones((5, 5), dtype=bool)
    m[1, 3] = m[3, 1] = False
    x[1, 3] = np.nan
    m[0, 4] = m[4, 0] = False
    x[4, 0] = np.inf
    full = ref_symmetry(np.nan_to_num(x), (0, 1), "l1")
    assert_close(run(ad, cl.symmetry_penalty, x, mask=m), full[m].mean())
    (g,) = grad(ad, cl.symmetry_penalty, x, mask=m)
    assert np.all(np.isfinite(g)) and g[1, 3] == 0 and g[4, 0] == 0


def test_symmetry_penalty_asymmetric_mask_counts_loss_entries(rng):
    # a mask selects entries of the loss: (0, 1) masked, (1, 0) still counts
    x = rng.normal(size=(3, 3))
    m = np.ones((3, 3), dtype=bool)
    m[0, 1] = False
    full = ref_symmetry(x, (0, 1), "l2")
    assert_close(cl.symmetry_penalty(x, kind="l2", mask=m, reduction="sum"), full[m].sum())
    assert_close(cl.symmetry_penalty(x, kind="l2", mask=m), full[m].sum() / 8)


def test_symmetry_penalty_bad_input():
    x = np.zeros((3, 3))
    with pytest.raises(ValueError, match="'axes'.*equal lengths"):
        cl.symmetry_penalty(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="'axes'.*distinct"):
        cl.symmetry_penalty(x, axes=(1, -1))
    with pytest.raises(ValueError, match="'axes'"):
        cl.symmetry_penalty(x, axes=(0, 2))
    with pytest.raises(TypeError, match="'axes'"):
        cl.symmetry_penalty(x, axes=(0, 1, 2))
    with pytest.raises(TypeError, match="'axes'"):
        cl.symmetry_penalty(x, axes=1)
    with pytest.raises(ValueError, match="'axes'"):
        cl.symmetry_penalty(np.zeros(3))
    with pytest.raises(ValueError, match="kind"):
        cl.symmetry_penalty(x, kind="l3")
    with pytest.raises(ValueError, match="delta"):
        cl.symmetry_penalty(x, kind="huber", delta=0.0)


# ---------------------------------------------------- torch.compile / jit
CASES = [
    (cl.binary_penalty, lambda r: r.uniform(size=(3, 4)), {"power": 1.0, "alpha": 0.7}),
    (cl.one_hot_penalty, lambda r: r.normal(size=(3, 4)), {"from_logits": True, "axis": 0}),
    (cl.one_hot_penalty, lambda r: _softmax(r.normal(size=(3, 4))), {}),
    (cl.entropy_penalty, lambda r: r.uniform(size=(3, 4)) / 4, {"from_logits": False}),
    (cl.symmetry_penalty, lambda r: r.normal(size=(4, 3, 4)), {"axes": (0, 2), "kind": "l1"}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_torch_compile_fullgraph(rng, case):
    torch = pytest.importorskip("torch")
    fn, make, kw = CASES[case]
    x = make(rng)
    m = rng.uniform(size=np.asarray(fn(x, reduction="none", **kw)).shape) > 0.3
    out = compile_fullgraph(
        lambda a, mm: fn(a, mask=mm, **kw), torch.from_numpy(x), torch.from_numpy(m)
    )
    assert_close(out, fn(x, mask=m, **kw))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_jax_jit_and_vmap(rng, case):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    fn, make, kw = CASES[case]
    x = np.stack([make(rng), make(rng)])
    f = jax.jit(jax.vmap(lambda a: fn(a, **kw)))
    out = f(jnp.asarray(x))
    assert_close(out, [fn(x[0], **kw), fn(x[1], **kw)], rtol=1e-6, atol=1e-7)


def test_half_precision_computes_in_float32():
    torch = pytest.importorskip("torch")
    x = torch.rand(4, 4, dtype=torch.float16)
    for fn in (cl.binary_penalty, cl.one_hot_penalty, cl.entropy_penalty, cl.symmetry_penalty):
        out = fn(x if fn is not cl.one_hot_penalty else x / x.sum(-1, keepdim=True))
        assert out.dtype == torch.float32
