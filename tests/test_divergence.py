"""Divergences and their classification losses against float64 formulas and live peers.

nll_loss, kl_divergence, generalized_kl_divergence, poly_loss,
generalized_cross_entropy, sparsemax, sparsemax_loss, binary_sparsemax_loss:
an independent NumPy reference for each (written from the formula), the peers
(torch.nn.functional, optax, Keras) value and gradient, masks, extremes, bad
input, ``torch.compile(fullgraph=True)`` and ``jax.jit``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl

NAMES = [
    "nll_loss",
    "kl_divergence",
    "generalized_kl_divergence",
    "poly_loss",
    "generalized_cross_entropy",
    "sparsemax",
    "sparsemax_loss",
    "binary_sparsemax_loss",
]


# --------------------------------------------------------- float64 references
def log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1):
    return np.exp(log_softmax(x, axis))


def one_hot(t, C, ignore=None):
    valid = np.ones(t.shape, bool) if ignore is None else t != ignore
    return np.eye(C)[np.where(valid, t, 0)] * valid[..., None], valid


def reduce(per, reduction, denom=None):
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    d = per.size if denom is None else denom
    return per.sum() / d if d else 0.0


def ref_nll(x, t, cw=None, ignore=None, reduction="mean", axis=-1):
    x = np.moveaxis(x, axis, -1)
    C = x.shape[-1]
    w = np.ones(C) if cw is None else cw
    y, valid = one_hot(t, C, ignore)
    per = -(y * w * np.where(y > 0, x, 0.0)).sum(-1)
    denom = (y * w).sum() if cw is not None else valid.sum()
    return reduce(per, reduction, denom)


def xlogy(a, b):
    return np.where(a == 0, 0.0, a * np.log(np.where(a == 0, 1.0, b)))


def ref_kl(logp, t, axis=-1):
    """sum t (log t - log p): per sample."""
    return (xlogy(t, t) - np.where(t == 0, 0.0, t * logp)).sum(axis)


def ref_gkl(logp, t, axis=-1):
    return (xlogy(t, t) - np.where(t == 0, 0.0, t * logp) - t + np.exp(logp)).sum(axis)


def ref_poly(x, y, eps, axis=-1):
    """y: one-hot or probabilities of x's shape."""
    lp = log_softmax(x, axis)
    return -(y * lp).sum(axis) + eps * (y * (1 - np.exp(lp))).sum(axis)


def ref_gce(p, y, q, axis=-1):
    """p: probabilities; y: one-hot or probabilities."""
    return (y * (1 - p**q) / q).sum(axis)


def ref_sparsemax(z):
    """Martins & Astudillo's Algorithm 1, one vector at a time (last axis)."""
    z2 = z.reshape(-1, z.shape[-1])
    out = np.zeros_like(z2)
    for i, v in enumerate(z2):
        s = np.sort(v)[::-1]
        k = np.arange(1, v.size + 1)
        kz = k[1 + k * s > np.cumsum(s)].max()
        tau = (s[:kz].sum() - 1) / kz
        out[i] = np.maximum(v - tau, 0)
    return out.reshape(z.shape)


def ref_sparsemax_loss(z, y):
    """Eq. (20): -y.z + 1/2 sum_S (z_j^2 - tau^2) + 1/2 |y|^2, last axis."""
    p = ref_sparsemax(z)
    tau = (z - p)[np.arange(z.shape[0]), p.argmax(-1)]
    S = p > 0
    omega = 0.5 * np.where(S, z**2 - tau[:, None] ** 2, 0.0).sum(-1)
    return -(y * z).sum(-1) + omega + 0.5 * (y * y).sum(-1)


def sparse_plus(x):
    return np.where(x <= -1, 0.0, np.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x):
    return np.clip((x + 1) / 2, 0, 1)


def ref_binary_sparsemax(x, y):
    return y * sparse_plus(-x) + (1 - y) * sparse_plus(x) - y * (1 - y)


# ------------------------------------------------------------------ peers
def _jax():
    pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    import _backends

    _backends.get("jax")  # x64 on
    import jax
    import jax.numpy as jnp

    return jax, jnp, optax


def _torch():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


@pytest.fixture
def data(rng):
    x = rng.normal(size=(7, 5)) * 2
    t = rng.integers(0, 5, size=7)
    ys = softmax(rng.normal(size=(7, 5)) * 2)
    ys[rng.uniform(size=ys.shape) < 0.3] = 0.0
    ys[:, 0] += 1e-2
    ys /= ys.sum(-1, keepdims=True)
    return {
        "x": x,
        "lp": log_softmax(rng.normal(size=(7, 5)) * 2),
        "t": t,
        "ys": ys,
        "cw": rng.uniform(0.3, 2.0, size=5),
        "m": np.array([True, False, True, True, False, True, True]),
    }


def test_catalog_entries():
    for n in NAMES:
        info = cl.get(n)
        assert n in cl.divergence.__all__ and getattr(cl, n) is info.fn
        assert info.reference and info.example is not None and info.peers
    assert cl.get("sparsemax").kind == "transform"
    assert cl.get("sparsemax").family == "transforms"
    assert cl.get("kl_divergence").family == "classification"


# ================================================================ nll_loss
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_cw", [False, True])
def test_nll_matches_reference(xp, data, reduction, use_cw):
    lp, t = data["lp"], data["t"].copy()
    t[2] = -100
    cw = data["cw"] if use_cw else None
    ref = ref_nll(lp, t, cw, -100, reduction)
    kw = {"class_weight": cw} if use_cw else {}
    got = run(xp, cl.nll_loss, lp, t, ignore_index=-100, reduction=reduction, **kw)
    assert_close(got, ref)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_cw", [False, True])
def test_nll_peer_torch_value_and_grad_axis1(rng, reduction, use_cw):
    torch, F = _torch()
    x = log_softmax(rng.normal(size=(4, 5, 3)), axis=1)
    t = rng.integers(0, 5, size=(4, 3))
    t[1, 2] = -100
    cw = rng.uniform(0.3, 2.0, size=5) if use_cw else None
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    ct = None if cw is None else torch.tensor(cw)
    ref = F.nll_loss(xt, tt, weight=ct, reduction=reduction)  # ignore_index -100 by default
    (gref,) = torch.autograd.grad(ref.sum(), xt)
    xo = torch.tensor(x, requires_grad=True)
    out = cl.nll_loss(xo, tt, axis=1, class_weight=ct, ignore_index=-100, reduction=reduction)
    (g,) = torch.autograd.grad(out.sum(), xo)
    assert_close(out.detach().numpy(), ref.detach().numpy())
    assert_close(g.numpy(), gref.numpy())


def test_nll_is_cross_entropy_of_log_softmax(xp, data):
    x, t, cw, ys = data["x"], data["t"], data["cw"], data["ys"]
    for tgt, kw in ((t, {"class_weight": cw}), (ys, {"class_weight": cw}), (t, {})):
        a = run(xp, cl.nll_loss, log_softmax(x), tgt, **kw)
        b = run(xp, cl.cross_entropy, x, tgt, **kw)
        assert_close(a, b)


def test_nll_probability_targets_reference(xp, data):
    lp, ys, cw = data["lp"], data["ys"], data["cw"]
    ref = -(ys * cw * lp).sum(-1)
    assert_close(run(xp, cl.nll_loss, lp, ys, class_weight=cw, reduction="none"), ref)
    assert_close(run(xp, cl.nll_loss, lp, ys, class_weight=cw), ref.mean())


def test_nll_minus_inf_off_target_and_gradient(ad):
    lp = np.array([[0.0, -np.inf, -np.inf], [-np.log(2), -np.log(2), -np.inf]])
    t = np.array([0, 1])
    val = run(ad, cl.nll_loss, lp, t, reduction="none")
    assert_close(val, [0.0, np.log(2)])
    (g,) = grad(ad, cl.nll_loss, lp, t, reduction="sum")
    assert_close(g, [[-1.0, 0, 0], [0, -1.0, 0]])
    # the target itself at -inf: the exact +inf
    assert np.isinf(run(ad, cl.nll_loss, lp, np.array([1, 2]), reduction="sum"))


def test_nll_all_ignored_is_zero_not_nan(xp, data):
    t = np.full(7, -100)
    for cw in (None, data["cw"]):
        out = run(xp, cl.nll_loss, data["lp"], t, ignore_index=-100, class_weight=cw)
        assert float(out) == 0.0


def test_nll_integer_target_dtypes(xp, data):
    """int32 / int8 / uint8 labels (Keras passes int32): the gather takes any integer."""
    ref = ref_nll(data["lp"], data["t"], data["cw"])
    for dt in ("int32", "int8", "uint8"):
        got = run(xp, cl.nll_loss, data["lp"], data["t"].astype(dt), class_weight=data["cw"])
        assert_close(got, ref)


def test_nll_and_kl_no_intermediate_overflow(ad):
    """Positive "log-probabilities" of +-3e38 in float32: rows and the batch sum overflow
    only where their float64 value does; +inf and -inf rows never sum to NaN."""
    x = np.array([[3e38, 3e38, -3e38], [-3e38, 0.0, 0.0], [3e38, 0.0, 0.0]], dtype="float32")
    t = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype="float32")
    x64, t64 = x.astype(float), t.astype(float)
    for red in ("none", "sum", "mean"):
        got = run(ad, cl.kl_divergence, x, t, reduction=red)
        assert_close(got, reduce(ref_kl(x64, t64), red), rtol=1e-6)
    cw = np.array([2.0, 1.0, 1.0], dtype="float32")
    idx = np.array([0, 0, 0])
    rows = run(ad, cl.nll_loss, x, idx, class_weight=cw, reduction="none")
    assert np.isneginf(rows[0]) and np.isposinf(rows[1])  # 6e38: beyond float32
    total = run(ad, cl.nll_loss, x, idx, class_weight=cw, reduction="sum")
    assert np.isneginf(total)  # float64: -6e38, beyond float32 as well; never NaN
    small = np.array([[3e38, 0.0], [-3e38, 0.0], [-3e38, 0.0]], dtype="float32")
    got = run(ad, cl.nll_loss, small, np.array([0, 0, 0]), reduction="sum")
    assert_close(got, 3e38, rtol=1e-6)  # a float32 running sum passes through -inf
    for fn, tgt in ((cl.kl_divergence, t), (cl.nll_loss, idx)):
        (g,) = grad(ad, fn, x, tgt)
        assert np.all(np.isfinite(g))


# ============================================================ kl_divergence
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_kl_matches_reference(xp, data, reduction):
    lp, ys = data["lp"], data["ys"]
    ref = reduce(ref_kl(lp, ys), reduction)
    assert_close(run(xp, cl.kl_divergence, lp, ys, reduction=reduction), ref)
    # the same with probabilities, log targets, and on axis 0
    assert_close(
        run(xp, cl.kl_divergence, np.exp(lp), ys, log_input=False, reduction=reduction), ref
    )
    with np.errstate(divide="ignore"):
        lt = np.log(ys)  # -inf at the zero targets
    assert_close(run(xp, cl.kl_divergence, lp, lt, log_target=True, reduction=reduction), ref)
    got = run(xp, cl.kl_divergence, lp.T, ys.T, axis=0, reduction=reduction)
    assert_close(got, ref)


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_peer_torch_every_reduction(rng, log_target):
    torch, F = _torch()
    x = log_softmax(rng.normal(size=(6, 4)))
    y = softmax(rng.normal(size=(6, 4)))
    y[0, 1] = 0.0
    tgt = np.log(np.where(y > 0, y, 1.0)) if log_target else y
    if log_target:
        tgt[0, 1] = -700.0  # torch's log_target: exp(-inf) * (-inf - x) is NaN there
        inf = tgt.copy()
        inf[0, 1] = -np.inf
        assert torch.isnan(
            F.kl_div(torch.tensor(x), torch.tensor(inf), reduction="sum", log_target=True)
        )
        assert_close(
            cl.kl_divergence(x, inf, log_target=True), cl.kl_divergence(x, tgt, log_target=True)
        )
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(tgt)

    def ours(reduction):
        return cl.kl_divergence(xt, tt, log_target=log_target, reduction=reduction)

    def peer(reduction):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: "'mean' divides ... by the support size"
            return F.kl_div(xt, tt, reduction=reduction, log_target=log_target)

    C = x.shape[1]
    pairs = [
        (ours("mean"), peer("batchmean")),
        (ours("sum"), peer("sum")),
        (ours("mean") / C, peer("mean")),  # torch's "mean" averages every element
        (ours("none"), peer("none").sum(1)),  # torch's "none" is elementwise
    ]
    for a, b in pairs:
        assert_close(a.detach().numpy(), b.detach().numpy())
        ga = torch.autograd.grad(a.sum(), xt)[0]
        gb = torch.autograd.grad(b.sum(), xt)[0]
        assert_close(ga.numpy(), gb.numpy())


def test_kl_peer_torch_batchmean_higher_rank(rng):
    torch, F = _torch()
    x = log_softmax(rng.normal(size=(3, 4, 5)), axis=1)
    y = softmax(rng.normal(size=(3, 4, 5)), axis=1)
    xt, yt = torch.tensor(x), torch.tensor(y)
    ref = F.kl_div(xt, yt, reduction="batchmean")  # sum / N
    got = cl.kl_divergence(xt, yt, axis=1, reduction="sum") / x.shape[0]
    assert_close(got.numpy(), ref.numpy())


def test_kl_peer_optax_value_and_grad(data):
    jax, jnp, optax = _jax()
    lp, ys = jnp.asarray(data["lp"]), jnp.asarray(data["ys"])
    lt = jnp.log(jnp.where(ys > 0, ys, 1.0))
    for ours, peer, tgt in (
        (
            lambda x, y: cl.kl_divergence(x, y, reduction="none"),
            optax.losses.kl_divergence,
            ys,
        ),
        (
            lambda x, y: cl.kl_divergence(x, y, log_target=True, reduction="none"),
            optax.losses.kl_divergence_with_log_targets,
            lt,
        ),
    ):
        assert_close(jax.jit(ours)(lp, tgt), peer(lp, tgt))
        ga = jax.grad(lambda x, f=ours, y=tgt: jnp.sum(f(x, y) ** 2))(lp)
        gb = jax.grad(lambda x, f=peer, y=tgt: jnp.sum(f(x, y) ** 2))(lp)
        assert_close(ga, gb)


def test_kl_zero_targets_exactly_zero_no_nan_gradient(ad):
    """t = 0 with log p = -inf (also log t = -inf): 0, gradient 0, no NaN."""
    lp = np.array([[0.0, -np.inf, -np.inf], [-np.log(2), -np.log(2), -np.inf]])
    t = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    with np.errstate(divide="ignore"):
        lt = np.log(t)
    for fn in (cl.kl_divergence, cl.generalized_kl_divergence):
        for tgt, kw in ((t, {}), (lt, {"log_target": True})):
            val = run(ad, fn, lp, tgt, reduction="none", **kw)
            assert_close(val, [0.0, 0.0], atol=1e-15)
            gx, gt = grad(ad, fn, lp, tgt, argnums=(0, 1), **kw)
            assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gt)), (gx, gt)
            assert np.all(gx[t == 0] == 0)
    # probabilities: p = 0 where t = 0
    p = np.exp(lp)
    val = run(ad, cl.kl_divergence, p, t, log_input=False, reduction="none")
    assert_close(val, [0.0, 0.0], atol=1e-15)
    (g,) = grad(ad, cl.kl_divergence, p, t, log_input=False)
    assert np.all(np.isfinite(g)) and np.all(g[t == 0] == 0)
    # mass where p = 0: the exact +inf
    mass = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    bad = run(ad, cl.kl_divergence, p, mass, log_input=False, reduction="none")
    assert np.all(np.isposinf(bad))


def test_kl_target_gradient(ad, data):
    """The target is differentiable too (distillation in both directions)."""
    lp, ys = data["lp"], data["ys"] * 0.9 + 0.02  # no zeros: d/dt log t is finite

    def f(t):
        return cl.kl_divergence(lp, t, reduction="sum")

    (g,) = grad(ad, cl.kl_divergence, lp, ys, argnums=(1,), reduction="sum")
    assert_close(g, numeric_grad(f, ys), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- Keras peers
KERAS_SCRIPT = r"""
import numpy as np, keras, corelosses as cl
bk = keras.backend.backend()
rng = np.random.default_rng(0)

def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)

p = softmax(rng.normal(size=(6, 5)) * 2).astype("float32")
p[0, 1] = 0.0  # clipped to 1e-7 by Keras
t = softmax(rng.normal(size=(6, 5)) * 2).astype("float32")
t[1, 2] = 0.0  # a zero target counts as 1e-7 in Keras
t[2, 3] = 0.0
y = rng.integers(0, 5, size=6)

if bk == "jax":
    import jax, jax.numpy as jnp
    arr, clip = jnp.asarray, jnp.clip
    def value_and_grad(f, x):
        v, g = jax.value_and_grad(lambda a: f(a))(jnp.asarray(x))
        return float(v), np.asarray(g)
else:
    import torch
    arr, clip = torch.from_numpy, torch.clamp
    def value_and_grad(f, x):
        a = torch.from_numpy(np.array(x)).requires_grad_(True)
        v = f(a)
        (g,) = torch.autograd.grad(v, a)
        return float(v), g.numpy()

ta, ya = arr(t), arr(y)
cases = [
    (lambda a: keras.losses.KLDivergence()(ta, a),
     lambda a: cl.kl_divergence(clip(a, 1e-7, 1.0), clip(ta, 1e-7, 1.0), log_input=False)),
    (lambda a: keras.losses.CategoricalGeneralizedCrossEntropy(q=0.5)(ya, a),
     lambda a: cl.generalized_cross_entropy(a, ya, q=0.5, from_logits=False)),
    (lambda a: keras.losses.CategoricalGeneralizedCrossEntropy(q=0.7)(ya, a),
     lambda a: cl.generalized_cross_entropy(a, ya, from_logits=False)),
]
for k, (peer, ours) in enumerate(cases):
    vp, gp = value_and_grad(peer, p)
    vo, go = value_and_grad(ours, p)
    assert np.isclose(vp, vo, rtol=1e-5, atol=1e-7), (k, vp, vo)
    np.testing.assert_allclose(go, gp, rtol=1e-4, atol=1e-6, err_msg=str(k))
print("OK", bk)
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_peers_value_and_grad(backend):
    """Keras KLDivergence (clipped to [1e-7, 1]) and CategoricalGeneralizedCrossEntropy."""
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"needs keras and {backend}")
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    r = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"OK {backend}" in r.stdout


# ================================================= generalized_kl_divergence
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gkl_matches_reference(xp, rng, reduction):
    x = rng.normal(size=(5, 4))
    t = rng.uniform(0, 3, size=(5, 4))
    t[0, 0] = t[2, 3] = 0.0
    ref = reduce(ref_gkl(x, t), reduction)
    assert_close(run(xp, cl.generalized_kl_divergence, x, t, reduction=reduction), ref)
    got = run(xp, cl.generalized_kl_divergence, np.exp(x), t, log_input=False, reduction=reduction)
    assert_close(got, ref)
    with np.errstate(divide="ignore"):
        lt = np.log(t)
    got = run(xp, cl.generalized_kl_divergence, x, lt, log_target=True, reduction=reduction)
    assert_close(got, ref)


def test_gkl_is_kl_for_distributions(xp, data):
    a = run(xp, cl.generalized_kl_divergence, data["lp"], data["ys"], reduction="none")
    b = run(xp, cl.kl_divergence, data["lp"], data["ys"], reduction="none")
    assert_close(a, b, atol=1e-12)


def test_gkl_peer_optax_value_and_grad(rng):
    jax, jnp, optax = _jax()
    x = jnp.asarray(rng.normal(size=(5, 4)))
    t = rng.uniform(0, 3, size=(5, 4))
    t[1, 1] = 0.0
    t = jnp.asarray(t)

    def ours(a):
        return cl.generalized_kl_divergence(a, t, reduction="none")

    peers = [optax.losses.generalized_kl_divergence]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecated alias warns
        peers.append(optax.losses.convex_kl_divergence)
        for peer in peers:
            assert_close(jax.jit(ours)(x), peer(x, t))
            ga = jax.grad(lambda a: jnp.sum(jnp.sin(ours(a))))(x)
            gb = jax.grad(lambda a, f=peer: jnp.sum(jnp.sin(f(a, t))))(x)
            assert_close(ga, gb)


def test_gkl_huge_log_predictions_inf_not_nan(ad):
    """exp(log p) overflows: +inf, never inf - inf; the gradient has no NaN."""
    for dt, big in (("float32", 3e38), ("float64", 1e308)):
        x = np.array([[big, -big, 1.0], [0.5, 1.0, -1.0]], dtype=dt)
        t = np.array([[2.0, 2.0, 0.0], [1.0, 0.0, 2.0]], dtype=dt)
        val = run(ad, cl.generalized_kl_divergence, x, t, reduction="none")
        assert np.isinf(val[0]) and val[0] > 0 and np.isfinite(val[1])
        (g,) = grad(ad, cl.generalized_kl_divergence, x, t)
        assert not np.any(np.isnan(g))
        assert_close(g[1], (np.exp(x[1].astype(float)) - t[1]) / 2, rtol=1e-6)


# ================================================================ poly_loss
@pytest.mark.parametrize("eps", [-1.0, 0.0, 1.0, 2.0])
def test_poly_matches_reference(xp, data, eps):
    x, t, ys = data["x"], data["t"], data["ys"]
    y = np.eye(5)[t]
    assert_close(run(xp, cl.poly_loss, x, t, epsilon=eps, reduction="none"), ref_poly(x, y, eps))
    assert_close(run(xp, cl.poly_loss, x, ys, epsilon=eps), ref_poly(x, ys, eps).mean())
    # probabilities, classes on axis 0
    got = run(xp, cl.poly_loss, softmax(x).T, t, epsilon=eps, axis=0, from_logits=False)
    assert_close(got, ref_poly(x, y, eps).mean())


def test_poly_epsilon0_is_cross_entropy(xp, data):
    a = run(xp, cl.poly_loss, data["x"], data["t"], epsilon=0.0)
    assert_close(a, run(xp, cl.cross_entropy, data["x"], data["t"]))


@pytest.mark.parametrize("eps", [1.0, 2.0, -1.0])
def test_poly_peer_optax_value_and_grad(data, eps):
    jax, jnp, optax = _jax()
    x = jnp.asarray(data["x"])
    for labels, tgt in ((jnp.eye(5)[data["t"]], jnp.asarray(data["t"])), (data["ys"],) * 2):
        labels, tgt = jnp.asarray(labels), jnp.asarray(tgt)

        def ours(a, tgt=tgt):
            return cl.poly_loss(a, tgt, epsilon=eps, reduction="none")

        def peer(a, labels=labels):
            return optax.losses.poly_loss_cross_entropy(a, labels, epsilon=eps)

        assert_close(jax.jit(ours)(x), peer(x))
        ga = jax.grad(lambda a: jnp.sum(ours(a) ** 2))(x)
        gb = jax.grad(lambda a: jnp.sum(peer(a) ** 2))(x)
        assert_close(ga, gb)


# ================================================ generalized_cross_entropy
@pytest.mark.parametrize("q", [0.1, 0.5, 0.7, 1.0])
def test_gce_matches_reference(xp, data, q):
    x, t, ys = data["x"], data["t"], data["ys"]
    p = softmax(x)
    y = np.eye(5)[t]
    assert_close(
        run(xp, cl.generalized_cross_entropy, x, t, q=q, reduction="none"), ref_gce(p, y, q)
    )
    assert_close(run(xp, cl.generalized_cross_entropy, x, ys, q=q), ref_gce(p, ys, q).mean())
    got = run(xp, cl.generalized_cross_entropy, p, t, q=q, from_logits=False, reduction="sum")
    assert_close(got, ref_gce(p, y, q).sum())


def test_gce_limits(xp, data):
    x, t = data["x"], data["t"]
    ce = run(xp, cl.cross_entropy, x, t, reduction="none")
    # q = 0 is exactly cross entropy; q -> 0 tends to it
    assert_close(run(xp, cl.generalized_cross_entropy, x, t, q=0.0, reduction="none"), ce)
    small = run(xp, cl.generalized_cross_entropy, x, t, q=1e-7, reduction="none")
    assert_close(small, ce, rtol=1e-5)
    # q = 1: 1 - p_t
    p_t = softmax(x)[np.arange(7), t]
    assert_close(run(xp, cl.generalized_cross_entropy, x, t, q=1.0, reduction="none"), 1 - p_t)


def test_gce_ignore_index_and_bounded_at_extreme_logits(ad, data):
    x, t = data["x"].copy(), data["t"].copy()
    t[3] = -1
    ref = ref_gce(softmax(x), np.eye(5)[np.where(t < 0, 0, t)], 0.7)
    got = run(ad, cl.generalized_cross_entropy, x, t, ignore_index=-1)
    assert_close(got, ref[t >= 0].mean())
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    val = run(ad, cl.generalized_cross_entropy, big, np.array([0, 0]), q=0.7, reduction="none")
    assert_close(val, [0.0, 1 / 0.7])
    (g,) = grad(ad, cl.generalized_cross_entropy, big, np.array([0, 0]))
    assert np.all(np.isfinite(g))


def test_gce_probability_gradient_at_tiny_p(ad):
    """p ** q as a power: at a tiny p the gradient is -p ** (q - 1), finite."""
    p = np.array([[1e-37, 1.0 - 1e-37]], dtype="float32")
    (g,) = grad(ad, cl.generalized_cross_entropy, p, np.array([0]), from_logits=False, q=0.7)
    assert np.all(np.isfinite(g))
    assert_close(g[0, 0], -(1e-37**-0.3), rtol=1e-5)


# ================================================================ sparsemax
def test_sparsemax_matches_algorithm(xp, rng):
    z = rng.normal(size=(6, 7)) * 2
    assert_close(run(xp, cl.sparsemax, z), ref_sparsemax(z))
    got = run(xp, cl.sparsemax, np.moveaxis(z, 1, 0), axis=0)
    assert_close(np.moveaxis(got, 0, 1), ref_sparsemax(z))
    z3 = rng.normal(size=(2, 5, 3))
    got = run(xp, cl.sparsemax, z3, axis=1)
    assert_close(got, np.moveaxis(ref_sparsemax(np.moveaxis(z3, 1, -1)), -1, 1))


def test_sparsemax_properties(xp, rng):
    z = np.concatenate([rng.normal(size=(4, 6)) * 3, [[1.0, 1.0, 1.0, 0.0, -5.0, 1.0]]])
    p = run(xp, cl.sparsemax, z)
    assert np.all(p >= 0) and np.any(p == 0)
    assert_close(p.sum(-1), np.ones(len(z)))
    assert_close(p[-1], [0.25, 0.25, 0.25, 0.0, 0.0, 0.25])  # ties share the mass
    assert_close(run(xp, cl.sparsemax, z + 1e3), p, atol=1e-12)  # shift-invariant
    assert_close(run(xp, cl.sparsemax, np.array([[3.0, 0.0]])), [[1.0, 0.0]])


def test_sparsemax_peer_optax_value_and_jacobian(rng):
    jax, jnp, optax = _jax()
    z = jnp.asarray(rng.normal(size=(5, 6)) * 1.5)
    peer = jax.vmap(optax.projections.projection_simplex)
    assert_close(jax.jit(cl.sparsemax)(z), peer(z))
    w = jnp.asarray(rng.normal(size=(5, 6)))
    ga = jax.grad(lambda a: jnp.sum(w * cl.sparsemax(a)))(z)
    gb = jax.grad(lambda a: jnp.sum(w * peer(a)))(z)
    assert_close(ga, gb)


def test_sparsemax_jacobian_is_exact(ad, rng):
    """diag(s) - s s^T / |S|, and finite differences agree."""
    z = rng.normal(size=(3, 6)) * 1.5
    w = rng.normal(size=(3, 6))
    p = ref_sparsemax(z)
    s = (p > 0).astype(float)
    wb = w - (s * w).sum(-1, keepdims=True) / s.sum(-1, keepdims=True)
    expected = s * wb

    def f(a):
        out = cl.sparsemax(a)
        return out * (w if isinstance(a, np.ndarray) else _like(a, w))

    (g,) = grad(ad, f, z)
    assert_close(g, expected)
    assert_close(g, numeric_grad(f, z), rtol=1e-6, atol=1e-8)


def _like(a, w):
    if type(a).__module__.startswith("torch"):
        import torch

        return torch.from_numpy(w)
    import jax.numpy as jnp

    return jnp.asarray(w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparsemax_extreme_scores(ad, dtype):
    big = 3e38 if dtype == "float32" else 1e308
    z = np.array([[big, -big, 0.0, 1e4], [1e30, 1e30, -1e30, 0.0], [-np.inf, 0.0, 0.5, -np.inf]])
    z = z.astype(dtype)
    p = run(ad, cl.sparsemax, z)
    assert_close(p, [[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0.25, 0.75, 0]])
    (g,) = grad(ad, lambda a: cl.sparsemax(a)[..., 0], z)
    assert np.all(np.isfinite(g))


# =========================================================== sparsemax_loss
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_sparsemax_loss_matches_reference(xp, rng, reduction):
    z = rng.normal(size=(8, 6)) * 1.5
    t = rng.integers(0, 6, size=8)
    ref = reduce(ref_sparsemax_loss(z, np.eye(6)[t]), reduction)
    assert_close(run(xp, cl.sparsemax_loss, z, t, reduction=reduction), ref)
    q = softmax(rng.normal(size=(8, 6)))
    ref = reduce(ref_sparsemax_loss(z, q), reduction)
    assert_close(run(xp, cl.sparsemax_loss, z, q, reduction=reduction), ref)
    got = run(xp, cl.sparsemax_loss, z.T, q.T, axis=0, reduction=reduction)
    assert_close(got, ref)


def test_sparsemax_loss_gradient_and_zero(ad, rng):
    z = rng.normal(size=(5, 6)) * 1.5
    t = rng.integers(0, 6, size=5)
    (g,) = grad(ad, cl.sparsemax_loss, z, t, reduction="sum")
    assert_close(g, ref_sparsemax(z) - np.eye(6)[t])
    q = softmax(rng.normal(size=(5, 6)))
    (g,) = grad(ad, cl.sparsemax_loss, z, q, reduction="sum")
    assert_close(g, ref_sparsemax(z) - q)
    # zero exactly where sparsemax(z) == y, positive elsewhere
    perfect = np.array([[2.5, 2.25, 2.25, 1.0]])  # sparsemax = [0.5, 0.25, 0.25, 0] (tau 2)
    y = np.array([[0.5, 0.25, 0.25, 0.0]])
    assert_close(run(ad, cl.sparsemax_loss, perfect, y), 0.0, atol=1e-15)
    assert_close(run(ad, cl.sparsemax_loss, np.array([[5.0, 0.0]]), np.array([0])), 0.0)
    assert np.all(run(ad, cl.sparsemax_loss, z, t, reduction="none") > 0)


def test_sparsemax_loss_peer_optax_value_and_grad(rng):
    jax, jnp, optax = _jax()
    z = jnp.asarray(rng.normal(size=(8, 6)) * 1.5)
    t = jnp.asarray(rng.integers(0, 6, size=8))

    def ours(a):
        return cl.sparsemax_loss(a, t, reduction="none")

    def peer(a):
        return optax.losses.multiclass_sparsemax_loss(a, t)

    assert_close(jax.jit(ours)(z), peer(z))
    ga = jax.grad(lambda a: jnp.sum(ours(a) ** 2))(z)
    gb = jax.grad(lambda a: jnp.sum(peer(a) ** 2))(z)
    assert_close(ga, gb)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparsemax_loss_extreme_scores(ad, dtype):
    big = 3e38 if dtype == "float32" else 1e308
    z = np.array([[big, 0.0, -big], [1e4, -1e4, 0.0], [1e30, 1e30, 0.0]], dtype=dtype)
    t = np.array([0, 0, 1])
    val = run(ad, cl.sparsemax_loss, z, t, reduction="none")
    assert_close(val, [0.0, 0.0, 0.25], atol=1e-6)  # last: p = (1/2, 1/2, 0)
    (g,) = grad(ad, cl.sparsemax_loss, z, t)
    assert np.all(np.isfinite(g))
    # the target far below the top: +inf where float64 overflows the dtype, never NaN
    inf = run(ad, cl.sparsemax_loss, z, np.array([2, 1, 2]), reduction="none")
    assert not np.any(np.isnan(inf)) and inf[1] > 1e4 - 1


# ==================================================== binary_sparsemax_loss
def test_binary_sparsemax_matches_reference(xp, rng):
    x = rng.normal(size=(6, 5)) * 1.5
    y = rng.uniform(size=(6, 5))
    y[:3] = (y[:3] > 0.5).astype(float)
    for red in ("mean", "sum", "none"):
        ref = reduce(ref_binary_sparsemax(x, y), red)
        assert_close(run(xp, cl.binary_sparsemax_loss, x, y, reduction=red), ref)


def test_binary_sparsemax_peer_optax_value_and_grad(rng):
    jax, jnp, optax = _jax()
    x = jnp.asarray(rng.normal(size=(6, 5)) * 1.5)
    y = jnp.asarray((rng.uniform(size=(6, 5)) > 0.5).astype(float))

    def ours(a):
        return cl.binary_sparsemax_loss(a, y, reduction="none")

    def peer(a):
        return optax.losses.sparsemax_loss(a, y)

    assert_close(jax.jit(ours)(x), peer(x))
    ga = jax.grad(lambda a: jnp.sum(ours(a) ** 2))(x)
    gb = jax.grad(lambda a: jnp.sum(peer(a) ** 2))(x)
    assert_close(ga, gb)
    # the gradient is sparse_sigmoid(x) - y, also for soft labels
    ys = jnp.asarray(rng.uniform(size=(6, 5)))
    g = jax.grad(lambda a: jnp.sum(cl.binary_sparsemax_loss(a, ys, reduction="none")))(x)
    assert_close(g, jax.nn.sparse_sigmoid(x) - ys)


def test_binary_sparsemax_zero_at_sparse_sigmoid(xp, rng):
    x = rng.uniform(-3, 3, size=(20,))
    out = run(xp, cl.binary_sparsemax_loss, x, sparse_sigmoid(x), reduction="none")
    assert_close(out, np.zeros(20), atol=1e-15)


def test_binary_sparsemax_extremes(ad):
    x = np.array([3e38, -3e38, 1e4, -1e4, 1.0, -1.0], dtype="float32")
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0], dtype="float32")
    val = run(ad, cl.binary_sparsemax_loss, x, y, reduction="none")
    assert_close(val, [0, 0, 1e4, 1e4, 0, 0])
    (g,) = grad(ad, cl.binary_sparsemax_loss, x, y)
    assert np.all(np.isfinite(g))


# =============================================================== every loss
def _cases(rng):
    """(fn, x, target, kw) per loss: x reduced over a class axis except the binary loss."""
    x = rng.normal(size=(6, 5))
    t = rng.integers(0, 5, size=6)
    ys = softmax(rng.normal(size=(6, 5)))
    return {
        "nll_loss": (cl.nll_loss, log_softmax(x), t, {}),
        "kl_divergence": (cl.kl_divergence, log_softmax(x), ys, {}),
        "generalized_kl_divergence": (cl.generalized_kl_divergence, x, ys * 2, {}),
        "poly_loss": (cl.poly_loss, x, t, {"epsilon": 2.0}),
        "generalized_cross_entropy": (cl.generalized_cross_entropy, x, t, {}),
        "sparsemax_loss": (cl.sparsemax_loss, x, t, {}),
        "binary_sparsemax_loss": (cl.binary_sparsemax_loss, x, ys, {}),
    }


LOSS_NAMES = [n for n in NAMES if n != "sparsemax"]


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_mask_all_masked_and_nan_under_mask(ad, rng, name):
    fn, x, t, kw = _cases(rng)[name]
    binary = name == "binary_sparsemax_loss"
    m = np.array([True, False, True, True, False, True])
    mm = np.broadcast_to(m[:, None], x.shape) if binary else m
    # all masked: exactly 0, zero gradient
    for red in ("mean", "sum"):
        out = run(ad, fn, x, t, mask=np.zeros(mm.shape, bool), reduction=red, **kw)
        assert float(out) == 0.0
    (g,) = grad(ad, fn, x, t, mask=np.zeros(mm.shape, bool), **kw)
    assert np.all(g == 0)
    # NaN (and inf) in the masked rows of the input (and of a float target)
    xb = x.copy()
    xb[~m] = np.nan
    xb[~m, 0] = np.inf
    tb = t.copy()
    if t.dtype.kind == "f":
        tb[~m] = np.nan
    ref = np.asarray(fn(x, t, reduction="none", **kw))
    val = run(ad, fn, xb, tb, mask=mm, reduction="sum", **kw)
    assert_close(val, ref[mm].sum())
    mean = run(ad, fn, xb, tb, mask=mm, **kw)
    assert_close(mean, ref[mm].sum() / mm.sum())
    (g,) = grad(ad, fn, xb, tb, mask=mm, **kw)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_weight_multiplies_per_sample(xp, rng, name):
    fn, x, t, kw = _cases(rng)[name]
    shape = np.asarray(fn(x, t, reduction="none", **kw)).shape
    w = rng.uniform(0.1, 2.0, size=shape)
    none = np.asarray(fn(x, t, reduction="none", **kw))
    assert_close(run(xp, fn, x, t, weight=w, reduction="none", **kw), none * w)
    assert_close(run(xp, fn, x, t, weight=w, **kw), (none * w).mean())


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_gradient_matches_finite_differences(ad, rng, name):
    fn, x, t, kw = _cases(rng)[name]
    (g,) = grad(ad, fn, x, t, **kw)
    assert_close(g, numeric_grad(fn, x, t, **kw), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_torch_compile_fullgraph_value_and_grad(rng, name):
    torch, _ = _torch()
    if name == "sparsemax":
        fn, args, kw = cl.sparsemax, (rng.normal(size=(4, 6)),), {}
    else:
        fn, x, t, kw = _cases(rng)[name]
        args = (x, t)
    targs = [torch.from_numpy(a) for a in args]
    out = compile_fullgraph(fn, *targs, **kw)
    assert_close(out.numpy(), np.asarray(fn(*args, **kw)))
    x0 = targs[0].clone().requires_grad_(True)
    compiled = torch.compile(lambda a, *r: fn(a, *r, **kw).sum(), fullgraph=True, backend="eager")
    (g,) = torch.autograd.grad(compiled(x0, *targs[1:]), x0)
    x1 = targs[0].clone().requires_grad_(True)
    (g_eager,) = torch.autograd.grad(fn(x1, *targs[1:], **kw).sum(), x1)
    assert_close(g.numpy(), g_eager.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_jax_jit_grad_and_vmap(rng, name):
    jax, jnp, _ = _jax()
    if name == "sparsemax":
        fn, args, kw = cl.sparsemax, (rng.normal(size=(4, 6)),), {}
    else:
        fn, x, t, kw = _cases(rng)[name]
        args = (x, t)
    ja = [jnp.asarray(a) for a in args]
    ref = np.asarray(fn(*args, **kw))
    assert_close(jax.jit(lambda *a: fn(*a, **kw))(*ja), ref)
    g = jax.jit(jax.grad(lambda *a: jnp.sum(fn(*a, **kw))))(*ja)
    assert np.all(np.isfinite(np.asarray(g)))
    if name != "sparsemax":
        # per-sample losses under vmap (one sample each): the unreduced loss
        per = jax.vmap(lambda *a: fn(*a, reduction="sum", **kw))(*ja)
        assert_close(
            per, np.asarray(fn(*args, reduction="none", **kw)).reshape(len(per), -1).sum(-1)
        )


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_in_float32(ad, rng, name, dtype):
    fn, x, t, kw = _cases(rng)[name]
    if ad.name == "torch":
        h = ad.torch.from_numpy(x).to(getattr(ad.torch, dtype))
        h32 = h.float()
        tt = ad.torch.from_numpy(t)
        tt = tt.float() if t.dtype.kind == "f" else tt
    else:
        import jax.numpy as jnp

        h = jnp.asarray(x).astype(getattr(jnp, dtype))
        h32 = h.astype(jnp.float32)
        tt = jnp.asarray(t)
        tt = tt.astype(jnp.float32) if t.dtype.kind == "f" else tt
    out = fn(h, tt, **kw)
    assert "float32" in str(out.dtype)
    assert_close(ad.to_numpy(out), ad.to_numpy(fn(h32, tt, **kw)), rtol=1e-6, atol=1e-7)


def test_sparsemax_half_precision(ad, rng):
    z = rng.normal(size=(3, 5))
    if ad.name == "torch":
        h = ad.torch.from_numpy(z).to(ad.torch.bfloat16)
        out, ref = cl.sparsemax(h), cl.sparsemax(h.float())
    else:
        import jax.numpy as jnp

        h = jnp.asarray(z).astype(jnp.float16)
        out, ref = cl.sparsemax(h), cl.sparsemax(h.astype(jnp.float32))
    assert "float32" in str(out.dtype)
    assert_close(ad.to_numpy(out), ad.to_numpy(ref))


# ================================================================ bad input
def test_bad_input_named_errors(data):
    lp, x, t, ys = data["lp"], data["x"], data["t"], data["ys"]
    checks = [
        # (callable, exception, message)
        (lambda: cl.nll_loss(lp, t[:-1]), ValueError, "'target'"),
        (lambda: cl.nll_loss(lp, t.astype(float)), TypeError, "'target'"),
        (lambda: cl.nll_loss(lp.astype(int), t), TypeError, "'log_probs'"),
        (lambda: cl.nll_loss(lp, t, class_weight=np.ones(4)), ValueError, "'class_weight'"),
        (lambda: cl.nll_loss(lp, ys, ignore_index=-100), ValueError, "'ignore_index'"),
        (lambda: cl.nll_loss(lp, t + 5), ValueError, "'target'"),
        (lambda: cl.nll_loss(lp, t, axis=2), ValueError, "'axis'"),
        (lambda: cl.nll_loss(lp, t, reduction="batchmean"), ValueError, "'reduction'"),
        (lambda: cl.kl_divergence(lp, ys[:, :-1]), ValueError, "'target'"),
        (lambda: cl.kl_divergence(lp, ys * 2), ValueError, "'target'.*\\[0, 1\\]"),
        (lambda: cl.kl_divergence(lp, -ys), ValueError, "'target'"),
        (lambda: cl.kl_divergence(-np.exp(lp), ys, log_input=False), ValueError, "'input'"),
        (lambda: cl.kl_divergence(lp, ys, log_input=1), TypeError, "'log_input'"),
        (lambda: cl.kl_divergence(lp, ys, log_target="no"), TypeError, "'log_target'"),
        (lambda: cl.kl_divergence(lp, ys, mask=np.ones(6, bool)), ValueError, "'mask'"),
        (lambda: cl.kl_divergence(lp, ys, weight=np.ones((7, 5))), ValueError, "'weight'"),
        (lambda: cl.kl_divergence(lp[:, :0], ys[:, :0]), ValueError, "'input'"),
        (lambda: cl.generalized_kl_divergence(lp, -ys), ValueError, "'target'.*non-negative"),
        (
            lambda: cl.generalized_kl_divergence(-ys, ys, log_input=False),
            ValueError,
            "'input'",
        ),
        (lambda: cl.poly_loss(x, t, epsilon=np.inf), ValueError, "'epsilon'"),
        (lambda: cl.poly_loss(x, t, epsilon="1"), TypeError, "'epsilon'"),
        (lambda: cl.poly_loss(x, ys * 2), ValueError, "'target'"),
        (lambda: cl.poly_loss(softmax(x) * 2, t, from_logits=False), ValueError, "'input'"),
        (lambda: cl.generalized_cross_entropy(x, t, q=1.5), ValueError, "'q'"),
        (lambda: cl.generalized_cross_entropy(x, t, q=-0.1), ValueError, "'q'"),
        (lambda: cl.generalized_cross_entropy(x, t, q=np.nan), ValueError, "'q'"),
        (lambda: cl.generalized_cross_entropy(x, t, from_logits=None), TypeError, "'from_logits'"),
        (lambda: cl.sparsemax(x.astype(int)), TypeError, "'input'"),
        (lambda: cl.sparsemax(x, axis=3), ValueError, "'axis'"),
        (lambda: cl.sparsemax(x[:, :0]), ValueError, "'input'"),
        (lambda: cl.sparsemax_loss(x, t[None]), ValueError, "'target'"),
        (lambda: cl.sparsemax_loss(x, t - 1), ValueError, "'target'"),
        (lambda: cl.binary_sparsemax_loss(x, ys * 3), ValueError, "'target'"),
        (lambda: cl.binary_sparsemax_loss(x, ys[:, :2]), ValueError, "'target'"),
    ]
    for f, exc, msg in checks:
        with pytest.raises(exc, match=msg):
            f()


def test_mixed_namespaces_name_both(data):
    torch, _ = _torch()
    with pytest.raises(TypeError, match="numpy"):
        cl.kl_divergence(torch.from_numpy(data["lp"]), data["ys"])
    with pytest.raises(TypeError, match="numpy"):
        cl.nll_loss(torch.from_numpy(data["lp"]), data["t"])


def test_cli_check_passes(capsys):
    from corelosses._tools.cli import main

    assert main(["check", *NAMES, "--backends", "numpy,torch,jax"]) == 0
    assert "FAIL" not in capsys.readouterr().out
