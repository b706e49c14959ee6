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


def make(xp):
    return JaxBackend(xp)
