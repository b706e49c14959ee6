"""Eager ``nll_loss`` against ``F.nll_loss`` at N elements of log-probabilities (the
harness's (N / 32, 32) data), 3000 interleaved calls each, median (RESULTS.md "Catalog II,
1M, traced triplet and the CTC backward").
"""

from __future__ import annotations

from _common import _data, interleaved_medians, size, torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

import corelosses as cl  # noqa: E402

x, t = (torch.from_numpy(v) for v in _data("nll", size()))
fns = {"corelosses": lambda: cl.nll_loss(x, t), "F.nll_loss": lambda: F.nll_loss(x, t)}
for fn in fns.values():
    fn()
med = interleaved_medians(fns, 3000)
for k, v in med.items():
    print(f"{k:12s} {v * 1e6:8.1f} us")
print(f"ratio {med['corelosses'] / med['F.nll_loss']:.3f}")
