"""Speed against native kernels: the harness behind ``corelosses bench``.

Every loss with a native peer is timed against that peer in the same process,
interleaved (corelosses, peer, peer, corelosses, ...), and the median of the
repeats is kept. Ratios are ``corelosses time / native time`` (lower is
better, 1.0 is parity). Modes: eager torch, ``torch.compile``, ``jax.jit``
and NumPy (where the "native" peer is the same formula written directly in
NumPy, so the ratio is the cost of the array-API layer). For the elementwise
losses the achieved bandwidth (minimum bytes a fused kernel must move / time)
is compared to a measured copy of the same size.

Run ``python -m benchmarks`` (writes ``benchmarks/results/``), ``nox -s bench``
or ``corelosses bench --out DIR``. ``--quick`` runs tiny sizes once (tests).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .bench_pairs import (  # noqa: F401 (re-exported)
    NUM_CLASSES,
    Pair,
    _data,
    _extra_data,
    _optional_torch_pairs,
    jax_pairs,
    jax_pairs_all,
    numpy_pairs,
    torch_pairs,
)
from .bench_report import (  # noqa: F401 (re-exported)
    MODES,
    Row,
    _line,
    bandwidth_table,
    fmt_size,
    machine_text,
    plot,
    table,
    target_for,
)
from .bench_timing import (  # noqa: F401 (re-exported)
    _call_time,
    _minor_faults,
    interleaved,
    jax_peak_bytes,
    machine,
    torch_peak_bytes,
)

__all__ = ["main", "run", "machine", "parse_size"]

DEFAULT_SIZES = (64, 1 << 20, 1 << 24)
QUICK_SIZES = (64, 4096)


def parse_size(s: str) -> int:
    """``"64"``, ``"1M"`` (2**20), ``"16M"``, ``"4k"`` (4096) -> int."""
    s = s.strip()
    mult = {"k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30}
    if s and s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s)


# -------------------------------------------------------- per-mode runners
def _min_bytes(pair: Pair, n: int, grad: bool) -> int | None:
    # a fused kernel reads input and target once (float32) and, with the
    # backward, writes the input's gradient once; the scalar is free.
    if not pair.elementwise:
        return None
    return 4 * n * (3 if grad else 2)


def _rows_for(mode, pair, n, grad, res, copy_s, peaks=(None, None)) -> Row:
    a, b = res
    spread = max((r["max"] - r["min"]) / r["median"] for r in res)
    return Row(
        pair.loss,
        pair.peer,
        mode,
        n,
        "fwd+bwd" if grad else "fwd",
        a["median"],
        b["median"],
        a["median"] / b["median"],
        a["cpu"] / max(b["cpu"], 1e-12),
        spread,
        target_for(mode, n, pair.loss, pair.masked),
        _min_bytes(pair, n, grad),
        copy_s,
        {
            "inner": a["inner"],
            "repeats": a["n"],
            "page_faults_per_call": [round(a["faults"], 1), round(b["faults"], 1)],
            "masked": pair.masked,
        },
        *peaks,
    )


def _copy_times(sizes, make, sync, repeats, min_time) -> dict[int, float]:
    """Median time of a copy of ``n`` float32 for each size (the bandwidth baseline).

    The arrays are freed before the losses are timed: a large array left alive
    changes the C allocator's state (heap trimming), and with it how many page
    faults the later 1M-element calls take (0 vs 400-700 per call measured with
    ``getrusage`` for ``dice_loss``), which moved their ratios by 20-30%.
    """
    out = {}
    for n in sizes:
        fn = make(n)
        out[n] = interleaved([fn], sync, repeats, min_time)[0]["median"]
        del fn
    return out


def run_torch(
    pairs, sizes, repeats, min_time, compiled, log, device="cpu", memory=True
) -> list[Row]:
    import torch

    dev = torch.device(device)
    sync = _nosync
    if dev.type == "cuda":

        def sync(out):
            torch.cuda.synchronize(dev)

    if compiled:
        import torch._dynamo as dynamo

        for name in ("cache_size_limit", "recompile_limit"):
            if hasattr(dynamo.config, name):
                setattr(dynamo.config, name, 256)
    mode = "torch.compile" if compiled else "torch"
    rows = []

    def copy(n):
        src = torch.empty(n, dtype=torch.float32, device=dev).normal_()
        dst = torch.empty_like(src)
        return lambda: dst.copy_(src)

    copies = _copy_times(sizes, copy, sync, repeats, min_time)
    if compiled and max(sizes) >= 1024:
        # the 64-element target is eager's call overhead; compiled, both sides
        # pay the same guard checks, and each size is another compilation
        sizes = [n for n in sizes if n >= 1024]
    for pair in pairs:
        for n in sizes:
            data = _extra_data(pair.kind, n)
            for grad in (False, True) if pair.grad else (False,):
                x = torch.from_numpy(data[0]).to(dev).requires_grad_(grad)
                rest = [torch.from_numpy(a).to(dev) for a in data[1:]]
                fns = []
                for f in (pair.ours, pair.native):
                    if compiled:
                        torch._dynamo.reset()
                        f = torch.compile(f, dynamic=False)
                    fns.append(_torch_step(f, x, rest, grad))
                try:
                    res = interleaved(fns, sync, repeats, min_time)
                except Exception as e:  # noqa: BLE001 - report, keep going
                    log(f"  {pair.loss} {mode} n={n}: failed: {type(e).__name__}: {e}")
                    continue
                peaks: tuple[int | None, ...] = (None, None)
                if memory and dev.type == "cpu":
                    drop = (lambda x=x: setattr(x, "grad", None)) if grad else None
                    peaks = tuple(torch_peak_bytes(f, drop) for f in fns)
                row = _rows_for(mode, pair, n, grad, res, copies.get(n), peaks)
                rows.append(row)
                log(_line(row))
    return rows


def _torch_step(f, x, rest, grad):
    if not grad:

        def fwd():
            return f(x, *rest)

        return fwd

    def step():
        x.grad = None
        loss = f(x, *rest)
        loss.backward()
        return loss

    return step


def _nosync(out):
    return out


def run_jax(pairs, sizes, repeats, min_time, log, memory=True) -> list[Row]:
    import jax
    import jax.numpy as jnp

    rows = []

    def copy(n):
        # one read, one write; the input buffer donated and reused, as torch's
        # copy_ writes a preallocated one (a fresh 64 MB output per call costs
        # 16,385 page faults and ran at 5 GB/s instead of ~50)
        cp = jax.jit(lambda a: a + 1.0, donate_argnums=0)
        state = [jnp.asarray(_data("regression", n)[0])]

        def step():
            state[0] = cp(state[0])
            return state[0]

        return step

    copies = _copy_times(sizes, copy, jax.block_until_ready, repeats, min_time)
    for pair in pairs:
        for n in sizes:
            args = [jnp.asarray(a) for a in _extra_data(pair.kind, n)]
            for grad in (False, True):
                fns, jitted = [], []
                for f in (pair.ours, pair.native):
                    jf = jax.jit(jax.value_and_grad(f) if grad else f)
                    jitted.append(jf)
                    fns.append(lambda jf=jf, args=args: jf(*args))
                try:
                    res = interleaved(fns, jax.block_until_ready, repeats, min_time)
                except Exception as e:  # noqa: BLE001
                    log(f"  {pair.loss} jax.jit n={n}: failed: {type(e).__name__}: {e}")
                    continue
                peaks: tuple[int | None, ...] = (None, None)
                if memory:
                    peaks = tuple(jax_peak_bytes(jf, *args) for jf in jitted)
                row = _rows_for("jax.jit", pair, n, grad, res, copies[n], peaks)
                rows.append(row)
                log(_line(row))
    return rows


def run_numpy(pairs, sizes, repeats, min_time, log, np=None, mode="numpy") -> list[Row]:
    """NumPy mode, or CuPy mode with ``np=cupy`` (the device synchronised per sample)."""
    if np is None:
        import numpy as np
    sync = _nosync
    if mode == "cupy":

        def sync(out):
            np.cuda.get_current_stream().synchronize()

    def put(a):
        return np.asarray(a)

    rows = []

    def copy(n):
        src = put(_data("regression", n)[0])
        dst = np.empty_like(src)
        return lambda: np.copyto(dst, src)

    copies = _copy_times(sizes, copy, sync, repeats, min_time)
    for pair in pairs:
        for n in sizes:
            x, y = (put(a) for a in _data(pair.kind, n))
            fns = [lambda f=f, x=x, y=y: f(x, y) for f in (pair.ours, pair.native)]
            res = interleaved(fns, sync, repeats, min_time)
            row = _rows_for(mode, pair, n, False, res, copies[n])
            rows.append(row)
            log(_line(row))
    return rows


# --------------------------------------------------------------------- main
def run(
    *,
    sizes=DEFAULT_SIZES,
    modes=MODES,
    repeats: int = 7,
    min_time: float = 0.05,
    losses: list[str] | None = None,
    out: str | Path | None = None,
    png: bool = True,
    log: Callable[[str], None] = print,
    device: str = "cpu",
    memory: bool = True,
) -> tuple[list[Row], dict[str, Any]]:
    """Run the benchmark; write ``bench.json``, ``bench.md`` and ``bench.png`` to ``out``.

    ``device`` is torch's device (``"cuda"`` on a GPU); jax uses its default
    device and the ``cupy`` mode the current CUDA device. ``memory`` adds each
    side's peak allocation per call (torch on CPU: the profiler's allocation
    events; jax: XLA's memory analysis of the compiled program).
    """
    info = machine()
    info["torch_device"] = device
    log("corelosses bench on " + machine_text(info))
    rows: list[Row] = []

    def keep(pairs):
        return [p for p in pairs if losses is None or p.loss in losses]

    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"bench: 'modes' must be among {MODES}, got {mode!r}")
        log(f"[{mode}]")
        try:
            if mode in ("torch", "torch.compile"):
                rows += run_torch(
                    keep(torch_pairs()),
                    sizes,
                    repeats,
                    min_time,
                    mode == "torch.compile",
                    log,
                    device,
                    memory,
                )
            elif mode == "jax.jit":
                rows += run_jax(keep(jax_pairs_all()), sizes, repeats, min_time, log, memory)
            elif mode == "cupy":
                import cupy

                pairs = keep(numpy_pairs(cupy))
                rows += run_numpy(pairs, sizes, repeats, min_time, log, cupy, "cupy")
            else:
                rows += run_numpy(keep(numpy_pairs()), sizes, repeats, min_time, log)
        except ImportError as e:
            log(f"  skipped: {e}")
    md = (
        f"# corelosses bench\n\nMachine: {machine_text(info)}\n\n"
        f"Sizes {', '.join(fmt_size(s) for s in sizes)} elements, float32, {repeats} "
        f"interleaved repeats, medians; ratio = corelosses / native.\n\n"
        f"{table(rows)}\n\n## Bandwidth (elementwise losses, >= 1M)\n\n"
        f"{bandwidth_table(rows)}\n"
    )
    log("\n" + table(rows) + "\n\n" + bandwidth_table(rows))
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        data = {
            "machine": info,
            "sizes": list(sizes),
            "repeats": repeats,
            "rows": [dict(asdict(r), ok=r.ok) for r in rows],
        }
        (out / "bench.json").write_text(json.dumps(data, indent=1))
        (out / "bench.md").write_text(md)
        if png and rows:
            plot(rows, out / "bench.png", info)
        log(f"\nwrote {out / 'bench.md'}, bench.json" + (", bench.png" if png else ""))
    return rows, info


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``corelosses bench`` and ``python -m benchmarks``, each with its default."""
    sizes = ",".join(fmt_size(s) for s in DEFAULT_SIZES)
    quick = ",".join(fmt_size(s) for s in QUICK_SIZES)
    p.add_argument(
        "--sizes",
        metavar="N1,N2",
        help=f"comma-separated element counts, e.g. 64,1M,16M (default: {sizes}; {quick} with "
        "--quick)",
    )
    p.add_argument(
        "--modes",
        metavar="M1,M2",
        help=f"comma-separated, among {','.join(MODES)} (default: all of them; a mode whose "
        "framework is not installed is skipped)",
    )
    p.add_argument(
        "--losses",
        metavar="L1,L2",
        help="comma-separated loss names (default: every loss with a native peer)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        help="interleaved repeats, the median kept (default: 7; 2 with --quick)",
    )
    p.add_argument(
        "--min-time",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds per timing sample (default: 0.05; 0.002 with --quick)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, 2 repeats, short samples, for tests (default: off)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output folder for bench.md/.json/.png (default: benchmarks/results in a source "
        "checkout, else ./corelosses-bench)",
    )
    p.add_argument("--no-png", action="store_true", help="do not draw bench.png (default: draw it)")
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="do not measure each side's peak memory per call (default: measure it; torch on "
        "CPU and jax)",
    )
    p.add_argument(
        "--device",
        default="cpu",
        help="torch device for the torch modes, e.g. cuda (default: cpu)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's own choice)",
    )


def from_args(args: argparse.Namespace, default_out: str | Path | None) -> int:
    sizes = (
        tuple(parse_size(s) for s in args.sizes.split(","))
        if args.sizes
        else (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    )
    modes = tuple(args.modes.split(",")) if args.modes else MODES
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    repeats = args.repeats or (2 if args.quick else 7)
    min_time = args.min_time if args.min_time is not None else (0.002 if args.quick else 0.05)
    run(
        sizes=sizes,
        modes=modes,
        repeats=repeats,
        min_time=min_time,
        losses=args.losses.split(",") if args.losses else None,
        out=args.out or default_out,
        png=not args.no_png,
        device=args.device,
        memory=not args.no_memory,
    )
    return 0


def main(argv=None, default_out: str | Path | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.replace("``", "'"),  # plain text, not reStructuredText
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    return from_args(p.parse_args(argv), default_out)


if __name__ == "__main__":
    sys.exit(main())
