"""Divergences and the classification losses that go with them.

- :func:`nll_loss`: negative log-likelihood of log-probabilities
  (``torch.nn.functional.nll_loss``);
- :func:`kl_divergence` and :func:`generalized_kl_divergence`: the
  Kullback-Leibler divergence of distributions and of unnormalised measures
  (``F.kl_div``, optax, Keras ``KLDivergence``);
- :func:`poly_loss`: PolyLoss, cross entropy plus ``epsilon (1 - p_t)``
  (Leng et al. 2022, ``optax.poly_loss_cross_entropy``);
- :func:`generalized_cross_entropy`: ``(1 - p_t ** q) / q`` (Zhang & Sabuncu
  2018, Keras ``CategoricalGeneralizedCrossEntropy``);
- :func:`sparsemax` (a transform), :func:`sparsemax_loss` and
  :func:`binary_sparsemax_loss` (Martins & Astudillo 2016; optax's
  ``multiclass_sparsemax_loss`` and ``sparsemax_loss``), defined in
  :mod:`corelosses.sparsemax` and re-exported here.

The class losses take class indices (the input's shape without ``axis``) or
probabilities (the input's shape) and ``ignore_index``, like
:func:`corelosses.cross_entropy`. Every term whose target mass is 0 is
selected out before any product, so a ``-inf`` log-probability (or score)
there gives exactly 0 and a finite gradient.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._class_common import (
    _check_bool,
    _check_probs,
    _class_prologue,
    _class_vector,
    _log_probs,
    _on_target,
    _pair_prologue,
    _reduce_scaled,
    _row_scale,
    _scale_of,
)
from ._registry import register
from .sparsemax import binary_sparsemax_loss, sparsemax, sparsemax_loss

Array = Any

__all__ = [
    "nll_loss",
    "kl_divergence",
    "generalized_kl_divergence",
    "poly_loss",
    "generalized_cross_entropy",
    "sparsemax",
    "sparsemax_loss",
    "binary_sparsemax_loss",
]


# ------------------------------------------------------------------ helpers
def _kl_parts(be, xp, x, t, log_input, log_target, fname):
    """``(t != 0, t, log t - log p)`` elementwise, the last 0 where ``t == 0``.

    Where the target has no mass, every input of the product is replaced by a
    safe value first (the double-``where``), so ``t = 0`` with ``log p = -inf``
    or ``log t = -inf`` gives 0 and a zero, finite gradient. A NaN target is
    not ``== 0`` and propagates.
    """
    if log_target:
        tp = xp.exp(t)
        pos = tp != 0
        lt = xp.where(pos, t, 0.0)
    else:
        _check_probs(be, t, fname, "target", "", upper=fname == "kl_divergence")
        tp = t
        pos = t != 0
        lt = xp.log(xp.where(pos, t, 1.0))
    if log_input:
        lp = xp.where(pos, x, 0.0)
    else:
        hint = " (pass log_input=True for log-probabilities)"
        _check_probs(be, x, fname, "input", hint, upper=fname == "kl_divergence")
        lp = xp.log(xp.where(pos, x, 1.0))  # p = 0 under target mass: +inf, the exact value
    return pos, tp, xp.where(pos, lt - lp, 0.0)


def _kl_terms(be, xp, x, t, log_input, log_target, fname):
    """``(t log(t / p), t)`` elementwise (see :func:`_kl_parts`)."""
    pos, tp, d = _kl_parts(be, xp, x, t, log_input, log_target, fname)
    return xp.where(pos, tp * d, 0.0), tp


# ------------------------------------------------------------------ examples
def _log_softmax_np(z, axis=-1):
    import numpy as np

    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _ex_nll(rng):
    x = _log_softmax_np(rng.normal(size=(8, 5)) * 2)
    y = rng.integers(0, 5, size=(8,))
    y[2] = -100
    return (x, y), {"ignore_index": -100, "class_weight": rng.uniform(0.5, 2, size=(5,))}


def _ex_kl(rng):
    import numpy as np

    x = _log_softmax_np(rng.normal(size=(6, 5)) * 1.5)
    t = np.exp(_log_softmax_np(rng.normal(size=(6, 5)) * 1.5))
    t[rng.uniform(size=t.shape) < 0.25] = 0.0  # zero targets: exactly 0
    t[:, 0] += 1e-3  # no all-zero row
    return (x, t / t.sum(axis=-1, keepdims=True)), {}


def _ex_gkl(rng):
    x = rng.normal(size=(6, 5))
    t = rng.uniform(0.0, 2.0, size=(6, 5))
    t[rng.uniform(size=t.shape) < 0.2] = 0.0
    return (x, t), {}


def _ex_poly(rng):
    x = rng.normal(size=(8, 5)) * 2
    y = rng.integers(0, 5, size=(8,))
    return (x, y), {"epsilon": 2.0}


def _ex_gce(rng):
    x = rng.normal(size=(8, 5)) * 2
    y = rng.integers(0, 5, size=(8,))
    return (x, y), {"q": 0.7}


# ------------------------------------------------------------------- losses
@register(
    "classification",
    "torch.nn.functional.nll_loss (class weights, ignore_index)",
    peers=("torch.nn.functional.nll_loss",),
    example=_ex_nll,
    mean="weighted",  # with class_weight, "mean" divides by the targets' summed weights
)
def nll_loss(
    log_probs: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    class_weight: Array | None = None,
    ignore_index: int | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Negative log-likelihood of log-probabilities, ``F.nll_loss``'s semantics.

    A sample with class index ``k`` and class weights ``w`` has

    .. math::
        \ell = -w_k\, x_k

    where ``x = log_probs`` (any array: it is not normalised here, as in
    PyTorch); ``"mean"`` divides the sum by ``sum w_k`` over the valid
    samples (PyTorch's rule; the number of valid samples without
    ``class_weight``). Targets equal to ``ignore_index`` or masked out
    contribute nothing; everything ignored gives 0 (PyTorch gives NaN).
    ``nll_loss(log_softmax(z), t)`` is :func:`corelosses.cross_entropy`
    ``(z, t)``.

    Probability targets (the input's shape) are also accepted:
    ``\ell = -\sum_c w_c y_c x_c``, ``"mean"`` over the valid samples (as
    ``F.cross_entropy`` does for probabilities). A class whose target mass is
    0 adds exactly 0 even where ``x_c = -inf``.

    Class indices are gathered (``take_along_axis``, one read per sample)
    where the namespace has it, and compared with the class range elsewhere
    (Dask): the same function. Rows are summed with a scale, so log-"probabilities"
    of either sign up to the float's maximum never give an intermediate
    overflow (``inf - inf``) in the rows or the batch sum.

    PyTorch's ``ignore_index`` default is -100; here it is None (off): pass
    ``ignore_index=-100`` for ``F.nll_loss(input, target)``'s number. PyTorch's
    class axis is 1: pass ``axis=1`` for ``(N, C, d1, ...)`` inputs.

    Parameters
    ----------
    log_probs : array
        Log-probabilities (any floating values), classes on ``axis``.
    target : array
        Integer class indices (``log_probs``'s shape without ``axis``) or
        probabilities (``log_probs``'s shape).
    axis : int
        The class axis.
    class_weight : array, optional
        One weight per class (``F.nll_loss``'s ``weight``).
    ignore_index : int, optional
        Class index to ignore (class-index targets only).
    weight : array, optional
        Per-sample weight, broadcast to the unreduced loss (multiplies the
        loss only, not the denominator of the class-weighted mean).
    mask, reduction
        As for every loss.

    Returns
    -------
    array
        Scalar, or one loss per sample for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> lp = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
    >>> round(float(cl.nll_loss(lp, np.array([0, 2]))), 6)
    0.43375
    """
    fname = "nll_loss"
    if ignore_index is None and weight is None and mask is None:
        c.check_reduction(fname, reduction)
        out = c.backend_of(log_probs, target).nll_native(
            log_probs, target, axis, class_weight, reduction
        )
        if out is not None:  # the plain case in one native kernel (same function)
            return out
    gather = hasattr(c.backend_of(log_probs).xp, "take_along_axis")
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname,
        log_probs,
        target,
        axis,
        ignore_index,
        mask,
        weight,
        reduction,
        "log_probs",
        one_hot=not gather,
    )
    cw = _class_vector(be, class_weight, cshape, x.dtype, fname, "class_weight", C)
    if y is None:
        return _nll_gather(be, xp, x, idx, cw, valid, weight, ax, C, reduction)
    ty = y if cw is None else y * cw
    v = _on_target(xp, ty, x)
    scale = _row_scale(be, xp, v, ax)
    rows = -xp.sum(ty * (v / scale), axis=ax)
    denom = None
    if idx is not None and cw is not None and reduction == "mean":
        denom = xp.sum(c.sanitize(xp, valid, xp.sum(ty, axis=ax)))
    scale = xp.squeeze(scale, axis=ax)
    return _reduce_scaled(be, xp, rows, scale, reduction, weight=weight, valid=valid, denom=denom)


def _nll_gather(be, xp, x, idx, cw, valid, weight, ax, C, reduction):
    """``nll_loss`` of class indices by ``take_along_axis``: O(N), not O(N C).

    The same function as the one-hot definition: an index outside ``[0, C)``
    that no value check saw matches no class (0), or gives NaN on a backend
    with jax's convention (:func:`corelosses._core.nan_out_of_range`).
    """
    inside = (idx >= 0) & (idx < C)
    use = inside if valid is None else xp.logical_and(inside, valid)
    safe = xp.where(use, idx, 0)
    if safe.dtype != xp.int64:  # torch gathers with int64 only; int32 labels (Keras) are common
        index_dtype = xp.__array_namespace_info__().default_dtypes()["indexing"]
        if safe.dtype != index_dtype:
            safe = xp.astype(safe, index_dtype)
    xt = xp.squeeze(xp.take_along_axis(x, xp.expand_dims(safe, axis=ax), axis=ax), axis=ax)
    xt = xp.where(use, xt, 0.0)
    scale = _scale_of(be, xp, xp.abs(xt))
    rows = -(xt / scale)
    denom = None
    if cw is not None:
        flat = xp.reshape(safe, (-1,))
        wt = xp.reshape(xp.take(xp.reshape(cw, (-1,)), flat, axis=0), tuple(safe.shape))
        wt = xp.where(use, wt, 0.0)
        rows = wt * rows
        if reduction == "mean":
            denom = xp.sum(wt)
    if be.nan_bad_indices and not be.concrete(idx):
        bad = xp.logical_not(inside) if valid is None else xp.logical_and(~inside, valid)
        rows = xp.where(bad, math.nan, rows)
    return _reduce_scaled(be, xp, rows, scale, reduction, weight=weight, valid=valid, denom=denom)


@register(
    "classification",
    "Kullback & Leibler 1951; torch.nn.functional.kl_div (batchmean), optax.kl_divergence",
    peers=(
        "torch.nn.functional.kl_div",
        "optax.kl_divergence",
        "optax.kl_divergence_with_log_targets",
        "keras.losses.KLDivergence",
    ),
    example=_ex_kl,
)
def kl_divergence(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    log_input: bool = True,
    log_target: bool = False,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Kullback-Leibler divergence ``KL(target || input)`` per sample.

    .. math::
        \ell = \sum_c t_c\, (\log t_c - \log p_c)

    summed over ``axis``, with ``log p = input`` (``log_input=True``, the
    default: log-probabilities, as ``F.kl_div`` and optax take them) or
    ``p = input``, and ``t = target`` (``log_target=True``: ``log t``).
    A class with ``t_c = 0`` contributes exactly 0, with a zero gradient,
    whatever ``p_c`` is (also ``log p_c = -inf``, and ``log t_c = -inf``
    with ``log_target=True``); ``t_c > 0`` with ``p_c = 0`` gives ``+inf``,
    the exact value. Probabilities (``target``, and ``input`` with
    ``log_input=False``) must lie in [0, 1]: checked where it costs no sync
    or trace; log-space arrays are not checked. Rows need not sum to 1 (see
    :func:`generalized_kl_divergence` for unnormalised measures).

    ``"none"`` gives one value per sample; ``"mean"`` averages the samples.
    The peers' numbers:

    - ``F.kl_div(input, target, reduction="batchmean")`` on ``(N, C)``
      is ``kl_divergence(input, target)``; for ``(N, C, d1, ...)`` it is
      ``kl_divergence(input, target, axis=1, reduction="sum") / N``.
      ``F.kl_div``'s ``"sum"`` is ours; its ``"mean"`` (over every element)
      is ours ``/ C``; its ``"none"`` (elementwise) summed over ``axis`` is
      our ``"none"``. ``log_target`` is the same option.
    - ``optax.kl_divergence(log_predictions, targets)`` is
      ``kl_divergence(log_predictions, targets, reduction="none")``;
      ``optax.kl_divergence_with_log_targets`` adds ``log_target=True``.
    - Keras ``KLDivergence()(y_true, y_pred)`` clips both probabilities to
      ``[1e-7, 1]`` (so a zero target counts as ``1e-7``):
      ``kl_divergence(clip(y_pred, 1e-7, 1), clip(y_true, 1e-7, 1),
      log_input=False)`` gives its number (Keras computes in float32).

    Parameters
    ----------
    input : array
        Log-probabilities (probabilities with ``log_input=False``), classes
        on ``axis``.
    target : array
        Probabilities (log-probabilities with ``log_target=True``), the
        input's shape.
    axis : int
        The class axis (summed over).
    log_input, log_target : bool
        Whether ``input`` / ``target`` are given as logarithms.
    weight : array, optional
        Per-sample weight, broadcast to the unreduced loss.
    mask, reduction
        As for every loss.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> t = np.array([[0.5, 0.5, 0.0]]); p = np.array([[0.25, 0.25, 0.5]])
    >>> round(float(cl.kl_divergence(np.log(p), t)), 6)
    0.693147
    >>> float(cl.kl_divergence(p, t, log_input=False)) == float(np.log(2))
    True
    """
    fname = "kl_divergence"
    _check_bool(fname, "log_input", log_input)
    _check_bool(fname, "log_target", log_target)
    if log_input and weight is None and mask is None:
        c.check_reduction(fname, reduction)
        be = c.backend_of(input, target)
        out = be.kl_div_native(input, target, axis, log_target, reduction)
        if out is not None:  # the plain case in one native kernel (same function)
            if not log_target:
                _check_probs(be, target, fname, "target", "", upper=True)
            return out
    be, xp, x, t, weight, valid, ax = _pair_prologue(
        fname, input, target, axis, mask, weight, reduction
    )
    pos, tp, d = _kl_parts(be, xp, x, t, log_input, log_target, fname)
    scale = _row_scale(be, xp, d, ax)
    rows = xp.sum(xp.where(pos, tp * (d / scale), 0.0), axis=ax)
    scale = xp.squeeze(scale, axis=ax)
    return _reduce_scaled(be, xp, rows, scale, reduction, weight=weight, valid=valid)


@register(
    "classification",
    "Bregman divergence of x log x - x (Boyd & Vandenberghe p. 90); optax.generalized_kl_divergence",
    peers=("optax.generalized_kl_divergence", "optax.convex_kl_divergence"),
    example=_ex_gkl,
)
def generalized_kl_divergence(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    log_input: bool = True,
    log_target: bool = False,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Generalized KL divergence of unnormalised measures, per sample.

    .. math::
        \ell = \sum_c \big(t_c \log(t_c / p_c) - t_c + p_c\big)

    over ``axis``; ``log_input`` and ``log_target`` as in
    :func:`kl_divergence` (``input`` is ``log p`` by default, as optax's
    ``log_predictions``). It is the Bregman divergence of ``x log x - x``:
    non-negative for any non-negative ``p`` and ``t``, 0 only at ``p = t``,
    and equal to :func:`kl_divergence` when both sum to 1. Zero targets give
    ``p_c`` exactly (no ``0 log 0`` NaN). ``target`` (and ``input`` with
    ``log_input=False``) must be non-negative: checked where it costs no sync
    or trace. The terms are summed per element (not as two sums), so a huge
    ``p`` gives ``+inf``, never ``inf - inf``.

    ``optax.generalized_kl_divergence(log_predictions, targets)`` (and its
    deprecated alias ``convex_kl_divergence``) is
    ``generalized_kl_divergence(log_predictions, targets, reduction="none")``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[1.0, 2.0]]); t = np.array([[2.0, 0.0]])
    >>> round(float(cl.generalized_kl_divergence(np.log(p), t)), 6)
    2.386294
    """
    fname = "generalized_kl_divergence"
    _check_bool(fname, "log_input", log_input)
    _check_bool(fname, "log_target", log_target)
    be, xp, x, t, weight, valid, ax = _pair_prologue(
        fname, input, target, axis, mask, weight, reduction
    )
    if not log_input:
        term, tp = _kl_terms(be, xp, x, t, log_input, log_target, fname)
        loss = xp.sum(term + (x - tp), axis=ax)
        return c.reduce(be, loss, reduction, weight=weight, valid=valid)
    # exp(log p) = inf (log p past the float's range) makes the element +inf; the
    # other branch then gets a safe log p, so -t log p cannot overflow to -inf
    # and give inf - inf (double-where: no NaN in the value or the gradient)
    p = xp.exp(x)
    big = xp.isinf(p)
    safe = xp.where(big, 0.0, x)
    term, tp = _kl_terms(be, xp, safe, t, log_input, log_target, fname)
    loss = xp.sum(xp.where(big, p, term + (xp.exp(safe) - tp)), axis=ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "classification",
    "Leng et al. 2022, PolyLoss (Poly-1); optax.poly_loss_cross_entropy",
    peers=("optax.poly_loss_cross_entropy",),
    example=_ex_poly,
)
def poly_loss(
    input: Array,
    target: Array,
    /,
    *,
    epsilon: float = 1.0,
    axis: int = -1,
    from_logits: bool = True,
    ignore_index: int | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""PolyLoss (Poly-1): cross entropy plus ``epsilon (1 - p_t)``.

    .. math::
        \ell = -\sum_c y_c \log p_c + \epsilon \sum_c y_c (1 - p_c)

    with ``p = softmax(input, axis)`` (or ``input`` itself with
    ``from_logits=False``); for a class index ``k`` (one-hot ``y``) this is
    ``-log p_k + epsilon (1 - p_k)``. Probability targets follow optax
    (``sum_c y_c (1 - p_c)``, which is ``1 - sum_c y_c p_c`` for a
    distribution). From logits, ``1 - p`` is ``-expm1(log p)``.
    ``epsilon = 0`` is :func:`corelosses.cross_entropy`;
    ``epsilon >= -1`` keeps the loss non-negative (the paper suggests 2 for
    ImageNet, -1 for detection).

    ``optax.poly_loss_cross_entropy(logits, labels, epsilon=e)`` is
    ``poly_loss(logits, labels, epsilon=e, reduction="none")``; optax's
    ``epsilon`` default is 2.0, the paper's Poly-1 formula is shown with 1.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([[2.0, 0.5, -1.0]])
    >>> round(float(cl.poly_loss(x, np.array([0]), epsilon=1.0)), 6)
    0.455714
    """
    fname = "poly_loss"
    c.check_number(fname, "epsilon", epsilon, finite=True)
    _check_bool(fname, "from_logits", from_logits)
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname, input, target, axis, ignore_index, mask, weight, reduction, "input"
    )
    logp = _log_probs(be, xp, x, ax, from_logits, fname)
    one_m_p = -xp.expm1(logp) if from_logits else 1.0 - x
    ce = -xp.sum(y * _on_target(xp, y, logp), axis=ax)
    loss = ce + epsilon * xp.sum(y * one_m_p, axis=ax) if epsilon else ce
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "classification",
    "Zhang & Sabuncu 2018, Generalized Cross Entropy Loss for Noisy Labels",
    peers=("keras.losses.CategoricalGeneralizedCrossEntropy",),
    example=_ex_gce,
)
def generalized_cross_entropy(
    input: Array,
    target: Array,
    /,
    *,
    q: float = 0.7,
    axis: int = -1,
    from_logits: bool = True,
    ignore_index: int | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Generalized cross entropy (the ``L_q`` loss), robust to noisy labels.

    .. math::
        \ell = \frac{1 - p_k^{\,q}}{q}

    for a class index ``k``, with ``p = softmax(input, axis)`` (or ``input``
    itself with ``from_logits=False``). ``q = 1`` is the MAE-like
    ``1 - p_k``; ``q -> 0`` tends to cross entropy, and ``q = 0`` is taken as
    that limit (exactly :func:`corelosses.cross_entropy`). Probability
    targets give ``sum_c y_c (1 - p_c^q) / q`` (the same for one-hot ``y``,
    cross entropy as ``q -> 0``). From logits it is computed as
    ``-expm1(q log p_k) / q``: accurate for small ``q`` and bounded by ``1/q``
    at any logit.

    Keras ``CategoricalGeneralizedCrossEntropy(q=q)(y_true, y_pred)`` takes
    probabilities and class indices and averages over the batch:
    ``generalized_cross_entropy(y_pred, y_true, q=q, from_logits=False)``.
    Keras' ``q`` default is 0.5, the paper's (used here) 0.7; Keras rejects
    ``q = 1``, allowed here.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[0.64, 0.36]])
    >>> round(float(cl.generalized_cross_entropy(p, np.array([0]), q=0.5, from_logits=False)), 6)
    0.4
    """
    fname = "generalized_cross_entropy"
    c.check_number(fname, "q", q, low=0, high=1)
    _check_bool(fname, "from_logits", from_logits)
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname, input, target, axis, ignore_index, mask, weight, reduction, "input"
    )
    if q == 0:
        logp = _log_probs(be, xp, x, ax, from_logits, fname)
        term = -_on_target(xp, y, logp)
    elif from_logits:
        term = -xp.expm1(q * be.log_softmax(x, axis=ax)) / q
    else:
        c.check_unit_interval(be, x, fname)
        pos = x > 0
        # a power (gradient q p ** (q - 1)), not exp(q log p), whose 1/p overflows
        pq = xp.where(pos, xp.where(pos, x, 1.0) ** q, 0.0)
        term = (1.0 - pq) / q
    loss = xp.sum(y * term, axis=ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)
