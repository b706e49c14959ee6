"""Ratios of several full benchmark runs side by side: min, median and max per cell.

    python -m benchmarks.summarize RUN1.json RUN2.json ... > table.md
    python -m benchmarks.summarize --png summary.png RUN1.json RUN2.json ...

One run's ratio on this shared 2-core VM moves by 5-20% at 1M elements (page
faults, neighbours); the spread across whole runs shows which misses are noise
and which are real (a real miss misses in every run).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from corelosses._tools.bench import Row, fmt_size, plot, target_for


def _cells(paths):
    cells: dict[tuple, list[float]] = {}
    for p in paths:
        for r in json.loads(Path(p).read_text())["rows"]:
            key = (r["mode"], r["loss"], r["size"], r["pass_"])
            cells.setdefault(key, []).append(r["ratio"])
    return cells


def summary_png(paths: list[str | Path], out: str | Path) -> None:
    """Median ratio per cell as bars, the min-max range over the runs as whiskers."""
    cells = _cells(paths)
    info = json.loads(Path(paths[-1]).read_text()).get("machine", {})
    info.setdefault("cpu", "?")
    info.setdefault("cores", "?")
    info.setdefault("platform", "?")
    rows, spans = [], {}
    for (mode, loss, size, pass_), v in cells.items():
        med = statistics.median(v)
        t = target_for(mode, size)
        rows.append(Row(loss, "", mode, size, pass_, 0.0, 0.0, med, med, 0.0, t))
        spans[(mode, loss, size, pass_)] = (min(v), max(v))
    title = (
        f"corelosses vs native over {len(paths)} full runs: median ratio (bars), "
        "min-max (whiskers); green: median meets the target"
    )
    plot(rows, Path(out), info, spans=spans, title=title)


def summarize(paths: list[str | Path]) -> str:
    cells = _cells(paths)
    lines = [
        "| mode | loss | size | pass | runs | min | median | max | target | median meets |",
        "|---|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for (mode, loss, size, pass_), v in cells.items():
        t = target_for(mode, size)
        med = statistics.median(v)
        ok = "-" if t is None else ("yes" if med <= t else "**no**")
        lines.append(
            f"| {mode} | {loss} | {fmt_size(size)} | {pass_} | {len(v)} | {min(v):.2f} | "
            f"{med:.2f} | {max(v):.2f} | {'-' if t is None else f'<= {t:.2f}'} | {ok} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--png"]:
        summary_png(args[2:], args[1])
    else:
        print(summarize(args))
