"""JAX backend: ``jax.nn`` kernels, ``lax.stop_gradient`` and ``jax.custom_vjp``.

Imported only once a JAX array (or tracer) has been seen.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._generic import Backend


class JaxBackend(Backend):
    name = "jax"
    has_autodiff = True

    def is_half(self, dtype):
        return jnp.dtype(dtype) in (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))

    def concrete(self, x):
        # Checks on jax arrays would need a device sync, and fail under jit.
        return False

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
    # (measured 2-5x); the functions are the same for valid inputs. (Nothing
    # is checked under jax: an index out of range gives NaN here.)
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

    def huber_native(self, x, y, delta, reduction):
        if not self._plain(x, y):
            return None
        a = jnp.abs(x - y)
        # jnp.minimum: XLA vectorises it (a select kept the fused reduction
        # scalar). Only here: its gradient multiplies (a - q) by 0, which
        # overflows to NaN for smooth L1's (a - q) / beta near float32's max.
        q = jnp.minimum(a, delta)
        return self._reduce(q * (a - 0.5 * q), reduction)

    def cross_entropy_native(self, x, target, axis, reduction):
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
        picked = jnp.take_along_axis(x, jnp.expand_dims(target, ax), axis=ax)
        loss = jax.nn.logsumexp(x, axis=ax) - jnp.squeeze(picked, ax)
        # the definition one-hot encodes by comparison: an index outside [0, C)
        # matches no class and gives 0 (take_along_axis would give NaN)
        inrange = (target >= 0) & (target < x.shape[ax])
        loss = jnp.where(inrange, loss, 0.0)
        return self._reduce(loss, reduction)


_PLAIN_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))


def make(xp):
    return JaxBackend(xp)
