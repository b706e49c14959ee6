"""``corelosses check``'s backends: one small runner per framework (and for the generated
``torch.nn`` and Keras wrappers) that converts the example's arrays, computes the value and,
with autodiff, the gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registry import catalog


class _Runner:
    """Converts NumPy inputs, runs a function, returns value and gradients."""

    name = "?"
    autodiff = False

    def convert(self, a: Any) -> Any:
        raise NotImplementedError

    def to_numpy(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def conv_all(self, args, kwargs):
        def cv(v):
            return self.convert(v) if isinstance(v, np.ndarray) else v

        return [cv(a) for a in args], {k: cv(v) for k, v in kwargs.items()}

    def value(self, fn, args, kwargs):
        a, k = self.conv_all(args, kwargs)
        return self.to_numpy(fn(*a, **k))

    def grads(self, fn, args, kwargs, argnums):
        return None


class _Numpy(_Runner):
    name = "numpy"

    def convert(self, a):
        return a


class _Strict(_Runner):
    name = "array_api_strict"

    def __init__(self):
        import array_api_strict as xp

        self.xp = xp

    def convert(self, a):
        return self.xp.asarray(a)

    def to_numpy(self, a):
        return np.from_dlpack(a)


class _Dask(_Runner):
    name = "dask"

    def __init__(self):
        import dask.array as da

        self.da = da

    def convert(self, a):
        return self.da.from_array(a, chunks=tuple(max(1, (s + 1) // 2) for s in a.shape) or ())

    def to_numpy(self, a):
        return np.asarray(a.compute() if hasattr(a, "compute") else a)


class _Torch(_Runner):
    name = "torch"
    autodiff = True

    def __init__(self):
        import torch

        self.torch = torch

    def convert(self, a):
        return self.torch.from_numpy(np.ascontiguousarray(a))

    def to_numpy(self, a):
        return a.detach().cpu().numpy()

    def grads(self, fn, args, kwargs, argnums):
        a, k = self.conv_all(args, kwargs)
        leaves = []
        for i in argnums:
            a[i] = a[i].clone().requires_grad_(True)
            leaves.append(a[i])
        out = fn(*a, **k).sum()
        gs = self.torch.autograd.grad(out, leaves, allow_unused=True)
        return [np.zeros(tuple(lf.shape)) if g is None else g.numpy() for g, lf in zip(gs, leaves)]


class _Jax(_Runner):
    name = "jax"
    autodiff = True

    def __init__(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        self.jax = jax
        self.jnp = jax.numpy

    def convert(self, a):
        return self.jnp.asarray(a)

    def _split(self, k):
        arr = {n: v for n, v in k.items() if hasattr(v, "shape")}
        return arr, {n: v for n, v in k.items() if n not in arr}

    @staticmethod
    def _static_pos(a):
        """Positions of callables (a critic) among the arguments: static under ``jit``."""
        return tuple(i for i, v in enumerate(a) if callable(v) and not hasattr(v, "shape"))

    def value(self, fn, args, kwargs):
        a, k = self.conv_all(args, kwargs)
        arr, static = self._split(k)
        st = tuple(1 + i for i in self._static_pos(a))
        f = self.jax.jit(lambda arr, *a: fn(*a, **arr, **static), static_argnums=st)
        return np.asarray(f(arr, *a))

    def grads(self, fn, args, kwargs, argnums):
        a, k = self.conv_all(args, kwargs)
        arr, static = self._split(k)
        g = self.jax.jit(
            self.jax.grad(lambda *a: self.jnp.sum(fn(*a, **arr, **static)), argnums=tuple(argnums)),
            static_argnums=self._static_pos(a),
        )(*a)
        return [np.asarray(x) for x in g]


class _Cupy(_Runner):
    name = "cupy"

    def __init__(self):
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no GPU")
        self.cp = cupy

    def convert(self, a):
        return self.cp.asarray(a)

    def to_numpy(self, a):
        return self.cp.asnumpy(a)


def _info_of(fn):
    for i in catalog():
        if i.fn is fn:
            return i
    raise KeyError(fn)


class _TorchNN(_Torch):
    """The ``corelosses.torch`` module of each loss: options to the constructor
    (array options become buffers), arrays to ``forward``."""

    name = "torch.nn"
    backend = "torch"

    def __init__(self):
        super().__init__()
        from ..adapters.frontends import torch_modules

        self.mods = torch_modules

    def supports(self, info):
        return info.kind in self.mods.KINDS

    def _wrapped(self, fn):
        cls = self.mods.module_class(_info_of(fn))

        def call(*a, **k):
            return cls(**k)(*a)

        return call

    def value(self, fn, args, kwargs):
        return super().value(self._wrapped(fn), args, kwargs)

    def grads(self, fn, args, kwargs, argnums):
        return super().grads(self._wrapped(fn), args, kwargs, argnums)


class _Keras(_Runner):
    """The ``corelosses.keras`` loss of each loss, in float64, called as
    ``loss(y_true, y_pred)``; per-call ``mask``/``weight`` are left out of
    both sides (Keras passes ``sample_weight`` instead)."""

    name = "keras"
    #: Keras reduces in float32 whatever the loss dtype (``divide_no_nan``'s result type)
    value_rtol = 1e-6

    def __init__(self):
        import keras

        from ..adapters.frontends import keras_losses

        self.keras = keras
        self.mods = keras_losses
        self.backend = keras.backend.backend()
        if self.backend not in ("torch", "jax"):
            raise RuntimeError(f"Keras backend {self.backend!r} is not supported")
        if self.backend == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)

    def supports(self, info):
        return self.mods._eligible(info)

    @staticmethod
    def _split(kwargs):
        return {k: v for k, v in kwargs.items() if k not in ("mask", "weight", "reduction")}

    def reference(self, fn, args, kwargs):
        return np.asarray(fn(*args, **self._split(kwargs)))

    def value(self, fn, args, kwargs):
        cls = self.mods.loss_class(_info_of(fn))
        old = self.keras.backend.floatx()
        self.keras.backend.set_floatx("float64")  # Keras reduces in floatx
        try:
            loss = cls(dtype="float64", **self._split(kwargs))
            y_true = args[1] if len(args) > 1 else np.zeros_like(args[0])
            out = loss(y_true, args[0])
        finally:
            self.keras.backend.set_floatx(old)
        return np.asarray(self.keras.ops.convert_to_numpy(out))


_RUNNERS = {
    "numpy": _Numpy,
    "array_api_strict": _Strict,
    "torch": _Torch,
    "jax": _Jax,
    "dask": _Dask,
    "cupy": _Cupy,
    "torch.nn": _TorchNN,
    "keras": _Keras,
}


#: Backends ``--backends`` accepts (``torch.nn`` and ``keras`` run the wrappers).
BACKEND_NAMES = tuple(_RUNNERS)
