"""``torch.nn.Module`` wrappers, one per catalog loss, generated from the catalog.

>>> import torch, corelosses as cl
>>> crit = cl.torch.FocalLoss(alpha=0.25, gamma=2.0)
>>> crit
FocalLoss(alpha=0.25, gamma=2.0)
>>> x = torch.tensor([3.0, -2.0]); y = torch.tensor([1.0, 1.0])
>>> round(float(crit(x, y)), 6) == round(float(cl.focal_loss(x, y, alpha=0.25, gamma=2.0)), 6)
True

Class names
-----------
The CamelCase of the function's name, with acronyms in capitals
(``focal_loss -> FocalLoss``, ``mse_loss -> MSELoss``,
``smooth_l1_loss -> SmoothL1Loss``, ``cross_entropy -> CrossEntropy``). Also
accepted: the plain CamelCase (``MseLoss``) and, for names that do not end in
``loss``, the PyTorch-style ``...Loss`` form (``CrossEntropyLoss``,
``BinaryCrossEntropyLoss``). Beware that, unlike ``torch.nn.BCELoss``, every
corelosses loss takes logits by default (``from_logits=True``).

Calling convention
------------------
The constructor takes the loss's keyword options (``reduction`` included);
``forward`` takes the positional arrays, plus per-call keyword arrays such as
``mask=`` and ``weight=`` (any option may be overridden per call). Array
options given to the constructor (``class_weight``, ``pos_weight``, an
``alpha`` vector, NumPy arrays or tensors) are registered as buffers: they
are in ``state_dict()`` and follow ``.to(device)``. A ``torch.nn.Module``
option (a feature extractor) is registered as a sub-module.

Precision
---------
``forward`` runs the loss with autocast disabled: half-precision inputs are
computed in float32 by the core (the result is float32), and no operation
inside the loss is downcast by an enclosing ``torch.autocast``.

Data parallel
-------------
With DistributedDataParallel, a masked (or ``ignore_index``) mean computed per
rank and averaged is not the global mean. Sum numerators and denominators::

    crit = cl.torch.CrossEntropy(ignore_index=-100, reduction="sum")
    num = crit(logits, target)                 # differentiable
    den = crit.valid_count(logits, target)     # no gradient
    torch.distributed.all_reduce(den)          # den: the global count
    loss = num * world_size / den.clamp_min(1) # DDP averages gradients

(``num / den`` after all-reducing ``num`` as well gives the global value.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..._registry import LossInfo
from . import _wrap

__all__ = ["CatalogLoss", "module_class", "valid_count"]

#: Catalog kinds that get a module: losses and penalties (``GradientPenalty``).
KINDS = ("loss", "penalty")

_CLASSES: dict[str, type] = {}


class CatalogLoss(torch.nn.Module):
    """Base of every generated module: options in the constructor, arrays in ``forward``.

    Parameters
    ----------
    **options
        Keyword options of the wrapped loss (see its function's docstring).
    """

    corelosses_info: LossInfo  # set on each generated subclass

    def __init__(self, **options: Any):
        super().__init__()
        info = type(self).corelosses_info
        _wrap.check_options(info, options, type(self).__name__)
        self._options: dict[str, Any] = {}
        self._buffer_names: list[str] = []
        self._module_names: list[str] = []
        for k, v in options.items():
            if isinstance(v, np.ndarray):
                v = torch.from_numpy(np.ascontiguousarray(v))
            if isinstance(v, torch.Tensor):
                self.register_buffer(k, v)
                self._buffer_names.append(k)
            elif isinstance(v, torch.nn.Module):
                self.add_module(k, v)
                self._module_names.append(k)
            else:
                self._options[k] = v

    def corelosses_options(self) -> dict[str, Any]:
        """The constructor's options, tensors and sub-modules included."""
        out = dict(self._options)
        for k in self._buffer_names + self._module_names:
            out[k] = getattr(self, k)
        return out

    def forward(self, *arrays: Any, **kwargs: Any) -> torch.Tensor:
        """Compute the loss: ``fn(*arrays, **options, **kwargs)``."""
        fn = type(self).corelosses_info.fn
        opts = self.corelosses_options()
        opts.update(kwargs)
        dev = _device_type(arrays)
        with torch.autocast(device_type=dev, enabled=False):
            return fn(*arrays, **opts)

    def valid_count(self, *arrays: Any, **kwargs: Any) -> torch.Tensor:
        """The denominator of this loss's ``"mean"`` on these arrays (see the module doc)."""
        return _wrap.valid_count(self, *arrays, **kwargs)

    def extra_repr(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self._options.items()]
        for k in self._buffer_names:
            b = getattr(self, k)
            parts.append(f"{k}=tensor(shape={tuple(b.shape)}, dtype={b.dtype})")
        return ", ".join(parts)


def _device_type(arrays: Any) -> str:
    for a in arrays:
        if isinstance(a, torch.Tensor):
            return a.device.type
    return "cpu"


def module_class(info: LossInfo) -> type:
    """The ``nn.Module`` class of a catalog entry (built once, then cached)."""
    cls = _CLASSES.get(info.name)
    if cls is not None and getattr(cls, "corelosses_info", None) is info:
        return cls
    name = _wrap.class_name(info.name)
    arrays = ", ".join(_wrap.array_params(info.fn))
    doc = (
        f"``torch.nn.Module`` computing :func:`corelosses.{info.name}`.\n\n"
        f"``{name}(**options)(" + arrays + ", **per_call)``: options are the "
        "function's keyword arguments; ``forward`` takes its arrays.\n\n"
        f"Reference: {info.reference}\n\n" + (info.fn.__doc__ or "")
    )
    cls = type(
        name,
        (CatalogLoss,),
        {"__doc__": doc, "__module__": "corelosses.torch", "corelosses_info": info},
    )
    cls.__qualname__ = name
    _CLASSES[info.name] = cls
    return cls


def valid_count(loss: Any, /, *arrays: Any, **options: Any) -> Any:
    """See :func:`corelosses.adapters.frontends._wrap.valid_count`."""
    return _wrap.valid_count(loss, *arrays, **options)


valid_count.__doc__ = _wrap.valid_count.__doc__


def __getattr__(name: str) -> type:
    info = _wrap.loss_entries(KINDS).get(name)
    if info is None:
        raise AttributeError(f"module 'corelosses.torch' has no attribute {name!r}")
    return module_class(info)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_wrap.loss_entries(KINDS)))


def _generate() -> None:
    for cname, info in _wrap.loss_entries(KINDS).items():
        globals()[cname] = module_class(info)
        if cname == _wrap.class_name(info.name):
            __all__.append(cname)


_generate()
