"""The catalog for JAX users: every function, ready for ``jit``, ``grad`` and ``vmap``.

The functions are the core's own (generated from :func:`corelosses.catalog`,
so plugins' losses appear too); on JAX arrays they run on the JAX backend,
whose primitives are the native ``jax.nn`` kernels (``log_softmax``,
``logsumexp``, ``softplus``, ``log_sigmoid``, ...), ``lax.stop_gradient``
and ``jax.custom_vjp``. Options are Python values: keep them static (close
over them or mark them ``static_argnames``); arrays may be traced.

>>> import jax, jax.numpy as jnp, corelosses as cl
>>> x = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]]); y = jnp.array([0, 2])
>>> f = jax.jit(lambda x, y: cl.jax.cross_entropy(x, y, label_smoothing=0.1))
>>> g = jax.grad(f)(x, y)
>>> g.shape
(2, 3)

Per-example losses and gradients (optax style)
----------------------------------------------
``reduction="none"`` gives the unreduced loss; for a per-example *mean*
(e.g. a sequence or an image per example) ``vmap`` the loss over the batch
axis, each example seeing its own arrays without the batch axis::

    per_example = jax.vmap(lambda x, y: cl.jax.mse_loss(x, y))   # (B,)
    # per-example gradients, as for DP-SGD / optax.contrib:
    def loss(params, x, y):
        return cl.jax.cross_entropy(model(params, x[None]), y[None])
    grads = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)

:func:`per_example` wraps the first pattern.

Sharding
--------
Nothing in the losses pins a device: on arrays sharded with
``jax.sharding.NamedSharding`` the reductions become cross-device
collectives under ``jit`` (tested on 4 virtual CPU devices,
``XLA_FLAGS=--xla_force_host_platform_device_count=4``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from ..._registry import catalog, get
from ._wrap import valid_count

__all__ = ["per_example", "valid_count"]


def per_example(fn: Callable | str, /, *, in_axes: Any = 0, **options: Any) -> Callable:
    """``jax.vmap`` of a loss over a batch axis: one reduced value per example.

    Parameters
    ----------
    fn : callable or str
        A catalog function or its name.
    in_axes : int or tuple
        ``jax.vmap``'s ``in_axes`` for the positional arrays (``None`` for an
        array shared by every example).
    **options
        The loss's keyword options (static); ``reduction`` defaults to ``"mean"``.

    Returns
    -------
    callable
        ``f(*arrays) -> array`` of shape ``(batch,)``.

    Examples
    --------
    >>> import jax.numpy as jnp, corelosses as cl
    >>> f = cl.jax.per_example("mse_loss")
    >>> f(jnp.array([[1.0, 3.0], [0.0, 0.0]]), jnp.zeros((2, 2))).tolist()
    [5.0, 0.0]
    """
    if isinstance(fn, str):
        fn = get(fn).fn

    def one(*arrays):
        return fn(*arrays, **options)

    return jax.vmap(one, in_axes=in_axes)


def __getattr__(name: str) -> Any:
    for info in catalog():
        if info.name == name:
            return info.fn
    raise AttributeError(f"module 'corelosses.jax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {i.name for i in catalog()})


def _generate() -> None:
    from .. import jax as _backend  # noqa: F401  - the jax.nn kernels, loaded eagerly

    for info in catalog():
        globals()[info.name] = info.fn
        __all__.append(info.name)


_generate()
