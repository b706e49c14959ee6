"""Margin losses for classification: hinge, perceptron, soft margin.

- :func:`hinge_loss`, :func:`squared_hinge_loss`: ``max(0, 1 - y x)`` (and its
  square) for labels in ``{-1, 1}`` (``{0, 1}`` accepted as Keras does;
  optax ``hinge_loss``, Keras ``Hinge`` / ``SquaredHinge``);
- :func:`perceptron_loss`: ``max(0, -y x)`` (optax ``perceptron_loss``);
- :func:`soft_margin_loss`: ``log(1 + exp(-y x))`` (``F.soft_margin_loss``);
- :func:`multiclass_hinge_loss`: Crammer-Singer (optax
  ``multiclass_hinge_loss``, Keras ``CategoricalHinge``) or Weston-Watkins
  (``F.multi_margin_loss``) on class indices;
- :func:`multiclass_perceptron_loss`: ``max_j x_j - x_y`` (optax);
- :func:`multilabel_soft_margin_loss` and :func:`multilabel_margin_loss`:
  ``F.multilabel_soft_margin_loss`` (class weights) and
  ``F.multilabel_margin_loss`` (-1-padded class-index lists).

Kinks use ``where(m > 0, m, 0)``: the gradient at ``m = 0`` exactly is 0
(PyTorch's ``relu`` convention).
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._class_common import _class_prologue
from ._registry import register
from .classification import _class_vector

Array = Any

__all__ = [
    "hinge_loss",
    "squared_hinge_loss",
    "perceptron_loss",
    "soft_margin_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multilabel_soft_margin_loss",  # defined in corelosses.multilabel
    "multilabel_margin_loss",
]

KINDS = ("crammer_singer", "weston_watkins")


# ------------------------------------------------------------------ helpers
def _relu(xp: Any, m: Array) -> Array:
    return xp.where(m > 0, m, 0.0)


def _signs(be: Any, xp: Any, t: Array, fname: str) -> Array:
    """Labels in ``{-1, 1}`` with 0 read as -1 (Keras' ``{0, 1}`` labels).

    Checked where it costs no trace (NaN passes, as in every value check).
    """
    if be.concrete(t) and math.prod(t.shape) > 0:
        ok = (t == 1.0) | (t == -1.0) | (t == 0.0) | (t != t)
        lo, _ = be.value_range(xp.astype(ok, t.dtype))
        if float(lo) < 1:
            raise ValueError(f"{fname}: 'target' must hold labels in {{-1, 1}} (or {{0, 1}})")
    return xp.where(t == 0.0, -1.0, t)


def _binary(fname, input, target, weight, mask, reduction):
    be, xp, x, t, w, valid = c.pair_setup(
        fname, input, target, weight=weight, mask=mask, reduction=reduction
    )
    return be, xp, x, _signs(be, xp, t, fname), w, valid


def _row_max(xp: Any, v: Array, ax: int) -> Array:
    if math.prod(v.shape) == 0:  # dask's max fails on zero-size arrays
        return xp.sum(v, axis=ax)
    return xp.max(v, axis=ax)


def _check_p(fname: str, p: Any) -> None:
    if isinstance(p, bool) or not isinstance(p, int):
        raise TypeError(f"{fname}: 'p' must be the int 1 or 2, got {type(p).__name__} {p!r}")
    c.check_choice(fname, "p", p, (1, 2))


def _indices_prologue(fname, input, target, axis, weight, mask, reduction):
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname, input, target, axis, None, mask, weight, reduction, "input"
    )
    if idx is None:
        raise ValueError(
            f"{fname}: 'target' must hold integer class indices (the input's shape "
            f"without axis {ax}), got a float array of the input's shape"
        )
    return be, xp, x, y, valid, weight, ax, cshape, C


# ------------------------------------------------------------------ examples
def _ex_binary(rng):
    import numpy as np

    x = rng.normal(size=(6, 4)) * 1.5
    x = np.where(np.abs(np.abs(x) - 1.0) < 0.1, x + 0.3, x)  # away from y x = 1
    x = np.where(np.abs(x) < 0.1, x + 0.3, x)  # and from y x = 0
    y = np.where(rng.uniform(size=(6, 4)) < 0.5, -1.0, 1.0)
    return (x, y), {}


def _ex_multiclass(rng):
    import numpy as np

    x = np.round(rng.normal(size=(8, 5)) * 2, 1) + rng.uniform(0.0, 0.02, size=(8, 5))
    x += np.arange(5) * 0.003  # no ties
    y = rng.integers(0, 5, size=(8,))
    return (x, y), {}


def _ex_ww(rng):
    (x, y), _ = _ex_multiclass(rng)
    return (x, y), {"kind": "weston_watkins", "p": 2, "class_weight": rng.uniform(0.5, 2, (5,))}


# ------------------------------------------------------------------- losses
@register(
    "classification",
    "hinge loss (SVM); optax.losses.hinge_loss, Keras Hinge",
    peers=("optax.losses.hinge_loss", "keras.losses.Hinge"),
    example=_ex_binary,
)
def hinge_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Hinge loss of scores against labels in ``{-1, 1}``.

    .. math::
        \ell = \max(0,\ 1 - y x)

    A target of 0 counts as -1, so ``{0, 1}`` labels work as in Keras
    (which converts them when all labels are 0 or 1). ``optax.losses.hinge_loss(x, y)``
    is ``hinge_loss(x, y, reduction="none")``. Keras ``Hinge()(y, x)`` averages
    over the last axis and then the batch, which for equal-length rows is the
    mean over all elements: ``hinge_loss(x, y)``.

    Parameters
    ----------
    input : array
        Scores (real floating).
    target : array
        Labels in ``{-1, 1}`` or ``{0, 1}``, the input's shape.
    weight, mask, reduction
        As for every loss.

    Returns
    -------
    array
        Scalar, or the elementwise loss for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.hinge_loss(np.array([0.5, -2.0, 3.0]), np.array([1, 1, 0])))
    2.5
    """
    fname = "hinge_loss"
    be, xp, x, y, w, valid = _binary(fname, input, target, weight, mask, reduction)
    return c.reduce(be, _relu(xp, 1.0 - y * x), reduction, weight=w, valid=valid)


@register(
    "classification",
    "squared hinge loss (L2-SVM); Keras SquaredHinge",
    peers=("keras.losses.SquaredHinge",),
    example=_ex_binary,
)
def squared_hinge_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Squared hinge loss of scores against labels in ``{-1, 1}``.

    .. math::
        \ell = \max(0,\ 1 - y x)^2

    A target of 0 counts as -1 (Keras' ``{0, 1}`` labels). Keras
    ``SquaredHinge()(y, x)`` (mean over the last axis, then the batch) is
    ``squared_hinge_loss(x, y)`` for equal-length rows. Peer:
    :func:`hinge_loss`.

    Parameters
    ----------
    input : array
        Scores (real floating).
    target : array
        Labels in ``{-1, 1}`` or ``{0, 1}``, the input's shape.
    weight, mask, reduction
        As for every loss.

    Returns
    -------
    array
        Scalar, or the elementwise loss for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.squared_hinge_loss(np.array([0.5, -2.0, 3.0]), np.array([1, 1, -1])))
    8.416666666666666
    """
    fname = "squared_hinge_loss"
    be, xp, x, y, w, valid = _binary(fname, input, target, weight, mask, reduction)
    h = _relu(xp, 1.0 - y * x)
    return c.reduce(be, h * h, reduction, weight=w, valid=valid)


@register(
    "classification",
    "perceptron criterion (Rosenblatt); optax.losses.perceptron_loss",
    peers=("optax.losses.perceptron_loss",),
    example=_ex_binary,
)
def perceptron_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Perceptron loss of scores against labels in ``{-1, 1}``.

    .. math::
        \ell = \max(0,\ -y x)

    A target of 0 counts as -1. ``optax.losses.perceptron_loss(x, y)`` is
    ``perceptron_loss(x, y, reduction="none")``; :func:`hinge_loss` adds a
    margin of 1.

    Parameters
    ----------
    input : array
        Scores (real floating).
    target : array
        Labels in ``{-1, 1}`` or ``{0, 1}``, the input's shape.
    weight, mask, reduction
        As for every loss.

    Returns
    -------
    array
        Scalar, or the elementwise loss for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.perceptron_loss(np.array([0.5, -2.0, 3.0]), np.array([1, 1, -1]), reduction="sum"))
    5.0
    """
    fname = "perceptron_loss"
    be, xp, x, y, w, valid = _binary(fname, input, target, weight, mask, reduction)
    return c.reduce(be, _relu(xp, -(y * x)), reduction, weight=w, valid=valid)


@register(
    "classification",
    "torch.nn.functional.soft_margin_loss",
    peers=("torch.nn.functional.soft_margin_loss",),
    example=_ex_binary,
)
def soft_margin_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Soft margin (logistic) loss of scores against labels in ``{-1, 1}``.

    .. math::
        \ell = \log(1 + e^{-y x})

    computed as ``softplus(-y x)`` (finite for any finite score). A target of 0
    counts as -1. ``F.soft_margin_loss(x, y)`` is ``soft_margin_loss(x, y)``
    (mean over all elements); the smooth counterpart of :func:`hinge_loss`.

    Parameters
    ----------
    input : array
        Scores (real floating).
    target : array
        Labels in ``{-1, 1}`` or ``{0, 1}``, the input's shape.
    weight, mask, reduction
        As for every loss.

    Returns
    -------
    array
        Scalar, or the elementwise loss for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> round(float(cl.soft_margin_loss(np.array([0.0, 2.0]), np.array([1, -1]))), 6)
    1.410038
    """
    fname = "soft_margin_loss"
    be, xp, x, y, w, valid = _binary(fname, input, target, weight, mask, reduction)
    return c.reduce(be, be.softplus(-(y * x)), reduction, weight=w, valid=valid)


@register(
    "classification",
    "Crammer & Singer 2001 (optax.losses.multiclass_hinge_loss); "
    "Weston & Watkins 1999 (torch.nn.functional.multi_margin_loss)",
    peers=(
        "optax.losses.multiclass_hinge_loss",
        "torch.nn.functional.multi_margin_loss",
        "keras.losses.CategoricalHinge",
    ),
    example=_ex_ww,
)
def multiclass_hinge_loss(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    kind: str = "crammer_singer",
    margin: float = 1.0,
    p: int = 1,
    class_weight: Array | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multiclass hinge loss of scores against class indices.

    With scores ``x`` over ``C`` classes, target class ``y``, margin ``m``
    and class weights ``w`` (default 1):

    - ``kind="crammer_singer"`` (Crammer & Singer 2001):

      .. math::
          \ell = w_y \max\big(0,\ m + \max_{j \ne y} x_j - x_y\big)^p

    - ``kind="weston_watkins"`` (Weston & Watkins 1999):

      .. math::
          \ell = \frac{w_y}{C} \sum_{j \ne y} \max(0,\ m - x_y + x_j)^p

    Peers: ``optax.losses.multiclass_hinge_loss(x, y)`` (which computes
    ``max_j (x_j + 1 - [j = y]) - x_y``, the same function) is
    ``multiclass_hinge_loss(x, y, reduction="none")``.
    ``F.multi_margin_loss(x, y, p=p, margin=m, weight=w)`` is
    ``multiclass_hinge_loss(x, y, kind="weston_watkins", p=p, margin=m,
    class_weight=w, axis=1)`` (``"mean"`` divides by the number of samples,
    as PyTorch does). Keras ``CategoricalHinge()(one_hot(y), x)`` computes
    ``max(0, 1 + max(0, max_{j != y} x_j) - x_y)``: it is
    ``multiclass_hinge_loss(x, y)`` wherever some off-target score is
    non-negative (always for probabilities or other non-negative scores,
    which Keras expects).

    Parameters
    ----------
    input : array
        Scores (real floating), classes on ``axis``.
    target : array
        Integer class indices (the input's shape without ``axis``).
    axis : int
        The class axis.
    kind : {"crammer_singer", "weston_watkins"}
        Largest violation, or the mean of all violations.
    margin : float
        The margin ``m`` (finite).
    p : {1, 2}
        Power of each violation.
    class_weight : array, optional
        One weight per class, ``w_y`` multiplies a sample's loss.
    weight, mask, reduction
        As for every loss (per sample).

    Returns
    -------
    array
        Scalar, or one loss per sample for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([[2.0, 1.5, -1.0]])
    >>> float(cl.multiclass_hinge_loss(x, np.array([0])))
    0.5
    >>> round(float(cl.multiclass_hinge_loss(x, np.array([0]), kind="weston_watkins")), 6)
    0.166667
    """
    fname = "multiclass_hinge_loss"
    c.check_choice(fname, "kind", kind, KINDS)
    c.check_number(fname, "margin", margin, finite=True)
    _check_p(fname, p)
    if kind == "weston_watkins" and weight is None and mask is None:
        c.check_reduction(fname, reduction)
        out = c.backend_of(input, target).multi_margin_native(
            input, target, axis, p, margin, class_weight, reduction
        )
        if out is not None:  # the plain case in one native kernel (same function)
            return out
    be, xp, x, y, valid, weight, ax, cshape, C = _indices_prologue(
        fname, input, target, axis, weight, mask, reduction
    )
    on = y != 0
    xy = xp.sum(xp.where(on, x, 0.0), axis=ax, keepdims=True)
    if kind == "crammer_singer":
        h = _relu(
            xp, _row_max(xp, xp.where(on, -math.inf, x), ax) + (margin - xp.squeeze(xy, axis=ax))
        )
        loss = h * h if p == 2 else h
    else:
        if p == 1:  # each term divided first: no overflow where the mean fits
            h = xp.where(on, 0.0, _relu(xp, (margin - xy) / C + x / C))
            loss = xp.sum(h, axis=ax)
        else:
            h = xp.where(on, 0.0, _relu(xp, (margin - xy) + x))
            loss = xp.sum(h * h, axis=ax) / C
    loss = loss * xp.sum(y, axis=ax)  # NaN for an unchecked bad index under jit (nll_loss's rule)
    cw = _class_vector(be, class_weight, cshape, x.dtype, fname, "class_weight", C)
    if cw is not None:
        loss = loss * xp.sum(xp.where(on, cw, 0.0), axis=ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "classification",
    "multiclass perceptron (Collins 2002); optax.losses.multiclass_perceptron_loss",
    peers=("optax.losses.multiclass_perceptron_loss",),
    example=_ex_multiclass,
)
def multiclass_perceptron_loss(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multiclass perceptron loss of scores against class indices.

    .. math::
        \ell = \max_j x_j - x_y

    ``optax.losses.multiclass_perceptron_loss(x, y)`` is
    ``multiclass_perceptron_loss(x, y, reduction="none")``;
    :func:`multiclass_hinge_loss` adds a margin.

    Parameters
    ----------
    input : array
        Scores (real floating), classes on ``axis``.
    target : array
        Integer class indices (the input's shape without ``axis``).
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
    >>> float(cl.multiclass_perceptron_loss(np.array([[2.0, 1.5, -1.0]]), np.array([1])))
    0.5
    """
    fname = "multiclass_perceptron_loss"
    be, xp, x, y, valid, weight, ax, cshape, C = _indices_prologue(
        fname, input, target, axis, weight, mask, reduction
    )
    on = y != 0
    # max_j x_j - x_y as max_j (x_j - x_y): no inf - inf for scores of opposite signs
    xy = xp.sum(xp.where(on, x, 0.0), axis=ax, keepdims=True)
    loss = _relu(xp, _row_max(xp, xp.where(on, -math.inf, x - xy), ax))
    loss = loss * xp.sum(y, axis=ax)  # NaN for an unchecked bad index under jit
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


# The multilabel margins live in their own module (re-exported here).
from .multilabel import multilabel_margin_loss, multilabel_soft_margin_loss  # noqa: E402
