"""JAX backend: ``jax.nn`` kernels, ``lax.stop_gradient`` and ``jax.custom_vjp``.

Imported only once a JAX array (or tracer) has been seen.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._generic import Backend


class JaxBackend(Backend):
    name = "jax"
    has_autodiff = True
    nan_bad_indices = True  # jax's convention: an out-of-bounds index gives NaN

    def is_half(self, dtype):
        return jnp.dtype(dtype) in (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))

    def concrete(self, x):
        # Values are readable on a concrete (not traced) array; the checks run
        # where reading them costs no device sync: CPU arrays, as with torch.
        # Under jit, grad or vmap the array is a tracer, and a concrete array
        # closed over by a traced function is not checked either (the check's
        # own operations would be staged into the trace): nothing is checked.
        if isinstance(x, jax.core.Tracer) or not isinstance(x, jax.Array):
            return False
        if _TRACE_CTX is None or not _TRACE_CTX.is_top_level():
            return False
        try:
            return all(d.platform == "cpu" for d in x.devices())
        except Exception:  # noqa: BLE001 - a deleted or otherwise unreadable array
            return False

    def count_true(self, valid):
        # a bool sum (jnp.count_nonzero adds a compare to the fused loop)
        return jnp.sum(valid)

    def guards(self, x):
        return True  # lax.cond under a trace

    def guarded(self, fast, slow, operands, parts=None):
        if parts is None or all(self.concrete(o) for o in operands):
            return super().guarded(fast, slow, operands, parts)
        return _guarded(fast, parts, tuple(operands))

    def diff_plus(self, x, y, c):
        d = x - y
        if not isinstance(c, (int, float)) or c == 0:
            return d if isinstance(c, (int, float)) else d + c
        if isinstance(d, jax.core.Tracer) and x.size and y.size:
            # XLA's CPU fusion materialises a constant's broadcast that two
            # reductions share (the triplet loss's distances): a full array
            # written and read twice, 1.4-1.8x the forward pass. Each
            # difference gets its own c that XLA cannot fold (exactly c:
            # |x0| + |y0| < 0 never holds, NaN included), fused in its loop.
            z = jnp.abs(x[(0,) * x.ndim]) + jnp.abs(y[(0,) * y.ndim])
            c = jax.lax.stop_gradient(jnp.where(z < 0, z, jnp.asarray(c, d.dtype)))
        return d + c

    def norm2(self, x, axis, value=None):
        return _norm2(x, axis) if value is None else _norm2_known(x, value, axis)

    def value_range(self, x):
        # called on concrete CPU arrays only: read as NumPy (no jax dispatches)
        a = np.asarray(x)
        return a.min(), a.max()

    def stop_gradient(self, x):
        return jax.lax.stop_gradient(x)

    def custom_vjp(self, fun, bwd):
        @jax.custom_vjp
        def f(*arrays):
            return fun(*arrays)[0]

        def f_fwd(*arrays):
            return fun(*arrays)

        def f_bwd(res, g):
            return tuple(bwd(res, g))  # jax reads None as a zero cotangent

        f.defvjp(f_fwd, f_bwd)
        return f

    def grad_of(self, fn, x):
        y, vjp = jax.vjp(fn, x)
        (g,) = vjp(jnp.ones_like(y))
        return y, g

    def scan(self, step, carry, xs):
        # one traced step whatever the length (a Python loop would unroll under jit)
        return jax.lax.scan(lambda c, x: (step(c, x), None), carry, xs)[0]

    def scan_stack(self, step, carry, xs, reverse=False):
        return jax.lax.scan(step, carry, xs, reverse=reverse)

    def take_classes(self, x, idx):
        # the gather's transpose is a scatter-add, a serial loop in XLA on CPU (14 ms
        # for CTC's 1M emissions, twice its forward recursion); for a few classes a
        # one-hot contraction is the same sum, vectorised
        if not self.native or x.shape[-1] > _FEW_CLASSES or x.ndim < 2:
            return super().take_classes(x, idx)
        return _take_classes(x, idx.astype(jnp.int32), x.shape[-1])

    def max_pool(self, x, window, axes):
        # lax.reduce_window with a -inf init and explicit padding: the same maximum
        if not self.native or any(w % 2 == 0 for w in window):
            return super().max_pool(x, window, axes)
        dims = [1] * x.ndim
        pads = [(0, 0)] * x.ndim
        for w, ax in zip(window, axes):
            dims[ax % x.ndim] = w
            pads[ax % x.ndim] = (w // 2, w // 2)
        # a Python -inf: lax recognises the max monoid (reduce_window_max, differentiable)
        return jax.lax.reduce_window(x, -np.inf, jax.lax.max, tuple(dims), (1,) * x.ndim, pads)

    def resize(self, x, shape, axes, method="nearest"):
        # jax.image.resize: half-pixel "nearest" and (without antialias) "linear" are
        # the definition's rules
        if not self.native or not jnp.issubdtype(x.dtype, jnp.floating) or x.size == 0:
            return super().resize(x, shape, axes, method)
        full = list(x.shape)
        for a, n in zip(axes, shape):
            full[a % x.ndim] = n
        return jax.image.resize(x, tuple(full), method=method, antialias=False)

    def window_filter(self, x, kernel, axes, padding="valid"):
        # one lax.conv_general_dilated per axis on the (rows, 1, length) view: the
        # definition's sum of shifted slices (a correlation), at full precision
        if not self.native or x.size == 0:
            return super().window_filter(x, kernel, axes, padding)
        K = len(kernel)
        w = jnp.asarray(kernel, dtype=x.dtype).reshape(1, 1, K)
        p = (K - 1) // 2 if padding != "valid" else 0
        for ax in axes:
            y = jnp.moveaxis(x, ax, -1)
            lead = y.shape[:-1]
            y = y.reshape(int(np.prod(lead)), 1, y.shape[-1])
            if padding == "reflect" and p:
                y = jnp.pad(y, ((0, 0), (0, 0), (p, p)), mode="reflect")
            pads = [(p, p)] if padding == "zeros" else [(0, 0)]
            y = jax.lax.conv_general_dilated(y, w, (1,), pads, precision=jax.lax.Precision.HIGHEST)
            x = jnp.moveaxis(y.reshape(*lead, y.shape[-1]), -1, ax)
        return x

    def softplus(self, x):
        return jax.nn.softplus(x) if self.native else super().softplus(x)

    def log_sigmoid(self, x):
        return jax.nn.log_sigmoid(x) if self.native else super().log_sigmoid(x)

    def sigmoid(self, x):
        return jax.nn.sigmoid(x) if self.native else super().sigmoid(x)

    def logsumexp(self, x, axis=-1, keepdims=False):
        if not self.native:
            return super().logsumexp(x, axis=axis, keepdims=keepdims)
        return jax.nn.logsumexp(x, axis=axis, keepdims=keepdims)

    def log_softmax(self, x, axis=-1):
        return jax.nn.log_softmax(x, axis=axis) if self.native else super().log_softmax(x, axis)

    def softmax(self, x, axis=-1):
        return jax.nn.softmax(x, axis=axis) if self.native else super().softmax(x, axis)

    # Whole-loss kernels (see Backend.cross_entropy_native): plain cases only.
    # XLA on CPU vectorises ``minimum`` and ``take_along_axis`` far better than
    # the definition's ``where(a < delta, a, delta)`` and one-hot comparison
    # (measured 2-5x); the functions are the same, for bad indices too (an
    # error for concrete CPU arrays, NaN under a trace).
    def _plain(self, x, y):
        return (
            self.native
            and x.dtype in _PLAIN_DTYPES
            and getattr(y, "dtype", None) == x.dtype
            and x.shape == y.shape
            and x.size > 0
        )

    @staticmethod
    def _reduce(loss, reduction):
        if reduction == "none":
            return loss
        return jnp.sum(loss) if reduction == "sum" else jnp.mean(loss)

    def fuses_selects(self):
        # XLA fuses the select into the loss's loop; without it, XLA on CPU hands
        # the filled inputs to its reduction fusion as arrays (2x the time at 1M)
        return True

    def regression_native(self, kernel, x, y, params, reduction):
        # the plain reduced call only: a masked or weighted one (reduction "none")
        # runs the definition, whose select keeps a finite gradient where |x - y|
        # overflows (jnp.minimum's multiplies (a - q) = inf by 0 there)
        if kernel != "huber" or reduction == "none" or not self._plain(x, y):
            return None
        delta = params[0]
        a = jnp.abs(x - y)
        # jnp.minimum: XLA vectorises it (a select kept the fused reduction
        # scalar). Only here: its gradient multiplies (a - q) by 0, which
        # overflows to NaN for smooth L1's (a - q) / beta near float32's max.
        q = jnp.minimum(a, delta)
        return self._reduce(q * (a - 0.5 * q), reduction)

    def cross_entropy_native(self, x, target, axis, reduction, valid=None):
        if not (
            self.native
            and x.dtype in _PLAIN_DTYPES
            and jnp.issubdtype(getattr(target, "dtype", jnp.float32), jnp.integer)
            and target.size > 0
            and x.ndim >= 1
            and -x.ndim <= axis < x.ndim
        ):
            return None
        ax = axis % x.ndim
        if tuple(target.shape) != tuple(x.shape[:ax] + x.shape[ax + 1 :]):
            return None
        C = x.shape[ax]
        if valid is not None:  # x is not filled outside valid: filled here
            valid = jnp.broadcast_to(valid, target.shape)
            x = jnp.where(jnp.expand_dims(valid, ax), x, 0.0)
            target = jnp.where(valid, target, 0)
        if self.concrete(target):
            lo, hi = self.value_range(target)
            if int(lo) < 0 or int(hi) >= C:
                return None  # the definition raises, naming the problem
        picked = jnp.take_along_axis(x, jnp.expand_dims(target, ax), axis=ax)
        loss = jax.nn.logsumexp(x, axis=ax) - jnp.squeeze(picked, ax)
        # As the definition (Backend.nan_bad_indices): under a trace an index
        # outside [0, C) gives NaN (take_along_axis would wrap a negative one).
        inrange = (target >= 0) & (target < C)
        loss = jnp.where(inrange, loss, jnp.nan)
        if valid is not None:
            loss = jnp.where(valid, loss, 0.0)
        return self._reduce(loss, reduction)


_PLAIN_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))

try:  # whether a trace is under way (no public API; without it nothing is checked)
    from jax._src.core import trace_ctx as _TRACE_CTX

    _TRACE_CTX.is_top_level  # noqa: B018
except (ImportError, AttributeError):  # pragma: no cover - another jax version
    _TRACE_CTX = None  # type: ignore[assignment]


def make(xp):
    return JaxBackend(xp)


def _norm2_value(x, axis):
    # the gradient's guard is the rule's (a where on the sum here costs XLA on
    # CPU a second reduction pass)
    return jnp.sqrt(jnp.sum(x * x, axis=axis))


def _unit(x, n, axis):
    # x / |x| (n = |x|), 0 at a zero vector (as torch.linalg.vector_norm) and
    # where |x| overflowed: a finite coefficient for the tangent <x / |x|, dx>
    ne = jnp.expand_dims(n, axis)
    ok = (ne > 0) & (ne < jnp.inf)
    return jnp.where(ok, x / jnp.where(ok, ne, 1.0), 0.0)


def _norm2_jvp(axis, primals, tangents):
    (x,), (t,) = primals, tangents
    n = _norm2_value(x, axis)
    return n, jnp.sum(_unit(x, n, axis) * t, axis=axis)


_norm2 = jax.custom_jvp(_norm2_value, nondiff_argnums=(1,))
_norm2.defjvp(_norm2_jvp)


def _norm2_known_jvp(axis, primals, tangents):
    # the norm n of x given: n itself, and norm2's tangent
    (x, n), (t, _) = primals, tangents
    return n, jnp.sum(_unit(x, n, axis) * t, axis=axis)


_norm2_known = jax.custom_jvp(lambda x, n, axis: n, nondiff_argnums=(2,))
_norm2_known.defjvp(_norm2_known_jvp)


def _guarded(fast, parts, ops):
    """Backend.guarded under a trace: a JVP rule. Its primal half runs the fast
    pass, then one ``lax.cond`` hands back those distances or the fallback's
    (``parts``, with their scale); the value and the tangent are ``fast``'s given
    them. The tangent is linear in the operands' tangents and holds no cond, so
    its transpose (the backward pass) is one elementwise sweep, rematerialised
    from the operands and the distances: the forward pass stores nothing more.
    Nothing not taken is differentiated; forward mode works, and higher orders
    (the rule's primal half, cond included, is itself differentiable)."""

    def pick(ops):
        _, ok, saved = fast(*ops)
        return jax.lax.cond(
            ok,
            lambda ops, saved: (saved, jnp.ones_like(saved[0])),
            lambda ops, saved: parts(*ops),
            ops,
            saved,
        )

    @jax.custom_jvp
    def f(*ops):
        saved, scale = pick(ops)
        return fast(*ops, saved=saved, scale=scale)[0]

    @jax.checkpoint
    def tangent(ops, saved, scale, ts):
        return jax.jvp(lambda *o: fast(*o, saved=saved, scale=scale)[0], ops, ts)[1]

    @f.defjvp
    def f_jvp(primals, tangents):
        saved, scale = pick(primals)
        value = fast(*primals, saved=saved, scale=scale)[0]
        return value, tangent(primals, saved, scale, tangents)

    return f(*ops)


#: at most this many classes, a gather's gradient is a one-hot contraction (a
#: contraction costs C multiply-adds per entry, the scatter one serial add)
_FEW_CLASSES = 256


def _take_classes_value(x, idx, n_classes):
    shape = x.shape[:-1] + idx.shape[-1:]
    return jnp.take_along_axis(x, jnp.broadcast_to(idx, shape), axis=-1)


def _take_classes_fwd(x, idx, n_classes):
    return _take_classes_value(x, idx, n_classes), idx


def _take_classes_bwd(n_classes, idx, g):
    # dx[..., n, c] = sum_l g[..., n, l] [idx[n, l] == c], exact terms at full precision
    hot = jax.nn.one_hot(idx, n_classes, dtype=g.dtype)
    dx = jnp.einsum("...nl,nlc->...nc", g, hot, precision=jax.lax.Precision.HIGHEST)
    return dx, None


_take_classes = jax.custom_vjp(_take_classes_value, nondiff_argnums=(2,))
_take_classes.defvjp(_take_classes_fwd, _take_classes_bwd)
