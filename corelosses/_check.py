"""``corelosses check``: every catalog loss on every importable backend.

For each loss, its catalog example (float64 NumPy inputs) gives the reference
value on NumPy and the reference gradient by central finite differences. Each
backend recomputes the value (in float64; jax with x64, under ``jax.jit``)
and, where it has autodiff, the gradient; the table reports the largest
relative error per loss and backend and PASS/FAIL.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ._registry import LossInfo, catalog

VALUE_RTOL = 1e-9
GRAD_RTOL = 1e-5


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(b))))
    return float(np.max(np.abs(a - b))) / scale


def fd_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function, float64."""
    x = np.array(x, dtype=np.float64, order="C")  # reshape(-1) below must be a view
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    gf = g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        h = eps * max(1.0, abs(old))
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


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

    def value(self, fn, args, kwargs):
        a, k = self.conv_all(args, kwargs)
        arr, static = self._split(k)
        return np.asarray(self.jax.jit(lambda a, arr: fn(*a, **arr, **static))(a, arr))

    def grads(self, fn, args, kwargs, argnums):
        a, k = self.conv_all(args, kwargs)
        arr, static = self._split(k)
        g = self.jax.jit(
            self.jax.grad(lambda *a: self.jnp.sum(fn(*a, **arr, **static)), argnums=tuple(argnums))
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
        from .adapters import torch_modules

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

        from .adapters import keras_losses

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


def available_backends(names=None) -> list[_Runner]:
    out = []
    for name in names or _RUNNERS:
        mod = {"dask": "dask"}.get(name, name)
        if importlib.util.find_spec(mod) is None:
            continue
        try:
            out.append(_RUNNERS[name]())
        except Exception:  # noqa: BLE001 - e.g. cupy without a GPU
            continue
    return out


def _fd_of(fn, args, kwargs, i):
    def f(xi):
        a = list(args)
        a[i] = xi
        return float(np.sum(fn(*a, **kwargs)))

    return fd_gradient(f, args[i])


def _other_framework_grads(info, runner, args, kwargs):
    """Gradients from torch (or jax, when checking torch), or None if neither is here."""
    mine = getattr(runner, "backend", runner.name)
    for name in ("torch", "jax"):
        if name != mine and importlib.util.find_spec(name) is not None:
            return _RUNNERS[name]().grads(info.fn, args, kwargs, info.grad_argnums)
    return None


def check_one(info: LossInfo, runner: _Runner, seed: int = 0) -> tuple[str, float, str]:
    """Return (status, max relative error, detail) of one loss on one backend."""
    rng = np.random.default_rng(seed)
    args, kwargs = info.example(rng)
    fn = info.fn
    try:
        ref = (
            runner.reference(fn, args, kwargs)
            if hasattr(runner, "reference")
            else np.asarray(fn(*args, **kwargs))
        )
        err = _rel_err(runner.value(fn, args, kwargs), ref)
        ok = err <= getattr(runner, "value_rtol", VALUE_RTOL)
        detail = "value"
        if runner.autodiff and info.grad_argnums:
            gs = runner.grads(fn, args, kwargs, info.grad_argnums)
            if info.extra.get("fd_gradient") is False:
                # a stop-gradient inside (e.g. IoU-balanced weights): finite differences
                # of the value differ by design; compare with the other framework instead
                refs = _other_framework_grads(info, runner, args, kwargs)
            else:
                refs = [_fd_of(fn, args, kwargs, i) for i in info.grad_argnums]
            if refs is not None:
                for g, r in zip(gs, refs):
                    ge = _rel_err(g, r)
                    ok &= ge <= GRAD_RTOL
                    err = max(err, ge)
                detail = "value+grad"
        return ("PASS" if ok else "FAIL"), err, detail
    except Exception as e:  # noqa: BLE001 - reported in the table
        return "FAIL", math.inf, f"{type(e).__name__}: {e}"


def run_check(backends=None, names=None, out=sys.stdout) -> int:
    runners = available_backends(backends)
    infos = [i for i in catalog() if i.example is not None and (not names or i.name in names)]
    cols = [r.name for r in runners]
    w = max([len(i.name) for i in infos] + [4]) + 2
    print("corelosses check: value vs float64 NumPy, gradient vs finite differences", file=out)
    print(
        f"(relative error; value tolerance {VALUE_RTOL:.0e}, gradient {GRAD_RTOL:.0e})\n",
        file=out,
    )
    print("loss".ljust(w) + "".join(c.ljust(20) for c in cols), file=out)
    failures = []
    for info in infos:
        row = info.name.ljust(w)
        for r in runners:
            if (getattr(r, "backend", r.name) not in info.backends and r.name != "numpy") or (
                hasattr(r, "supports") and not r.supports(info)
            ):
                row += "n/a".ljust(20)
                continue
            status, err, detail = check_one(info, r)
            cell = f"{status} {err:.1e}" + ("*" if detail == "value+grad" else "")
            row += cell.ljust(20)
            if status != "PASS":
                failures.append((info.name, r.name, detail))
        print(row, file=out)
    print(
        "\n* value and gradient checked (autodiff backends; the gradient against finite "
        "differences, or against the other framework for losses with a stop-gradient inside)",
        file=out,
    )
    if any(r.name == "keras" for r in runners):
        print(
            f"keras: value tolerance {_Keras.value_rtol:.0e} (Keras reduces in float32)", file=out
        )
    for name, b, detail in failures:
        print(f"FAIL {name} on {b}: {detail}", file=out)
    n = len(infos) * len(runners)
    print(
        f"\n{'FAIL' if failures else 'PASS'}: {n - len(failures)} of {n} loss/backend pairs pass",
        file=out,
    )
    return 1 if failures else 0
