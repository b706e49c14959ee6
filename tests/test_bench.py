"""The benchmark harness runs and writes its table, JSON and plot (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from corelosses._tools import bench as _bench
from corelosses._tools.cli import main as cli_main


def test_parse_size():
    assert _bench.parse_size("64") == 64
    assert _bench.parse_size("1M") == 1 << 20
    assert _bench.parse_size("16M") == 1 << 24
    assert _bench.parse_size("4k") == 4096
    assert _bench.fmt_size(1 << 24) == "16M"


def test_targets():
    assert _bench.target_for("torch", 64) == 1.5
    assert _bench.target_for("torch", 1 << 20) == 1.10
    assert _bench.target_for("torch.compile", 1 << 24) == 1.05
    assert _bench.target_for("jax.jit", 1 << 20) == 1.05
    assert _bench.target_for("numpy", 1 << 20) is None


def test_machine_description():
    info = _bench.machine()
    assert info["cores"] and info["cpu"]
    assert "cores" in _bench.machine_text(info)


def test_quick_run_writes_results(tmp_path):
    pytest.importorskip("matplotlib")
    modes = ["numpy"]
    try:
        import torch  # noqa: F401

        modes.append("torch")
    except ImportError:
        pass
    lines = []
    core = ["focal_loss", "cross_entropy", "binary_cross_entropy", "huber_loss"]
    rows, info = _bench.run(
        sizes=(64,),
        modes=modes,
        repeats=1,
        min_time=0.0005,
        losses=core,
        out=tmp_path,
        log=lines.append,
    )
    assert {r.mode for r in rows} == set(modes)
    assert set(core) == {r.loss for r in rows}
    for r in rows:
        assert r.ours_s > 0 and r.native_s > 0 and r.ratio > 0 and r.cpu_ratio >= 0
    md = (tmp_path / "bench.md").read_text()
    assert "| ratio |" in md and info["cpu"] in md
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["machine"]["cores"] == info["cores"] and len(data["rows"]) == len(rows)
    assert (tmp_path / "bench.png").stat().st_size > 1000
    assert any("huber_loss" in line for line in lines)


def test_jax_jit_mode_quick():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    rows, _ = _bench.run(
        sizes=(64,),
        modes=("jax.jit",),
        repeats=1,
        min_time=0.0001,
        losses=["huber_loss"],
        log=lambda s: None,
    )
    assert [(r.mode, r.pass_) for r in rows] == [("jax.jit", "fwd"), ("jax.jit", "fwd+bwd")]


def test_cli_bench_quick(tmp_path, capsys):
    pytest.importorskip("torch")
    rc = cli_main(
        [
            "bench",
            "--quick",
            "--sizes",
            "64",
            "--modes",
            "torch",
            "--repeats",
            "1",
            "--losses",
            "huber_loss,cross_entropy",
            "--no-png",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "huber_loss" in out and "cross_entropy" in out
    assert (tmp_path / "bench.md").exists() and not (tmp_path / "bench.png").exists()


def test_compile_mode_quick(tmp_path):
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "compile"):
        pytest.skip("no torch.compile")
    rows, _ = _bench.run(
        sizes=(64,),
        modes=("torch.compile",),
        repeats=1,
        min_time=0.0001,
        losses=["huber_loss"],
        out=None,
        log=lambda s: None,
    )
    assert len(rows) == 2 and all(r.mode == "torch.compile" for r in rows)


def test_device_modes_run_through_the_same_code():
    """The CuPy mode is the NumPy mode on another array module with a device sync per
    sample (a stand-in module here: CuPy needs a GPU), and the torch modes take a device."""
    import types

    import numpy as np

    syncs = []
    stream = types.SimpleNamespace(synchronize=lambda: syncs.append(1))
    fake = types.SimpleNamespace(
        **{k: getattr(np, k) for k in dir(np) if not k.startswith("_")},
        cuda=types.SimpleNamespace(get_current_stream=lambda: stream),
    )
    pairs = [p for p in _bench.numpy_pairs(fake) if p.loss == "huber_loss"]
    rows = _bench.run_numpy(pairs, [64], 1, 0.0005, lambda s: None, np=fake, mode="cupy")
    assert [r.mode for r in rows] == ["cupy"] and rows[0].ratio > 0
    assert syncs  # every timing sample synchronised the device
    info = _bench.machine()
    info["torch_device"] = "cuda"
    assert "torch device cuda" in _bench.machine_text(info)


def test_torch_mode_on_an_explicit_device():
    pytest.importorskip("torch")
    rows, info = _bench.run(
        sizes=(64,),
        modes=("torch",),
        repeats=1,
        min_time=0.0005,
        losses=["huber_loss"],
        log=lambda s: None,
        device="cpu",
    )
    assert rows and info["torch_device"] == "cpu"


def test_summarize_runs(tmp_path):
    """benchmarks/summarize.py: min, median and max of each cell over whole runs."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "summarize.py"
    spec = importlib.util.spec_from_file_location("bench_summarize", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    runs = []
    for i, ratio in enumerate((1.0, 1.2, 1.1)):
        row = {"mode": "torch", "loss": "huber_loss", "size": 1 << 20, "pass_": "fwd"}
        p = tmp_path / f"run{i}.json"
        p.write_text(json.dumps({"rows": [dict(row, ratio=ratio)]}))
        runs.append(p)
    table = mod.summarize(runs)
    assert "| torch | huber_loss | 1M | fwd | 3 | 1.00 | 1.10 | 1.20 | <= 1.10 | yes |" in table
    pytest.importorskip("matplotlib")
    mod.summary_png(runs, tmp_path / "summary.png")
    assert (tmp_path / "summary.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "probe",
    [
        "amin_amax.py",
        "page_faults.py",
        "bce64_parts.py",
        "nll_interleaved.py",
        "ce64_minimal_wrapper.py",
    ],
)
def test_probes_run(probe):
    """The probes behind RESULTS.md's diagnostics run (tiny sizes; compile/MONAI ones skipped)."""
    pytest.importorskip("torch")
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "probes" / probe), "1024"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert " us" in out.stdout or "faults/call" in out.stdout
