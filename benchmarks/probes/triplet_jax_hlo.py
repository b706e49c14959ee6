"""Full-size arrays that XLA materialises in the jitted triplet loss, ours against
optax's (RESULTS.md "Traced triplet: one branch differentiated", and "Traced
triplet: the branch not differentiated"): the entry
computation's (N, D) buffers other than the parameters, forward and forward +
backward, on the harness's data (anchors, and positives and negatives stacked).

Before the JAX ``diff_plus`` change, ours showed a ``wrapped_broadcast`` of
``eps`` here, and before the guard's cond left the differentiated path, the
tangent cond's three forwarded operands; what remains are the slices copied for
``lax.cond``'s operands (optax materialises its differences instead).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import optax
from _common import _data, size

import corelosses as cl

a, pn = (jnp.asarray(v) for v in _data("triplet", size()))
n, d = a.shape
sides = {
    "corelosses": lambda a, pn: cl.triplet_margin_loss(a, pn[0], pn[1]),
    "optax": lambda a, pn: jnp.mean(optax.losses.triplet_margin_loss(a, pn[0], pn[1])),
}
full = re.compile(rf"%(\S+) = f32\[(?:1,)?{n},{d}\]\{{[^}}]*\}} (?!parameter|bitcast)(\S+)\(")
for mode in ("fwd", "fwd+bwd"):
    for name, f in sides.items():
        g = jax.value_and_grad(f) if mode == "fwd+bwd" else f
        text = jax.jit(g).lower(a, pn).compile().as_text()
        entry = text[text.index("\nENTRY") :]
        entry = entry[: entry.index("\n}")]
        bufs = [m.group(1) for m in full.finditer(entry)]
        print(f"{mode:8s} {name:11s} {len(bufs)} full-size ({n}, {d}) arrays: {', '.join(bufs)}")
