"""Pairs that run the same kernel on both sides, measured in isolation
(RESULTS.md "Where a median misses").

    python same_kernel.py 1048576    # eager CE, compiled BCE (+ generated code compared)
    python same_kernel.py 16777216   # also at 16M; jax CE variants at the same size
"""

from __future__ import annotations

from _common import _data, interleaved, report, size, torch1

torch = torch1()
import torch.nn.functional as F  # noqa: E402
from torch._inductor.utils import run_and_get_code  # noqa: E402

import corelosses as cl  # noqa: E402
import corelosses.adapters.torch as tad  # noqa: E402

n = size()

# eager cross entropy: corelosses (ATen op directly), corelosses through F, F itself
x, t = (torch.from_numpy(a) for a in _data("classes", n))
kernel = tad._CE_KERNEL


def via_f():
    tad._CE_KERNEL = None
    try:
        return cl.cross_entropy(x, t)
    finally:
        tad._CE_KERNEL = kernel


fns = [lambda: F.cross_entropy(x, t), lambda: cl.cross_entropy(x, t), via_f]
print(f"eager cross_entropy, {n} elements")
report(["F.cross_entropy", "corelosses", "corelosses via F"], interleaved(fns, lambda o: o, 9, 0.1))

# compiled BCE fwd+bwd: the generated code of both sides, then their times
xb, yb = (torch.from_numpy(a) for a in _data("binary", n))
xb.requires_grad_(True)
codes, steps = [], []
for f in (cl.binary_cross_entropy, lambda a, b: F.binary_cross_entropy_with_logits(a, b)):
    torch._dynamo.reset()
    cf = torch.compile(f, dynamic=False)

    def step(cf=cf):
        xb.grad = None
        loss = cf(xb, yb)
        loss.backward()
        return loss

    codes.append(run_and_get_code(step)[1])
    steps.append(step)
print(f"\ncompiled binary_cross_entropy fwd+bwd: generated code identical: {codes[0] == codes[1]}")
report(["corelosses", "F.bce_with_logits"], interleaved(steps, lambda o: o, 7, 0.1))

# jax cross entropy: optax, corelosses, and the same without the in-range select
try:
    import jax
    import jax.numpy as jnp
    import optax
except ImportError:
    raise SystemExit(0) from None
xj, tj = (jnp.asarray(a) for a in _data("classes", n))


def no_select(x, t):
    picked = jnp.take_along_axis(x, t[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(x, axis=1) - picked)


variants = {
    "optax": lambda x, t: jnp.mean(optax.softmax_cross_entropy_with_integer_labels(x, t)),
    "corelosses": lambda x, t: cl.cross_entropy(x, t),
    "optax's graph, no select": no_select,
}
jitted = [jax.jit(f) for f in variants.values()]
print(f"\njax.jit cross_entropy forward, {n} elements")
report(
    list(variants),
    interleaved([lambda f=f: f(xj, tj) for f in jitted], jax.block_until_ready, 9, 0.1),
)
