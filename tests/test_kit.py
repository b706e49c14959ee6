"""The public kit (corelosses.extend, corelosses.testing): it passes a right loss,
catches each kind of wrong one with a readable report, and its pytest plugin works.

The deliberately wrong losses are in ``corelosses.testing.broken`` (public names
only); the documentation shows the reports these tests produce.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import corelosses as cl
from corelosses import extend as ce
from corelosses.testing import KitError, assert_backends_agree, broken, installed_backends

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "tests" / "plugin_pkg"
RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))


def _have(*names):
    return set(names) <= set(installed_backends())


def test_a_right_loss_passes_every_check():
    assert_backends_agree(broken.good_loss, (X, Y))


@pytest.mark.skipif(not _have("numpy", "torch"), reason="needs numpy and torch")
def test_wrong_value_on_one_backend_is_caught():
    with pytest.raises(KitError) as e:
        assert_backends_agree(broken.wrong_on_torch, (X, Y), backends=["numpy", "torch"])
    msg = str(e.value)
    assert msg.startswith("wrong_on_torch on torch: value differs from float64 NumPy"), msg
    assert "input:    array(4, 3) float64, array(4, 3) float64" in msg
    assert "expected:" in msg and "got:" in msg


@pytest.mark.skipif(not _have("torch"), reason="needs torch")
def test_nan_gradient_under_the_mask_is_caught():
    with pytest.raises(KitError) as e:
        assert_backends_agree(
            broken.nan_grad_under_mask, (X, Y), backends=["torch"], half=False, compile=False
        )
    msg = str(e.value)
    # the value is right: it is the gradient that is caught
    assert msg.startswith(
        "nan_grad_under_mask on torch: gradient under the mask is not exactly 0"
    ), msg


@pytest.mark.skipif(not _have("torch"), reason="needs torch")
def test_graph_break_is_caught():
    with pytest.raises(KitError) as e:
        assert_backends_agree(broken.graph_break, (X, Y), backends=["numpy", "torch"], half=False)
    msg = str(e.value)
    assert msg.startswith("graph_break on torch.compile(fullgraph=True): does not compile"), msg


@pytest.mark.skipif(not _have("torch"), reason="needs torch")
def test_a_value_read_under_vmap_is_caught():
    """A Python number read from the input's values (not behind ``be.concrete``) cannot
    run under ``torch.func.vmap``: the kit's torch.func check names it."""
    with pytest.raises(KitError) as e:
        assert_backends_agree(
            broken.graph_break, (X, Y), backends=["torch"], half=False, compile=False
        )
    msg = str(e.value)
    assert msg.startswith("graph_break on torch.func.vmap: raised RuntimeError"), msg


@pytest.mark.skipif(not _have("torch"), reason="needs torch")
def test_a_wrong_torch_func_gradient_is_caught():
    """check_torch_func compares with autograd: a loss whose gradient under a
    functorch transform alone is halved (the value unchanged) fails."""
    import torch

    from corelosses.testing import check_torch_func

    def halved_under_func(input, target, /):
        z = input
        if torch._C._functorch.is_functorch_wrapped_tensor(input):  # the mistake
            z = input.detach() + 0.5 * (input - input.detach())
        return 0.5 * torch.sum((z - target) ** 2)

    with pytest.raises(KitError) as e:
        check_torch_func(halved_under_func, (X, Y))
    assert str(e.value).startswith("halved_under_func on torch.func.grad: gradient"), str(e.value)
    check_torch_func(broken.good_loss, (X, Y))


@pytest.mark.skipif(not _have("torch"), reason="needs torch")
def test_half_precision_dtype_error_is_caught():
    with pytest.raises(KitError) as e:
        assert_backends_agree(broken.half_stays_half, (X, Y), backends=["torch"], compile=False)
    msg = str(e.value)
    assert msg.startswith("half_stays_half on torch float16: result is not float32"), msg
    assert "torch.float16" in msg


@pytest.mark.skipif(not _have("jax"), reason="needs jax")
def test_a_loss_that_does_not_trace_under_jit_is_caught():
    with pytest.raises(KitError) as e:
        assert_backends_agree(broken.graph_break, (X, Y), backends=["jax"])
    assert str(e.value).startswith("graph_break on jax: raised"), str(e.value)


def test_catalog_losses_pass_the_kit():
    # our own losses, through the kit (the catalog-wide suites run the same checks)
    for name in ("huber_loss", "focal_loss", "cross_entropy", "dice_loss", "hinge_loss"):
        info = cl.get(name)
        assert_backends_agree(info.fn, info.example, grad_argnums=info.grad_argnums)


def test_extend_is_what_the_families_use():
    # one implementation: the public names are the very objects the built-ins call
    from corelosses import _core

    for name in ("pair_setup", "reduce", "check_number", "sanitize", "mask_and_weight"):
        assert getattr(ce, name) is getattr(_core, name)
    assert ce.register is cl.register
    assert set(ce.__all__) <= set(dir(ce))


def _private_imports(path: Path) -> list[str]:
    """``corelosses._x`` / ``corelosses.adapters._x`` (and private names) a file imports."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("corelosses")
        ):
            parts = node.module.split(".")
            if any(p.startswith("_") for p in parts):
                bad.append(node.module)
            bad += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            bad += [
                a.name
                for a in node.names
                if a.name.startswith("corelosses")
                and any(p.startswith("_") for p in a.name.split("."))
            ]
    return bad


def test_the_demo_plugin_and_the_kit_examples_use_public_names_only():
    files = sorted(PLUGIN.rglob("*.py")) + [ROOT / "corelosses" / "testing" / "broken.py"]
    files += sorted((ROOT / "examples" / "third_party").rglob("*.py"))
    assert files
    found = {str(f.relative_to(ROOT)): _private_imports(f) for f in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_public_name_check_can_fail(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text("from corelosses import _core as c\nfrom corelosses.adapters import _generic\n")
    assert (
        _private_imports(f) == ["corelosses._core", "corelosses.adapters._generic"]
        or len(_private_imports(f)) == 2
    )


TEST_FILE = """
import numpy as np
import corelosses as cl

def test_huber(xp):
    x = xp.asarray(np.array([0.5, -2.0]))
    y = xp.asarray(np.zeros(2))
    assert abs(float(xp.to_numpy(xp.call(cl.huber_loss, x, y))) - 0.8125) < 1e-12
"""


def _pytest(tmp_path, *args):
    (tmp_path / "test_mine.py").write_text(textwrap.dedent(TEST_FILE))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CORELOSSES_TEST_BACKENDS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pytest_plugin_xp_fixture_over_the_chosen_backends(tmp_path):
    r = _pytest(tmp_path, "-p", "corelosses.testing", "--corelosses-backends=numpy,torch")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test_huber[numpy] PASSED" in r.stdout
    assert ("test_huber[torch] PASSED" in r.stdout) == _have("torch")
    assert "[jax]" not in r.stdout


def test_pytest_plugin_is_off_unless_enabled(tmp_path):
    r = _pytest(tmp_path)
    # without -p corelosses.testing (or --corelosses): no xp fixture
    assert r.returncode != 0 and "fixture 'xp' not found" in r.stdout, r.stdout


def _entry_point_installed():
    from importlib.metadata import entry_points

    return any(ep.value == "corelosses.testing._entry" for ep in entry_points(group="pytest11"))


@pytest.mark.skipif(not _entry_point_installed(), reason="corelosses is not installed")
def test_pytest_plugin_through_the_entry_point(tmp_path):
    r = _pytest(tmp_path, "--corelosses", "--corelosses-backends=numpy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test_huber[numpy] PASSED" in r.stdout
