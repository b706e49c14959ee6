"""Regularizers: penalties with no target that shape a network's outputs.

- :func:`binary_penalty` pushes values toward 0 or 1 (an unsupervised mask);
- :func:`one_hot_penalty` and :func:`entropy_penalty` push a distribution
  toward a single class (a router that must pick one branch);
- :func:`symmetry_penalty` pushes a matrix toward its transpose (contact maps).

Each returns a loss with ``weight``, ``mask`` and ``reduction`` like every
other loss in corelosses. A penalty that is too strong early in training
traps outputs on the wrong side of its hump: ramp its weight with
:mod:`corelosses.schedules`.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["binary_penalty", "one_hot_penalty", "entropy_penalty", "symmetry_penalty"]


# ---------------------------------------------------------------- helpers
def _pow_nonneg(xp: Any, u: Array, e: float) -> Array:
    """``u ** e`` for ``u >= 0`` with a finite (zero) gradient at ``u = 0``.

    A power, not ``exp(e log u)``: autodiff computes the gradient as
    ``e u ** (e - 1)`` (finite where it is), not ``exp(...) e / u``, whose
    product with an upstream factor overflows where ``u ** e`` is large.
    """
    if e == 1:
        return u
    if float(e).is_integer():
        return u ** int(e)
    pos = u > 0
    return xp.where(pos, xp.where(pos, u, 1.0) ** e, 0.0)


def check_axes(fname: str, axes: Any, shape: tuple) -> tuple[int, int]:
    """Two distinct axes of ``shape`` of equal length, normalised (shared with transforms)."""
    if (
        not isinstance(axes, (tuple, list))
        or len(axes) != 2
        or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
    ):
        raise TypeError(f"{fname}: 'axes' must be a pair of ints, got {axes!r}")
    ndim = len(shape)
    a0 = c.normalize_axis(fname, "axes", axes[0], ndim)
    a1 = c.normalize_axis(fname, "axes", axes[1], ndim)
    if a0 == a1:
        raise ValueError(f"{fname}: 'axes' must name two distinct axes, got {tuple(axes)}")
    if shape[a0] != shape[a1]:
        raise ValueError(
            f"{fname}: 'axes' {tuple(axes)} must have equal lengths to transpose over, "
            f"got {shape[a0]} and {shape[a1]} (input shape {tuple(shape)})"
        )
    return a0, a1


def transpose_axes(xp: Any, x: Array, a0: int, a1: int) -> Array:
    """``x`` with axes ``a0`` and ``a1`` swapped."""
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = a1, a0
    return xp.permute_dims(x, tuple(perm))


def _single_setup(fname, x, weight, mask, reduction):
    """Prologue of an elementwise penalty on one array: backend, dtype, weight, mask."""
    c.check_reduction(fname, reduction)
    be = c.backend_of(x, weight, mask)
    x = c.floating(be, x, fname, "x")
    shape = tuple(x.shape)
    valid, weight = c.mask_and_weight(be, mask, weight, shape, x.dtype, fname)
    return be, be.xp, x, weight, valid


def _class_axis(fname: str, argname: str, x: Array, axis: int) -> tuple[int, int, tuple]:
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    C = x.shape[ax]
    if C is None or C < 2:
        raise ValueError(
            f"{fname}: '{argname}' needs at least 2 classes along axis {axis}, got {C} "
            f"(input shape {tuple(x.shape)})"
        )
    return ax, C, tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])


# --------------------------------------------------------------- examples
def _ex_binary(rng):
    x = rng.uniform(0.05, 0.95, size=(5, 6))
    x[0, :3] = [-0.3, 1.25, 1.6]  # outside [0, 1] the penalty keeps growing
    return (x,), {"power": 1.5, "alpha": 1.3, "weight": rng.uniform(0.5, 2.0, size=(6,))}


def _ex_one_hot(rng):
    z = rng.normal(size=(6, 5)) * 1.5
    p = math.e**z / (math.e**z).sum(axis=-1, keepdims=True)
    return (p,), {"weight": rng.uniform(0.5, 2.0, size=(6,))}


def _ex_entropy(rng):
    return (rng.normal(size=(3, 4, 5)) * 2,), {"axis": 1}


def _ex_symmetry(rng):
    # last axes of length 4 (and 7 below): x[i, j] and x[j, i] are 3k apart in
    # flat order, so the catalog's every-third-entry mask is symmetric.
    return (rng.normal(size=(2, 4, 4)),), {"kind": "huber", "delta": 0.7}


# -------------------------------------------------------------- penalties
@register(
    "regularizers",
    "(|x (1 - x)| ** power) ** alpha; the 0/1 regulariser of unsupervised masks",
    example=_ex_binary,
)
def binary_penalty(
    x: Array,
    /,
    *,
    power: float = 2.0,
    alpha: float = 1.0,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Penalty pushing values toward 0 or 1, elementwise.

    .. math::
        \ell(x) = \big(|x (1 - x)|^{\mathrm{power}}\big)^{\alpha}

    ``power=2`` (default) is the smooth ``(x (1 - x))^2``, ``power=1`` the
    V-shaped ``|x (1 - x)|``; ``alpha`` shapes the wells (``alpha < 1`` makes
    them steeper near 0 and 1). The penalty is 0 at 0 and 1, peaks at
    ``x = 0.5`` and grows outside [0, 1]. Where ``power * alpha < 1`` the
    gradient at exactly 0 or 1 is taken as 0 (it is infinite there).

    A penalty strong from the first step traps outputs on the wrong side of
    the hump at 0.5: ramp its weight (:func:`corelosses.linear_ramp`, ...).

    Parameters
    ----------
    x : array
        Values meant to end near 0 or 1 (e.g. sigmoid outputs).
    power, alpha : float
        Exponents, both > 0.
    weight : array, optional
        Elementwise weights broadcastable to ``x``.
    mask : array, optional
        Boolean or 0/1, broadcastable to ``x``; masked entries give exactly
        zero value and gradient, and ``"mean"`` averages over the others.
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([0.0, 0.5, 0.9, 1.0])
    >>> cl.binary_penalty(x, reduction="none").round(6).tolist()
    [0.0, 0.0625, 0.0081, 0.0]
    >>> cl.binary_penalty(x, power=1, reduction="none").round(6).tolist()
    [0.0, 0.25, 0.09, 0.0]
    """
    fname = "binary_penalty"
    c.check_number(fname, "power", power, low=0, low_open=True)
    c.check_number(fname, "alpha", alpha, low=0, low_open=True)
    be, xp, x, w, valid = _single_setup(fname, x, weight, mask, reduction)
    x = c.sanitize(xp, valid, x)
    e = power * alpha
    if float(e).is_integer():
        # x (1 - x) overflows only where |x (1 - x)| ** e and its gradient
        # (e |v| ** (e - 1) (1 - 2x), from autodiff of the power) do too, or
        # (e = 1) where the gradient, sign(v) (1 - 2x), stays finite
        v = x * (1.0 - x)
        # even power: no |.| kink to differentiate
        loss = v ** int(e) if int(e) % 2 == 0 else _pow_nonneg(xp, xp.abs(v), e)
    else:
        # |x|^e |1 - x|^e: x (1 - x) would overflow (|x| > 1.8e19 in float32)
        # where the value (e < 1) or the gradient (e < 1.5) is still finite,
        # and exp(e log(inf)) has a NaN gradient. Each factor overflows only
        # where the value and the gradient are infinite too.
        loss = _pow_nonneg(xp, xp.abs(x), e) * _pow_nonneg(xp, xp.abs(1.0 - x), e)
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


@register(
    "regularizers",
    "sum(q - q^2), q = p ** (log 2 / log C): 0 at a one-hot, largest at the uniform",
    example=_ex_one_hot,
)
def one_hot_penalty(
    p: Array,
    /,
    *,
    axis: int = -1,
    from_logits: bool = False,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Penalty pushing a distribution over ``C`` classes toward a one-hot.

    .. math::
        q_c = p_c^{\log 2 / \log C}, \qquad \ell = \sum_c q_c (1 - q_c)

    The exponent maps ``p = 1/C`` to ``q = 1/2``, where ``q - q^2`` peaks, so
    ``\ell`` is 0 at a one-hot and largest (``C / 4``) at the uniform
    distribution. With ``from_logits=True`` it is computed from
    ``q = exp(log_softmax(p) log 2 / log C)``, whose gradient stays finite
    however small a probability gets; from probabilities, the gradient of
    ``p^{a}`` (``a < 1`` for ``C > 2``) grows without bound as ``p -> 0``
    and is taken as 0 at exactly 0.

    Parameters
    ----------
    p : array
        Probabilities (logits with ``from_logits=True``), classes on ``axis``.
    axis : int
        The class axis; it must have at least 2 classes.
    from_logits : bool
        Whether ``p`` holds logits.
    weight, mask : array, optional
        Broadcastable to the per-sample loss (``p``'s shape without ``axis``).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one value per sample.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]])
    >>> cl.one_hot_penalty(p, reduction="none").round(6).tolist()
    [0.0, 1.0, 0.785343]
    """
    fname = "one_hot_penalty"
    c.check_reduction(fname, reduction)
    be = c.backend_of(p, weight, mask)
    xp = be.xp
    x = c.floating(be, p, fname, "p")
    ax, C, loss_shape = _class_axis(fname, "p", x, axis)
    valid, weight = c.mask_and_weight(be, mask, weight, loss_shape, x.dtype, fname)
    x = c.sanitize_along(xp, valid, x, loss_shape, ax)
    a = math.log(2.0) / math.log(C)
    if from_logits:
        q = xp.exp(a * be.log_softmax(x, axis=ax))
    else:
        c.check_unit_interval(be, x, fname, "p")
        q = _pow_nonneg(xp, x, a)
    loss = xp.sum(q - q * q, axis=ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "regularizers",
    "Shannon entropy -sum p log p (Grandvalet & Bengio 2004, entropy minimisation)",
    example=_ex_entropy,
)
def entropy_penalty(
    input: Array,
    /,
    *,
    axis: int = -1,
    from_logits: bool = True,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Shannon entropy of a distribution, per sample (in nats).

    .. math::
        H = -\sum_c p_c \log p_c

    with ``p = softmax(input, axis)`` (or ``input`` itself when
    ``from_logits=False``); ``0 log 0 = 0``, so one-hot distributions and
    ``-inf`` logits give 0 and finite gradients. Minimising it (a positive
    weight) sharpens the distribution, as in entropy minimisation
    (Grandvalet & Bengio 2004); maximising it (a negative weight) is the
    confidence penalty of Pereyra et al. 2017. The uniform distribution over
    ``C`` classes has ``H = log C``.

    Parameters
    ----------
    input : array
        Logits (probabilities with ``from_logits=False``), classes on ``axis``.
    axis : int
        The class axis.
    from_logits : bool
        Whether ``input`` holds logits.
    weight, mask : array, optional
        Broadcastable to the per-sample loss (``input``'s shape without ``axis``).
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> logits = np.array([[0.0, 0.0], [4.0, 0.0]])
    >>> cl.entropy_penalty(logits, reduction="none").round(6).tolist()
    [0.693147, 0.090095]
    """
    fname = "entropy_penalty"
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, weight, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    c.class_count(fname, x, ax)
    loss_shape = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])
    valid, weight = c.mask_and_weight(be, mask, weight, loss_shape, x.dtype, fname)
    x = c.sanitize_along(xp, valid, x, loss_shape, ax)
    if from_logits:
        logp = be.log_softmax(x, axis=ax)
        p = xp.exp(logp)
    else:
        c.check_unit_interval(be, x, fname)
        p = x
        pos = p > 0
        logp = xp.log(xp.where(pos, p, 1.0))
    # 0 log 0 = 0 (double where: no NaN from -inf logits or p = 0)
    plogp = xp.where(p > 0, p * xp.where(p > 0, logp, 0.0), 0.0)
    loss = -xp.sum(plogp, axis=ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "regularizers",
    "|x - x^T| (l1), its square (l2) or Huber; for maps symmetric about the diagonal",
    example=_ex_symmetry,
    coupled=True,  # entry (i, j) reads x[j, i]: no input is read by masked entries only
)
def symmetry_penalty(
    x: Array,
    /,
    *,
    axes: tuple[int, int] = (-2, -1),
    kind: str = "l1",
    delta: float = 1.0,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Penalty on the asymmetry of ``x`` over two axes, elementwise.

    With ``d = x - x^T`` (the transpose swaps ``axes``), the loss at each
    entry is ``|d|`` (``kind="l1"``), ``d^2`` (``"l2"``) or the Huber
    function ``d^2 / 2`` for ``|d| < delta`` else ``delta (|d| - delta / 2)``
    (``"huber"``). It is reduced like any other elementwise loss: ``"mean"``
    averages over every entry, the diagonal (always 0) included, and each
    off-diagonal pair is counted twice.

    The loss at ``(i, j)`` reads ``x[j, i]`` too: a mask protects an entry's
    value and gradient from NaN or inf under it only when the mask is
    symmetric (mask both ``(i, j)`` and ``(j, i)``, e.g. ``m & m^T``).

    Parameters
    ----------
    x : array
        Input, at least 2-D.
    axes : pair of int
        Two distinct axes of equal length.
    kind : {"l1", "l2", "huber"}
    delta : float
        Huber threshold, > 0.
    weight, mask : array, optional
        Broadcastable to ``x``.
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.array([[0.0, 1.0], [3.0, 0.0]])
    >>> cl.symmetry_penalty(x, reduction="none").tolist()
    [[0.0, 2.0], [2.0, 0.0]]
    >>> float(cl.symmetry_penalty(x, kind="l2"))
    2.0
    """
    fname = "symmetry_penalty"
    c.check_choice(fname, "kind", kind, ("l1", "l2", "huber"))
    c.check_number(fname, "delta", delta, low=0, low_open=True)
    be, xp, x, w, valid = _single_setup(fname, x, weight, mask, reduction)
    a0, a1 = check_axes(fname, axes, tuple(x.shape))
    d = c.sanitize(xp, valid, x - transpose_axes(xp, x, a0, a1))
    if kind == "l2":
        loss = d * d
    else:
        a = xp.abs(d)
        if kind == "l1":
            loss = a
        else:
            q = be.min_scalar(a, delta)
            loss = q * (a - 0.5 * q)
    return c.reduce(be, loss, reduction, weight=w, valid=valid)
