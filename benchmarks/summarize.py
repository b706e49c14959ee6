"""Ratios of several full benchmark runs side by side: min, median and max per cell.

    python -m benchmarks.summarize RUN1.json RUN2.json ... > table.md

One run's ratio on this shared 2-core VM moves by 5-20% at 1M elements (page
faults, neighbours); the spread across whole runs shows which misses are noise
and which are real (a real miss misses in every run).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from corelosses._bench import fmt_size, target_for


def summarize(paths: list[str | Path]) -> str:
    cells: dict[tuple, list[float]] = {}
    for p in paths:
        for r in json.loads(Path(p).read_text())["rows"]:
            key = (r["mode"], r["loss"], r["size"], r["pass_"])
            cells.setdefault(key, []).append(r["ratio"])
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
    print(summarize(sys.argv[1:]))
