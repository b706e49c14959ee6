"""The GAN example runs (fast mode: a few steps) and reports every objective."""

from __future__ import annotations

import importlib.util
import os

import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "gan_2d.py")


def _load():
    spec = importlib.util.spec_from_file_location("gan_2d_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gan_example_fast(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    mod = _load()
    counts = mod.main(fast=True, out_dir=str(tmp_path))
    assert (
        set(counts)
        == set(mod.OBJECTIVES)
        == {"non_saturating", "least_squares", "hinge", "wasserstein"}
    )
    for name, n in counts.items():
        assert isinstance(n, int) and 0 <= n <= mod.MODES, (name, n)
    assert (tmp_path / "gan_2d.png").stat().st_size > 0
    out = capsys.readouterr().out
    for name in mod.OBJECTIVES:
        assert name in out


def test_mode_counter():
    pytest.importorskip("torch")
    import numpy as np

    mod = _load()
    c = mod.centres()
    rng = np.random.default_rng(0)
    # every mode covered
    s = np.repeat(c, 50, axis=0) + rng.normal(size=(400, 2)) * mod.STD * 0.5
    assert mod.count_modes(s)[0] == 8
    # only three modes covered; the rest of the samples at the origin
    s = np.concatenate([np.repeat(c[:3], 50, axis=0), np.zeros((250, 2))])
    modes, share = mod.count_modes(s)
    assert modes == 3 and abs(share - 150 / 400) < 1e-12
