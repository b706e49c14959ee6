"""Detection losses: IoU-family box regression and IoU-balanced losses.

Boxes are ``(x1, y1, x2, y2)`` on the last axis with ``x1 <= x2`` and
``y1 <= y2``; any leading shape is allowed and the unreduced loss has that
leading shape. Integer boxes are cast to the default floating dtype (as
torchvision does). Degenerate boxes (zero width or height, a point, two
identical boxes) give finite values and finite gradients.

The IoU-balanced losses (Wu, Wang and Lin 2019) reweigh an existing loss by
``iou ** eta`` and renormalise the weights over the call so the positives'
total loss is unchanged; the weights carry no gradient.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._registry import register
from .classification import binary_cross_entropy
from .regression import smooth_l1_loss

Array = Any

__all__ = ["box_iou_loss", "iou_balanced_bce", "iou_balanced_smooth_l1"]

BOX_MODES = ("iou", "giou", "diou", "ciou")
_FOUR_OVER_PI2 = 4.0 / (math.pi**2)


# ------------------------------------------------------------------ examples
def _boxes(rng, shape, low=0.0, high=10.0):
    import numpy as np

    xy = rng.uniform(low, high, size=(*shape, 2))
    wh = rng.uniform(0.5, 5.0, size=(*shape, 2))
    return np.concatenate([xy, xy + wh], axis=-1)


def _ex_box(rng):
    # Overlapping, disjoint and enclosing pairs; no ties between coordinates.
    pred = _boxes(rng, (3, 5))
    target = pred + rng.normal(scale=1.5, size=pred.shape)
    target[..., 2:] = target[..., :2] + rng.uniform(0.5, 5.0, size=(3, 5, 2))
    target[0, 0] = pred[0, 0] + [20.0, 20.0, 20.0, 20.0]  # disjoint
    target[0, 1] = pred[0, 1] + [-1.0, -1.5, 2.0, 2.5]  # encloses the prediction
    # not "ciou": its alpha carries no gradient, so finite differences disagree by design
    return (pred, target), {"mode": "diou", "weight": rng.uniform(0.5, 2.0, size=(5,))}


def _ex_bce(rng):
    x = rng.normal(size=(8, 3)) * 2
    y = (rng.uniform(size=(8, 3)) > 0.6).astype("float64")
    y[0, 0] = 1.0
    iou = rng.uniform(0.3, 0.95, size=(8, 1))
    return (x, y, iou), {"eta": 1.5, "weight": rng.uniform(0.5, 2.0, size=(3,))}


def _ex_smooth_l1(rng):
    x = rng.normal(size=(6, 4))
    y = rng.normal(size=(6, 4))
    iou = rng.uniform(0.3, 0.95, size=(6, 1))
    return (x, y, iou), {"lam": 1.5, "beta": 0.5}


# ------------------------------------------------------------------ helpers
def _box_float(be: c.Backend, b: Array, fname: str, argname: str) -> Array:
    """Boxes as floats: integers/bools to the default float dtype, half to float32."""
    xp = be.xp
    if xp.isdtype(b.dtype, ("integral", "bool")):
        dt = xp.__array_namespace_info__().default_dtypes()["real floating"]
        return xp.astype(b, dt)
    return c.floating(be, b, fname, argname)


def _check_boxes(be: c.Backend, b: Array, valid: Array | None, fname: str, argname: str) -> None:
    """``x2 >= x1`` and ``y2 >= y1`` on the unmasked boxes, where checkable."""
    if not be.concrete(b):
        return
    xp = be.xp
    bad = xp.logical_or(b[..., 2] < b[..., 0], b[..., 3] < b[..., 1])
    if valid is not None:
        bad = xp.logical_and(bad, valid)
    if bool(xp.any(bad)):
        raise ValueError(
            f"{fname}: '{argname}' holds boxes with x2 < x1 or y2 < y1; "
            "boxes must be (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2"
        )


def _safe_div(xp: Any, a: Array, b: Array) -> Array:
    """``a / b`` with 0 where ``b == 0`` (finite value and gradient)."""
    nz = b != 0
    return xp.where(nz, a / xp.where(nz, b, 1.0), 0.0)


def _aspect_angle(xp: Any, w: Array, h: Array) -> Array:
    """``atan(w / h)`` as ``atan2(w, h)``: pi/2 at ``h = 0``, 0 for a point box.

    The double ``where`` keeps the gradient finite at ``w = h = 0``.
    """
    point = xp.logical_and(w == 0, h == 0)
    return xp.where(point, 0.0, xp.atan2(xp.where(point, 0.0, w), xp.where(point, 1.0, h)))


def _iou_balance(be: c.Backend, base: Array, iou_pow: Array, pos: Array | None) -> Array:
    """Weights ``iou_pow * sum(base) / sum(iou_pow * base)`` over ``pos``, 1 elsewhere.

    Everything is detached. When the weighted sum is 0 (no positives, every
    positive with IoU 0 or zero loss) the positives keep weight 1, which still
    preserves their total; so do they when a loss overflows the dtype (an inf
    total, which no weight can preserve) or the factor ``total / weighted`` does.
    """
    xp = be.xp
    base = be.stop_gradient(base)
    iou_pow = be.stop_gradient(iou_pow)
    if pos is not None:  # else every entry is a positive
        base = xp.where(pos, base, 0.0)
    n = math.prod(base.shape)
    if n > 1:
        # Only the ratio of the two sums matters: scaled by 2**-ceil(log2 n) (exact)
        # a sum of n finite terms cannot overflow, where losses near the dtype's
        # max (inputs at -1e308) would make both sums inf, and inf / inf NaN.
        # (Not a division by the largest loss: XLA computes x / m as x * (1 / m),
        # and 1 / 1e308 is subnormal, flushed to 0 on CPU.)
        base = base * 2.0 ** -math.ceil(math.log2(n))
    total = xp.sum(base)
    ib = iou_pow * base
    weighted = xp.sum(ib if pos is None else xp.where(pos, ib, 0.0))  # only positives' IoUs
    # a loss past the dtype's max (inf, the documented overflow) makes the total inf:
    # no renormalisation then (weights 1), so the inf stays inf instead of inf / inf
    ok = xp.logical_and(weighted > 0, xp.isfinite(total))
    scale = total / xp.where(ok, weighted, 1.0)
    # likewise when the factor itself overflows (positives with tiny IoUs and losses
    # next to huge ones in float32): weights 1, not inf (and 0 * inf = NaN at IoU 0)
    ok = xp.logical_and(ok, xp.isfinite(scale))
    use = ok if pos is None else xp.logical_and(pos, ok)
    w = xp.where(use, iou_pow * scale, 1.0)
    return be.stop_gradient(w)


def _balanced_setup(
    fname, input, target, iou, power_name, power, weight, mask, reduction, input_name="input"
):
    """Shared prologue of the IoU-balanced losses."""
    c.check_number(fname, power_name, power, low=0)
    c.check_reduction(fname, reduction)
    c.backend_of(input, target, iou, weight, mask)  # mixed namespaces: TypeError
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        input_name=input_name,
    )
    c.check_broadcastable(fname, "iou", iou, x.shape)
    iou = xp.broadcast_to(c.cast_to(be, iou, x.dtype), x.shape)
    iou = c.sanitize(xp, valid, iou)
    if be.concrete(iou) and bool(xp.any(xp.logical_or(iou < 0, iou > 1))):
        raise ValueError(f"{fname}: 'iou' must hold IoUs in [0, 1] (on the unmasked entries)")
    iou_pow = be.stop_gradient(iou) ** power
    return be, xp, x, y, w, valid, iou_pow


# ------------------------------------------------------------------- losses
@register(
    "detection",
    "Rezatofighi et al. 2019 (GIoU); Zheng et al. 2020 (DIoU, CIoU); torchvision.ops",
    peers=(
        "torchvision.ops.generalized_box_iou_loss",
        "torchvision.ops.distance_box_iou_loss",
        "torchvision.ops.complete_box_iou_loss",
    ),
    example=_ex_box,
    grad_argnums=(0,),
)
def box_iou_loss(
    pred: Array,
    target: Array,
    /,
    *,
    mode: str = "iou",
    eps: float = 1e-7,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""IoU-family loss between two sets of ``(x1, y1, x2, y2)`` boxes.

    With intersection :math:`I`, union :math:`U` (areas of both minus
    :math:`I`), smallest enclosing box :math:`C` (area :math:`|C|`, squared
    diagonal :math:`c^2`), squared distance of the centres :math:`\rho^2`,
    and :math:`\mathrm{IoU} = I / (U + \epsilon)`:

    .. math::
        \ell_\mathrm{iou} &= 1 - \mathrm{IoU} \\
        \ell_\mathrm{giou} &= 1 - \mathrm{IoU} + \frac{|C| - U}{|C| + \epsilon} \\
        \ell_\mathrm{diou} &= 1 - \mathrm{IoU} + \frac{\rho^2}{c^2 + \epsilon} \\
        \ell_\mathrm{ciou} &= \ell_\mathrm{diou} + \alpha v, \quad
        v = \frac{4}{\pi^2}\Big(\arctan\frac{w_t}{h_t} - \arctan\frac{w_p}{h_p}\Big)^2,
        \quad \alpha = \frac{v}{1 - \mathrm{IoU} + v + \epsilon}

    exactly as :func:`torchvision.ops.generalized_box_iou_loss`,
    :func:`~torchvision.ops.distance_box_iou_loss` and
    :func:`~torchvision.ops.complete_box_iou_loss` compute them (the same
    ``eps`` placement; :math:`\alpha` carries no gradient, as under
    torchvision's ``no_grad``). One difference: torchvision's CIoU uses its
    default ``eps=1e-7`` inside the DIoU part whatever ``eps`` is passed;
    here ``eps`` is used throughout, so the two agree at the default ``eps``.

    The intersection is 0 (with zero gradient) for disjoint boxes, and
    ``arctan(w / h)`` is computed as ``atan2(w, h)`` (``pi / 2`` for a
    zero-height box, 0 for a point box), so degenerate boxes give finite
    values and gradients.

    Parameters
    ----------
    pred, target : array
        Boxes of the same shape ``(..., 4)`` in ``xyxy`` format. Integer
        boxes are cast to the default floating dtype; a ``target`` of another
        dtype is cast to the prediction's.
    mode : {"iou", "giou", "diou", "ciou"}
        IoU (Yu et al. 2016), generalized IoU (Rezatofighi et al. 2019),
        distance or complete IoU (Zheng et al. 2020).
    eps : float
        Positive constant guarding the divisions (torchvision's default).
        A value below ``sqrt(finfo(dtype).smallest_normal)`` of the compute
        dtype (``2**-63``, about 1.1e-19, in float32; ``2**-511``, about
        1.5e-154, in float64) is raised to it, so that ``eps`` and ``eps**2``
        are normal numbers and every backend gives the same finite value and
        gradient: XLA on CPU (jax) flushes subnormal numbers to zero, which
        makes zero-area boxes ``0 / 0 = NaN``, and jax's gradient of a
        division squares the denominator. The difference shows only where
        the union of two boxes is itself that small.
    weight : array, optional
        Weights broadcastable to the leading shape ``pred.shape[:-1]``.
    mask : array, optional
        Boolean or 0/1, broadcastable to the leading shape; masked boxes
        give exactly zero value and gradient, even where they hold NaN.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per box pair (shape ``pred.shape[:-1]``).

    Returns
    -------
    array
        Scalar, or the per-box loss for ``reduction="none"``.

    Raises
    ------
    ValueError
        If the last axis is not 4, the shapes differ, ``mode`` is unknown,
        or (where values can be read without a sync or a trace) an unmasked
        box has ``x2 < x1`` or ``y2 < y1``.

    References
    ----------
    Rezatofighi et al., "Generalized Intersection over Union", CVPR 2019.
    Zheng et al., "Distance-IoU Loss", AAAI 2020.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    >>> t = np.array([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 4.0, 1.0]])
    >>> np.round(cl.box_iou_loss(p, t, mode="giou", reduction="none"), 6)
    array([1.079365, 1.25    ])
    >>> round(float(cl.box_iou_loss(p, t, mode="ciou")), 6)
    1.168795
    """
    fname = "box_iou_loss"
    c.check_choice(fname, "mode", mode, BOX_MODES)
    c.check_number(fname, "eps", eps, low=0, low_open=True)
    c.check_reduction(fname, reduction)
    be = c.backend_of(pred, target, weight, mask)
    xp = be.xp
    for name, b in (("pred", pred), ("target", target)):
        if b.ndim < 1 or b.shape[-1] != 4:
            raise ValueError(
                f"{fname}: '{name}' must hold boxes (x1, y1, x2, y2) on its last axis, "
                f"shape (..., 4), got {tuple(b.shape)}"
            )
    p = _box_float(be, pred, fname, "pred")
    c.check_same_shape(fname, p, target, "target")
    if not xp.isdtype(target.dtype, ("integral", "bool", "real floating")):
        raise TypeError(f"{fname}: 'target' must be a real array, got dtype {target.dtype}")
    t = c.cast_to(be, target, p.dtype)
    shape = tuple(p.shape[:-1])
    valid, weight = c.mask_and_weight(be, mask, weight, shape, p.dtype, fname)
    _check_boxes(be, p, valid, fname, "pred")
    _check_boxes(be, t, valid, fname, "target")
    if valid is not None:  # first where: masked boxes become safe (zero) boxes
        vb = xp.expand_dims(xp.broadcast_to(valid, shape), axis=-1)
        p = xp.where(vb, p, 0.0)
        t = xp.where(vb, t, 0.0)

    # eps is raised to sqrt(smallest normal) (2**-63 in float32, 2**-511 in
    # float64), so that eps and eps**2 are normal numbers: XLA on CPU flushes
    # subnormals to zero, which makes zero-area boxes 0 / (0 + 0) = NaN, and
    # jax's gradient of a / b is -a * b**-2 (0 * inf = NaN where eps**2 flushes).
    eps = max(eps, math.sqrt(float(xp.finfo(p.dtype).smallest_normal)))

    x1, y1, x2, y2 = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    x1g, y1g, x2g, y2g = t[..., 0], t[..., 1], t[..., 2], t[..., 3]
    wp, hp = x2 - x1, y2 - y1
    wt, ht = x2g - x1g, y2g - y1g

    # intersection (0 with zero gradient where the boxes do not overlap)
    iw = xp.minimum(x2, x2g) - xp.maximum(x1, x1g)
    ih = xp.minimum(y2, y2g) - xp.maximum(y1, y1g)
    overlap = xp.logical_and(iw > 0, ih > 0)
    inter = xp.where(overlap, iw * ih, 0.0)
    union = wp * hp + wt * ht - inter
    iou = inter / (union + eps)
    loss = 1.0 - iou

    if mode == "giou":
        cw = xp.maximum(x2, x2g) - xp.minimum(x1, x1g)
        ch = xp.maximum(y2, y2g) - xp.minimum(y1, y1g)
        area_c = cw * ch
        loss = loss + (area_c - union) / (area_c + eps)
    elif mode in ("diou", "ciou"):
        cw = xp.maximum(x2, x2g) - xp.minimum(x1, x1g)
        ch = xp.maximum(y2, y2g) - xp.minimum(y1, y1g)
        diag2 = cw * cw + ch * ch + eps
        dx = (x1 + x2 - x1g - x2g) * 0.5
        dy = (y1 + y2 - y1g - y2g) * 0.5
        loss = loss + (dx * dx + dy * dy) / diag2
        if mode == "ciou":
            da = _aspect_angle(xp, wt, ht) - _aspect_angle(xp, wp, hp)
            v = _FOUR_OVER_PI2 * (da * da)
            alpha = be.stop_gradient(v / (1.0 - iou + v + eps))
            loss = loss + alpha * v
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


_BALANCE_DOC = r"""
    The renormalisation runs over every unmasked entry of the call (the
    mini-batch, as in the paper); call the loss per image, or under
    ``jax.vmap``, for per-image normalisation. It uses the loss with
    ``weight`` applied, so the weighted total of the positives is the one
    preserved. Masked entries take no part in it: they contribute exactly 0
    to the value, the weights and the gradient. The renormalising sums are
    scaled so that they do not overflow, so the weights stay finite for
    finite losses of any size (inputs near the dtype's maximum). ``"mean"`` divides by the
    number of unmasked entries; the authors normalise by the number of
    positives instead, which is ``reduction="sum"`` divided by that count.
"""


@register(
    "detection",
    "Wu, Wang and Lin 2019, IoU-balanced loss functions for single-stage object detection",
    example=_ex_bce,
    grad_argnums=(0,),
    # The weights renormalise over the unmasked entries only (a mask is not a
    # selection of the unmasked "none" output), and they are detached although
    # they depend on the input: finite differences of the value see the plain
    # loss's total, autodiff the weighted gradient (checked in test_detection).
    mask="renormalised",
    fd_gradient=False,
)
def iou_balanced_bce(
    input: Array,
    target: Array,
    iou: Array,
    /,
    *,
    eta: float = 1.5,
    from_logits: bool = True,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""IoU-balanced binary cross entropy (Wu, Wang and Lin 2019).

    Each positive entry (``target > 0``) has its cross entropy
    :math:`\mathrm{CE}_i` (that of :func:`~corelosses.binary_cross_entropy`)
    weighted by

    .. math::
        w_i = \mathrm{iou}_i^{\eta}\,
        \frac{\sum_{j \in \mathrm{Pos}} \mathrm{CE}_j}
             {\sum_{j \in \mathrm{Pos}} \mathrm{iou}_j^{\eta}\, \mathrm{CE}_j},

    so the positives' total loss is unchanged while well-localised positives
    count more; negatives keep weight 1. No gradient flows through ``iou``
    or the weights (they are computed under stop-gradient). With no
    positives (or when every positive has IoU 0) the weights are all 1 and
    the loss is the plain binary cross entropy, finite.
    {balance}
    Parameters
    ----------
    input : array
        Logits (or probabilities with ``from_logits=False``), any shape.
    target : array
        Binary (or soft) targets of the same shape; entries ``> 0`` are the
        positives. Integer or boolean targets are cast.
    iou : array
        IoU in [0, 1] of each entry's regressed box with its ground truth,
        broadcastable to ``input`` (e.g. shape ``(N, 1)`` for ``(N, C)``
        logits); only the positives' values are used.
    eta : float
        Exponent :math:`\eta \ge 0` (the paper's 1.5; 0 gives plain BCE).
    from_logits : bool
        Whether ``input`` holds logits.
    weight, mask, reduction
        Elementwise weight, boolean mask (broadcastable to ``input``) and
        ``"mean"``/``"sum"``/``"none"``.

    Returns
    -------
    array
        Scalar, or the elementwise weighted loss for ``reduction="none"``.

    References
    ----------
    Wu, Wang and Lin, "IoU-balanced loss functions for single-stage object
    detection", arXiv:1908.05641 (2019).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([2.0, 0.5, -1.0]); y = np.array([1.0, 1.0, 0.0])
    >>> iou = np.array([0.9, 0.5, 0.0])
    >>> np.round(cl.iou_balanced_bce(x, y, iou, reduction="none"), 6)
    array([0.236001, 0.365004, 0.313262])
    >>> bool(np.isclose(cl.iou_balanced_bce(x, y, iou, reduction="sum"),
    ...                 cl.binary_cross_entropy(x, y, reduction="sum")))
    True
    """
    fname = "iou_balanced_bce"
    be, xp, x, y, w, valid, iou_pow = _balanced_setup(
        fname, input, target, iou, "eta", eta, weight, mask, reduction
    )
    if not from_logits:
        c.check_unit_interval(be, x, fname)
    ce = binary_cross_entropy(x, y, from_logits=from_logits, reduction="none")
    base = ce if w is None else ce * w
    pos = y > 0
    if valid is not None:
        base = xp.where(valid, base, 0.0)
        pos = xp.logical_and(pos, valid)
    bal = _iou_balance(be, base, iou_pow, pos)
    return c.reduce(be, ce, reduction, weight=bal if w is None else bal * w, valid=valid)


@register(
    "detection",
    "Wu, Wang and Lin 2019, IoU-balanced loss functions for single-stage object detection",
    example=_ex_smooth_l1,
    grad_argnums=(0,),
    mask="renormalised",
    fd_gradient=False,
)
def iou_balanced_smooth_l1(
    pred: Array,
    target: Array,
    iou: Array,
    /,
    *,
    lam: float = 1.5,
    beta: float = 1.0,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""IoU-balanced smooth L1 localisation loss (Wu, Wang and Lin 2019).

    Every entry is a positive's regression target; its smooth L1 loss
    :math:`\ell_i` (that of :func:`~corelosses.smooth_l1_loss`) is weighted by

    .. math::
        w_i = \mathrm{iou}_i^{\lambda}\,
        \frac{\sum_j \ell_j}{\sum_j \mathrm{iou}_j^{\lambda}\, \ell_j},

    the paper's renormalisation: the total loss is unchanged and the
    gradient of well-localised boxes grows relative to the others. No
    gradient flows through ``iou`` or the weights.
    {balance}
    The authors' code skips the renormalisation for localisation; their
    variant is the plain smooth L1 with a detached weight::

        cl.smooth_l1_loss(pred, target, beta=beta, weight=stop_gradient(iou) ** lam)

    with ``stop_gradient`` your framework's (``Tensor.detach``,
    ``jax.lax.stop_gradient``).

    Parameters
    ----------
    pred, target : array
        Regression outputs and targets (e.g. box deltas ``(N, 4)``), same shape.
    iou : array
        IoU in [0, 1] of each prediction's decoded box with its ground truth,
        broadcastable to ``pred`` (e.g. ``(N, 1)``).
    lam : float
        Exponent :math:`\lambda \ge 0` (the paper's 1.5; 0 gives smooth L1).
    beta : float
        Smooth L1's threshold, as in :func:`~corelosses.smooth_l1_loss`.
    weight, mask, reduction
        Elementwise weight, boolean mask (broadcastable to ``pred``) and
        ``"mean"``/``"sum"``/``"none"``.

    Returns
    -------
    array
        Scalar, or the elementwise weighted loss for ``reduction="none"``.

    References
    ----------
    Wu, Wang and Lin, "IoU-balanced loss functions for single-stage object
    detection", arXiv:1908.05641 (2019).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[0.5, 0.0], [2.0, 1.0]]); t = np.zeros((2, 2))
    >>> iou = np.array([[0.9], [0.4]])
    >>> np.round(cl.iou_balanced_smooth_l1(p, t, iou, reduction="none"), 6)
    array([[0.370161, 0.      ],
           [1.316129, 0.43871 ]])
    >>> float(cl.iou_balanced_smooth_l1(p, t, iou, reduction="sum"))  # = smooth L1's total
    2.125
    """
    fname = "iou_balanced_smooth_l1"
    c.check_number(fname, "beta", beta, low=0)
    be, xp, x, y, w, valid, iou_pow = _balanced_setup(
        fname, pred, target, iou, "lam", lam, weight, mask, reduction, input_name="pred"
    )
    sl1 = smooth_l1_loss(x, y, beta=beta, reduction="none")
    base = sl1 if w is None else sl1 * w
    if valid is not None:
        base = xp.where(valid, base, 0.0)
    bal = _iou_balance(be, base, iou_pow, valid)
    return c.reduce(be, sl1, reduction, weight=bal if w is None else bal * w, valid=valid)


for _f in (iou_balanced_bce, iou_balanced_smooth_l1):
    if _f.__doc__:  # None under python -OO
        _f.__doc__ = _f.__doc__.replace("{balance}", "\n    " + _BALANCE_DOC.strip() + "\n")
del _f
