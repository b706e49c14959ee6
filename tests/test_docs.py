"""Every docstring example in the package runs and prints what it claims."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import corelosses

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(corelosses.__path__, "corelosses.")
    if ".adapters." not in m.name
    and not m.name.endswith("__main__")
    # the framework front-ends re-export generated wrappers whose docstrings are the
    # functions' own (already tested here); corelosses.keras needs KERAS_BACKEND
    and m.name not in ("corelosses.torch", "corelosses.jax", "corelosses.keras")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0, f"{res.failed} doctest failures in {name}"
