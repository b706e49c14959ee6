"""Classification losses: binary and multi-class cross entropy, focal losses.

All take logits by default (``from_logits=True``) and are stable for logits of
any magnitude and for probabilities of exactly 0 and 1.
"""

from __future__ import annotations

from typing import Any

from . import _core as c
from ._bitempered import bi_tempered_binary_logistic_loss, bi_tempered_logistic_loss
from ._class_common import (
    _class_axes,
    _class_keep,
    _class_prologue,
    _class_vector,
    _log_probs,
    _on_target,
    _one_hot_target,
    _safe_log,
)
from ._registry import register
from .focal import focal_loss, softmax_focal_loss

Array = Any

__all__ = [
    "binary_cross_entropy",
    "cross_entropy",
    "focal_loss",
    "softmax_focal_loss",
    "bi_tempered_logistic_loss",
    "bi_tempered_binary_logistic_loss",
]

_PLAIN_ZERO = (int, float)  # an option of exactly these types equal to 0 needs no check


# ------------------------------------------------------------------ examples
def _ex_binary(rng):
    x = rng.normal(size=(6, 5)) * 3
    y = (rng.uniform(size=(6, 5)) > 0.5).astype("float64")
    return (x, y), {}


def _ex_binary_soft(rng):
    x = rng.normal(size=(4, 7)) * 3
    y = rng.uniform(size=(4, 7))
    return (x, y), {"pos_weight": rng.uniform(0.5, 2.0, size=(7,)), "label_smoothing": 0.1}


def _ex_multiclass(rng):
    x = rng.normal(size=(8, 5)) * 2
    y = rng.integers(0, 5, size=(8,))
    y[1] = -100
    return (x, y), {
        "ignore_index": -100,
        "class_weight": rng.uniform(0.5, 2, size=(5,)),
        "label_smoothing": 0.1,
    }


# ------------------------------------------------------------------- losses
@register(
    "classification",
    "torch.nn.functional.binary_cross_entropy(_with_logits); Keras label smoothing",
    peers=(
        "torch.nn.functional.binary_cross_entropy_with_logits",
        "optax.sigmoid_binary_cross_entropy",
        "keras.losses.binary_crossentropy",
    ),
    example=_ex_binary_soft,
)
def binary_cross_entropy(
    input: Array,
    target: Array,
    /,
    *,
    from_logits: bool = True,
    pos_weight: Array | None = None,
    label_smoothing: float = 0.0,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Binary cross entropy, elementwise, on logits or probabilities.

    .. math::
        \ell = -\big(w_+\, y \log \sigma(x) + (1 - y) \log(1 - \sigma(x))\big)

    with ``w_+ = pos_weight`` (broadcast over the last axis, as in
    :func:`torch.nn.functional.binary_cross_entropy_with_logits`). On logits
    it is computed as ``(1 - y) x + (1 + (w_+ - 1) y) softplus(-x)``, finite
    for any ``|x|``. On probabilities (``from_logits=False``) ``log p`` is
    clamped at -100 like :func:`torch.nn.functional.binary_cross_entropy`, so
    ``p`` of exactly 0 or 1 gives a finite value and gradient.

    Label smoothing follows Keras: ``y <- y (1 - s) + s / 2``.

    Parameters
    ----------
    input : array
        Logits (or probabilities with ``from_logits=False``), any shape.
    target : array
        Targets in [0, 1], same shape; integer or boolean targets are cast.
        Values outside [0, 1] raise ``ValueError`` wherever they can be read
        without a trace or a device sync (as in :func:`cross_entropy`).
    from_logits : bool
        Whether ``input`` holds logits.
    pos_weight : array, optional
        Weight of positive examples, broadcast against ``input``; it may
        require a gradient (torch then runs the formula, not the fused kernel).
    label_smoothing : float
        ``s`` in [0, 1).
    weight, mask, reduction
        See the conventions in the README: elementwise weight, boolean mask
        (mean over unmasked entries), ``"mean"``/``"sum"``/``"none"``.

    Returns
    -------
    array
        Scalar, or the elementwise loss for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([2.0, -1.0, 0.0]); y = np.array([1.0, 0.0, 1.0])
    >>> round(float(cl.binary_cross_entropy(x, y)), 6)
    0.377779
    """
    fname = "binary_cross_entropy"
    if (
        from_logits
        and pos_weight is None
        and weight is None
        and mask is None
        and type(label_smoothing) in _PLAIN_ZERO
        and label_smoothing == 0
    ):
        c.check_reduction(fname, reduction)
        be = c.backend_of(input, target)
        out = be.bce_with_logits_native(input, target, reduction)
        if out is not None:  # the plain case in one native kernel (same function)
            c.check_unit_interval(be, target, fname, "target")
            return out
    c.check_number(fname, "label_smoothing", label_smoothing, low=0, high=1, high_open=True)
    be, xp, x, y, weight, valid = c.pair_setup(
        fname, input, target, weight=weight, mask=mask, reduction=reduction
    )
    c.check_unit_interval(be, y, fname, "target")
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if pos_weight is not None:
        c.check_broadcastable(fname, "pos_weight", pos_weight, x.shape)
        pos_weight = c.cast_to(be, pos_weight, x.dtype)
    if from_logits:
        if weight is not None:
            # the weight (zeroed outside ``valid``) goes into the fused kernel; the
            # loss is finite at the fill, so that zeroes it and no second ``where`` runs
            w = weight if valid is None else be.where_valid(valid, weight, 0.0)
            loss = be.bce_with_logits(x, y, pos_weight, weight=w)
            return c.reduce(be, loss, reduction, valid=valid, at_fill="zero")
        loss = be.bce_with_logits(x, y, pos_weight)
    else:
        c.check_unit_interval(be, x, fname)
        log_p = _safe_log(xp, x)
        log_1mp = _safe_log(xp, 1.0 - x)
        pos = y * log_p if pos_weight is None else pos_weight * y * log_p
        loss = -(pos + (1.0 - y) * log_1mp)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "classification",
    "torch.nn.functional.cross_entropy (class weights, ignore_index, label smoothing)",
    peers=(
        "torch.nn.functional.cross_entropy",
        "optax.softmax_cross_entropy",
        "optax.softmax_cross_entropy_with_integer_labels",
        "optax.safe_softmax_cross_entropy",
    ),
    example=_ex_multiclass,
    mean="weighted",  # with class_weight, "mean" divides by the targets' summed weights
)
def cross_entropy(
    input: Array,
    target: Array,
    /,
    *,
    axis: int | tuple[int, ...] = -1,
    from_logits: bool = True,
    class_weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    where: Array | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Softmax cross entropy with the exact semantics of ``F.cross_entropy``.

    With ``log p = log_softmax(input, axis)``, class weights ``w`` and
    smoothing ``s`` over ``C`` classes, a sample with class index ``k`` has

    .. math::
        \ell = (1 - s)\, w_k (-\log p_k) + \frac{s}{C} \sum_c w_c (-\log p_c)

    and ``"mean"`` divides the sum by ``sum w_k`` over the valid samples
    (PyTorch's rule). With probability targets ``y`` (input's shape),
    ``\ell = -\sum_c w_c \tilde y_c \log p_c`` with
    ``\tilde y = (1 - s) y + s / C`` and ``"mean"`` divides by the number of
    valid samples. Targets equal to ``ignore_index`` or masked out contribute
    nothing. Targets are one-hot encoded by comparison, never by indexing, so
    an ``ignore_index`` of -100 is never used as an index.

    A class whose logit is ``-inf`` (an excluded class) adds nothing unless
    the target puts mass on it: the loss is
    ``optax.safe_softmax_cross_entropy``'s (``0 log 0 = 0``), finite with a
    finite gradient, where ``optax.softmax_cross_entropy`` gives NaN.
    ``where=`` excludes classes without touching the logits, as optax's
    ``where``: an excluded class takes no part in the softmax (its logit,
    even NaN or inf, is never read) nor in the target sum, so for each sample
    the loss is that of the kept classes alone (``C`` in the smoothing is the
    number of kept classes). A sample with no class kept, or whose class
    index is excluded, contributes 0 (optax's integer-label version gives the
    latter the kept classes' logsumexp minus the target's logit).

    Bad targets: class indices outside ``[0, C)`` (other than
    ``ignore_index``) and probability targets outside [0, 1] raise a
    ``ValueError`` wherever the values can be read without a trace or a device
    sync (NumPy, array-api-strict, torch and jax arrays on the CPU). Under
    ``jax.jit`` (or ``grad``, ``vmap``) an out-of-range index gives its sample
    a NaN loss (jax's convention for an out-of-bounds index), so the mean is
    NaN too, unless the sample is masked out or ignored; elsewhere unchecked
    (Dask, GPU, ``torch.compile``) it matches no class. Logits whose gap
    overflows the float range are fine: a class at ``log p = -inf`` adds
    nothing unless it is the target (``+inf``, the exact loss).

    Parameters
    ----------
    input : array
        Logits (probabilities with ``from_logits=False``), classes on ``axis``.
    target : array
        Integer class indices (input's shape without ``axis``) or
        probabilities (input's shape).
    axis : int or tuple of int
        The class axis (``1`` for PyTorch's ``(N, C, ...)`` layout), or
        several (``optax.softmax_cross_entropy(..., axis=(a, b))``): the
        classes are then the entries of the class axes together, moved to
        the end in the order given and flattened; a class index (target
        without the class axes) is a row-major flat index into them, as in
        optax's integer-label version; ``class_weight`` has the class axes'
        shape or its flattened length. No axis may appear twice.
    class_weight : array, optional
        One weight per class.
    ignore_index : int, optional
        Class index to ignore (class-index targets only).
    label_smoothing : float
        ``s`` in [0, 1).
    where : array, optional
        Classes to keep (boolean or 0/1), broadcast against ``input`` (a
        ``(C,)`` array keeps the same classes in every sample). optax's
        per-sample ``where`` of the loss's shape is our ``mask=`` (optax then
        still counts the excluded samples in its mean, we do not).
    weight : array, optional
        Per-sample weight, broadcast to the unreduced loss.
    mask, reduction
        As for every loss.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> round(float(cl.cross_entropy(logits, np.array([0, 2]))), 6)
    0.175456
    >>> keep = np.array([True, True, False])
    >>> round(float(cl.cross_entropy(logits, np.array([0, 1]), where=keep)), 6)
    0.422905
    """
    fname = "cross_entropy"
    if (
        from_logits
        and class_weight is None
        and ignore_index is None
        and weight is None
        and mask is None
        and where is None
        and type(label_smoothing) in _PLAIN_ZERO
        and label_smoothing == 0
    ):
        # the plain case: one native kernel where the backend has it (same function)
        c.check_reduction(fname, reduction)
        try:
            be = c.backend_of(input, target)
            out = be.cross_entropy_native(input, target, axis, reduction)  # type: ignore[arg-type]
        except (IndexError, RuntimeError, TypeError, ValueError):
            out = None  # bad indices (or a tuple axis): the definition below names it
        if out is not None:
            return out
    c.check_number(fname, "label_smoothing", label_smoothing, low=0, high=1, high_open=True)
    if type(axis) is not int:
        input, target, where, class_weight, axis = _class_axes(
            fname, input, target, axis, where, class_weight
        )
    native = from_logits and where is None and class_weight is None and not label_smoothing
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname, input, target, axis, ignore_index, mask, weight, reduction, "input",
        one_hot=False, fill=not native,
    )  # fmt: skip
    if idx is not None:
        if native:
            # masked, weighted or ignore_index: the native kernel, unreduced; it keeps
            # the unfilled input's rows outside ``valid`` out and gives them 0, so no
            # second ``where``
            nll = be.cross_entropy_native(x, idx, ax, "none", valid=valid)
            if nll is not None:
                return c.reduce(be, nll, reduction, weight=weight, valid=valid, at_fill="zero")
            x = c.sanitize_along(xp, valid, x, idx.shape, ax)  # declined: the definition
        y = _one_hot_target(be, idx, C, ax, x.dtype, valid)
    keep = None if where is None else _class_keep(be, xp, where, x, fname)
    logp = _log_probs(be, xp, x, ax, from_logits, fname, keep)
    share = label_smoothing / C
    lp = logp
    if keep is not None:
        y = xp.where(keep, y, 0.0)  # excluded classes take no part in the target
        lp = xp.where(keep, logp, 0.0)  # -inf there
        if label_smoothing:
            n = xp.sum(xp.astype(keep, x.dtype), axis=ax, keepdims=True)
            share = xp.where(keep, label_smoothing / xp.where(n > 0, n, 1.0), 0.0)
    cw = _class_vector(be, class_weight, cshape, x.dtype, fname, "class_weight", C)
    ty = y if cw is None else y * cw
    nll = -xp.sum(ty * _on_target(xp, ty, logp), axis=ax)
    denom = None
    if idx is not None:
        if label_smoothing:
            # the uniform part: every class with weight w_c (a zero weight drops it)
            # scaled by s / C before the sum: the terms, and the sum, fit the dtype
            # wherever the smoothed loss does (w_c log p_c alone may not)
            sw = share if cw is None else share * cw
            smooth = xp.sum(sw * (lp if cw is None else _on_target(xp, cw, lp)), axis=ax)
            nll = (1.0 - label_smoothing) * nll - smooth
        if cw is not None and reduction == "mean":
            # PyTorch divides by the summed weights of the valid targets; a
            # per-sample ``weight`` multiplies the loss only (as BCE's weight).
            denom = xp.sum(c.sanitize(xp, valid, xp.sum(ty, axis=ax)))
    elif label_smoothing:
        ys = (1.0 - label_smoothing) * y + share
        tys = ys if cw is None else ys * cw
        nll = -xp.sum(tys * _on_target(xp, tys, logp), axis=ax)
    return c.reduce(be, nll, reduction, weight=weight, valid=valid, denom=denom)
