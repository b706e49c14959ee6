"""Shared by the probes: one-thread torch, the harness's data and interleaved timer."""

from __future__ import annotations

import sys

from corelosses._tools.bench import _data, _extra_data, interleaved  # noqa: F401


def size(default: int = 1 << 20) -> int:
    return int(sys.argv[1]) if len(sys.argv) > 1 else default


def torch1():
    import torch

    torch.set_num_threads(1)
    return torch


def report(names, res, base=0):
    for n, r in zip(names, res):
        ratio = r["median"] / res[base]["median"]
        print(f"{n:24s} {r['median'] * 1e6:12.1f} us  ratio {ratio:.3f}")


def interleaved_medians(fns, rounds):
    """Median seconds per call of each of ``fns`` (name -> no-argument callable), the calls
    interleaved over ``rounds`` rounds so that every side sees the same machine state."""
    import statistics
    import time

    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}
