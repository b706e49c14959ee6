"""Image losses (SSIM, MS-SSIM, PSNR, total variation) against float64 NumPy
references written from the formulas (explicit window sums, no shared code) and
against kornia, MONAI and pytorch-msssim run live (values and gradients)."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run
from numpy.lib.stride_tricks import sliding_window_view

import corelosses as cl


# ----------------------------------------------------------------- references
def _window(k, sigma):
    r = np.arange(k) - k // 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def _filter(img, w):
    """'valid' correlation of (N, C, *spatial) with the outer product of ``w``."""
    d = img.ndim - 2
    kern = w
    for _ in range(d - 1):
        kern = np.multiply.outer(kern, w)
    win = sliding_window_view(img, (len(w),) * d, axis=tuple(range(2, img.ndim)))
    return np.tensordot(win, kern, axes=d)


def ref_ssim_cs(x, y, *, k=11, sigma=1.5, L=1.0, k1=0.01, k2=0.03):
    """Channels-first; per (N, C) mean SSIM and mean CS, straight from the formula."""
    w = _window(k, sigma)
    c1, c2 = (k1 * L) ** 2, (k2 * L) ** 2
    mx, my = _filter(x, w), _filter(y, w)
    sxx = _filter(x * x, w) - mx**2
    syy = _filter(y * y, w) - my**2
    sxy = _filter(x * y, w) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    s = (2 * mx * my + c1) / (mx**2 + my**2 + c1) * cs
    ax = tuple(range(2, x.ndim))
    return s.mean(ax), cs.mean(ax)


def _half(x):
    for ax in range(2, x.ndim):
        if x.shape[ax] % 2:
            pad = [(0, 0)] * x.ndim
            pad[ax] = (1, 0)
            x = np.pad(x, pad)
        shape = x.shape[:ax] + (x.shape[ax] // 2, 2) + x.shape[ax + 1 :]
        x = x.reshape(shape).mean(ax + 1)
    return x


def ref_ms_ssim(x, y, weights, **kw):
    vals = []
    for i in range(len(weights)):
        s, cs = ref_ssim_cs(x, y, **kw)
        vals.append(np.maximum(s if i == len(weights) - 1 else cs, 0.0))
        x, y = _half(x), _half(y)
    return np.prod([v**w for v, w in zip(vals, weights)], axis=0)


def ref_tv(x, axes, kind="l1", average=False):
    tot = 0.0
    for a in axes:
        d = np.diff(x, axis=a)
        e = np.abs(d) if kind == "l1" else d**2
        s = e.sum(axis=axes)
        tot = tot + (s / np.prod([d.shape[b] for b in axes]) if average and d.shape[a] else s)
    return tot


def _pair(rng, shape, noise=0.2):
    x = rng.uniform(size=shape)
    return x, np.clip(x + noise * rng.normal(size=shape), 0, 1)


# ------------------------------------------------------------- vs references
@pytest.mark.parametrize(
    "shape,kw,last",
    [
        ((2, 2, 7, 6), {"window_size": 5}, False),
        ((2, 6, 5, 2), {"window_size": 3, "sigma": 0.8, "data_range": 2.0}, True),
        ((1, 1, 5, 4, 6), {"window_size": 3, "k1": 0.05, "k2": 0.1}, False),
    ],
)
def test_ssim_reference(xp, rng, shape, kw, last):
    x, y = _pair(rng, shape)
    ref_kw = {"k": kw["window_size"], "sigma": kw.get("sigma", 1.5), "L": kw.get("data_range", 1)}
    ref_kw.update({k: kw[k] for k in ("k1", "k2") if k in kw})
    if last:
        want = 1 - ref_ssim_cs(np.moveaxis(x, -1, 1), np.moveaxis(y, -1, 1), **ref_kw)[0]
        kw = {**kw, "channel_axis": -1}
    else:
        want = 1 - ref_ssim_cs(x, y, **ref_kw)[0]
    assert_close(run(xp, cl.ssim_loss, x, y, reduction="none", **kw), want)
    if xp.name == "dask":  # each dask call builds a large graph: the reductions elsewhere
        return
    assert_close(run(xp, cl.ssim_loss, x, y, **kw), want.mean())
    assert_close(run(xp, cl.ssim_loss, x, y, reduction="sum", **kw), want.sum())


@pytest.mark.parametrize("shape", [(1, 2, 12, 12), (1, 1, 13, 11)])
def test_ms_ssim_reference(xp, rng, shape):
    if xp.name == "dask" and shape[-1] % 2 == 0:
        pytest.skip("one dask case (large graphs)")
    x, y = _pair(rng, shape)
    w = (0.2, 0.3, 0.5)
    want = 1 - ref_ms_ssim(x, y, w, k=3)
    assert_close(run(xp, cl.ms_ssim_loss, x, y, window_size=3, weights=w, reduction="none"), want)


def test_psnr_reference(xp, rng):
    x, y = rng.uniform(size=(3, 2, 4, 5)), rng.uniform(size=(3, 2, 4, 5))
    mse = ((x - y) ** 2).mean(axis=(1, 2, 3))
    want = -10 * np.log10(4.0 / mse)
    assert_close(run(xp, cl.psnr_loss, x, y, data_range=2.0, reduction="none"), want)
    got = run(xp, cl.psnr_loss, x, y, data_range=2.0, eps=0.5, reduction="none")
    assert_close(got, -10 * np.log10(4.0 / (mse + 0.5)))


def test_psnr_huge_values_float32(xp):
    """Computed in units of the largest magnitude: no overflow near float32's maximum."""
    x = np.array([[3e38, -3e38, 1.0], [1e-3, 0.0, 2.0]], dtype=np.float32)
    y = np.array([[-3e38, 1.0, 0.0], [0.0, 0.0, 2.0]], dtype=np.float32)
    d = x.astype(np.float64) - y.astype(np.float64)
    want = 10 * np.log10((d**2).mean(axis=1))
    assert_close(run(xp, cl.psnr_loss, x, y, reduction="none"), want, "float32")


@pytest.mark.parametrize(
    "shape,axes,kind,average",
    [((2, 3, 5, 6), (-2, -1), "l1", False), ((2, 4, 3, 5), (1, 2, 3), "l2", True)],
)
def test_tv_reference(xp, rng, shape, axes, kind, average):
    x = rng.normal(size=shape)
    want = ref_tv(x, tuple(a % x.ndim for a in axes), kind, average)
    got = run(xp, cl.total_variation, x, spatial_axes=axes, kind=kind, average=average,
              reduction="none")  # fmt: skip
    assert_close(got, want)


# ------------------------------------------------------------ vs live peers
torch = pytest.importorskip("torch")


def _torch_value_grad(fn, x, y):
    tx = torch.tensor(x, requires_grad=True)
    out = fn(tx, torch.tensor(y))
    out.backward()
    return float(out.detach()), tx.grad.numpy()


def _ours(fn, **kw):
    return lambda a, b: fn(a, b, **kw)


def test_ssim_vs_pytorch_msssim_and_monai(rng):
    pm = pytest.importorskip("pytorch_msssim")
    monai_losses = pytest.importorskip("monai.losses")
    x, y = _pair(rng, (2, 3, 12, 13))
    ours = _torch_value_grad(_ours(cl.ssim_loss, window_size=5, sigma=1.2, k2=0.05), x, y)
    peer = _torch_value_grad(
        lambda a, b: 1 - pm.ssim(a, b, data_range=1.0, win_size=5, win_sigma=1.2, K=(0.01, 0.05)),
        x, y,
    )  # fmt: skip
    assert_close(ours[0], peer[0], rtol=1e-5)  # pytorch-msssim's window is float32
    assert_close(ours[1], peer[1], rtol=1e-4, atol=1e-8)
    monai = monai_losses.SSIMLoss(2, win_size=5, kernel_sigma=1.2, k2=0.05)
    peer = _torch_value_grad(lambda a, b: monai(a, b), x, y)  # float32 inside MONAI
    assert_close(ours[0], peer[0], rtol=1e-5)
    assert_close(ours[1], peer[1], rtol=1e-3, atol=1e-7)
    # 3-D, channels-last against pytorch-msssim channels-first
    x, y = _pair(rng, (1, 2, 7, 8, 9))
    got = run_torch(cl.ssim_loss, np.moveaxis(x, 1, -1), np.moveaxis(y, 1, -1), window_size=3,
                    channel_axis=-1)  # fmt: skip
    want = 1 - float(pm.ssim(torch.tensor(x), torch.tensor(y), data_range=1.0, win_size=3))
    assert_close(got, want, rtol=1e-5)


def run_torch(fn, *a, **kw):
    return float(fn(*[torch.tensor(v) for v in a], **kw))


def test_ssim_vs_kornia(rng):
    kornia = pytest.importorskip("kornia")
    x, y = _pair(rng, (2, 2, 11, 10))
    ours = _torch_value_grad(lambda a, b: cl.ssim_loss(a, b, window_size=5) / 2, x, y)
    peer = _torch_value_grad(
        lambda a, b: kornia.losses.ssim_loss(a, b, 5, eps=0.0, padding="valid"), x, y
    )
    assert_close(ours[0], peer[0])
    assert_close(ours[1], peer[1], rtol=1e-8, atol=1e-12)
    # kornia's default "same" padding: reflect-pad the images by window_size // 2
    pad = [(0, 0), (0, 0), (2, 2), (2, 2)]
    xp_, yp_ = np.pad(x, pad, mode="reflect"), np.pad(y, pad, mode="reflect")
    want = float(kornia.losses.ssim_loss(torch.tensor(x), torch.tensor(y), 5, eps=0.0))
    assert_close(float(cl.ssim_loss(xp_, yp_, window_size=5)) / 2, want)


def test_ms_ssim_vs_pytorch_msssim(rng):
    pm = pytest.importorskip("pytorch_msssim")
    x, y = _pair(rng, (2, 2, 35, 38))  # pytorch-msssim wants min size > (3 - 1) * 16
    w = [0.3, 0.3, 0.4]
    ours = _torch_value_grad(_ours(cl.ms_ssim_loss, window_size=3, weights=w), x, y)
    peer = _torch_value_grad(
        lambda a, b: 1 - pm.ms_ssim(a, b, data_range=1.0, win_size=3, weights=w), x, y
    )
    assert_close(ours[0], peer[0], rtol=1e-5)  # pytorch-msssim's window is float32
    assert_close(ours[1], peer[1], rtol=1e-4, atol=1e-8)


def test_ms_ssim_vs_monai(rng):
    metrics = pytest.importorskip("monai.metrics")
    x, y = _pair(rng, (2, 1, 16, 20))
    w = (0.5, 0.5)
    m = metrics.MultiScaleSSIMMetric(2, kernel_size=3, weights=w)(torch.tensor(x), torch.tensor(y))
    assert_close(float(cl.ms_ssim_loss(x, y, window_size=3, weights=w)), 1 - float(m.mean()),
                 rtol=1e-5)  # fmt: skip


def test_psnr_and_tv_vs_kornia(rng):
    kornia = pytest.importorskip("kornia")
    x, y = _pair(rng, (2, 3, 5, 4))
    ours = _torch_value_grad(lambda a, b: cl.psnr_loss(a.reshape(1, -1), b.reshape(1, -1)), x, y)
    peer = _torch_value_grad(lambda a, b: kornia.losses.psnr_loss(a, b, 1.0), x, y)
    assert_close(ours[0], peer[0])
    assert_close(ours[1], peer[1])
    x[0, 0, 1, :] = x[0, 0, 0, :]  # zero differences: the gradient of |d| at 0 is 0
    for average, red in ((False, "sum"), (True, "mean")):
        tx = torch.tensor(x, requires_grad=True)
        ours = cl.total_variation(tx, average=average, reduction="none")
        (g1,) = torch.autograd.grad(ours.sum(), tx)
        tx2 = torch.tensor(x, requires_grad=True)
        peer = kornia.losses.total_variation(tx2, reduction=red)
        (g2,) = torch.autograd.grad(peer.sum(), tx2)
        assert_close(ours.detach().numpy(), peer.detach().numpy())
        assert_close(g1.numpy(), g2.numpy())


# --------------------------------------------------------------- gradients
CASES = {
    "ssim_loss": lambda rng: (_pair(rng, (1, 2, 7, 6)), {"window_size": 3}),
    "ms_ssim_loss": lambda rng: (
        _pair(rng, (1, 1, 9, 8)),
        {"window_size": 3, "weights": (0.4, 0.6)},
    ),
    "psnr_loss": lambda rng: (_pair(rng, (2, 3, 4)), {}),
    "total_variation": lambda rng: ((rng.normal(size=(2, 2, 4, 5)),), {"kind": "l2"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_vs_finite_differences(ad, rng, name):
    fn = getattr(cl, name)
    args, kw = CASES[name](rng)
    (g,) = grad(ad, fn, *args, **kw)
    assert_close(g, numeric_grad(fn, *args, **kw), rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------- extremes
def test_constant_images_finite(ad):
    """Flat images (zero variance), equal or not: finite values and gradients."""
    x = np.stack([np.full((1, 8, 8), v) for v in (0.5, 0.5, 0.0)])
    y = np.stack([np.full((1, 8, 8), v) for v in (0.5, 0.0, 0.0)])
    for fn, kw in ((cl.ssim_loss, {"window_size": 5}),
                   (cl.ms_ssim_loss, {"window_size": 3, "weights": (0.5, 0.5)})):  # fmt: skip
        v = run(ad, fn, x, y, reduction="none", **kw)
        (g,) = grad(ad, fn, x, y, **kw)
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)), (fn.__name__, v)
        assert_close(v[[0, 2], 0], 0.0, atol=1e-12)
        assert v[1, 0] > 0.5


def test_large_offset_float32(ad, rng):
    """Variances from centred images: float32 stays accurate for images far from 0."""
    x, y = _pair(rng, (1, 1, 10, 10))
    want = float(cl.ssim_loss(x + 1000.0, y + 1000.0, window_size=5, data_range=1.0))
    got = run(ad, cl.ssim_loss, (x + 1000).astype(np.float32), (y + 1000).astype(np.float32),
              window_size=5)  # fmt: skip
    assert_close(got, want, rtol=2e-3)


def test_psnr_identical_is_minus_inf_without_nan(ad, rng):
    x = rng.uniform(size=(2, 5))
    v = run(ad, cl.psnr_loss, x, x, reduction="none")
    assert np.all(np.isneginf(v))
    (g,) = grad(ad, lambda a, b: cl.psnr_loss(a, b, eps=1e-10), x, x)
    assert np.all(g == 0)
    (g,) = grad(ad, cl.psnr_loss, x, x)
    assert not np.any(np.isnan(g))
    assert_close(run(ad, cl.psnr_loss, x, x, eps=1e-10), -100.0)


@pytest.mark.parametrize("name", list(CASES))
def test_mask_nan_safe(ad, rng, name):
    fn = getattr(cl, name)
    args, kw = CASES[name](rng)
    clean = np.asarray(fn(*args, **kw, reduction="none"))
    m = np.ones(clean.shape, dtype=bool)
    m.reshape(-1)[-1] = False
    x = np.array(args[0])
    bad = np.zeros(x.shape, dtype=bool)
    bad[tuple(np.argwhere(~m)[0])] = True  # the image behind the masked loss entry
    x[bad] = np.nan
    dirty = (x, *args[1:])
    assert_close(run(ad, fn, *dirty, mask=m, reduction="sum", **kw), clean[m].sum())
    (g,) = grad(ad, fn, *dirty, mask=m, reduction="sum", **kw)
    assert np.all(np.isfinite(g)) and np.all(g[bad] == 0)
    assert run(ad, fn, *dirty, mask=np.zeros(m.shape, bool), **kw) == 0.0


# ------------------------------------------------------------- compilation
# jax.jit: every ``xp``/``ad`` test above runs jax under ``jax.jit`` (values and grads).
@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_torch_compile_fullgraph(rng, name):
    args, kw = CASES[name](rng)
    fn = getattr(cl, name)
    t = time.perf_counter()
    out = compile_fullgraph(fn, *[torch.tensor(v) for v in args], **kw)
    assert_close(float(out), float(fn(*args, **kw)))
    assert time.perf_counter() - t < 60


# ---------------------------------------------------------------- bad input
X = np.random.default_rng(0).uniform(size=(1, 1, 8, 8))


@pytest.mark.parametrize(
    "fn,kw,exc,arg",
    [
        (cl.ssim_loss, {"data_range": 0.0}, ValueError, "data_range"),
        (cl.ssim_loss, {"data_range": -1.0}, ValueError, "data_range"),
        (cl.ssim_loss, {"window_size": 9}, ValueError, "window_size"),
        (cl.ssim_loss, {"window_size": 4}, ValueError, "window_size"),
        (cl.ssim_loss, {"window_size": 3.0}, TypeError, "window_size"),
        (cl.ssim_loss, {"sigma": 0.0}, ValueError, "sigma"),
        (cl.ssim_loss, {"k1": 0.0}, ValueError, "k1"),
        (cl.ssim_loss, {"channel_axis": 0}, ValueError, "channel_axis"),
        (cl.ssim_loss, {"mask": np.ones((2, 1), bool)}, ValueError, "mask"),
        (cl.ms_ssim_loss, {"window_size": 3}, ValueError, "window_size"),
        (cl.ms_ssim_loss, {"window_size": 3, "weights": ()}, ValueError, "weights"),
        (cl.ms_ssim_loss, {"window_size": 3, "weights": (0.5, -1)}, ValueError, "weights"),
        (cl.ms_ssim_loss, {"data_range": math.nan, "window_size": 3}, ValueError, "data_range"),
        (cl.psnr_loss, {"data_range": 0}, ValueError, "data_range"),
        (cl.psnr_loss, {"eps": -1.0}, ValueError, "eps"),
    ],
)
def test_bad_options(fn, kw, exc, arg):
    with pytest.raises(exc, match=arg):
        fn(X, X, **kw)


def test_bad_shapes():
    with pytest.raises(ValueError, match="target"):
        cl.ssim_loss(X, X[..., :7], window_size=3)
    with pytest.raises(ValueError, match="input"):
        cl.ssim_loss(X[0, 0], X[0, 0], window_size=3)
    with pytest.raises(TypeError, match="input"):
        cl.ssim_loss(X.astype(int), X, window_size=3)
    with pytest.raises(ValueError, match="kind"):
        cl.total_variation(X, kind="l3")
    with pytest.raises(ValueError, match="spatial_axes"):
        cl.total_variation(X, spatial_axes=(2, -2))
    with pytest.raises(ValueError, match="spatial_axes"):
        cl.total_variation(X, spatial_axes=(4,))
    with pytest.raises(ValueError, match="mask"):
        cl.psnr_loss(X, X, mask=np.ones(3, bool))


def test_peer_warning_free():
    """Our window never exceeds the image: no silent skipped smoothing (pytorch-msssim)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="window_size"):
            cl.ssim_loss(np.zeros((1, 1, 4, 20)), np.zeros((1, 1, 4, 20)), window_size=5)
