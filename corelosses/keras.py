"""Keras 3 losses for every catalog loss (``cl.keras.FocalLoss(gamma=2.0)``).

A thin re-export of :mod:`corelosses.adapters.frontends.keras_losses`, where the
classes are generated from :func:`corelosses.catalog`; see its docstring for
the argument order, label casting and reduction.
"""

from __future__ import annotations

from .adapters.frontends import keras_losses as _impl
from .adapters.frontends.keras_losses import *  # noqa: F403
from .adapters.frontends.keras_losses import CatalogKerasLoss, loss_class  # noqa: F401

__all__ = list(_impl.__all__)


def __getattr__(name: str):
    return getattr(_impl, name)


def __dir__() -> list[str]:
    return _impl.__dir__()
