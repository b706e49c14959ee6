"""``corelosses check``: the cases of catalog entries without an example (penalties, symmetric_loss)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._registry import LossInfo

# ---------------------------------------------------------------------------
# What is checked for each catalog entry


@dataclass(frozen=True)
class CheckCase:
    """How ``corelosses check`` exercises one catalog entry.

    ``fn(*args, **kwargs)`` is run on every backend with ``example(rng)``'s
    float64 NumPy arrays converted; ``reference`` (float64 NumPy, same
    arguments; default ``fn`` on NumPy) gives the expected value and, by
    finite differences, the gradient of the ``grad_argnums`` arguments.
    ``needs_autodiff``: on a backend without autodiff ``fn`` must raise
    ``TypeError`` (checked; the cell is n/a).
    """

    info: LossInfo
    fn: Callable[..., Any]
    example: Callable[[Any], tuple[tuple, dict]]
    grad_argnums: tuple[int, ...]
    reference: Callable[..., Any] | None = None
    needs_autodiff: bool = False
    fd_gradient: bool = True
    how: str = ""


def _sum_squares_critic(x):
    """``D(x) = sum(x**2)`` over the non-batch axes, in ``x``'s namespace: ``dD/dx = 2x``."""
    from array_api_compat import array_namespace

    xp = array_namespace(x)
    return xp.sum(x * x, axis=tuple(range(1, x.ndim)))


def _per_sample_sq_norm(g: np.ndarray) -> np.ndarray:
    return np.sum(g * g, axis=tuple(range(1, g.ndim)))


def _gradient_penalty_case(info: LossInfo) -> CheckCase:
    def example(rng):
        real = rng.normal(size=(4, 2, 3))
        fake = rng.normal(size=(4, 2, 3))
        eps = rng.uniform(0.1, 0.9, size=(4,))
        return (_sum_squares_critic, real, fake), {"epsilon": eps, "weight": 3.0, "target": 0.8}

    def reference(critic, real, fake, /, *, epsilon, weight=10.0, target=1.0):
        e = np.reshape(np.asarray(epsilon, dtype=np.float64), (-1,) + (1,) * (real.ndim - 1))
        g = 2.0 * (e * real + (1.0 - e) * fake)  # the critic's gradient at the interpolates
        return weight * np.mean((np.sqrt(_per_sample_sq_norm(g) + 1e-10) - target) ** 2)

    return CheckCase(
        info,
        info.fn,
        example,
        (1, 2),
        reference=reference,
        needs_autodiff=True,
        how="critic sum(x**2) over non-batch axes, vs the analytic penalty",
    )


def _r1_penalty_case(info: LossInfo) -> CheckCase:
    def example(rng):
        return (_sum_squares_critic, rng.normal(size=(4, 2, 3))), {"weight": 3.0}

    def reference(critic, real, /, *, weight=10.0):
        return 0.5 * weight * np.mean(_per_sample_sq_norm(2.0 * real))

    return CheckCase(
        info,
        info.fn,
        example,
        (1,),
        reference=reference,
        needs_autodiff=True,
        how="critic sum(x**2) over non-batch axes, vs the analytic penalty",
    )


def _symmetric_loss_case(info: LossInfo) -> CheckCase:
    from ..regression import mse_loss

    def example(rng):
        x = rng.normal(size=(2, 4, 4))
        y = rng.normal(size=(2, 4, 4))
        y = (y + np.swapaxes(y, -1, -2)) / 2
        return (x, y), {"mask": rng.uniform(size=(2, 4, 4)) > 0.25}

    def reference(x, y, /, *, mask):
        m = mask.astype(np.float64)
        xt = np.swapaxes(x, -1, -2)
        return np.sum(m * (x - y) ** 2) / np.sum(m) + np.sum(m * (xt - y) ** 2) / np.sum(m)

    return CheckCase(
        info,
        info.fn(mse_loss),
        example,
        (0,),
        reference=reference,
        how="symmetric_loss(mse_loss) with a mask, vs mse(x, y) + mse(x^T, y) in NumPy",
    )


def _deep_supervision_case(info: LossInfo) -> CheckCase:
    from ..regression import mse_loss

    def example(rng):
        x0 = rng.normal(size=(2, 1, 4, 6))
        x1 = rng.normal(size=(2, 1, 2, 3))
        y = rng.normal(size=(2, 1, 4, 6))
        return (x0, x1, y), {}

    loss = info.fn(mse_loss)

    def fn(x0, x1, y, /):
        return loss([x0, x1], y)

    def reference(x0, x1, y, /):
        # nearest-exact halving keeps the odd rows and columns; weights 1 and 1/2 ("exp")
        return np.mean((x0 - y) ** 2) + 0.5 * np.mean((x1 - y[..., 1::2, 1::2]) ** 2)

    return CheckCase(
        info,
        fn,
        example,
        (0, 1),
        reference=reference,
        how="deep_supervision(mse_loss) over two scales, vs the NumPy sum of weighted MSEs",
    )


#: Catalog entries without an ``example`` (they take a callable) and how they are checked.
SPECIAL_CASES: dict[str, Callable[[LossInfo], CheckCase]] = {
    "gradient_penalty": _gradient_penalty_case,
    "r1_penalty": _r1_penalty_case,
    "symmetric_loss": _symmetric_loss_case,
    "deep_supervision": _deep_supervision_case,
}


def case_of(info: LossInfo) -> CheckCase | None:
    """The check of a catalog entry, or ``None`` if it has neither an example nor a case."""
    if info.name in SPECIAL_CASES and info.plugin is None:
        return SPECIAL_CASES[info.name](info)
    if info.example is None:
        return None
    return CheckCase(
        info,
        info.fn,
        info.example,
        tuple(info.grad_argnums),
        fd_gradient=info.extra.get("fd_gradient") is not False,
    )
