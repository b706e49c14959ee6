"""Private pieces of :mod:`corelosses.topology`: the Lovasz extension of the
Jaccard loss, soft morphology (clDice's soft skeleton) and the unsigned
distance field of the Hausdorff loss. Array-API calls and backend hooks only."""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._segment_common import _activate, _check_activation, _layout, _pixel_mask

Array = Any


# ------------------------------------------------------------------ Lovasz
def lovasz_rows(be: Any, errors: Array, fg: Array) -> Array:
    """The Lovasz extension of the Jaccard loss along the last axis.

    ``errors`` (non-negative, 0 where an entry does not count) and ``fg``
    (0/1 labels, 0 where an entry does not count) share a shape ``(..., P)``;
    returns ``(...)``: ``sum_i e_(i) g_i`` over the errors sorted in decreasing
    order, with ``g`` the increments of ``1 - |fg \\ top_i| / |fg u top_i|``
    (Berman et al., ``lovasz_grad``). The gradient flows through the gathered
    errors only; the permutation and ``g`` are constants. A zero error adds
    nothing whatever its rank, so entries that do not count (error 0, label 0)
    may sit anywhere among the zeros.
    """
    xp = be.xp
    if errors.shape[-1] == 0:
        return xp.sum(errors, axis=-1)
    es, perm = be.sort_descending(errors)
    fs = be.stop_gradient(be.take_along_last(fg, perm))
    gts = xp.sum(fs, axis=-1, keepdims=True)
    inter = gts - xp.cumulative_sum(fs, axis=-1)
    union = gts + xp.cumulative_sum(1.0 - fs, axis=-1)  # >= 1 at every rank
    jac = 1.0 - inter / union
    g = xp.concat([jac[..., :1], jac[..., 1:] - jac[..., :-1]], axis=-1)
    return xp.sum(es * be.stop_gradient(g), axis=-1)


def relu(xp: Any, x: Array) -> Array:
    """``max(x, 0)`` with gradient 0 at 0 (as ``F.relu``), as a select."""
    return xp.where(x > 0, x, 0.0)


# ---------------------------------------------------------- soft morphology
def soft_erode(be: Any, img: Array, axes: tuple[int, ...]) -> Array:
    """MONAI/clDice ``soft_erode``: the minimum of 3-wide min pools along each
    spatial axis alone (a cross), ``-inf`` padding (the border is not eroded)."""
    xp = be.xp
    out = None
    for i in range(len(axes)):
        window = tuple(3 if j == i else 1 for j in range(len(axes)))
        p = -be.max_pool(-img, window, axes)
        out = p if out is None else xp.minimum(out, p)
    return out


def soft_dilate(be: Any, img: Array, axes: tuple[int, ...]) -> Array:
    """MONAI/clDice ``soft_dilate``: a 3 x 3 (x 3) max pool."""
    return be.max_pool(img, (3,) * len(axes), axes)


def soft_skeleton(be: Any, img: Array, iterations: int, axes: tuple[int, ...]) -> Array:
    """MONAI's ``soft_skel(img, iter_)`` (Shit et al. 2021, Algorithm 1)."""
    xp = be.xp
    eroded = soft_erode(be, img, axes)
    skel = relu(xp, img - soft_dilate(be, eroded, axes))
    for _ in range(iterations):
        img = eroded
        eroded = soft_erode(be, img, axes)
        delta = relu(xp, img - soft_dilate(be, eroded, axes))
        skel = skel + relu(xp, delta - skel * delta)
    return skel


# ----------------------------------------------------------- distance field
def distance_field(be: Any, fg: Array, spatial: tuple[int, ...], dtype: Any) -> Array:
    """MONAI's ``HausdorffDTLoss.distance_field`` of boolean maps ``fg`` (batch on
    axis 0, channels on axis 1): the distance from each background pixel to the
    foreground plus that of each foreground pixel to the background (pixels), 0
    for an empty or a full map; no gradient. Built from
    :func:`corelosses.adapters.extras.distance.signed_distance` (exact, outside
    the traced graph): ``phi`` is ``d_out`` on the background and ``1 - d_in``
    on the foreground."""
    from .adapters.extras.distance import signed_distance

    xp = be.xp
    fg = be.stop_gradient(fg)
    phi = signed_distance(be, xp.astype(fg, dtype), 1, dtype)
    field = xp.where(fg, 1.0 - phi, phi)
    full = xp.all(fg, axis=spatial, keepdims=True)
    return be.stop_gradient(xp.where(full, 0.0, field))


# ------------------------------------------------------- prologues and masks
def loss_level_mask(be, mask, shape, fname):
    """A mask of the unreduced loss (``shape``), boolean (or None)."""
    return None if mask is None else c.as_mask(be, mask, shape, fname)


def rows_guard(xp, x, rows_valid, per_image):
    """First ``where``: zero the inputs of images whose loss is masked."""
    if rows_valid is None:
        return x
    if not per_image:
        return xp.where(rows_valid, x, 0.0)
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return xp.where(xp.reshape(xp.broadcast_to(rows_valid, (x.shape[0],)), shape), x, 0.0)


def empty_rows(xp, a, per_image):
    """The zero losses of an input ``a`` without pixels (or without images):
    ``(N,)`` per image, ``(1,)`` for the batch, still tied to ``a``'s graph."""
    if per_image:
        return xp.sum(a, axis=tuple(range(1, a.ndim))) * 0.0
    return xp.reshape(xp.sum(a) * 0.0, (1,))


def finish_rows(be, loss, reduction, per_image, pix_valid, rows_valid):
    """Reduce per-image losses ``(N,)`` (or the batch loss ``(1,)``)."""
    xp = be.xp
    valid = rows_valid
    if pix_valid is not None:  # images without any counted pixel are left out
        n = pix_valid.shape[0]
        flat = xp.reshape(pix_valid, (n, math.prod(pix_valid.shape) // n if n else 0))
        any_pix = xp.any(flat, axis=1) if per_image else xp.any(flat)
        valid = c.and_masks(xp, valid, any_pix)
    if not per_image:
        loss = xp.reshape(loss, ())
    return c.reduce(be, loss, reduction, valid=valid)


def pixel_valid(be, mask, target, ignore_index, fname):
    """The pixel mask of the target's shape (a mask of rank >= 2 and ``ignore_index``), or None."""
    xp = be.xp
    pix = None
    if mask is not None and mask.ndim >= 2:
        c.check_broadcastable(fname, "mask", mask, target.shape)
        pix = xp.broadcast_to(c.as_mask(be, mask, target.shape, fname), target.shape)
    if ignore_index is not None:
        pix = c.and_masks(xp, pix, target != ignore_index)
    return pix


def region_setup(
    fname, input, target, activation, channel_axis, include_background, mask, per_class
):
    """Prologue of the one-hot topology losses (Hausdorff, clDice): ``(be, p, t, pix, loss_valid)`` with
    channels moved to axis 1 and the background dropped (``include_background=False``
    and more than one channel), ``pix`` the pixel mask of ``p``'s shape (or None) and
    ``loss_valid`` the mask of the unreduced ``(N, K)`` (``per_class``) or ``(N,)`` loss."""
    be = c.backend_of(input, target, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    ax, _ = _layout(fname, x, channel_axis)
    num_classes = c.class_count(fname, x, ax)
    _check_activation(fname, activation, num_classes)
    c.check_same_shape(fname, x, target)
    if not xp.isdtype(target.dtype, ("bool", "integral", "real floating")):
        raise TypeError(f"{fname}: 'target' must be numeric, got dtype {target.dtype}")
    if not isinstance(include_background, bool):
        raise TypeError(f"{fname}: 'include_background' must be a bool, got {include_background!r}")
    t = c.cast_to(be, target, x.dtype)
    first = 1 if (not include_background and num_classes > 1) else 0
    n = x.shape[0]
    loss_shape = (n, num_classes - first) if per_class else (n,)
    pix = lv = None
    if mask is not None and mask.ndim >= 3:
        pix = xp.broadcast_to(_pixel_mask(be, mask, x, ax, fname), x.shape)
        x = xp.where(pix, x, 0.0)
        t = xp.where(pix, t, 0.0)
        pix = c.moveaxis(xp, pix, ax, 1)[:, first:, ...]
    elif mask is not None:
        lv = xp.broadcast_to(c.as_mask(be, mask, loss_shape, fname), loss_shape)
    x = c.moveaxis(xp, x, ax, 1)
    t = c.moveaxis(xp, t, ax, 1)[:, first:, ...]
    bshape = (n,) + (1,) * (x.ndim - 1)
    if activation == "softmax":
        if lv is not None:  # softmax couples the classes: only whole samples are cut off
            v = xp.any(lv, axis=1) if per_class else lv
            x = xp.where(xp.reshape(v, bshape), x, 0.0)
        p = be.softmax(x, axis=1)[:, first:, ...]
    else:
        x = x[:, first:, ...]
        if lv is not None:
            shape = tuple(lv.shape) + (1,) * (x.ndim - lv.ndim)
            x = xp.where(xp.reshape(lv, shape), x, 0.0)
        p = _activate(be, x, activation, 1, fname)
    if pix is not None:
        p = xp.where(pix, p, 0.0)
    return be, p, t, pix, lv


def mean_over(xp, a, pix, spatial):
    """Mean over ``spatial`` (over the unmasked pixels with a pixel mask), and the
    entries with at least one pixel."""
    if pix is None:
        return xp.sum(a, axis=spatial) / max(math.prod([a.shape[i] for i in spatial]), 1), None
    a = xp.where(pix, a, 0.0)
    cnt = xp.sum(xp.astype(pix, a.dtype), axis=spatial)
    return xp.sum(a, axis=spatial) / xp.where(cnt > 0, cnt, 1.0), cnt > 0
