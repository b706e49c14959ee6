"""The benchmark harness: the machine description and the interleaved timer."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


# ------------------------------------------------------------------ machine
def machine() -> dict[str, Any]:
    """CPU model, core count, OS and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        info["load_avg"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    for mod in ("numpy", "torch", "jax", "optax", "cupy", "array_api_compat", "corelosses"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a missing framework is just not listed
            pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001
        info.setdefault("gpu", None)
    if "jax" in info:
        import jax

        info["jax_device"] = str(jax.devices()[0].device_kind)
    return info


# ------------------------------------------------------------------- timing
def _minor_faults() -> int:
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _call_time(
    fn: Callable[[], Any], sync: Callable[[Any], Any], inner: int
) -> tuple[float, float, float]:
    """(wall, process CPU) seconds and minor page faults per call; CPU time is blind
    to other processes' load, page faults show the allocator's share (fresh pages for
    temporaries the C allocator returned to the OS)."""
    f0 = _minor_faults()
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = None
    for _ in range(inner):
        out = fn()
    sync(out)
    t1 = time.perf_counter()
    return (t1 - t0) / inner, (time.process_time() - c0) / inner, (_minor_faults() - f0) / inner


def interleaved(
    fns: Sequence[Callable[[], Any]], sync: Callable[[Any], Any], repeats: int, min_time: float
) -> list[dict[str, float]]:
    """Median (and spread) of each function's per-call time, timed in turns."""
    for fn in fns:  # warm-up (compilation, caches, allocator)
        for _ in range(2):
            sync(fn())
    est = [_call_time(fn, sync, 1)[0] for fn in fns]
    inner = max(1, int(min_time / max(min(est), 1e-9)))
    samples: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    faults: list[list[float]] = [[] for _ in fns]
    order = list(range(len(fns)))
    for r in range(repeats):
        for i in order if r % 2 == 0 else order[::-1]:
            w, c, f = _call_time(fns[i], sync, inner)
            samples[i].append(w)
            cpu[i].append(c)
            faults[i].append(f)
    out = []
    for s, cs, fs in zip(samples, cpu, faults):
        med = statistics.median(s)
        out.append(
            {
                "median": med,
                "min": min(s),
                "max": max(s),
                "cpu": statistics.median(cs),
                "faults": statistics.median(fs),
                "inner": inner,
                "n": len(s),
            }
        )
    return out


# ------------------------------------------------------------------- memory
def torch_peak_bytes(fn: Callable[[], Any], before: Callable[[], Any] | None = None) -> int | None:
    """Peak bytes allocated by torch's allocator during one call of ``fn``.

    From the profiler's allocation events (``profile_memory=True``): every
    allocation and free in time order, summed; the peak of that sum is what the
    call needed beyond what was alive before it. Freed tensors count only
    while they live, as the allocator sees them. ``before`` runs first, outside
    the measurement (it drops the previous call's gradient, which would
    otherwise count as memory the call freed). None where the profiler cannot
    say.
    """
    if before is not None:
        before()
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
        events = prof.profiler.kineto_results.events()  # type: ignore[union-attr]
        mem = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
    except Exception:  # noqa: BLE001 - another torch version: no figure
        return None
    cur = peak = 0
    for _, nbytes in mem:
        cur += nbytes
        peak = max(peak, cur)
    return peak


def jax_peak_bytes(jitted: Callable[..., Any], *args: Any) -> int | None:
    """Bytes XLA allocates for one call of ``jitted`` beyond its arguments.

    The compiled program's own memory analysis: its temporaries plus its
    outputs (``temp_size_in_bytes + output_size_in_bytes``). None where the
    backend does not report it.
    """
    try:
        ma = jitted.lower(*args).compile().memory_analysis()  # type: ignore[attr-defined]
        return int(ma.temp_size_in_bytes + ma.output_size_in_bytes)
    except Exception:  # noqa: BLE001
        return None
