"""Schedules against float64 formulas: Python floats for scalars, arrays for arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, run

import corelosses as cl


def ref(name, step, start, stop, low, high):
    t = np.clip((np.asarray(step, dtype=np.float64) - start) / (stop - start), 0.0, 1.0)
    r = {
        "linear_ramp": t,
        "cosine_ramp": (1 - np.cos(np.pi * t)) / 2,
        "sigmoid_ramp": np.exp(-5 * (1 - t) ** 2),
    }[name]
    return low + (high - low) * r


NAMES = ["linear_ramp", "cosine_ramp", "sigmoid_ramp"]
OPTS = [
    dict(start=0, stop=100),
    dict(start=10, stop=30.5, low=0.2, high=3.0),
    dict(start=-5.0, stop=5.0, low=1.0, high=0.0),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("opt", range(len(OPTS)))
def test_python_steps_give_floats(name, opt):
    fn, kw = getattr(cl, name), OPTS[opt]
    for step in [-50, -5, 0, 1, 7, 10, 15.5, 20, 30, 30.5, 99, 100, 1000, 2.5e9]:
        v = fn(step, **kw)
        assert type(v) is float
        assert_close(v, ref(name, step, **{"low": 0.0, "high": 1.0, **kw}))


@pytest.mark.parametrize("name", NAMES)
def test_shape_of_ramps(name):
    fn = getattr(cl, name)
    vals = [fn(s, start=0, stop=100) for s in range(-10, 120)]
    assert all(b >= a for a, b in zip(vals, vals[1:]))  # nondecreasing
    assert vals[-1] == 1.0 and fn(100, start=0, stop=100) == 1.0
    first = math.exp(-5) if name == "sigmoid_ramp" else 0.0
    assert_close(vals[0], first)
    assert_close(fn(0, start=0, stop=100), first)
    if name == "cosine_ramp":
        assert_close(fn(50, start=0, stop=100), 0.5)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "int64", "int32"])
def test_array_steps(xp, name, dtype):
    fn = getattr(cl, name)
    steps = np.array([-3, 0, 4, 10, 17, 25, 40]).astype(dtype)
    kw = dict(start=0, stop=25, low=0.5, high=2.0)
    got = run(xp, fn, steps, **kw)
    assert got.shape == steps.shape and np.issubdtype(got.dtype, np.floating)
    assert_close(got, ref(name, steps, **kw), rtol=1e-6 if got.dtype == np.float32 else None)


@pytest.mark.parametrize("name", NAMES)
def test_array_returns_namespace(xp, name):
    steps = xp.asarray(np.array([1.0, 50.0]))
    out = getattr(cl, name)(steps, start=0, stop=100)
    assert type(out).__module__.split(".")[0] == type(steps).__module__.split(".")[0]


@pytest.mark.parametrize("name", NAMES)
def test_inside_jax_jit_with_step_counter(name):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    fn = getattr(cl, name)

    @jax.jit
    def weighted(step, x):
        return fn(step, start=10, stop=60, high=0.1) * jnp.sum(x)

    for s in (0, 10, 35, 60, 100):
        out = weighted(jnp.asarray(s, dtype=jnp.int32), jnp.ones(4))
        assert_close(out, 4 * ref(name, s, 10, 60, 0.0, 0.1), rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_torch_compile_fullgraph(name):
    torch = pytest.importorskip("torch")
    fn = getattr(cl, name)
    steps = torch.arange(0, 120, 7)
    out = compile_fullgraph(lambda s: fn(s, start=5, stop=100, low=0.1), steps)
    assert out.dtype == torch.get_default_dtype()
    assert_close(out, ref(name, steps.numpy(), 5, 100, 0.1, 1.0), rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input(name):
    fn = getattr(cl, name)
    with pytest.raises(ValueError, match="'stop'.*start"):
        fn(3, start=10, stop=10)
    with pytest.raises(ValueError, match="'stop'"):
        fn(3, start=10, stop=5)
    with pytest.raises(TypeError, match="'start'"):
        fn(3, start="0", stop=5)
    with pytest.raises(ValueError, match="'high'"):
        fn(3, start=0, stop=5, high=float("nan"))
    with pytest.raises(ValueError, match="'stop'"):
        fn(3, start=0, stop=float("inf"))
    with pytest.raises(TypeError, match="'step'"):
        fn(True, start=0, stop=5)
    with pytest.raises(TypeError, match="'step'"):
        fn("3", start=0, stop=5)
    with pytest.raises(TypeError):
        fn(3)  # start and stop are required keywords


@pytest.mark.parametrize("name", NAMES)
def test_nan_scalar_step_raises(name):
    fn = getattr(cl, name)
    for step in (float("nan"), np.float64("nan"), np.float32("nan")):
        with pytest.raises(ValueError, match="'step'"):
            fn(step, start=0, stop=10)


@pytest.mark.parametrize("name", NAMES)
def test_nan_array_step_gives_nan(xp, name):
    """Arrays follow NumPy/JAX: NaN in, NaN out (no value check in traced code)."""
    got = run(xp, getattr(cl, name), np.array([np.nan, 5.0]), start=0, stop=10)
    assert np.isnan(got[0]) and np.isfinite(got[1])


@pytest.mark.parametrize("name", NAMES)
def test_huge_int_steps_are_past_the_ends(name):
    fn = getattr(cl, name)
    kw = dict(start=10, stop=30, low=0.5, high=2.0)
    first = fn(10, **kw)
    for step in (10**400, 2**1024, 10**20, 10**308 * 10):
        assert fn(step, **kw) == 2.0
    for step in (-(10**400), -(2**1024)):
        assert fn(step, **kw) == first
    assert fn(float("inf"), **kw) == 2.0 and fn(float("-inf"), **kw) == first
    # ints are compared with the ends exactly, beyond float precision too
    assert fn(2**60, start=0, stop=2**60) == 1.0
    assert fn(2**60 + 1, start=0, stop=2**60) == 1.0


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("opt", ["start", "stop", "low", "high"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 10**400, -(10**400)])
def test_non_finite_options_raise_naming_them(name, opt, bad):
    kw = dict(start=0, stop=10, low=0.0, high=1.0)
    kw[opt] = bad
    with pytest.raises(ValueError, match=f"'{opt}'"):
        getattr(cl, name)(5, **kw)
