"""Segmentation losses on distances and edges: signed distance map, boundary, gradient.

Same layout and mask conventions as :mod:`corelosses.segmentation` (batch on
axis 0, classes on ``channel_axis``), which re-exports every name here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import _core as c
from ._registry import register
from ._segment_common import (
    _activate,
    _check_activation,
    _guard_loss_mask,
    _layout,
    _split_mask,
)

Array = Any

__all__ = ["signed_distance_map", "boundary_loss", "gradient_loss"]


# ------------------------------------------------------------------ examples
def _ex_sdm(rng):
    y = rng.integers(0, 3, size=(2, 7, 6))
    onehot = (y[:, None] == [[[0]], [[1]], [[2]]]).astype("float64")
    onehot[1, 2] = 0.0  # an empty class
    return (onehot,), {}


def _ex_boundary(rng):
    x = rng.normal(size=(2, 3, 6, 5)) * 2
    y = rng.integers(0, 3, size=(2, 6, 5))
    onehot = (y[:, None] == [[[0]], [[1]], [[2]]]).astype("float64")
    from .adapters.extras.distance import signed_distance_numpy

    return (x, signed_distance_numpy(onehot, 1)), {}


def _ex_gradient(rng):
    x = rng.uniform(size=(2, 3, 6, 7))
    t = rng.uniform(size=(2, 3, 6, 7))
    return (x, t), {"operator": "sobel"}


# ------------------------------------------------------------------ boundary
@register(
    "segmentation",
    "Kervadec et al. 2019, Boundary loss for highly unbalanced segmentation (one_hot2dist)",
    example=_ex_sdm,
    kind="transform",
    grad_argnums=(),
    compile=False,  # SciPy's distance transform: outside the traced graph (a graph break)
)
def signed_distance_map(target: Array, /, *, channel_axis: int = 1) -> Array:
    r"""Signed Euclidean distance map of binary maps, per sample and class.

    For each sample and class map ``m`` (foreground where ``m = 1``), with
    ``d_out(i)`` the exact Euclidean distance from a background pixel to the
    nearest foreground pixel and ``d_in(i)`` the distance from a foreground
    pixel to the nearest background pixel:

    .. math::
        \phi(i) = \begin{cases} d_\text{out}(i) & m_i = 0 \\
                                -(d_\text{in}(i) - 1) & m_i = 1 \end{cases}

    so the object's boundary pixels are 0, the inside negative and the
    outside positive (Kervadec et al.'s ``one_hot2dist``, in pixel units).
    An empty or full map gives zeros. It is the ``distance_map`` of
    :func:`boundary_loss`; compute it once per target (e.g. in the data
    loader). Pixels beyond the image border do not count as background.

    The distance transform is :func:`scipy.ndimage.distance_transform_edt`
    (CuPy: ``cupyx.scipy.ndimage``); torch and JAX arrays go through NumPy
    (or DLPack to CuPy for CUDA tensors) and come back on their device,
    without gradient (under ``torch.compile``, a graph break); under
    ``jax.jit`` through ``jax.pure_callback``; Dask
    arrays lazily per block, each block holding whole images. Any number of
    spatial axes (2D, 3D, ...).

    Parameters
    ----------
    target : array
        Binary maps (bool, integers or floats equal to 0 or 1), shape
        ``(N, C, *spatial)`` with classes on ``channel_axis`` (one-hot
        encode class indices first).
    channel_axis : int
        The class axis (``1`` or ``-1``).

    Returns
    -------
    array
        The signed distance maps, the target's shape, in the target's floating
        dtype (float16/bfloat16 -> float32) or the namespace's default float.

    Raises
    ------
    ValueError
        If ``target`` holds values other than 0 and 1 (for Dask at compute
        time; under ``jax.jit`` as a runtime error of the callback).

    References
    ----------
    Kervadec, Bouchtiba, Desrosiers, Granger, Dolz, Ben Ayed 2019, Boundary
    loss for highly unbalanced segmentation.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> m = np.zeros((1, 1, 1, 6)); m[..., 1:4] = 1
    >>> cl.signed_distance_map(m)[0, 0, 0]
    array([ 1.,  0., -1.,  0.,  1.,  2.])
    """
    fname = "signed_distance_map"
    be = c.backend_of(target)
    xp = be.xp
    ax, _ = _layout(fname, target, channel_axis)
    if xp.isdtype(target.dtype, "real floating"):
        dtype = c.floating(be, target, fname, "target").dtype
    elif xp.isdtype(target.dtype, ("bool", "integral")):
        dtype = xp.asarray(0.0).dtype
    else:
        raise TypeError(
            f"{fname}: 'target' must be boolean, integer or real floating, got dtype {target.dtype}"
        )
    if be.concrete(target) and not xp.isdtype(target.dtype, "bool"):
        if bool(xp.any(xp.logical_and(target != 0, target != 1))):
            raise ValueError(
                f"{fname}: 'target' must hold binary maps (0/1 or boolean), one per class; "
                "got values other than 0 and 1 (one-hot encode class indices first)"
            )
    from .adapters.extras.distance import signed_distance

    return signed_distance(be, target, ax, dtype)


def _select_classes(xp, a, ax, classes):
    """``a`` restricted to ``classes`` on ``ax`` (static slices, no gather)."""

    def take(lo, hi):
        idx = [slice(None)] * a.ndim
        idx[ax] = slice(lo, hi)
        return a[tuple(idx)]

    if list(classes) == list(range(classes[0], classes[-1] + 1)):
        return take(classes[0], classes[-1] + 1)
    return xp.concat([take(k, k + 1) for k in classes], axis=ax)


@register(
    "segmentation",
    "Kervadec et al. 2019, Boundary loss for highly unbalanced segmentation",
    example=_ex_boundary,
)
def boundary_loss(
    input: Array,
    distance_map: Array,
    /,
    *,
    activation: str | None = "softmax",
    channel_axis: int = 1,
    classes: Sequence[int] | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Boundary loss: foreground probabilities times their signed distance maps.

    .. math::
        \ell_{n,k} = \frac{1}{|\Omega|} \sum_{i \in \Omega} p_{n,k,i}\, \phi_{n,k,i}

    per sample ``n`` and foreground class ``k``, with ``p = activation(input)``
    and ``phi = signed_distance_map(one_hot_target)``. ``"mean"`` averages
    over samples and classes (with equal pixel counts: the mean over every
    pixel of every foreground class, as the authors' code). The loss is
    negative when the mass sits inside the objects; its minimum puts
    probability 1 exactly on the object. Use it with a regional loss and a
    rising weight, e.g. ``dice_loss(x, y) + w(step) * boundary_loss(x, phi)``
    with ``w`` from 0.01 upwards (the authors move 0.01 per epoch).

    Parameters
    ----------
    input : array
        Logits (or probabilities with ``activation=None``), ``(N, C, *spatial)``.
    distance_map : array
        Signed distance maps of the one-hot target, the input's shape (no
        gradient flows into it).
    activation : {"softmax", "sigmoid", None}
        As in :func:`dice_loss`.
    channel_axis : int
        The class axis.
    classes : sequence of int, optional
        The foreground classes. Default: every class but 0 (background) with
        ``activation="softmax"``, every class otherwise.
    mask : array, optional
        Pixel mask (rank >= 3; ``"mean"`` per entry over the unmasked pixels,
        entries without any pixel left out) or a mask of the ``(N, K)`` loss.
    reduction : {"mean", "sum", "none"}
        ``"none"``: the ``(N, K)`` loss for the ``K`` foreground classes.

    References
    ----------
    Kervadec, Bouchtiba, Desrosiers, Granger, Dolz, Ben Ayed 2019, Boundary
    loss for highly unbalanced segmentation (MIDL 2019, MedIA 2021).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> y = np.array([[[0, 1, 1, 1, 0, 0]]])                 # (1, 1, 6) indices
    >>> onehot = (y[:, None] == np.arange(2)[None, :, None, None]).astype(float)
    >>> phi = cl.signed_distance_map(onehot)
    >>> good = np.where(onehot > 0, 5.0, -5.0)                # logits
    >>> round(float(cl.boundary_loss(good, phi)), 6)
    -0.166629
    >>> round(float(cl.boundary_loss(-good, phi)), 6)
    0.666629
    """
    fname = "boundary_loss"
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, distance_map, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    ax, spatial = _layout(fname, x, channel_axis)
    num_classes = c.class_count(fname, x, ax)
    _check_activation(fname, activation, num_classes)
    c.check_same_shape(fname, x, distance_map, "distance_map")
    if not xp.isdtype(distance_map.dtype, "real floating"):
        raise TypeError(
            f"{fname}: 'distance_map' must be real floating, got dtype {distance_map.dtype}"
        )
    phi = be.stop_gradient(c.cast_to(be, distance_map, x.dtype))
    if classes is None:
        classes = tuple(range(1 if activation == "softmax" else 0, num_classes))
    classes = tuple(classes)
    if (
        not classes
        or any(isinstance(k, bool) or not isinstance(k, int) for k in classes)
        or any(not 0 <= k < num_classes for k in classes)
        or len(set(classes)) != len(classes)
    ):
        raise ValueError(
            f"{fname}: 'classes' must be distinct class indices in [0, {num_classes}), "
            f"got {classes!r}"
        )
    loss_shape = (x.shape[0], len(classes))
    pix_valid, loss_valid = _split_mask(be, mask, x, ax, loss_shape, fname)
    if pix_valid is not None:
        x = xp.where(pix_valid, x, 0.0)
        phi = xp.where(pix_valid, phi, 0.0)
        pix_valid = _select_classes(xp, xp.broadcast_to(pix_valid, x.shape), ax, classes)
    phi = _select_classes(xp, phi, ax, classes)
    if activation == "softmax":
        x = _guard_loss_mask(xp, x, loss_valid, loss_shape, ax, True)
        p = _select_classes(xp, be.softmax(x, axis=ax), ax, classes)
    else:  # classes are independent: select before the activation
        x = _guard_loss_mask(
            xp, _select_classes(xp, x, ax, classes), loss_valid, loss_shape, ax, False
        )
        p = _activate(be, x, activation, ax, fname)
    prod = p * phi
    if pix_valid is None:
        npix = math.prod([x.shape[i] for i in spatial])
        loss = xp.sum(prod, axis=spatial) / max(npix, 1)
        valid = loss_valid
    else:
        prod = xp.where(pix_valid, prod, 0.0)
        cnt = xp.sum(xp.astype(pix_valid, x.dtype), axis=spatial)
        loss = xp.sum(prod, axis=spatial) / xp.where(cnt > 0, cnt, 1.0)
        valid = cnt > 0
    return c.reduce(be, loss, reduction, valid=valid)


# ------------------------------------------------------------------ gradient
#: (input scale, loss scale) per operator: ``|x|, |t| <= M`` (any finite M, up to the
#: dtype's max) give ``|d| <= 2M``, the unnormalised differences below stay within
#: ``16 |d|`` (Sobel) or ``2 |d|`` (diff) and ``|gx| + |gy|`` within twice that; the
#: powers of two keep every intermediate <= M (no inf, so no inf - inf), are exact
#: on normal numbers, and the loss (homogeneous of degree 1) is scaled back at the end.
_GRADIENT_SCALES = {"sobel": (2.0**-5, 4.0), "diff": (2.0**-3, 8.0)}


def _spatial_gradients(xp, d, operator):
    """Unnormalised (gx, gy) of ``d`` over its last two axes, both of ``d``'s shape:
    forward differences, or the Sobel kernels without their 1/8."""
    if operator == "diff":
        gx = xp.concat([d[..., :, 1:] - d[..., :, :-1], xp.zeros_like(d[..., :, :1])], axis=-1)
        gy = xp.concat([d[..., 1:, :] - d[..., :-1, :], xp.zeros_like(d[..., :1, :])], axis=-2)
        return gx, gy
    # Sobel, replicate padding: separable smoothing x difference
    pad = xp.concat([d[..., :1, :], d, d[..., -1:, :]], axis=-2)
    pad = xp.concat([pad[..., :, :1], pad, pad[..., :, -1:]], axis=-1)
    sy = pad[..., :-2, :] + 2.0 * pad[..., 1:-1, :] + pad[..., 2:, :]  # (H, W + 2)
    gx = sy[..., :, 2:] - sy[..., :, :-2]
    sx = pad[..., :, :-2] + 2.0 * pad[..., :, 1:-1] + pad[..., :, 2:]  # (H + 2, W)
    gy = sx[..., 2:, :] - sx[..., :-2, :]
    return gx, gy


@register(
    "segmentation",
    "gradient (edge) L1 loss of image matting / fine-detail segmentation",
    peers=("kornia.filters.spatial_gradient (the Sobel operator)",),
    example=_ex_gradient,
    coupled=True,  # each pixel's gradient reads its neighbours' inputs
)
def gradient_loss(
    input: Array,
    target: Array,
    /,
    *,
    operator: str = "sobel",
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""L1 distance between the spatial gradients of prediction and target.

    .. math::
        \ell_i = |\partial_x (x - y)_i| + |\partial_y (x - y)_i|

    over the last two axes (height, width), any leading axes (batch,
    channels). ``operator="sobel"``: the normalised Sobel kernels
    (``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] / 8`` and its transpose, as
    kornia's ``spatial_gradient``), replicate padding; ``"diff"``: forward
    differences, 0 in the last column (row). The unreduced loss has the
    input's shape; ``"mean"`` averages over every pixel. Written with
    slicing and padding only, no framework convolution.

    A masked pixel's loss is 0; its value still enters its neighbours'
    gradients unless it is NaN or infinite, in which case it counts as equal
    to the target there.

    Inputs up to the dtype's largest number (e.g. +-3e38 in float32) give the
    loss's value, or ``inf`` where that exceeds the dtype's range, never NaN,
    and finite gradients: the differences are computed on the inputs scaled
    down by a power of two (exact for normal numbers) and the loss, which is
    homogeneous of degree 1, is scaled back after the reduction.

    Parameters
    ----------
    input, target : array
        Predictions and targets, the same shape ``(..., H, W)``.
    operator : {"sobel", "diff"}
        The derivative operator.
    weight, mask : array, optional
        Elementwise weight and mask, broadcast to the input's shape.
    reduction : {"mean", "sum", "none"}
        As for every loss.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.zeros((4, 4)); y = np.zeros((4, 4)); y[:, 2:] = 1.0
    >>> float(cl.gradient_loss(x, y, operator="diff"))
    0.25
    >>> round(float(cl.gradient_loss(x, y)), 6)
    0.25
    """
    fname = "gradient_loss"
    c.check_choice(fname, "operator", operator, ("sobel", "diff"))
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, target, weight, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    if x.ndim < 2:
        raise ValueError(
            f"{fname}: 'input' must have at least 2 axes (..., H, W), got shape {tuple(x.shape)}"
        )
    c.check_same_shape(fname, x, target)
    t = c.cast_to(be, target, x.dtype)
    valid, weight = c.mask_and_weight(be, mask, weight, x.shape, x.dtype, fname)
    down, up = _GRADIENT_SCALES[operator]
    d = x * down - t * down  # cannot overflow, unlike x - t at +-3e38
    if valid is not None:
        # keep finite masked values (the unmasked losses must not change), drop NaN/inf
        d = xp.where(xp.logical_or(valid, xp.isfinite(d)), d, 0.0)
    gx, gy = _spatial_gradients(xp, d, operator)
    loss = xp.abs(gx) + xp.abs(gy)  # the loss / up: finite for finite inputs
    if reduction == "mean":
        # a finite mean of huge entries: keep their sum finite too (exact but for
        # entries below 2**-126 * n, whose error is far under the mean's rounding)
        k = 2.0 ** math.ceil(math.log2(max(math.prod(loss.shape), 1)))
        loss = loss / k
        up = up * k
    return up * c.reduce(be, loss, reduction, weight=weight, valid=valid)
