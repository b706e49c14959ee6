"""Plugins: losses and backends from entry points, without touching the venv.

Each test builds a ``*.dist-info`` directory with an ``entry_points.txt`` in
a temporary directory and puts it (and ``tests/plugin_pkg``) on the
``PYTHONPATH`` of a fresh interpreter: ``importlib.metadata`` discovers it
exactly as it would an installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PKG = Path(__file__).parent / "plugin_pkg"
ROOT = Path(__file__).parent.parent


def _dist(tmp: Path, name: str, entry_points: str) -> None:
    d = tmp / f"{name}-0.1.0.dist-info"
    d.mkdir()
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (d / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def _run(tmp: Path, code: str, *args: str, module: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp), str(PKG), str(ROOT)])
    cmd = [sys.executable, "-m", "corelosses", *args] if module else [sys.executable, "-c", code]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tmp)


DEMO = """
[corelosses.losses]
demo = corelosses_demo_plugin.losses

[corelosses.backends]
corelosses_demo_xp = corelosses_demo_plugin.backend:make
"""


def test_plugin_loss_in_catalog_modules_and_backend(tmp_path):
    _dist(tmp_path, "corelosses_demo_plugin", DEMO)
    code = """
import warnings
warnings.simplefilter("error")
import numpy as np, corelosses as cl
info = cl.get("squared_log_error")
assert info.plugin == "demo", info
assert "squared_log_error" in [i.name for i in cl.catalog()]
x = np.array([[0.5, 2.0]]); y = np.array([[1.0, 1.0]])
ref = np.mean((np.log1p(x) - np.log1p(y)) ** 2)
assert np.isclose(float(info.fn(x, y)), ref)
import torch
m = cl.torch.SquaredLogError()
assert np.isclose(float(m(torch.from_numpy(x), torch.from_numpy(y))), ref)
import jax
assert np.isclose(float(jax.jit(cl.jax.squared_log_error)(x, y)), ref)
# the backend plugin: resolved by its namespace's name, its own primitives used
from corelosses_demo_plugin.backend import DemoArray, DemoBackend
be = cl.backend_of(DemoArray(x))
assert type(be).__name__ == "DemoBackend" and be.name == "demo", be
out = cl.binary_cross_entropy(DemoArray(x), DemoArray(y / 2))
torch_ref = torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(x), torch.from_numpy(y / 2))
assert np.isclose(float(np.asarray(out)), float(torch_ref)) and DemoBackend.calls > 0
assert np.isclose(float(np.asarray(info.fn(DemoArray(x), DemoArray(y)))), ref)
print("OK")
"""
    r = _run(tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_plugin_loss_in_cli_list_and_check(tmp_path):
    _dist(tmp_path, "corelosses_demo_plugin", DEMO)
    r = _run(tmp_path, "", "list", module=True)
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("squared_log_error"))
    assert "numpy,torch,jax" in line and "[plugin: demo]" in line
    r = _run(
        tmp_path,
        "",
        "check",
        "squared_log_error",
        "--backends",
        "numpy,torch,torch.nn",
        module=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("squared_log_error"))
    assert row.count("PASS") == 3, row
    # --plugin: the plugin's losses only, checked as the built-in ones
    r = _run(tmp_path, "", "check", "--plugin", "demo", "--backends", "numpy,jax", module=True)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [
        ln
        for ln in r.stdout.splitlines()
        if ln and ln.split()[0] in ("squared_log_error", "mse_loss")
    ]
    assert len(rows) == 1 and rows[0].count("PASS") == 2, r.stdout
    assert "1 catalog functions" in r.stdout
    r = _run(tmp_path, "", "check", "--plugin", "nope", module=True)
    assert r.returncode == 2 and "no loss plugin named 'nope' (loss plugins: demo)" in r.stderr


def test_the_plugins_own_test_suite_runs_on_the_kit(tmp_path):
    # the demo plugin's tests (tests/plugin_pkg/tests), public names only, through the
    # kit's pytest plugin: as a third party runs them in its own CI
    _dist(tmp_path, "corelosses_demo_plugin", DEMO)
    suite = tmp_path / "suite"
    suite.mkdir()  # outside this repository: none of our conftest applies
    for f in (PKG / "tests").glob("test_*.py"):
        (suite / f.name).write_text(f.read_text())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(PKG), str(ROOT)])
    env["CORELOSSES_TEST_BACKENDS"] = "numpy,torch,jax"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:xdist"]
        + ["-p", "corelosses.testing", "--rootdir", str(suite), str(suite)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test_value_on_each_backend[numpy] PASSED" in r.stdout
    assert "5 passed" in r.stdout, r.stdout


def test_plugin_checked_by_the_public_kit(tmp_path):
    # a third party's own test: public names only (corelosses.testing)
    _dist(tmp_path, "corelosses_demo_plugin", DEMO)
    code = """
from corelosses.testing import assert_catalog_consistent
print(assert_catalog_consistent("demo", backends=["numpy", "torch", "jax"]))
"""
    r = _run(tmp_path, code)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "['squared_log_error']" in r.stdout


def test_broken_plugins_warn_and_do_not_crash(tmp_path):
    _dist(
        tmp_path,
        "broken_plugin",
        """
        [corelosses.losses]
        broken = no_such_module_for_corelosses:register

        [corelosses.backends]
        corelosses_demo_xp = no_such_module_for_corelosses:make
        """,
    )
    # a plugin may not replace a built-in loss either
    (tmp_path / "shadow_plugin.py").write_text(
        textwrap.dedent("""
        from corelosses import register

        @register("regression", "a plugin trying to replace mse_loss")
        def mse_loss(input, target, /, *, reduction="mean"):
            raise AssertionError("must not be used")
        """)
    )
    _dist(tmp_path, "shadow", "[corelosses.losses]\nshadow = shadow_plugin\n")
    code = """
import sys, warnings
sys.path.insert(0, %r)
import numpy as np
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    import corelosses as cl
    names = [i.name for i in cl.catalog()]
    from corelosses_demo_plugin.backend import DemoArray
    be = cl.backend_of(DemoArray(np.ones(2)))
msgs = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
assert any("'broken'" in m and "no_such_module_for_corelosses" in m for m in msgs), msgs
assert any("'shadow'" in m and "mse_loss" in m for m in msgs), msgs
assert any("corelosses_demo_xp" in m for m in msgs), msgs
assert cl.get("mse_loss").plugin is None
assert float(cl.mse_loss(np.ones(2), np.zeros(2))) == 1.0
assert be.name == "corelosses_demo_xp"  # the generic fallback
assert "mse_loss" in names
print("OK")
""" % str(PKG)  # noqa: UP031
    r = _run(tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout
