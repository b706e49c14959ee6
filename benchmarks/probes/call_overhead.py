"""Per-call cost of cross_entropy at 64 elements and its parts (RESULTS.md "Floors")."""

from __future__ import annotations

import timeit

from _common import torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

import corelosses as cl  # noqa: E402
from corelosses import _core  # noqa: E402

x, t = torch.randn(2, 32), torch.randint(0, 32, (2,))
be = cl.backend_of(x, t)
kernel = torch._C._nn.cross_entropy_loss
N = 100_000
for name, f in [
    ("F.cross_entropy", lambda: F.cross_entropy(x, t)),
    ("ATen cross_entropy_loss", lambda: kernel(x, t, None, 1, -(2**63), 0.0)),
    ("cl.cross_entropy", lambda: cl.cross_entropy(x, t)),
    ("be.cross_entropy_native", lambda: be.cross_entropy_native(x, t, -1, "mean")),
    ("backend_of(x, t)", lambda: _core.backend_of(x, t)),
    ("check_reduction", lambda: _core.check_reduction("f", "mean")),
]:
    best = sorted(timeit.repeat(f, number=N, repeat=7))[1] / N
    print(f"{name:26s} {best * 1e6:7.2f} us")
