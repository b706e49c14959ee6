"""What the compiled triplet loss's guard costs per call (RESULTS.md "Traced triplet: the
branch not differentiated"): the forward of a tiny (rows, 256) triplet, compiled (inductor,
static shapes), ours against ``F.triplet_margin_loss`` and against ours with the guard
replaced by the fast value alone. That variant is not the loss (it is wrong at the extremes
the guard hands to the definition) and is timed only, to split our fixed cost into the
cond's share and the rest (guards, checks, extra kernels). Median of interleaved calls.

Usage: ``python triplet_cond_cost.py [rows]`` (default 16).
"""

from __future__ import annotations

import sys

from _common import interleaved_medians, torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

import corelosses as cl  # noqa: E402
from corelosses.adapters.torch import TorchBackend  # noqa: E402

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 16
a, pn = torch.randn(rows, 256), torch.randn(2, rows, 256)
real = TorchBackend.guarded


def unguarded(self, fast, slow, operands, parts=None):
    return fast(*operands)[0]  # the fast value alone: timing only


def ours(a, pn):
    return cl.triplet_margin_loss(a, pn[0], pn[1])


sides = {"native": torch.compile(lambda a, pn: F.triplet_margin_loss(a, pn[0], pn[1]))}
sides["ours"] = torch.compile(ours)
TorchBackend.guarded = unguarded
try:
    sides["ours, no cond"] = torch.compile(lambda a, pn: cl.triplet_margin_loss(a, pn[0], pn[1]))
    with torch.no_grad():
        sides["ours, no cond"](a, pn)  # compiled now, with the patch in place
finally:
    TorchBackend.guarded = real

with torch.no_grad():
    for f in sides.values():
        for _ in range(20):
            f(a, pn)
    calls = {k: (lambda f=f: f(a, pn)) for k, f in sides.items()}
    med = interleaved_medians(calls, 3000)
for k, t in med.items():
    print(f"{k:14s} {t * 1e6:8.1f} us  ratio {t / med['native']:.2f}")
