"""Test fixtures: ``xp`` runs a test once per selected backend (see _backends.py)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import _backends  # noqa: E402

BACKENDS = _backends.selected()

# the demo plugin's own suite runs in its own session (tests/test_plugins.py), as a
# third party's would: here its losses are not registered
collect_ignore = ["plugin_pkg"]


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
