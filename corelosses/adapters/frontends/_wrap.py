"""What the framework wrappers (torch modules, Keras losses) share.

Everything is derived from a catalog entry's signature, so a loss registered
tomorrow (or by a plugin) gets its module and its Keras ``Loss`` for free:

- the positional-only parameters are the arrays (``forward``/``call`` inputs);
- the keyword-only parameters are the options (constructor arguments);
- :data:`PER_CALL` options (``mask``, ``weight``) usually change with every
  batch and are accepted by ``forward`` as keyword arguments too.

No framework is imported here.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from ..._registry import LossInfo, catalog

__all__ = [
    "PER_CALL",
    "class_name",
    "alias_names",
    "array_params",
    "option_params",
    "loss_entries",
    "valid_count",
]

#: Options that change from batch to batch: ``forward(..., mask=m)``.
PER_CALL = ("mask", "weight")

#: Words written in capitals in class names (``mse_loss`` -> ``MSELoss``).
ACRONYMS = {
    "mse": "MSE",
    "l1": "L1",
    "l2": "L2",
    "bce": "BCE",
    "iou": "IoU",
    "giou": "GIoU",
    "diou": "DIoU",
    "ciou": "CIoU",
    "gan": "GAN",
    "r1": "R1",
    "nll": "NLL",  # NLLLoss, CTCLoss, KLDivergence, MAPELoss: the peers' spellings
    "kl": "KL",
    "ctc": "CTC",
    "mape": "MAPE",
    "msle": "MSLE",
    "ntxent": "NTXent",
    "ce": "CE",  # DiceCELoss, HausdorffDTLoss, SSIMLoss: MONAI's and kornia's
    "dt": "DT",
    "ssim": "SSIM",
    "ms": "MS",
    "psnr": "PSNR",
    "lncc": "LNCC",
    "cldice": "ClDice",
}


def class_name(name: str) -> str:
    """The class name of a loss: CamelCase, acronyms in capitals.

    ``focal_loss -> FocalLoss``, ``mse_loss -> MSELoss``,
    ``smooth_l1_loss -> SmoothL1Loss``, ``box_iou_loss -> BoxIoULoss``,
    ``binary_cross_entropy -> BinaryCrossEntropy``.
    """
    return "".join(ACRONYMS.get(w, w[:1].upper() + w[1:]) for w in name.split("_") if w)


def alias_names(name: str) -> list[str]:
    """Other accepted class names: the plain CamelCase (``MseLoss``) and, for
    names not ending in ``loss``, the PyTorch-style ``...Loss`` form
    (``CrossEntropyLoss``, ``BinaryCrossEntropyLoss``)."""
    main = class_name(name)
    out = []
    plain = "".join(w[:1].upper() + w[1:] for w in name.split("_") if w)
    if plain != main:
        out.append(plain)
    if not name.endswith("loss"):
        out.append(main + "Loss")
    return out


def array_params(fn: Callable) -> list[str]:
    """Names of the positional-only parameters (the arrays)."""
    return [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def option_params(fn: Callable) -> dict[str, inspect.Parameter]:
    """The keyword-only parameters (the options), by name."""
    return {
        p.name: p for p in inspect.signature(fn).parameters.values() if p.kind == p.KEYWORD_ONLY
    }


def loss_entries(kinds: tuple[str, ...] = ("loss",)) -> dict[str, LossInfo]:
    """Catalog entries of the given kinds by class name (aliases included)."""
    infos = [i for i in catalog() if i.kind in kinds]
    out: dict[str, LossInfo] = {}
    for info in infos:
        out.setdefault(class_name(info.name), info)
    for info in infos:
        for a in alias_names(info.name):
            out.setdefault(a, info)
    return out


def check_options(info: LossInfo, options: dict[str, Any], owner: str) -> None:
    """Unknown option names raise ``TypeError`` naming them and the valid ones."""
    known = option_params(info.fn)
    bad = sorted(set(options) - set(known))
    if bad:
        raise TypeError(
            f"{owner}: unknown option(s) {bad} for {info.name}; valid options are {sorted(known)}"
        )


def valid_count(loss: Any, /, *arrays: Any, **options: Any) -> Any:
    """The denominator of a loss's ``"mean"``: how many entries are valid.

    For data-parallel training (DistributedDataParallel, ``pmap``, ...) a
    masked or ``ignore_index`` mean must divide the global sum by the global
    count. Compute ``num = loss(..., reduction="sum")`` and
    ``den = valid_count(loss, ...)`` on every rank, sum both across ranks
    (``all_reduce``) and divide: the result equals the loss's ``"mean"`` on
    the whole batch.

    Parameters
    ----------
    loss : str, callable or wrapper
        A catalog name, a catalog function, or a module/``Loss`` built by
        :mod:`corelosses.torch` or :mod:`corelosses.keras` (its options are used).
    *arrays, **options
        The loss's arguments, as for the loss itself.

    Returns
    -------
    array
        A 0-d array of the inputs' namespace (float, the inputs' compute dtype),
        with no gradient.

    Notes
    -----
    The count is found by asking the loss itself, so it follows every rule
    the loss has (``mask``, ``ignore_index``, ``ignore_value``, ...): the loss
    is evaluated with ``reduction="none"`` and a NaN ``weight`` (or, for a
    loss without ``weight``, NaN differentiable inputs); valid entries are
    exactly those where the result is NaN, since invalid entries are set to
    exactly 0 whatever the input. Losses whose ``"mean"`` divides by summed
    weights (``cross_entropy`` with ``class_weight``, marked
    ``mean="weighted"`` in the catalog) return that sum instead, computed as
    ``sum / mean`` of the loss on the given inputs (0 when both are 0).
    """
    from .. import backend_of

    info, options = _resolve_loss(loss, options)
    fn = info.fn
    options = {k: v for k, v in options.items() if k != "reduction"}
    be = backend_of(*[a for a in arrays if hasattr(a, "shape")])
    xp = be.xp
    if info.extra.get("mean") == "weighted" and _weighted_active(info, options):
        total = fn(*arrays, reduction="sum", **options)
        mean = fn(*arrays, reduction="mean", **options)
        nz = mean != 0
        return be.stop_gradient(xp.where(nz, total / xp.where(nz, mean, 1.0), 0.0))
    params = option_params(fn)
    args = list(arrays)
    if "weight" in params:
        x = args[info.grad_argnums[0] if info.grad_argnums else 0]
        dt = xp.float32 if be.is_half(x.dtype) else x.dtype
        if not xp.isdtype(dt, "real floating"):
            dt = xp.float32
        kw = dict(options, weight=xp.full((), math.nan, dtype=dt, device=_device(x)))
    else:
        for i in info.grad_argnums or (0,):
            args[i] = args[i] * math.nan
        kw = options
    probe = be.stop_gradient(fn(*args, reduction="none", **kw))
    return xp.sum(xp.astype(xp.isnan(probe), probe.dtype))


def _device(x: Any) -> Any:
    try:
        from array_api_compat import device

        return device(x)
    except Exception:  # noqa: BLE001
        return None


def _weighted_active(info: LossInfo, options: dict[str, Any]) -> bool:
    # The weighted mean applies when a class weight is given (cross_entropy's rule).
    return any(k.endswith("class_weight") and v is not None for k, v in options.items())


def _resolve_loss(loss: Any, options: dict[str, Any]) -> tuple[LossInfo, dict[str, Any]]:
    from ..._registry import get

    if isinstance(loss, str):
        return get(loss), options
    info = getattr(loss, "corelosses_info", None)
    if info is not None:  # a torch module or Keras loss from this package
        return info, {**loss.corelosses_options(), **options}
    for i in catalog():
        if i.fn is loss:
            return i, options
    raise TypeError(f"valid_count: expected a catalog loss, got {loss!r}")
