"""The boundary-loss example runs (fast mode: a few steps) and trains."""

from __future__ import annotations

import importlib.util
import math
import os

import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "boundary_segmentation.py")


def _load():
    spec = importlib.util.spec_from_file_location("boundary_segmentation_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_boundary_example_fast(capsys):
    pytest.importorskip("torch")
    pytest.importorskip("scipy")
    mod = _load()
    res = mod.main(fast=True)
    assert set(res) == {"dice", "dice+boundary"}
    for r in res.values():
        assert math.isfinite(r["final_loss"])
        assert r["final_loss"] < r["first_loss"]  # it trains
        assert 0.0 <= r["dice"] <= 1.0
        assert r["hd95"] >= 0 and r["mean_boundary_distance"] >= 0
    out = capsys.readouterr().out
    assert "HD95" in out and "dice+boundary" in out


def test_surface_distances_reference():
    import numpy as np

    mod = _load()
    a = np.zeros((9, 9), bool)
    a[2:5, 2:5] = True
    assert mod.surface_distances(a, a) == (0.0, 0.0)
    b = np.roll(a, 2, axis=1)
    hd, mean = mod.surface_distances(b, a)
    assert hd == pytest.approx(2.0) and 0 < mean <= 2.0
