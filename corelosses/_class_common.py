"""Private helpers of the class losses: the prologues shared by
:mod:`corelosses.classification`, :mod:`corelosses.focal`, :mod:`corelosses.divergence`,
:mod:`corelosses.sparsemax`, :mod:`corelosses.margin` and the bi-tempered
losses, and the overflow-safe scaled reduction of :mod:`corelosses.divergence`."""

from __future__ import annotations

import math
from typing import Any

from . import _core as c

Array = Any


_LOG_FLOOR = -100.0  # torch's clamp of log(p) in binary_cross_entropy


def _safe_log(xp: Any, p: Array) -> Array:
    """``log(p)`` clamped at -100 (torch's convention), finite gradient at p = 0."""
    pos = p > 0
    return xp.where(pos, xp.log(xp.where(pos, p, 1.0)), _LOG_FLOOR)


def _on_target(xp: Any, y: Array, logp: Array) -> Array:
    """``logp`` where the target ``y`` has mass, 0 elsewhere.

    A finite logit gap past the float maximum makes ``log_softmax`` -inf for
    a class; where that class has no target mass, ``y * logp`` would be
    ``0 * -inf = NaN`` in the value and any product with ``logp`` a NaN in the
    gradient. Selecting first keeps the -inf out of every product: the
    value is exact (0 there, ``+inf`` loss only where the target class itself
    is at -inf) and the gradient finite.
    """
    return xp.where(y != 0, logp, 0.0)


def _class_prologue(
    fname, input, target, axis, ignore_index, mask, weight, reduction, name, one_hot=True, fill=True
):
    """Prologue of the class losses (the target half of ``cross_entropy``'s).

    Returns ``(be, xp, x, y, indices, valid, weight, ax, cshape, C)``: the
    input in its compute dtype, sanitized where ``valid`` is false, and the
    target as a one-hot (class indices) or probability array of its shape
    (``y`` is None for class indices with ``one_hot=False``). With
    ``fill=False`` and class indices the input is *not* filled where ``valid``
    is false: the caller fills it (:func:`corelosses._core.sanitize_along`)
    or hands it to a native kernel that keeps it out (``cross_entropy``).
    """
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, target, mask, weight)
    xp = be.xp
    x = c.floating(be, input, fname, name)
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    C = c.class_count(fname, x, ax, name)
    loss_shape = x.shape[:ax] + x.shape[ax + 1 :]
    if xp.isdtype(target.dtype, "real floating") and tuple(target.shape) == tuple(x.shape):
        if ignore_index is not None:
            raise ValueError(
                f"{fname}: 'ignore_index' needs class-index targets, got a float target "
                f"of the {name}'s shape {tuple(x.shape)} (probabilities); use mask= instead"
            )
        indices = None
        valid = None
    else:
        if tuple(target.shape) != tuple(loss_shape):
            raise ValueError(
                f"{fname}: 'target' must hold class indices of shape {tuple(loss_shape)} "
                f"({name}'s shape without axis {ax}) or probabilities of shape "
                f"{tuple(x.shape)}, got {tuple(target.shape)} ({target.dtype})"
            )
        c.check_class_indices(be, target, C, fname, ignore_index)
        indices = target
        valid = None if ignore_index is None else target != ignore_index
    user_valid, weight = c.mask_and_weight(be, mask, weight, loss_shape, x.dtype, fname)
    valid = c.and_masks(xp, user_valid, valid)
    if fill or indices is None:
        x = c.sanitize_along(xp, valid, x, loss_shape, ax)
    if indices is not None:
        y = _one_hot_target(be, indices, C, ax, x.dtype, valid) if one_hot else None
    else:
        y = c.sanitize_along(xp, valid, c.cast_to(be, target, x.dtype), loss_shape, ax)
        c.check_unit_interval(be, y, fname, "target")
    cshape = [1] * x.ndim
    cshape[ax] = C
    return be, xp, x, y, indices, valid, weight, ax, tuple(cshape), C


def _one_hot_target(be, indices, C, ax, dtype, valid):
    """Class indices as a one-hot target (NaN rows for bad indices under a trace)."""
    y = be.one_hot(indices, C, ax, dtype)
    return c.nan_out_of_range(be, y, indices, C, ax, valid)


def _class_setup(fname, input, target, axis, from_logits, ignore_index, mask, reduction, weight):
    """Prologue of the softmax losses: :func:`_class_prologue` plus the log-probabilities.

    Returns ``(be, xp, x, logp, y, indices, valid, weight, ax, cshape, C)``.
    """
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname, input, target, axis, ignore_index, mask, weight, reduction, "input"
    )
    logp = _log_probs(be, xp, x, ax, from_logits, fname)
    return be, xp, x, logp, y, idx, valid, weight, ax, cshape, C


def _log_probs(be, xp, x, ax, from_logits, fname, keep=None):
    """``log_softmax(x, ax)`` (or the clamped ``log x`` of probabilities).

    With ``keep`` (a boolean array of ``x``'s shape, :func:`_class_keep`) the
    classes outside it take no part: the softmax runs over the kept classes
    only (``-inf`` logits there, probabilities renormalized over the kept
    ones), and their log-probability is ``-inf`` (the caller zeroes their
    targets). A row with no class kept gets finite, unused values, so a NaN or
    inf in an excluded logit reaches neither the value nor the gradient.
    """
    if keep is not None:
        some = xp.any(keep, axis=ax, keepdims=True)
    if from_logits:
        if keep is not None:
            # -inf outside keep; 0 in a row with no class kept (finite, unused)
            x = xp.where(some, xp.where(keep, x, -math.inf), 0.0)
        return be.log_softmax(x, axis=ax)
    c.check_unit_interval(be, x, fname)
    if keep is not None:
        x = xp.where(keep, x, 0.0)
        s = xp.sum(x, axis=ax, keepdims=True)
        x = x / xp.where(s > 0, s, 1.0)
    return _safe_log(xp, x)


def _class_keep(be, xp, where, x, fname):
    """``where`` (boolean or 0/1, broadcast to ``x``'s shape) as a boolean array."""
    c.check_broadcastable(fname, "where", where, x.shape)
    if where.dtype != xp.bool:
        if not xp.isdtype(where.dtype, ("integral", "real floating")):
            raise TypeError(f"{fname}: 'where' must be boolean or 0/1, got dtype {where.dtype}")
        where = where != 0
    return xp.broadcast_to(where, tuple(x.shape))


def _class_axes(fname, input, target, axis, where, class_weight):
    """Several class axes moved to the end, in the order given, and flattened
    into one (optax's rule for a tuple ``axis``).

    Returns ``(input, target, where, class_weight, axis)``. Probability targets
    (input's shape) are folded as the input; class-index targets (the input's
    shape without the class axes) index the flattened classes (row-major over
    the class axes in the order given); a ``class_weight`` of the class axes'
    shape is flattened the same way.
    """
    try:
        axes = tuple(axis)
    except TypeError:
        raise TypeError(
            f"{fname}: 'axis' must be an int or a tuple of ints, got {axis!r}"
        ) from None
    nd = input.ndim
    if not axes:
        raise ValueError(f"{fname}: 'axis' must name at least one axis, got {axis!r}")
    axes = tuple(c.normalize_axis(fname, "axis", a, nd) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{fname}: 'axis' names an axis twice: {axis!r}")
    if len(axes) == 1:
        return input, target, where, class_weight, axes[0]
    xp = c.backend_of(input, target, where, class_weight).xp
    rest = tuple(a for a in range(nd) if a not in axes)
    shape = tuple(input.shape)
    lead = tuple(shape[a] for a in rest)
    cdims = tuple(shape[a] for a in axes)
    flat = (*lead, math.prod(cdims))

    def fold(a):
        return xp.reshape(xp.permute_dims(a, rest + axes), flat)

    if tuple(target.shape) == shape:
        target = fold(target)
    elif tuple(target.shape) != lead:
        raise ValueError(
            f"{fname}: 'target' must hold probabilities of the input's shape {shape} or "
            f"class indices of shape {lead} (without the class axes {axes}), "
            f"got {tuple(target.shape)}"
        )
    if where is not None:
        c.check_broadcastable(fname, "where", where, shape)
        where = fold(xp.broadcast_to(where, shape))
    if class_weight is not None and tuple(class_weight.shape) == cdims:
        class_weight = xp.reshape(class_weight, (-1,))
    return fold(input), target, where, class_weight, len(rest)


def _class_vector(be, vec, cshape, dtype, fname, argname, num_classes):
    if vec is None:
        return None
    xp = be.xp
    if tuple(vec.shape) != (num_classes,):
        raise ValueError(
            f"{fname}: '{argname}' must have shape ({num_classes},) (one per class), "
            f"got {tuple(vec.shape)}"
        )
    return xp.reshape(c.cast_to(be, vec, dtype), cshape)


_BIG = 2.0**64  # fewer than 2**64 terms below 2**64 never overflow a float32 sum (2**128)


def _scale_of(be: Any, xp: Any, m: Array) -> Array:
    """A gradient-free divisor for terms of largest magnitude ``m``: ``sqrt(m)`` above
    2**64, else 1 (ordinary inputs are summed exactly as they are).

    Not ``m`` itself: XLA divides by multiplying with the reciprocal, and ``1 / 3e38``
    is subnormal in float32, flushed to 0 on the CPU. ``1 / sqrt(m)`` stays normal and
    ``x / sqrt(m)`` is at most ``sqrt(max float)`` (1.8e19 in float32).
    """
    big = xp.isfinite(m) & (m > _BIG)
    return be.stop_gradient(xp.where(big, xp.sqrt(xp.where(big, m, 1.0)), 1.0))


def _row_scale(be: Any, xp: Any, v: Array, ax: int) -> Array:
    """:func:`_scale_of` the largest ``|v|`` over ``ax`` (kept)."""
    if math.prod(v.shape) == 0:  # dask's max fails on zero-size arrays
        return xp.ones_like(xp.sum(v, axis=ax, keepdims=True))
    return _scale_of(be, xp, xp.max(xp.abs(v), axis=ax, keepdims=True))


def _reduce_scaled(be, xp, rows, scale, reduction, *, weight, valid, denom=None):
    """:func:`corelosses._core.reduce` of ``rows * scale`` without intermediate overflow.

    The per-sample losses here (``nll_loss``, ``kl_divergence``) are sums of
    terms of both signs once a "log-probability" is positive (not a
    log-probability, but finite): ``[-3e38, 3e38, 3e38]`` sums to 3e38 while a
    float32 running sum passes through ``inf``, and rows of ``+inf`` and
    ``-inf`` sum to NaN. Each row is computed from terms divided by its own
    ``scale`` (:func:`_scale_of`, gradient-free), and the batch sum from
    ``rows * (scale / max scale)``: a row, or the total, overflows only where
    its float64 value exceeds the dtype's range, and never turns into NaN.
    The value and gradient are those of the plain sum (exactly so for terms
    below 2**64, where every scale is 1).
    """
    if reduction == "none":
        return c.reduce(be, rows * scale, reduction, weight=weight, valid=valid)
    top = be.stop_gradient(xp.max(scale)) if math.prod(scale.shape) else 1.0
    out = c.reduce(be, rows * (scale / top), reduction, weight=weight, valid=valid, denom=denom)
    return out * top


def _check_bool(fname: str, argname: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(
            f"{fname}: '{argname}' must be a bool, got {type(value).__name__} {value!r}"
        )


def _check_probs(be: Any, x: Array, fname: str, argname: str, hint: str, upper: bool) -> None:
    """Values in [0, 1] (``upper``) or >= 0, checked where it costs no sync or trace."""
    if be.concrete(x) and math.prod(x.shape) > 0:
        lo, hi = be.value_range(x)  # NaN passes
        if float(lo) < 0 or (upper and float(hi) > 1):
            what = "probabilities in [0, 1]" if upper else "non-negative values"
            raise ValueError(f"{fname}: '{argname}' must hold {what}{hint}")


def _pair_prologue(fname, input, target, axis, mask, weight, reduction):
    """Prologue of the divergences: two arrays of one shape, reduced over ``axis``."""
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, target, mask, weight)
    xp = be.xp
    x = c.floating(be, input, fname)
    c.check_same_shape(fname, x, target)
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    c.class_count(fname, x, ax)
    loss_shape = x.shape[:ax] + x.shape[ax + 1 :]
    t = c.cast_to(be, target, x.dtype)
    valid, weight = c.mask_and_weight(be, mask, weight, loss_shape, x.dtype, fname)
    x = c.sanitize_along(xp, valid, x, loss_shape, ax)
    t = c.sanitize_along(xp, valid, t, loss_shape, ax)
    return be, xp, x, t, weight, valid, ax
