"""Segmentation losses against float64 NumPy references written from the formulas.

Region losses follow MONAI's conventions (smoothing in numerator and
denominator, per sample and class, then mean); generalized dice weights
empty classes with the sample's largest finite weight (MONAI) and normalises
the weights to sum to 1. The references below share no code with corelosses.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl

REGION = ["dice_loss", "tversky_loss", "focal_tversky_loss", "generalized_dice_loss"]


# ----------------------------------------------------------------- references
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _probs(x, activation):
    """Channels-first (N, C, ...) float64 probabilities."""
    if activation == "softmax":
        return _softmax(x, 1)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    return x


def _onehot(idx, c):
    """(N, ...) indices -> (N, C, ...) one-hot float (out-of-range rows all zero)."""
    return (idx[:, None] == np.arange(c).reshape((1, c) + (1,) * (idx.ndim - 1))).astype(float)


def ref_region(
    name, x, y, *, activation="softmax", smooth=1.0, alpha=0.5, beta=0.5, gamma=1.0, w=None
):
    """Per (sample, class) loss (per sample for GDL); channels-first; ``w`` pixel weights."""
    p = _probs(np.asarray(x, float), activation)
    y = np.asarray(y, float)
    w = np.ones_like(p) if w is None else np.broadcast_to(w, p.shape).astype(float)
    axes = tuple(range(2, p.ndim))
    tp = (w * p * y).sum(axes)
    fp = (w * p * (1 - y)).sum(axes)
    fn = (w * (1 - p) * y).sum(axes)
    if name == "dice_loss":
        return 1 - (2 * tp + smooth) / (2 * tp + fp + fn + smooth)
    if name == "tversky_loss":
        return 1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)
    if name == "focal_tversky_loss":
        return (1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)) ** gamma
    # generalized dice, Sudre 2017, MONAI's empty-class weights, normalised
    g = (w * y).sum(axes)
    out = np.empty(p.shape[0])
    for n in range(p.shape[0]):
        if np.all(g[n] == 0):
            wt = np.full(p.shape[1], 1.0 / p.shape[1])
        else:
            wt = np.array([1 / v**2 if v > 0 else 0.0 for v in g[n]])
            wt[g[n] == 0] = wt.max()
            wt = wt / wt.sum()
        num = 2 * np.sum(wt * tp[n]) + smooth
        den = np.sum(wt * (2 * tp[n] + fp[n] + fn[n])) + smooth
        out[n] = 1 - num / den
    return out


def brute_sdm(m):
    """Signed distance of one binary map by exhaustive search (any rank)."""
    m = np.asarray(m, bool)
    out = np.zeros(m.shape)
    if not m.any() or m.all():
        return out
    coords = np.argwhere(np.ones_like(m))
    fg = np.argwhere(m)
    bg = np.argwhere(~m)
    for idx in coords:
        idx = tuple(idx)
        if m[idx]:
            d = np.sqrt(((bg - idx) ** 2).sum(1)).min()
            out[idx] = -(d - 1)
        else:
            out[idx] = np.sqrt(((fg - idx) ** 2).sum(1)).min()
    return out


def brute_sdm_batch(t):
    out = np.zeros(t.shape)
    for n, c in itertools.product(range(t.shape[0]), range(t.shape[1])):
        out[n, c] = brute_sdm(t[n, c])
    return out


def ref_sobel(d):
    from scipy.ndimage import correlate

    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]) / 8.0
    flat = d.reshape((-1,) + d.shape[-2:])
    gx = np.stack([correlate(a, kx, mode="nearest") for a in flat]).reshape(d.shape)
    gy = np.stack([correlate(a, kx.T, mode="nearest") for a in flat]).reshape(d.shape)
    return gx, gy


def ref_diff(d):
    gx = np.zeros_like(d)
    gy = np.zeros_like(d)
    gx[..., :, :-1] = np.diff(d, axis=-1)
    gy[..., :-1, :] = np.diff(d, axis=-2)
    return gx, gy


OPTS = {
    "dice_loss": {},
    "tversky_loss": {"alpha": 0.3, "beta": 0.7},
    "focal_tversky_loss": {"alpha": 0.3, "beta": 0.7, "gamma": 0.75},
    "generalized_dice_loss": {},
}


def _case(rng, shape=(2, 3, 5, 4), hi=None):
    x = rng.normal(size=shape) * 2
    y = rng.integers(0, shape[1] if hi is None else hi, size=(shape[0],) + shape[2:])
    return x, y


def _cl(a, last):
    """Channels-first -> channels-last when ``last`` (C-contiguous: the finite
    differences of ``_check.fd_gradient`` perturb through ``reshape(-1)``)."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)) if last else a


# ------------------------------------------------------------ region losses
@pytest.mark.parametrize("name", REGION)
@pytest.mark.parametrize("last", [False, True], ids=["channels_first", "channels_last"])
@pytest.mark.parametrize("onehot", [False, True], ids=["indices", "onehot"])
def test_region_matches_reference(xp, rng, name, last, onehot):
    x, y = _case(rng)
    yo = _onehot(y, 3)
    fn = getattr(cl, name)
    tgt = _cl(yo, last) if onehot else y
    kw = dict(OPTS[name], channel_axis=-1 if last else 1)
    out = run(xp, fn, _cl(x, last), tgt, reduction="none", **kw)
    ref = ref_region(name, x, yo, **OPTS[name])
    assert out.shape == ref.shape
    assert_close(out, ref)
    mean = run(xp, fn, _cl(x, last), tgt, **kw)
    assert_close(mean, ref.mean())


@pytest.mark.parametrize("name", REGION)
@pytest.mark.parametrize("activation", ["sigmoid", None])
def test_region_sigmoid_and_probabilities(xp, rng, name, activation):
    x = rng.normal(size=(2, 3, 4, 4))
    y = (rng.uniform(size=x.shape) > 0.5).astype(float)
    if activation is None:
        x = 1 / (1 + np.exp(-x))
    out = run(xp, getattr(cl, name), x, y, activation=activation, reduction="none", **OPTS[name])
    assert_close(out, ref_region(name, x, y, activation=activation, **OPTS[name]))


def test_region_3d_and_soft_targets(xp, rng):
    x = rng.normal(size=(2, 2, 3, 4, 3))
    y = _softmax(rng.normal(size=x.shape), 1)
    for name in REGION:
        out = run(xp, getattr(cl, name), x, y, reduction="none", smooth=0.5, **OPTS[name])
        assert_close(out, ref_region(name, x, y, smooth=0.5, **OPTS[name]))


def test_tversky_half_half_is_dice_with_double_smoothing(rng):
    x, y = _case(rng)
    a = cl.tversky_loss(x, y, alpha=0.5, beta=0.5, smooth=0.7, reduction="none")
    b = cl.dice_loss(x, y, smooth=1.4, reduction="none")
    assert_close(a, b)
    ft = cl.focal_tversky_loss(x, y, alpha=0.2, beta=0.8, gamma=1.0)
    assert_close(ft, cl.tversky_loss(x, y, alpha=0.2, beta=0.8))


@pytest.mark.parametrize("name", REGION)
def test_binary_single_channel_index_targets(xp, rng, name):
    x = rng.normal(size=(2, 1, 5, 5))
    y = rng.integers(0, 2, size=(2, 5, 5))
    a = run(xp, getattr(cl, name), x, y, activation="sigmoid", reduction="none", **OPTS[name])
    b = run(
        xp,
        getattr(cl, name),
        x,
        y[:, None].astype(float),
        activation="sigmoid",
        reduction="none",
        **OPTS[name],
    )
    assert_close(a, b)
    assert_close(
        a, ref_region(name, x, y[:, None].astype(float), activation="sigmoid", **OPTS[name])
    )


@pytest.mark.parametrize("name", REGION)
def test_ignore_index_and_pixel_mask(xp, rng, name):
    x, y = _case(rng, (2, 3, 6, 5))
    ign = rng.uniform(size=y.shape) < 0.3
    y_ign = np.where(ign, 255, y)
    yo = _onehot(y, 3)
    ref = ref_region(name, x, yo, w=(~ign)[:, None], **OPTS[name])
    fn = getattr(cl, name)
    out = run(xp, fn, x, y_ign, ignore_index=255, reduction="none", **OPTS[name])
    assert_close(out, ref)
    # the same pixels as a mask, without a channel axis, with one, channels-last
    for m in ((~ign), (~ign)[:, None]):
        assert_close(run(xp, fn, x, y, mask=m, reduction="none", **OPTS[name]), ref)
        assert_close(
            run(xp, fn, x, yo, mask=m.astype(np.int32), reduction="none", **OPTS[name]), ref
        )
    assert_close(
        run(xp, fn, _cl(x, True), y, mask=~ign, channel_axis=-1, reduction="none", **OPTS[name]),
        ref,
    )
    # ignore_index = -100 is never used as an index
    out = run(xp, fn, x, np.where(ign, -100, y), ignore_index=-100, reduction="none", **OPTS[name])
    assert_close(out, ref)


@pytest.mark.parametrize("name", REGION)
def test_loss_level_mask(xp, rng, name):
    x, y = _case(rng)
    none = ref_region(name, x, _onehot(y, 3), **OPTS[name])
    m = np.zeros(none.shape, bool)
    m.reshape(-1)[::2] = True
    fn = getattr(cl, name)
    assert_close(run(xp, fn, x, y, mask=m, reduction="sum", **OPTS[name]), none[m].sum())
    assert_close(run(xp, fn, x, y, mask=m, **OPTS[name]), none[m].mean())
    out = run(xp, fn, x, y, mask=np.zeros(none.shape, bool), **OPTS[name])
    assert float(out) == 0.0


@pytest.mark.parametrize("name", REGION)
@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_nan_under_pixel_mask(ad, rng, name, activation):
    x, y = _case(rng)
    m = rng.uniform(size=y.shape) > 0.3
    clean = run(ad, getattr(cl, name), x, y, mask=m, activation=activation, **OPTS[name])
    xn = x.copy()
    xn[:, 1][~m] = np.nan
    xn[:, 0][~m] = np.inf
    val = run(ad, getattr(cl, name), xn, y, mask=m, activation=activation, **OPTS[name])
    assert_close(val, clean)
    (g,) = grad(ad, getattr(cl, name), xn, y, mask=m, activation=activation, **OPTS[name])
    assert np.all(np.isfinite(g))
    assert np.all(np.moveaxis(g, 1, -1)[~m] == 0)


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_nan_under_loss_level_mask(ad, rng, activation):
    x, y = _case(rng)
    m = np.ones((2, 3), bool)
    if activation == "softmax":
        m[1] = False  # softmax couples the classes: a whole sample
        x[1, 2, 0, 0] = np.nan
    else:
        m[1, 2] = False
        x[1, 2] = np.nan
    for name in REGION:
        mm = m if name != "generalized_dice_loss" else m.all(axis=1)
        if name == "generalized_dice_loss" and activation == "sigmoid":
            continue
        val = run(ad, getattr(cl, name), x, y, mask=mm, activation=activation, **OPTS[name])
        assert np.isfinite(val)
        (g,) = grad(ad, getattr(cl, name), x, y, mask=mm, activation=activation, **OPTS[name])
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize("name", REGION)
def test_empty_class_is_finite_and_empty_prediction_is_zero(xp, name):
    # class 2 absent from target and (hard) prediction
    y = np.zeros((1, 4, 4), dtype=np.int64)
    y[0, :2] = 1
    p = _onehot(y, 3)
    out = run(xp, getattr(cl, name), p, y, activation=None, reduction="none", **OPTS[name])
    assert np.all(np.isfinite(out))
    assert_close(out, np.zeros_like(out), atol=1e-15)
    # all-empty target with an empty prediction: 0; with a false positive: > 0
    z = np.zeros((1, 1, 3, 3))
    assert float(run(xp, getattr(cl, name), z, z, activation=None, **OPTS[name])) == 0.0
    fp = z.copy()
    fp[..., 1, 1] = 1.0
    assert float(run(xp, getattr(cl, name), fp, z, activation=None, **OPTS[name])) > 0.0


@pytest.mark.parametrize("name", REGION)
def test_perfect_prediction_is_zero_and_gradient_finite(ad, name, rng):
    _, y = _case(rng)
    logits = (_onehot(y, 3) * 2 - 1) * 30.0
    val = run(ad, getattr(cl, name), logits, y, **OPTS[name])
    assert 0.0 <= float(val) < 1e-9
    (g,) = grad(ad, getattr(cl, name), logits, y, **OPTS[name])
    assert np.all(np.isfinite(g))
    # a class empty in one sample (every name), float probabilities, smooth=0 stays finite
    y2 = np.zeros_like(y)
    (g,) = grad(
        ad, getattr(cl, name), _onehot(y2, 3) * 0.9 + 0.05, y2, activation=None, **OPTS[name]
    )
    assert np.all(np.isfinite(g))


def test_generalized_dice_empty_class_weights(rng):
    x, _ = _case(rng, (2, 3, 4, 4))
    y = np.zeros((2, 4, 4), dtype=np.int64)
    y[0, :1] = 1  # sample 0: class 2 empty; class 1 four pixels, class 0 twelve
    y[1] = 0  # sample 1: only class 0
    out = cl.generalized_dice_loss(x, y, reduction="none")
    assert np.all(np.isfinite(out))
    assert_close(out, ref_region("generalized_dice_loss", x, _onehot(y, 3)))
    # every class empty (sigmoid, multi-label): equal weights, false positives punished
    z = np.zeros((1, 2, 3, 3))
    assert float(cl.generalized_dice_loss(z + 5.0, z, activation="sigmoid")) > 0.5
    assert float(cl.generalized_dice_loss(z - 50.0, z, activation="sigmoid")) < 1e-15


@pytest.mark.parametrize("name", REGION)
@pytest.mark.parametrize("last", [False, True])
def test_region_gradient_vs_finite_differences(ad, rng, name, last):
    x, y = _case(rng, (2, 3, 4, 3))
    m = rng.uniform(size=y.shape) > 0.2
    kw = dict(OPTS[name], channel_axis=-1 if last else 1, mask=m)
    (g,) = grad(ad, getattr(cl, name), _cl(x, last), y, **kw)
    ref = numeric_grad(getattr(cl, name), _cl(x, last), y, **kw)
    assert_close(g, ref, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", REGION)
def test_region_torch_compile(name, rng):
    torch = pytest.importorskip("torch")
    x, y = _case(rng)
    y = np.where(rng.uniform(size=y.shape) < 0.2, 255, y)
    m = np.ones((2, 5, 4), bool)
    m[0, 0] = False
    for kw in ({"ignore_index": 255}, {"ignore_index": 255, "mask": m, "channel_axis": -1}):
        xx = _cl(x, "channel_axis" in kw)
        targs = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        out = compile_fullgraph(
            getattr(cl, name), torch.from_numpy(xx), torch.from_numpy(y), **targs, **OPTS[name]
        )
        assert_close(out.numpy(), getattr(cl, name)(xx, y, **kw, **OPTS[name]))


def test_region_half_precision_returns_float32():
    torch = pytest.importorskip("torch")
    x = torch.randn(2, 3, 4, 4, dtype=torch.bfloat16)
    y = torch.randint(0, 3, (2, 4, 4))
    for name in REGION:
        assert getattr(cl, name)(x, y).dtype == torch.float32


# ------------------------------------------------------------------- MONAI
@pytest.mark.parametrize("name", ["dice_loss", "tversky_loss", "generalized_dice_loss"])
def test_matches_monai(name, rng):
    pytest.importorskip("monai")
    torch = pytest.importorskip("torch")
    from monai import losses

    x, y = _case(rng, (3, 3, 6, 5))
    y[2, :2] = 0  # keep all classes present in most samples
    y[1][y[1] == 2] = 1  # sample 1 without class 2: MONAI's max-weight convention
    s = 0.0 if name == "generalized_dice_loss" else 1.0
    cls = {
        "dice_loss": losses.DiceLoss,
        "tversky_loss": losses.TverskyLoss,
        "generalized_dice_loss": losses.GeneralizedDiceLoss,
    }[name]
    extra = {"alpha": 0.3, "beta": 0.7} if name == "tversky_loss" else {}
    peer = cls(softmax=True, to_onehot_y=True, smooth_nr=s, smooth_dr=s, reduction="none", **extra)
    ref = peer(torch.from_numpy(x), torch.from_numpy(y[:, None])).numpy()
    ours = getattr(cl, name)(x, y, smooth=s, reduction="none", **extra)
    # MONAI computes the GDL weights in float32 (``ground_o.float()``)
    rtol = 1e-6 if name == "generalized_dice_loss" else 1e-9
    assert_close(ours, ref.reshape(ours.shape), rtol=rtol)


# ------------------------------------------------------------ distance maps
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (1, 2, 4, 5, 3)], ids=["2d", "3d"])
def test_signed_distance_map_brute_force(xp, rng, shape):
    idx = rng.integers(0, shape[1], size=(shape[0],) + shape[2:])
    t = _onehot(idx, shape[1])
    t[0, 0] = 0.0  # empty
    ref = brute_sdm_batch(t)
    out = run(xp, cl.signed_distance_map, t)
    assert out.shape == t.shape
    assert_close(out, ref)
    assert np.all(out[0, 0] == 0)
    # boolean and integer maps, channels-last
    # boolean and integer maps (the namespace's default float: float32 for torch), channels-last
    out = run(xp, cl.signed_distance_map, t > 0)
    assert_close(out, ref, dtype=out.dtype)
    out = run(xp, cl.signed_distance_map, _cl(t, True).astype(np.int32), channel_axis=-1)
    assert_close(out, _cl(ref, True), dtype=out.dtype)


def test_signed_distance_map_full_and_boundary_rows(xp):
    t = np.zeros((1, 2, 5, 5))
    t[0, 0] = 1.0  # full
    t[0, 1, 1:4, 1:4] = 1.0
    out = run(xp, cl.signed_distance_map, t)
    assert np.all(out[0, 0] == 0)
    inside = out[0, 1, 1:4, 1:4]
    assert inside[1, 1] == -1.0 and np.all(inside[0] == 0) and np.all(inside[:, 0] == 0)
    assert out[0, 1, 0, 0] == pytest.approx(np.sqrt(2))


def test_signed_distance_map_dtypes():
    t = np.zeros((1, 1, 3, 3), dtype=np.int64)
    t[..., 1, 1] = 1
    assert cl.signed_distance_map(t).dtype == np.float64
    assert cl.signed_distance_map(t.astype(np.float32)).dtype == np.float32
    torch = pytest.importorskip("torch")
    assert cl.signed_distance_map(torch.from_numpy(t)).dtype == torch.float32
    assert cl.signed_distance_map(torch.from_numpy(t).half()).dtype == torch.float32


def test_signed_distance_map_dask_rechunks_lazily():
    da = pytest.importorskip("dask.array")
    t = np.zeros((4, 2, 8, 8))
    t[:, 1, 2:5, 3:7] = 1
    t[:, 0] = 1 - t[:, 1]
    d = da.from_array(t, chunks=(1, 1, 3, 3))
    out = cl.signed_distance_map(d)
    assert hasattr(out, "dask")
    assert_close(out.compute(), brute_sdm_batch(t))


def test_signed_distance_map_jax_jit_vmap_and_no_gradient():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    t = np.zeros((2, 2, 5, 6))
    t[:, 1, 1:3, 2:5] = 1
    t[:, 0] = 1 - t[:, 1]
    ref = brute_sdm_batch(t)
    assert_close(np.asarray(jax.jit(cl.signed_distance_map)(jnp.asarray(t))), ref)
    out = jax.vmap(lambda a: cl.signed_distance_map(a[None])[0])(jnp.asarray(t))
    assert_close(np.asarray(out), ref)
    g = jax.grad(lambda a: jnp.sum(cl.signed_distance_map(a)))(jnp.asarray(t))
    assert np.all(np.asarray(g) == 0)

    x = jnp.asarray(np.random.default_rng(0).normal(size=t.shape))

    def f(x, t):
        return cl.dice_loss(x, t) + 0.1 * cl.boundary_loss(x, cl.signed_distance_map(t))

    g = jax.jit(jax.grad(f))(x, jnp.asarray(t))
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize("bad", [2.0, 0.5, -1.0])
def test_signed_distance_map_rejects_non_binary(xp, bad):
    t = np.zeros((1, 2, 4, 4))
    t[0, 1, 1, 1] = bad
    a = xp.asarray(t)
    with pytest.raises(ValueError, match="binary"):
        out = cl.signed_distance_map(a)
        xp.to_numpy(out)  # dask: raised at compute time


def test_signed_distance_map_bad_shapes():
    with pytest.raises(ValueError, match="rank >= 3"):
        cl.signed_distance_map(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="channel_axis"):
        cl.signed_distance_map(np.zeros((2, 3, 4)), channel_axis=0)


# ------------------------------------------------------------ boundary loss
def _boundary_case(rng, shape=(2, 3, 6, 5)):
    x, y = _case(rng, shape)
    t = _onehot(y, shape[1])
    return x, brute_sdm_batch(t)


def test_boundary_matches_reference(xp, rng):
    x, phi = _boundary_case(rng)
    p = _softmax(x, 1)
    ref = (p[:, 1:] * phi[:, 1:]).mean(axis=(2, 3))
    assert_close(run(xp, cl.boundary_loss, x, phi, reduction="none"), ref)
    assert_close(run(xp, cl.boundary_loss, x, phi), (p[:, 1:] * phi[:, 1:]).mean())
    assert_close(
        run(xp, cl.boundary_loss, _cl(x, True), _cl(phi, True), channel_axis=-1), ref.mean()
    )
    s = 1 / (1 + np.exp(-x))
    assert_close(
        run(xp, cl.boundary_loss, x, phi, activation="sigmoid", reduction="none"),
        (s * phi).mean(axis=(2, 3)),
    )
    assert_close(
        run(xp, cl.boundary_loss, x, phi, classes=(2, 0), reduction="none"),
        (p[:, [2, 0]] * phi[:, [2, 0]]).mean(axis=(2, 3)),
    )
    assert_close(
        run(xp, cl.boundary_loss, s, phi, activation=None, classes=[0, 2], reduction="none"),
        (s[:, [0, 2]] * phi[:, [0, 2]]).mean(axis=(2, 3)),
    )


def test_boundary_masks(xp, rng):
    x, phi = _boundary_case(rng)
    m = rng.uniform(size=(2, 6, 5)) > 0.3
    m[1] = False  # no pixel left in sample 1: its entries are left out of the mean
    p = _softmax(x, 1)
    num = (p[:, 1:] * phi[:, 1:] * m[:, None]).sum(axis=(2, 3))
    cnt = m.sum(axis=(1, 2))[:, None]
    per = np.where(cnt > 0, num / np.maximum(cnt, 1), 0.0)
    assert_close(run(xp, cl.boundary_loss, x, phi, mask=m, reduction="none"), per)
    assert_close(run(xp, cl.boundary_loss, x, phi, mask=m), per[0].mean())
    lm = np.array([[True, False], [False, True]])
    full = (p[:, 1:] * phi[:, 1:]).mean(axis=(2, 3))
    assert_close(run(xp, cl.boundary_loss, x, phi, mask=lm), full[lm].mean())


def test_boundary_gradient_nan_under_mask_and_compile(ad, rng):
    x, phi = _boundary_case(rng)
    m = rng.uniform(size=(2, 6, 5)) > 0.3
    (g,) = grad(ad, cl.boundary_loss, x, phi, mask=m)
    assert_close(g, numeric_grad(cl.boundary_loss, x, phi, mask=m), rtol=1e-5, atol=1e-9)
    xn = x.copy()
    xn[:, 1][~m] = np.nan
    (g,) = grad(ad, cl.boundary_loss, xn, phi, mask=m)
    assert np.all(np.isfinite(g)) and np.all(np.moveaxis(g, 1, -1)[~m] == 0)
    xs = x.copy()
    xs[1, 2] = np.nan  # sigmoid, loss-level mask on (sample 1, class 2)
    lm = np.array([[True, True, True], [True, True, False]])
    (g,) = grad(ad, cl.boundary_loss, xs, phi, activation="sigmoid", mask=lm)
    assert np.all(np.isfinite(g)) and np.all(g[1, 2] == 0)
    if ad.name == "torch":
        import torch

        out = compile_fullgraph(
            cl.boundary_loss,
            torch.from_numpy(x),
            torch.from_numpy(phi),
            mask=torch.from_numpy(m),
            classes=(2, 1),
        )
        assert_close(out.numpy(), cl.boundary_loss(x, phi, mask=m, classes=(2, 1)))


def test_boundary_minimum_is_the_object():
    t = np.zeros((1, 2, 9, 9))
    t[0, 1, 3:6, 2:7] = 1
    t[0, 0] = 1 - t[0, 1]
    phi = cl.signed_distance_map(t)
    perfect = float(cl.boundary_loss(t, phi, activation=None))
    shifted = float(cl.boundary_loss(np.roll(t, 1, axis=-1), phi, activation=None))
    assert perfect < shifted and perfect < 0


# ------------------------------------------------------------ gradient loss
@pytest.mark.parametrize("operator", ["sobel", "diff"])
def test_gradient_loss_matches_reference(xp, rng, operator):
    x = rng.uniform(size=(2, 3, 6, 7))
    t = rng.uniform(size=(2, 3, 6, 7))
    gx, gy = (ref_sobel if operator == "sobel" else ref_diff)(x - t)
    ref = np.abs(gx) + np.abs(gy)
    assert_close(run(xp, cl.gradient_loss, x, t, operator=operator, reduction="none"), ref)
    assert_close(run(xp, cl.gradient_loss, x, t, operator=operator), ref.mean())
    # no leading axes, weight and mask
    assert_close(
        run(xp, cl.gradient_loss, x[0, 0], t[0, 0], operator=operator, reduction="none"), ref[0, 0]
    )
    w = rng.uniform(size=(7,))
    m = rng.uniform(size=(6, 7)) > 0.5
    assert_close(
        run(xp, cl.gradient_loss, x, t, operator=operator, weight=w, mask=m, reduction="sum"),
        (ref * w * m).sum(),
    )


def test_gradient_loss_of_a_constant_shift_is_zero(xp, rng):
    x = rng.uniform(size=(3, 5, 5))
    assert_close(run(xp, cl.gradient_loss, x, x + 0.3), 0.0, atol=1e-14)


@pytest.mark.parametrize("operator", ["sobel", "diff"])
def test_gradient_loss_grad_nan_mask_compile(ad, rng, operator):
    x = rng.uniform(size=(2, 5, 6))
    t = rng.uniform(size=(2, 5, 6))
    (g,) = grad(ad, cl.gradient_loss, x, t, operator=operator)
    assert_close(g, numeric_grad(cl.gradient_loss, x, t, operator=operator), rtol=1e-5, atol=1e-9)
    m = rng.uniform(size=x.shape) > 0.2
    xn = np.where(m, x, np.nan)
    (g,) = grad(ad, cl.gradient_loss, xn, t, operator=operator, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)
    if ad.name == "torch":
        import torch

        out = compile_fullgraph(
            cl.gradient_loss, torch.from_numpy(x), torch.from_numpy(t), operator=operator
        )
        assert_close(out.numpy(), cl.gradient_loss(x, t, operator=operator))


# --------------------------------------------------------------- bad input
def test_bad_input():
    rng = np.random.default_rng(0)
    x, y = _case(rng)
    for name in REGION:
        fn = getattr(cl, name)
        with pytest.raises(ValueError, match="4 classes.*the input has 3"):
            fn(x, np.zeros((2, 4, 5, 4)))
        with pytest.raises(ValueError, match="target"):
            fn(x, np.zeros((2, 5, 5), dtype=np.int64))
        with pytest.raises(ValueError, match="activation"):
            fn(x, y, activation="relu")
        with pytest.raises(ValueError, match="softmax.*2 classes"):
            fn(x[:, :1], y, activation="softmax")
        with pytest.raises(TypeError, match="ignore_index"):
            fn(x, _onehot(y, 3), ignore_index=0.5)
        with pytest.raises(ValueError, match="class indices outside"):
            fn(x, y + 1)
        with pytest.raises(TypeError, match="integers"):
            fn(x, y.astype(float))
        with pytest.raises(ValueError, match="channel_axis"):
            fn(x, y, channel_axis=0)
        with pytest.raises(ValueError, match="channel_axis"):
            fn(x, y, channel_axis=4)
        with pytest.raises(ValueError, match="rank >= 3"):
            fn(x[:, :, 0, 0], y[:, 0, 0])
        with pytest.raises(ValueError, match="smooth"):
            fn(x, y, smooth=-1.0)
        with pytest.raises(ValueError, match="reduction"):
            fn(x, y, reduction="avg")
        with pytest.raises(ValueError, match="mask"):
            fn(x, y, mask=np.ones((2, 5, 3), bool))
        with pytest.raises(ValueError, match="probabilities"):
            fn(x, y, activation=None)
    with pytest.raises(ValueError, match="alpha"):
        cl.tversky_loss(x, y, alpha=-0.1)
    with pytest.raises(ValueError, match="gamma"):
        cl.focal_tversky_loss(x, y, gamma=0.0)
    with pytest.raises(ValueError, match="mask"):
        cl.generalized_dice_loss(x, y, mask=np.ones((2, 3), bool))
    phi = np.zeros_like(x)
    with pytest.raises(ValueError, match="distance_map"):
        cl.boundary_loss(x, phi[:, :2])
    with pytest.raises(ValueError, match="classes"):
        cl.boundary_loss(x, phi, classes=(3,))
    with pytest.raises(ValueError, match="classes"):
        cl.boundary_loss(x, phi, classes=(1, 1))
    with pytest.raises(ValueError, match="activation"):
        cl.boundary_loss(x, phi, activation="tanh")
    with pytest.raises(ValueError, match="operator"):
        cl.gradient_loss(x, x, operator="laplace")
    with pytest.raises(ValueError, match="target"):
        cl.gradient_loss(x, x[0])
    with pytest.raises(TypeError, match="numpy and torch"):
        torch = pytest.importorskip("torch")
        cl.dice_loss(x, torch.from_numpy(y))
