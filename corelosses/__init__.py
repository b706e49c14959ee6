"""corelosses: loss functions written once against the Python array API.

The same call runs on NumPy, CuPy, PyTorch, JAX, Dask and array-api-strict
arrays, returns an array of that namespace and differentiates with the
framework's own autodiff. No framework is imported here: a backend's adapter
is loaded the first time one of its arrays reaches a loss.

>>> import numpy as np, corelosses as cl
>>> float(cl.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 0.0])))
2.0
"""

from __future__ import annotations

from . import (
    classification,
    detection,
    dice,
    dice_combo,
    divergence,
    embedding,
    gan,
    image,
    likelihood,
    margin,
    metric,
    multiscale,
    perceptual,
    ranking,
    registration,
    regression,
    regularizers,
    schedules,
    segmentation,
    sequence,
    topology,
    transforms,
    triplet,
)
from ._registry import LossInfo, catalog, get, register
from .adapters import _prepare_torch, backend_of, native, set_native
from .classification import *  # noqa: F403
from .detection import *  # noqa: F403
from .dice_combo import *  # noqa: F403
from .divergence import *  # noqa: F403
from .embedding import *  # noqa: F403
from .gan import *  # noqa: F403
from .image import *  # noqa: F403
from .likelihood import *  # noqa: F403
from .margin import *  # noqa: F403
from .metric import *  # noqa: F403
from .multiscale import *  # noqa: F403
from .perceptual import *  # noqa: F403
from .ranking import *  # noqa: F403
from .registration import *  # noqa: F403
from .regression import *  # noqa: F403
from .regularizers import *  # noqa: F403
from .schedules import *  # noqa: F403
from .segmentation import *  # noqa: F403
from .sequence import *  # noqa: F403
from .topology import *  # noqa: F403
from .transforms import *  # noqa: F403
from .triplet import *  # noqa: F403

__version__ = "0.1.0"

__all__ = [
    "LossInfo",
    "catalog",
    "get",
    "register",
    "backend_of",
    "native",
    "set_native",
    "classification",
    "detection",
    "dice",
    "dice_combo",
    "divergence",
    "embedding",
    "gan",
    "image",
    "likelihood",
    "margin",
    "metric",
    "multiscale",
    "perceptual",
    "ranking",
    "registration",
    "regression",
    "regularizers",
    "schedules",
    "segmentation",
    "sequence",
    "topology",
    "transforms",
    "triplet",
    *classification.__all__,
    *detection.__all__,
    *dice_combo.__all__,
    *divergence.__all__,
    *embedding.__all__,
    *gan.__all__,
    *image.__all__,
    *likelihood.__all__,
    *margin.__all__,
    *metric.__all__,
    *multiscale.__all__,
    *perceptual.__all__,
    *ranking.__all__,
    *registration.__all__,
    *regression.__all__,
    *regularizers.__all__,
    *schedules.__all__,
    *segmentation.__all__,
    *sequence.__all__,
    *topology.__all__,
    *transforms.__all__,
    *triplet.__all__,
]


def __getattr__(name: str):
    # ``corelosses.torch`` / ``.jax`` / ``.keras`` are imported on demand only.
    if name in ("torch", "jax", "keras"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'corelosses' has no attribute {name!r}")


# torch.compile's first trace must find torch's backend cached (else it compiles twice)
_prepare_torch()
del _prepare_torch
