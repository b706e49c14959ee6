"""Registration losses against float64 NumPy references and live MONAI.

The references below share no code with corelosses: the local sums of LNCC
are full (non-separable) windows over a zero-padded image, the windows are
built from their definitions, and the finite differences of the regularizers
come from ``np.diff`` / ``np.gradient``.
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl


# ----------------------------------------------------------------- references
def ref_kernel(kind, k):
    if kind == "rectangular":
        return np.ones(k)
    if kind == "gaussian":
        s = k / 3.0
        i = np.arange(k) - k // 2
        return np.exp(-(i**2) / (2 * s * s))
    f = (k + 1) // 2
    f -= 1 - f % 2  # odd box width
    box = np.full(f, 1.0 / f)
    tri = np.convolve(box, box)
    out = np.zeros(k)
    off = (k - tri.size) // 2
    out[off : off + tri.size] = tri
    return out


def local_sum(a, w):
    """Correlation of ``a`` (N, C, *spatial) with the full window ``w``, zero padding."""
    h = [(s - 1) // 2 for s in w.shape]
    ap = np.pad(a, [(0, 0), (0, 0)] + [(p, p) for p in h])
    out = np.zeros(a.shape)
    for off in itertools.product(*[range(s) for s in w.shape]):
        sl = tuple(slice(o, o + n) for o, n in zip(off, a.shape[2:]))
        out += w[off] * ap[(slice(None), slice(None)) + sl]
    return out


def ref_lncc(p, t, kernel_size=9, kernel_type="rectangular", smooth_nr=0.0, smooth_dr=1e-5):
    """Unreduced negative squared local NCC, channels-first."""
    p, t = np.asarray(p, float), np.asarray(t, float)
    k = ref_kernel(kernel_type, kernel_size)
    w = k
    for _ in range(p.ndim - 3):
        w = np.multiply.outer(w, k)
    v = w.sum()
    mp, mt = local_sum(p, w) / v, local_sum(t, w) / v
    cross = local_sum(p * t, w) - v * mp * mt
    vp = np.maximum(local_sum(p * p, w) - v * mp * mp, smooth_dr)
    vt = np.maximum(local_sum(t * t, w) - v * mt * mt, smooth_dr)
    return -(cross**2 + smooth_nr) / (vp * vt)


def _interior(a, skip=()):
    sl = [slice(None), slice(None)]
    for ax in range(2, a.ndim):
        sl.append(slice(None) if ax in skip else slice(1, -1))
    return a[tuple(sl)]


def ref_bending(u, normalize=False):
    u = np.asarray(u, float)
    n = u.shape[2:]
    comp = np.array(n, float).reshape((1, -1) + (1,) * len(n))
    e = 0.0
    for a in range(2, u.ndim):
        d2 = _interior(np.diff(u, 2, axis=a), skip=(a,))
        if normalize:
            d2 = d2 * n[a - 2] ** 2 / comp
        e = e + d2**2
        for b in range(a + 1, u.ndim):
            m = _interior(np.gradient(np.gradient(u, axis=a), axis=b))
            if normalize:
                m = m * n[a - 2] * n[b - 2] / comp
            e = e + 2 * m**2
    return e


def ref_diffusion(u, normalize=False):
    u = np.asarray(u, float)
    n = u.shape[2:]
    comp = np.array(n, float).reshape((1, -1) + (1,) * len(n))
    e = 0.0
    for a in range(2, u.ndim):
        g = _interior(np.gradient(u, axis=a))
        if normalize:
            g = g * n[a - 2] / comp
        e = e + g**2
    return e


def _reduce(v, reduction):
    return {"none": v, "sum": v.sum(), "mean": v.mean()}[reduction]


def _pair(rng, shape):
    x = rng.normal(size=shape)
    return x, 0.6 * x + 0.8 * rng.normal(size=shape)


SHAPES = {"1d": (2, 2, 9), "2d": (2, 1, 7, 6), "3d": (1, 2, 5, 4, 6)}


# ------------------------------------------------------------------- LNCC
# (the generic window filter builds one slice per tap and axis: dask's graphs grow
# fast, so dask runs the small cases only)
LNCC_CASES = [
    ("1d", "rectangular", 9, "none"),
    ("2d", "rectangular", 3, "mean"),
    ("2d", "triangular", 5, "none"),
    ("3d", "gaussian", 3, "sum"),
]


@pytest.mark.parametrize("case", LNCC_CASES, ids=lambda c: "-".join(map(str, c)))
def test_lncc_reference(xp, rng, case):
    dims, kt, ks, red = case
    if xp.name == "dask" and (dims == "3d" or ks > 5):
        pytest.skip("dask: small cases only")
    x, y = _pair(rng, SHAPES[dims])
    kw = dict(kernel_size=ks, kernel_type=kt, smooth_nr=0.01, reduction=red)
    out = run(xp, cl.lncc_loss, x, y, **kw)
    want = _reduce(ref_lncc(x, y, ks, kt, 0.01), red)
    assert out.shape == np.shape(want)
    assert_close(out, want, rtol=1e-9, atol=1e-12)


def test_lncc_range_and_perfect_match(xp, rng):
    x = rng.normal(size=(1, 2, 5, 6))
    out = run(xp, cl.lncc_loss, x, -3.0 * x, kernel_size=3, reduction="none")
    assert_close(out, -np.ones_like(out), atol=1e-6)
    x, y = _pair(rng, (1, 2, 5, 6))
    out = run(xp, cl.lncc_loss, x, y, kernel_size=3, reduction="none")
    assert np.all(out <= 0) and np.all(out >= -1 - 1e-9)


def test_lncc_gradient_fd(ad, rng):
    x, y = _pair(rng, (1, 2, 6, 5))
    for kw in (
        dict(kernel_size=3),
        dict(kernel_size=5, kernel_type="gaussian", smooth_nr=0.1, reduction="sum"),
    ):
        g = grad(ad, cl.lncc_loss, x, y, argnums=(0, 1), **kw)
        for i in (0, 1):
            ref = numeric_grad(cl.lncc_loss, x, y, argnum=i, **kw)
            assert_close(g[i], ref, rtol=1e-5, atol=1e-8)


def _monai_lncc(x, y, requires_grad=False, **kw):
    torch = pytest.importorskip("torch")
    pytest.importorskip("monai")
    from monai.losses import LocalNormalizedCrossCorrelationLoss

    loss = LocalNormalizedCrossCorrelationLoss(spatial_dims=x.ndim - 2, **kw)
    xt = torch.from_numpy(x).requires_grad_(requires_grad)
    out = loss(xt, torch.from_numpy(y))
    if not requires_grad:
        return out.detach().numpy()
    (g,) = torch.autograd.grad(out.sum(), xt)
    return out.detach().numpy(), g.numpy()


MONAI_CASES = [
    ("1d", "triangular", 5, "mean", 0.0),
    ("2d", "rectangular", 3, "none", 0.1),
    ("2d", "gaussian", 5, "none", 0.0),
    ("3d", "rectangular", 5, "mean", 0.0),
]


@pytest.mark.parametrize("case", MONAI_CASES, ids=lambda c: "-".join(map(str, c)))
def test_lncc_matches_monai(xp, rng, case):
    dims, kt, ks, red, nr = case
    if xp.name == "dask" and dims == "3d":
        pytest.skip("dask: small cases only")
    x, y = _pair(rng, SHAPES[dims])
    opts = dict(kernel_size=ks, kernel_type=kt, reduction=red, smooth_nr=nr)
    want = _monai_lncc(x, y, **opts)
    # MONAI builds the triangular and Gaussian windows in float32
    rtol = 1e-10 if kt == "rectangular" else 2e-6
    assert_close(run(xp, cl.lncc_loss, x, y, **opts), want, rtol=rtol, atol=1e-12)


def test_lncc_gradient_matches_monai(ad, rng):
    x, y = _pair(rng, (2, 2, 7, 6))
    for kt, rtol in (("rectangular", 1e-9), ("gaussian", 2e-6)):
        opts = dict(kernel_size=3, kernel_type=kt, reduction="mean")
        val, g_ref = _monai_lncc(x, y, requires_grad=True, **opts)
        assert_close(run(ad, cl.lncc_loss, x, y, **opts), val, rtol=rtol)
        (g,) = grad(ad, cl.lncc_loss, x, y, **opts)
        assert_close(g, g_ref, rtol=rtol, atol=1e-10)


def test_lncc_constant_images_no_nan(xp, rng):
    x = rng.normal(size=(1, 1, 5, 5))
    c = np.full_like(x, 2.5)
    z = np.zeros_like(x)
    for dr in (1e-5, 0.0):
        a = np.concatenate([c, x, z, c, x])
        b = np.concatenate([x, z, z, c, c])
        out = run(xp, cl.lncc_loss, a, b, kernel_size=3, smooth_dr=dr, reduction="none")
        assert np.all(np.isfinite(out))
        assert np.all(out[1:3] == 0)  # a zero image: no correlation at all


def test_lncc_constant_images_gradient(ad, rng):
    x = rng.normal(size=(1, 1, 5, 5))
    c = np.full_like(x, 2.5)
    z = np.zeros_like(x)
    a = np.concatenate([z, z, x, c])
    b = np.concatenate([x, z, z, x])
    for dr in (1e-5, 0.0):
        g = grad(ad, cl.lncc_loss, a, b, argnums=(0, 1), kernel_size=3, smooth_dr=dr)
        assert all(np.all(np.isfinite(v)) for v in g)


def test_lncc_mask_nan_safe(xp, rng):
    x, y = _pair(rng, (2, 1, 5, 5))
    m = rng.uniform(size=x.shape) > 0.3
    m[0, 0, 0, 0] = True
    dirty = np.where(m, x, np.nan)
    dirty[1, 0, -1, -1] = np.inf if not m[1, 0, -1, -1] else dirty[1, 0, -1, -1]
    clean = ref_lncc(np.where(m, x, 0.0), np.where(m, y, 0.0), 3) * m
    out = run(xp, cl.lncc_loss, dirty, y, kernel_size=3, mask=m, reduction="none")
    assert_close(out, clean)
    out = run(xp, cl.lncc_loss, dirty, y, kernel_size=3, mask=m)
    assert_close(out, clean.sum() / m.sum())
    assert run(xp, cl.lncc_loss, dirty, y, kernel_size=3, mask=np.zeros_like(m)) == 0.0
    if xp.autodiff:
        (g,) = grad(xp, cl.lncc_loss, dirty, y, kernel_size=3, mask=m)
        assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


def test_lncc_channels_last_and_dtypes(rng):
    x, y = _pair(rng, (2, 3, 5, 6))
    ref = cl.lncc_loss(x, y, kernel_size=3, reduction="none")
    last = cl.lncc_loss(np.moveaxis(x, 1, -1), np.moveaxis(y, 1, -1), kernel_size=3,
                        channel_axis=-1, reduction="none")  # fmt: skip
    assert_close(np.moveaxis(last, -1, 1), ref)
    out = cl.lncc_loss(x.astype(np.float32), (y > 0).astype(np.int64), kernel_size=3)
    assert out.dtype == np.float32
    torch = pytest.importorskip("torch")
    h = cl.lncc_loss(torch.from_numpy(x).half(), torch.from_numpy(y).half(), kernel_size=3)
    assert h.dtype == torch.float32


def test_lncc_bad_input():
    x = np.zeros((1, 1, 5, 5))
    cases = [
        (dict(kernel_size=4), ValueError, "kernel_size"),
        (dict(kernel_size=0), ValueError, "kernel_size"),
        (dict(kernel_size=3.0), TypeError, "kernel_size"),
        (dict(kernel_type="box"), ValueError, "kernel_type"),
        (dict(smooth_dr=-1.0), ValueError, "smooth_dr"),
        (dict(smooth_nr=float("nan")), ValueError, "smooth_nr"),
        (dict(reduction="avg"), ValueError, "reduction"),
        (dict(channel_axis=0), ValueError, "channel_axis"),
        (dict(channel_axis=7), ValueError, "channel_axis"),
        (dict(mask=np.ones((2, 5))), ValueError, "mask"),
    ]
    for kw, err, word in cases:
        with pytest.raises(err, match=word):
            cl.lncc_loss(x, x, **kw)
    with pytest.raises(ValueError, match="target"):
        cl.lncc_loss(x, np.zeros((1, 1, 5, 4)))
    with pytest.raises(ValueError, match="rank"):
        cl.lncc_loss(np.zeros((2, 5)), np.zeros((2, 5)))
    with pytest.raises(TypeError, match="input"):
        cl.lncc_loss(np.zeros((1, 1, 5), dtype=np.int64), np.zeros((1, 1, 5)))


# ----------------------------------------------------------- regularizers
REGS = {"bending_energy": ref_bending, "diffusion_regularizer": ref_diffusion}
DDF = {"1d": (2, 1, 6), "2d": (2, 2, 5, 7), "3d": (1, 3, 4, 5, 3)}


@pytest.mark.parametrize("name", list(REGS))
@pytest.mark.parametrize("dims", list(DDF))
def test_regularizer_reference(xp, rng, name, dims):
    u = rng.normal(size=DDF[dims])
    for normalize, red in [(False, "mean"), (True, "none"), (True, "sum")]:
        out = run(xp, getattr(cl, name), u, normalize=normalize, reduction=red)
        want = _reduce(REGS[name](u, normalize), red)
        assert out.shape == np.shape(want)
        assert_close(out, want, rtol=1e-10, atol=1e-12)


def test_regularizer_known_values(xp):
    # quadratic along the last axis: second difference 2; a shear: first difference 3
    u = np.zeros((1, 2, 4, 4))
    u[0, 0] = np.arange(4.0) ** 2
    assert_close(run(xp, cl.bending_energy, u), 2.0)
    v = np.zeros((1, 2, 4, 4))
    v[0, 1] = 3.0 * np.arange(4.0)
    assert_close(run(xp, cl.diffusion_regularizer, v), 4.5)
    assert_close(run(xp, cl.bending_energy, v), 0.0)  # affine: no bending
    c = np.full((1, 2, 4, 4), 7.0)
    for f in (cl.bending_energy, cl.diffusion_regularizer):
        assert run(xp, f, c) == 0.0


def _monai_reg(name, u, normalize, requires_grad=False, reduction="mean"):
    torch = pytest.importorskip("torch")
    pytest.importorskip("monai")
    from monai.losses import BendingEnergyLoss, DiffusionLoss

    cls = BendingEnergyLoss if name == "bending_energy" else DiffusionLoss
    ut = torch.from_numpy(u).requires_grad_(requires_grad)
    with warnings.catch_warnings():  # MONAI indexes with lists (a torch deprecation)
        warnings.simplefilter("ignore")
        out = cls(normalize=normalize, reduction=reduction)(ut)
    if not requires_grad:
        return out.detach().numpy()
    (g,) = torch.autograd.grad(out.sum(), ut)
    return out.detach().numpy(), g.numpy()


@pytest.mark.parametrize("name", list(REGS))
def test_regularizer_matches_monai(xp, rng, name):
    for shape in list(DDF.values())[: 2 if xp.name == "dask" else 3]:
        u = rng.normal(size=shape)
        for red in ("mean", "none"):
            want = _monai_reg(name, u, False, reduction=red)
            out = run(xp, getattr(cl, name), u, reduction=red)
            assert_close(out, want, rtol=1e-12, atol=1e-12)
        # normalize: MONAI divides by an integer size tensor, in float32
        want = _monai_reg(name, u, True, reduction="none")
        assert_close(run(xp, getattr(cl, name), u, normalize=True, reduction="none"), want,
                     rtol=3e-7, atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("name", list(REGS))
def test_regularizer_gradients(ad, rng, name):
    u = rng.normal(size=(1, 2, 5, 4))
    fn = getattr(cl, name)
    val, g_ref = _monai_reg(name, u, False, requires_grad=True)
    (g,) = grad(ad, fn, u)
    assert_close(g, g_ref, rtol=1e-12, atol=1e-14)
    for normalize in (False, True):
        (g,) = grad(ad, fn, u, normalize=normalize)
        assert_close(g, numeric_grad(fn, u, normalize=normalize), rtol=1e-6, atol=1e-9)


def test_regularizer_bad_input():
    for f in (cl.bending_energy, cl.diffusion_regularizer):
        with pytest.raises(ValueError, match="one channel per spatial axis"):
            f(np.zeros((1, 3, 5, 5)))
        with pytest.raises(ValueError, match="> 2"):
            f(np.zeros((1, 2, 5, 2)))
        with pytest.raises(ValueError, match="ddf"):
            f(np.zeros((5, 5)))
        with pytest.raises(TypeError, match="ddf"):
            f(np.zeros((1, 2, 5, 5), dtype=np.int32))
        with pytest.raises(TypeError, match="normalize"):
            f(np.zeros((1, 2, 5, 5)), normalize=1)
        with pytest.raises(ValueError, match="reduction"):
            f(np.zeros((1, 2, 5, 5)), reduction="batch")


# ------------------------------------------------------- jit and compile
def test_jax_jit_traces(rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    x, y = _pair(rng, (1, 1, 6, 6))
    f = jax.jit(lambda a, b: cl.lncc_loss(a, b, kernel_size=3, kernel_type="gaussian"))
    assert_close(f(jnp.asarray(x), jnp.asarray(y)), ref_lncc(x, y, 3, "gaussian").mean())
    u = rng.normal(size=(1, 2, 5, 5))
    g = jax.jit(jax.grad(lambda a: cl.bending_energy(a, normalize=True)))(jnp.asarray(u))
    assert np.all(np.isfinite(np.asarray(g)))


def _compile_check(torch, rng):
    x, y = _pair(rng, (1, 1, 6, 6))
    u = rng.normal(size=(1, 2, 5, 5))
    m = rng.uniform(size=x.shape) > 0.2
    out = compile_fullgraph(
        cl.lncc_loss, torch.from_numpy(x), torch.from_numpy(y), kernel_size=3,
        mask=torch.from_numpy(m),
    )  # fmt: skip
    assert_close(out.numpy(), cl.lncc_loss(x, y, kernel_size=3, mask=m))
    for f in (cl.bending_energy, cl.diffusion_regularizer):
        out = compile_fullgraph(f, torch.from_numpy(u), normalize=True)
        assert_close(out.numpy(), f(u, normalize=True))


@pytest.mark.slow
def test_torch_compile_fullgraph(rng):
    torch = pytest.importorskip("torch")
    t0 = time.perf_counter()
    _compile_check(torch, rng)
    assert time.perf_counter() - t0 < 120


# ------------------------------------------------------------ huge values
def test_lncc_huge_images_scale_invariant(xp, rng):
    # images scaled past the squared sums' range are scaled back by a power of two
    x, y = _pair(rng, (1, 1, 5, 6))
    want = ref_lncc(x, y, 3)
    out = run(xp, cl.lncc_loss, x * 2.0**900, y, kernel_size=3, reduction="none")
    assert_close(out, want, rtol=1e-9)
    x32 = (x * 1e30).astype(np.float32)
    out = run(xp, cl.lncc_loss, x32, y.astype(np.float32), kernel_size=3)
    assert np.isfinite(out) and abs(out - want.mean()) < 1e-4


@pytest.mark.parametrize("name", list(REGS))
def test_regularizer_huge_fields_no_nan(ad, rng, name):
    u = np.clip(rng.normal(size=(1, 2, 5, 4)), -1, 1).astype(np.float32) * np.float32(3e38)
    u[0, 0, 0, 0] = -3.4e38
    fn = getattr(cl, name)
    val = run(ad, fn, u)
    assert not np.isnan(val)
    (g,) = grad(ad, fn, u)
    assert not np.any(np.isnan(g))
    # a finite energy keeps its exact (scaled-back) value and gradient
    v = rng.normal(size=(1, 2, 5, 4)) * 1e150
    assert_close(run(ad, fn, v), REGS[name](v).mean(), rtol=1e-12)
    (g,) = grad(ad, fn, v)
    assert np.all(np.isfinite(g))
