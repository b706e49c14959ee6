"""Sparsemax and its Fenchel-Young losses (Martins & Astudillo 2016).

- :func:`sparsemax` (a transform): the Euclidean projection onto the simplex;
- :func:`sparsemax_loss`: the multi-class sparsemax loss
  (``optax.multiclass_sparsemax_loss``);
- :func:`binary_sparsemax_loss`: its elementwise binary form
  (``optax.sparsemax_loss``).

Re-exported by :mod:`corelosses.divergence`.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._class_common import _class_prologue, _on_target
from ._registry import register

Array = Any

__all__ = ["sparsemax", "sparsemax_loss", "binary_sparsemax_loss"]


# ------------------------------------------------------------------ examples
def _ex_sparsemax(rng):
    return (rng.normal(size=(5, 6)) * 1.5,), {}


def _ex_sparsemax_loss(rng):
    x = rng.normal(size=(8, 6)) * 1.5
    y = rng.integers(0, 6, size=(8,))
    return (x, y), {}


def _ex_binary_sparsemax(rng):
    x = rng.normal(size=(6, 5)) * 1.5
    y = rng.uniform(size=(6, 5))
    y[rng.uniform(size=y.shape) < 0.5] = 1.0
    return (x, y), {}


# ---------------------------------------------------------------- sparsemax
def _sparsemax_parts(be: Any, xp: Any, z: Array, ax: int) -> tuple[Array, Array, Array, Array]:
    """``(p, support, tau, z - max z)`` of ``sparsemax(z)`` along ``ax``.

    The support is found on a sorted, gradient-free copy: with ``z`` sorted
    in decreasing order and ``c_k`` its cumulative sums, ``k`` is in it while
    ``1 + k z_(k) > c_k``. The threshold is then recomputed from the unsorted
    scores on the support, ``tau = (sum_S z - 1) / |S|``, so autodiff sees
    only ``p = max(z - tau, 0)``: the exact Jacobian ``diag(s) - s s^T / |S|``
    without differentiating a sort. The scores are shifted by their
    (gradient-free) maximum first (sparsemax is shift-invariant): large
    finite scores neither overflow nor lose the support's digits.
    """
    C = z.shape[ax]
    if math.prod(z.shape) == 0:  # an empty batch (dask's max fails on zero-size arrays)
        return z, z > 0, xp.sum(z, axis=ax, keepdims=True), z
    m = xp.max(z, axis=ax, keepdims=True)
    m = be.stop_gradient(xp.where(xp.isfinite(m), m, 0.0))
    zc = z - m
    zs = xp.sort(be.stop_gradient(zc), axis=ax, descending=True)
    shape = [1] * z.ndim
    shape[ax] = C
    k = xp.reshape(be.arange(C, z, dtype=z.dtype), tuple(shape)) + 1.0
    cond = 1.0 + k * zs > xp.cumulative_sum(zs, axis=ax)
    ks = xp.sum(xp.astype(cond, z.dtype), axis=ax, keepdims=True)
    ks = xp.where(ks == 0, 1.0, ks)  # only for rows without a finite score
    tau0 = (xp.sum(xp.where(cond, zs, 0.0), axis=ax, keepdims=True) - 1.0) / ks
    support = zc > tau0
    size = xp.sum(xp.astype(support, z.dtype), axis=ax, keepdims=True)
    size = xp.where(size == 0, 1.0, size)
    tau = (xp.sum(xp.where(support, zc, 0.0), axis=ax, keepdims=True) - 1.0) / size
    d = xp.where(support, zc - tau, 0.0)
    p = xp.where(d > 0, d, 0.0)  # rounding never makes a probability negative
    return p, support, tau, zc


@register(
    "transforms",
    "Martins & Astudillo 2016, From Softmax to Sparsemax (Euclidean projection on the simplex)",
    peers=("optax.projections.projection_simplex",),
    example=_ex_sparsemax,
    kind="transform",
)
def sparsemax(input: Array, /, *, axis: int = -1) -> Array:
    r"""Sparsemax: the Euclidean projection of ``input`` onto the simplex.

    .. math::
        \mathrm{sparsemax}(z)_c = \max(z_c - \tau(z), 0), \qquad
        \sum_c \max(z_c - \tau(z), 0) = 1

    along ``axis``. Unlike softmax, classes scored more than ``tau`` below
    the top get probability exactly 0. The threshold comes from a sort (on a
    gradient-free copy); the gradient is the exact Jacobian
    ``diag(s) - s s^T / |S|`` (``s`` the support's indicator), no
    differentiation through the sort. Half-precision input is computed in
    float32.

    ``optax.projections.projection_simplex(z)`` (one vector) and the paper's
    ``sparsemax`` give the same values.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> cl.sparsemax(np.array([1.0, 0.5, -1.0])).tolist()
    [0.75, 0.25, 0.0]
    """
    fname = "sparsemax"
    be = c.backend_of(input)
    x = c.floating(be, input, fname)
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    c.class_count(fname, x, ax)
    return _sparsemax_parts(be, be.xp, x, ax)[0]


@register(
    "classification",
    "Martins & Astudillo 2016, From Softmax to Sparsemax; optax.multiclass_sparsemax_loss",
    peers=("optax.multiclass_sparsemax_loss",),
    example=_ex_sparsemax_loss,
)
def sparsemax_loss(
    input: Array,
    target: Array,
    /,
    *,
    axis: int = -1,
    ignore_index: int | None = None,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Multi-class sparsemax loss, the Fenchel-Young loss of :func:`sparsemax`.

    .. math::
        \ell = -\sum_c y_c z_c + \tfrac12 \sum_{j \in S(z)} (z_j^2 - \tau(z)^2)
               + \tfrac12 \lVert y \rVert^2

    (Martins & Astudillo's eq. 20), with ``z = input``, ``S`` and ``tau`` the
    support and threshold of ``sparsemax(z)`` along ``axis`` and ``y`` the
    one-hot class index (``-z_k + ... + 1/2``) or a probability target of the
    input's shape (a distribution: rows sum to 1, the paper's ``q``).
    Non-negative, 0 exactly where ``sparsemax(z) == y``; its gradient is
    ``sparsemax(z) - y``. Scores are shifted by their maximum first, so large
    finite scores stay finite (the loss is shift-invariant for targets that
    sum to 1).

    ``optax.multiclass_sparsemax_loss(scores, labels)`` on ``(N, C)`` is
    ``sparsemax_loss(scores, labels, reduction="none")``. The binary case
    (optax's ``sparsemax_loss``) is :func:`binary_sparsemax_loss`.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> z = np.array([[1.0, 0.5, -1.0]])
    >>> round(float(cl.sparsemax_loss(z, np.array([1]))), 6)
    0.5625
    """
    fname = "sparsemax_loss"
    be, xp, x, y, idx, valid, weight, ax, cshape, C = _class_prologue(
        fname, input, target, axis, ignore_index, mask, weight, reduction, "input"
    )
    p, support, tau, zc = _sparsemax_parts(be, xp, x, ax)
    zs = xp.where(support, zc, 0.0)
    omega = 0.5 * xp.sum(xp.where(support, zs * zs - tau * tau, 0.0), axis=ax)
    yz = xp.sum(y * _on_target(xp, y, zc), axis=ax)
    loss = omega - yz + 0.5 * xp.sum(y * y, axis=ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "classification",
    "Blondel et al. 2020, Learning with Fenchel-Young Losses (sec. 4.4); optax.sparsemax_loss",
    peers=("optax.sparsemax_loss", "optax.binary_sparsemax_loss"),
    example=_ex_binary_sparsemax,
)
def binary_sparsemax_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Binary sparsemax loss, elementwise: the Fenchel-Young loss of the sparse sigmoid.

    .. math::
        \ell = y\, \mathrm{sp}(-x) + (1 - y)\, \mathrm{sp}(x) - y (1 - y),
        \qquad \mathrm{sp}(x) = \begin{cases} 0 & x \le -1 \\
        (x + 1)^2 / 4 & |x| < 1 \\ x & x \ge 1 \end{cases}

    (``sp`` is ``jax.nn.sparse_plus``). For labels 0 and 1 it is optax's
    ``sparsemax_loss(logits, labels)`` (``sp(-x)`` for a positive,
    ``sp(x)`` for a negative); for soft labels ``y`` in [0, 1] it is 0
    exactly where ``sparse_sigmoid(x) = clip((x + 1) / 2, 0, 1) == y``.
    The gradient is ``sparse_sigmoid(x) - y``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([0.0, 2.0, -0.5]); y = np.array([1.0, 1.0, 0.0])
    >>> cl.binary_sparsemax_loss(x, y, reduction="none").tolist()
    [0.25, 0.0, 0.0625]
    """
    fname = "binary_sparsemax_loss"
    be, xp, x, y, weight, valid = c.pair_setup(
        fname, input, target, weight=weight, mask=mask, reduction=reduction
    )
    c.check_unit_interval(be, y, fname, "target")
    loss = y * _sparse_plus(xp, -x) + (1.0 - y) * _sparse_plus(xp, x) - y * (1.0 - y)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


def _sparse_plus(xp: Any, x: Array) -> Array:
    """``0`` below -1, ``(x + 1)^2 / 4`` on (-1, 1), ``x`` above 1 (double-``where``)."""
    mid = (x > -1.0) & (x < 1.0)
    xm = xp.where(mid, x, 0.0)  # (x + 1)^2 of a huge x would overflow in the unused branch
    return xp.where(mid, (xm + 1.0) * (xm + 1.0) * 0.25, xp.where(x >= 1.0, x, 0.0))
