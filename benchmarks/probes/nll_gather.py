"""The read behind eager ``nll_loss``'s exactness check against ``F.nll_loss``'s whole
kernel (RESULTS.md "A second host"): ``torch.gather`` of the target log-probabilities,
``index_select`` with flat indices, the index arithmetic, and ATen's nll kernel
unreduced (``-x_t`` per row: the other way to read them), on the harness's (N / 32, 32)
data; 1500 interleaved calls each, median.
"""

from __future__ import annotations

from _common import _data, interleaved_medians, size, torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

x, t = (torch.from_numpy(v) for v in _data("nll", size()))
n, c = x.shape
idx = t + torch.arange(0, n * c, c)
flat = x.view(-1)
fns = {
    "F.nll_loss": lambda: F.nll_loss(x, t),
    "gather": lambda: torch.gather(x, 1, t.unsqueeze(1)),
    "index_select": lambda: flat.index_select(0, idx),
    "flat indices": lambda: t + torch.arange(0, n * c, c),
    "nll unreduced": lambda: torch._C._nn.nll_loss_nd(x, t, None, 0, -100),
}
med = interleaved_medians(fns, 1500)
for k, v in med.items():
    print(f"{k:14s} {v * 1e6:7.1f} us")
