"""Regression losses: squared, absolute, Huber, smooth L1, log-cosh, percentage,
squared-log, quantile (pinball) and Barron's general robust errors.

All are elementwise ``(input, target)`` losses with ``weight``, ``mask`` and
``ignore_value``. ``ignore_value`` (a number or NaN) masks every entry whose
target equals it: the partial-label case of multi-task learning, where a
target exists only for some samples. Those entries give no gradient and the
mean runs over the labels that exist (see :mod:`corelosses.regularizers`'
notes and the README for why this beats multiplying by ``label / (label + eps)``).
"""

from __future__ import annotations

from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = [
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "log_cosh_loss",
    "mape_loss",
    "msle_loss",
    "quantile_loss",
    "robust_loss",
]


def _ex(rng):
    x = rng.normal(size=(5, 6)) * 2
    y = rng.normal(size=(5, 6)) * 2
    y[0, :2] = -1.0
    return (x, y), {"ignore_value": -1.0, "weight": rng.uniform(0.5, 2.0, size=(6,))}


_EXTRA_DOC = """
    Parameters
    ----------
    input, target : array
        Predictions and targets of the same shape.
    weight : array, optional
        Elementwise weights broadcastable to the loss; ``"mean"`` still
        divides by the number of valid entries (PyTorch's and Keras' rule).
    mask : array, optional
        Boolean or 0/1, broadcastable to the loss; masked entries give
        exactly zero value and gradient, even where ``input`` is NaN.
    ignore_value : float, optional
        Entries whose target equals it (NaN matches NaN) are masked.
    reduction : {"mean", "sum", "none"}
"""


def _squared(be, xp, x, y):
    d = x - y
    return d * d


def _absolute(be, xp, x, y):
    return be.abs0(x - y)  # the gradient at x = y is 0 on every framework (jax's abs: 1)


def _huber(be, xp, x, y, delta):
    a = xp.abs(x - y)
    q = be.min_scalar(a, delta)
    return q * (a - 0.5 * q)


def _smooth_l1(be, xp, x, y, beta):
    if beta == 0:
        return _absolute(be, xp, x, y)  # as l1_loss: gradient 0 at d = 0 everywhere
    return _huber(be, xp, x, y, beta) / beta


def _native_or_formula(
    fname, kernel, params, formula, input, target, weight, mask, ignore_value, reduction
):
    """The elementwise losses that are exactly 0 at the fill ``(0, 0)``.

    A plain call goes to the backend's fused kernel when it has one
    (``Backend.regression_native``, the same function). A masked or weighted
    call runs :func:`corelosses._core.pair_setup` (the first ``where``), then
    that kernel unreduced, or ``formula(be, xp, x, y, *params)``; the loss is 0 at the
    filled entries, so :func:`corelosses._core.reduce` skips the second
    ``where`` (``at_fill="zero"``).
    """
    if weight is None and mask is None and ignore_value is None:
        c.check_reduction(fname, reduction)
        be = c.backend_of(input, target)
        out = be.regression_native(kernel, input, target, params, reduction)
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
    loss = be.regression_native(kernel, x, y, params, "none")
    if loss is None:
        loss = formula(be, xp, x, y, *params)
    return c.reduce(be, loss, reduction, weight=w, valid=valid, at_fill="zero")


@register(
    "regression",
    "torch.nn.functional.mse_loss",
    peers=(
        "torch.nn.functional.mse_loss",
        "optax.squared_error",
        "keras.losses.mean_squared_error",
    ),
    example=_ex,
)
def mse_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Squared error ``(x - y)^2``.
    {extra}
    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.mse_loss(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
    2.5
    """
    return _native_or_formula(
        "mse_loss", "mse", (), _squared, input, target, weight, mask, ignore_value, reduction
    )


@register(
    "regression",
    "torch.nn.functional.l1_loss",
    peers=("torch.nn.functional.l1_loss", "keras.losses.mean_absolute_error"),
    example=_ex,
)
def l1_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Absolute error ``|x - y|`` (gradient 0 at ``x = y``, as in PyTorch).
    {extra}
    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.l1_loss(np.array([1.0, -2.0]), np.array([0.0, 0.0])))
    1.5
    """
    return _native_or_formula(
        "l1_loss", "l1", (), _absolute, input, target, weight, mask, ignore_value, reduction
    )


@register(
    "regression",
    "Huber 1964; torch.nn.functional.huber_loss",
    peers=("torch.nn.functional.huber_loss", "optax.huber_loss", "keras.losses.huber"),
    example=_ex,
)
def huber_loss(
    input: Array,
    target: Array,
    /,
    *,
    delta: float = 1.0,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Huber loss: ``d^2 / 2`` for ``|d| < delta``, else ``delta (|d| - delta / 2)``.

    ``d = x - y``; computed as ``q (|d| - q / 2)`` with ``q = min(|d|, delta)``,
    which has no branch to leak a gradient from.
    {extra}
    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.huber_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="sum"))
    2.625
    """
    c.check_number("huber_loss", "delta", delta, low=0, low_open=True)
    return _native_or_formula(
        "huber_loss", "huber", (delta,), _huber, input, target, weight, mask, ignore_value,
        reduction,
    )  # fmt: skip


@register(
    "regression",
    "Girshick 2015 (Fast R-CNN); torch.nn.functional.smooth_l1_loss",
    peers=("torch.nn.functional.smooth_l1_loss",),
    example=_ex,
)
def smooth_l1_loss(
    input: Array,
    target: Array,
    /,
    *,
    beta: float = 1.0,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Smooth L1: ``d^2 / (2 beta)`` for ``|d| < beta``, else ``|d| - beta / 2``.

    ``beta = 0`` is the L1 loss (PyTorch's rule). Equals ``huber_loss / beta``
    with ``delta = beta``.
    {extra}
    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.smooth_l1_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="sum"))
    2.625
    """
    c.check_number("smooth_l1_loss", "beta", beta, low=0)
    return _native_or_formula(
        "smooth_l1_loss", "smooth_l1", (beta,), _smooth_l1, input, target, weight, mask,
        ignore_value, reduction,
    )  # fmt: skip


@register(
    "regression",
    "keras.losses.log_cosh; optax.log_cosh",
    peers=("optax.log_cosh", "keras.losses.log_cosh"),
    example=_ex,
)
def log_cosh_loss(
    input: Array,
    target: Array,
    /,
    *,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""``log(cosh(x - y))``, computed as ``|d| + softplus(-2|d|) - log 2``.

    Finite for any ``|d|`` (``cosh`` itself overflows past 710 in float64);
    its gradient is ``tanh(d)``.
    {extra}
    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> round(float(cl.log_cosh_loss(np.array([1.0]), np.array([0.0]))), 6)
    0.433781
    """
    be, xp, x, y, w, valid = c.pair_setup(
        "log_cosh_loss",
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    a = xp.abs(x - y)
    loss = a + be.softplus(-2.0 * a) - 0.6931471805599453
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


# ------------------------------------------------------- part two (issue 14)
_KERAS_EPS = 1e-7  # keras.backend.epsilon()'s default


def _check_positive(fname: str, argname: str, value: Any, *, low_open: bool = True) -> None:
    """A finite Python number > 0 (>= 0 with ``low_open=False``), named on failure."""
    c.check_number(fname, argname, value, low=0, low_open=low_open)
    if c.is_inf(value):
        raise ValueError(f"{fname}: '{argname}' must be a finite number, got {value!r}")


def _ex_mape(rng):
    (x, y), kw = _ex(rng)
    y = (2.0 * (y > 0) - 1.0) * rng.uniform(0.5, 3.0, size=y.shape)  # |y| away from eps
    y[0, :2] = -1.0
    return (x, y), kw


def _ex_positive(rng):
    x = rng.uniform(0.2, 4.0, size=(5, 6))
    y = rng.uniform(0.2, 4.0, size=(5, 6))
    y[0, :2] = -1.0
    return (x, y), {"ignore_value": -1.0, "weight": rng.uniform(0.5, 2.0, size=(6,))}


def _ex_with(**options):
    def ex(rng):
        args, kw = _ex(rng)
        return args, {**kw, **options}

    return ex


_KERAS_REDUCTION = """Keras averages over the last axis, then over the batch
    (``"sum_over_batch_size"``): with rows of equal length that is ``"mean"``
    here. Keras' ``reduction="sum"`` is ``reduction="sum"`` here divided by
    ``input.shape[-1]``; its per-sample values (``reduction=None``) are
    ``reduction="none"`` here averaged over the last axis. Keras calls
    ``loss(y_true, y_pred)``; the order here is ``(input, target)``."""


@register(
    "regression",
    "keras.losses.MeanAbsolutePercentageError",
    peers=("keras.losses.MeanAbsolutePercentageError",),
    example=_ex_mape,
)
def mape_loss(
    input: Array,
    target: Array,
    /,
    *,
    eps: float = _KERAS_EPS,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Absolute percentage error ``100 |y - x| / max(|y|, eps)`` (Keras' MAPE).

    ``eps`` is Keras' ``backend.epsilon()`` (1e-7 unless changed with
    ``keras.config.set_epsilon``). Computed from half the residual, so no
    ``|y - x|`` overflows where the ratio itself does not; the gradient is 0 at
    ``x = y`` (as :func:`l1_loss`), none flows to the target.

    {keras}

    {extra}
    eps : float
        Floor of ``|y|`` in the denominator, > 0.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> float(cl.mape_loss(np.array([1.5, 1.0]), np.array([1.0, 2.0])))
    50.0
    """
    fname = "mape_loss"
    _check_positive(fname, "eps", eps)
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    den = xp.abs(y)
    den = xp.where(den < eps, eps, den)  # max(|y|, eps); xp.maximum breaks torch.compile
    h = 0.5 * y - 0.5 * x  # half the residual: finite wherever y and x are
    loss = be.abs0(h) / den
    # 100 |y - x| / den = 200 |h| / den, the factor after the weight: no overflow where
    # the weighted value fits
    if w is None:
        return c.reduce(be, loss * 200.0, reduction, valid=valid)
    return c.reduce(be, loss, reduction, weight=w * 200.0, valid=valid)


@register(
    "regression",
    "keras.losses.MeanSquaredLogarithmicError",
    peers=("keras.losses.MeanSquaredLogarithmicError",),
    example=_ex_positive,
)
def msle_loss(
    input: Array,
    target: Array,
    /,
    *,
    eps: float = _KERAS_EPS,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Squared log error ``(log(1 + max(x, eps)) - log(1 + max(y, eps)))^2`` (Keras' MSLE).

    Both sides are floored at ``eps`` (Keras' ``backend.epsilon()``, 1e-7), so
    any input gives a finite value; the gradient is 0 where ``x < eps``. The
    logs are ``log1p`` (Keras writes ``log(max(., eps) + 1.0)``: the same
    function, with more digits for small values).

    {keras}

    {extra}
    eps : float
        Floor of the prediction and the target, >= 0.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> round(float(cl.msle_loss(np.array([3.0]), np.array([1.0]))), 6)  # (log 4 - log 2)^2
    0.480453
    """
    fname = "msle_loss"
    _check_positive(fname, "eps", eps, low_open=False)
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    d = xp.log1p(xp.where(x < eps, eps, x)) - xp.log1p(xp.where(y < eps, eps, y))
    # at the fill (0, 0) both logs are log1p(eps): d is exactly 0
    return c.reduce(be, d * d, reduction, weight=w, valid=valid, at_fill="zero")


@register(
    "regression",
    "Koenker & Bassett 1978 (quantile regression); sklearn.metrics.mean_pinball_loss",
    peers=("sklearn.metrics.mean_pinball_loss",),
    example=_ex_with(quantile=0.3),
)
def quantile_loss(
    input: Array,
    target: Array,
    /,
    *,
    quantile: float = 0.5,
    weight: Array | None = None,
    mask: Array | None = None,
    ignore_value: float | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Pinball loss ``max(q (y - x), (q - 1) (y - x))`` for the quantile ``q``.

    Its minimiser over ``x`` is the ``q``-quantile of ``y``; ``q = 0.5`` is half
    the L1 loss. Computed as ``(2q - 1) h + |h|`` with ``h = (y - x) / 2``:
    no overflow of ``y - x``, and at the kink ``x = y`` the gradient is the
    middle of the subgradients, ``1/2 - q`` (``max``'s tie rule in torch and
    jax; 0 for ``q = 0.5``, as :func:`l1_loss`).

    scikit-learn's ``mean_pinball_loss(y, x, alpha=q)`` is ``"mean"`` here; with
    ``sample_weight=w`` on ``(n, k)`` arrays it divides by ``w.sum()`` per
    column: ``quantile_loss(x, y, quantile=q, weight=w[:, None],
    reduction="sum") / (k * w.sum())``.

    {extra}
    quantile : float
        The quantile ``q``, in (0, 1).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> cl.quantile_loss(np.zeros(2), np.array([1.0, -1.0]), quantile=0.75, reduction="none")
    array([0.75, 0.25])
    """
    fname = "quantile_loss"
    c.check_number(fname, "quantile", quantile, low=0, high=1, low_open=True, high_open=True)
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    h = 0.5 * y - 0.5 * x
    loss = h * (2.0 * quantile - 1.0) + be.abs0(h)
    return c.reduce(be, loss, reduction, weight=w, valid=valid, at_fill="zero")  # h = 0 there


# Barron's general robust loss lives in its own module (this one was past 600 lines);
# imported last, so it registers after the losses above, as before
from .robust import robust_loss  # noqa: E402

for _name in __all__:
    _f = globals()[_name]
    if _f.__doc__:  # None under python -OO
        _f.__doc__ = _f.__doc__.replace("{keras}", _KERAS_REDUCTION)
        _f.__doc__ = _f.__doc__.replace("{extra}", "\n    " + _EXTRA_DOC.strip() + "\n")
del _f, _name
