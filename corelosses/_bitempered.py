r"""Bi-tempered logistic loss and the tempered softmax (Amid et al. 2019).

With the tempered logarithm and exponential

.. math::
    \log_t u = \frac{u^{1-t} - 1}{1 - t}, \qquad
    \exp_t u = [1 + (1 - t) u]_+^{1/(1-t)}

(``log`` and ``exp`` at ``t = 1``), the tempered softmax is
``p = exp_t(a - lambda(a))`` with the normaliser ``lambda`` chosen so that
``sum(p) = 1``. It has no closed form for ``t != 1``:

- ``t > 1`` (heavy tail): the authors' fixed-point iteration on
  ``a0 = a - max(a)``, ``num_iters`` steps of ``a' <- a0 * Z(a')^(1-t)`` with
  ``Z(a') = sum(exp_t(a'))``, then ``lambda = max(a) - log_t(1 / Z)``;
- ``t < 1`` (finite support; the fixed point does not converge there): the
  authors' bisection on ``lambda - max(a)`` in ``[0, -log_t(1/d)]`` with
  ``d`` the number of classes inside the support of ``exp_t`` at
  ``lambda = max(a)`` (``a - max(a) > -1/(1-t)``; at most ``C``),
  ``num_iters`` halvings, the midpoint of the last bracket;
- ``t == 1``: the ordinary softmax.

Every count is a Python integer: no data-dependent control flow. The iterations
run through the backend's ``scan`` hook: one traced step under ``jax.jit``
(``lax.scan``), a Python loop elsewhere (unrolled by ``torch.compile``).

The gradients are the exact analytic ones (the implicit-function derivative
of the normaliser), attached through the backend's ``custom_vjp`` hook:
torch and JAX never differentiate through the iterations.

Reference: E. Amid, M. K. Warmuth, R. Anil, T. Koren, "Robust Bi-Tempered
Logistic Loss Based on Bregman Divergences", NeurIPS 2019; the authors' code
is github.com/google/bi-tempered-loss.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._class_common import _class_setup
from ._registry import register

Array = Any

__all__ = ["tempered_softmax", "bi_tempered_logistic_loss", "bi_tempered_binary_logistic_loss"]

_REF = (
    "Amid, Warmuth, Anil, Koren 2019, Robust Bi-Tempered Logistic Loss Based on "
    "Bregman Divergences (NeurIPS); github.com/google/bi-tempered-loss"
)


# ------------------------------------------------------------------ helpers
def _log_t(xp: Any, u: Array, t: float) -> Array:
    """``log_t(u)`` for ``u > 0``."""
    if t == 1:
        return xp.log(u)
    return (u ** (1.0 - t) - 1.0) / (1.0 - t)


def _exp_t(xp: Any, u: Array, t: float) -> Array:
    """``exp_t(u) = [1 + (1 - t) u]_+ ** (1 / (1 - t))``."""
    if t == 1:
        return xp.exp(u)
    base = 1.0 + (1.0 - t) * u
    if t < 1:  # finite support: cut off at 0 (for t > 1 the base is >= 1 where used)
        base = xp.where(base > 0, base, 0.0)
    return base ** (1.0 / (1.0 - t))


def _shifted_normalizer(be: Any, a0: Array, t: float, num_iters: int, axis: int):
    """``lambda(a) - max(a)`` for ``a0 = a - max(a)`` (``t != 1``), keepdims.

    The iterations run through the backend's ``scan`` hook: a Python loop, and one
    traced step under ``jax.jit`` (60 unrolled steps compile for seconds)."""
    xp = be.xp
    steps = xp.zeros((num_iters,), dtype=a0.dtype, device=be.device(a0))
    if t > 1:

        def fixed_point(an, _):
            z = xp.sum(_exp_t(xp, an, t), axis=axis, keepdims=True)
            return a0 * z ** (1.0 - t)

        an = be.scan(fixed_point, a0, steps)
        z = xp.sum(_exp_t(xp, an, t), axis=axis, keepdims=True)
        return -_log_t(xp, 1.0 / z, t)
    # t < 1, the authors' bracket: at lambda' = 0 the largest entry alone gives
    # exp_t(0) = 1, so the sum is >= 1. Only the d entries with
    # a0 > -1/(1-t) are inside the support at lambda' = 0 (and so for any
    # lambda' >= 0); at lambda' = -log_t(1/d) each is <= 1/d, the sum <= 1.
    # (A bracket on all C classes is valid too, but wider: at the default
    # num_iters it lands elsewhere than the authors' code, by percents.)
    d = xp.sum(xp.astype(a0 > -1.0 / (1.0 - t), a0.dtype), axis=axis, keepdims=True)

    def halve(bracket, _):
        lower, upper = bracket
        mid = (lower + upper) / 2.0
        below = xp.sum(_exp_t(xp, a0 - mid, t), axis=axis, keepdims=True) < 1.0
        return xp.where(below, lower, mid), xp.where(below, mid, upper)

    lower, upper = be.scan(halve, (xp.zeros_like(d), -_log_t(xp, 1.0 / d, t)), steps)
    return (lower + upper) / 2.0


def _tempered_probs(be: Any, x: Array, t: float, num_iters: int, axis: int) -> Array:
    """Tempered softmax value for ``t != 1`` (no autodiff needed)."""
    xp = be.xp
    # (an empty batch has nothing to shift; Dask's max fails on zero-size arrays)
    a0 = x - xp.max(x, axis=axis, keepdims=True) if math.prod(x.shape) else x
    lam = _shifted_normalizer(be, a0, t, num_iters, axis)
    return _exp_t(xp, a0 - lam, t)


def _check_temperature(fname: str, argname: str, t: float) -> None:
    c.check_number(fname, argname, t, low=0, low_open=True, finite=True)


def _check_iters(fname: str, num_iters: int) -> None:
    if not isinstance(num_iters, int) or isinstance(num_iters, bool):
        raise TypeError(f"{fname}: 'num_iters' must be an int, got {num_iters!r}")
    if num_iters < 1:
        raise ValueError(f"{fname}: 'num_iters' must be >= 1, got {num_iters}")


# --------------------------------------------------------------- examples
def _ex_softmax(rng):
    return (rng.normal(size=(4, 6)) * 2,), {"t": 1.5, "num_iters": 60}


def _ex_loss(rng):
    x = rng.normal(size=(6, 5)) * 2
    y = rng.integers(0, 5, size=(6,))
    return (x, y), {
        "t1": 0.7,
        "t2": 1.3,
        "num_iters": 60,
        "label_smoothing": 0.1,
        "weight": rng.uniform(0.5, 2.0, size=(6,)),
    }


def _ex_binary(rng):
    x = rng.normal(size=(5, 4))
    y = rng.uniform(size=(5, 4))
    # t2 < 1: the bisection branch (finite support)
    return (x, y), {"t1": 0.5, "t2": 0.8, "num_iters": 60}


# ------------------------------------------------------------------- public
@register(
    "transforms",
    _REF,
    peers=("google/bi-tempered-loss tempered_softmax",),
    example=_ex_softmax,
    kind="transform",
)
def tempered_softmax(input: Array, /, *, t: float, num_iters: int = 5, axis: int = -1) -> Array:
    r"""Tempered softmax ``exp_t(a - lambda(a))`` along ``axis``.

    .. math::
        p_i = \exp_t(a_i - \lambda(a)), \quad \sum_i p_i = 1, \quad
        \exp_t u = [1 + (1 - t) u]_+^{1/(1-t)}

    ``t > 1`` gives heavier tails than the softmax, ``t < 1`` a finite
    support (classes far below the maximum get exactly 0), ``t = 1`` is the
    softmax. ``lambda`` is found by the authors' fixed-point iteration
    (``t > 1``) or by bisection (``t < 1``) with ``num_iters`` steps; see
    :mod:`corelosses._bitempered`. The default 5 steps match the authors'
    code; raise it (30 to 60) where an accurately normalised output matters.

    The gradient is the exact one, whatever ``num_iters``: with
    ``q = p ** t`` the vector-Jacobian product of a cotangent ``v`` is
    ``q * (v - sum(v q) / sum(q))``.

    Parameters
    ----------
    input : array
        Activations, classes on ``axis``.
    t : float
        Temperature, ``t > 0``.
    num_iters : int
        Fixed-point steps (``t > 1``) or bisection halvings (``t < 1``).
    axis : int
        The class axis.

    Returns
    -------
    array
        Probabilities of the input's shape and (float) dtype.

    References
    ----------
    Amid, Warmuth, Anil, Koren, "Robust Bi-Tempered Logistic Loss Based on
    Bregman Divergences", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> a = np.array([2.0, 1.0, -3.0])
    >>> np.round(cl.tempered_softmax(a, t=1.5, num_iters=30), 4)
    array([0.6132, 0.3167, 0.0701])
    >>> np.round(cl.tempered_softmax(a, t=0.5, num_iters=30), 4)
    array([0.8307, 0.1693, 0.    ])
    """
    fname = "tempered_softmax"
    _check_temperature(fname, "t", t)
    _check_iters(fname, num_iters)
    be = c.backend_of(input)
    x = c.floating(be, input, fname)
    ax = c.normalize_axis(fname, "axis", axis, x.ndim)
    if t == 1:
        return be.softmax(x, axis=ax)
    return _tempered_softmax(be, x, t, num_iters, ax)


def _tempered_softmax(be: Any, x: Array, t: float, num_iters: int, ax: int) -> Array:
    """The tempered softmax (``t != 1``) with its analytic gradient (custom VJP).

    The iterations (a bisection for ``t < 1``) are not differentiated: the
    backward pass is the exact Jacobian at their result, and its one residual is
    the output, so it is differentiable again (exact higher derivatives)."""
    xp = be.xp

    def fun(a):
        p = _tempered_probs(be, a, t, num_iters, ax)
        return p, (p,)

    def bwd(res, v):
        (p,) = res
        q = p**t
        s = xp.sum(v * q, axis=ax, keepdims=True) / xp.sum(q, axis=ax, keepdims=True)
        return (q * (v - s),)

    return be.custom_vjp(fun, bwd)(x)


def _bt_core(be, x, y, t1, t2, num_iters, ax):
    """Per-sample bi-tempered loss with its analytic gradient (custom VJP)."""
    xp = be.xp
    # log_t1(0): finite below t1 = 1, -inf from t1 = 1 on
    log_t1_zero = -1.0 / (1.0 - t1) if t1 < 1 else -float("inf")

    def fun(a, y):
        if t2 == 1:
            logp = be.log_softmax(a, axis=ax)
            p = xp.exp(logp)

            def pw(k):  # p ** k from log p: finite where p underflows
                return xp.exp(k * logp)

            lt1p = logp if t1 == 1 else (pw(1.0 - t1) - 1.0) / (1.0 - t1)
            res = (p, y, logp)
        else:
            # (through its custom VJP: where this function is differentiated, as a
            # second derivative does, p's Jacobian is the exact one, not the iterations')
            p = _tempered_softmax(be, a, t2, num_iters, ax)
            pos = p > 0
            p1 = xp.where(pos, p, 1.0)
            lt1p = xp.where(pos, _log_t(xp, p1, t1), log_t1_zero)
            pw = None
            res = (p, y)
        ynz = y != 0
        y1 = xp.where(ynz, y, 1.0)
        ent = xp.where(ynz, y * _log_t(xp, y1, t1), 0.0)
        cross = xp.where(ynz, y * lt1p, 0.0)
        ysum_pow = xp.sum(y ** (2.0 - t1), axis=ax)
        if t1 == 1 and t2 == 1:
            psum_pow = 1.0  # sum of a softmax: exactly cross entropy for one-hot y
        elif pw is not None:
            psum_pow = xp.sum(pw(2.0 - t1), axis=ax)
        else:
            psum_pow = xp.sum(p ** (2.0 - t1), axis=ax)
        loss = xp.sum(ent - cross, axis=ax) - (ysum_pow - psum_pow) / (2.0 - t1)
        return loss, res

    def bwd(res, g):
        ge = xp.expand_dims(g, axis=ax)
        if t2 == 1:
            p, y, logp = res
            d = p - y if t1 == 1 else (p - y) * xp.exp((1.0 - t1) * logp)
            e = p / xp.sum(p, axis=ax, keepdims=True)
            lt1p = logp if t1 == 1 else (xp.exp((1.0 - t1) * logp) - 1.0) / (1.0 - t1)
        else:
            p, y = res
            pos = p > 0
            p1 = xp.where(pos, p, 1.0)
            k = t2 - t1
            if k == 0:
                d = p - y
            else:
                # outside the support p is locally constant 0: no gradient there
                d = xp.where(pos, (p - y) * p1**k, 0.0)
            q = p**t2
            e = q / xp.sum(q, axis=ax, keepdims=True)
            lt1p = xp.where(pos, _log_t(xp, p1, t1), log_t1_zero)
        gx = ge * (d - e * xp.sum(d, axis=ax, keepdims=True))
        # d loss / d y = log_t1(y) - log_t1(p); zero where the cotangent is
        ynz = y != 0
        lt1y = xp.where(ynz, _log_t(xp, xp.where(ynz, y, 1.0), t1), log_t1_zero)
        gy = xp.where(ge != 0, ge * (lt1y - lt1p), 0.0)
        return gx, gy

    return be.custom_vjp(fun, bwd)(x, y)


def _check_temps(fname, t1, t2, label_smoothing, num_iters):
    c.check_number(fname, "t1", t1, high=2, high_open=True, finite=True)
    c.check_number(fname, "t2", t2, low=0, low_open=True, finite=True)
    c.check_number(fname, "label_smoothing", label_smoothing, low=0, high=1, high_open=True)
    _check_iters(fname, num_iters)


@register(
    "classification",
    _REF,
    peers=(
        "google/bi-tempered-loss bi_tempered_logistic_loss",
        "torch.nn.functional.cross_entropy (t1 = t2 = 1)",
    ),
    example=_ex_loss,
)
def bi_tempered_logistic_loss(
    input: Array,
    target: Array,
    /,
    *,
    t1: float,
    t2: float,
    label_smoothing: float = 0.0,
    num_iters: int = 5,
    axis: int = -1,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Bi-tempered logistic loss (Amid et al. 2019), multi-class.

    With ``p = tempered_softmax(input, t=t2)`` and targets ``y`` (one-hot of
    class indices, or probabilities), the loss per sample is the Bregman
    divergence of the tempered logarithm ``log_{t1}``:

    .. math::
        \ell = \sum_i y_i \big(\log_{t_1} y_i - \log_{t_1} p_i\big)
               - \frac{y_i^{2-t_1} - p_i^{2-t_1}}{2 - t_1}

    ``t1 < 1`` bounds the loss (robust to mislabelled outliers), ``t2 > 1``
    gives the tempered softmax heavy tails (robust to noise near the decision
    boundary). With one-hot targets ``t1 = t2 = 1`` is exactly softmax cross
    entropy. Label smoothing follows the authors:
    ``y <- (1 - s C / (C - 1)) y + s / (C - 1)`` over ``C`` classes.

    The gradient is the exact analytic one (the authors' custom gradient),
    not autodiff through the normaliser's iterations:

    .. math::
        d = (p - y)\, p^{t_2 - t_1}, \quad e = \frac{p^{t_2}}{\sum p^{t_2}},
        \quad \frac{\partial \ell}{\partial a} = d - e \sum d

    (``d = 0`` where ``p = 0``, outside a ``t2 < 1`` support, where the loss
    is locally constant). With ``t1 > 1`` the loss is unbounded, as cross
    entropy is: a labelled class with a tiny ``p`` has a gradient of order
    ``p ** (t2 - t1)`` that can overflow for extreme logits; with ``t1 <= 1``
    the gradient is finite for any logits. A class outside the ``t2 < 1``
    support holding target mass gives an infinite value when ``t1 >= 1``.
    The gradient with respect to probability targets is
    ``log_t1(y) - log_t1(p)``. The value is accurate to the normaliser's
    convergence: the default ``num_iters=5`` matches the authors' code; use
    30 to 60 for a tight normalisation.

    Parameters
    ----------
    input : array
        Activations (logits), classes on ``axis``.
    target : array
        Integer class indices (input's shape without ``axis``) or
        probabilities (input's shape).
    t1 : float
        Temperature of the loss's logarithm, ``t1 < 2`` (``t1 < 1`` bounded).
    t2 : float
        Temperature of the tempered softmax, ``t2 > 0`` (``t2 > 1`` heavy tail).
    label_smoothing : float
        ``s`` in [0, 1).
    num_iters : int
        Iterations of the normaliser (ignored at ``t2 = 1``).
    axis : int
        The class axis.
    weight : array, optional
        Per-sample weight, broadcast to the unreduced loss.
    mask, reduction
        As for every loss: per-sample boolean mask (masked samples give exactly
        0 and no gradient, even with NaN logits), ``"mean"``/``"sum"``/``"none"``.

    Returns
    -------
    array
        Scalar, or the per-sample loss for ``reduction="none"``.

    Raises
    ------
    ValueError
        ``t2 <= 0``, ``t1 >= 2`` (the loss is undefined there),
        ``label_smoothing`` outside [0, 1), targets of the wrong shape.

    References
    ----------
    Amid, Warmuth, Anil, Koren, "Robust Bi-Tempered Logistic Loss Based on
    Bregman Divergences", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> y = np.array([0, 2])
    >>> round(float(cl.bi_tempered_logistic_loss(logits, y, t1=0.8, t2=1.2, num_iters=30)), 6)
    0.163612
    >>> round(float(cl.bi_tempered_logistic_loss(logits, y, t1=1.0, t2=1.0)), 6)  # cross entropy
    0.175456
    """
    fname = "bi_tempered_logistic_loss"
    _check_temps(fname, t1, t2, label_smoothing, num_iters)
    be, xp, x, _, y, idx, valid, weight, ax, _, C = _class_setup(
        fname, input, target, axis, True, None, mask, reduction, weight
    )
    if label_smoothing:
        if C < 2:
            raise ValueError(
                f"{fname}: 'label_smoothing' needs at least 2 classes, got {C} on axis {ax}"
            )
        y = (1.0 - label_smoothing * C / (C - 1)) * y + label_smoothing / (C - 1)
    loss = _bt_core(be, x, y, t1, t2, num_iters, ax)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


@register(
    "classification",
    _REF,
    peers=("google/bi-tempered-loss bi_tempered_binary_logistic_loss",),
    example=_ex_binary,
)
def bi_tempered_binary_logistic_loss(
    input: Array,
    target: Array,
    /,
    *,
    t1: float,
    t2: float,
    label_smoothing: float = 0.0,
    num_iters: int = 5,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Binary bi-tempered logistic loss, elementwise.

    The two-class :func:`bi_tempered_logistic_loss` on logits ``[0, a]`` and
    labels ``[1 - y, y]`` (the authors' construction), so ``t1 = t2 = 1`` with
    0/1 labels is binary cross entropy with logits. Label smoothing with ``C = 2``:
    ``y <- (1 - 2 s) y + s``.

    Parameters
    ----------
    input : array
        Logits ``a``, any shape.
    target : array
        Labels in [0, 1], same shape; integer or boolean targets are cast.
    t1, t2, label_smoothing, num_iters
        As for :func:`bi_tempered_logistic_loss`.
    weight, mask, reduction
        Elementwise weight and mask; ``"mean"``/``"sum"``/``"none"``.

    Returns
    -------
    array
        Scalar, or the elementwise loss for ``reduction="none"``.

    References
    ----------
    Amid, Warmuth, Anil, Koren, "Robust Bi-Tempered Logistic Loss Based on
    Bregman Divergences", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> a = np.array([2.0, -1.0, 0.0]); y = np.array([1.0, 0.0, 1.0])
    >>> round(float(cl.bi_tempered_binary_logistic_loss(a, y, t1=0.8, t2=1.2, num_iters=30)), 6)
    0.299274
    >>> round(float(cl.bi_tempered_binary_logistic_loss(a, y, t1=1.0, t2=1.0)), 6)
    0.377779
    """
    fname = "bi_tempered_binary_logistic_loss"
    _check_temps(fname, t1, t2, label_smoothing, num_iters)
    be, xp, x, y, weight, valid = c.pair_setup(
        fname, input, target, weight=weight, mask=mask, reduction=reduction
    )
    c.check_unit_interval(be, y, fname, "target")
    if label_smoothing:
        y = (1.0 - 2.0 * label_smoothing) * y + label_smoothing
    a = xp.stack([xp.zeros_like(x), x], axis=-1)
    yy = xp.stack([1.0 - y, y], axis=-1)
    loss = _bt_core(be, a, yy, t1, t2, num_iters, x.ndim)
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)
