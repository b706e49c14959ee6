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


def _cells(paths, what="ratio"):
    """``(mode, loss, size, pass) -> [value per run]``; the masked pairs, which have
    several hand-written idioms as their native side, are keyed by the idiom too
    (``loss`` then reads ``name vs idiom``). ``what``: ``"ratio"`` or ``"mem"``."""
    cells: dict[tuple, list[float]] = {}
    for p in paths:
        for r in json.loads(Path(p).read_text())["rows"]:
            loss = r["loss"]
            if r.get("extra", {}).get("masked"):
                loss = f"{loss} vs {r['peer'].split(':')[0]}"
            key = (r["mode"], loss, r["size"], r["pass_"])
            if what == "mem":
                if r.get("ours_peak") is None or not r.get("native_peak"):
                    continue
                cells.setdefault(key, []).append(r["ours_peak"] / r["native_peak"])
            else:
                cells.setdefault(key, []).append(r["ratio"])
    return cells


def _target(mode, loss, size):
    name = loss.split(" vs ")[0]
    return target_for(mode, size, name, " vs " in loss)


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
        t = _target(mode, loss, size)
        rows.append(Row(loss, "", mode, size, pass_, 0.0, 0.0, med, med, 0.0, t))
        spans[(mode, loss, size, pass_)] = (min(v), max(v))
    title = (
        f"corelosses vs native over {len(paths)} full runs: median ratio (bars), "
        "min-max (whiskers); green: median meets the target"
    )
    plot(rows, Path(out), info, spans=spans, title=title)


def summarize(paths: list[str | Path]) -> str:
    cells = _cells(paths)
    mem = _cells(paths, "mem")
    lines = [
        "| mode | loss | size | pass | runs | min | median | max | target | median meets "
        "| memory ratio (median) |",
        "|---|---|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for key, v in cells.items():
        mode, loss, size, pass_ = key
        t = _target(mode, loss, size)
        med = statistics.median(v)
        ok = "-" if t is None else ("yes" if med <= t else "**no**")
        m = f"{statistics.median(mem[key]):.2f}" if key in mem else "-"
        lines.append(
            f"| {mode} | {loss} | {fmt_size(size)} | {pass_} | {len(v)} | {min(v):.2f} | "
            f"{med:.2f} | {max(v):.2f} | {'-' if t is None else f'<= {t:.2f}'} | {ok} | {m} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--png"]:
        summary_png(args[2:], args[1])
    else:
        print(summarize(args))
