"""Shared test utilities: finite differences, tolerances, running on a backend."""

from __future__ import annotations

import numpy as np

from corelosses._tools.check import fd_gradient  # noqa: F401  (re-exported for tests)

#: (rtol, atol) per compute dtype
TOL = {
    "float64": (1e-10, 1e-12),
    "float32": (2e-5, 1e-6),
}


def to_backend(tb, v):
    """Convert a NumPy array (or leave a Python value) for test backend ``tb``."""
    if isinstance(v, np.ndarray):
        return tb.asarray(v)
    return v


def run(tb, fn, *args, **kwargs):
    """Call ``fn`` on backend ``tb`` (jit under jax) with NumPy inputs; NumPy out."""
    a = [to_backend(tb, x) for x in args]
    k = {n: to_backend(tb, v) for n, v in kwargs.items()}
    return tb.to_numpy(tb.call(fn, *a, **k))


def grad(tb, fn, *args, argnums=(0,), **kwargs):
    """Gradient of ``sum(fn(...))`` on an autodiff backend, NumPy out (list)."""
    a = [to_backend(tb, x) for x in args]
    k = {n: to_backend(tb, v) for n, v in kwargs.items()}
    return tb.grad(fn, *a, argnums=argnums, **k)


def numeric_grad(fn, *args, argnum=0, eps=1e-6, **kwargs):
    """Central finite differences of ``sum(fn(...))`` in float64 NumPy."""

    def f(x):
        a = list(args)
        a[argnum] = x
        return float(np.sum(fn(*a, **kwargs)))

    return fd_gradient(f, np.asarray(args[argnum], dtype=np.float64), eps=eps)


def assert_close(actual, desired, dtype="float64", rtol=None, atol=None, err_msg=""):
    r, a = TOL[str(dtype)]
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(desired, dtype=np.float64),
        rtol=r if rtol is None else rtol,
        atol=a if atol is None else atol,
        err_msg=err_msg,
    )


def compile_fullgraph(fn, *args, **kwargs):
    """Run ``fn`` under ``torch.compile(fullgraph=True)`` (dynamo, eager backend).

    ``fullgraph=True`` raises on any graph break; ``torch._dynamo.explain``
    double-checks the count. Returns the compiled result.
    """
    import torch

    torch._dynamo.reset()
    explain = torch._dynamo.explain(lambda *a: fn(*a, **kwargs))(*args)
    assert explain.graph_break_count == 0, explain.break_reasons
    compiled = torch.compile(lambda *a: fn(*a, **kwargs), fullgraph=True, backend="eager")
    return compiled(*args)
