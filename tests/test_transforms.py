"""Transforms against float64 formulas: sharpen, symmetrize, triangle_mask, symmetric_loss."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid_focal_ref(x, y, alpha=0.25, gamma=2.0):
    p = 1 / (1 + np.exp(-x))
    ce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    pt = p * y + (1 - p) * (1 - y)
    return (alpha * y + (1 - alpha) * (1 - y)) * (1 - pt) ** gamma * ce


def test_catalog_entries():
    for n in ("sharpen", "symmetrize", "triangle_mask", "symmetric_loss", "tempered_softmax"):
        assert n in cl.transforms.__all__ and hasattr(cl, n)
    for n in ("sharpen", "symmetrize", "triangle_mask", "symmetric_loss"):
        info = cl.get(n)
        assert info.family == "transforms" and info.kind == "transform" and info.reference


# ---------------------------------------------------------------- sharpen
@pytest.mark.parametrize("T", [0.1, 0.5, 1.0, 3.0])
def test_sharpen_matches_reference(xp, rng, T):
    z = rng.normal(size=(4, 6)) * 2
    assert_close(run(xp, cl.sharpen, z, temperature=T), _softmax(z / T))
    got = run(xp, cl.sharpen, z, temperature=T, axis=0)
    assert_close(got, _softmax(z / T, axis=0))


def test_sharpen_limits(rng):
    z = rng.normal(size=(5, 4))
    hard = np.asarray(cl.sharpen(z, temperature=1e-3))
    assert_close(hard, np.eye(4)[z.argmax(-1)], atol=1e-12)
    flat = np.asarray(cl.sharpen(z, temperature=1e6))
    assert_close(flat, np.full((5, 4), 0.25), atol=1e-6)
    # lower temperature, higher max-probability
    assert np.all(hard.max(-1) >= np.asarray(cl.sharpen(z, temperature=1.0)).max(-1))


def test_sharpen_gradient_fd(ad, rng):
    z = rng.normal(size=(3, 4))
    w = rng.normal(size=(3, 4))

    def f(a):
        return cl.sharpen(a, temperature=0.7) * _as(a, w)

    (g,) = grad(ad, f, z)
    assert_close(g, numeric_grad(f, z), rtol=1e-6, atol=1e-9)


def _as(a, w):
    """``w`` as an array of ``a``'s namespace (numpy, torch tensor or jax array)."""
    if isinstance(a, np.ndarray):
        return w
    if type(a).__module__.startswith("torch"):
        import torch

        return torch.from_numpy(w)
    import jax.numpy as jnp

    return jnp.asarray(w)


def test_sharpen_extreme_logits_finite(ad):
    z = np.array([[1e4, 0.0, -1e4], [-np.inf, 0.0, 1.0]])
    out = run(ad, cl.sharpen, z, temperature=0.1)
    assert np.all(np.isfinite(out))
    assert_close(out[0], [1.0, 0.0, 0.0])


def test_sharpen_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        cl.sharpen(np.zeros(3), temperature=0.0)
    with pytest.raises(TypeError, match="temperature"):
        cl.sharpen(np.zeros(3), temperature=None)
    with pytest.raises(TypeError, match="'input'"):
        cl.sharpen(np.arange(3), temperature=1.0)
    with pytest.raises(TypeError):
        cl.sharpen(np.zeros(3))  # temperature is required


# ------------------------------------------------------------- symmetrize
def test_symmetrize_matches_reference(xp, rng):
    x = rng.normal(size=(2, 4, 4))
    out = run(xp, cl.symmetrize, x)
    assert_close(out, (x + np.swapaxes(x, -1, -2)) / 2)
    assert np.array_equal(out, np.swapaxes(out, -1, -2))
    y = rng.normal(size=(3, 2, 3))
    assert_close(run(xp, cl.symmetrize, y, axes=(0, 2)), (y + np.swapaxes(y, 0, 2)) / 2)


def test_symmetrize_gradient_fd(ad, rng):
    x = rng.normal(size=(3, 3))
    w = rng.normal(size=(3, 3))

    def f(a):
        return cl.symmetrize(a) * _as(a, w)

    (g,) = grad(ad, f, x)
    assert_close(g, numeric_grad(f, x), rtol=1e-6, atol=1e-9)
    assert_close(g, (w + w.T) / 2)


def test_symmetrize_bad_input():
    with pytest.raises(ValueError, match="'axes'.*equal lengths"):
        cl.symmetrize(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="'axes'.*distinct"):
        cl.symmetrize(np.zeros((3, 3)), axes=(0, 0))
    with pytest.raises(TypeError, match="'axes'"):
        cl.symmetrize(np.zeros((3, 3)), axes=(0, 1.0))


# ---------------------------------------------------------- triangle_mask
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("diag", [True, False])
def test_triangle_mask_matches_numpy(xp, lower, diag):
    x = np.zeros((2, 5, 5))
    m = run(xp, cl.triangle_mask, x, lower=lower, include_diagonal=diag)
    k = 0 if diag else (-1 if lower else 1)
    ref = np.tril(np.ones((5, 5), bool), k) if lower else np.triu(np.ones((5, 5), bool), k)
    assert m.dtype == np.bool_ and m.shape == (1, 5, 5)
    assert np.array_equal(m[0], ref)


def test_triangle_mask_other_axes_and_namespace(xp):
    x = xp.asarray(np.zeros((4, 2, 4)))
    m = cl.triangle_mask(x, axes=(0, 2))
    assert type(m) is type(x) or xp.name in ("jax", "dask")
    m = xp.to_numpy(m)
    assert m.shape == (4, 1, 4)
    assert np.array_equal(m[:, 0, :], np.tril(np.ones((4, 4), bool)))
    # axes reversed: the lower triangle in (axes[0], axes[1]) order
    m2 = xp.to_numpy(cl.triangle_mask(x, axes=(2, 0)))
    assert np.array_equal(m2[:, 0, :], np.triu(np.ones((4, 4), bool)))


def test_triangle_mask_as_loss_mask(xp, rng):
    x, y = rng.normal(size=(3, 6, 6)), rng.normal(size=(3, 6, 6))
    m = cl.triangle_mask(x)
    d2 = (x - y) ** 2
    sel = np.broadcast_to(np.tril(np.ones((6, 6), bool)), d2.shape)
    got = run(xp, lambda a, b: cl.mse_loss(a, b, mask=cl.triangle_mask(a)), x, y)
    assert_close(got, d2[sel].mean())
    assert np.asarray(m).sum() == 21


def test_triangle_mask_bad_input():
    with pytest.raises(ValueError, match="'axes'"):
        cl.triangle_mask(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="lower"):
        cl.triangle_mask(np.zeros((3, 3)), lower=1)
    with pytest.raises(TypeError, match="include_diagonal"):
        cl.triangle_mask(np.zeros((3, 3)), include_diagonal="yes")


# --------------------------------------------------------- symmetric_loss
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_symmetric_loss_matches_reference(xp, rng, reduction):
    x = rng.normal(size=(2, 5, 5)) * 2
    y = (rng.uniform(size=(2, 5, 5)) < 0.3).astype(float)
    y = np.maximum(y, np.swapaxes(y, -1, -2))
    ref = _sigmoid_focal_ref(x, y) + _sigmoid_focal_ref(np.swapaxes(x, -1, -2), y)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    f = cl.symmetric_loss(cl.focal_loss)
    assert_close(run(xp, f, x, y, reduction=reduction), ref)


def test_symmetric_loss_kwargs_and_axes(xp, rng):
    x, y = rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 3, 4))
    m = rng.uniform(size=(4, 3, 4)) > 0.4
    f = cl.symmetric_loss(cl.huber_loss, axes=(0, 2))
    xt = np.swapaxes(x, 0, 2)

    def hub(d, delta=0.5):
        a = np.abs(d)
        return np.where(a < delta, 0.5 * d**2, delta * (a - delta / 2))

    ref = hub(x - y)[m].mean() + hub(xt - y)[m].mean()
    assert_close(run(xp, f, x, y, delta=0.5, mask=m), ref)


def test_symmetric_loss_gradient_fd(ad, rng):
    x, y = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    f = cl.symmetric_loss(cl.mse_loss)
    (g,) = grad(ad, f, x, y)
    assert_close(g, numeric_grad(f, x, y), rtol=1e-6, atol=1e-9)


def test_symmetric_loss_wrapper():
    f = cl.symmetric_loss(cl.focal_loss)
    assert f.__name__ == "symmetric_focal_loss" and "focal_loss" in f.__doc__
    with pytest.raises(TypeError, match="loss_fn"):
        cl.symmetric_loss("focal_loss")
    with pytest.raises(TypeError, match="'axes'"):
        cl.symmetric_loss(cl.mse_loss, axes=0)
    with pytest.raises(ValueError, match="'axes'.*equal lengths"):
        cl.symmetric_loss(cl.mse_loss)(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="reduction"):
        f(np.zeros((2, 2)), np.zeros((2, 2)), reduction="avg")


# ---------------------------------------------------- torch.compile / jit
def _compile_cases():
    fl = cl.symmetric_loss(cl.focal_loss)
    return [
        (lambda a, b: cl.sharpen(a, temperature=0.5, axis=0), False),
        (lambda a, b: cl.symmetrize(a), False),
        (lambda a, b: cl.binary_cross_entropy(a, b, mask=cl.triangle_mask(a, lower=False)), True),
        (lambda a, b: fl(a, b, mask=cl.triangle_mask(a)), True),
        (lambda a, b: cl.focal_loss(cl.symmetrize(a), b) + cl.symmetry_penalty(a), True),
    ]


@pytest.mark.parametrize("case", range(5))
def test_torch_compile_fullgraph(rng, case):
    torch = pytest.importorskip("torch")
    fn, _ = _compile_cases()[case]
    x = rng.normal(size=(2, 4, 4))
    y = (rng.uniform(size=(2, 4, 4)) < 0.3).astype(float)
    out = compile_fullgraph(fn, torch.from_numpy(x), torch.from_numpy(y))
    assert_close(out, fn(x, y))


@pytest.mark.parametrize("case", range(5))
def test_jax_jit(rng, case):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    fn, _ = _compile_cases()[case]
    x = rng.normal(size=(2, 4, 4)).astype(np.float32)
    y = (rng.uniform(size=(2, 4, 4)) < 0.3).astype(np.float32)
    out = jax.jit(fn)(jnp.asarray(x), jnp.asarray(y))
    assert_close(out, fn(x.astype(float), y.astype(float)), rtol=1e-5, atol=1e-6)


def test_half_precision(rng):
    torch = pytest.importorskip("torch")
    x = torch.randn(3, 3, dtype=torch.bfloat16)
    assert cl.sharpen(x, temperature=0.5).dtype == torch.float32
    assert cl.symmetrize(x).dtype == torch.float32
