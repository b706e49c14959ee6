"""torch.amin vs amax vs aminmax on an int64 CPU tensor (RESULTS.md item 7)."""

from __future__ import annotations

import timeit

from _common import size, torch1

torch = torch1()
t = torch.randint(0, 4, (size(1 << 18),))
for name, f in [
    ("amin", lambda: torch.amin(t)),
    ("amax", lambda: torch.amax(t)),
    ("aminmax", lambda: torch.aminmax(t)),
    ("any(t < 0 | t >= 4)", lambda: bool(torch.logical_or(t < 0, t >= 4).any())),
]:
    best = min(timeit.repeat(f, number=100, repeat=5)) / 100
    print(f"{name:22s} {best * 1e6:8.1f} us")
