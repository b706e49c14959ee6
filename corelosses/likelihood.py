"""Negative log-likelihood losses for regression: Poisson counts and Gaussian values.

Both follow ``torch.nn.functional`` (``poisson_nll_loss``,
``gaussian_nll_loss``) value for value, with the regression losses' ``weight``,
``mask`` and ``ignore_value`` (catalog family ``"regression"``). Unlike the
other regression losses they are not 0 at ``input == target``: they are
negative log-likelihoods, up to a constant.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["poisson_nll_loss", "gaussian_nll_loss"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _check_bool(fname: str, argname: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(
            f"{fname}: '{argname}' must be a bool, got {type(value).__name__} {value!r}"
        )


def _check_eps(fname: str, eps: Any, *, low_open: bool) -> None:
    c.check_number(fname, "eps", eps, low=0, low_open=low_open)
    if c.is_inf(eps):
        raise ValueError(f"{fname}: 'eps' must be a finite number, got {eps!r}")


def _check_nonnegative(be: Any, v: Array, fname: str, argname: str, hint: str = "") -> None:
    """Values >= 0, checked where it costs no sync or trace (NaN passes)."""
    if be.concrete(v) and math.prod(v.shape) > 0:
        lo, _ = be.value_range(v)
        if float(lo) < 0:
            raise ValueError(f"{fname}: '{argname}' must hold non-negative values{hint}")


def _ex_poisson(rng):
    x = rng.uniform(0.2, 4.0, size=(5, 6))  # rates (log_input=False)
    y = rng.poisson(2.0, size=(5, 6)).astype("float64")  # counts: 0, 1 and > 1
    y[0, :2] = -1.0
    kw = {"log_input": False, "full": True, "ignore_value": -1.0}
    return (x, y), {**kw, "weight": rng.uniform(0.5, 2.0, size=(6,))}


_PARAMS = """mask : array, optional
        Boolean or 0/1, broadcastable to the loss; masked entries give
        exactly zero value and gradient, even where an input is NaN.
    ignore_value : float, optional
        Entries whose target equals it (NaN matches NaN) are masked.
    weight : array, optional
        Elementwise weights broadcastable to the loss; ``"mean"`` still
        divides by the number of valid entries.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` and ``"sum"`` are PyTorch's."""


@register(
    "regression",
    "torch.nn.functional.poisson_nll_loss",
    peers=("torch.nn.functional.poisson_nll_loss", "keras.losses.Poisson"),
    example=_ex_poisson,
)
def poisson_nll_loss(
    input: Array,
    target: Array,
    /,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Poisson negative log-likelihood of counts ``y`` at rate ``exp(x)`` or ``x``.

    ``log_input=True``: ``exp(x) - y x`` (``x`` a log-rate); ``False``:
    ``x - y log(x + eps)`` (``x`` a rate, which must be >= 0: checked where
    the values are readable without a sync or a trace). ``full=True`` adds
    Stirling's ``log(y!) ~ y log y - y + log(2 pi y) / 2`` where ``y > 1`` (0
    elsewhere), exactly as ``torch.nn.functional.poisson_nll_loss``. Where the
    rate ``x + eps`` is 0 (``eps=0``), ``0 log 0`` is 0 and any count > 0
    gives ``inf``, not NaN.

    Keras' ``Poisson`` is ``y_pred - y_true log(y_pred + 1e-7)``:
    ``keras.losses.Poisson()(y, x)`` is ``poisson_nll_loss(x, y,
    log_input=False, eps=1e-7)`` (Keras' epsilon, ``keras.config.epsilon()``;
    Keras' ``"sum"`` divides this ``"sum"`` by ``x.shape[-1]``).

    Parameters
    ----------
    input : array
        Log-rates (``log_input=True``) or rates.
    target : array
        Counts (any float or integer array of the input's shape).
    log_input, full : bool
    eps : float
        Added to the rate inside the log (``log_input=False``), >= 0.
    {params}

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.poisson_nll_loss(np.array([0.0, 0.0]), np.array([1.0, 3.0])))  # exp(0) - y * 0
    1.0
    >>> x, y = np.array([2.0]), np.array([4.0])
    >>> round(float(cl.poisson_nll_loss(x, y, log_input=False, full=True)), 6)
    2.384674
    """
    fname = "poisson_nll_loss"
    _check_bool(fname, "log_input", log_input)
    _check_bool(fname, "full", full)
    _check_eps(fname, eps, low_open=False)
    if log_input and weight is None and mask is None and ignore_value is None:
        c.check_reduction(fname, reduction)
        out = c.backend_of(input, target).poisson_nll_native(input, target, full, reduction)
        if out is not None:  # the plain case in one native kernel (same function)
            return out
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    if full:  # Stirling's term where y > 1, else 0; log(2 pi y) as log(2 pi) + log y
        big = y > 1
        ys = xp.where(big, y, 2.0)  # a safe value where not selected (double where)
    if log_input:
        loss = xp.exp(x) - y * x
        if full:
            log_y = xp.log(ys)
            stirling = ys * log_y - ys + (0.5 * log_y + _HALF_LOG_2PI)
            loss = loss + xp.where(big, stirling, 0.0)
    else:
        hint = " (rates; pass log_input=True for log-rates)"
        _check_nonnegative(be, x, fname, "input", hint)
        r = x + eps
        ok = r > 0  # else: a zero (or, unchecked, negative) rate
        log_r = xp.log(xp.where(ok, r, 1.0))
        loss = x - y * log_r
        if full:
            # y log y - y log r as y (log y - log r): no inf - inf for huge y and r
            log_y = xp.log(ys)
            st = (x - ys) + ys * (log_y - log_r) + (0.5 * log_y + _HALF_LOG_2PI)
            loss = xp.where(big, st, loss)
        loss = xp.where(xp.logical_or(ok, y == 0), loss, math.inf)
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


def _ex_gaussian(rng):
    x = rng.normal(size=(5, 6)) * 2
    y = rng.normal(size=(5, 6)) * 2
    y[0, :2] = -1.0
    var = rng.uniform(0.5, 2.0, size=(5, 6))
    kw = {"full": True, "ignore_value": -1.0, "weight": rng.uniform(0.5, 2.0, size=(6,))}
    return (x, y, var), kw


def _var_like_input(fname: str, xp: Any, v: Array, shape: tuple) -> Array:
    """``var`` broadcastable the way ``F.gaussian_nll_loss`` allows: the input's
    shape, that shape without its last axis, or one axis of size 1 where the
    input's differs; also 0-d (one variance for all, e.g. a learned one)."""
    vs = tuple(v.shape)
    if vs == shape or vs == ():
        return v
    if vs == shape[:-1]:
        return xp.expand_dims(v, axis=-1)
    if len(vs) == len(shape):
        diff = [i for i, (a, b) in enumerate(zip(shape, vs)) if a != b]
        if len(diff) == 1 and vs[diff[0]] == 1:
            return v
    raise ValueError(
        f"{fname}: 'var' of shape {vs} must have the input's shape {shape}, that shape "
        f"without its last axis {shape[:-1]}, size 1 on exactly one axis, or shape ()"
    )


@register(
    "regression",
    "torch.nn.functional.gaussian_nll_loss",
    peers=("torch.nn.functional.gaussian_nll_loss",),
    example=_ex_gaussian,
    grad_argnums=(0, 2),
)
def gaussian_nll_loss(
    input: Array,
    target: Array,
    var: Array | float,
    /,
    *,
    full: bool = False,
    eps: float = 1e-6,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Gaussian negative log-likelihood ``(log v + (x - y)^2 / v) / 2`` of mean ``x``.

    ``v = max(var, eps)`` as in ``torch.nn.functional.gaussian_nll_loss``: the
    clamp changes the value only; the gradient passes to ``var`` unchanged
    (torch clamps a clone under ``no_grad``), so it is ``d loss / d v`` at the
    clamped ``v``. ``full=True`` adds ``log(2 pi) / 2``. ``var`` must be >= 0
    (checked where the values are readable without a sync or a trace;
    elsewhere a negative variance is clamped to ``eps``). Computed from half
    the residual: no ``x - y`` or ``(x - y)^2`` overflow where the loss fits.

    Parameters
    ----------
    input, target : array
        Predicted means and observations, of the same shape.
    var : array or float
        Variances: the input's shape (heteroscedastic), that shape without its
        last axis or with size 1 on one axis (shared along it): PyTorch's
        rules; or one variance for all, a 0-d array (e.g. a learned
        homoscedastic variance) or a Python number.
    full : bool
    eps : float
        Floor of the variance, > 0.
    {params}

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x, y = np.array([1.0, 3.0]), np.array([0.0, 1.0])
    >>> float(cl.gaussian_nll_loss(x, y, np.array([1.0, 4.0]), reduction="sum"))  # (1 + log 4 + 1) / 2
    1.6931471805599454
    """
    fname = "gaussian_nll_loss"
    _check_bool(fname, "full", full)
    _check_eps(fname, eps, low_open=True)
    scalar_var = isinstance(var, numbers.Real) and not isinstance(var, bool)
    if scalar_var:
        c.check_number(fname, "var", var, low=0)
    elif not (hasattr(var, "shape") and hasattr(var, "dtype")):
        raise TypeError(
            f"{fname}: 'var' must be an array or a real number, got {type(var).__name__} {var!r}"
        )
    else:
        be = c.backend_of(input, target, var, weight, mask)  # mixed namespaces: TypeError
        if weight is None and mask is None and ignore_value is None:
            c.check_reduction(fname, reduction)
            out = be.gaussian_nll_native(input, target, var, full, eps, reduction)
            if out is not None:  # the plain case in native kernels (same function)
                return out
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    h = 0.5 * x - 0.5 * y  # (x - y)^2 / v = 4 s^2, s = h / sqrt(v): no overflow of
    # x - y or (x - y)^2, and no inf * 0 in d/dv where the value overflows
    if scalar_var:
        v = max(float(var), eps)
        s = h / math.sqrt(v)
        loss = 0.5 * math.log(v) + 2.0 * (s * s)
    else:
        if not hasattr(var, "dtype") or not xp.isdtype(var.dtype, ("real floating", "integral")):
            what = getattr(var, "dtype", type(var).__name__)
            raise TypeError(f"{fname}: 'var' must be a real array or number, got {what}")
        v = _var_like_input(fname, xp, c.cast_to(be, var, x.dtype), tuple(x.shape))
        v = c.sanitize(xp, valid, v, 1.0)
        _check_nonnegative(be, v, fname, "var")
        # max(v, eps) in value, identity in gradient (v - stop_gradient(v) is exactly 0)
        v = xp.where(v < eps, (v - be.stop_gradient(v)) + eps, v)
        s = h / xp.sqrt(v)
        loss = 0.5 * xp.log(v) + 2.0 * (s * s)
    if full:
        loss = loss + _HALF_LOG_2PI
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


for _f, _doc in ((poisson_nll_loss, _PARAMS), (gaussian_nll_loss, _PARAMS)):
    if _f.__doc__:  # None under python -OO
        _f.__doc__ = _f.__doc__.replace("{params}", _doc)
del _f, _doc
