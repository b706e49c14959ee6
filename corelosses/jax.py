"""The losses for JAX users: ``jit``/``grad``/``vmap`` ready, ``jax.nn`` kernels.

A thin re-export of :mod:`corelosses.adapters.frontends.jax_api`, generated from
:func:`corelosses.catalog`; see its docstring for per-example (optax-style)
usage and sharding.
"""

from __future__ import annotations

from .adapters.frontends import jax_api as _impl
from .adapters.frontends.jax_api import *  # noqa: F403
from .adapters.frontends.jax_api import per_example, valid_count  # noqa: F401

__all__ = list(_impl.__all__)


def __getattr__(name: str):
    return getattr(_impl, name)


def __dir__() -> list[str]:
    return _impl.__dir__()
