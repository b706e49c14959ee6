r"""Image losses: SSIM, MS-SSIM, PSNR, total variation.

Layout: batch on axis 0, channels on ``channel_axis`` (``1``, PyTorch's
``(N, C, *spatial)``, by default; ``-1`` for channels-last), one or more
spatial axes (2-D images, 3-D volumes). SSIM and MS-SSIM are computed per
sample and channel: ``reduction="none"`` returns an ``(N, C)`` array and
``"mean"`` averages it. ``mask`` (boolean or 0/1) broadcasts to that unreduced
loss and leaves whole images out; NaN or inf in a masked image reaches neither
the value nor the gradient.

The Gaussian window is the sampled, normalised
``g_k = exp(-(k - K // 2)^2 / (2 sigma^2))``, ``k = 0 .. K - 1`` (odd ``K``),
applied separably with ``"valid"`` padding (no padding: each spatial axis
shrinks by ``K - 1``), as pytorch-msssim and MONAI do (and as Wang et al.'s
MATLAB code). Local variances are computed from images centred on their own
mean (the formula is invariant to that shift), which keeps float32 results
accurate for images with a large offset. SSIM assumes pixel values within
about ``[0, data_range]``: in float32, images whose local contrast is many
orders of magnitude above ``data_range`` (values at 1e4 with
``data_range=1``) lose the small local variances to rounding, as in every
implementation; compute such cases in float64 or pass the true range.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from . import _core as c
from ._registry import register
from ._segment_common import _guard_loss_mask, _layout

Array = Any

__all__ = ["ssim_loss", "ms_ssim_loss", "psnr_loss", "total_variation"]

_MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


# ------------------------------------------------------------------ examples
def _ex_ssim(rng):
    x = rng.uniform(size=(2, 1, 8, 8))
    y = x + 0.1 * rng.normal(size=(2, 1, 8, 8))
    return (x, y), {"window_size": 3}


def _ex_ms_ssim(rng):
    x = rng.uniform(size=(2, 1, 8, 8))
    y = x + 0.1 * rng.normal(size=(2, 1, 8, 8))
    return (x, y), {"window_size": 3, "weights": (0.4, 0.6)}


def _ex_psnr(rng):
    x = rng.uniform(size=(3, 2, 4, 4))
    y = rng.uniform(size=(3, 2, 4, 4))
    return (x, y), {}


def _ex_tv(rng):
    return (rng.normal(size=(2, 2, 5, 6)),), {}


# ------------------------------------------------------------------ helpers
def _gaussian(window_size: int, sigma: float) -> tuple[float, ...]:
    h = window_size // 2
    g = [math.exp(-((k - h) ** 2) / (2.0 * sigma * sigma)) for k in range(window_size)]
    s = sum(g)
    return tuple(v / s for v in g)


def _check_window(fname: str, window_size: Any, sigma: Any) -> None:
    if not isinstance(window_size, int) or isinstance(window_size, bool):
        raise TypeError(f"{fname}: 'window_size' must be an int, got {window_size!r}")
    if window_size < 1 or window_size % 2 == 0:
        raise ValueError(f"{fname}: 'window_size' must be a positive odd int, got {window_size}")
    c.check_number(fname, "sigma", sigma, low=0, low_open=True, finite=True)


def _image_setup(fname, input, target, *, data_range, k1, k2, channel_axis, mask, reduction):
    """Shared prologue of SSIM and MS-SSIM: checked options, float inputs with masked
    images zeroed (the first ``where``), the spatial axes and the ``(N, C)`` validity."""
    c.check_reduction(fname, reduction)
    c.check_number(fname, "data_range", data_range, low=0, low_open=True, finite=True)
    c.check_number(fname, "k1", k1, low=0, low_open=True, finite=True)
    c.check_number(fname, "k2", k2, low=0, low_open=True, finite=True)
    be = c.backend_of(input, target, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    c.check_same_shape(fname, x, target)
    y = c.floating(be, c.cast_to(be, target, x.dtype), fname, "target")
    ax, spatial = _layout(fname, x, channel_axis)
    c.class_count(fname, x, ax)
    loss_shape = (x.shape[0], x.shape[ax])
    valid = c.as_mask(be, mask, loss_shape, fname)
    x = _guard_loss_mask(xp, x, valid, loss_shape, ax, False)
    y = _guard_loss_mask(xp, y, valid, loss_shape, ax, False)
    return be, xp, x, y, spatial, valid


def _check_size(fname, x, spatial, window_size, levels=1):
    sizes = [x.shape[a] for a in spatial]
    small = list(sizes)
    for _ in range(levels - 1):
        small = [(s + 1) // 2 for s in small]
    if min(small) < window_size:
        what = "" if levels == 1 else f" at the coarsest of {levels} scales ('weights')"
        raise ValueError(
            f"{fname}: 'window_size'={window_size} is larger than the image{what}: spatial "
            f"sizes {tuple(sizes)}" + ("" if levels == 1 else f" become {tuple(small)}")
        )


def _ssim_cs(be, x, y, spatial, kernel, c1, c2):
    """Per (sample, channel) mean SSIM and mean contrast-structure term."""
    xp = be.xp
    mx0 = be.stop_gradient(xp.mean(x, axis=spatial, keepdims=True))
    my0 = be.stop_gradient(xp.mean(y, axis=spatial, keepdims=True))
    xc = x - mx0
    yc = y - my0
    stack = xp.stack([xc, yc, xc * xc, yc * yc, xc * yc], axis=0)
    sp = tuple(a + 1 for a in spatial)
    f = be.window_filter(stack, kernel, sp, "valid")
    mxc, myc = f[0, ...], f[1, ...]
    sxx = f[2, ...] - mxc * mxc
    syy = f[3, ...] - myc * myc
    sxy = f[4, ...] - mxc * myc
    mx = mxc + mx0
    my = myc + my0
    cs_map = (2.0 * sxy + c2) / (sxx + syy + c2)
    lum = (2.0 * (mx * my) + c1) / (mx * mx + my * my + c1)
    return xp.mean(lum * cs_map, axis=spatial), xp.mean(cs_map, axis=spatial)


def _downsample(xp, x, spatial):
    """2x average pooling per spatial axis; an odd size gets one zero in front first
    (pytorch-msssim's ``avg_pool(kernel_size=2, padding=s % 2)``, zeros counted)."""
    for ax in spatial:
        n = x.shape[ax]
        idx = [slice(None)] * x.ndim
        if n % 2:
            idx[ax] = slice(0, 1)
            x = xp.concat([xp.zeros_like(x[tuple(idx)]), x], axis=ax)
        idx[ax] = slice(0, None, 2)
        a = x[tuple(idx)]
        idx[ax] = slice(1, None, 2)
        x = 0.5 * (a + x[tuple(idx)])
    return x


_SSIM_DOC = """
    Parameters
    ----------
    input, target : array
        Images of the same shape ``(N, C, *spatial)`` (channels on
        ``channel_axis``), at least one spatial axis.
    data_range : float
        The range ``L`` of the pixel values (1 for ``[0, 1]``, 255 for 8 bits):
        ``c1 = (k1 L)^2``, ``c2 = (k2 L)^2``.
    window_size : int
        Taps of the Gaussian window, odd, at most each spatial size.
    sigma : float
        Standard deviation of the window.
    k1, k2 : float
        The stability constants (``> 0``).
    channel_axis : int
        ``1`` (channels-first) or ``-1`` (channels-last).
    mask : array, optional
        Boolean or 0/1, broadcastable to ``(N, C)``: images left out.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the loss per sample and channel, ``(N, C)``."""


def _doc(fn):
    if fn.__doc__:
        fn.__doc__ = fn.__doc__.replace("    {params}", _SSIM_DOC.strip("\n"))
    return fn


# ---------------------------------------------------------------- the losses
@register(
    "image",
    "Wang et al. 2004 (SSIM); pytorch_msssim.ssim, monai.losses.SSIMLoss",
    peers=("pytorch_msssim.ssim", "monai.losses.SSIMLoss", "kornia.losses.ssim_loss"),
    example=_ex_ssim,
)
@_doc
def ssim_loss(
    input: Array,
    target: Array,
    /,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    channel_axis: int = 1,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Structural dissimilarity ``1 - SSIM`` per image and channel.

    .. math::
        \mathrm{SSIM} = \operatorname{mean}_{p}
        \frac{(2 \mu_x \mu_y + c_1)(2 \sigma_{xy} + c_2)}
             {(\mu_x^2 + \mu_y^2 + c_1)(\sigma_x^2 + \sigma_y^2 + c_2)}

    with local means, variances and covariance from the Gaussian window at
    every position ``p`` where it fits inside the image ("valid"; Wang,
    Bovik, Sheikh and Simoncelli 2004). Constant images give finite values
    and gradients (``c1, c2 > 0``).

    Peers:

    - MONAI ``SSIMLoss(spatial_dims, data_range, win_size=window_size,
      kernel_sigma=sigma, k1=k1, k2=k2)``: the same ``"mean"`` (MONAI computes in
      float32); its ``"sum"`` adds per-sample means over channels, i.e. ours
      ``reduction="none"`` averaged over channels, then summed.
    - pytorch-msssim ``ssim(x, y, data_range, size_average=True, win_size=window_size,
      win_sigma=sigma, K=(k1, k2))`` is ``1 - ssim_loss(x, y, ...)``;
      ``size_average=False`` gives ``1 - mean`` over channels of ``reduction="none"``.
    - kornia ``losses.ssim_loss(x, y, window_size, max_val=data_range, eps=0.0,
      padding="valid")`` is ``ssim_loss(x, y, window_size=window_size) / 2``
      (kornia returns ``(1 - SSIM) / 2`` per pixel, clamped to ``[0, 1]``, with
      ``sigma=1.5`` fixed; its default ``eps=1e-12`` in the denominator is
      negligible). kornia's default ``padding="same"`` first reflects each image
      by ``window_size // 2`` on every spatial side (``"reflect"``: the edge
      not repeated) so that the map keeps the image's size: pad the images the
      same way (``np.pad(x, [(0, 0), (0, 0), (h, h), (h, h)], mode="reflect")``,
      ``h = window_size // 2``) and halve ``ssim_loss`` of the padded pair.

    {params}

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.linspace(0, 1, 64).reshape(1, 1, 8, 8)
    >>> float(cl.ssim_loss(x, x, window_size=5))
    0.0
    >>> round(float(cl.ssim_loss(x, 1 - x, window_size=5)), 4)
    1.8235
    """
    fname = "ssim_loss"
    _check_window(fname, window_size, sigma)
    be, xp, x, y, spatial, valid = _image_setup(
        fname, input, target, data_range=data_range, k1=k1, k2=k2,
        channel_axis=channel_axis, mask=mask, reduction=reduction,
    )  # fmt: skip
    _check_size(fname, x, spatial, window_size)
    kernel = _gaussian(window_size, float(sigma))
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    ssim, _ = _ssim_cs(be, x, y, spatial, kernel, c1, c2)
    return c.reduce(be, 1.0 - ssim, reduction, valid=valid)


def _check_weights(fname, weights):
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise TypeError(f"{fname}: 'weights' must be a sequence of numbers, got {weights!r}")
    if len(weights) == 0:
        raise ValueError(f"{fname}: 'weights' must hold at least one scale's weight")
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, numbers.Real):
            raise TypeError(f"{fname}: 'weights' must hold real numbers, got {w!r}")
        c.check_number(fname, "weights", w, low=0, finite=True)
    return tuple(float(w) for w in weights)


@register(
    "image",
    "Wang, Simoncelli and Bovik 2003 (MS-SSIM); pytorch_msssim.ms_ssim",
    peers=("pytorch_msssim.ms_ssim", "monai.metrics.MultiScaleSSIMMetric"),
    example=_ex_ms_ssim,
)
@_doc
def ms_ssim_loss(
    input: Array,
    target: Array,
    /,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    weights: Sequence[float] = _MS_WEIGHTS,
    channel_axis: int = 1,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multi-scale structural dissimilarity ``1 - MS-SSIM`` per image and channel.

    .. math::
        \mathrm{MS\text{-}SSIM} = \mathrm{relu}(\mathrm{SSIM}_M)^{w_M}
        \prod_{j=1}^{M-1} \mathrm{relu}(\mathrm{CS}_j)^{w_j}

    over ``M = len(weights)`` scales (Wang, Simoncelli and Bovik 2003), where
    ``CS_j`` is the mean contrast-structure term
    ``(2 sigma_xy + c2) / (sigma_x^2 + sigma_y^2 + c2)`` at scale ``j`` and
    ``SSIM_M`` the mean SSIM at the coarsest one. Between scales every
    spatial axis is halved by 2x average pooling; an odd size first gets one
    zero in front (pytorch-msssim's ``avg_pool(..., padding=s % 2)``), so the
    sizes go ``n -> ceil(n / 2)``. The coarsest scale must still fit the
    window: ``ceil(n / 2^(M - 1)) >= window_size`` for every spatial size
    ``n`` (pytorch-msssim asks for ``min(H, W) > (window_size - 1) * 16``
    whatever the weights, MONAI for ``n // (M - 1)^2 > window_size - 1``).
    A factor that is 0 (a negative mean term, cut by the relu) makes the
    product 0 with a zero gradient (pytorch-msssim gives NaN gradients there).

    Peers: pytorch-msssim ``ms_ssim(x, y, data_range, size_average=True,
    win_size=window_size, win_sigma=sigma, weights=weights, K=(k1, k2))`` is
    ``1 - ms_ssim_loss(x, y, ...)``. MONAI's ``MultiScaleSSIMMetric`` averages
    ``CS`` over the channels before the relu and drops the last row/column of
    an odd size instead of padding: the same value for one channel and sizes
    divisible by ``2^(M - 1)``.

    {params}
    weights : sequence of float
        One exponent per scale, finest first (``>= 0``; the default is the
        paper's five).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.linspace(0, 1, 256).reshape(1, 1, 16, 16)
    >>> float(cl.ms_ssim_loss(x, x, window_size=3, weights=(0.5, 0.5)))
    0.0
    """
    fname = "ms_ssim_loss"
    _check_window(fname, window_size, sigma)
    ws = _check_weights(fname, weights)
    be, xp, x, y, spatial, valid = _image_setup(
        fname, input, target, data_range=data_range, k1=k1, k2=k2,
        channel_axis=channel_axis, mask=mask, reduction=reduction,
    )  # fmt: skip
    _check_size(fname, x, spatial, window_size, len(ws))
    kernel = _gaussian(window_size, float(sigma))
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    log_sum = None
    positive = None
    for level, w in enumerate(ws):
        ssim, cs = _ssim_cs(be, x, y, spatial, kernel, c1, c2)
        v = ssim if level == len(ws) - 1 else cs
        pos = v > 0  # relu, then v ** w = exp(w log v) with a zero gradient at v <= 0
        term = w * xp.log(xp.where(pos, v, 1.0))
        log_sum = term if log_sum is None else log_sum + term
        if w != 0:
            positive = pos if positive is None else xp.logical_and(positive, pos)
        if level < len(ws) - 1:
            x = _downsample(xp, x, spatial)
            y = _downsample(xp, y, spatial)
    ms = xp.exp(log_sum)
    if positive is not None:
        ms = xp.where(positive, ms, 0.0)
    return c.reduce(be, 1.0 - ms, reduction, valid=valid)


@register(
    "image",
    "kornia.losses.psnr_loss (negative peak signal-to-noise ratio)",
    peers=("kornia.losses.psnr_loss",),
    example=_ex_psnr,
)
def psnr_loss(
    input: Array,
    target: Array,
    /,
    *,
    data_range: float = 1.0,
    eps: float = 0.0,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Negative peak signal-to-noise ratio per sample, in decibels.

    .. math::
        \ell_n = -10 \log_{10} \frac{L^2}{\mathrm{MSE}_n + \epsilon}

    with ``MSE_n`` the mean squared error over every axis but the batch axis 0
    (an ``(N,)`` input: one value per sample), computed in units of the
    sample's largest magnitude so that no square overflows (values near the
    dtype's maximum give the right finite loss). Identical images give
    ``-inf`` at ``eps=0`` (kornia's value too), with a zero gradient, never
    NaN; ``eps > 0`` bounds the loss at ``-10 log10(L^2 / eps)``.

    kornia ``losses.psnr_loss(x, y, max_val=data_range)`` pools the MSE over the
    whole batch: it is ``psnr_loss(x.reshape(1, -1), y.reshape(1, -1),
    data_range=data_range)``; for one sample the two agree.

    Parameters
    ----------
    input, target : array
        Arrays of the same shape, batch on axis 0.
    data_range : float
        The peak value ``L`` (1 for ``[0, 1]``, 255 for 8 bits), ``> 0``.
    eps : float
        Added to each MSE (``>= 0``).
    mask : array, optional
        Boolean or 0/1 of shape ``(N,)``: samples left out.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the ``(N,)`` losses.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x, y = np.zeros((1, 4)), np.full((1, 4), 0.1)
    >>> round(float(cl.psnr_loss(x, y)), 6)
    -20.0
    """
    fname = "psnr_loss"
    c.check_reduction(fname, reduction)
    c.check_number(fname, "data_range", data_range, low=0, low_open=True, finite=True)
    c.check_number(fname, "eps", eps, low=0, finite=True)
    be = c.backend_of(input, target, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    if x.ndim < 1:
        raise ValueError(f"{fname}: 'input' must have a batch axis (rank >= 1), got a scalar")
    c.check_same_shape(fname, x, target)
    y = c.cast_to(be, target, x.dtype)
    n = x.shape[0]
    valid = c.as_mask(be, mask, (n,), fname)
    if valid is not None:
        row = xp.reshape(xp.broadcast_to(valid, (n,)), (n,) + (1,) * (x.ndim - 1))
        x = xp.where(row, x, 0.0)
        y = xp.where(row, y, 0.0)
    axes = tuple(range(1, x.ndim))
    # in units of s = max(|x|, |y|) / 8 per sample where that exceeds 1 (a constant for
    # the gradient: the loss is the same function for any s), so that x - y and its
    # square never overflow; the 8 keeps 1 / s a normal number (XLA divides by
    # multiplying with the reciprocal and flushes subnormals to zero)
    if math.prod(x.shape) == 0:  # an empty batch (dask's max has no identity)
        s = xp.ones_like(xp.sum(x, axis=axes, keepdims=True))
    else:
        a = xp.maximum(xp.abs(x), xp.abs(y))
        s = be.stop_gradient(xp.max(a, axis=axes, keepdims=True) if axes else a)
        s = xp.where(s > 8.0, s * 0.125, 1.0)
    d = xp.where(x == y, 0.0, x / s - y / s)  # exact 0 for equal entries (no FMA residue)
    mse = xp.mean(d * d, axis=axes) if axes else d * d
    s = xp.reshape(s, (n,))
    if eps:
        mse = mse + (eps / s) / s
    pos = mse > 0
    db = 10.0 * xp.log10(xp.where(pos, mse, 1.0)) + 20.0 * (xp.log10(s) - math.log10(data_range))
    loss = xp.where(pos, db, -math.inf)
    return c.reduce(be, loss, reduction, valid=valid)


@register(
    "image",
    "Rudin, Osher and Fatemi 1992; kornia.losses.total_variation",
    peers=("kornia.losses.total_variation",),
    example=_ex_tv,
)
def total_variation(
    x: Array,
    /,
    *,
    spatial_axes: Sequence[int] = (-2, -1),
    kind: str = "l1",
    average: bool = False,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Anisotropic total variation of each image: neighbour differences summed.

    .. math::
        \mathrm{TV}(x) = \sum_{a \in \text{axes}} \sum_i |x_{i + e_a} - x_i|^q,
        \quad q = 1 \text{ (``"l1"``) or } 2 \text{ (``"l2"``)}

    ``reduction="none"`` returns one value per image, the input's shape
    without ``spatial_axes`` (``(N, C)`` for ``(N, C, H, W)``): kornia
    ``losses.total_variation(x)`` (``reduction="sum"``, its default) exactly,
    and with ``average=True`` kornia's ``reduction="mean"`` (each axis's
    differences averaged over their own count, then added; an axis of size 1
    contributes 0). ``"l2"`` is the squared-difference form used as a
    smoothness prior in style transfer and feature inversion (Mahendran and
    Vedaldi 2015, ``beta = 2``). The gradient of ``|d|`` at ``d = 0`` is 0.

    Parameters
    ----------
    x : array
        Images; at least the ``spatial_axes``.
    spatial_axes : sequence of int
        The axes differenced (distinct; default the last two).
    kind : {"l1", "l2"}
        Absolute or squared differences.
    average : bool
        Average each axis's differences instead of summing them.
    mask : array, optional
        Boolean or 0/1, broadcastable to the per-image shape: images left out.
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([[0.0, 1.0], [3.0, 1.0]])
    >>> float(cl.total_variation(x))
    6.0
    >>> float(cl.total_variation(x, kind="l2"))
    14.0
    """
    fname = "total_variation"
    c.check_reduction(fname, reduction)
    c.check_choice(fname, "kind", kind, ("l1", "l2"))
    if not isinstance(average, bool):
        raise TypeError(f"{fname}: 'average' must be a bool, got {average!r}")
    be = c.backend_of(x, mask)
    xp = be.xp
    x = c.floating(be, x, fname, "x")
    if isinstance(spatial_axes, int) or not isinstance(spatial_axes, Sequence):
        raise TypeError(f"{fname}: 'spatial_axes' must be a sequence of ints, got {spatial_axes!r}")
    axes = tuple(c.normalize_axis(fname, "spatial_axes", a, x.ndim) for a in spatial_axes)
    if len(set(axes)) != len(axes) or not axes:
        raise ValueError(f"{fname}: 'spatial_axes' must be distinct axes, got {spatial_axes!r}")
    keep = tuple(i for i in range(x.ndim) if i not in axes)
    shape = tuple(x.shape[i] for i in keep)
    valid = c.as_mask(be, mask, shape, fname)
    if valid is not None:
        full = list(x.shape)
        for a in axes:
            full[a] = 1
        v = xp.reshape(xp.broadcast_to(valid, shape), tuple(full))
        x = xp.where(v, x, 0.0)
    total = None
    for a in axes:
        n = x.shape[a]
        idx = [slice(None)] * x.ndim
        idx[a] = slice(1, None)
        hi = x[tuple(idx)]
        idx[a] = slice(0, n - 1)
        d = hi - x[tuple(idx)]
        e = be.abs0(d) if kind == "l1" else d * d  # |d|: gradient 0 at d = 0
        s = xp.sum(e, axis=axes)
        if average and n > 1:
            s = s / (math.prod(d.shape[b] for b in axes))
        total = s if total is None else total + s
    return c.reduce(be, total, reduction, valid=valid)
