"""Backend resolution: array -> :class:`Backend`, cached by the array's type.

One tiny module per framework (``torch.py``, ``jax.py``, ...), imported only
when an array of that framework reaches a loss, so corelosses never imports a
framework the caller did not import. Third-party backends register through
the ``corelosses.backends`` entry point group: the entry point loads a
callable ``make(xp) -> Backend`` and is matched by the namespace's module
name.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from typing import Any

from ._generic import Backend, NoAutodiffBackend

__all__ = ["Backend", "NoAutodiffBackend", "backend_of", "get_backend", "set_native", "native"]

_BY_TYPE: dict[type, Backend] = {}
_BY_NAME: dict[str, Backend] = {}
_SCALARS = (int, float, bool, complex)
_NATIVE = os.environ.get("CORELOSSES_NATIVE", "1").lower() not in ("0", "false", "no")

# namespace predicate name in array_api_compat -> adapter module
_KNOWN = (
    ("is_numpy_namespace", "numpy"),
    ("is_torch_namespace", "torch"),
    ("is_jax_namespace", "jax"),
    ("is_dask_namespace", "dask"),
    ("is_cupy_namespace", "cupy"),
    ("is_array_api_strict_namespace", "array_api_strict"),
)


def _adapter_module(name: str) -> Any:
    # Import statements (not importlib) so that torch.compile can trace a first
    # call that resolves the backend.
    if name == "torch":
        from . import torch as mod
    elif name == "jax":
        from . import jax as mod  # type: ignore[no-redef]
    elif name == "numpy":
        from . import numpy as mod  # type: ignore[no-redef]
    elif name == "dask":
        from . import dask as mod  # type: ignore[no-redef]
    else:
        from . import cupy as mod  # type: ignore[no-redef]
    return mod


_PLUGIN_BACKENDS: dict[str, Any] | None = None


def _plugin_backends() -> dict[str, Any]:
    """``corelosses.backends`` entry points, loaded once (a broken one warns once)."""
    global _PLUGIN_BACKENDS
    if _PLUGIN_BACKENDS is None:
        from .._registry import load_entry_points

        _PLUGIN_BACKENDS = load_entry_points("corelosses.backends")
    return _PLUGIN_BACKENDS


def _backend_for(name: str, xp: Any) -> Backend:
    """The singleton backend of a known framework."""
    be = _BY_NAME.get(name)
    if be is None:
        if name == "array_api_strict":
            be = NoAutodiffBackend(xp, name)
        else:
            be = _adapter_module(name).make(xp)
        be.native = _NATIVE
        _BY_NAME[name] = be
    return be


def _make(xp: Any) -> Backend:
    import array_api_compat as compat

    for pred, name in _KNOWN:
        if getattr(compat, pred)(xp):
            return _backend_for(name, xp)
    modname = getattr(xp, "__name__", repr(xp))
    if modname in _BY_NAME:
        return _BY_NAME[modname]
    plugins = _plugin_backends()
    make = plugins.get(modname) or plugins.get(modname.split(".")[0])
    be = make(xp) if make is not None else NoAutodiffBackend(xp, modname)
    be.native = _NATIVE
    _BY_NAME[modname] = be
    return be


def _known_namespace(a: Any) -> Backend | None:
    """The backend of an array of a known framework, found from its type's module.

    Import statements only (no ``array_namespace`` and its ``lru_cache``), so a
    first call inside ``torch.compile`` traces without warnings or breaks.
    """
    root = type(a).__module__.partition(".")[0]
    if root == "torch":
        from array_api_compat import torch as xp
    elif root == "numpy":
        from array_api_compat import numpy as xp  # type: ignore[no-redef]
    elif root in ("jax", "jaxlib"):
        from jax import numpy as xp  # type: ignore[no-redef]

        root = "jax"
    else:
        return None
    return _backend_for(root, xp)


def _resolve(a: Any) -> Backend:
    import array_api_compat as compat

    be = _known_namespace(a)
    if be is not None:
        return be
    try:
        xp = compat.array_namespace(a)
    except TypeError as e:
        raise TypeError(
            f"expected an array (NumPy, CuPy, PyTorch, JAX, Dask, ...), got {type(a).__name__}"
        ) from e
    return _make(xp)


def backend_of(*arrays: Any) -> Backend:
    """The one backend of every array among ``arrays`` (``None`` and scalars skipped).

    Raises
    ------
    TypeError
        If the arrays come from different namespaces (both are named), or
        if none is an array.
    """
    found = None
    for a in arrays:
        t = type(a)
        be = _BY_TYPE.get(t)  # one dict lookup per array on the hot path
        if be is None:
            if a is None or isinstance(a, _SCALARS):
                continue
            be = _resolve(a)
            _BY_TYPE[t] = be
        if found is None:
            found = be
        elif be is not found:
            raise TypeError(
                f"arrays from different namespaces: {found.name} and {be.name} "
                f"(got {type(arrays[0]).__module__}.{type(arrays[0]).__name__} and "
                f"{t.__module__}.{t.__name__}); convert them to one framework first"
            )
    if found is None:
        raise TypeError("no array argument: pass arrays, not Python scalars or None")
    return found


def get_backend(name_or_array: Any) -> Backend:
    """The backend for a name already seen (``"torch"``) or for an array."""
    if isinstance(name_or_array, str):
        try:
            return _BY_NAME[name_or_array]
        except KeyError:
            raise ValueError(f"backend {name_or_array!r} has not been used yet") from None
    return backend_of(name_or_array)


def set_native(flag: bool) -> bool:
    """Use native kernels (``True``, default) or the pure array-API path.

    Returns the previous setting. Also ``CORELOSSES_NATIVE=0`` at start-up.
    """
    global _NATIVE
    old = _NATIVE
    _NATIVE = bool(flag)
    for be in _BY_NAME.values():
        be.native = _NATIVE
    return old


class native:
    """Context manager: ``with corelosses.native(False): ...`` forces the generic path."""

    def __init__(self, flag: bool):
        self.flag = flag

    def __enter__(self):
        self.old = set_native(self.flag)
        return self

    def __exit__(self, *exc):
        set_native(self.old)


# ------------------------------------------------- torch.compile's first trace
def _warm_torch() -> None:
    """Resolve torch's backend (tensors and parameters) before a trace can.

    A first call traced by ``torch.compile`` finds the caches above empty and
    guards on it; the caching it then replays fails that guard on the next
    call, so the whole frame compiles twice (a small triplet loss: 10 + 4 s
    against 5 s). Runs once torch is imported; never imports it.
    """
    torch = sys.modules.get("torch")
    try:
        t = torch.empty(0)  # type: ignore[union-attr]
        backend_of(t, torch.nn.Parameter(t))  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - a stub or partly imported torch: resolved on first use
        pass


class _AfterTorchImport:
    """Meta-path finder: torch's own spec, whose loader runs :func:`_warm_torch`
    once torch's import has finished (installed when corelosses comes first)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "torch":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once; the real finders resolve torch
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def run(module: Any) -> None:
            exec_module(module)
            _warm_torch()

        loader.exec_module = run  # type: ignore[union-attr]
        return spec


def _prepare_torch() -> None:
    """Warm torch's backend now if torch is imported, else right after its import
    (if it is installed). Called by ``import corelosses``."""
    if "torch" in sys.modules:
        _warm_torch()
    elif not any(isinstance(f, _AfterTorchImport) for f in sys.meta_path):
        try:
            installed = importlib.util.find_spec("torch") is not None
        except (ImportError, ValueError):
            installed = False
        if installed:
            sys.meta_path.insert(0, _AfterTorchImport())


def _warn(msg: str) -> None:
    warnings.warn(msg, RuntimeWarning, stacklevel=3)
