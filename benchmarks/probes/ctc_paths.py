"""``ctc_loss`` on torch, eager and compiled (inductor), forward and forward + backward,
interleaved in one process (RESULTS.md "CTC under torch.compile: ATen's kernel in a
custom operator"): ``F.ctc_loss`` (compiled, it breaks the graph and runs ATen's kernel
eagerly), ours (ATen's kernel: an autograd Function eagerly, ``corelosses::ctc_nll``
compiled) and ours with ``corelosses.native(False)`` (the recursion: the compiled path
before the operator). The harness's data; median of ``rounds`` interleaved calls.

``python benchmarks/probes/ctc_paths.py [N] [rounds]``
"""

from __future__ import annotations

import sys

from _common import _data, interleaved_medians, size, torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402

import corelosses as cl  # noqa: E402

lp, y = _data("ctc", size())
x0 = torch.from_numpy(lp)
tg, il, tl = (torch.from_numpy(y[:, :-2]), torch.from_numpy(y[:, -2]), torch.from_numpy(y[:, -1]))
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15


def ours(x):
    return cl.ctc_loss(x, tg, il, tl)


def recursion(x):
    with cl.native(False):
        return cl.ctc_loss(x, tg, il, tl)


def native(x):
    return F.ctc_loss(x, tg, il, tl)


def call(f, grad):
    def run():
        x = x0.detach().requires_grad_(grad)
        v = f(x)
        if grad:
            v.backward()

    return run


print(f"log_probs {tuple(x0.shape)}, {rounds} interleaved rounds, one thread")
for grad in (False, True):
    fns = {}
    for mode in ("eager", "compiled"):
        for name, f in (("F.ctc_loss", native), ("corelosses", ours), ("recursion", recursion)):
            g = torch.compile(f) if mode == "compiled" else f
            fns[f"{mode:8s} {name}"] = call(g, grad)
    for fn in fns.values():  # compile, warm
        fn()
        fn()
    med = interleaved_medians(fns, rounds)
    for mode in ("eager", "compiled"):
        base = med[f"{mode:8s} F.ctc_loss"]
        for k, v in med.items():
            if k.startswith(mode):
                print(
                    f"{'fwd+bwd' if grad else 'fwd':8s}{k:30s} {v * 1e3:9.2f} ms  ratio {v / base:.2f}"
                )
