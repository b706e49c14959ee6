"""Layout, mask and activation helpers shared by :mod:`corelosses.dice`,
:mod:`corelosses.dice_combo` and :mod:`corelosses.boundary` (private)."""

from __future__ import annotations

import math
from typing import Any

from . import _core as c

Array = Any

_ACTIVATIONS = ("softmax", "sigmoid", None)


def _layout(fname: str, x: Array, channel_axis: int) -> tuple[int, tuple[int, ...]]:
    """Normalised channel axis and the spatial axes."""
    if x.ndim < 3:
        raise ValueError(
            f"{fname}: 'input' must have a batch axis, a channel axis and at least one "
            f"spatial axis (rank >= 3), got shape {tuple(x.shape)}"
        )
    ax = c.normalize_axis(fname, "channel_axis", channel_axis, x.ndim)
    if ax == 0:
        raise ValueError(
            f"{fname}: 'channel_axis' must not be the batch axis 0, got {channel_axis!r}"
        )
    spatial = tuple(i for i in range(1, x.ndim) if i != ax)
    return ax, spatial


def _loss_layout(x: Array, ax: int, per_class: bool) -> tuple[int, ...]:
    """Shape that puts an (N, C) (or (N,)) array on the input's axes."""
    shape = [1] * x.ndim
    shape[0] = x.shape[0]
    if per_class:
        shape[ax] = x.shape[ax]
    return tuple(shape)


def _pixel_mask(be, mask, x, ax, fname):
    """A rank >= 3 mask as a boolean array of the input's rank (or None)."""
    xp = be.xp
    if mask.ndim == x.ndim - 1:
        pshape = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])
        return xp.expand_dims(c.as_mask(be, mask, pshape, fname), axis=ax)
    if mask.ndim == x.ndim:
        return c.as_mask(be, mask, x.shape, fname)
    raise ValueError(
        f"{fname}: 'mask' must be a pixel mask of rank {x.ndim - 1} or {x.ndim} "
        f"(input shape {tuple(x.shape)}) or broadcast to the unreduced loss (rank <= 2), "
        f"got shape {tuple(mask.shape)}"
    )


def _split_mask(be, mask, x, ax, loss_shape, fname):
    """(pixel_valid, loss_valid): a mask of rank >= 3 is per pixel, else per loss entry."""
    if mask is None:
        return None, None
    if mask.ndim >= 3:
        return _pixel_mask(be, mask, x, ax, fname), None
    return None, c.as_mask(be, mask, loss_shape, fname)


def _guard_loss_mask(xp, x, loss_valid, loss_shape, ax, softmax):
    """First ``where`` for a loss-level mask: zero the inputs feeding only masked entries.

    ``loss_shape`` is ``(N, C)`` (per class, ``C`` the input's classes) or ``(N,)``.
    """
    if loss_valid is None:
        return x
    lv = xp.broadcast_to(loss_valid, loss_shape)
    per_class = len(loss_shape) == 2
    if per_class and softmax:
        # softmax couples the classes: only a sample with every entry masked is cut off
        lv = xp.any(lv, axis=1)
        per_class = False
    return xp.where(xp.reshape(lv, _loss_layout(x, ax, per_class)), x, 0.0)


def _activate(be, x, activation, ax, fname, check_range=True):
    if callable(activation):  # MONAI's other_act: any elementwise or class-wise map
        out = activation(x)
        if tuple(getattr(out, "shape", ())) != tuple(x.shape):
            raise ValueError(
                f"{fname}: a callable 'activation' must return an array of the input's shape "
                f"{tuple(x.shape)}, got {tuple(getattr(out, 'shape', ()))}"
            )
        return out
    if activation == "softmax":
        return be.softmax(x, axis=ax)
    if activation == "sigmoid":
        return be.sigmoid(x)
    if check_range:
        c.check_unit_interval(be, x, fname)
    return x


def _check_activation(fname, activation, num_classes):
    if callable(activation):
        return
    c.check_choice(fname, "activation", activation, _ACTIVATIONS)
    if activation == "softmax" and num_classes < 2:
        raise ValueError(
            f"{fname}: activation='softmax' needs at least 2 classes on 'channel_axis', "
            f"got {num_classes}; use activation='sigmoid' for a single channel"
        )


# ------------------------------------------------- region losses (dice family)
def _take_classes(x, ax, start, stop=None):
    """``x`` restricted to classes ``start:stop`` on axis ``ax`` (basic slicing)."""
    return x[(slice(None),) * ax + (slice(start, stop), Ellipsis)]


def _onehot_ignore(xp, y, ignore_index, ax, num_classes):
    """MONAI's ``ignore_index`` for a one-hot/probability target: the pixels of class
    ``ignore_index`` (any mass on it) when it is a class, else the pixels with no
    class at all (an all-zero target, a sentinel such as 255 or -100)."""
    if 0 <= ignore_index < num_classes:
        return _take_classes(y, ax, ignore_index, ignore_index + 1) == 0
    return xp.sum(y, axis=ax, keepdims=True) > 0


def _region_setup(
    fname,
    input,
    target,
    activation,
    channel_axis,
    ignore_index,
    mask,
    reduction,
    per_class=True,
    *,
    include_background=True,
    batch=False,
    check_range=True,
):
    """Shared prologue of the dice family: probabilities ``p`` and one-hot/soft
    targets ``y``, both zero at excluded pixels and without class 0 when
    ``include_background`` is false (and there are several classes); the
    spatial axes, the loss-level validity (shape ``(N or 1, C')`` or ``(N or 1,)``)
    and the channel axis."""
    c.check_reduction(fname, reduction)
    for name, flag in (
        ("include_background", include_background),
        ("batch", batch),
        ("check_range", check_range),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"{fname}: '{name}' must be a bool, got {flag!r}")
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, int)
    ):
        raise TypeError(f"{fname}: 'ignore_index' must be an int or None, got {ignore_index!r}")
    be = c.backend_of(input, target, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    ax, spatial = _layout(fname, x, channel_axis)
    num_classes = c.class_count(fname, x, ax)
    _check_activation(fname, activation, num_classes)
    pshape = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])
    pix_valid = None
    if tuple(target.shape) == tuple(x.shape):
        if xp.isdtype(target.dtype, "real floating"):
            c.check_unit_interval(be, target, fname, "target")
        y = c.cast_to(be, target, x.dtype)
        if ignore_index is not None:
            pix_valid = _onehot_ignore(xp, y, ignore_index, ax, num_classes)
    elif tuple(target.shape) == pshape:
        c.check_class_indices(be, target, max(num_classes, 2), fname, ignore_index)
        if num_classes == 1:  # binary labels of the one (foreground) channel
            y = xp.astype(xp.expand_dims(target == 1, axis=ax), x.dtype)
        else:
            y = be.one_hot(target, num_classes, ax, x.dtype)
        known = None if ignore_index is None else target != ignore_index
        # under jax.jit, an index outside [0, C) gives NaN (cross_entropy's rule)
        y = c.nan_out_of_range(be, y, target, max(num_classes, 2), ax, known)
        if known is not None:
            pix_valid = xp.expand_dims(known, axis=ax)
    else:
        if target.ndim == x.ndim and all(
            target.shape[i] == x.shape[i] for i in range(x.ndim) if i != ax
        ):
            raise ValueError(
                f"{fname}: 'target' has {target.shape[ax]} classes on channel_axis {ax}, "
                f"the input has {num_classes} (input {tuple(x.shape)}, target "
                f"{tuple(target.shape)})"
            )
        raise ValueError(
            f"{fname}: 'target' must hold class indices of shape {pshape} (the input's "
            f"shape without channel_axis {ax}) or one-hot/probabilities of the input's "
            f"shape {tuple(x.shape)}, got {tuple(target.shape)}"
        )
    n = x.shape[0]
    drop = 0 if include_background or num_classes == 1 else 1
    kept = num_classes - drop
    loss_shape = ((1 if batch else n),) + ((kept,) if per_class else ())
    pmask, loss_valid = _split_mask(be, mask, x, ax, loss_shape, fname)
    pix_valid = c.and_masks(xp, pix_valid, pmask)
    if pix_valid is not None:
        x = xp.where(pix_valid, x, 0.0)
        y = xp.where(pix_valid, y, 0.0)
    if loss_valid is not None:
        full = (n, kept) if per_class else (n,)
        lv = xp.broadcast_to(loss_valid, loss_shape)
        lv = xp.broadcast_to(lv, full)
        if per_class and drop:
            # class 0 is outside the loss: its inputs matter only through a softmax
            lv = xp.concat([xp.any(lv, axis=1, keepdims=True), lv], axis=1)
            full = (n, num_classes)
        x = _guard_loss_mask(xp, x, lv, full, ax, activation == "softmax")
        y = xp.where(xp.reshape(lv, _loss_layout(x, ax, per_class)), y, 0.0)
    p = _activate(be, x, activation, ax, fname, check_range)
    if pix_valid is not None:
        p = xp.where(pix_valid, p, 0.0)
    if drop:
        p = _take_classes(p, ax, 1)
        y = _take_classes(y, ax, 1)
    return be, xp, p, y, spatial, loss_valid, ax


def _batch_sum(xp, a, batch):
    return xp.sum(a, axis=0, keepdims=True) if batch else a


def _sums(xp, p, y, spatial, batch=False, squared=False, soft=False):
    """(intersection, |p|, |y|) per sample (or batch) and class.

    ``squared``: ``sum p**2`` and ``sum y**2`` (MONAI ``squared_pred``);
    ``soft``: the intersection ``(|p| + |y| - |p - y|) / 2`` (MONAI
    ``soft_label``, Wang et al. 2023), equal to ``sum p y`` for 0/1 targets.
    """
    if squared:
        psum = xp.sum(p * p, axis=spatial)
        ysum = xp.sum(y * y, axis=spatial)
        inter = xp.sum(p * y, axis=spatial)
    else:
        psum = xp.sum(p, axis=spatial)
        ysum = xp.sum(y, axis=spatial)
        if soft:
            inter = 0.5 * (psum + ysum - xp.sum(xp.abs(p - y), axis=spatial))
        else:
            inter = xp.sum(p * y, axis=spatial)
    return tuple(_batch_sum(xp, a, batch) for a in (inter, psum, ysum))


def _counts(xp, p, y, spatial, batch=False, soft=False):
    """Soft TP, FP, FN per sample (or batch) and class, shape (N or 1, C)."""
    if soft:
        tp, psum, ysum = _sums(xp, p, y, spatial, batch, soft=True)
        return tp, psum - tp, ysum - tp
    tp = xp.sum(p * y, axis=spatial)
    fp = xp.sum(p * (1.0 - y), axis=spatial)
    fn = xp.sum((1.0 - p) * y, axis=spatial)
    return tuple(_batch_sum(xp, a, batch) for a in (tp, fp, fn))


def _ratio(be, num, den, empty):
    """``num / den`` with ``empty`` where ``den == 0`` (a ``0 / 0``) and a finite
    gradient everywhere.

    The value is the plain quotient, detached; the gradient,
    ``(d num - (num / den) d den) / den``, comes from a term that is exactly 0 in
    the forward pass and divides by the detached denominator only once. So an
    unselected ``0 / 0`` reaches neither the value nor the gradient (the double
    ``where``, also under a mask), and the backward pass never forms ``den ** 2``
    (JAX's derivative of a quotient) where it underflows, for a tiny ``den`` (an
    absent class with ``smooth=0`` and confident logits), into ``0 * inf = NaN``.
    Where ``|den|`` is below the smallest normal number, where ``1 / den`` itself
    overflows (and XLA flushes to zero), the value is exact and the gradient 0, as
    at ``den == 0``. A NaN denominator gives NaN. (A negative ``den`` only arises
    from predictions outside [0, 1], ``check_range=False``.)

    Second derivatives are exact where ``|den| >= sqrt(tiny)``: the divisor of
    the zero term is ``den`` itself there (differentiating ``t = (num - q den) /
    den`` at ``t = 0`` twice gives the quotient's second derivative, its ``-2 dq
    dden / den`` term included), and its detached copy below, where ``den ** 2``
    would underflow in the backward pass (there the second derivative, of order
    ``1 / den ** 3``, overflows anyway).
    """
    xp = be.xp
    tiny = float(xp.finfo(den.dtype).smallest_normal)
    ok = xp.abs(den) >= tiny
    zero = den == 0
    value = xp.where(zero, empty, be.stop_gradient(num / xp.where(zero, 1.0, den)))
    safe = xp.where(ok, den, 1.0)
    divisor = xp.where(xp.abs(den) >= math.sqrt(tiny), safe, be.stop_gradient(safe))
    t = (num - xp.where(ok, value, 0.0) * safe) / divisor  # ~0
    return value + xp.where(ok, t - be.stop_gradient(t), 0.0)


def _power(be, u, gamma):
    """``u ** gamma`` for ``u >= 0`` with a finite gradient for every ``u``.

    For ``gamma < 1`` the slope ``gamma u**(gamma - 1)`` is infinite at 0 and
    overflows below the smallest normal number (where ``1 - u`` already rounds to
    1): there the value is exact and the gradient 0, as at ``u = 0``.
    """
    xp = be.xp
    if gamma == 1:
        return u
    if float(gamma).is_integer():
        return u ** int(gamma)
    pos = u > 0
    tiny = float(xp.finfo(u.dtype).smallest_normal)
    normal = u >= tiny
    value = xp.exp(gamma * xp.log(xp.where(pos, u, 1.0)))
    if gamma < 1:
        value = xp.where(normal, value, be.stop_gradient(value))
    return xp.where(pos, value, 0.0 * u)  # 0, or NaN for NaN (a bad index under jit)


def _class_weight(be, fname, class_weight, kept, dtype, argname="class_weight"):
    """``class_weight`` (a number or a ``(C',)`` array, ``C'`` the classes in the
    loss) as a ``(1, C')`` array (or a float), checked to be ``>= 0``."""
    if class_weight is None:
        return None
    if isinstance(class_weight, (int, float)) and not isinstance(class_weight, bool):
        c.check_number(fname, argname, class_weight, low=0, finite=True)
        return float(class_weight)
    xp = be.xp
    if tuple(getattr(class_weight, "shape", ())) != (kept,):
        raise ValueError(
            f"{fname}: '{argname}' must be a number or have shape ({kept},) (one per class "
            f"in the loss, without class 0 when include_background=False), got "
            f"{tuple(getattr(class_weight, 'shape', ()))}"
        )
    w = c.cast_to(be, class_weight, dtype)
    if be.concrete(w):
        lo, _ = be.value_range(w)
        if float(lo) < 0:
            raise ValueError(f"{fname}: '{argname}' must hold values >= 0")
    return xp.reshape(w, (1, kept))


def _smooths(fname, smooth, smooth_nr, smooth_dr):
    c.check_number(fname, "smooth", smooth, low=0)
    snr = smooth if smooth_nr is None else smooth_nr
    sdr = smooth if smooth_dr is None else smooth_dr
    c.check_number(fname, "smooth_nr", snr, low=0, finite=True)
    c.check_number(fname, "smooth_dr", sdr, low=0, finite=True)
    return snr, sdr


def _macro(be, loss, present, w):
    """kornia's ``average="macro"``: the (weighted) mean of the per-class ``loss``
    over the classes present in the target; 1, with zero gradient, for none."""
    xp = be.xp
    wp = xp.astype(present, loss.dtype)
    if w is not None:
        wp = wp * w
    wp = be.stop_gradient(wp)
    d = xp.sum(wp, axis=1)
    num = xp.sum(xp.where(wp > 0, loss, 0.0) * wp, axis=1)
    return xp.where(d > 0, num / xp.where(d > 0, d, 1.0), 1.0)
