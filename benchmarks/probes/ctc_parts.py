"""What ``ctc_loss``'s gradient adds to ATen's on torch (RESULTS.md "CTC under
``torch.compile``"): ATen's forward and backward kernels, the ``exp(x)`` correction on
the steps read (ATen's gradient is ``exp(x) - posterior``, the function's ``-posterior``)
and the range check, on the harness's data; medians of interleaved calls.

``python benchmarks/probes/ctc_parts.py [N] [rounds]``
"""

from __future__ import annotations

import sys

from _common import _data, interleaved_medians, size, torch1

torch = torch1()

from corelosses.adapters import _torch_ctc as tc  # noqa: E402

lp, y = _data("ctc", size())
x = torch.from_numpy(lp)
tg, il, tl = (torch.from_numpy(y[:, :-2]), torch.from_numpy(y[:, -2]), torch.from_numpy(y[:, -1]))
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
nll, la = torch._ctc_loss(x, tg, il, tl, 0, True)
g = torch.rand_like(nll)
backward = torch.ops.aten._ctc_loss_backward
fns = {
    "ATen forward": lambda: torch._ctc_loss(x, tg, il, tl, 0, True),
    "ATen backward": lambda: backward(g, x, tg, il, tl, nll, la, 0, True),
    "exp(x) correction": lambda: torch.exp(x).mul_(tc._steps(x, il, nll) * g.reshape(1, -1, 1)),
    "range check": lambda: tc._well_behaved(x),
}
med = interleaved_medians(fns, rounds)
print(f"log_probs {tuple(x.shape)}, {rounds} interleaved rounds, one thread")
for k, v in med.items():
    print(f"{k:18s} {v * 1e6:10.1f} us")
