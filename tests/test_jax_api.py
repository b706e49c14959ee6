"""corelosses.jax: every catalog loss under jit, grad, vmap and with sharded arrays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from _helpers import assert_close  # noqa: E402

import corelosses as cl  # noqa: E402

LOSSES = [i for i in cl.catalog(kind="loss") if i.example is not None and "jax" in i.backends]
IDS = [i.name for i in LOSSES]


def _j(v):
    return jnp.asarray(v) if isinstance(v, np.ndarray) else v


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_jit_grad_vmap(info):
    fn = getattr(cl.jax, info.name)
    assert fn is info.fn
    args, kw = info.example(np.random.default_rng(0))
    arr = {k: _j(v) for k, v in kw.items() if isinstance(v, np.ndarray)}
    static = {k: v for k, v in kw.items() if k not in arr}
    ja = [_j(a) for a in args]
    i0 = info.grad_argnums[0] if info.grad_argnums else 0

    def f(x):
        a = list(ja)
        a[i0] = x
        return fn(*a, **arr, **static)

    assert_close(jax.jit(f)(ja[i0]), info.fn(*args, **kw))
    if info.grad_argnums:
        g = jax.jit(jax.grad(lambda x: jnp.sum(f(x))))(ja[i0])
        assert g.shape == ja[i0].shape and bool(jnp.all(jnp.isfinite(g)))
    # vmap over a new batch axis: each example is the catalog example, perturbed
    xb = jnp.stack([ja[i0], ja[i0] * 1.01])
    out = jax.jit(jax.vmap(f))(xb)
    for k in range(2):
        a = list(args)
        a[i0] = np.asarray(xb[k])
        assert_close(out[k], info.fn(*a, **kw))


def test_per_example_reduction_matches_none():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(5, 7)))
    y = jnp.asarray(rng.normal(size=(5, 7)))
    per = cl.jax.per_example("huber_loss", delta=0.5)(x, y)
    assert_close(per, np.asarray(cl.huber_loss(x, y, delta=0.5, reduction="none")).mean(axis=1))
    logits = jnp.asarray(rng.normal(size=(5, 3, 4)))
    labels = jnp.asarray(rng.integers(0, 3, size=(5, 4)))
    per = jax.vmap(lambda a, b: cl.jax.cross_entropy(a, b, axis=0))(logits, labels)
    ref = np.asarray(cl.cross_entropy(logits, labels, axis=1, reduction="none")).mean(axis=1)
    assert_close(per, ref)
    # per-example gradients (optax/DP-SGD style)
    w = jnp.asarray(rng.normal(size=(7,)))
    g = jax.vmap(jax.grad(lambda w, a, b: cl.jax.mse_loss(a * w, b)), in_axes=(None, 0, 0))(w, x, y)
    assert g.shape == (5, 7)
    assert_close(g[2], jax.grad(lambda w: cl.jax.mse_loss(x[2] * w, y[2]))(w))


SHARDED = r"""
import numpy as np, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import corelosses as cl
assert jax.device_count() == 4, jax.devices()
mesh = Mesh(np.array(jax.devices()), ("batch",))
n = 0
for info in cl.catalog(kind="loss"):
    if info.example is None or "jax" not in info.backends:
        continue
    args, kw = info.example(np.random.default_rng(0))
    # four copies along the batch axis so it splits over the 4 devices
    big = [np.concatenate([a] * 4) if isinstance(a, np.ndarray) and a.ndim else a for a in args]
    try:
        ref = info.fn(*big, **kw)
    except Exception:
        big, ref = list(args), info.fn(*args, **kw)
    def put(a):
        if not isinstance(a, np.ndarray):
            return a
        spec = P("batch") if a.ndim and a.shape[0] % 4 == 0 else P()
        return jax.device_put(jnp.asarray(a), NamedSharding(mesh, spec))
    ja = [put(a) for a in big]
    arr = {k: jnp.asarray(v) for k, v in kw.items() if isinstance(v, np.ndarray)}
    static = {k: v for k, v in kw.items() if k not in arr}
    fn = getattr(cl.jax, info.name)
    out = jax.jit(lambda a, arr: fn(*a, **arr, **static))(ja, arr)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-9, atol=1e-12, err_msg=info.name)
    n += 1
print("OK", n)
"""


def test_sharded_on_four_virtual_cpu_devices():
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    r = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "OK" in r.stdout


def test_check_jax_with_default_compiler():
    """``corelosses check`` on JAX (every catalog loss jitted: value against float64
    NumPy, gradient against finite differences) under XLA's default flags, as users
    compile: the rest of the suite runs with the test-speed flags set in conftest."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    r = subprocess.run(
        [sys.executable, "-m", "corelosses", "check", "--backends", "jax"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert " 0 failed" in r.stdout, r.stdout[-2000:]
