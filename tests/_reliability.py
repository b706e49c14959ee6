"""Shared machinery of the reliability suites (issue 8), driven by the catalog.

Every loss registered with ``example=`` is covered: the example's float64
NumPy inputs are perturbed generically (slice the batch, cast, move the class
axis, ...) using only the function's signature, so a loss that lands in any
family module is tested as soon as it registers.
"""

from __future__ import annotations

import inspect

import numpy as np

import corelosses as cl

LOSSES = [i for i in cl.catalog() if i.example is not None and i.kind == "loss"]
IDS = [i.name for i in LOSSES]

#: Options naming the class/channel axis of the input.
AXIS_PARAMS = ("axis", "channel_axis")


def params(info):
    return inspect.signature(info.fn).parameters


def has(info, name):
    return name in params(info)


def default(info, name):
    p = params(info).get(name)
    return None if p is None or p.default is inspect.Parameter.empty else p.default


def positional_names(info):
    return [n for n, p in params(info).items() if p.kind == inspect.Parameter.POSITIONAL_ONLY]


def example(info, seed=0):
    args, kw = info.example(np.random.default_rng(seed))
    return tuple(args), dict(kw)


def is_arr(v):
    return isinstance(v, np.ndarray)


def class_axis(info, args, kw):
    """``(name, normalized axis)`` of the class axis of ``args[0]``, or ``(None, None)``."""
    for name in AXIS_PARAMS:
        if has(info, name):
            ax = kw.get(name, default(info, name))
            if isinstance(ax, int) and is_arr(args[0]) and args[0].ndim:
                return name, ax % args[0].ndim
    return None, None


def loss_none(info, args, kw):
    """The unreduced loss on NumPy (float64)."""
    kw = {k: v for k, v in kw.items() if k != "reduction"}
    return np.asarray(info.fn(*args, reduction="none", **kw))


def batch_size(args):
    return args[0].shape[0] if is_arr(args[0]) and args[0].ndim else None


def batch_kwargs(info, args, kw, n):
    """Names of keyword arrays that carry the batch on axis 0 (to slice/permute with it).

    A keyword array is per-sample when its rank equals the unreduced loss's
    rank and its leading size is the batch size (``weight``/``mask`` of the
    loss's shape); class vectors and weights broadcast over trailing axes are not.
    """
    if not has(info, "reduction"):
        return []
    nd = loss_none(info, args, kw).ndim
    return [k for k, v in kw.items() if is_arr(v) and v.ndim == nd and nd and v.shape[0] == n]


def take_batch(info, args, kw, idx):
    """Apply an index array over the batch axis to every per-sample array."""
    n = batch_size(args)
    bk = batch_kwargs(info, args, kw, n)
    a = tuple(
        np.take(x, idx, axis=0) if is_arr(x) and x.ndim and x.shape[0] == n else x for x in args
    )
    k = {key: (np.take(v, idx, axis=0) if key in bk else v) for key, v in kw.items()}
    return a, k


def batch_separable(info, args, kw):
    """The unreduced loss has one leading entry per sample and axis 0 is not a class axis."""
    if not has(info, "reduction") or not is_arr(args[0]) or args[0].ndim < 2:
        return False
    _, ax = class_axis(info, args, kw)
    if ax == 0:
        return False
    if has(info, "axes"):
        axes = kw.get("axes", default(info, "axes"))
        if any(a % args[0].ndim == 0 for a in axes):
            return False
    none = loss_none(info, args, kw)
    return none.ndim >= 1 and none.shape[0] == args[0].shape[0]


def cast_floats(tb, v, dtype):
    """Backend array of ``v`` with float arrays cast to ``dtype`` (ints/bools kept)."""
    if not is_arr(v):
        return v
    if v.dtype.kind == "f":
        return tb.asarray(v, dtype=dtype)
    return tb.asarray(v)


_JIT_CACHE: dict = {}


def call(tb, fn, *args, eager=False, **kw):
    """Like ``_helpers.run`` (jit under jax) but cached per static signature: NumPy out.

    ``eager=True`` calls jax without ``jit`` (for inputs whose shapes vary per
    example, where compiling each would dominate the run time).
    """
    a = [tb.asarray(x) if is_arr(x) else x for x in args]
    k = {n: tb.asarray(v) if is_arr(v) else v for n, v in kw.items()}
    if eager and tb.name == "jax":
        return tb.to_numpy(fn(*a, **k))
    return tb.to_numpy(call_native(tb, fn, *a, **k))


def call_native(tb, fn, *a, **k):
    """Call on backend arrays; jax goes through one cached ``jax.jit`` per static config."""
    if tb.name != "jax":
        return tb.call(fn, *a, **k)
    arr = {n: v for n, v in k.items() if hasattr(v, "shape") and hasattr(v, "dtype")}
    static = tuple(sorted((n, v) for n, v in k.items() if n not in arr))
    key = ("val", fn, _typed(static), tuple(sorted(arr)))
    f = _JIT_CACHE.get(key)
    if f is None:
        st = dict(static)
        f = tb.jax.jit(lambda args, arr: fn(*args, **arr, **st))
        _JIT_CACHE[key] = f
    return f(list(a), arr)


def _typed(static):
    # 1 == 1.0 == True hash alike: key the cache on the types too
    return tuple((n, type(v).__name__, v) for n, v in static)


def grad_native(tb, fn, *a, argnums=(0,), **k):
    """Gradients of ``sum(fn)`` w.r.t. backend arrays ``a[argnums]``; NumPy out (list)."""
    if tb.name == "torch":
        a = list(a)
        leaves = []
        for i in argnums:
            a[i] = a[i].detach().clone().requires_grad_(True)
            leaves.append(a[i])
        out = fn(*a, **k)
        gs = tb.torch.autograd.grad(out.sum(), leaves, allow_unused=True)
        return [
            np.zeros(tuple(lf.shape)) if g is None else g.detach().float().numpy()
            for g, lf in zip(gs, leaves)
        ]
    jax = tb.jax
    arr = {n: v for n, v in k.items() if hasattr(v, "shape") and hasattr(v, "dtype")}
    static = tuple(sorted((n, v) for n, v in k.items() if n not in arr))
    key = ("grad", fn, _typed(static), tuple(sorted(arr)), tuple(argnums))
    g = _JIT_CACHE.get(key)
    if g is None:
        st = dict(static)

        def f(*args, **arr):
            return tb.xp.sum(fn(*args, **arr, **st))

        g = jax.jit(jax.grad(f, argnums=tuple(argnums)))
        _JIT_CACHE[key] = g
    return [np.asarray(x, dtype=np.float64) for x in g(*a, **arr)]


def without(kw, *names):
    return {k: v for k, v in kw.items() if k not in names}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def input_mask(info, args, kw, m):
    """The loss-shaped mask ``m`` expanded to the input's shape (over the class axis)."""
    x = args[0]
    if m.shape == x.shape:
        return m
    name, ax = class_axis(info, args, kw)
    if name is None:
        return None
    if m.ndim != x.ndim - 1:
        return None  # the loss is not per element of the input without its class axis
    e = np.expand_dims(m, ax)
    try:
        return np.broadcast_to(e, x.shape)
    except ValueError:
        return None
