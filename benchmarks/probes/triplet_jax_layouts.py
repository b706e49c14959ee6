"""The jitted triplet loss, ours against optax's, with the positives and negatives as
two arrays and stacked in one (the harness's layout: its pairs take two inputs),
forward and forward + backward, interleaved (RESULTS.md "Traced triplet: layouts under
jax.jit"). The harness's data; median of ``rounds`` interleaved calls.

``python benchmarks/probes/triplet_jax_layouts.py [N] [rounds]``
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _common import _data, interleaved_medians, size

import corelosses as cl

a, pn = (np.asarray(v) for v in _data("triplet", size()))
a, p, n = jnp.asarray(a), jnp.asarray(pn[0]), jnp.asarray(pn[1])
pns = jnp.stack([p, n])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
sides = {
    "optax": lambda a, p, n: jnp.mean(optax.losses.triplet_margin_loss(a, p, n)),
    "corelosses": lambda a, p, n: cl.triplet_margin_loss(a, p, n),
}
fns = {}
for name, f in sides.items():
    for mode in ("fwd", "fwd+bwd"):

        def stacked(a, pn, f=f):
            return f(a, pn[0], pn[1])

        g = jax.jit(f if mode == "fwd" else jax.value_and_grad(f))
        gs = jax.jit(stacked if mode == "fwd" else jax.value_and_grad(stacked))
        jax.block_until_ready(g(a, p, n))
        jax.block_until_ready(gs(a, pns))
        fns[(mode, "separate", name)] = lambda g=g: jax.block_until_ready(g(a, p, n))
        fns[(mode, "stacked", name)] = lambda g=gs: jax.block_until_ready(g(a, pns))
med = interleaved_medians(fns, rounds)
for mode in ("fwd", "fwd+bwd"):
    for layout in ("separate", "stacked"):
        ours, peer = med[(mode, layout, "corelosses")], med[(mode, layout, "optax")]
        print(
            f"{mode:8s} {layout:9s} corelosses {ours * 1e6:9.1f} us  optax {peer * 1e6:9.1f} us"
            f"  ratio {ours / peer:.2f}"
        )
