"""Multilabel margin losses: ``F.multilabel_soft_margin_loss`` and ``F.multilabel_margin_loss``.

Split from :mod:`corelosses.margin` (which re-exports them); same conventions.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._class_common import _class_vector, _pair_prologue
from ._registry import register
from .margin import _ex_multiclass, _relu

Array = Any

__all__ = ["multilabel_soft_margin_loss", "multilabel_margin_loss"]


def _ex_multilabel(rng):
    x = rng.normal(size=(6, 5)) * 2
    y = (rng.uniform(size=(6, 5)) < 0.4).astype(float)
    return (x, y), {"class_weight": rng.uniform(0.5, 2, (5,))}


def _ex_multilabel_margin(rng):
    import numpy as np

    (x, _), _ = _ex_multiclass(rng)
    y = np.full((8, 5), -1)
    for i in range(8):
        k = rng.integers(1, 4)
        y[i, :k] = rng.permutation(5)[:k]
    y[0, 3] = 2  # after the first -1: not a target
    # away from the kinks 1 - x_j + x_i = 0
    while True:
        d = 1.0 - x[:, :, None] + x[:, None, :]
        if np.abs(d).min() > 0.01:
            return (x, y), {}
        x = x + rng.uniform(0, 0.01, size=x.shape)


@register(
    "classification",
    "torch.nn.functional.multilabel_soft_margin_loss",
    peers=("torch.nn.functional.multilabel_soft_margin_loss",),
    example=_ex_multilabel,
)
def multilabel_soft_margin_loss(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    class_weight: Array | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multi-label soft margin loss: the class-mean of binary cross entropies.

    With logits ``x``, labels ``y`` in ``[0, 1]`` over ``C`` classes and
    class weights ``w`` (default 1):

    .. math::
        \ell = \frac{1}{C} \sum_c w_c \big(y_c\, \mathrm{softplus}(-x_c)
              + (1 - y_c)\, \mathrm{softplus}(x_c)\big)

    ``F.multilabel_soft_margin_loss(x, y, weight=w)`` is
    ``multilabel_soft_margin_loss(x, y, class_weight=w, axis=1)``; the
    per-class terms are :func:`corelosses.binary_cross_entropy` on logits.

    Parameters
    ----------
    input : array
        Logits, classes on ``axis``.
    target : array
        Labels (or probabilities) in ``[0, 1]``, the input's shape.
    axis : int
        The class axis.
    class_weight : array, optional
        One weight per class.
    weight, mask, reduction
        As for every loss (per sample).

    Returns
    -------
    array
        Scalar, or one loss per sample for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x, y = np.array([[0.0, 2.0]]), np.array([[1.0, 0.0]])
    >>> round(float(cl.multilabel_soft_margin_loss(x, y)), 6)
    1.410038
    """
    fname = "multilabel_soft_margin_loss"
    be, xp, x, t, weight, valid, ax = _pair_prologue(
        fname, input, target, axis, mask, weight, reduction
    )
    c.check_unit_interval(be, t, fname, "target")
    C = x.shape[ax]
    cshape = [1] * x.ndim
    cshape[ax] = C
    term = be.bce_with_logits(x, t) / C  # divided first: no overflow where the mean fits
    cw = _class_vector(be, class_weight, tuple(cshape), x.dtype, fname, "class_weight", C)
    if cw is not None:
        term = term * cw
    return c.reduce(be, xp.sum(term, axis=ax), reduction, weight=weight, valid=valid)


@register(
    "classification",
    "torch.nn.functional.multilabel_margin_loss",
    peers=("torch.nn.functional.multilabel_margin_loss",),
    example=_ex_multilabel_margin,
)
def multilabel_margin_loss(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multi-label hinge loss over (target, non-target) class pairs.

    ``target`` holds class indices padded with -1, the input's shape: the
    targets ``Y`` of a sample are its indices before the first -1. Over
    ``C`` classes:

    .. math::
        \ell = \frac{1}{C} \sum_{j \in Y} \sum_{i \notin Y} \max(0,\ 1 - x_j + x_i)

    ``F.multilabel_margin_loss(x, y)`` is ``multilabel_margin_loss(x, y,
    axis=1)`` (a sample without targets has loss 0). Indices are checked
    where it costs no trace; an unchecked index outside ``[0, C)`` (under
    ``jax.jit``) names no class. Peer: :func:`multiclass_hinge_loss`
    (``kind="weston_watkins"`` is the one-target case).

    Parameters
    ----------
    input : array
        Scores, classes on ``axis``.
    target : array
        Integer class indices padded with -1, the input's shape (a float
        array of integer values is accepted: Keras casts ``y_true`` to float).
    axis : int
        The class axis.
    weight, mask, reduction
        As for every loss (per sample).

    Returns
    -------
    array
        Scalar, or one loss per sample for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
    >>> round(float(cl.multilabel_margin_loss(x, np.array([[3, 0, -1, 1]]))), 6)
    0.85
    """
    fname = "multilabel_margin_loss"
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, target, mask, weight)
    xp = be.xp
    x = c.floating(be, input, fname)
    c.check_same_shape(fname, x, target)
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    C = c.class_count(fname, x, ax)
    if not xp.isdtype(target.dtype, ("integral", "real floating")):
        raise TypeError(f"{fname}: 'target' must hold class indices, got dtype {target.dtype}")
    if be.concrete(target) and math.prod(target.shape) > 0:
        lo, hi = be.value_range(target)
        if not (float(lo) >= -1 and float(hi) < C):  # NaN fails
            raise ValueError(f"{fname}: 'target' holds values outside [-1, {C})")
        if xp.isdtype(target.dtype, "real floating"):  # Keras casts y_true to float
            _, frac = be.value_range(xp.abs(target - xp.round(target)))
            if float(frac) != 0:
                raise ValueError(f"{fname}: 'target' must hold integer class indices")
    loss_shape = x.shape[:ax] + x.shape[ax + 1 :]
    valid, weight = c.mask_and_weight(be, mask, weight, loss_shape, x.dtype, fname)
    x = c.sanitize_along(xp, valid, x, loss_shape, ax)
    t = target
    if valid is not None:
        t = xp.where(xp.expand_dims(xp.broadcast_to(valid, loss_shape), axis=ax), t, -1)
    cshape = [1] * x.ndim
    cshape[ax] = C
    k = xp.reshape(be.arange(C, t, t.dtype), tuple(cshape))
    # positions before the first -1; is_target[c] = any position there holds c
    first = xp.min(xp.where(t < 0, k, C), axis=ax, keepdims=True) if math.prod(t.shape) else k
    prefix = xp.expand_dims(k < first, axis=ax + 1)
    classes = xp.expand_dims(k, axis=ax)  # classes on ax + 1
    hit = xp.logical_and(xp.expand_dims(t, axis=ax + 1) == classes, prefix)
    is_t = xp.any(hit, axis=ax)
    pair = xp.logical_and(  # j (target) on ax, i (non-target) on ax + 1
        xp.expand_dims(is_t, axis=ax + 1), xp.logical_not(xp.expand_dims(is_t, axis=ax))
    )
    xc = x / C  # each term divided first: no overflow where the mean fits
    h = _relu(xp, (1.0 / C - xp.expand_dims(xc, axis=ax + 1)) + xp.expand_dims(xc, axis=ax))
    loss = xp.sum(xp.sum(xp.where(pair, h, 0.0), axis=ax + 1), axis=ax)
    if be.nan_bad_indices and not be.concrete(t):  # unchecked (jax.jit): NaN, as nll_loss
        bad = xp.any((t < -1) | (t >= C), axis=ax)
        loss = xp.where(bad, math.nan, loss)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)
