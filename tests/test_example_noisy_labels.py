"""Smoke test of examples/noisy_labels.py (one seed, few steps)."""

from __future__ import annotations

import importlib.util
import os

import pytest


def _load():
    path = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "noisy_labels.py")
    spec = importlib.util.spec_from_file_location("noisy_labels", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_noisy_labels_fast_run_trains():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    mod = _load()
    table = mod.main(fast=True)
    assert set(table) == set(mod.NOISE) and {0.2, 0.4} <= set(table)
    for noise, row in table.items():
        assert set(row) == set(mod.LOSSES)
        assert "cross_entropy" in row and sum(k.startswith("bitempered") for k in row) >= 2
        for name, e in row.items():
            assert len(e["runs"]) >= 1 and 0.0 <= e["mean"] <= 1.0
            # chance is 10%; even at 40% noise the MLP learns
            assert e["mean"] > (0.85 if noise == 0 else 0.4), (noise, name, e)
