"""Embedding losses: cosine distance, cosine embedding, hinge embedding, margin ranking, triplet margin.

- :func:`cosine_distance`: ``1 - cos(input, target)`` over ``axis``
  (``optax.losses.cosine_distance``; Keras ``CosineSimilarity`` is this minus 1);
- :func:`cosine_embedding_loss`: ``F.cosine_embedding_loss``;
- :func:`hinge_embedding_loss`: ``F.hinge_embedding_loss``;
- :func:`margin_ranking_loss`: ``F.margin_ranking_loss``;
- :func:`triplet_margin_loss` (in :mod:`corelosses.triplet`, on these helpers):
  ``F.triplet_margin_loss``, ``F.triplet_margin_with_distance_loss``
  (``distance=`` a callable) and ``optax.losses.triplet_margin_loss``.

The losses over a vector axis give one value per sample (the input's shape
without ``axis``): ``mask`` and ``weight`` broadcast to that shape, as for
:func:`corelosses.kl_divergence`. Vectors are scaled by a power of two (a
constant for autodiff) before any norm, so a cosine or a distance of float32
vectors at 1e30 is finite: the formulas are homogeneous, so the value and the
gradient are those of the formula. Hinges are PyTorch's ``clamp_min(z, 0)``:
the gradient at ``z = 0`` exactly passes (as in ``F.*``), and NaN propagates.

No ``F.*`` kernel is called: ``F.triplet_margin_loss`` is not the same
function at float32 extremes (NaN at 1e30, where the definition is finite).
The 2-norm is a backend primitive (``Backend.norm2``: ``torch.linalg.vector_norm``
on torch) in both settings of :func:`corelosses.native`, so the triplet loss's
unscaled fast path and its scaled definition round alike.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = [
    "cosine_distance",
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
]

#: ``F.cosine_embedding_loss`` adds this to both squared norms (ATen's EPSILON)
_TORCH_COS_EPS = 1e-12


# ------------------------------------------------------------------ helpers
def _clamp0(xp: Any, z: Array) -> Array:
    """``clamp_min(z, 0)``: gradient 1 at ``z = 0`` (PyTorch's), NaN propagates."""
    return xp.where(z < 0, 0.0, z)


def _check_signs(be: Any, xp: Any, t: Array, fname: str) -> None:
    """Labels in ``{-1, 1}``, checked where it costs no sync or trace (NaN passes)."""
    if be.concrete(t) and math.prod(t.shape) > 0:
        ok = (t == 1.0) | (t == -1.0) | (t != t)
        lo, _ = be.value_range(xp.astype(ok, t.dtype))
        if float(lo) < 1:
            raise ValueError(f"{fname}: 'target' must hold labels in {{-1, 1}}")


def _absmax(xp: Any, v: Array, ax: int) -> Array:
    """``max |v|`` over ``ax`` (kept); 0 for an empty array (Dask's max fails there)."""
    if math.prod(v.shape) == 0:
        return xp.sum(v, axis=ax, keepdims=True)
    return xp.max(xp.abs(v), axis=ax, keepdims=True)


def _pow2_scale(be: Any, xp: Any, m: Array, low: float = 1.0) -> Array:
    """A power of two ``s <= m / low`` where ``m > low`` is finite, else 1; no gradient.

    Dividing by it is exact, so in-range vectors give the unscaled rounding."""
    big = (m > low) & (m < math.inf)
    s = 2.0 ** xp.floor(xp.log2(xp.where(big, m / low, 1.0)))
    return be.stop_gradient(s)


def _unit(be: Any, xp: Any, a: Array, ax: int, eps: float, add: bool) -> Array:
    """``a / sqrt(max(|a|^2, eps))`` (optax) or ``a / sqrt(|a|^2 + eps)`` (``add``, torch).

    Computed on ``a / s`` with ``eps / s^2`` (the same function for a constant
    ``s``), so no square overflows; a zero vector gives 0 with a finite gradient.
    """
    s = _pow2_scale(be, xp, _absmax(xp, a, ax))
    u = a / s
    n2 = xp.sum(u * u, axis=ax, keepdims=True)
    es = (eps / s) / s
    d2 = n2 + es if add else xp.where(n2 < es, es, n2)
    pos = d2 > 0
    return u / xp.sqrt(xp.where(pos, d2, 1.0))


def _pnorm(be: Any, xp: Any, d: Array, p: float, ax: int) -> Array:
    """``(sum |d|^p)^(1/p)`` over ``ax`` (``max |d|`` for ``p = inf``).

    The gradient at a zero vector is 0 (the double-``where``), as
    ``torch.linalg.vector_norm``'s. The sum is taken on ``u = d / t``, ``t <= 1``
    the power of two at ``max |d|`` for small vectors (exact: the same
    rounding), so no power underflows and the root's backward pass stays
    bounded (``|u|_p >= 1``, and the incoming gradient is multiplied by
    ``t <= 1``). The caller keeps ``|d|`` small enough for ``|d|^p`` (the
    triplet loss scales its inputs).
    """
    if math.prod(d.shape) == 0:  # Dask's max fails on zero-size arrays
        return xp.sum(d, axis=ax)
    if p == 1:
        return xp.sum(be.abs0(d), axis=ax)  # gradient 0 at d = 0, as torch's
    m = xp.max(xp.abs(d), axis=ax, keepdims=True)
    pos = m > 0
    if p == math.inf:  # the gradient at a zero vector: 0 (jax's |.| has 1 at 0)
        m = xp.max(xp.abs(xp.where(pos, d, 1.0)), axis=ax, keepdims=True)
        return xp.squeeze(xp.where(pos, m, 0.0), axis=ax)
    ok = pos & (m < math.inf)
    e = xp.floor(xp.log2(xp.where(ok, m, 1.0)))
    emin = -126.0 if d.dtype == xp.float32 else -1022.0  # log2 of the smallest normal
    e = xp.where(e < emin, emin, xp.where(e > 0.0, 0.0, e))
    t = be.stop_gradient(2.0**e)
    u = d / t
    if p == 2:
        r = be.norm2(u, ax)
    else:
        au = xp.abs(u)
        nz = au > 0
        ss = xp.sum(xp.where(nz, xp.where(nz, au, 1.0) ** p, 0.0), axis=ax)
        pos = ss > 0
        r = xp.where(pos, xp.where(pos, ss, 1.0) ** (1.0 / p), 0.0)
    return r * xp.squeeze(t, axis=ax)


def _fill_along(
    xp: Any, valid: Array | None, x: Array, shape: tuple, ax: int, fill: float
) -> Array:
    if valid is None:
        return x
    return xp.where(xp.expand_dims(xp.broadcast_to(valid, shape), axis=ax), x, fill)


def _vectors(fname, arrays, names, axis, mask, weight, reduction, fills=None):
    """Prologue of the vector losses: arrays of one shape, one loss per vector.

    Returns ``(be, xp, arrays, weight, valid, ax, loss_shape)``, the arrays in
    their common compute dtype and replaced by ``fills`` (0 by default) in
    masked-out vectors.
    """
    c.check_reduction(fname, reduction)
    be = c.backend_of(*arrays, mask, weight)
    xp = be.xp
    xs = [c.floating(be, a, fname, n) for a, n in zip(arrays, names)]
    dt = xs[0].dtype
    for a in xs[1:]:
        if a.dtype != dt:
            dt = xp.result_type(dt, a.dtype)
    xs = [c.cast_to(be, a, dt) for a in xs]
    for a, n in zip(xs[1:], names[1:]):
        if tuple(a.shape) != tuple(xs[0].shape):
            raise ValueError(
                f"{fname}: '{n}' must have the shape of '{names[0]}' {tuple(xs[0].shape)}, "
                f"got {tuple(a.shape)}"
            )
    ax = c.normalize_axis(fname, "axis", axis, xs[0].ndim)
    if xs[0].shape[ax] == 0:
        raise ValueError(
            f"{fname}: '{names[0]}' needs vectors of at least one entry along axis {ax}, "
            f"got shape {tuple(xs[0].shape)}"
        )
    shape = tuple(xs[0].shape[:ax] + xs[0].shape[ax + 1 :])
    valid, weight = c.mask_and_weight(be, mask, weight, shape, dt, fname)
    fills = fills or (0.0,) * len(xs)
    xs = [_fill_along(xp, valid, a, shape, ax, f) for a, f in zip(xs, fills)]
    return be, xp, xs, weight, valid, ax, shape


def _labels(be, xp, target, shape, dtype, valid, fname):
    """``{-1, 1}`` labels of the loss's ``shape`` in ``dtype``; 1 under the mask."""
    if not hasattr(target, "shape") or tuple(target.shape) != tuple(shape):
        got = tuple(target.shape) if hasattr(target, "shape") else type(target).__name__
        raise ValueError(f"{fname}: 'target' must have the shape {tuple(shape)}, got {got}")
    t = c.cast_to(be, target, dtype)
    if valid is not None:
        t = xp.where(valid, t, 1.0)
    _check_signs(be, xp, t, fname)
    return t


# ------------------------------------------------------------------ examples
def _ex_cos(rng):
    x = rng.normal(size=(6, 5))
    y = x + rng.normal(size=(6, 5))
    return (x, y), {}


def _ex_cos_emb(rng):
    import numpy as np

    x1 = rng.normal(size=(8, 5))
    x2 = x1 * rng.choice([-1.0, 1.0], size=(8, 1)) + 0.8 * rng.normal(size=(8, 5))
    y = np.where(rng.uniform(size=8) < 0.5, -1, 1)
    return (x1, x2, y), {"margin": 0.1}


def _ex_hinge_emb(rng):
    import numpy as np

    x = rng.uniform(0.0, 2.0, size=(6, 4))
    x = np.where(np.abs(x - 1.0) < 0.1, x + 0.25, x)  # away from the kink margin - x = 0
    y = np.where(rng.uniform(size=(6, 4)) < 0.5, -1, 1)
    return (x, y), {}


def _ex_ranking(rng):
    import numpy as np

    x1, x2 = rng.normal(size=(2, 10))
    y = np.where(rng.uniform(size=10) < 0.5, -1, 1)
    z = -y * (x1 - x2) + 0.2
    x1 = np.where(np.abs(z) < 0.05, x1 + 0.2 * y, x1)  # away from the kink
    return (x1, x2, y), {"margin": 0.2}


@register(
    "embedding",
    "cosine distance 1 - cos; optax.losses.cosine_distance, Keras CosineSimilarity",
    peers=("optax.losses.cosine_distance", "keras.losses.CosineSimilarity"),
    example=_ex_cos,
    grad_argnums=(0, 1),
)
def cosine_distance(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    eps: float = 1e-8,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Cosine distance ``1 - cos(input, target)`` per sample, over ``axis``.

    .. math::
        \ell = 1 - \sum_i \frac{x_i}{\sqrt{\max(\|x\|^2, \epsilon)}}
        \frac{y_i}{\sqrt{\max(\|y\|^2, \epsilon)}}

    ``eps`` floors each *squared* norm, exactly as optax's ``epsilon`` does:
    ``cosine_distance(x, y, eps=e, reduction="none")`` is
    ``optax.losses.cosine_distance(x, y, epsilon=e)`` (optax's default
    ``epsilon`` is 0). A zero vector has cosine 0 (distance 1) with a finite
    gradient, also with ``eps=0`` (where optax gives NaN). The value lies in
    ``[0, 2]``.

    Keras ``CosineSimilarity()(y_true, y_pred)`` is ``-cos`` averaged over the
    batch, with norms floored at ``1e-7``:
    ``cosine_distance(y_pred, y_true, eps=1e-14) - 1``.

    Parameters
    ----------
    input, target : array
        Vectors along ``axis``, of one shape.
    axis : int
        The vector axis (reduced).
    eps : float
        Floor of the squared norms, ``>= 0``.
    weight : array, optional
        Per-sample weight, broadcast to the unreduced loss (the input's shape
        without ``axis``).
    mask, reduction
        As for every loss; ``"none"`` gives one value per sample.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([[1.0, 0.0], [1.0, 1.0]]); y = np.array([[0.0, 2.0], [2.0, 2.0]])
    >>> cl.cosine_distance(x, y, reduction="none").round(6)
    array([1., 0.])
    """
    fname = "cosine_distance"
    c.check_number(fname, "eps", eps, low=0, finite=True)
    be, xp, (x, y), w, valid, ax, _ = _vectors(
        fname, (input, target), ("input", "target"), axis, mask, weight, reduction
    )
    cos = xp.sum(_unit(be, xp, x, ax, eps, False) * _unit(be, xp, y, ax, eps, False), axis=ax)
    return c.reduce(be, 1.0 - cos, reduction, weight=w, valid=valid)


@register(
    "embedding",
    "torch.nn.functional.cosine_embedding_loss",
    peers=("torch.nn.functional.cosine_embedding_loss",),
    example=_ex_cos_emb,
    grad_argnums=(0, 1),
)
def cosine_embedding_loss(
    x1: Array,
    x2: Array,
    target: Array,
    /,
    *,
    margin: float = 0.0,
    axis: int = -1,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Cosine embedding loss of pairs labelled similar (1) or dissimilar (-1).

    .. math::
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
        \max(0,\ \cos(x_1, x_2) - \text{margin}) & y = -1 \end{cases}

    with ``cos = x1 . x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))``, PyTorch's
    formula (its ``1e-12`` included), so a zero vector has cosine 0 and a
    finite gradient. The same as ``F.cosine_embedding_loss`` for every
    reduction (PyTorch's vectors are on the last axis of a 1-D or 2-D input;
    here on ``axis`` of any rank). ``target`` (the input's shape without
    ``axis``) must hold -1 or 1: checked where it costs no sync or trace;
    elsewhere another value gives 0, as in PyTorch.

    Parameters
    ----------
    x1, x2 : array
        Vectors along ``axis``, of one shape.
    target : array
        Labels in ``{-1, 1}``, one per pair.
    margin : float
        The dissimilar pairs' cosine margin (PyTorch suggests ``[0, 0.5]``).
    axis : int
        The vector axis.
    weight : array, optional
        Per-pair weight, broadcast to the unreduced loss.
    mask, reduction
        As for every loss; ``"none"`` gives one value per pair.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x1 = np.array([[1.0, 0.0], [1.0, 1.0]]); x2 = np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> cl.cosine_embedding_loss(x1, x2, np.array([1, -1]), reduction="none").round(6)
    array([0.292893, 0.707107])
    """
    fname = "cosine_embedding_loss"
    c.check_number(fname, "margin", margin, finite=True)
    be, xp, (a, b), w, valid, ax, shape = _vectors(
        fname, (x1, x2), ("x1", "x2"), axis, mask, weight, reduction
    )
    t = _labels(be, xp, target, shape, a.dtype, valid, fname)
    cos = xp.sum(
        _unit(be, xp, a, ax, _TORCH_COS_EPS, True) * _unit(be, xp, b, ax, _TORCH_COS_EPS, True),
        axis=ax,
    )
    loss = xp.where(t == 1.0, 1.0 - cos, 0.0) + xp.where(t == -1.0, _clamp0(xp, cos - margin), 0.0)
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


@register(
    "embedding",
    "torch.nn.functional.hinge_embedding_loss",
    peers=("torch.nn.functional.hinge_embedding_loss",),
    example=_ex_hinge_emb,
)
def hinge_embedding_loss(
    input: Array,
    target: Array,
    /,
    *,
    margin: float = 1.0,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Hinge embedding loss of distances labelled similar (1) or dissimilar (-1).

    .. math::
        \ell = \begin{cases} x & y = 1 \\ \max(0,\ \text{margin} - x) & y = -1 \end{cases}

    elementwise, ``x`` typically a distance (e.g. an L1 distance of two
    embeddings). The same as ``F.hinge_embedding_loss`` for every reduction.
    ``target`` must hold -1 or 1 (checked where it costs no sync or trace;
    elsewhere another value gives PyTorch's ``x + max(0, margin - x)``).

    Parameters
    ----------
    input : array
        Distances (any floating values).
    target : array
        Labels in ``{-1, 1}``, the input's shape.
    margin : float
        The dissimilar pairs' margin.
    weight, mask, reduction
        As for every loss (elementwise).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([0.3, 0.3, 2.0])
    >>> cl.hinge_embedding_loss(x, np.array([1, -1, -1]), reduction="none")
    array([0.3, 0.7, 0. ])
    """
    fname = "hinge_embedding_loss"
    c.check_number(fname, "margin", margin, finite=True)
    be, xp, x, t, w, valid = c.pair_setup(
        fname, input, target, weight=weight, mask=mask, reduction=reduction
    )
    if valid is not None:
        t = xp.where(valid, t, 1.0)
    _check_signs(be, xp, t, fname)
    loss = xp.where(t != 1.0, _clamp0(xp, margin - x), 0.0) + xp.where(t != -1.0, x, 0.0)
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


@register(
    "embedding",
    "torch.nn.functional.margin_ranking_loss",
    peers=("torch.nn.functional.margin_ranking_loss",),
    example=_ex_ranking,
    grad_argnums=(0, 1),
)
def margin_ranking_loss(
    x1: Array,
    x2: Array,
    target: Array,
    /,
    *,
    margin: float = 0.0,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Margin ranking loss: ``x1`` should rank above ``x2`` where ``y = 1``, below where -1.

    .. math::
        \ell = \max(0,\ -y\, (x_1 - x_2) + \text{margin})

    elementwise; the same as ``F.margin_ranking_loss`` for every reduction.
    ``target`` must hold -1 or 1 (checked where it costs no sync or trace).

    Parameters
    ----------
    x1, x2 : array
        Scores of one shape.
    target : array
        Labels in ``{-1, 1}``, the scores' shape.
    margin : float
        The required score gap.
    weight, mask, reduction
        As for every loss (elementwise).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x1, x2 = np.array([2.0, 0.5]), np.array([1.0, 1.0])
    >>> cl.margin_ranking_loss(x1, x2, np.array([1, 1]), margin=0.5, reduction="none")
    array([0., 1.])
    """
    fname = "margin_ranking_loss"
    c.check_number(fname, "margin", margin, finite=True)
    c.check_reduction(fname, reduction)
    be = c.backend_of(x1, x2, target, weight, mask)
    xp = be.xp
    a = c.floating(be, x1, fname, "x1")
    b = c.floating(be, x2, fname, "x2")
    if a.dtype != b.dtype:
        dt = xp.result_type(a.dtype, b.dtype)
        a, b = c.cast_to(be, a, dt), c.cast_to(be, b, dt)
    c.check_same_shape(fname, a, b, "x2")
    c.check_same_shape(fname, a, target)
    valid, w = c.mask_and_weight(be, mask, weight, a.shape, a.dtype, fname)
    a, b = c.sanitize(xp, valid, a), c.sanitize(xp, valid, b)
    t = c.cast_to(be, target, a.dtype)
    if valid is not None:
        t = xp.where(valid, t, 1.0)
    _check_signs(be, xp, t, fname)
    return c.reduce(be, _clamp0(xp, margin - t * (a - b)), reduction, weight=w, valid=valid)
