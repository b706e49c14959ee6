"""Focal losses: the binary (sigmoid) and the multi-class (softmax) forms.

Re-exported by :mod:`corelosses.classification` (and the top level); kept
apart only to keep each module short.
"""

from __future__ import annotations

from typing import Any

from . import _core as c
from ._class_common import _class_setup, _class_vector, _on_target, _safe_log
from ._registry import register

Array = Any

__all__ = ["focal_loss", "softmax_focal_loss"]


# ------------------------------------------------------------------ examples
def _ex_focal(rng):
    x = rng.normal(size=(6, 5)) * 3
    y = (rng.uniform(size=(6, 5)) > 0.7).astype("float64")
    return (x, y), {"alpha": 0.25, "gamma": 2.0}


def _ex_softmax_focal(rng):
    x = rng.normal(size=(3, 4, 6)) * 2
    y = rng.integers(0, 4, size=(3, 6))
    return (x, y), {"axis": 1, "gamma": 1.5, "alpha": rng.uniform(0.2, 1.0, size=(4,))}


# ------------------------------------------------------------------- helpers
def _modulating(xp: Any, u: Array, gamma: float) -> Array:
    """``u ** gamma`` for ``u`` in [0, 1] with a finite gradient at ``u = 0``."""
    if gamma == 0:
        return xp.ones_like(u)
    if float(gamma).is_integer():
        g = int(gamma)
        return u if g == 1 else u**g
    pos = u > 0
    return xp.where(pos, xp.exp(gamma * xp.log(xp.where(pos, u, 1.0))), 0.0)


def _along(be, vec, x, ax, fname, argname):
    """A 1-D per-class array laid along axis ``ax`` of ``x`` (in ``x``'s dtype)."""
    C = x.shape[ax]
    if tuple(vec.shape) != (C,):
        raise ValueError(
            f"{fname}: '{argname}' must have shape ({C},) (one per class along "
            f"class_axis={ax}), got {tuple(vec.shape)}"
        )
    shape = [1] * x.ndim
    shape[ax] = C
    return be.xp.reshape(c.cast_to(be, vec, x.dtype), tuple(shape))


# ------------------------------------------------------------------- losses
@register(
    "classification",
    "Lin et al. 2017, Focal Loss for Dense Object Detection; torchvision.ops.sigmoid_focal_loss",
    peers=(
        "torchvision.ops.sigmoid_focal_loss",
        "optax.sigmoid_focal_loss",
        "monai.losses.FocalLoss",
    ),
    example=_ex_focal,
)
def focal_loss(
    input: Array,
    target: Array,
    /,
    *,
    alpha: float | Array | None = 0.25,
    gamma: float = 2.0,
    pos_weight: Array | None = None,
    class_axis: int = -1,
    from_logits: bool = True,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Binary (sigmoid) focal loss, torchvision's formula and alpha convention.

    .. math::
        \ell = \alpha_t\, (1 - p_t)^\gamma\, \big(-w_+\, y \log p - (1 - y) \log(1 - p)\big),
        \quad p_t = p y + (1 - p)(1 - y), \quad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    with ``p = sigmoid(x)`` (or ``x`` itself when ``from_logits=False``) and
    ``w_+ = pos_weight`` (1 when None): the positive log term of the binary
    cross entropy is multiplied by ``pos_weight`` as in
    :func:`torch.nn.functional.binary_cross_entropy_with_logits`, and the
    whole is alpha-weighted and focal-modulated. ``alpha=None`` switches the
    class balancing off; ``gamma`` must be finite and targets lie in [0, 1]
    (checked as in :func:`binary_cross_entropy`). For non-integer ``gamma``
    the modulating factor is ``exp(gamma log(1 - p_t))`` behind a
    double-``where``, so ``1 - p_t = 0`` gives a zero, finite gradient.

    Parameters
    ----------
    input : array
        Logits (probabilities with ``from_logits=False``), any shape.
    target : array
        Targets in [0, 1], input's shape.
    alpha : float or array, optional
        In [0, 1]: a scalar (torchvision), or one value per class, of shape
        ``(C,)`` with ``C = input.shape[class_axis]``, laid along
        ``class_axis`` (each class a binary problem of its own: the formula
        above with ``alpha_c``, so ``alpha=[a] * C`` equals ``alpha=a``).
    gamma : float
        The focusing exponent, finite, ``>= 0``.
    pos_weight : array, optional
        Weight of the positive term, broadcast against ``input`` (torch's
        rule: a ``(C,)`` array weighs the last axis); with a ``class_axis``
        other than the last, a 1-D ``pos_weight`` of length ``C`` is laid along
        ``class_axis`` like ``alpha``. It may require a gradient.
    class_axis : int
        The axis a per-class ``alpha`` (and a 1-D ``pos_weight``) lies along:
        ``-1`` for ``(N, C)`` multi-label logits, ``1`` for MONAI's and
        PyTorch's channel-first ``(N, C, H, W)``.
    from_logits : bool
        Whether ``input`` holds logits.
    weight, mask, reduction
        As for every loss (elementwise weight, boolean mask).

    Notes
    -----
    MONAI's ``FocalLoss(alpha=[a_0, ..., a_{C-1}])`` (sigmoid) weighs the
    positives of class ``c`` by ``a_c`` and leaves the negatives at 1, unlike
    its own scalar ``alpha`` (``alpha_t`` above); for 0/1 targets that is
    ``focal_loss(x, y, alpha=None, pos_weight=a, class_axis=1)``. MONAI's
    ``"mean"`` is ours; its scalar ``alpha`` is ours.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([3.0, -2.0]); y = np.array([1.0, 1.0])
    >>> round(float(cl.focal_loss(x, y, reduction="sum")), 6)
    0.412547
    >>> x2 = np.array([[3.0, -2.0], [0.5, 1.0]]); y2 = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(cl.focal_loss(x2, y2, alpha=np.array([0.25, 0.75]),
    ...                           pos_weight=np.array([2.0, 1.0]))), 6)
    0.075139
    """
    fname = "focal_loss"
    c.check_number(fname, "gamma", gamma, low=0, finite=True)
    per_class_alpha = alpha is not None and not isinstance(alpha, (int, float))
    if not per_class_alpha:
        c.check_number(fname, "alpha", alpha, low=0, high=1, allow_none=True)
    be, xp, x, y, weight, valid = c.pair_setup(
        fname, input, target, weight=weight, mask=mask, reduction=reduction
    )
    c.check_unit_interval(be, y, fname, "target")
    ax = None
    if per_class_alpha or pos_weight is not None:
        ax = c.normalize_axis(fname, "class_axis", class_axis, x.ndim)
    if pos_weight is not None:
        if ax != x.ndim - 1 and pos_weight.ndim == 1 and pos_weight.shape[0] == x.shape[ax]:
            pos_weight = _along(be, pos_weight, x, ax, fname, "pos_weight")
        else:
            c.check_broadcastable(fname, "pos_weight", pos_weight, x.shape)
            pos_weight = c.cast_to(be, pos_weight, x.dtype)
        # a NaN weight under the mask must reach neither value nor gradient
        pos_weight = c.sanitize(xp, valid, pos_weight, 1.0)
    if from_logits:
        ce = be.bce_with_logits(x, y, pos_weight)
        # sigmoid of the logit clipped where it saturates (1 from 40 on, 0 below -745 in
        # float64, sooner in float32): the same p, and no 0 * inf in the backward pass,
        # where ce past float32's max / 2 (|x| > 1.7e38) times (1 - p_t)'s slope
        # overflows before meeting the sigmoid's zero slope
        p = be.sigmoid_clipped(x, -745.0, 40.0)
    else:
        c.check_unit_interval(be, x, fname)
        pos = y * _safe_log(xp, x)
        if pos_weight is not None:
            pos = pos_weight * pos
        ce = -(pos + (1.0 - y) * _safe_log(xp, 1.0 - x))
        p = x
    one_m_pt = p + y - 2.0 * p * y  # = p (1 - y) + (1 - p) y
    loss = ce * _modulating(xp, one_m_pt, gamma)
    if per_class_alpha:
        a = _along(be, alpha, x, ax, fname, "alpha")
        if be.concrete(a):
            lo, hi = be.value_range(a)
            if float(lo) < 0 or float(hi) > 1:
                raise ValueError(f"{fname}: 'alpha' must hold values in [0, 1]")
        loss = (a * y + (1.0 - a) * (1.0 - y)) * loss
    elif alpha is not None:
        # alpha y + (1 - alpha)(1 - y), in two operations (exact for y in {0, 1})
        loss = ((1.0 - alpha) + (2.0 * alpha - 1.0) * y) * loss
    # finite at the fill (x = y = 0): a weight zeroed outside ``valid`` zeroes it there
    return c.reduce(be, loss, reduction, weight=weight, valid=valid, at_fill="finite")


@register(
    "classification",
    "Lin et al. 2017 (softmax form, as in their multi-class experiments); kornia.losses.focal_loss",
    peers=(
        "torch.nn.functional.cross_entropy (gamma=0)",
        "kornia.losses.focal_loss",
        "keras.losses.CategoricalFocalCrossentropy",
        "monai.losses.FocalLoss(use_softmax=True)",
    ),
    example=_ex_softmax_focal,
)
def softmax_focal_loss(
    input: Array,
    target: Array,
    /,
    *,
    gamma: float = 2.0,
    alpha: float | Array | None = None,
    axis: int = -1,
    from_logits: bool = True,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multi-class focal loss on a softmax (not one-vs-rest sigmoids).

    .. math::
        \ell = -\sum_c \alpha_c\, \tilde y_c\, (1 - p_c)^\gamma \log p_c,
        \quad \tilde y = (1 - s)\, y + s / C

    with ``p = softmax(input, axis)``; ``y`` is the one-hot encoding of class
    indices or a probability target, smoothed over the ``C`` classes by
    ``s = label_smoothing`` in [0, 1) as Keras's ``CategoricalFocalCrossentropy``
    (Keras also accepts ``s = 1``, a uniform target that ignores the labels;
    here, as in :func:`cross_entropy`, that is an error).
    ``alpha`` is None (no weighting), a scalar applied to every class, or
    one weight per class. ``gamma = 0`` with ``alpha=None`` is exactly
    :func:`cross_entropy`. ``"mean"`` divides by the number of valid samples.

    Keras's ``CategoricalFocalCrossentropy(alpha=a, gamma=g,
    label_smoothing=s, from_logits=True)`` is this loss with the same options
    (Keras's default ``alpha`` is 0.25, ours None) up to its clip of ``p`` to
    ``[1e-7, 1 - 1e-7]``; MONAI's ``FocalLoss(use_softmax=True, alpha=[...])``
    is ``C`` times the ``"mean"`` here for ``axis=1`` (it averages over the
    classes too; its scalar ``alpha`` weighs class 0 by ``1 - alpha``).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([[2.0, 0.0, -1.0]])
    >>> round(float(cl.softmax_focal_loss(x, np.array([0]), gamma=2.0)), 6)
    0.004144
    >>> round(float(cl.softmax_focal_loss(x, np.array([0]), label_smoothing=0.3)), 6)
    0.464483
    """
    fname = "softmax_focal_loss"
    c.check_number(fname, "gamma", gamma, low=0, finite=True)
    c.check_number(fname, "label_smoothing", label_smoothing, low=0, high=1, high_open=True)
    be, xp, x, logp, y, idx, valid, weight, ax, cshape, C = _class_setup(
        fname, input, target, axis, from_logits, ignore_index, mask, reduction, weight
    )
    if label_smoothing:
        y = (1.0 - label_smoothing) * y + label_smoothing / C
    # log p clipped where exp underflows to 0 anyway: the same p, and for a target
    # class at log p = -inf (a logit gap past the float max: loss +inf) no
    # inf * 0 = NaN in the backward pass through (1 - p) ** gamma
    p = xp.exp(be.clip_scalar(logp, -745.0, 0.0))
    term = _modulating(xp, 1.0 - p, gamma) * _on_target(xp, y, logp)
    if alpha is not None:
        if isinstance(alpha, (int, float)):
            c.check_number(fname, "alpha", alpha, low=0, finite=True)
            term = alpha * term
        else:
            term = term * _class_vector(be, alpha, cshape, x.dtype, fname, "alpha", C)
    loss = -xp.sum(y * term, axis=ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)
