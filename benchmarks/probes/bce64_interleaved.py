"""The 64-element ``binary_cross_entropy`` call interleaved with its parts (RESULTS.md
"A second host"): ``F.binary_cross_entropy_with_logits``, our call, and the floor
without our Python (ATen's op, then ``aminmax`` and two reads); 4000 rounds, median.
"""

from __future__ import annotations

from _common import interleaved_medians, torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

import corelosses as cl  # noqa: E402

x, b = torch.randn(64), (torch.rand(64) > 0.5).float()
K = torch.binary_cross_entropy_with_logits


def floor():
    out = K(x, b, None, None, 1)
    lo, hi = torch.aminmax(b)
    if float(lo) < 0 or float(hi) > 1:
        raise ValueError
    return out


fns = {
    "F.bce_with_logits": lambda: F.binary_cross_entropy_with_logits(x, b),
    "corelosses": lambda: cl.binary_cross_entropy(x, b),
    "op + check": floor,
}
med = interleaved_medians(fns, 4000)
base = med["F.bce_with_logits"]
for k, m in med.items():
    print(f"{k:18s} {m * 1e6:7.2f} us  ratio {m / base:.3f}")
