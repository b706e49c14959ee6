"""Metric-learning losses over a batch of embeddings and labels: NT-Xent, supervised contrastive, contrastive, circle, multi-similarity.

Every loss here takes a batch ``embeddings`` of shape ``(N, D)`` and integer
``labels`` of shape ``(N,)`` and compares every pair of the batch: ``j`` is a
*positive* of anchor ``i`` when ``j != i`` and ``labels[j] == labels[i]``, a
*negative* when ``labels[j] != labels[i]`` (a sample is never its own
positive or negative).

- :func:`ntxent_loss`: NT-Xent / InfoNCE (SimCLR), ``optax.losses.ntxent``;
- :func:`supervised_contrastive_loss`: Khosla et al. 2020, pytorch-metric-learning
  ``SupConLoss``;
- :func:`contrastive_loss`: Hadsell et al. 2006, pml ``ContrastiveLoss``;
- :func:`circle_loss`: Sun et al. 2020, pml ``CircleLoss`` and Keras ``Circle``;
- :func:`multi_similarity_loss`: Wang et al. 2019, pml ``MultiSimilarityLoss``.

Conventions shared by all five:

- ``reduction="none"`` gives one value per anchor (shape ``(N,)``);
  ``"sum"`` is the sum of those; ``"mean"`` reproduces the peer's number and
  each docstring gives its exact expression (it is not always the plain
  mean of the per-anchor values, as the peers average over pairs or over the
  anchors that have pairs).
- ``mask`` (shape ``(N,)``, broadcastable) removes samples entirely: a masked
  sample is neither an anchor nor anyone's partner, so masking equals
  removing the samples from the batch. NaN or inf in a masked embedding
  reaches neither the value nor the gradient; all samples masked gives 0.
- An anchor without a positive (or, where the loss needs one, a negative)
  contributes 0 and, where the peer does so, is not counted in the mean. A
  batch without any pair the loss needs gives 0 (optax gives NaN there).
- Norms and distances are computed with the largest entry factored out (no
  overflow at 1e30, no underflow) and a zero norm or distance has a zero,
  not NaN, gradient. Logsumexps subtract their (stop-gradient) maximum, so
  ``gamma=80`` times a similarity never overflows; float16/bfloat16 are
  computed in float32. Memory is ``O(N^2)`` (``O(N^2 D)`` for
  :func:`contrastive_loss`, which takes exact differences).
- Labels are not differentiated; they may be any integers.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._metric_common import (
    _PML_EPS,
    _check_unit_option,
    _cosine,
    _count,
    _empty,
    _lse,
    _relu,
    _safe_norm,
    _setup,
    _unit,
)
from ._registry import register

Array = Any

__all__ = [
    "ntxent_loss",
    "supervised_contrastive_loss",
    "contrastive_loss",
    "circle_loss",
    "multi_similarity_loss",
]

_FAMILY = "metric learning"


# ------------------------------------------------------------------ helpers
def _ex_batch(rng, n=10, d=5):
    import numpy as np

    x = rng.normal(size=(n, d))
    labels = rng.permutation(np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 4])[:n])
    return x, labels


def _ex_ntxent(rng):
    x, y = _ex_batch(rng)
    return (x, y), {"temperature": 0.5}


def _ex_supcon(rng):
    x, y = _ex_batch(rng)
    return (x, y), {"temperature": 0.5}


def _ex_contrastive(rng):
    import numpy as np

    # distances kept away from the margins (the hinges' kinks)
    x, y = _ex_batch(rng)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = np.linalg.norm(u[:, None] - u[None], axis=-1)
    pm, nm = 0.3, 1.2
    while np.min(np.abs(d - pm)) < 0.02 or np.min(np.abs(d - nm)) < 0.02:
        x, y = _ex_batch(rng)
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        d = np.linalg.norm(u[:, None] - u[None], axis=-1)
    return (x, y), {"pos_margin": pm, "neg_margin": nm}


def _ex_circle(rng):
    x, y = _ex_batch(rng)
    return (x, y), {"gamma": 8.0}


def _ex_ms(rng):
    x, y = _ex_batch(rng)
    return (x, y), {"alpha": 2.0, "beta": 10.0}


# "mean" is the peer's (not the mean of "none"): the Keras wrapper and the kit use it
_REG: dict[str, Any] = {"mask": "renormalised", "mean": "weighted", "mean_of_none": False}


# ------------------------------------------------------------------- losses
@register(
    _FAMILY,
    "NT-Xent / InfoNCE (Chen et al. 2020, SimCLR); optax.losses.ntxent",
    peers=("optax.losses.ntxent",),
    example=_ex_ntxent,
    grad_argnums=(0,),
    **_REG,
)
def ntxent_loss(
    embeddings: Array,
    labels: Array,
    /,
    *,
    temperature: float = 0.07,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Normalized temperature-scaled cross entropy (NT-Xent), one term per positive pair.

    With :math:`s_{ij} = \cos(e_i, e_j) / T`, :math:`P(i)` the positives and
    :math:`N(i)` the negatives of anchor :math:`i`:

    .. math::
        \ell_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k \in N(i)} e^{s_{ik}}},
        \qquad L_i = \sum_{j \in P(i)} \ell_{ij}

    Each positive pair is its own softmax against the anchor's negatives
    (other positives are not in the denominator), as in
    ``optax.losses.ntxent``. ``"none"`` gives :math:`L_i` (the anchor's sum
    over its positive pairs), ``"sum"`` :math:`\sum_i L_i` and ``"mean"``
    :math:`\sum_i L_i / \sum_i |P(i)|`, the mean over positive pairs:
    ``optax.losses.ntxent(e, labels, temperature)`` exactly (the self
    similarity is not a positive; the norm is clamped at
    ``sqrt(finfo(dtype).eps)`` as optax does, the float32 eps for
    half-precision input). With no positive pair the result is 0 (optax:
    NaN); an anchor with positives but no negatives has :math:`\ell = 0`
    and still counts its pairs.

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` real floating.
    labels : array
        ``(N,)`` integers; equal labels make positive pairs.
    temperature : float
        ``T > 0``.
    mask : array, optional
        ``(N,)`` boolean or 0/1: False removes the sample entirely.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8], [0.6, -0.8]])
    >>> y = np.array([0, 0, 1, 1, 0])
    >>> round(float(cl.ntxent_loss(e, y, temperature=0.5)), 6)
    0.519153
    """
    fname = "ntxent_loss"
    c.check_number(fname, "temperature", temperature, low=0, low_open=True, finite=True)
    be, xp, x, pos, neg, valid = _setup(fname, embeddings, labels, mask, reduction)
    if x.shape[0] == 0:
        return _empty(be, xp, x, reduction)
    eps = math.sqrt(xp.finfo(x.dtype).eps)
    s = _cosine(be, xp, x, eps) / temperature
    lse_neg, has_neg = _lse(be, xp, s, neg)
    term = be.softplus(xp.expand_dims(lse_neg, axis=1) - s)
    take = xp.logical_and(pos, xp.expand_dims(has_neg, axis=1))
    per = xp.sum(xp.where(take, term, 0.0), axis=1)
    return c.reduce(be, per, reduction, valid=valid, denom=_count(xp, pos, x.dtype))


@register(
    _FAMILY,
    "supervised contrastive loss (Khosla et al. 2020); pytorch-metric-learning SupConLoss",
    peers=("pytorch_metric_learning.losses.SupConLoss",),
    example=_ex_supcon,
    grad_argnums=(0,),
    **_REG,
)
def supervised_contrastive_loss(
    embeddings: Array,
    labels: Array,
    /,
    *,
    temperature: float = 0.1,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Supervised contrastive loss (SupCon, the :math:`L^{sup}_{out}` form).

    With :math:`s_{ij} = \cos(e_i, e_j) / T`, :math:`A(i) = P(i) \cup N(i)`
    every other sample:

    .. math::
        L_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)}
              \log \frac{e^{s_{ip}}}{\sum_{a \in A(i)} e^{s_{ia}}}

    and :math:`L_i = 0` for an anchor without positives. As
    pytorch-metric-learning's ``SupConLoss``, the whole loss is 0 when the
    batch has no negative pair (a single class) or no positive pair.
    ``"none"`` gives :math:`L_i`, ``"sum"`` their sum, ``"mean"`` their sum
    divided by the number of anchors with a positive: pml's
    ``SupConLoss(temperature=T)(e, labels)`` (its ``AvgNonZeroReducer``
    averages the anchors whose loss is > 0, the same anchors unless a loss
    rounds to exactly 0). Embeddings are normalised as ``F.normalize``.

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` real floating.
    labels : array
        ``(N,)`` integers.
    temperature : float
        ``T > 0``.
    mask : array, optional
        ``(N,)`` boolean or 0/1: False removes the sample entirely.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8], [0.6, -0.8]])
    >>> y = np.array([0, 0, 1, 1, 0])
    >>> round(float(cl.supervised_contrastive_loss(e, y, temperature=0.5)), 6)
    0.846079
    """
    fname = "supervised_contrastive_loss"
    c.check_number(fname, "temperature", temperature, low=0, low_open=True, finite=True)
    be, xp, x, pos, neg, valid = _setup(fname, embeddings, labels, mask, reduction)
    if x.shape[0] == 0:
        return _empty(be, xp, x, reduction)
    s = _cosine(be, xp, x) / temperature
    lse_all, _ = _lse(be, xp, s, xp.logical_or(pos, neg))
    npos = xp.sum(xp.astype(pos, x.dtype), axis=1)
    has_pos = npos > 0
    mean_pos = xp.sum(xp.where(pos, s, 0.0), axis=1) / xp.where(has_pos, npos, 1.0)
    keep = xp.logical_and(has_pos, xp.any(neg))
    per = xp.where(keep, lse_all - mean_pos, 0.0)
    return c.reduce(be, per, reduction, valid=valid, denom=_count(xp, has_pos, x.dtype))


@register(
    _FAMILY,
    "contrastive loss (Hadsell et al. 2006); pytorch-metric-learning ContrastiveLoss",
    peers=("pytorch_metric_learning.losses.ContrastiveLoss",),
    example=_ex_contrastive,
    grad_argnums=(0,),
    **_REG,
)
def contrastive_loss(
    embeddings: Array,
    labels: Array,
    /,
    *,
    pos_margin: float = 0.0,
    neg_margin: float = 1.0,
    normalize: bool = True,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Contrastive (pair) loss on Euclidean distances.

    With :math:`d_{ij} = \lVert u_i - u_j \rVert_2`, :math:`u` the embeddings
    divided by their norm (``normalize=True``, pml's ``LpDistance`` default)
    or the embeddings themselves:

    .. math::
        L_i = \sum_{j \in P(i)} \max(0, d_{ij} - m_+)
            + \sum_{j \in N(i)} \max(0, m_- - d_{ij})

    ``"none"`` gives :math:`L_i`, ``"sum"`` the sum over all ordered pairs.
    ``"mean"`` is pytorch-metric-learning's ``ContrastiveLoss(pos_margin,
    neg_margin)(e, labels)`` (``AvgNonZeroReducer``): the positive terms'
    sum divided by the number of positive terms > 0, plus the negative terms'
    sum divided by the number of negative terms > 0 (each part 0 when it has
    no such term). The distance of identical embeddings is 0 with a zero
    gradient (no NaN from the square root).

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` real floating.
    labels : array
        ``(N,)`` integers.
    pos_margin, neg_margin : float
        :math:`m_+` (positives closer than it cost nothing) and :math:`m_-`
        (negatives farther than it cost nothing).
    normalize : bool
        Divide the embeddings by their norm first (pml's default).
    mask : array, optional
        ``(N,)`` boolean or 0/1: False removes the sample entirely.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8], [0.6, -0.8]])
    >>> y = np.array([0, 0, 1, 1, 0])
    >>> round(float(cl.contrastive_loss(e, y, neg_margin=1.5)), 6)
    1.152437
    """
    fname = "contrastive_loss"
    c.check_number(fname, "pos_margin", pos_margin, finite=True)
    c.check_number(fname, "neg_margin", neg_margin, finite=True)
    _check_unit_option(fname, normalize)
    be, xp, x, pos, neg, valid = _setup(fname, embeddings, labels, mask, reduction)
    if x.shape[0] == 0:
        return _empty(be, xp, x, reduction)
    u = _unit(be, xp, x, _PML_EPS) if normalize else x
    diff = xp.expand_dims(u, axis=1) - xp.expand_dims(u, axis=0)
    d = xp.squeeze(_safe_norm(be, xp, diff), axis=-1)
    tp = xp.where(pos, _relu(xp, d - pos_margin), 0.0)
    tn = xp.where(neg, _relu(xp, neg_margin - d), 0.0)
    if reduction != "mean":
        return c.reduce(be, xp.sum(tp + tn, axis=1), reduction, valid=valid)
    out = 0.0
    for t in (tp, tn):
        k = _count(xp, t > 0, x.dtype)
        out = out + xp.sum(t) / xp.where(k == 0, 1.0, k)
    return out


@register(
    _FAMILY,
    "circle loss (Sun et al. 2020); pytorch-metric-learning CircleLoss, Keras Circle",
    peers=("pytorch_metric_learning.losses.CircleLoss", "keras.losses.Circle"),
    example=_ex_circle,
    grad_argnums=(0,),
    fd_gradient=False,
    **_REG,
)
def circle_loss(
    embeddings: Array,
    labels: Array,
    /,
    *,
    gamma: float = 80.0,
    margin: float = 0.4,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Circle loss on cosine similarities (pair-wise labels).

    With :math:`s` the cosine similarities, :math:`m` the margin,
    :math:`\alpha_p = [1 + m - s_{ip}]_+`, :math:`\alpha_n = [s_{in} + m]_+`:

    .. math::
        L_i = \operatorname{softplus}\Big(
              \log \sum_{p \in P(i)} e^{-\gamma \alpha_p (s_{ip} - (1 - m))}
            + \log \sum_{n \in N(i)} e^{\gamma \alpha_n (s_{in} - m)} \Big)

    for an anchor with positives and negatives, 0 otherwise. The weights
    :math:`\alpha` are held out of the gradient (stop-gradient), as in the
    paper's code and pml; the value is unaffected. ``"none"`` gives
    :math:`L_i`, ``"sum"`` their sum and ``"mean"`` their sum divided by the
    number of anchors with both a positive and a negative:
    pytorch-metric-learning's ``CircleLoss(m=margin, gamma=gamma)(e, labels)``
    (its ``AvgNonZeroReducer`` averages the losses > 0: the same anchors
    unless a softplus underflows to exactly 0).

    Keras 3 ``keras.losses.Circle(gamma, margin)(labels, u)`` takes
    L2-normalised embeddings ``u`` and does not normalise them: it equals
    ``circle_loss(u, labels)`` for unit rows (``remove_diagonal=True``, its
    default, is our positive set; its mean also skips the zero losses). Its
    gradient differs: it differentiates through the weights.

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` real floating; normalised here (``F.normalize``).
    labels : array
        ``(N,)`` integers.
    gamma : float
        Scale :math:`\gamma > 0`.
    margin : float
        Relaxation :math:`m`.
    mask : array, optional
        ``(N,)`` boolean or 0/1: False removes the sample entirely.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8], [0.6, -0.8]])
    >>> y = np.array([0, 0, 1, 1, 0])
    >>> round(float(cl.circle_loss(e, y)), 6)
    31.637625
    """
    fname = "circle_loss"
    c.check_number(fname, "gamma", gamma, low=0, low_open=True, finite=True)
    c.check_number(fname, "margin", margin, finite=True)
    be, xp, x, pos, neg, valid = _setup(fname, embeddings, labels, mask, reduction)
    if x.shape[0] == 0:
        return _empty(be, xp, x, reduction)
    s = _cosine(be, xp, x)
    ap = be.stop_gradient(_relu(xp, (1.0 + margin) - s))
    an = be.stop_gradient(_relu(xp, s + margin))
    lp, has_p = _lse(be, xp, (-gamma * ap) * (s - (1.0 - margin)), pos)
    ln, has_n = _lse(be, xp, (gamma * an) * (s - margin), neg)
    both = xp.logical_and(has_p, has_n)
    per = xp.where(both, be.softplus(lp + ln), 0.0)
    return c.reduce(be, per, reduction, valid=valid, denom=_count(xp, both, x.dtype))


@register(
    _FAMILY,
    "multi-similarity loss (Wang et al. 2019); pytorch-metric-learning MultiSimilarityLoss",
    peers=("pytorch_metric_learning.losses.MultiSimilarityLoss",),
    example=_ex_ms,
    grad_argnums=(0,),
    **_REG,
)
def multi_similarity_loss(
    embeddings: Array,
    labels: Array,
    /,
    *,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multi-similarity loss on cosine similarities (without pair mining).

    .. math::
        L_i = \frac{1}{\alpha} \log\Big(1 + \sum_{p \in P(i)} e^{-\alpha (s_{ip} - \lambda)}\Big)
            + \frac{1}{\beta} \log\Big(1 + \sum_{n \in N(i)} e^{\beta (s_{in} - \lambda)}\Big)

    with :math:`\lambda` = ``base`` and :math:`s` the cosine similarities.
    An empty sum gives 0, so an anchor without positives still pays its
    negative term and counts in the mean, as in pytorch-metric-learning
    (whose default ``MeanReducer`` averages every anchor). ``"mean"`` is
    the mean over the (unmasked) anchors: pml's
    ``MultiSimilarityLoss(alpha, beta, base)(e, labels)``. The paper's
    mining step (pml's ``MultiSimilarityMiner``) is not part of the loss.

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` real floating; normalised here (``F.normalize``).
    labels : array
        ``(N,)`` integers.
    alpha, beta : float
        Positive and negative scales (> 0).
    base : float
        The similarity offset :math:`\lambda`.
    mask : array, optional
        ``(N,)`` boolean or 0/1: False removes the sample entirely.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8], [0.6, -0.8]])
    >>> y = np.array([0, 0, 1, 1, 0])
    >>> round(float(cl.multi_similarity_loss(e, y)), 6)
    0.510057
    """
    fname = "multi_similarity_loss"
    c.check_number(fname, "alpha", alpha, low=0, low_open=True, finite=True)
    c.check_number(fname, "beta", beta, low=0, low_open=True, finite=True)
    c.check_number(fname, "base", base, finite=True)
    be, xp, x, pos, neg, valid = _setup(fname, embeddings, labels, mask, reduction)
    if x.shape[0] == 0:
        return _empty(be, xp, x, reduction)
    s = _cosine(be, xp, x)
    lp, _ = _lse(be, xp, -alpha * (s - base), pos)
    ln, _ = _lse(be, xp, beta * (s - base), neg)
    # _lse is 0 for an empty row; softplus(0) = log 2 must then be dropped
    tp = xp.where(xp.any(pos, axis=1), be.softplus(lp), 0.0) / alpha
    tn = xp.where(xp.any(neg, axis=1), be.softplus(ln), 0.0) / beta
    return c.reduce(be, tp + tn, reduction, valid=valid)
