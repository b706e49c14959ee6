"""A toy array framework (``DemoArray`` wrapping NumPy) and its corelosses backend.

The backend subclasses :class:`corelosses.extend.Backend` and supplies its
own native primitive (``softplus``) and autodiff hooks (none: a
``NoAutodiffBackend``), as a real framework's plugin would.
"""

from __future__ import annotations

import sys
import types

import array_api_compat.numpy as _np_xp
import numpy as np

from corelosses.extend import NoAutodiffBackend


def _unwrap(v):
    return v.a if isinstance(v, DemoArray) else v


class DemoArray:
    """An array of the toy framework: NumPy underneath, its own namespace."""

    def __init__(self, a):
        self.a = np.asarray(a)

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)

    def __array_namespace__(self, api_version=None):
        return xp

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)

    def _op(name):  # noqa: N805
        def f(self, other):
            return getattr(self.a, name)(_unwrap(other))

        return f

    for _n in (
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__mul__",
        "__rmul__",
        "__truediv__",
        "__rtruediv__",
        "__pow__",
        "__eq__",
        "__ne__",
        "__lt__",
        "__gt__",
        "__le__",
        "__ge__",
    ):
        locals()[_n] = _op(_n)
    del _n, _op

    def __neg__(self):
        return -self.a

    __hash__ = object.__hash__


def _wrap_fn(fn):
    def g(*args, **kwargs):
        return fn(*[_unwrap(a) for a in args], **{k: _unwrap(v) for k, v in kwargs.items()})

    return g


# The toy framework's array-API namespace: NumPy's, unwrapping DemoArrays.
xp = types.ModuleType("corelosses_demo_xp")
for _name in dir(_np_xp):
    _obj = getattr(_np_xp, _name)
    setattr(xp, _name, _wrap_fn(_obj) if callable(_obj) and not isinstance(_obj, type) else _obj)
sys.modules["corelosses_demo_xp"] = xp


class DemoBackend(NoAutodiffBackend):
    name = "demo"
    calls = 0

    def softplus(self, x):
        DemoBackend.calls += 1  # the "native kernel"
        return np.logaddexp(0.0, _unwrap(x))


def make(namespace):
    """Entry point: the backend for the ``corelosses_demo_xp`` namespace."""
    return DemoBackend(namespace)
