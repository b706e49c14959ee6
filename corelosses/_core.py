"""What every loss shares: namespace, dtypes, masks, weights, reduction, checks.

A loss calls these helpers and then only array-API functions on ``be.xp``.
Nothing here imports a framework; backend differences live in
:mod:`corelosses.adapters`.

Masking follows the double-``where`` rule: masked entries of every input are
replaced by a safe value *before* the formula runs, and the loss is set to
exactly 0 there afterwards, so a NaN or inf under the mask reaches neither the
value nor the gradient.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .adapters import Backend, backend_of

Array = Any

REDUCTIONS = ("mean", "sum", "none")
_MAX_FLOAT_INT = 2**1024 - 2**970 - 1  # the largest int that float() converts


def is_inf(value: Any) -> bool:
    """``math.isinf`` of a Python number, by comparison: a float that
    ``torch.compile`` traces symbolically (``dynamic=True``, or a float that
    changed between calls) compares but has no ``math.isinf``."""
    return value == math.inf or value == -math.inf


__all__ = [
    "Array",
    "Backend",
    "backend_of",
    "check_reduction",
    "check_choice",
    "check_number",
    "floating",
    "cast_to",
    "check_same_shape",
    "check_broadcastable",
    "as_mask",
    "and_masks",
    "mask_and_weight",
    "sanitize_along",
    "ignore_value_mask",
    "sanitize",
    "reduce",
    "count_valid",
    "check_unit_interval",
    "check_class_indices",
    "nan_out_of_range",
    "normalize_axis",
    "class_count",
    "pair_setup",
]


# ----------------------------------------------------------------- options
def check_reduction(fname: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{fname}: 'reduction' must be one of {REDUCTIONS}, got {reduction!r}")


def check_choice(fname: str, argname: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"{fname}: '{argname}' must be one of {tuple(choices)}, got {value!r}")


def check_number(
    fname: str,
    argname: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
    finite: bool = False,
) -> None:
    """Check a Python scalar option against an interval; name it on failure.

    NaN is always rejected; ``finite=True`` rejects ``inf`` and ``-inf`` too
    (for options such as a focal ``gamma`` or a temperature, where an infinite
    value passes the interval but gives no loss at all).
    """
    if value is None and allow_none:
        return
    tv = type(value)
    if (
        (tv is float or tv is int)
        and value == value
        and not (finite and tv is float and is_inf(value))
    ):
        # the common case in a few comparisons (this runs on every call)
        if (low is None or (value > low if low_open else value >= low)) and (
            high is None or (value < high if high_open else value <= high)
        ):
            if tv is float or -_MAX_FLOAT_INT <= value <= _MAX_FLOAT_INT:
                return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{fname}: '{argname}' must be a real number, got {type(value).__name__} {value!r}"
        )
    v: Any = value  # a numbers.Real compares with floats (exactly, for big ints)
    try:
        as_float = float(value)
    except OverflowError:  # an int past the float range (10**400): no loss can use it
        raise ValueError(
            f"{fname}: '{argname}' must fit a float, got an int of {v.bit_length()} bits"
        ) from None
    if finite and math.isinf(as_float):
        raise ValueError(f"{fname}: '{argname}' must be a finite number, got {value!r}")
    ok = True
    if low is not None:
        ok &= v > low if low_open else v >= low
    if high is not None:
        ok &= v < high if high_open else v <= high
    if not ok or math.isnan(as_float):
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
        raise ValueError(f"{fname}: '{argname}' must be in {rng}, got {value!r}")


def class_count(fname: str, x: Array, ax: int, argname: str = "input") -> int:
    """The number of classes on axis ``ax`` of ``x``; none at all is an error."""
    n = x.shape[ax]
    if n == 0:
        raise ValueError(
            f"{fname}: '{argname}' needs at least one class along axis {ax}, "
            f"got shape {tuple(x.shape)}"
        )
    return n


def normalize_axis(fname: str, argname: str, axis: int, ndim: int) -> int:
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise TypeError(f"{fname}: '{argname}' must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{fname}: '{argname}'={axis} is out of range for an input of rank {ndim}")
    return axis % ndim


# ------------------------------------------------------------------ dtypes
def floating(be: Backend, x: Array, fname: str, argname: str = "input") -> Array:
    """``x`` as a floating array; float16/bfloat16 are promoted to float32."""
    xp = be.xp
    dt = x.dtype
    if xp.isdtype(dt, "real floating"):
        if be.is_half(dt):
            return xp.astype(x, xp.float32)
        return x
    raise TypeError(f"{fname}: '{argname}' must be a real floating-point array, got dtype {dt}")


def cast_to(be: Backend, t: Array, dtype: Any) -> Array:
    """Cast a target/weight (int, bool or float) to the compute dtype."""
    if t.dtype == dtype:
        return t
    return be.xp.astype(t, dtype)


# ------------------------------------------------------------------ shapes
def check_same_shape(fname: str, x: Array, t: Array, argname: str = "target") -> None:
    if tuple(x.shape) != tuple(t.shape):
        raise ValueError(
            f"{fname}: '{argname}' must have the input's shape {tuple(x.shape)}, "
            f"got {tuple(t.shape)}"
        )


def _broadcast_shapes(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            return None
    return tuple(reversed(out))


def check_broadcastable(fname: str, argname: str, arr: Array, shape: Sequence[int]) -> None:
    """``arr`` must broadcast to ``shape`` without growing it."""
    shape = tuple(shape)
    b = _broadcast_shapes(shape, tuple(arr.shape))
    if b != shape:
        raise ValueError(
            f"{fname}: '{argname}' of shape {tuple(arr.shape)} does not broadcast to "
            f"the unreduced loss's shape {shape}"
        )


# ------------------------------------------------------------------- masks
def as_mask(be: Backend, mask: Array | None, shape: Sequence[int], fname: str) -> Array | None:
    """A boolean mask broadcastable to ``shape`` (``{0, 1}`` arrays accepted)."""
    if mask is None:
        return None
    xp = be.xp
    check_broadcastable(fname, "mask", mask, shape)
    if mask.dtype == xp.bool:
        return mask
    if xp.isdtype(mask.dtype, ("integral", "real floating")):
        return mask != 0
    raise TypeError(f"{fname}: 'mask' must be boolean or 0/1, got dtype {mask.dtype}")


def mask_and_weight(
    be: Backend,
    mask: Array | None,
    weight: Array | None,
    shape: Sequence[int],
    dtype: Any,
    fname: str,
) -> tuple[Array | None, Array | None]:
    """``mask`` as a boolean mask and ``weight`` in ``dtype``, both checked to
    broadcast to the unreduced loss's ``shape``."""
    valid = as_mask(be, mask, shape, fname)
    if weight is not None:
        check_broadcastable(fname, "weight", weight, shape)
        weight = cast_to(be, weight, dtype)
    return valid, weight


def moveaxis(xp: Any, x: Array, source: int, destination: int) -> Array:
    """``xp.moveaxis`` through ``permute_dims``: torch's ``moveaxis`` alias has no
    ``torch.func.vmap`` batching rule (``permute`` has)."""
    nd = x.ndim
    s, d = source % nd, destination % nd
    order = [i for i in range(nd) if i != s]
    order.insert(d, s)
    return xp.permute_dims(x, tuple(order))


def sanitize_along(xp: Any, valid: Array | None, x: Array, shape: Sequence[int], ax: int) -> Array:
    """:func:`sanitize` for an input with one axis (``ax``) more than the loss's ``shape``."""
    if valid is None:
        return x
    keep = xp.expand_dims(xp.broadcast_to(valid, tuple(shape)), axis=ax)
    return backend_of(x).where_valid(keep, x, 0.0)


def and_masks(xp: Any, a: Array | None, b: Array | None) -> Array | None:
    if a is None:
        return b
    if b is None:
        return a
    return xp.logical_and(a, b)


def ignore_value_mask(be: Backend, target: Array, ignore_value: float | None) -> Array | None:
    """True where ``target`` holds a label (``!= ignore_value``; NaN matches NaN)."""
    if ignore_value is None:
        return None
    xp = be.xp
    if isinstance(ignore_value, float) and ignore_value != ignore_value:  # NaN (traceable)
        return xp.logical_not(xp.isnan(target))
    return target != ignore_value


def sanitize(xp: Any, valid: Array | None, x: Array, fill: float = 0.0) -> Array:
    """Replace entries outside ``valid`` by ``fill`` (the first ``where``).

    Through :meth:`Backend.where_valid` (``xp.where``, or the framework's
    faster kernel for the same selection).
    """
    if valid is None:
        return x
    return backend_of(x).where_valid(valid, x, fill)


# --------------------------------------------------------------- reduction
def reduce(
    be: Backend,
    loss: Array,
    reduction: str,
    *,
    weight: Array | None = None,
    valid: Array | None = None,
    denom: Array | None = None,
    at_fill: str = "any",
) -> Array:
    """Apply ``weight``, zero the invalid entries (the second ``where``), reduce.

    ``"mean"`` divides by ``denom`` when given (e.g. the summed class weights
    of ``cross_entropy``), else by the number of valid entries; a zero
    denominator (everything masked, or an empty batch) gives 0, not NaN.

    ``at_fill`` is the caller's promise about ``loss`` wherever ``valid`` is
    false (its inputs were filled there by :func:`sanitize`): ``"zero"``, it
    is exactly 0 already (a squared error at ``(0, 0)``, or a native kernel
    that gives an ignored entry 0), so the second ``where`` is skipped;
    ``"finite"``, it is finite, so a weight zeroed there zeroes the loss and
    the second ``where`` is skipped when a weight is given; ``"any"`` (the
    default) promises nothing. The first ``where`` on the inputs always stays,
    so a NaN under the mask still reaches neither value nor gradient. A
    compiler that fuses the selection into the loss's own loop keeps it
    (:meth:`Backend.fuses_selects`): XLA on CPU materialises the filled inputs
    without it (2x the time at 1M, RESULTS.md "Masked calls").
    """
    xp = be.xp
    if weight is not None:
        if valid is not None:  # a NaN weight under the mask must not reach the gradient
            weight = be.where_valid(valid, weight, 0.0)
        loss = loss * weight
    if valid is not None and (
        not (at_fill == "zero" or (at_fill == "finite" and weight is not None))
        or be.fuses_selects()
    ):
        loss = be.where_valid(valid, loss, 0.0)
    if reduction == "none":
        return loss
    total = xp.sum(loss)
    if reduction == "sum":
        return total
    if denom is None:
        if valid is None:
            return total / max(math.prod(loss.shape), 1)
        denom = count_valid(be, valid, loss.shape, loss.dtype)
    return total / xp.where(denom == 0, 1.0, denom)


def count_valid(be: Backend, valid: Array, shape: Sequence[int], dtype: Any) -> Array:
    """The number of true entries of ``valid`` broadcast to ``shape``, in ``dtype``.

    Counted on the mask itself (:meth:`Backend.count_true`, no float copy of
    it), then scaled by how many times broadcasting repeats each of its entries.
    """
    xp = be.xp
    n = xp.astype(be.count_true(valid), dtype)
    rep = math.prod(shape) // max(math.prod(valid.shape), 1)
    return n if rep == 1 else n * float(rep)


# ------------------------------------------------------------ value checks
def check_unit_interval(be: Backend, x: Array, fname: str, argname: str = "input") -> None:
    """Probabilities must lie in [0, 1] (checked where it costs no sync or trace).

    For a prediction the message suggests ``from_logits=True``; for a
    ``"target"`` (binary labels, probability targets) it does not.
    """
    if be.concrete(x) and math.prod(x.shape) > 0:
        lo, hi = be.value_range(x)  # NaN passes, as with x < 0 or x > 1
        if float(lo) < 0 or float(hi) > 1:
            hint = "" if argname == "target" else " (pass from_logits=True for logits)"
            raise ValueError(f"{fname}: '{argname}' must hold probabilities in [0, 1]{hint}")


def check_class_indices(
    be: Backend, t: Array, num_classes: int, fname: str, ignore_index: int | None
) -> None:
    """Class indices in ``[0, C)`` (or equal to ``ignore_index``), checked where cheap."""
    xp = be.xp
    if not xp.isdtype(t.dtype, "integral"):
        raise TypeError(f"{fname}: class-index 'target' must be integers, got dtype {t.dtype}")
    if be.concrete(t) and math.prod(t.shape) > 0:
        if ignore_index is not None:
            t = xp.where(t == ignore_index, 0, t)
        lo, hi = be.value_range(t)
        if int(lo) < 0 or int(hi) >= num_classes:
            raise ValueError(
                f"{fname}: 'target' holds class indices outside [0, {num_classes})"
                + ("" if ignore_index is None else f" other than ignore_index={ignore_index}")
            )


def nan_out_of_range(
    be: Backend,
    y: Array,
    indices: Array,
    num_classes: int,
    axis: int,
    valid: Array | None,
) -> Array:
    """The one-hot ``y`` with NaN rows for class indices outside ``[0, C)``.

    Only on a backend that follows jax's convention for an out-of-bounds
    index (NaN, ``Backend.nan_bad_indices``) and only where the values were
    not checked (:func:`check_class_indices` raises for concrete arrays):
    under ``jax.jit`` a bad index then gives its sample a NaN loss instead of
    a silent 0 that still counts in the mean. Rows outside ``valid`` (masked,
    ``ignore_index``) are left alone, so they stay exactly 0 with a zero
    gradient.
    """
    if not be.nan_bad_indices or be.concrete(indices):
        return y
    xp = be.xp
    bad = (indices < 0) | (indices >= num_classes)
    if valid is not None:
        bad = xp.logical_and(bad, valid)
    return xp.where(xp.expand_dims(bad, axis=axis), math.nan, y)


# --------------------------------------------------------- common prologue
def pair_setup(
    fname: str,
    input: Array,
    target: Array,
    *,
    weight: Array | None,
    mask: Array | None,
    reduction: str,
    ignore_value: float | None = None,
    input_name: str = "input",
) -> tuple[Backend, Any, Array, Array, Array | None, Array | None]:
    """Prologue of elementwise ``(input, target)`` losses.

    Returns ``(be, xp, input, target, weight, valid)`` with the input in its
    compute dtype, the target, weight cast to it, and both arrays sanitized
    where ``valid`` (mask and ``ignore_value``) is false. ``input_name`` is the
    first argument's name in error messages (``"pred"`` for boxes).
    """
    check_reduction(fname, reduction)
    be = backend_of(input, target, weight, mask)
    xp = be.xp
    input = floating(be, input, fname, input_name)
    check_same_shape(fname, input, target)
    target = cast_to(be, target, input.dtype)
    valid, weight = mask_and_weight(be, mask, weight, input.shape, input.dtype, fname)
    valid = and_masks(xp, valid, ignore_value_mask(be, target, ignore_value))
    if valid is not None:
        input = be.where_valid(valid, input, 0.0)
        target = be.where_valid(valid, target, 0.0)
    return be, xp, input, target, weight, valid
