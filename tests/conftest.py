"""Test fixtures: ``xp`` runs a test once per selected backend (see _backends.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

# Test-run speed only (the same computation): the suite compiles thousands of small jax
# programs, one per drawn shape and option set; XLA's CPU backend spends most of that
# time in LLVM's optimisation passes, which these tiny programs do not need (the HLO
# passes, which decide what is computed, still run), and in its MLIR fusion emitters,
# where the older elemental emitter builds the same fused loops in half to 60% of the
# time (benchmarks/probes/xla_test_flags.py; the JAX suite: about a third faster). Set before jax is imported. XLA aborts the
# process on a flag it does not know, so the flags are tried once in a subprocess
# (the xdist workers inherit the result); ``test_check_jax_with_default_compiler``
# runs the catalog under XLA's default flags, as users compile it.
_XLA_FLAGS = (
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    " --xla_cpu_use_fusion_emitters=false"
)


def _xla_flags_accepted(flags):
    import subprocess

    probe = "import jax, jax.numpy as j; j.zeros(1).block_until_ready()"
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    try:
        r = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


if "XLA_FLAGS" not in os.environ:
    import importlib.util

    if importlib.util.find_spec("jax") is not None:
        os.environ["XLA_FLAGS"] = _XLA_FLAGS if _xla_flags_accepted(_XLA_FLAGS) else ""

import _backends  # noqa: E402

# XLA's compiled programs shared through a disk cache for this run (both xdist workers
# inherit the folder the controller made): the suites compile the same program (one
# loss, one shape, one option set) in many tests, often from a fresh closure that jax's
# in-memory cache cannot recognise (test_adversarial: 200 s -> 90 s on jax). Identical
# HLO, identical executable: what is computed does not change. Removed at the end.
_JAX_CACHE_OWNER = "CORELOSSES_JAX_CACHE_DIR" not in os.environ
if _JAX_CACHE_OWNER:
    os.environ["CORELOSSES_JAX_CACHE_DIR"] = tempfile.mkdtemp(prefix="corelosses-jax-")
try:
    import jax

    jax.config.update("jax_compilation_cache_dir", os.environ["CORELOSSES_JAX_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
except ImportError:
    pass


def pytest_unconfigure(config):
    if _JAX_CACHE_OWNER:
        shutil.rmtree(os.environ.pop("CORELOSSES_JAX_CACHE_DIR"), ignore_errors=True)


BACKENDS = _backends.selected()

# the demo plugin's own suite runs in its own session (tests/test_plugins.py), as a
# third party's would: here its losses are not registered
collect_ignore = ["plugin_pkg"]


try:  # dask's threaded scheduler costs more than the tiny graphs of the tests compute
    import dask

    dask.config.set(scheduler="synchronous")
except ImportError:
    pass


def pytest_report_header(config):
    return f"corelosses test backends: {', '.join(BACKENDS) or 'none'}"


@pytest.fixture(params=BACKENDS)
def xp(request):
    """A test backend: ``xp.asarray``, ``xp.call`` (jit under jax), ``xp.grad``, ``xp.to_numpy``."""
    return _backends.get(request.param)


@pytest.fixture(params=[b for b in BACKENDS if b in ("torch", "jax")])
def ad(request):
    """Only the backends with autodiff."""
    return _backends.get(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_collection_modifyitems(config, items):
    if not BACKENDS:
        return
