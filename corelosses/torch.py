"""PyTorch modules for every catalog loss (``cl.torch.FocalLoss(alpha=0.25)``).

A thin re-export of :mod:`corelosses.adapters.frontends.torch_modules`, where the
modules are generated from :func:`corelosses.catalog`; see its docstring for
the naming rule, buffers, autocast and the data-parallel pattern.
"""

from __future__ import annotations

from .adapters.frontends import torch_modules as _impl
from .adapters.frontends.torch_modules import *  # noqa: F403
from .adapters.frontends.torch_modules import CatalogLoss, module_class, valid_count  # noqa: F401

__all__ = list(_impl.__all__)


def __getattr__(name: str):
    # Losses registered after this import (plugins, late modules) still resolve.
    return getattr(_impl, name)


def __dir__() -> list[str]:
    return _impl.__dir__()
