"""The fixed costs of a ``torch.compile``d loss call (RESULTS.md "Compiled calls: first
trace and fixed cost"): for the triplet loss and BCE, ours against the native function,
each compiled (inductor, static shapes) on tiny inputs. Prints the graphs compiled by the
first three calls (1 unless a call recompiles), the time of dynamo's guard check for the
cached entry (``timeit``, best of 3 x 20000), and the median of 2000 whole calls.
"""

from __future__ import annotations

import statistics
import time
import timeit

from _common import torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402
from torch._dynamo.eval_frame import _debug_get_cache_entry_list  # noqa: E402
from torch._dynamo.utils import counters  # noqa: E402

import corelosses as cl  # noqa: E402

a, pn = torch.randn(4, 16), torch.randn(2, 4, 16)
x, b = torch.randn(64), (torch.rand(64) > 0.5).float()


def tri_ours(a, pn):
    return cl.triplet_margin_loss(a, pn[0], pn[1])


def tri_native(a, pn):
    return F.triplet_margin_loss(a, pn[0], pn[1])


def bce_ours(x, b):
    return cl.binary_cross_entropy(x, b)


def bce_native(x, b):
    return F.binary_cross_entropy_with_logits(x, b)


CASES = [
    (tri_ours, {"a": a, "pn": pn}),
    (tri_native, {"a": a, "pn": pn}),
    (bce_ours, {"x": x, "b": b}),
    (bce_native, {"x": x, "b": b}),
]
for fn, args in CASES:
    before = counters["stats"]["unique_graphs"]
    g = torch.compile(fn, dynamic=False)
    for _ in range(3):
        g(*args.values())
    graphs = counters["stats"]["unique_graphs"] - before
    guard = _debug_get_cache_entry_list(fn.__code__)[0].guard_manager
    check = (
        min(timeit.repeat(lambda guard=guard, args=args: guard.check(args), number=20000, repeat=3))
        / 20000
    )
    times = []
    for _ in range(2000):
        t0 = time.perf_counter()
        g(*args.values())
        times.append(time.perf_counter() - t0)
    call = statistics.median(times)
    print(
        f"{fn.__name__:10s} graphs {graphs}  guard check {check * 1e6:5.1f} us  "
        f"call {call * 1e6:6.1f} us"
    )
