"""The pytest fixtures of :mod:`corelosses.testing`: ``xp`` over the installed backends.

Loaded by ``-p corelosses.testing`` (or ``pytest_plugins``), or by ``--corelosses``
through the package's ``pytest11`` entry point.
"""

from __future__ import annotations

import pytest

from ._backends import get, selected


def pytest_generate_tests(metafunc):
    # parametrized here, not with params=, so that --corelosses-backends is read first
    if "xp" in metafunc.fixturenames:
        names = selected()
        metafunc.parametrize("xp", names, indirect=True, ids=names)


@pytest.fixture
def xp(request):
    """A test backend: ``xp.asarray(numpy_array)``, ``xp.call(fn, ...)`` (``jax.jit`` under
    jax), ``xp.grad(fn, ..., argnums=)``, ``xp.to_numpy(a)``, ``xp.xp`` (the namespace),
    ``xp.name``, ``xp.autodiff``."""
    return get(request.param)
