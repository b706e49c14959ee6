"""What the metric-learning losses share: the input prologue, safe norms and cosines, the
masked row logsumexp (:mod:`corelosses.metric`)."""

from __future__ import annotations

import math
from typing import Any

from . import _core as c

Array = Any

#: pytorch-metric-learning's normalisation epsilon (``F.normalize``'s clamp)
_PML_EPS = 1e-12


def _setup(fname, embeddings, labels, mask, reduction):
    """Checks; returns ``(be, xp, x, pos, neg, valid)`` with ``x`` sanitized where
    masked and the (N, N) boolean positive / negative pair masks."""
    c.check_reduction(fname, reduction)
    be = c.backend_of(embeddings, labels, mask)
    xp = be.xp
    x = c.floating(be, embeddings, fname, "embeddings")
    if x.ndim != 2:
        raise ValueError(
            f"{fname}: 'embeddings' must be 2-D (batch, features), got shape {tuple(x.shape)}"
        )
    if not xp.isdtype(labels.dtype, "integral"):
        raise TypeError(f"{fname}: 'labels' must be integers, got dtype {labels.dtype}")
    n = x.shape[0]
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"{fname}: 'labels' must have shape ({n},) (one label per embedding), "
            f"got {tuple(labels.shape)}"
        )
    valid = c.as_mask(be, mask, (n,), fname)
    same = xp.expand_dims(labels, axis=1) == xp.expand_dims(labels, axis=0)
    idx = be.arange(n, x)
    eye = xp.expand_dims(idx, axis=1) == xp.expand_dims(idx, axis=0)
    pos = xp.logical_and(same, xp.logical_not(eye))
    neg = xp.logical_not(same)
    if valid is not None:
        valid = xp.broadcast_to(valid, (n,))
        x = xp.where(xp.expand_dims(valid, axis=1), x, 0.0)
        both = xp.logical_and(xp.expand_dims(valid, axis=1), xp.expand_dims(valid, axis=0))
        pos = xp.logical_and(pos, both)
        neg = xp.logical_and(neg, both)
    return be, xp, x, pos, neg, valid


def _empty(be, xp, x, reduction):
    """An empty batch: ``(0,)`` for "none", 0 otherwise (connected to the input)."""
    return c.reduce(be, xp.sum(x, axis=1) * 0.0, reduction)


def _scaled(be, xp, v, axis=-1):
    """``(a, y, |y|)`` with ``v = a y``, ``a`` the largest magnitude along ``axis``
    (held constant: the gradient stays exact) and ``|y|`` the Euclidean norm of
    ``y`` (in ``[1, sqrt(D)]`` or 0), with a zero gradient at 0."""
    a = be.stop_gradient(xp.max(xp.abs(v), axis=axis, keepdims=True))
    a = xp.where(xp.logical_and(a > 0, xp.isfinite(a)), a, 1.0)
    # XLA divides by multiplying with 1/a, flushed to 0 when subnormal (a > 2^126
    # in float32): bring large rows down by an exact power of two first
    k = be.stop_gradient(xp.where(a > 2.0**64, 2.0**-64, xp.ones_like(a)))
    y = (v * k) / (a * k)
    s = xp.sum(y * y, axis=axis, keepdims=True)
    nz = s > 0
    return a, y, xp.where(nz, xp.sqrt(xp.where(nz, s, 1.0)), 0.0)


def _safe_norm(be, xp, v, axis=-1):
    """Euclidean norm along ``axis`` (kept): no underflow, a zero gradient at 0."""
    a, _, n = _scaled(be, xp, v, axis)
    return a * n


def _unit(be, xp, x, eps):
    """Rows of ``x`` divided by ``max(||x||, eps)`` (``F.normalize``'s clamp),
    computed as ``y / max(|y|, eps / a)``: no overflow at 3e38."""
    a, y, n = _scaled(be, xp, x)
    lo = eps / a
    return y / xp.where(n > lo, n, lo)


def _cosine(be, xp, x, eps=_PML_EPS):
    u = _unit(be, xp, x, eps)
    return xp.matmul(u, xp.matrix_transpose(u))


def _lse(be, xp, v, keep):
    """Row logsumexp of ``v`` over the entries where ``keep``; ``(value, has)``,
    the value 0 (with a zero gradient) in rows without a kept entry."""
    has = xp.any(keep, axis=1)
    v = xp.where(keep, v, -math.inf)
    v = xp.where(xp.expand_dims(has, axis=1), v, 0.0)
    return xp.where(has, be.logsumexp(v, axis=1), 0.0), has


def _relu(xp, m):
    return xp.where(m > 0, m, 0.0)


def _count(xp, b, dtype):
    return xp.sum(xp.astype(b, dtype))


def _check_unit_option(fname, normalize):
    if not isinstance(normalize, bool):
        raise TypeError(f"{fname}: 'normalize' must be a bool, got {normalize!r}")


# ------------------------------------------------------------------ examples
