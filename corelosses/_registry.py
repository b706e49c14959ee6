"""The catalog: every loss with its family, reference, peers and tested backends.

Losses register themselves with :func:`register` where they are defined;
third-party packages add more through the ``corelosses.losses`` entry point
group (the entry point's module registers on import). A plugin that fails to
load gives a warning naming it, never an import error.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["LossInfo", "register", "catalog", "get", "BACKENDS", "load_entry_points"]

#: Backends whose test suites cover a loss unless it says otherwise.
BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "dask", "cupy")

FAMILIES = (
    "classification",
    "regression",
    "embedding",
    "metric learning",
    "ranking",
    "sequence",
    "regularizers",
    "segmentation",
    "image",
    "registration",
    "detection",
    "gan",
    "perceptual",
    "transforms",
    "schedules",
)


@dataclass(frozen=True)
class LossInfo:
    """One catalog entry.

    ``example(rng) -> (args, kwargs)`` builds float64 NumPy inputs for
    ``corelosses check``; ``grad_argnums`` says which positional arrays are
    differentiated (empty for none).
    """

    name: str
    fn: Callable[..., Any]
    family: str
    reference: str
    peers: tuple[str, ...] = ()
    backends: tuple[str, ...] = BACKENDS
    example: Callable[[Any], tuple[tuple, dict]] | None = None
    grad_argnums: tuple[int, ...] = (0,)
    kind: str = "loss"
    plugin: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "kind": self.kind,
            "reference": self.reference,
            "peers": list(self.peers),
            "backends": list(self.backends),
            "plugin": self.plugin,
        }


_CATALOG: dict[str, LossInfo] = {}
_PLUGINS_LOADED = False
_CURRENT_PLUGIN: str | None = None


def register(
    family: str,
    reference: str,
    *,
    peers: tuple[str, ...] = (),
    backends: tuple[str, ...] = BACKENDS,
    example: Callable | None = None,
    grad_argnums: tuple[int, ...] = (0,),
    kind: str = "loss",
    name: str | None = None,
    **extra: Any,
) -> Callable[[Callable], Callable]:
    """Decorator adding a function to the catalog (returns it unchanged)."""

    def deco(fn: Callable) -> Callable:
        key = name or fn.__name__
        old = _CATALOG.get(key)
        if _CURRENT_PLUGIN is not None and old is not None and old.plugin != _CURRENT_PLUGIN:
            # A plugin never replaces a built-in (or another plugin's) loss.
            warnings.warn(
                f"corelosses: plugin {_CURRENT_PLUGIN!r} registers {key!r}, which "
                f"{'plugin ' + repr(old.plugin) if old.plugin else 'corelosses'} already "
                "defines; the plugin's version is ignored",
                RuntimeWarning,
                stacklevel=2,
            )
            return fn
        _CATALOG[key] = LossInfo(
            name=key,
            fn=fn,
            family=family,
            reference=reference,
            peers=tuple(peers),
            backends=tuple(backends),
            example=example,
            grad_argnums=tuple(grad_argnums),
            kind=kind,
            plugin=_CURRENT_PLUGIN,
            extra=dict(extra),
        )
        return fn

    return deco


def load_entry_points(group: str) -> dict[str, Any]:
    """Load every entry point of ``group``; a broken one warns and is skipped."""
    from importlib.metadata import entry_points

    out: dict[str, Any] = {}
    for ep in entry_points(group=group):
        try:
            out[ep.name] = ep.load()
        except Exception as e:  # noqa: BLE001 - a plugin must never break import
            warnings.warn(
                f"corelosses: plugin {ep.name!r} ({ep.value}) in group {group!r} "
                f"failed to load: {type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=2,
            )
    return out


def _load_loss_plugins() -> None:
    global _PLUGINS_LOADED, _CURRENT_PLUGIN
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from importlib.metadata import entry_points

    try:
        eps = list(entry_points(group="corelosses.losses"))
    except Exception as e:  # noqa: BLE001 - broken metadata must not break import
        warnings.warn(f"corelosses: reading loss plugins failed: {e}", RuntimeWarning, stacklevel=2)
        return
    for ep in eps:
        _CURRENT_PLUGIN = ep.name
        before = set(_CATALOG)
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, types.ModuleType):
                obj()  # a ``register_losses()`` hook
            _claim(ep, before)
        except Exception as e:  # noqa: BLE001
            warnings.warn(
                f"corelosses: loss plugin {ep.name!r} ({ep.value}) failed to load: "
                f"{type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=2,
            )
        finally:
            _CURRENT_PLUGIN = None


def _claim(ep: Any, before: set[str]) -> None:
    """Mark the plugin's losses (also those registered when the user imported
    the plugin's module before the catalog was first read)."""
    root = ep.value.split(":")[0].strip().split(".")[0]
    for key, info in list(_CATALOG.items()):
        mod = getattr(info.fn, "__module__", "") or ""
        if info.plugin is None and (key not in before or mod.split(".")[0] == root):
            if mod.split(".")[0] != "corelosses":
                _CATALOG[key] = replace(info, plugin=ep.name)


def catalog(family: str | None = None, *, kind: str | None = None) -> list[LossInfo]:
    """Every registered function (built-in and plugins), sorted by family then name."""
    _load_loss_plugins()
    items = [
        i
        for i in _CATALOG.values()
        if (family is None or i.family == family) and (kind is None or i.kind == kind)
    ]
    order = {f: k for k, f in enumerate(FAMILIES)}
    return sorted(items, key=lambda i: (order.get(i.family, len(order)), i.name))


def get(name: str) -> LossInfo:
    _load_loss_plugins()
    try:
        return _CATALOG[name]
    except KeyError:
        raise KeyError(f"no loss named {name!r} in the catalog") from None
