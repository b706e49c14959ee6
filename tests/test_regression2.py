"""Regression losses, part two (issue 14): Poisson and Gaussian NLL, MAPE, MSLE,
pinball and Barron's robust loss against float64 formulas and their live peers
(torch.nn.functional, Keras, kornia, scikit-learn), values and gradients."""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl

INF = math.inf
KERAS_EPS = 1e-7
#: backends whose value checks run (Backend.concrete): see docs/reliability.md
CONCRETE = ("numpy", "array_api_strict", "torch", "cupy")


# --------------------------------------------------------- float64 references
def ref_poisson(x, y, log_input=True, full=False, eps=1e-8):
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):
            st = y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y)
        loss = loss + np.where(y > 1, st, 0.0)
    return loss


def ref_gaussian(x, y, var, full=False, eps=1e-6):
    var = np.asarray(var, dtype=np.float64)
    if var.ndim and var.shape == x.shape[:-1]:
        var = var[..., None]
    v = np.maximum(var, eps)
    loss = 0.5 * (np.log(v) + (x - y) ** 2 / v)
    return loss + (0.5 * np.log(2 * np.pi) if full else 0.0)


def ref_mape(x, y, eps=KERAS_EPS):
    return 100 * np.abs((y - x) / np.maximum(np.abs(y), eps))


def ref_msle(x, y, eps=KERAS_EPS):
    return (np.log(np.maximum(x, eps) + 1.0) - np.log(np.maximum(y, eps) + 1.0)) ** 2


def ref_quantile(x, y, quantile=0.5):
    d = y - x
    return np.maximum(quantile * d, (quantile - 1) * d)


def ref_robust(x, y, alpha, scale=1.0):
    r2 = ((x - y) / scale) ** 2
    if alpha == 2:
        return 0.5 * r2
    if alpha == 0:
        return np.log(0.5 * r2 + 1)
    if alpha == -INF:
        return 1 - np.exp(-0.5 * r2)
    if alpha == INF:
        return np.exp(0.5 * r2) - 1
    if alpha == 1:
        return np.sqrt(r2 + 1) - 1
    if alpha == -2:
        return 2 * r2 / (r2 + 4)
    b = abs(alpha - 2)
    return b / alpha * ((r2 / b + 1) ** (alpha / 2) - 1)


ALPHAS = [2.0, 1.0, 0.0, -2.0, -INF, INF, 0.5, 1.5, -1.0, 4.0, -7.5]


def _data(rng, shape=(4, 5), kind="real"):
    x = rng.normal(size=shape) * 2
    y = rng.normal(size=shape) * 2
    if kind == "positive":
        x, y = np.abs(x) + 0.2, np.abs(y) + 0.2
    elif kind == "counts":
        x, y = rng.uniform(0.2, 4.0, size=shape), rng.poisson(2.0, size=shape).astype(float)
    return x, y


# (name, kwargs, reference, data kind)
CASES = [
    ("poisson_nll_loss", {}, ref_poisson, "real_counts"),
    ("poisson_nll_loss", {"full": True}, ref_poisson, "real_counts"),
    ("poisson_nll_loss", {"log_input": False}, ref_poisson, "counts"),
    ("poisson_nll_loss", {"log_input": False, "full": True, "eps": 1e-3}, ref_poisson, "counts"),
    ("mape_loss", {}, ref_mape, "real"),
    ("mape_loss", {"eps": 0.5}, ref_mape, "real"),
    ("msle_loss", {}, ref_msle, "real"),
    ("msle_loss", {"eps": 0.1}, ref_msle, "positive"),
    ("quantile_loss", {}, ref_quantile, "real"),
    ("quantile_loss", {"quantile": 0.1}, ref_quantile, "real"),
    ("quantile_loss", {"quantile": 0.95}, ref_quantile, "real"),
    *[("robust_loss", {"alpha": a}, ref_robust, "real") for a in ALPHAS],
    ("robust_loss", {"alpha": 0.0, "scale": 0.3}, ref_robust, "real"),
    ("robust_loss", {"alpha": -INF, "scale": 2.5}, ref_robust, "real"),
    ("robust_loss", {"alpha": 1.0, "scale": 0.1}, ref_robust, "real"),
]
CIDS = [f"{n}-{kw}" for n, kw, _, _ in CASES]


def _case_data(rng, kind):
    if kind == "real_counts":
        x, _ = _data(rng)
        return x, rng.poisson(2.0, size=x.shape).astype(float)
    return _data(rng, kind=kind)


@pytest.mark.parametrize("name,kw,ref,kind", CASES, ids=CIDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_reference(xp, rng, name, kw, ref, kind, reduction):
    x, y = _case_data(rng, kind)
    w = rng.uniform(0.5, 2, size=(5,))
    r = ref(x, y, **kw) * w
    r = {"mean": r.mean(), "sum": r.sum(), "none": r}[reduction]
    got = run(xp, getattr(cl, name), x, y, weight=w, reduction=reduction, **kw)
    assert_close(got, r, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,kw,ref,kind", CASES, ids=CIDS)
def test_gradient_matches_reference(ad, rng, name, kw, ref, kind):
    x, y = _case_data(rng, kind)
    if name == "robust_loss" and kw["alpha"] == INF:
        x, y = x / 2, y / 2  # exp(r^2 / 2): keep the finite differences well scaled
    (g,) = grad(ad, getattr(cl, name), x, y, reduction="sum", **kw)
    # (a lambda: numeric_grad's own ``eps`` is its step)
    assert_close(g, numeric_grad(lambda a, b: ref(a, b, **kw), x, y), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", ["same", "drop_last", "last_1", "first_1", "scalar"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gaussian_matches_reference(xp, rng, full, shape, reduction):
    x, y = _data(rng, shape=(4, 3, 5))
    var = {
        "same": rng.uniform(0.2, 2, size=(4, 3, 5)),
        "drop_last": rng.uniform(0.2, 2, size=(4, 3)),
        "last_1": rng.uniform(0.2, 2, size=(4, 3, 1)),
        "first_1": rng.uniform(0.2, 2, size=(1, 3, 5)),
        "scalar": 0.7,
    }[shape]
    if shape == "same":
        var[0, 0, :3] = [0.0, 1e-9, 1e-6]  # clamped at eps
    r = ref_gaussian(x, y, var, full=full)
    r = {"mean": r.mean(), "sum": r.sum(), "none": r}[reduction]
    got = run(xp, cl.gaussian_nll_loss, x, y, var, full=full, reduction=reduction)
    assert_close(got, r, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------- torch peers
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_peer_torch_poisson(rng, log_input, full, reduction):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = rng.normal(size=(6, 7)) if log_input else rng.uniform(0.0, 3.0, size=(6, 7))
    if not log_input:
        x[0, 0] = 0.0  # a zero rate: log(eps)
    y = rng.poisson(1.5, size=(6, 7)).astype(float)  # 0, 1 and > 1 (Stirling's cut)
    y[0, :3] = [0.0, 1.0, 2.0]
    for eps in (1e-8, 0.25):
        xs = [torch.tensor(x, requires_grad=True) for _ in range(2)]
        t = torch.tensor(y)
        kw = {"log_input": log_input, "full": full, "eps": eps, "reduction": reduction}
        ours = cl.poisson_nll_loss(xs[0], t, **kw)
        peer = F.poisson_nll_loss(xs[1], t, **kw)
        assert_close(ours.detach(), peer.detach())
        (g0,) = torch.autograd.grad(ours.sum(), xs[0])
        (g1,) = torch.autograd.grad(peer.sum(), xs[1])
        assert_close(g0, g1)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize(
    "vshape", [(4, 3, 5), (4, 3), (4, 3, 1), (1, 3, 5), (4, 1, 5), "float"], ids=str
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_peer_torch_gaussian(rng, full, vshape, reduction):
    """Value and gradients (input and var, through torch's clamp) vs F.gaussian_nll_loss."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x, y = _data(rng, shape=(4, 3, 5))
    eps = 1e-6
    if vshape == "float":
        var = 0.3
    else:
        var = rng.uniform(0.1, 2.0, size=vshape)
        var.reshape(-1)[:3] = [0.0, 1e-9, 1e-6]  # below and at eps: clamped
    for e in (eps, 0.05):
        xs = [torch.tensor(x, requires_grad=True) for _ in range(2)]
        vs = [var if vshape == "float" else torch.tensor(var, requires_grad=True) for _ in range(2)]
        t = torch.tensor(y)
        kw = {"full": full, "eps": e, "reduction": reduction}
        ours = cl.gaussian_nll_loss(xs[0], t, vs[0], **kw)
        peer = F.gaussian_nll_loss(xs[1], t, vs[1], **kw)
        assert_close(ours.detach(), peer.detach())
        leaves = [[xs[i]] + ([] if vshape == "float" else [vs[i]]) for i in range(2)]
        g0 = torch.autograd.grad(ours.sum(), leaves[0])
        g1 = torch.autograd.grad(peer.sum(), leaves[1])
        for a, b in zip(g0, g1):
            assert_close(a, b, rtol=1e-10)


def test_gaussian_clamp_gradient_is_straight_through(ad):
    """torch clamps a clone under no_grad: d/dvar is d/dv at the clamped v."""
    x, y = np.array([1.0, 2.0, -1.0, 0.5]), np.array([0.0, 0.0, 0.0, 0.0])
    var = np.array([0.0, 1e-9, 0.5, 2.0])
    eps = 1e-3
    v = np.maximum(var, eps)
    expect = 0.5 / v - 0.5 * (x - y) ** 2 / v**2
    gx, gv = grad(ad, cl.gaussian_nll_loss, x, y, var, argnums=(0, 2), eps=eps, reduction="sum")
    assert_close(gv, expect, rtol=1e-12)
    assert_close(gx, (x - y) / v, rtol=1e-12)


def test_gaussian_0d_var_is_one_shared_variance(ad, rng):
    """A 0-d var (a learned homoscedastic variance): torch needs it expanded."""
    x, y = _data(rng, shape=(3, 4))
    if ad.name == "torch":
        t = ad.torch
        xs, ys_, v = t.tensor(x), t.tensor(y), t.tensor(0.7, dtype=t.float64, requires_grad=True)
        out = cl.gaussian_nll_loss(xs, ys_, v, reduction="none")
        (gv,) = t.autograd.grad(out.sum(), v)
        got, gv = out.detach().numpy(), gv.numpy()
    else:
        import jax

        jnp = jax.numpy

        def f(v):
            return cl.gaussian_nll_loss(jnp.asarray(x), jnp.asarray(y), v, reduction="none")

        got = np.asarray(jax.jit(f)(jnp.asarray(0.7)))
        gv = np.asarray(jax.grad(lambda v: jnp.sum(f(v)))(jnp.asarray(0.7)))
    assert_close(got, ref_gaussian(x, y, np.full(x.shape, 0.7)))
    assert gv.shape == ()
    assert_close(gv, np.sum(0.5 / 0.7 - 0.5 * (x - y) ** 2 / 0.7**2), rtol=1e-12)


def test_poisson_full_huge_counts_and_rates(ad):
    """full=True as y (log y - log r): no inf - inf where y and r are both huge."""
    for dt, big in (("float32", 3e38), ("float64", 1e308)):
        x = np.array([big, big / 2, 1e4], dtype=dt)
        y = np.array([big, big, 1e4], dtype=dt)
        kw = {"log_input": False, "full": True, "eps": 0.0}
        v = run(ad, cl.poisson_nll_loss, x, y, reduction="none", **kw)
        xd, yd = x.astype(float), y.astype(float)
        want = xd - yd + yd * np.log(yd / xd) + 0.5 * (np.log(2 * np.pi) + np.log(yd))
        assert_close(v, want, rtol=1e-5 if dt == "float32" else 1e-12)
        (g,) = grad(ad, cl.poisson_nll_loss, x, y, **kw)
        assert np.all(np.isfinite(g))


def test_negative_var_torch_raises_too():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = torch.zeros(3)
    v = torch.tensor([1.0, -0.5, 1.0])
    with pytest.raises(ValueError):
        F.gaussian_nll_loss(x, x, v)
    with pytest.raises(ValueError, match="'var'"):
        cl.gaussian_nll_loss(x, x, v)


# ------------------------------------------------------------- keras peers
def _keras():
    """Keras 3 on jax (or whichever backend this process already imported it with)."""
    if "keras" not in sys.modules:
        pytest.importorskip("jax")
        old = os.environ.get("KERAS_BACKEND")
        os.environ["KERAS_BACKEND"] = old or "jax"
        try:
            import keras  # noqa: F401
        except ImportError as e:
            pytest.skip(f"keras: {e}")
        finally:
            if old is None:
                del os.environ["KERAS_BACKEND"]
    keras = sys.modules["keras"]
    if keras.backend.backend() not in ("jax", "torch"):
        pytest.skip("keras on a backend without array-API arrays")
    return keras


def _keras_value_and_grad(keras, loss, y, p):
    """Keras' loss and its gradient w.r.t. ``y_pred`` (float32), as NumPy."""
    b = keras.backend.backend()
    y32, p32 = y.astype("float32"), p.astype("float32")
    if b == "jax":
        import jax

        val, g = jax.value_and_grad(lambda q: loss(y32, q))(jax.numpy.asarray(p32))
        return np.asarray(val), np.asarray(g)
    import torch

    q = torch.tensor(p32, requires_grad=True)
    val = loss(torch.tensor(y32), q)
    (g,) = torch.autograd.grad(val, q)
    return val.detach().numpy(), g.numpy()


@pytest.mark.parametrize(
    "name,cls,kw",
    [
        ("poisson_nll_loss", "Poisson", {"log_input": False, "eps": KERAS_EPS}),
        ("mape_loss", "MeanAbsolutePercentageError", {}),
        ("msle_loss", "MeanSquaredLogarithmicError", {}),
    ],
)
def test_peer_keras(name, cls, kw):
    keras = _keras()
    rng = np.random.default_rng(0)
    if name == "poisson_nll_loss":
        p, y = rng.uniform(0.05, 3.0, size=(6, 5)), rng.poisson(1.5, size=(6, 5)).astype(float)
    else:
        p, y = rng.normal(size=(6, 5)) * 2, rng.normal(size=(6, 5)) * 2
        if name == "msle_loss":
            p[0, :2] = [-0.5, -3.0]  # clipped at eps: zero gradient there
            y[1, :2] = [0.0, -2.0]
    fn = getattr(cl, name)
    f32 = {"rtol": 2e-5, "atol": 1e-6}
    # value and gradient of Keras' default reduction (the mean) vs ours
    kval, kgrad = _keras_value_and_grad(keras, getattr(keras.losses, cls)(), y, p)
    assert_close(fn(p, y, **kw), kval, **f32)
    (g,) = grad(_backend("torch"), fn, p, y, reduction="mean", **kw)
    assert_close(g, kgrad, **f32)
    # Keras' "sum" sums per-sample means over the last axis: ours / shape[-1]
    ksum, _ = _keras_value_and_grad(keras, getattr(keras.losses, cls)(reduction="sum"), y, p)
    assert_close(fn(p, y, reduction="sum", **kw) / p.shape[-1], ksum, **f32)
    # per sample: our "none" averaged over the last axis
    kfun = getattr(keras.losses, cls)(reduction=None)
    knone = keras.ops.convert_to_numpy(kfun(y.astype("float32"), p.astype("float32")))
    assert_close(fn(p, y, reduction="none", **kw).mean(-1), knone, **f32)
    # sample_weight (one per sample) = weight broadcast over the last axis, "mean"
    w = rng.uniform(0.5, 2.0, size=(6,))
    kw_val = getattr(keras.losses, cls)()(y.astype("float32"), p.astype("float32"), w)
    ours = fn(p, y, weight=w[:, None], **kw)
    assert_close(ours, keras.ops.convert_to_numpy(kw_val), **f32)


def _backend(name):
    import _backends

    if name not in _backends.selected():
        pytest.skip(f"needs {name}")
    return _backends.get(name)


# ------------------------------------------------------------ kornia peers
KORNIA = [
    ("charbonnier_loss", 1.0),
    ("cauchy_loss", 0.0),
    ("geman_mcclure_loss", -2.0),
    ("welsch_loss", -INF),
]


@pytest.mark.parametrize("kname,alpha", KORNIA)
@pytest.mark.parametrize("scale", [1.0, 0.4, 3.0])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_peer_kornia(kname, alpha, scale, reduction):
    """kornia's robust losses are c = 1: kornia(x / c, y / c) == ours(x, y, scale=c)."""
    torch = pytest.importorskip("torch")
    kl = pytest.importorskip("kornia.losses")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3, 4, 5)) * 3, rng.normal(size=(3, 4, 5)) * 3
    x[0, 0, :3] = y[0, 0, :3] + np.array([0.0, 1e-5, -1e-3])  # small residuals
    xs = [torch.tensor(x, requires_grad=True) for _ in range(2)]
    t = torch.tensor(y)
    ours = cl.robust_loss(xs[0], t, alpha=alpha, scale=scale, reduction=reduction)
    peer = getattr(kl, kname)(xs[1] / scale, t / scale, reduction=reduction)
    assert_close(ours.detach(), peer.detach(), rtol=1e-12, atol=1e-15)
    (g0,) = torch.autograd.grad(ours.sum(), xs[0])
    (g1,) = torch.autograd.grad(peer.sum(), xs[1])
    assert_close(g0, g1, rtol=1e-10, atol=1e-15)


# ----------------------------------------------------------- sklearn peer
@pytest.mark.parametrize("q", [0.1, 0.5, 0.8])
def test_peer_sklearn_pinball(rng, q):
    metrics = pytest.importorskip("sklearn.metrics")
    x, y = _data(rng, shape=(8, 3))
    assert_close(
        cl.quantile_loss(x, y, quantile=q), metrics.mean_pinball_loss(y, x, alpha=q), rtol=1e-12
    )
    # sample weights: sklearn divides by their sum (per column, then averages the columns)
    w = rng.uniform(0.5, 2.0, size=8)
    peer = metrics.mean_pinball_loss(y, x, alpha=q, sample_weight=w)
    ours = cl.quantile_loss(x, y, quantile=q, weight=w[:, None], reduction="sum")
    assert_close(ours / (x.shape[1] * w.sum()), peer, rtol=1e-12)


# -------------------------------------------- robust: special values, limits
def test_robust_special_values_are_the_named_losses(rng):
    x, y = _data(rng)
    r2 = (x - y) ** 2
    named = {
        2.0: 0.5 * r2,
        1.0: np.sqrt(r2 + 1) - 1,
        0.0: np.log1p(0.5 * r2),
        -2.0: 2 * r2 / (r2 + 4),
        -INF: -np.expm1(-0.5 * r2),
        INF: np.expm1(0.5 * r2),
    }
    for alpha, want in named.items():
        got = cl.robust_loss(x, y, alpha=alpha, reduction="none")
        assert_close(got, want, rtol=1e-13, atol=1e-15, err_msg=str(alpha))


@pytest.mark.parametrize(
    "alpha,near",
    [(0.0, 1e-7), (0.0, -1e-7), (2.0, 2.0 - 1e-7), (2.0, 2.0 + 1e-7), (-INF, -1e7), (INF, 1e7)],
)
def test_robust_is_continuous_at_the_limits(rng, alpha, near):
    """The general formula near 0 and 2 (no cancellation) tends to the special cases."""
    x, y = _data(rng)
    exact = cl.robust_loss(x, y, alpha=alpha, reduction="none")
    close = cl.robust_loss(x, y, alpha=near, reduction="none")
    tol = 1e-5 if math.isinf(alpha) else 1e-6
    assert_close(close, exact, rtol=tol, atol=tol)


def test_robust_small_residuals_keep_their_digits():
    d = np.array([1e-8, 1e-5, 1e-3])
    for alpha in (1.0, 0.5, -2.0, 0.0, -INF, 1e-9):
        got = cl.robust_loss(d, np.zeros(3), alpha=alpha, reduction="none")
        assert_close(got, 0.5 * d**2, rtol=1e-5, err_msg=str(alpha))  # rho ~ r^2 / 2


@pytest.mark.parametrize("alpha", [-INF, -2.0, -1.0, 0.0, 0.5, 1.0, 1.5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_robust_huge_residuals_finite(ad, alpha, dtype):
    """No overflow of x - y or its square: finite value (where rho fits) and gradient."""
    big = 3e38 if dtype == "float32" else 1e308
    x = np.array([big, -big, 1e30, -1e4, 0.0, 1.0], dtype=dtype)
    y = np.array([-big, big, -1e30, 1e4, 0.0, 0.0], dtype=dtype)
    kw = {"alpha": alpha, "scale": 1.0}
    v = run(ad, cl.robust_loss, x, y, reduction="none", **kw)
    (g,) = grad(ad, cl.robust_loss, x, y, reduction="none", **kw)
    with np.errstate(over="ignore"):  # the float64 reference may itself overflow
        ref = ref_robust_stable(x.astype(np.float64) - y.astype(np.float64), alpha)
    fits = np.abs(ref) < np.finfo(dtype).max / 2
    assert not np.any(np.isnan(v)) and not np.any(np.isnan(g)), (v, g)
    assert np.all(np.isfinite(v[fits])) and np.all(np.isfinite(g[fits])), (v, g)
    assert_close(v[fits], ref[fits], rtol=1e-5 if dtype == "float32" else 1e-12)


def ref_robust_stable(d, alpha):
    """float64 reference for huge residuals, in logs (``log1p(r^2/b) ~ 2 log|r| - log b``)."""
    with np.errstate(divide="ignore"):  # log(0) in the branch np.where does not select
        return _ref_robust_stable(np.abs(d), alpha)


def _ref_robust_stable(a, alpha):
    if alpha == -INF:
        return -np.expm1(-0.5 * np.minimum(a, 1e150) ** 2)
    if alpha == 0:
        return np.where(
            a > 1e100, 2 * np.log(a) - np.log(2), np.log1p(0.5 * np.minimum(a, 1e100) ** 2)
        )
    b = abs(alpha - 2)
    la = np.where(a > 1e100, 2 * np.log(a) - np.log(b), np.log1p(np.minimum(a, 1e100) ** 2 / b))
    return b / alpha * np.expm1(0.5 * alpha * la)


# ------------------------------------------------ overflow-free formulations
def test_no_overflow_of_the_residual_float32(ad):
    x = np.array([3e38, -3e38, 1e20], dtype=np.float32)
    y = np.array([-3e38, 3e38, -1e20], dtype=np.float32)
    v = run(ad, cl.mape_loss, x, y, reduction="none")
    assert_close(v, [200.0, 200.0, 200.0], dtype="float32")
    v = run(ad, cl.quantile_loss, x[:2], y[:2], quantile=0.5, reduction="none")
    assert np.all(np.isfinite(v))  # 0.5 * 6e38 = 3e38 fits float32
    assert_close(v, [3e38, 3e38], dtype="float32")
    # (x - y)^2 = 4e40 overflows float32; (x - y)^2 / var does not
    xg = np.array([1e20, -1e19], dtype=np.float32)
    yg = np.array([-1e20, 1e19], dtype=np.float32)
    var = np.array([1e38, 1e30], dtype=np.float32)
    v = run(ad, cl.gaussian_nll_loss, xg, yg, var, reduction="none")
    ref = ref_gaussian(xg.astype(float), yg.astype(float), var.astype(float))
    assert np.all(np.isfinite(v))
    assert_close(v, ref, dtype="float32", rtol=1e-5)
    for fn, args, argnums in (
        (cl.mape_loss, (x, y), (0,)),
        (cl.quantile_loss, (x[:2], y[:2]), (0,)),
        (cl.gaussian_nll_loss, (xg, yg, var), (0, 2)),
    ):
        for g in grad(ad, fn, *args, argnums=argnums):
            assert np.all(np.isfinite(g)), fn.__name__


def test_msle_finite_for_any_input(ad):
    x = np.array([-1e4, -2.0, -1.0, 0.0, 1e-9, 3e38], dtype=np.float32)
    y = np.array([5.0, -3.0, 2.0, -1.0, 0.0, 1.0], dtype=np.float32)
    v = run(ad, cl.msle_loss, x, y, reduction="none")
    assert_close(v, ref_msle(x.astype(float), y.astype(float)), dtype="float32", rtol=1e-5)
    (g,) = grad(ad, cl.msle_loss, x, y)
    assert np.all(np.isfinite(g)) and np.all(g[:4] == 0)  # clipped: no gradient


def test_poisson_zero_rate_with_zero_eps(ad):
    """0 log 0 = 0 (torch gives NaN); a count at rate 0 is impossible: inf, not NaN."""
    x = np.array([0.0, 0.0, 1.0])
    y = np.array([0.0, 2.0, 2.0])
    v = run(ad, cl.poisson_nll_loss, x, y, log_input=False, eps=0.0, reduction="none")
    assert v[0] == 0.0 and v[1] == INF
    assert_close(v[2], 1.0)
    (g,) = grad(ad, cl.poisson_nll_loss, x, y, log_input=False, eps=0.0)
    assert np.all(np.isfinite(g))


# ------------------------------------------------------- masks, ignore_value
def _mask_cases():
    return [
        ("poisson_nll_loss", {}),
        ("poisson_nll_loss", {"log_input": False, "full": True}),
        ("gaussian_nll_loss", {"full": True}),
        ("mape_loss", {}),
        ("msle_loss", {}),
        ("quantile_loss", {"quantile": 0.2}),
        *[("robust_loss", {"alpha": a}) for a in (2.0, 1.0, 0.0, -2.0, -INF, INF, 0.5)],
    ]


def _args(name, rng):
    x, y = _data(rng, kind="counts" if name == "poisson_nll_loss" else "positive")
    if name == "gaussian_nll_loss":
        return (x, y, rng.uniform(0.5, 2.0, size=x.shape))
    return (x, y)


@pytest.mark.parametrize("name,kw", _mask_cases(), ids=[f"{n}-{k}" for n, k in _mask_cases()])
@pytest.mark.parametrize("bad", [np.nan, INF, -INF])
def test_bad_values_under_mask(ad, rng, name, kw, bad):
    fn = getattr(cl, name)
    args = _args(name, rng)
    m = np.ones(args[0].shape, dtype=bool)
    m.reshape(-1)[::3] = False
    clean = run(ad, fn, *args, mask=m, **kw)
    dirty = [np.array(a) for a in args]
    for a in dirty:  # every array, var included
        a[~m] = bad
    val = run(ad, fn, *dirty, mask=m, **kw)
    assert_close(val, clean)
    argnums = (0, 2) if name == "gaussian_nll_loss" else (0,)
    for g in grad(ad, fn, *dirty, mask=m, argnums=argnums, **kw):
        assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)
    # all masked: exactly 0, zero gradient
    none = np.zeros(m.shape, dtype=bool)
    assert float(run(ad, fn, *dirty, mask=none, **kw)) == 0.0
    for g in grad(ad, fn, *dirty, mask=none, argnums=argnums, **kw):
        assert np.all(g == 0)


@pytest.mark.parametrize("name,kw", _mask_cases(), ids=[f"{n}-{k}" for n, k in _mask_cases()])
def test_ignore_value_nan_targets(xp, rng, name, kw):
    """Partial labels: NaN targets (and NaN inputs there) are left out of the mean."""
    fn = getattr(cl, name)
    args = [np.array(a) for a in _args(name, rng)]
    keep = np.ones(args[0].shape, dtype=bool)
    keep.reshape(-1)[1::4] = False
    args[1][~keep] = np.nan
    args[0][~keep] = np.nan
    got = run(xp, fn, *args, ignore_value=float("nan"), **kw)
    full = np.asarray(fn(*[np.where(keep, a, 1.0) for a in args], reduction="none", **kw))
    assert_close(got, full[keep].mean(), rtol=1e-9, atol=1e-12)
    if xp.autodiff:
        (g,) = grad(xp, fn, *args, ignore_value=float("nan"), **kw)
        assert np.all(np.isfinite(g)) and np.all(g[~keep] == 0)


def test_negative_var_under_mask_is_allowed():
    x = np.zeros((2, 3))
    var = np.ones((2, 3))
    var[0, 0] = -1.0
    m = np.ones((2, 3), dtype=bool)
    m[0, 0] = False
    assert np.isfinite(cl.gaussian_nll_loss(x, x, var, mask=m))
    with pytest.raises(ValueError, match="'var'"):
        cl.gaussian_nll_loss(x, x, var)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda a: cl.quantile_loss(a, a, quantile=0.0), ValueError, "'quantile'"),
        (lambda a: cl.quantile_loss(a, a, quantile=1.0), ValueError, "'quantile'"),
        (lambda a: cl.quantile_loss(a, a, quantile=-0.5), ValueError, "'quantile'"),
        (lambda a: cl.quantile_loss(a, a, quantile=math.nan), ValueError, "'quantile'"),
        (lambda a: cl.quantile_loss(a, a, quantile="0.5"), TypeError, "'quantile'"),
        (lambda a: cl.robust_loss(a, a, alpha=math.nan), ValueError, "'alpha'"),
        (lambda a: cl.robust_loss(a, a, alpha="1"), TypeError, "'alpha'"),
        (lambda a: cl.robust_loss(a, a, alpha=True), TypeError, "'alpha'"),
        (lambda a: cl.robust_loss(a, a, alpha=a[:1]), TypeError, "'alpha'"),
        (lambda a: cl.robust_loss(a, a, alpha=1.0, scale=0.0), ValueError, "'scale'"),
        (lambda a: cl.robust_loss(a, a, alpha=1.0, scale=-1.0), ValueError, "'scale'"),
        (lambda a: cl.robust_loss(a, a, alpha=1.0, scale=INF), ValueError, "'scale'"),
        (lambda a: cl.mape_loss(a, a, eps=0.0), ValueError, "'eps'"),
        (lambda a: cl.msle_loss(a, a, eps=-1.0), ValueError, "'eps'"),
        (lambda a: cl.msle_loss(a, a, eps=INF), ValueError, "'eps'"),
        (lambda a: cl.poisson_nll_loss(a, a, eps=-1e-8), ValueError, "'eps'"),
        (lambda a: cl.poisson_nll_loss(a, a, log_input=1), TypeError, "'log_input'"),
        (lambda a: cl.poisson_nll_loss(a, a, full="yes"), TypeError, "'full'"),
        (lambda a: cl.poisson_nll_loss(-a, a, log_input=False), ValueError, "'input'"),
        (lambda a: cl.gaussian_nll_loss(a, a, a, eps=0.0), ValueError, "'eps'"),
        (lambda a: cl.gaussian_nll_loss(a, a, a, full=None), TypeError, "'full'"),
        (lambda a: cl.gaussian_nll_loss(a, a, -a), ValueError, "'var'"),
        (lambda a: cl.gaussian_nll_loss(a, a, -1.0), ValueError, "'var'"),
        (lambda a: cl.gaussian_nll_loss(a, a, math.nan), ValueError, "'var'"),
        (lambda a: cl.gaussian_nll_loss(a, a, a[:, :1, :1]), ValueError, "'var'"),
        (lambda a: cl.gaussian_nll_loss(a, a, a[0]), ValueError, "'var'"),
        (lambda a: cl.gaussian_nll_loss(a, a, a > 0), TypeError, "'var'"),
        (lambda a: cl.gaussian_nll_loss(a, a, "1"), TypeError, "'var'"),
        (lambda a: cl.gaussian_nll_loss(a, a[0], a), ValueError, "'target'"),
    ],
)
def test_bad_input_is_named(call, exc, match):
    a = np.ones((2, 3, 4))
    with pytest.raises(exc, match=match):
        call(a)


def test_value_checks_where_concrete(xp):
    """Negative var / negative rates: ValueError where values are readable; elsewhere
    (jax under jit, Dask) no error and no NaN (var clamped to eps, rate 0 -> inf)."""
    x = np.array([[1.0, 2.0], [0.5, 1.0]])
    var = np.array([[1.0, -0.5], [1.0, 1.0]])
    rate = np.array([[1.0, -0.5], [1.0, 1.0]])
    if xp.name in CONCRETE:
        with pytest.raises(ValueError, match="'var'"):
            run(xp, cl.gaussian_nll_loss, x, x, var)
        with pytest.raises(ValueError, match="'input'"):
            run(xp, cl.poisson_nll_loss, rate, x, log_input=False)
    else:
        assert np.isfinite(run(xp, cl.gaussian_nll_loss, x, x, var))
        assert not np.isnan(run(xp, cl.poisson_nll_loss, rate, x, log_input=False))


def test_mixed_namespaces_with_var():
    torch = pytest.importorskip("torch")
    x = torch.zeros(3)
    with pytest.raises(TypeError, match="numpy"):
        cl.gaussian_nll_loss(x, x, np.ones(3))


# ------------------------------------------------- torch.compile, jax.jit
COMPILE_CASES = [
    ("poisson_nll_loss", {"full": True}),
    ("poisson_nll_loss", {"log_input": False, "full": True}),
    ("gaussian_nll_loss", {"full": True}),
    ("gaussian_nll_loss", {"var_shape": "drop_last"}),
    ("gaussian_nll_loss", {"var_shape": "float"}),
    ("mape_loss", {}),
    ("msle_loss", {}),
    ("quantile_loss", {"quantile": 0.7}),
    *[("robust_loss", {"alpha": a}) for a in (2.0, 0.0, -INF, INF, 1.0, -3.0)],
]


@pytest.mark.parametrize("name,kw", COMPILE_CASES, ids=[f"{n}-{k}" for n, k in COMPILE_CASES])
def test_torch_compile_fullgraph(rng, name, kw):
    torch = pytest.importorskip("torch")
    kw = dict(kw)
    vshape = kw.pop("var_shape", "same")
    args = list(_args(name, rng))
    if name == "gaussian_nll_loss":
        args[2] = {"same": args[2], "drop_last": args[2][:, 0], "float": 0.8}[vshape]
    m = np.ones(args[0].shape, dtype=bool)
    m[0, 0] = False
    kw["mask"] = torch.from_numpy(m)
    targs = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    out = compile_fullgraph(getattr(cl, name), *targs, **kw)
    ref = getattr(cl, name)(*args, **{**kw, "mask": m})
    assert_close(out.detach().numpy(), ref)


@pytest.mark.parametrize("name,kw", COMPILE_CASES, ids=[f"{n}-{k}" for n, k in COMPILE_CASES])
def test_jax_jit_and_grad(rng, name, kw):
    tb = _backend("jax")
    kw = dict(kw)
    vshape = kw.pop("var_shape", "same")
    args = list(_args(name, rng))
    if name == "gaussian_nll_loss":
        args[2] = {"same": args[2], "drop_last": args[2][:, 0], "float": 0.8}[vshape]
    extra = [args.pop()] if vshape == "float" else []  # a Python number: static

    def fn(*a, **k):
        return getattr(cl, name)(*a, *extra, **k)

    assert_close(run(tb, fn, *args, **kw), fn(*args, **kw))
    (g,) = grad(tb, fn, *args, **kw)
    assert_close(g, numeric_grad(fn, *args, **kw), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------- half precision
@pytest.mark.parametrize("name,kw", _mask_cases(), ids=[f"{n}-{k}" for n, k in _mask_cases()])
def test_half_computes_in_float32(ad, rng, name, kw):
    fn = getattr(cl, name)
    args = _args(name, rng)
    for dt in ("float16", "bfloat16"):
        if ad.name == "torch":
            h = [ad.torch.from_numpy(a).to(getattr(ad.torch, dt)) for a in args]
            f = [a.float() for a in h]
        else:
            import jax.numpy as jnp

            h = [jnp.asarray(a).astype(dt) for a in args]
            f = [a.astype("float32") for a in h]
        out, ref = fn(*h, **kw), fn(*f, **kw)
        assert "float32" in str(out.dtype)
        assert_close(ad.to_numpy(out), ad.to_numpy(ref), rtol=1e-6, atol=1e-6)


def test_catalog_entries():
    for name in (
        "poisson_nll_loss",
        "gaussian_nll_loss",
        "mape_loss",
        "msle_loss",
        "quantile_loss",
        "robust_loss",
    ):
        info = cl.get(name)
        assert info.family == "regression" and info.peers and info.example is not None
        assert getattr(cl, name) is info.fn
    assert cl.get("gaussian_nll_loss").grad_argnums == (0, 2)
