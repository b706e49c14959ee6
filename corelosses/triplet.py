"""The triplet margin loss: ``F.triplet_margin_loss``, ``F.triplet_margin_with_distance_loss``
(``distance=`` a callable) and ``optax.losses.triplet_margin_loss``.

It shares :mod:`corelosses.embedding`'s conventions and helpers (one value per
sample over the vector ``axis``; vectors scaled by a power of two before any
norm; PyTorch's hinge ``clamp_min(z, 0)``). ``F.triplet_margin_loss`` is not
called: it is NaN at float32 magnitudes near 1e30, where the definition is
finite. For ``p = 2`` on eager torch and JAX an unscaled fast path (one norm
pass per distance: ``torch.linalg.vector_norm`` on torch) serves the inputs
whose distances are all in range, where it is the definition bit for bit; the scaled
definition runs otherwise (:func:`_builtin_loss`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import _core as c
from ._class_common import _check_bool
from ._registry import register
from .embedding import _absmax, _clamp0, _pnorm, _pow2_scale, _vectors

Array = Any

__all__ = ["triplet_margin_loss"]


def _ex_triplet(rng):
    import numpy as np

    a = rng.normal(size=(8, 5))
    pos = a + 0.6 * rng.normal(size=(8, 5))
    neg = a + 0.9 * rng.normal(size=(8, 5))
    dp = np.linalg.norm(a - pos + 1e-6, axis=-1)
    dn = np.linalg.norm(a - neg + 1e-6, axis=-1)
    z = 1.0 + dp - dn
    neg = np.where((np.abs(z) < 0.05)[:, None], neg * 1.5, neg)  # away from the kink
    return (a, pos, neg), {}


# ------------------------------------------------------------------- losses
@register(
    "embedding",
    "Balntas et al. 2016; torch.nn.functional.triplet_margin_loss, optax.triplet_margin_loss",
    peers=(
        "torch.nn.functional.triplet_margin_loss",
        "torch.nn.functional.triplet_margin_with_distance_loss",
        "optax.losses.triplet_margin_loss",
    ),
    example=_ex_triplet,
    grad_argnums=(0, 1, 2),
)
def triplet_margin_loss(
    anchor: Array,
    positive: Array,
    negative: Array,
    /,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    distance: Callable[[Array, Array], Array] | None = None,
    axis: int = -1,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Triplet margin loss: the anchor nearer the positive than the negative by a margin.

    .. math::
        \ell = \max(0,\ \text{margin} + d(a, p) - d(a, n)),\qquad
        d(x, y) = \|x - y + \epsilon\|_p

    per triplet, the norm over ``axis``; ``eps`` is added to the *difference*,
    PyTorch's ``pairwise_distance``. With ``swap=True``,
    ``d(a, n)`` is replaced by ``min(d(a, n), d(p, n))`` (Balntas et al.'s
    distance swap). ``p`` may be any positive number or ``math.inf``.
    ``triplet_margin_loss(a, p, n, ...)`` is ``F.triplet_margin_loss(a, p, n,
    ...)`` for every reduction (PyTorch's vectors are on the last axis of a
    1-D or 2-D input; here on ``axis`` of any rank). At a zero difference
    (``eps=0``) the gradient is 0, as ``torch.linalg.vector_norm``'s.
    Computed on differences scaled by a power of two (finite at float32 1e30,
    where ``F.triplet_margin_loss`` is NaN); for ``p = 2`` on torch and JAX
    an unscaled fast path, exact where every distance is in range, runs first
    (one check per call: read on concrete CPU arrays, ``lax.cond`` under
    ``jax.jit``, ``torch.cond`` under ``torch.compile``).

    ``distance`` (a callable ``distance(x, y) -> one distance per triplet``,
    called with the caller's arrays in the compute dtype; masked-out triplets
    are replaced by fixed nonzero vectors first) replaces ``d``:
    ``F.triplet_margin_with_distance_loss(a, p, n, distance_function=f,
    margin=m, swap=s)`` is ``triplet_margin_loss(a, p, n, distance=f,
    margin=m, swap=s)``. ``p`` and ``eps`` then do not apply.

    ``optax.losses.triplet_margin_loss(a, p, n, norm_degree=q, eps=e)`` takes
    ``(sum (a - p)^q + e)^(1/q)`` (``eps`` inside the root, no absolute
    value) and returns one loss per triplet: for ``q = 2`` it is
    ``triplet_margin_loss(a, p, n, distance=lambda x, y: xp.sqrt(xp.sum((x -
    y) ** 2, axis=-1) + e), reduction="none")``.

    Parameters
    ----------
    anchor, positive, negative : array
        Embeddings along ``axis``, of one shape.
    margin : float
        The required distance gap.
    p : float
        The norm's degree, ``> 0`` (``math.inf``: the max norm).
    eps : float
        Added to every difference before the norm.
    swap : bool
        Use the distance swap.
    distance : callable, optional
        A distance replacing ``d``; returns the loss's shape.
    axis : int
        The embedding axis.
    weight : array, optional
        Per-triplet weight, broadcast to the unreduced loss.
    mask, reduction
        As for every loss; ``"none"`` gives one value per triplet.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> a = np.array([[0.0, 0.0]]); pos = np.array([[0.0, 1.0]]); neg = np.array([[1.0, 1.0]])
    >>> round(float(cl.triplet_margin_loss(a, pos, neg, eps=0.0)), 6)
    0.585786
    >>> round(float(cl.triplet_margin_loss(a, pos, neg, p=1.0, eps=0.0)), 6)
    0.0
    """
    fname = "triplet_margin_loss"
    c.check_number(fname, "margin", margin, finite=True)
    c.check_number(fname, "p", p, low=0, low_open=True)
    c.check_number(fname, "eps", eps, finite=True)
    _check_bool(fname, "swap", swap)
    if distance is not None and not callable(distance):
        raise TypeError(
            f"{fname}: 'distance' must be a callable distance(x, y) or None, "
            f"got {type(distance).__name__}"
        )
    if distance is not None and (p != 2.0 or eps != 1e-6):
        raise ValueError(
            f"{fname}: 'p' and 'eps' apply to the built-in distance only (distance=None)"
        )
    fills = (1.0, 2.0, -1.0) if distance is not None else None
    be, xp, (a, pos, neg), w, valid, ax, shape = _vectors(
        fname,
        (anchor, positive, negative),
        ("anchor", "positive", "negative"),
        axis,
        mask,
        weight,
        reduction,
        fills,
    )
    if distance is None:
        loss = _builtin_loss(be, xp, a, pos, neg, valid, ax, shape, margin, p, eps, swap)
    else:

        def dist(x, y):
            return _call_distance(distance, x, y, shape, fname)

        loss = _hinge(xp, dist, a, pos, neg, margin, swap)[0]
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


def _hinge(xp, dist, a, pos, neg, margin, swap):
    """``(max(0, margin + d(a, p) - d(a, n)), the distances computed)``."""
    ds = [dist(a, pos), dist(a, neg)]
    dn = ds[1]
    if swap:
        ds.append(dist(pos, neg))
        dn = xp.where(ds[2] < dn, ds[2], dn)
    return _clamp0(xp, margin + ds[0] - dn), ds


def _builtin_loss(be, xp, a, pos, neg, valid, ax, shape, margin, p, eps, swap):
    """The unreduced loss with ``d(x, y) = |x - y + eps|_p``.

    The definition (``scaled``) divides each triplet by a power of two, so no
    difference or power overflows or underflows. Dividing by a power of two is
    exact in range, so there the unscaled computation gives the same rounding,
    value and gradient alike: for ``p = 2`` (native switch on) the loss is
    computed unscaled first (one norm pass per distance) and kept when every
    (valid) distance lies in ``[sqrt(tiny) / eps_mach, sqrt(max))``, where no
    square can overflow and underflowed squares are far below the sum's last
    bit; otherwise the scaled definition runs. Where the check cannot be read
    eagerly, under ``jax.jit`` and ``torch.compile``, a ``lax.cond`` /
    ``torch.cond`` that is not differentiated hands back the fast distances or
    the definition's (``parts``, with its scale), and the loss is
    differentiated given them (:meth:`Backend.guarded`): the backward pass is
    one elementwise sweep either way; elsewhere (eager off the CPU) the
    definition runs.
    """

    p_, eps_ = p, eps  # (parts' own: see below)

    def parts(a, pos, neg):
        # the definition's distances and the inverse k of its scale: one power of
        # two per triplet, so no difference overflows and the hinge is taken on
        # distances that fit (margin + d_p - d_n is homogeneous: the loss is
        # hinge(margin k, d_p k, d_n k) / k); s <= max / 4 keeps the backward
        # pass's s * (dd_p - dd_n) finite too
        m = xp.maximum(xp.maximum(_absmax(xp, a, ax), _absmax(xp, pos, ax)), _absmax(xp, neg, ax))
        s = _pow2_scale(be, xp, m, 4.0)
        a, pos, neg, es = a / s, pos / s, neg / s, eps_ / s

        def dist(x, y):
            return _pnorm(be, xp, be.diff_plus(x, y, es), p_, ax)

        ds = [dist(a, pos), dist(a, neg)] + ([dist(pos, neg)] if swap else [])
        return tuple(ds), 1.0 / xp.squeeze(s, axis=ax)

    def hinge(dist, a, pos, neg, k):
        # the loss (and the distances) at scale k (None: 1)
        loss, ds = _hinge(xp, dist, a, pos, neg, margin if k is None else margin * k, swap)
        return (loss if k is None else loss / k), ds

    def scaled(a, pos, neg):
        ds, k = parts(a, pos, neg)
        known = iter(ds)
        return hinge(lambda x, y: next(known), a, pos, neg, k)[0]

    plain = p == 2.0 and math.prod(shape) > 0 and a.dtype in (xp.float32, xp.float64)
    # autodiff backends only (NumPy-likes would warn on an overflowing attempt),
    # where the guard can pick the fast path (eager CPU arrays, or a cond)
    if not (be.native and be.has_autodiff and plain and be.guards(a)):
        return scaled(a, pos, neg)
    fi = xp.finfo(a.dtype)
    lo, hi = math.sqrt(fi.smallest_normal) / fi.eps, math.sqrt(fi.max)
    # under a trace parts runs in a cond, whose branches take arrays and ints only:
    # no Python float there (one traced symbolically, as torch.compile(dynamic=True)
    # does, could not enter it); eps as a 0-d array gives the same quotients (read
    # eagerly, no cond: the float, and no array made on the hot path)
    p_, eps_ = 2.0, eps if be.concrete(a) else xp.full((), eps, dtype=a.dtype)

    def fast(a, pos, neg, saved=None, scale=None):
        # (loss, whether it is the definition's, the distances); given the
        # distances at scale ``scale`` (``saved``: this function's own, scale
        # None, or ``parts``'), the loss without recomputing them
        known = iter(saved or ())
        k = None if scale is None else xp.expand_dims(scale, axis=ax)

        def dist(x, y):
            return be.norm2_diff(x, y, eps, ax, value=next(known, None), scale=k)

        loss, ds = hinge(dist, a, pos, neg, scale)
        dmin, dmax = ds[0], ds[0]
        for d in ds[1:]:
            dmin, dmax = xp.minimum(dmin, d), xp.maximum(dmax, d)
        good = (dmin >= lo) & (dmax < hi)  # NaN: False
        if valid is not None:
            good = good | ~xp.broadcast_to(valid, shape)
        return loss, xp.all(good), tuple(ds)

    return be.guarded(fast, scaled, (a, pos, neg), parts)


def _call_distance(distance, x, y, shape, fname):
    d = distance(x, y)
    if not hasattr(d, "shape") or tuple(d.shape) != tuple(shape):
        got = tuple(d.shape) if hasattr(d, "shape") else type(d).__name__
        raise ValueError(
            f"{fname}: 'distance' must return one distance per triplet, shape {tuple(shape)}, "
            f"got {got}"
        )
    return d
