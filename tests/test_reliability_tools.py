"""The tools around the losses: ``corelosses check``/``plot``/``--help`` report honestly,
reject unknown names with suggestions, and the repository ignores what its commands create."""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import corelosses as cl
from corelosses._tools import check as _check
from corelosses._tools.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _keep_keras_backend(monkeypatch):
    """``corelosses check`` sets ``KERAS_BACKEND`` for Keras; undo it after each test."""
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))


def _summary(text: str) -> str:
    lines = [ln for ln in text.splitlines() if re.match(r"(PASS|FAIL|NOTHING CHECKED):", ln)]
    assert len(lines) == 1, text
    return lines[0]


def _counts(text: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) passed, (\d+) failed, (\d+) n/a", _summary(text))
    assert m, _summary(text)
    return int(m[1]), int(m[2]), int(m[3])


def _row(text: str, name: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith(name + " "))


def _without(monkeypatch, *modules):
    """Make ``corelosses check`` believe ``modules`` are not installed."""
    real = _check.importlib.util.find_spec
    monkeypatch.setattr(
        _check.importlib.util,
        "find_spec",
        lambda name, *a: None if name in modules else real(name, *a),
    )


# ---------------------------------------------------------------- 12: unknown names


def test_check_unknown_loss_fails_naming_the_closest(capsys):
    assert main(["check", "focal_los"]) == 2
    cap = capsys.readouterr()
    assert "unknown loss" in cap.err and "'focal_los'" in cap.err
    assert "did you mean 'focal_loss'" in cap.err
    assert "PASS" not in cap.out


def test_check_unknown_backend_fails_naming_the_closest(capsys):
    assert main(["check", "mse_loss", "--backends", "torchh"]) == 2
    cap = capsys.readouterr()
    assert "unknown backend" in cap.err and "did you mean 'torch'" in cap.err
    assert "PASS" not in cap.out
    # a mix of known and unknown still fails, before anything runs
    assert main(["check", "mse_loss", "--backends", "numpy,jaxx"]) == 2
    assert "did you mean 'jax'" in capsys.readouterr().err


def test_check_unknown_name_without_close_match():
    with pytest.raises(_check.UsageError, match="'zzzz'.*corelosses list"):
        _check.resolve_names(["zzzz"])
    with pytest.raises(_check.UsageError, match="valid backends: numpy"):
        _check.resolve_backends(["qqqq"])


def test_check_known_backend_not_installed_is_reported_not_failed(monkeypatch, capsys):
    _without(monkeypatch, "cupy")
    assert main(["check", "mse_loss", "--backends", "numpy,cupy"]) == 0
    out = capsys.readouterr().out
    assert "backend cupy skipped: cupy is not installed" in out
    assert _counts(out) == (1, 0, 0)


def test_check_with_no_backend_available_is_not_a_pass(monkeypatch, capsys):
    _without(monkeypatch, "cupy")
    assert main(["check", "mse_loss", "--backends", "cupy"]) == 1
    cap = capsys.readouterr()
    assert _summary(cap.out).startswith("NOTHING CHECKED: 0 passed")
    assert "none of the requested backends" in cap.err


def test_plot_unknown_loss_names_the_closest(tmp_path, capsys):
    assert main(["plot", "focal_los", "--out", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'focal_loss'" in err
    assert not (tmp_path / "a.png").exists()


# ---------------------------------------------------------------- 13: honest counts, whole catalog


def test_check_counts_na_apart_from_passes(capsys):
    pytest.importorskip("torch")
    # signed_distance_map is a transform: no torch.nn module, so that cell is n/a
    rc = main(["check", "mse_loss", "signed_distance_map", "--backends", "numpy,torch.nn"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "n/a" in _row(out, "signed_distance_map")
    assert _counts(out) == (3, 0, 1)
    summary = _summary(out)
    assert summary.startswith("PASS: 3 passed, 0 failed, 1 n/a")
    assert "4 of 4" not in summary and "pairs pass" not in summary


def test_every_catalog_function_has_a_check():
    missing = [i.name for i in cl.catalog() if i.plugin is None and _check.case_of(i) is None]
    assert missing == []
    for name in ("gradient_penalty", "r1_penalty", "symmetric_loss"):
        assert _check.case_of(cl.get(name)) is not None, name


def test_check_runs_the_entries_without_example(capsys):
    backends = ["numpy", "array_api_strict", "dask"]
    names = ["gradient_penalty", "r1_penalty", "symmetric_loss"]
    torch = pytest.importorskip("torch")  # noqa: F841
    rc = main(["check", *names, "--backends", ",".join(backends + ["torch", "torch.nn"])])
    out = capsys.readouterr().out
    assert rc == 0, out
    for name in ("gradient_penalty", "r1_penalty"):
        row = _row(out, name)
        # no autodiff: n/a, after checking the documented TypeError
        assert row.count("n/a (no autodiff)") == len(backends), row
        assert row.count("PASS") == 2 and row.count("*") == 2, row  # torch, torch.nn: value+grad
    row = _row(out, "symmetric_loss")
    assert row.count("PASS") == len(backends) + 1 and "n/a" in row, row  # no torch.nn module
    assert _counts(out) == (8, 0, 7)


@pytest.mark.parametrize("name", ["gradient_penalty", "r1_penalty", "symmetric_loss"])
def test_check_entries_without_example_on_jax(name):
    pytest.importorskip("jax")
    case = _check.case_of(cl.get(name))
    status, err, detail = _check.check_one(case, _check._Jax())
    assert (status, detail) == ("PASS", "value+grad"), (status, err, detail)


def test_critic_penalty_references_are_the_analytic_values():
    critic = _check._sum_squares_critic
    x = np.array([[1.0, 0.0], [0.0, 2.0]])
    # r1_penalty's docstring example: 1/2 * mean(|2x|^2) = 1/2 * mean(4, 16)
    r1 = _check.case_of(cl.get("r1_penalty")).reference
    assert r1(critic, x, weight=1.0) == pytest.approx(5.0)
    gp = _check.case_of(cl.get("gradient_penalty")).reference
    # epsilon 1: the interpolates are x, gradient norms 2 and 4
    want = 3.0 * ((math.sqrt(4 + 1e-10) - 1) ** 2 + (math.sqrt(16 + 1e-10) - 1) ** 2) / 2
    assert gp(critic, x, 0 * x, epsilon=np.ones(2), weight=3.0) == pytest.approx(want)
    assert np.asarray(critic(x)).tolist() == [1.0, 4.0]


def test_check_fails_a_penalty_that_does_not_raise_without_autodiff():
    info = cl.get("r1_penalty")
    good = _check.case_of(info)
    quiet = _check.CheckCase(
        info,
        lambda critic, x, **kw: np.sum(x),
        good.example,
        good.grad_argnums,
        needs_autodiff=True,
    )
    status, _, detail = _check.check_one(quiet, _check._Numpy())
    assert status == "FAIL" and "expected TypeError" in detail
    assert _check.check_one(good, _check._Numpy())[0] == "n/a"


# ---------------------------------------------------------------- 14: help and plots


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("cmd", [(), ("list",), ("check",), ("bench",), ("plot",)])
def test_help_is_plain_text(capsys, cmd):
    text = _help(capsys, *cmd)
    assert "``" not in text and ":func:" not in text
    assert text.strip()


@pytest.mark.parametrize("cmd", ["bench", "plot", "check"])
def test_help_gives_every_default(capsys, cmd):
    text = _help(capsys, cmd)
    opts = text.split("options:", 1)[1]
    blocks = re.split(r"\n(?=  -)", opts.strip("\n"))
    for block in blocks:
        if block.lstrip().startswith("-h, --help"):
            continue
        assert "default" in block, f"no default in {cmd} --help for:\n{block}"


class _Saved:
    def __init__(self, monkeypatch):
        import matplotlib.figure

        self.figs = []
        real = matplotlib.figure.Figure.savefig

        def savefig(fig, *a, **k):
            self.figs.append(fig)
            return real(fig, *a, **k)

        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)

    def texts(self):
        (fig,) = self.figs
        title = fig._suptitle.get_text() if fig._suptitle else ""
        titles = " ".join([title] + [a.get_title() for a in fig.axes])
        return titles, [a.get_xlabel() for a in fig.axes], [a.get_ylabel() for a in fig.axes]


@pytest.mark.parametrize(
    "argv, options, xlabel",
    [
        (["focal_loss"], ["alpha=0.25", "gamma=2.0", "from_logits=True"], "logit"),
        (["focal_loss", "-o", "gamma=3"], ["alpha=0.25", "gamma=3"], "logit"),
        (["huber_loss"], ["delta=1.0"], "prediction"),
        (["mse_loss"], [], "prediction"),
        (["binary_cross_entropy", "-o", "from_logits=False"], ["from_logits=False"], "probability"),
        (["cross_entropy"], ["label_smoothing=0.0"], "logit of class 1"),
        (["binary_penalty"], ["power=2.0", "alpha=1.0"], "probability"),
    ],
)
def test_plot_title_options_and_axis_labels(tmp_path, monkeypatch, argv, options, xlabel):
    pytest.importorskip("matplotlib")
    saved = _Saved(monkeypatch)
    out = tmp_path / "p.png"
    assert main(["plot", *argv, "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    titles, xlabels, ylabels = saved.texts()
    assert argv[0] in titles
    for opt in options:
        assert opt in titles, titles
    assert xlabels == [xlabel, xlabel]
    assert all(ylabels), ylabels


def test_plot_probability_inputs_stay_in_the_unit_interval(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    saved = _Saved(monkeypatch)
    argv = ["plot", "binary_cross_entropy", "-o", "from_logits=False"]
    assert main([*argv, "--out", str(tmp_path / "p.png")]) == 0
    (fig,) = saved.figs
    x = fig.axes[0].lines[0].get_xdata()
    assert 0 < x.min() < x.max() < 1


def test_plot_rejects_unknown_options(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["plot", "focal_loss", "-o", "gama=3", "--out", str(tmp_path / "a.png")]) == 2
    assert "'gama'" in capsys.readouterr().err


# ---------------------------------------------------------------- 16: what the commands create


def test_gitignore_covers_the_readme_virtual_environments():
    readme = (ROOT / "README.md").read_text()
    venvs = set(re.findall(r"-m venv (\S+)", readme))
    assert {".venv", ".venv-nox"} <= venvs
    ignored = {
        ln.strip().rstrip("/").lstrip("/") for ln in (ROOT / ".gitignore").read_text().splitlines()
    }
    for v in venvs:
        assert v.rstrip("/") in ignored, f"{v} (created by the README's commands) is not ignored"
    assert ".nox" in ignored  # nox -s lint tests


def test_check_without_an_optional_dependency_is_na_not_a_crash(monkeypatch, capsys):
    # A minimal install (numpy, array-api-compat) has no scipy: the examples of the
    # distance-map losses cannot be built. ``check`` reports n/a for them, names the
    # module, and still checks the rest (found by ``nox -s package``: it crashed).
    monkeypatch.setitem(sys.modules, "scipy.ndimage", None)
    names = ["boundary_loss", "signed_distance_map", "mse_loss"]
    rc = main(["check", *names, "--backends", "numpy"])
    out = capsys.readouterr().out
    assert rc == 0, out
    for name in names[:2]:  # the example needs scipy; the function needs it
        assert "n/a (needs scipy.ndimage)" in _row(out, name), out
    assert "PASS" in _row(out, "mse_loss"), out
    assert _counts(out) == (1, 0, 2)
