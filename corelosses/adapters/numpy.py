"""NumPy backend: no autodiff; SciPy's ``expit``/``logsumexp`` would add an
import for no gain, so the generic primitives are used as they are."""

from __future__ import annotations

from ._generic import NoAutodiffBackend


class NumpyBackend(NoAutodiffBackend):
    name = "numpy"


def make(xp):
    return NumpyBackend(xp)
