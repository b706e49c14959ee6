"""Plain calls at 64 elements against the native call: the issue-15 overhead targets.

RESULTS.md "Call overhead at 64 elements": median of 9 rounds, each the best of 3 x
3000 calls (``timeit``), corelosses and the native side alternating by round.
"""

from __future__ import annotations

import statistics
import timeit

from _common import torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

import corelosses as cl  # noqa: E402

x, y = torch.randn(64), torch.randn(64)
b = (torch.rand(64) > 0.5).float()
xc, t = torch.randn(2, 32), torch.randint(0, 32, (2,))


def tv_focal(x, y):  # torchvision.ops.sigmoid_focal_loss's formula, reduction="mean"
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    return ((0.25 * y + 0.75 * (1 - y)) * ce * (1 - p_t) ** 2).mean()


PAIRS = {
    "huber_loss": (lambda: cl.huber_loss(x, y), lambda: F.huber_loss(x, y)),
    "binary_cross_entropy": (
        lambda: cl.binary_cross_entropy(x, b),
        lambda: F.binary_cross_entropy_with_logits(x, b),
    ),
    "cross_entropy": (lambda: cl.cross_entropy(xc, t), lambda: F.cross_entropy(xc, t)),
    "focal_loss": (lambda: cl.focal_loss(x, b), lambda: tv_focal(x, b)),
}
for name, (ours, native) in PAIRS.items():
    ro, rn = [], []
    for _ in range(9):
        ro.append(min(timeit.repeat(ours, number=3000, repeat=3)) / 3000)
        rn.append(min(timeit.repeat(native, number=3000, repeat=3)) / 3000)
    mo, mn = statistics.median(ro), statistics.median(rn)
    print(f"{name:22s} ours {mo * 1e6:6.2f} us  native {mn * 1e6:6.2f} us  ratio {mo / mn:4.2f}")
