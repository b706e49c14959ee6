"""Regression losses: squared, absolute, Huber, smooth L1 and log-cosh errors.

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

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "log_cosh_loss"]


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
    be, xp, x, y, w, valid = c.pair_setup(
        "mse_loss",
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    d = x - y
    return c.reduce(be, d * d, reduction, weight=w, valid=valid)


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
    be, xp, x, y, w, valid = c.pair_setup(
        "l1_loss",
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    d = x - y
    # d * sign(d), not abs(d): the gradient at d = 0 is 0 on every framework (jax's abs gives 1)
    return c.reduce(be, d * xp.sign(d), reduction, weight=w, valid=valid)


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
    fname = "huber_loss"
    c.check_number(fname, "delta", delta, low=0, low_open=True)
    if weight is None and mask is None and ignore_value is None:
        c.check_reduction(fname, reduction)
        out = c.backend_of(input, target).huber_native(input, target, delta, reduction)
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
    a = xp.abs(x - y)
    q = be.min_scalar(a, delta)
    return c.reduce(be, q * (a - 0.5 * q), reduction, weight=w, valid=valid)


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
    fname = "smooth_l1_loss"
    c.check_number(fname, "beta", beta, low=0)
    be, xp, x, y, w, valid = c.pair_setup(
        fname,
        input,
        target,
        weight=weight,
        mask=mask,
        reduction=reduction,
        ignore_value=ignore_value,
    )
    a = xp.abs(x - y)
    if beta == 0:
        loss = (x - y) * xp.sign(x - y)  # as l1_loss: gradient 0 at d = 0 everywhere
    else:
        q = be.min_scalar(a, beta)
        loss = q * (a - 0.5 * q) / beta
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


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


for _f in (mse_loss, l1_loss, huber_loss, smooth_l1_loss, log_cosh_loss):
    if _f.__doc__:  # None under python -OO
        _f.__doc__ = _f.__doc__.replace("{extra}", _EXTRA_DOC.strip())
del _f
