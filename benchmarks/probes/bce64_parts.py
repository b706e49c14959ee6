"""The 64-element ``binary_cross_entropy`` call and its parts (RESULTS.md "Call overhead at
64 elements" and "Floors"): the native op, our call, the target check and its cheapest form.

``timeit``, best of 7 x 3000 calls, one thread.
"""

from __future__ import annotations

import timeit

from _common import torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

import corelosses as cl  # noqa: E402
from corelosses import _core as c  # noqa: E402

x = torch.randn(64)
b = (torch.rand(64) > 0.5).float()
be = c.backend_of(x, b)


def cheapest_check():  # one aminmax, two reads
    r = torch.aminmax(b)
    return r[0].item() < 0 or r[1].item() > 1


parts = {
    "F.bce_with_logits": lambda: F.binary_cross_entropy_with_logits(x, b),
    "corelosses": lambda: cl.binary_cross_entropy(x, b),
    "ATen op (native hook)": lambda: be.bce_with_logits_native(x, b, "mean"),
    "target check": lambda: c.check_unit_interval(be, b, "f", "target"),
    "cheapest check": cheapest_check,
    "backend_of": lambda: c.backend_of(x, b),
}
for name, fn in parts.items():
    t = min(timeit.repeat(fn, number=3000, repeat=7)) / 3000
    print(f"{name:24s} {t * 1e6:8.2f} us")
