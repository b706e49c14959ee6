"""A loss's first ``torch.compile``d calls, with torch's backend cached before the trace
(what ``import corelosses`` now does) and with the caches emptied first (the state
that made the first traced call compile twice; RESULTS.md "Compiled calls: first trace
and fixed cost"). Prints the seconds of the first three calls and the graphs compiled.
With ``--survey``: every catalog entry first called compiled (``backend="eager"``,
dynamo reset between entries), and the entries that compiled more than one graph.
"""

from __future__ import annotations

import sys
import time

from _common import torch1

torch = torch1()
from torch._dynamo.utils import counters  # noqa: E402

import corelosses as cl  # noqa: E402
from corelosses import adapters  # noqa: E402

a, pn = torch.randn(64, 16, requires_grad=True), torch.randn(2, 64, 16)
x, y = torch.randn(64, requires_grad=True), torch.randn(64)
CASES = {
    "triplet_margin_loss": lambda: cl.triplet_margin_loss(a, pn[0], pn[1]),
    "huber_loss": lambda: cl.huber_loss(x, y),
}


def first_calls(fn):
    torch._dynamo.reset()
    before = counters["stats"]["unique_graphs"]
    g = torch.compile(fn)
    secs = []
    for _ in range(3):
        t0 = time.perf_counter()
        g().backward()
        secs.append(time.perf_counter() - t0)
    return secs, counters["stats"]["unique_graphs"] - before


for state in ("cached", "emptied"):
    for name, fn in CASES.items():
        if state == "emptied":
            adapters._BY_TYPE.clear()
            adapters._BY_NAME.clear()
        secs, graphs = first_calls(fn)
        print(
            f"{state:8s} {name:20s} calls {', '.join(f'{s:.2f}' for s in secs)} s  graphs {graphs}"
        )

if "--survey" in sys.argv:
    from corelosses import testing as kit
    from corelosses.testing import _assert

    tb = _assert._get("torch")
    more = []
    for info in cl.catalog():
        if info.example is None or "torch" not in info.backends:
            continue
        if not kit.catalog_options(info)["compile"]:
            continue
        conv, ckw = _assert._Case(info.fn, info.example, None, None, 0).on(tb)
        torch._dynamo.reset()
        before = counters["stats"]["unique_graphs"]
        g = torch.compile(lambda *v, fn=info.fn, kw=ckw: fn(*v, **kw), backend="eager")
        for _ in range(3):
            g(*conv)
        n = counters["stats"]["unique_graphs"] - before
        if n != 1:
            more.append((info.name, n))
    print("entries compiling more than one graph:", more)
