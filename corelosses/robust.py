"""Barron's general and adaptive robust loss (2019), a regression loss.

Re-exported by :mod:`corelosses.regression`; it shares that module's
conventions (``weight``, ``mask``, ``ignore_value``, ``reduction``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from . import _core as c
from ._registry import register
from .regression import _check_positive, _ex_with

Array = Any

__all__ = ["robust_loss"]


def _log1p_square(be: Any, h: Array, k: float) -> Array:
    """``log(1 + (k h)^2)`` for a Python ``k > 0``, with no overflow of ``k h``.

    Past ``k |h| = 1`` it is ``2 l + softplus(-2 l)``, ``l = log(k |h|)`` (double
    ``where``). Past ``l = 20`` the softplus term's gradient (below ``4e-18``
    relative) is dropped: its derivative underflows to 0 there, and ``inf * 0``
    would make a NaN gradient where a caller's ``exp`` overflows.
    """
    xp = be.xp
    a = xp.abs(h)
    big = a > 1.0 / k
    lab = xp.log(xp.where(big, a, 1.0 / k)) + math.log(k)
    sp = be.softplus(-2.0 * lab)
    sp = xp.where(lab > 20.0, be.stop_gradient(sp), sp)
    ks = k * xp.where(big, 0.0, h)
    return xp.where(big, 2.0 * lab + sp, xp.log1p(ks * ks))


@register(
    "regression",
    "Barron 2019 (A General and Adaptive Robust Loss Function)",
    peers=(
        "kornia.losses.charbonnier_loss",
        "kornia.losses.cauchy_loss",
        "kornia.losses.geman_mcclure_loss",
        "kornia.losses.welsch_loss",
    ),
    example=_ex_with(alpha=0.5, scale=0.7),
)
def robust_loss(
    input: Array,
    target: Array,
    /,
    *,
    alpha: float,
    scale: float = 1.0,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Barron's general robust loss of ``r = (x - y) / c``, shape ``alpha``, scale ``c``.

    .. math:: \rho(r, \alpha) = \frac{|\alpha - 2|}{\alpha}
              \left(\left(\frac{r^2}{|\alpha - 2|} + 1\right)^{\alpha / 2} - 1\right)

    with its limits where that is 0/0: ``alpha = 2``: ``r^2 / 2`` (L2);
    ``0``: ``log(r^2 / 2 + 1)`` (Cauchy / Lorentzian); ``-inf``:
    ``1 - exp(-r^2 / 2)`` (Welsch / Leclerc); ``inf``: ``exp(r^2 / 2) - 1``.
    ``alpha = 1`` is ``sqrt(r^2 + 1) - 1`` (Charbonnier / pseudo-Huber) and
    ``-2`` is ``2 r^2 / (r^2 + 4)`` (Geman-McClure). The formula is chosen on
    the Python value of ``alpha`` (static under ``jax.jit``; Barron's adaptive
    variant, a learned ``alpha``, is not supported); every other ``alpha`` is
    ``|alpha-2|/alpha * expm1(alpha/2 * log1p(r^2/|alpha-2|))``, with
    ``log1p(s^2) = 2 l + softplus(-2 l)``, ``l = log|s|``, past ``|s| = 1``:
    no overflow of ``x - y`` or ``r^2`` and no NaN, value or gradient, for any
    finite input; no cancellation near ``alpha = 0`` or for small ``r``.

    kornia's losses are the ``c = 1`` cases on the residual:
    ``kornia.losses.charbonnier_loss(x / c, y / c)`` is
    ``robust_loss(x, y, alpha=1, scale=c, reduction="none")``, and likewise
    ``cauchy_loss`` (``alpha=0``), ``geman_mcclure_loss`` (``alpha=-2``) and
    ``welsch_loss`` (``alpha=float("-inf")``); kornia's default reduction is
    ``"none"``.

    {extra}
    alpha : float
        Shape: any real number, ``float("-inf")`` or ``float("inf")``. Smaller
        is more robust; the loss is bounded for ``alpha < 0``.
    scale : float
        ``c > 0``: residuals below it are penalised quadratically.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x, y = np.array([0.0, 3.0]), np.zeros(2)
    >>> cl.robust_loss(x, y, alpha=2.0, reduction="none")
    array([0. , 4.5])
    >>> round(float(cl.robust_loss(x, y, alpha=-2.0, reduction="sum")), 6)  # 2 * 9 / 13
    1.384615
    """
    fname = "robust_loss"
    is_real = isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)
    if not (is_real and c.is_inf(alpha)):  # +-inf are the Welsch and exp limits
        c.check_number(fname, "alpha", alpha)
    _check_positive(fname, "scale", scale)
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    alpha = float(alpha)
    h = 0.5 * x - 0.5 * y  # r = 2 h / c, without overflowing x - y
    if alpha == 0:
        loss = _log1p_square(be, h, math.sqrt(2.0) / scale)
    elif alpha == 2 or c.is_inf(alpha):
        g = h / scale
        q = 2.0 * (g * g)  # r^2 / 2
        if alpha == 2:
            loss = q
        else:
            loss = xp.expm1(q) if alpha > 0 else -xp.expm1(-q)
    else:
        b = abs(alpha - 2.0)
        k = 2.0 / (scale * math.sqrt(b))  # r / sqrt(b) = k h
        loss = (b / alpha) * xp.expm1((0.5 * alpha) * _log1p_square(be, h, k))
    return c.reduce(be, loss, reduction, weight=w, valid=valid)
