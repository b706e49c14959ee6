"""Test a loss on every backend with public names only: the kit our own suite runs on.

- :func:`assert_backends_agree`: value against float64 NumPy, gradients against
  finite differences and across frameworks, reductions, masks (NaN-safe, all
  masked gives 0), half precision, ``torch.compile(fullgraph=True)``, ``torch.func``
  (``grad``, ``jvp``, ``vmap``); under
  ``jax.jit`` throughout. A failure names the function, backend, check, input,
  expected and received values.
- :func:`assert_catalog_consistent`: all of that for every loss a package registers.
- :func:`installed_backends`, :func:`backend`, :class:`ArrayBackend`: the backends
  (numpy, array_api_strict, torch, jax under ``jit``, dask; cupy on a GPU), each
  with ``asarray`` (from NumPy), ``call``, ``grad`` and ``to_numpy``.
- A pytest plugin, off unless enabled: ``pytest -p corelosses.testing`` (or
  ``pytest_plugins = ["corelosses.testing"]`` in a ``conftest.py``, or
  ``--corelosses`` once the package is installed: its ``pytest11`` entry point
  only adds the option) gives an ``xp`` fixture over the installed backends,
  chosen with ``--corelosses-backends=numpy,torch`` or ``CORELOSSES_TEST_BACKENDS``.

>>> import numpy as np, corelosses as cl
>>> from corelosses.testing import assert_backends_agree
>>> assert_backends_agree(cl.huber_loss, (np.linspace(-2, 2, 8), np.zeros(8)), backends=["numpy"])
"""

from __future__ import annotations

from ._assert import (
    TOLERANCES,
    KitError,
    assert_backends_agree,
    assert_catalog_consistent,
    catalog_options,
    check_compile,
    check_gradient,
    check_gradients_agree,
    check_half,
    check_masks,
    check_reductions,
    check_torch_func,
    check_value,
)
from ._backends import ALL as BACKENDS
from ._backends import TB as ArrayBackend
from ._backends import get as backend
from ._backends import selected as installed_backends
from ._entry import pytest_addoption, pytest_configure  # noqa: F401  (-p corelosses.testing)

try:  # the fixtures, for -p corelosses.testing; the assertions need no pytest
    from .plugin import pytest_generate_tests, xp  # noqa: F401
except ImportError:  # pragma: no cover - pytest not installed
    pass

__all__ = [
    "assert_backends_agree",
    "assert_catalog_consistent",
    "catalog_options",
    "check_value",
    "check_gradient",
    "check_gradients_agree",
    "check_reductions",
    "check_masks",
    "check_half",
    "check_compile",
    "check_torch_func",
    "KitError",
    "TOLERANCES",
    "BACKENDS",
    "ArrayBackend",
    "backend",
    "installed_backends",
]
