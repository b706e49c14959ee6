"""corelosses benchmarks: ``python -m benchmarks`` (or ``nox -s bench``).

The harness lives in :mod:`corelosses._tools.bench` (also behind ``corelosses
bench``); this package is the runner whose results go to
``benchmarks/results/`` and are discussed in ``benchmarks/RESULTS.md``.
"""

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
