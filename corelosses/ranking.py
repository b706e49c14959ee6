"""Softmax losses over scores: listwise ranking softmax and margin softmax (ArcFace, CosFace, SphereFace).

- :func:`ranking_softmax_loss`: the listwise softmax cross entropy of item
  scores against graded relevance (``optax.losses.ranking_softmax_loss``);
- :func:`margin_softmax_loss`: cross entropy over cosine logits with an
  additive angular (ArcFace), additive cosine (CosFace) or multiplicative
  angular (SphereFace) margin on the target class, as
  pytorch-metric-learning's ``ArcFaceLoss``, ``CosFaceLoss`` and
  ``SphereFaceLoss``; the learnable class weights stay with the caller.

Both are a log-softmax and a pick of the target mass, the cross-entropy
machinery of :mod:`corelosses._class_common`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from . import _core as c
from ._class_common import _class_prologue, _on_target
from ._registry import register

Array = Any

__all__ = ["ranking_softmax_loss", "margin_softmax_loss"]

KINDS = ("arcface", "cosface", "sphereface")
#: default margin per kind: ArcFace 0.5 rad, CosFace 0.35, SphereFace m = 4
DEFAULT_MARGIN = {"arcface": 0.5, "cosface": 0.35, "sphereface": 4}
#: slack for cosines computed as a normalised product (rounding past +-1)
_COS_SLACK = 1e-3


def _is_array(v: Any) -> bool:
    # a Python number first: a float traced symbolically has no hasattr under dynamo
    if isinstance(v, (int, float)):
        return False
    return hasattr(v, "shape") and hasattr(v, "dtype")


# ------------------------------------------------------------------ examples
def _ex_ranking(rng):
    import numpy as np

    s = rng.normal(size=(6, 5)) * 2
    rel = rng.integers(0, 3, size=(6, 5)).astype(np.float64)
    rel[2] = 0.0  # a list with no relevant item
    return (s, rel), {}


def _ex_margin(rng):
    # cosines away from +-1 and from ArcFace's threshold -cos(0.3) ~ -0.955
    cos = rng.uniform(-0.85, 0.9, size=(8, 5))
    return (cos, rng.integers(0, 5, size=(8,))), {"kind": "arcface", "margin": 0.3, "scale": 8.0}


# ------------------------------------------------------------------ ranking
def _item_mask(be: Any, where: Array, shape: tuple, fname: str) -> Array:
    xp = be.xp
    c.check_broadcastable(fname, "where", where, shape)
    if where.dtype == xp.bool:
        return xp.broadcast_to(where, shape)
    if xp.isdtype(where.dtype, ("integral", "real floating")):
        return xp.broadcast_to(where != 0, shape)
    raise TypeError(f"{fname}: 'where' must be boolean or 0/1, got dtype {where.dtype}")


def _log_softmax_floored(be: Any, xp: Any, x: Array, ax: int) -> Array:
    """``log_softmax(x, ax)`` whose normaliser reads ``exp(max(z, floor))``, ``z = x - max``.

    The floor (``exp`` of it is the smallest normal number) changes the
    normaliser (at least 1) by less than its rounding. It keeps the backward
    pass free of ``inf * 0``: relevance summing past the float maximum gives the
    normaliser an infinite cotangent, which meets ``exp(z) > 0`` (an inf
    gradient, where the value is inf too) instead of an underflowed 0 (NaN).
    """
    if math.prod(x.shape) == 0:  # dask's max fails on zero-size arrays
        return x
    m = xp.max(x, axis=ax, keepdims=True)
    z = x - be.stop_gradient(xp.where(xp.isfinite(m), m, 0.0))
    floor = -87.0 if x.dtype == xp.float32 else -708.0
    zf = xp.where(z > floor, z, floor)
    return z - xp.log(xp.sum(xp.exp(zf), axis=ax, keepdims=True))


@register(
    "ranking",
    "listwise softmax cross entropy (Cao et al. 2007, ListNet top-1; Bruch et al. 2019); "
    "optax.losses.ranking_softmax_loss",
    peers=("optax.losses.ranking_softmax_loss",),
    example=_ex_ranking,
)
def ranking_softmax_loss(
    scores: Array,
    relevance: Array,
    /,
    *,
    axis: int = -1,
    where: Array | None = None,
    weights: Array | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Listwise softmax loss of item scores against graded relevance.

    Per list (the items on ``axis``), with scores ``s``, relevance ``y`` and
    per-item weights ``w`` (default 1):

    .. math::
        \ell = -\sum_i w_i\, y_i \log \frac{e^{s_i}}{\sum_{j \in \text{list}} e^{s_j}}

    Items where ``where`` is false are removed from the list (from the sum
    and from the softmax's normaliser). Relevance is not normalised (as in
    optax): divide it by its sum over the list for the normalised form of
    TF-Ranking / rax. A list with no relevant item has loss 0 and still
    counts in ``"mean"``; a list with no item at all (``where`` false
    everywhere) has loss 0 and does not count, as in optax.

    ``optax.losses.ranking_softmax_loss(s, y, where=wh, weights=w)`` (its
    default ``reduce_fn=jnp.mean``) is ``ranking_softmax_loss(s, y, where=wh,
    weights=w)``; with ``reduce_fn=jnp.sum`` or ``None`` use ``reduction="sum"``
    or ``"none"``.

    Parameters
    ----------
    scores : array
        Item scores (real floating), items on ``axis``.
    relevance : array
        Non-negative relevance labels, the scores' shape (integers, booleans
        accepted). Negative values raise ``ValueError`` where they can be read
        without a trace or sync.
    axis : int
        The item axis.
    where : array, optional
        Boolean (or 0/1) per item, broadcastable to the scores' shape: false
        items are excluded from the list (a NaN score there reaches neither
        the value nor the gradient).
    weights : array, optional
        Per-item weights broadcastable to the scores' shape (optax's
        ``weights``): they multiply the relevance.
    weight : array, optional
        Per-list weight, broadcastable to the unreduced loss.
    mask, reduction
        As for every loss, per list (``"none"`` returns one value per list).

    Returns
    -------
    array
        Scalar, or one loss per list for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> s = np.array([[2.0, 1.0, 3.0], [1.0, 0.5, 1.5]])
    >>> y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> np.round(cl.ranking_softmax_loss(s, y, reduction="none"), 6)
    array([1.407606, 0.      ])
    >>> round(float(cl.ranking_softmax_loss(s, y, where=np.array([True, True, False]))), 6)
    0.156631
    """
    fname = "ranking_softmax_loss"
    c.check_reduction(fname, reduction)
    be = c.backend_of(scores, relevance, where, weights, weight, mask)
    xp = be.xp
    x = c.floating(be, scores, fname, "scores")
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    c.class_count(fname, x, ax, "scores")
    c.check_same_shape(fname, x, relevance, "relevance")
    y = c.cast_to(be, relevance, x.dtype)
    shape = tuple(x.shape)
    loss_shape = shape[:ax] + shape[ax + 1 :]
    valid, weight = c.mask_and_weight(be, mask, weight, loss_shape, x.dtype, fname)
    keep = None
    if where is not None:
        keep = _item_mask(be, where, shape, fname)
        # a list without any item counts in no mean (optax's rule)
        valid = c.and_masks(xp, valid, xp.any(keep, axis=ax))
    if valid is not None:
        lists = xp.expand_dims(xp.broadcast_to(valid, loss_shape), axis=ax)
        keep = lists if keep is None else xp.logical_and(keep, lists)
    if weights is not None:
        c.check_broadcastable(fname, "weights", weights, shape)
        weights = c.cast_to(be, weights, x.dtype)
    if keep is not None:  # the first where: nothing excluded reaches the formula
        x = xp.where(keep, x, 0.0)
        y = xp.where(keep, y, 0.0)
        if weights is not None:
            weights = xp.where(keep, weights, 0.0)
    if be.concrete(y) and math.prod(y.shape) > 0:
        lo, _ = be.value_range(y)
        if float(lo) < 0:
            raise ValueError(f"{fname}: 'relevance' must be non-negative, got a minimum of {lo}")
    if weights is not None:
        y = y * weights
    if where is not None:
        # excluded items leave the softmax (-inf); a list with no item keeps its
        # sanitized scores (its labels are 0: loss 0, no 0/0 in the backward pass)
        some = xp.any(keep, axis=ax, keepdims=True)
        x = xp.where(xp.logical_or(keep, xp.logical_not(some)), x, -math.inf)
    logp = _log_softmax_floored(be, xp, x, ax)
    loss = 0.0 - xp.sum(y * _on_target(xp, y, logp), axis=ax)  # +0 for no relevant item
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


# ------------------------------------------------------------ margin softmax
def _check_margin(fname: str, kind: str, margin: Any) -> Any:
    if margin is None:
        return DEFAULT_MARGIN[kind]
    if kind == "arcface":
        c.check_number(fname, "margin", margin, low=0, high=math.pi, high_open=True)
    elif kind == "cosface":
        c.check_number(fname, "margin", margin, low=0, finite=True)
    else:
        if isinstance(margin, bool) or not isinstance(margin, numbers.Real):
            raise TypeError(
                f"{fname}: 'margin' of sphereface must be a positive integer, "
                f"got {type(margin).__name__} {margin!r}"
            )
        c.check_number(fname, "margin", margin, low=1, finite=True)
        if not float(margin).is_integer():
            raise ValueError(
                f"{fname}: 'margin' of sphereface must be a positive integer m, got {margin!r}"
            )
        margin = int(float(margin))
    return margin


def _target_logit(be: Any, xp: Any, ct: Array, kind: str, m: Any) -> Array:
    """The target class's modified cosine ``psi`` from its cosine ``ct`` in [-1, 1]."""
    if kind == "cosface":
        return ct - m
    if kind == "arcface":
        # cos(theta + m) = cos cos m - sin sin m with sin theta = sqrt(1 - cos^2) behind
        # a double where: slope cos m (finite) at cos = +-1, where acos is vertical
        s2 = 1.0 - ct * ct
        pos = s2 > 0
        sin = xp.where(pos, xp.sqrt(xp.where(pos, s2, 1.0)), 0.0)
        phi = ct * math.cos(m) - sin * math.sin(m)
        # pml's threshold: past theta = pi - m, cos(theta) - m sin(m) keeps it decreasing
        return xp.where(ct >= -math.cos(m), phi, ct - m * math.sin(m))
    # sphereface: psi = (-1)^k cos(m theta) - 2k on [k pi / m, (k + 1) pi / m];
    # cos(m theta) = T_m(cos theta) (Chebyshev recurrence: polynomial, finite slope)
    t_prev, t = xp.ones_like(ct), ct
    for _ in range(m - 1):
        t_prev, t = t, 2.0 * ct * t - t_prev
    k = xp.zeros_like(ct)
    for j in range(1, m + 1):  # k = floor(theta m / pi), counted without acos
        k = k + xp.astype(ct <= math.cos(j * math.pi / m), ct.dtype)
    sign = 1.0 - 2.0 * (k - 2.0 * xp.floor(k / 2.0))
    return sign * t - 2.0 * k


@register(
    "classification",
    "ArcFace (Deng et al. 2019), CosFace (Wang et al. 2018), SphereFace (Liu et al. 2017); "
    "pytorch_metric_learning.losses.ArcFaceLoss / CosFaceLoss / SphereFaceLoss",
    peers=(
        "pytorch_metric_learning.losses.ArcFaceLoss",
        "pytorch_metric_learning.losses.CosFaceLoss",
        "pytorch_metric_learning.losses.SphereFaceLoss",
    ),
    example=_ex_margin,
)
def margin_softmax_loss(
    cosine: Array,
    target: Array,
    /,
    *,
    kind: str = "arcface",
    margin: float | None = None,
    scale: float | Array = 64.0,
    axis: int = -1,
    ignore_index: int | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Margin softmax (ArcFace, CosFace, SphereFace) on given cosine logits.

    With ``cos theta_j`` the cosine between a sample's embedding and class
    ``j``'s weight vector (both normalised by the caller, who owns the
    weights), target class ``y``, scale ``s`` and margin ``m``, the loss is
    the softmax cross entropy of the logits ``s cos theta_j`` (``j != y``) and
    ``s psi(theta_y)``:

    - ``kind="arcface"`` (Deng et al. 2019; default ``m = 0.5`` rad):
      ``psi = cos(theta + m)`` for ``theta <= pi - m`` and
      ``cos theta - m sin m`` beyond (pytorch-metric-learning's threshold,
      which keeps ``psi`` decreasing; insightface's ``easy_margin`` is not
      offered). ``cos(theta + m)`` is computed as
      ``cos theta cos m - sin theta sin m``: the gradient is finite at
      ``cos theta = +-1`` exactly.
    - ``kind="cosface"`` (Wang et al. 2018; default ``m = 0.35``):
      ``psi = cos theta - m``.
    - ``kind="sphereface"`` (Liu et al. 2017; integer ``m``, default 4):
      ``psi = (-1)^k cos(m theta) - 2k`` for ``theta`` in
      ``[k pi / m, (k + 1) pi / m]``, with ``cos(m theta)`` the Chebyshev
      polynomial of ``cos theta`` and ``k`` gradient-free, as in
      pytorch-metric-learning.

    Peers (pytorch-metric-learning, ``W`` its ``(embedding_size,
    num_classes)`` weight): with ``cos = normalize(emb) @ normalize(W, dim=0)``,
    ``ArcFaceLoss(C, D, margin=deg, scale=s)(emb, y)`` (margin in degrees) is
    ``margin_softmax_loss(cos, y, margin=radians(deg), scale=s)``,
    ``CosFaceLoss(C, D, margin=m, scale=s)`` is ``kind="cosface"``, and
    ``SphereFaceLoss(C, D, margin=m, scale=s)``, whose logits are scaled by
    the embedding's norm (normalised weights, unnormalised features, as the
    paper), is ``kind="sphereface", scale=s * norm(emb, axis=1, keepdims=True)``.
    Their default reducer averages over the samples, as ``"mean"`` does.

    Parameters
    ----------
    cosine : array
        Cosine logits in [-1, 1] (real floating), classes on ``axis``. Values
        more than 1e-3 outside [-1, 1] raise ``ValueError`` where they can be
        read without a trace or sync; the target's cosine is clipped to
        [-1, 1] (rounding of a normalised product) before its angle is used.
    target : array
        Integer class indices (the cosine's shape without ``axis``).
    kind : {"arcface", "cosface", "sphereface"}
        The margin.
    margin : float or int, optional
        ``m``: radians in [0, pi) (arcface), >= 0 (cosface), an integer >= 1
        (sphereface). None picks the kind's default.
    scale : float or array
        ``s > 0``, or an array broadcastable to the cosine's shape (e.g. the
        embeddings' norms, one per sample with the class axis kept).
    axis : int
        The class axis.
    ignore_index : int, optional
        A target value whose samples are ignored.
    weight, mask, reduction
        As for every loss (per sample).

    Returns
    -------
    array
        Scalar, or one loss per sample for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> cos = np.array([[0.8, 0.1, -0.3], [0.2, 0.6, 0.5]])
    >>> y = np.array([0, 2])
    >>> np.round(cl.margin_softmax_loss(cos, y, scale=8.0, reduction="none"), 6)
    array([0.080782, 4.660686])
    >>> round(float(cl.margin_softmax_loss(cos, y, kind="cosface", scale=8.0)), 6)
    1.863617
    """
    fname = "margin_softmax_loss"
    c.check_choice(fname, "kind", kind, KINDS)
    m = _check_margin(fname, kind, margin)
    scale_is_array = _is_array(scale)
    if not scale_is_array:
        c.check_number(fname, "scale", scale, low=0, low_open=True, finite=True)
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname, cosine, target, axis, ignore_index, mask, weight, reduction, "cosine"
    )
    if idx is None:
        raise ValueError(
            f"{fname}: 'target' must hold integer class indices (the cosine's shape "
            f"without axis {ax}), got a float array of the cosine's shape"
        )
    if be.concrete(x) and math.prod(x.shape) > 0:
        lo, hi = be.value_range(x)  # NaN passes
        if float(lo) < -1.0 - _COS_SLACK or float(hi) > 1.0 + _COS_SLACK:
            raise ValueError(
                f"{fname}: 'cosine' must hold cosines in [-1, 1], got values in "
                f"[{float(lo)}, {float(hi)}]"
            )
    on = y != 0
    ct = be.clip_scalar(xp.sum(xp.where(on, x, 0.0), axis=ax, keepdims=True), -1.0, 1.0)
    z = xp.where(on, _target_logit(be, xp, ct, kind, m), x)
    if scale_is_array:
        c.backend_of(cosine, scale)  # mixing namespaces names both
        c.check_broadcastable(fname, "scale", scale, x.shape)
        s = xp.broadcast_to(c.cast_to(be, c.floating(be, scale, fname, "scale"), x.dtype), x.shape)
        if valid is not None:  # a NaN scale of a masked sample reaches nothing
            loss_shape = x.shape[:ax] + x.shape[ax + 1 :]
            s = xp.where(xp.expand_dims(xp.broadcast_to(valid, loss_shape), axis=ax), s, 1.0)
        z = z * s
    else:
        z = z * float(scale)
    logp = be.log_softmax(z, axis=ax)
    nll = -xp.sum(y * _on_target(xp, y, logp), axis=ax)
    return c.reduce(be, nll, reduction, weight=weight, valid=valid)
