"""A third-party loss, written like a built-in one (public names only: corelosses.extend)
and registered on import.

>>> import numpy as np, corelosses as cl
>>> float(cl.get("squared_log_error").fn(np.array([np.e - 1.0]), np.array([0.0])))
1.0
"""

from __future__ import annotations

from corelosses import extend as ce


def _ex(rng):
    x = rng.uniform(0.5, 3.0, size=(4, 5))
    y = rng.uniform(0.5, 3.0, size=(4, 5))
    return (x, y), {}


@ce.register(
    "regression",
    "mean squared logarithmic error (Keras' MSLE)",
    peers=("keras.losses.mean_squared_logarithmic_error",),
    backends=("numpy", "torch", "jax"),
    example=_ex,
)
def squared_log_error(input, target, /, *, weight=None, mask=None, reduction="mean"):
    """``(log1p(x) - log1p(y))**2``, elementwise."""
    be, xp, x, y, w, valid = ce.pair_setup(
        "squared_log_error", input, target, weight=weight, mask=mask, reduction=reduction
    )
    d = xp.log1p(x) - xp.log1p(y)
    return ce.reduce(be, d * d, reduction, weight=w, valid=valid)
