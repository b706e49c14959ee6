"""Schedules: ramp a penalty's weight from ``low`` to ``high`` over training.

A regulariser that is strong from the first step (a :func:`binary_penalty`,
a :func:`one_hot_penalty`) traps outputs before the data has moved them;
its weight is ramped up instead. With ``t = clip((step - start) / (stop -
start), 0, 1)`` every ramp returns ``low + (high - low) r(t)``:

- :func:`linear_ramp`: ``r(t) = t``;
- :func:`cosine_ramp`: ``r(t) = (1 - cos(pi t)) / 2``;
- :func:`sigmoid_ramp`: ``r(t) = exp(-5 (1 - t)^2)`` (Laine & Aila 2017).

A Python ``int`` or ``float`` step gives a Python ``float``; an array step
(an optimizer's step counter, a tracer inside ``jax.jit``) gives a floating
array of its namespace, so the schedule can live inside a compiled train
step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["linear_ramp", "cosine_ramp", "sigmoid_ramp"]


def _ex(rng):
    step = rng.uniform(-20.0, 140.0, size=(12,))
    return (step,), {"start": 10, "stop": 110.5, "low": 0.1, "high": 2.0}


def _check(fname: str, start: Any, stop: Any, low: Any, high: Any) -> None:
    """Each option a finite real number representable as a float (NaN, inf and
    an int beyond the float range raise ``ValueError`` naming it); ``stop > start``."""
    for name, v in (("start", start), ("stop", stop), ("low", low), ("high", high)):
        if isinstance(v, numbers.Integral) and not isinstance(v, bool):
            try:
                float(v)
            except OverflowError:  # before check_number, whose NaN test would overflow
                raise ValueError(
                    f"{fname}: '{name}' must be finite (representable as a float), got an int "
                    f"of {len(str(abs(int(v))))} digits"
                ) from None
        c.check_number(fname, name, v)  # type and NaN
        if c.is_inf(v):
            raise ValueError(f"{fname}: '{name}' must be finite, got {v!r}")
    if stop <= start:
        raise ValueError(
            f"{fname}: 'stop' must be greater than 'start', got start={start!r}, stop={stop!r}"
        )


def _scalar_t(fname: str, step: Any, start: float, stop: float) -> float:
    """``clip((step - start) / (stop - start), 0, 1)`` of a Python (or NumPy) scalar step.

    The ends are decided by exact comparisons (Python compares ints and floats
    exactly, whatever their size), so an int step too large for a float is
    past the end of any ramp (``t = 1``) instead of an ``OverflowError``;
    ``+-inf`` steps give the ends too. A NaN step raises ``ValueError``.
    """
    if step != step:  # NaN (Python or NumPy float)
        raise ValueError(f"{fname}: 'step' must not be NaN, got {step!r}")
    if step <= start:
        return 0.0
    if step >= stop:
        return 1.0
    # start < step < stop: step is within the float range of the options
    t = (float(step) - start) / (stop - start)
    return 0.0 if t < 0.0 else 1.0 if t > 1.0 else t


def _ramp(
    fname: str,
    step: Any,
    start: float,
    stop: float,
    low: float,
    high: float,
    scalar_r: Callable[[float], float],
    array_r: Callable[[Any, Array], Array],
) -> Any:
    _check(fname, start, stop, low, high)
    if isinstance(step, numbers.Real) and not isinstance(step, bool):
        return float(low + (high - low) * scalar_r(_scalar_t(fname, step, start, stop)))
    if isinstance(step, bool) or isinstance(step, (str, bytes)) or step is None:
        raise TypeError(f"{fname}: 'step' must be a number or an array, got {step!r}")
    be = c.backend_of(step)
    xp = be.xp
    if xp.isdtype(step.dtype, "real floating"):
        s = c.floating(be, step, fname, "step")
    elif xp.isdtype(step.dtype, ("integral", "bool")):
        # the namespace's default floating dtype, on the step's device
        s = xp.astype(step, xp.asarray(0.0).dtype)
    else:
        raise TypeError(f"{fname}: 'step' must be a real array, got dtype {step.dtype}")
    t = (s - start) / (stop - start)
    t = xp.where(t < 0.0, 0.0, t)  # not clip/minimum: graph breaks under torch.compile
    t = xp.where(t > 1.0, 1.0, t)
    return low + (high - low) * array_r(xp, t)


_PARAMS = """
    Parameters
    ----------
    step : int, float or array
        The training step (any real number; an integer or floating array).
        Python ints of any size are compared with ``start`` and ``stop``
        exactly (a step past ``stop`` gives ``high``, however large); a NaN
        Python or NumPy scalar step raises ``ValueError``. In an array step
        a NaN entry gives NaN (the array convention of NumPy and JAX: no
        value check inside a traced or lazy computation).
    start, stop : float
        The ramp runs from ``start`` to ``stop``; ``stop > start``, both
        finite (NaN, inf, or an int too large for a float raise ``ValueError``).
    low, high : float
        The values before ``start`` and after ``stop``; finite.

    Returns
    -------
    float or array
        A Python float for a Python step; a floating array of ``step``'s
        namespace otherwise (the default float dtype for an integer step).
"""


@register("schedules", "linear ramp-up", example=_ex, kind="schedule", grad_argnums=())
def linear_ramp(
    step: Any, /, *, start: float, stop: float, low: float = 0.0, high: float = 1.0
) -> Any:
    r"""Linear ramp: ``low + (high - low) t``, ``t = clip((step - start) / (stop - start), 0, 1)``.
    {params}
    Examples
    --------
    >>> import corelosses as cl
    >>> [cl.linear_ramp(s, start=10, stop=20) for s in (0, 15, 20, 99)]
    [0.0, 0.5, 1.0, 1.0]
    """
    return _ramp("linear_ramp", step, start, stop, low, high, lambda t: t, lambda xp, t: t)


@register("schedules", "half-cosine ramp-up", example=_ex, kind="schedule", grad_argnums=())
def cosine_ramp(
    step: Any, /, *, start: float, stop: float, low: float = 0.0, high: float = 1.0
) -> Any:
    r"""Half-cosine ramp: ``low + (high - low) (1 - cos(pi t)) / 2``.

    ``t = clip((step - start) / (stop - start), 0, 1)``; smooth at both ends
    (zero slope at ``start`` and ``stop``).
    {params}
    Examples
    --------
    >>> import corelosses as cl
    >>> [round(cl.cosine_ramp(s, start=0, stop=100, high=2.0), 6) for s in (0, 25, 50, 100)]
    [0.0, 0.292893, 1.0, 2.0]
    """
    return _ramp(
        "cosine_ramp",
        step,
        start,
        stop,
        low,
        high,
        lambda t: 0.5 * (1.0 - math.cos(math.pi * t)),
        lambda xp, t: 0.5 * (1.0 - xp.cos(math.pi * t)),
    )


@register(
    "schedules",
    "Laine & Aila 2017, Temporal Ensembling (exp(-5 (1 - t)^2) ramp-up)",
    example=_ex,
    kind="schedule",
    grad_argnums=(),
)
def sigmoid_ramp(
    step: Any, /, *, start: float, stop: float, low: float = 0.0, high: float = 1.0
) -> Any:
    r"""Sigmoid-shaped ramp of Laine & Aila: ``low + (high - low) exp(-5 (1 - t)^2)``.

    ``t = clip((step - start) / (stop - start), 0, 1)``. As in the authors'
    code the ramp starts at ``exp(-5) ~ 0.0067`` of the way from ``low`` to
    ``high`` (not exactly ``low``), before ``start`` too, and reaches
    ``high`` at ``stop`` with zero slope.
    {params}
    Examples
    --------
    >>> import corelosses as cl
    >>> [round(cl.sigmoid_ramp(s, start=0, stop=100), 6) for s in (-5, 0, 50, 100)]
    [0.006738, 0.006738, 0.286505, 1.0]
    """
    return _ramp(
        "sigmoid_ramp",
        step,
        start,
        stop,
        low,
        high,
        lambda t: math.exp(-5.0 * (1.0 - t) ** 2),
        lambda xp, t: xp.exp(-5.0 * (1.0 - t) ** 2),
    )


for _f in (linear_ramp, cosine_ramp, sigmoid_ramp):
    if _f.__doc__:
        _f.__doc__ = _f.__doc__.replace("{params}", "\n    " + _PARAMS.strip() + "\n")
del _f
