"""``keras.losses.Loss`` subclasses, one per catalog loss, generated from the catalog.

For Keras 3 on the JAX and PyTorch backends (the core computes on the
backend's own tensors; the TensorFlow backend's tensors are not array-API
arrays and are not supported).

>>> import keras, corelosses as cl                        # doctest: +SKIP
>>> model.compile(optimizer="adam", loss=cl.keras.FocalLoss(gamma=2.0))  # doctest: +SKIP

Conventions
-----------
- Class names are those of :mod:`corelosses.torch` (``FocalLoss``,
  ``MSELoss``, ``CrossEntropy`` alias ``CrossEntropyLoss``, ...). Losses with
  one positional array (regularizers: the prediction only) or two
  (``input, target``) get a class; losses needing more arrays per batch do
  not fit Keras' ``(y_true, y_pred)`` signature and are not generated.
- Keras calls ``loss(y_true, y_pred)``; the core's order is
  ``(input, target)``: the class calls ``fn(y_pred, y_true, ...)``.
- Keras casts ``y_true`` to the loss's float dtype; where ``y_true`` cannot
  be a float target of ``y_pred``'s shape (class indices for
  ``cross_entropy``, with or without Keras' trailing axis of size 1) it is
  cast back to ``int32``.
- Reduction is Keras': the core computes ``reduction="none"`` and Keras
  applies ``sample_weight``, masks and its ``reduction``
  (``"sum_over_batch_size"`` by default: the mean over every entry). Entries
  the loss ignores (``ignore_index``, ``ignore_value``) are left out of that
  mean, as in the core's ``"mean"`` (and ``class_weight`` divides by the
  summed weights, as ``cross_entropy`` does).
- ``get_config``/``from_config`` round-trip every option (array options as
  nested lists; tuples kept as tuples).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ..._registry import LossInfo
from . import _wrap

__all__ = ["CatalogKerasLoss", "loss_class"]

_CLASSES: dict[str, type] = {}


def _encode(v: Any) -> Any:
    if isinstance(v, np.ndarray) or (hasattr(v, "shape") and hasattr(v, "dtype")):
        a = np.asarray(keras.ops.convert_to_numpy(v)) if not isinstance(v, np.ndarray) else v
        return {"__array__": a.tolist(), "dtype": str(a.dtype)}
    if isinstance(v, tuple):
        return {"__tuple__": [_encode(x) for x in v]}
    return v


def _decode(v: Any) -> Any:
    if isinstance(v, dict) and "__array__" in v:
        return np.asarray(v["__array__"], dtype=v["dtype"])
    if isinstance(v, dict) and "__tuple__" in v:
        return tuple(_decode(x) for x in v["__tuple__"])
    return v


class CatalogKerasLoss(keras.losses.Loss):
    """Base of every generated Keras loss.

    Parameters
    ----------
    reduction : str or None
        Keras' reduction (``"sum_over_batch_size"``, ``"sum"``, ``"mean"``,
        ``"mean_with_sample_weight"``, ``"none"`` or None).
    name : str, optional
        Defaults to the loss's function name.
    dtype : str, optional
        Keras' loss dtype.
    **options
        The wrapped loss's keyword options (not ``reduction``, ``mask``, ``weight``:
        use Keras' reduction, masks and ``sample_weight``).
    """

    corelosses_info: LossInfo

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **options):
        info = type(self).corelosses_info
        _wrap.check_options(info, options, type(self).__name__)
        for k in ("reduction", *_wrap.PER_CALL):
            if k in options:
                raise TypeError(
                    f"{type(self).__name__}: option {k!r} is Keras' business "
                    "(reduction=, sample_weight, masks)"
                )
        super().__init__(name=name or info.name, reduction=reduction, dtype=dtype)
        self.options = {k: _decode(v) for k, v in options.items()}

    def corelosses_options(self) -> dict[str, Any]:
        """The options, array options converted to the backend's tensors."""
        return {
            k: keras.ops.convert_to_tensor(v) if isinstance(v, np.ndarray) else v
            for k, v in self.options.items()
        }

    def call(self, y_true, y_pred):
        info = type(self).corelosses_info
        fn = info.fn
        opts = self.corelosses_options()
        if len(_wrap.array_params(fn)) == 1:
            return fn(y_pred, reduction="none", **opts)
        if info.extra.get("mean_of_none", True) is False and self.reduction in (
            "sum_over_batch_size",
            "mean",
            "sum",
        ):
            # the loss's own "mean" is not the mean of its "none" values (metric
            # learning: over pairs or anchors with a positive): a scalar, which
            # Keras' reduction passes through unchanged
            if "float" in str(y_true.dtype) and tuple(y_true.shape) != tuple(y_pred.shape):
                y_true = keras.ops.cast(y_true, "int32")  # labels (not one-hot maps)
            red = "sum" if self.reduction == "sum" else "mean"
            return fn(y_pred, y_true, reduction=red, **opts)
        yt_shape, yp_shape = tuple(y_true.shape), tuple(y_pred.shape)
        if yt_shape != yp_shape:
            if len(yt_shape) == len(yp_shape) and yt_shape[-1] == 1:
                y_true = keras.ops.squeeze(y_true, axis=-1)  # Keras' sparse labels
            if "float" in str(y_true.dtype):
                y_true = keras.ops.cast(y_true, "int32")  # class indices
        loss = fn(y_pred, y_true, reduction="none", **opts)
        if self.reduction in ("sum_over_batch_size", "mean") and _has_ignored(opts):
            count = _wrap.valid_count(fn, y_pred, y_true, **opts)
            total = float(np.prod(loss.shape))
            loss = loss * (total / keras.ops.maximum(count, 1.0))
        return loss

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg["dtype"] = self.dtype
        cfg.update({k: _encode(v) for k, v in self.options.items()})
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**{k: _decode(v) for k, v in config.items()})


def _has_ignored(opts: dict[str, Any]) -> bool:
    return any(
        (k.startswith("ignore_") or k == "class_weight") and v is not None for k, v in opts.items()
    )


def _eligible(info: LossInfo) -> bool:
    return info.kind == "loss" and 1 <= len(_wrap.array_params(info.fn)) <= 2


def loss_class(info: LossInfo) -> type:
    """The ``keras.losses.Loss`` class of a catalog entry (built once, then cached)."""
    cls = _CLASSES.get(info.name)
    if cls is not None and getattr(cls, "corelosses_info", None) is info:
        return cls
    if not _eligible(info):
        raise TypeError(f"{info.name} does not fit Keras' (y_true, y_pred) signature")
    name = _wrap.class_name(info.name)
    doc = (
        f"``keras.losses.Loss`` computing :func:`corelosses.{info.name}` on "
        "``(y_pred, y_true)``.\n\n" + f"Reference: {info.reference}\n\n" + (info.fn.__doc__ or "")
    )
    cls = type(
        name,
        (CatalogKerasLoss,),
        {"__doc__": doc, "__module__": "corelosses.keras", "corelosses_info": info},
    )
    cls.__qualname__ = name
    cls = keras.saving.register_keras_serializable(package="corelosses")(cls)
    _CLASSES[info.name] = cls
    return cls


def _entries() -> dict[str, LossInfo]:
    return {k: v for k, v in _wrap.loss_entries(("loss",)).items() if _eligible(v)}


def __getattr__(name: str) -> type:
    info = _entries().get(name)
    if info is None:
        raise AttributeError(f"module 'corelosses.keras' has no attribute {name!r}")
    return loss_class(info)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_entries()))


def _generate() -> None:
    for cname, info in _entries().items():
        globals()[cname] = loss_class(info)
        if cname == _wrap.class_name(info.name):
            __all__.append(cname)


_generate()
