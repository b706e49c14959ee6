"""One tiny class per test backend: make arrays, call a loss, take gradients.

``CORELOSSES_TEST_BACKENDS`` (comma-separated) picks the backends; by default
every installed one among numpy, array_api_strict, torch, jax, dask (cupy
when a GPU is present). Under jax, calls run inside ``jax.jit`` (and x64 is
switched on: the float64 comparisons need it).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

ALL = ("numpy", "array_api_strict", "torch", "jax", "dask", "cupy")


class TB:
    """A backend for tests: ``asarray`` from NumPy, ``call`` (jit under jax), ``grad``, ``to_numpy``."""

    name = "?"
    autodiff = False
    lazy = False

    def asarray(self, a, dtype=None):
        raise NotImplementedError

    def to_numpy(self, a):
        return np.asarray(a)

    def call(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def grad(self, fn, *args, argnums=(0,), **kwargs):
        """Gradients of ``sum(fn(*args, **kwargs))`` w.r.t. ``args[argnums]``, as NumPy."""
        raise NotImplementedError(f"{self.name} has no autodiff")

    @property
    def xp(self):
        return self._xp

    def __repr__(self):
        return self.name


class NumpyTB(TB):
    name = "numpy"

    def __init__(self):
        import array_api_compat.numpy as xp

        self._xp = xp

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        return a if dtype is None else a.astype(dtype)


class StrictTB(TB):
    name = "array_api_strict"

    def __init__(self):
        import array_api_strict as xp

        # No boolean indexing or data-dependent shapes: what jit and Dask can't do.
        xp.set_array_api_strict_flags(boolean_indexing=False, data_dependent_shapes=False)
        self._xp = xp

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        return self._xp.asarray(a)

    def to_numpy(self, a):
        return np.asarray(a.__dlpack__ and np.from_dlpack(a))


class TorchTB(TB):
    name = "torch"
    autodiff = True

    def __init__(self):
        import array_api_compat.torch as xp
        import torch

        self.torch = torch
        self._xp = xp

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        return self.torch.from_numpy(np.ascontiguousarray(a))

    def to_numpy(self, a):
        if isinstance(a, self.torch.Tensor):
            return a.detach().cpu().numpy()
        return np.asarray(a)

    def grad(self, fn, *args, argnums=(0,), **kwargs):
        args = list(args)
        leaves = []
        for i in argnums:
            args[i] = args[i].detach().clone().requires_grad_(True)
            leaves.append(args[i])
        out = fn(*args, **kwargs)
        gs = self.torch.autograd.grad(out.sum(), leaves, allow_unused=True)
        return [
            np.zeros(tuple(lf.shape)) if g is None else g.detach().numpy()
            for g, lf in zip(gs, leaves)
        ]


class JaxTB(TB):
    name = "jax"
    autodiff = True

    def __init__(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        self.jax = jax
        self._xp = jnp

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        return self._xp.asarray(a)

    def call(self, fn, *args, **kwargs):
        # Arrays traced, options static: the loss must trace under jax.jit.
        arr = {k: v for k, v in kwargs.items() if _is_array(v)}
        static = {k: v for k, v in kwargs.items() if k not in arr}

        def make():
            def f(args, arr):
                return fn(*args, **arr, **static)

            return self.jax.jit(f)

        return self._jitted(("call", fn), static, make)(args, arr)

    def grad(self, fn, *args, argnums=(0,), **kwargs):
        arr = {k: v for k, v in kwargs.items() if _is_array(v)}
        static = {k: v for k, v in kwargs.items() if k not in arr}

        def make():
            def f(a, arr):
                return self._xp.sum(fn(*a, **arr, **static))

            def g(a, arr):
                # the gradient with respect to the positional arrays in argnums
                def h(*sel):
                    full = list(a)
                    for i, v in zip(argnums, sel):
                        full[i] = v
                    return f(full, arr)

                return self.jax.grad(h, argnums=tuple(range(len(argnums))))(
                    *[a[i] for i in argnums]
                )

            return self.jax.jit(g)

        gs = self._jitted(("grad", fn, tuple(argnums)), static, make)(list(args), arr)
        return [np.asarray(g) for g in gs]

    def _jitted(self, key, static, make):
        """One ``jax.jit`` function per loss and set of static options, reused: jax's
        own cache then skips the trace and the compile of a call it has seen (same
        shapes and dtypes), across the tests of a worker. Keyed by the loss, its
        static options and :func:`corelosses.native`'s setting; an unhashable
        option, or a closure, is not cached."""
        fn = key[1]
        # plain functions only (the catalog's losses): a closure or a partial may
        # hold arrays changed in place between calls, which a trace froze as constants
        if getattr(fn, "__closure__", 0) is not None or not hasattr(fn, "__code__"):
            return make()
        from .. import adapters  # the native switch picks the traced path: in the key

        try:
            k = (
                key,
                adapters._NATIVE,
                tuple(sorted((n, type(v), v) for n, v in static.items())),
            )
            hash(k)
        except TypeError:  # an unhashable option
            return make()
        cache = self.__dict__.setdefault("_cache", {})
        hit = cache.get(k)
        if hit is None:
            if len(cache) >= 1024:  # bounded: the oldest half goes
                for old in list(cache)[:512]:
                    del cache[old]
            hit = cache[k] = make()
        return hit


class DaskTB(TB):
    name = "dask"
    lazy = True

    def __init__(self):
        import array_api_compat.dask.array as xp
        import dask.array as da

        self.da = da
        self._xp = xp

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        chunks = tuple(max(1, (s + 1) // 2) for s in a.shape)  # several chunks
        return self.da.from_array(a, chunks=chunks or ())

    def to_numpy(self, a):
        if hasattr(a, "compute"):
            # the graph runs as built: Dask's optimisations (blockwise and task fusion)
            # pay off on large chunks, not on a test's tiny ones, where ordering each
            # fused subgraph cost a fifth of the Dask suite; they do not change what
            # a task computes
            a = a.compute(optimize_graph=False)
        return np.asarray(a)

    def call(self, fn, *args, **kwargs):
        out = fn(*args, **kwargs)
        assert hasattr(out, "dask"), "dask result must stay lazy"
        return out


class CupyTB(TB):
    name = "cupy"

    def __init__(self):
        import array_api_compat.cupy as xp
        import cupy

        self.cupy = cupy
        self._xp = xp

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        return self.cupy.asarray(a)

    def to_numpy(self, a):
        return self.cupy.asnumpy(a)


_CLASSES = {
    "numpy": NumpyTB,
    "array_api_strict": StrictTB,
    "torch": TorchTB,
    "jax": JaxTB,
    "dask": DaskTB,
    "cupy": CupyTB,
}


def _is_array(v):
    return hasattr(v, "shape") and hasattr(v, "dtype")


def _installed(name):
    mod = {"dask": "dask.array"}.get(name, name)
    try:
        if importlib.util.find_spec(mod.split(".")[0]) is None:
            return False
    except (ImportError, ValueError):
        return False
    if name == "cupy":
        try:
            import cupy

            return cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:  # noqa: BLE001
            return False
    return True


def selected():
    env = os.environ.get("CORELOSSES_TEST_BACKENDS", "").strip()
    names = [n.strip() for n in env.split(",") if n.strip()] if env else list(ALL)
    unknown = set(names) - set(ALL)
    if unknown:
        raise ValueError(f"CORELOSSES_TEST_BACKENDS: unknown backends {sorted(unknown)}")
    return [n for n in names if _installed(n)]


_INSTANCES: dict[str, TB] = {}


def get(name):
    if name not in _INSTANCES:
        _INSTANCES[name] = _CLASSES[name]()
    return _INSTANCES[name]
