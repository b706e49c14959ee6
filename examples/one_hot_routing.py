"""A softmax that must pick one branch: ``one_hot_penalty`` on a router (JAX + optax).

A router sends each input to one of four fixed "experts" (linear maps); the
output is the router-weighted sum of the experts. Blending experts fits
the target better than choosing one, so a router trained on the fit alone
learns soft mixtures. Deployed, the router must pick a single branch (only
one runs): with ``one_hot_penalty``, its weight ramped with
``sigmoid_ramp`` inside the jitted step, the router learns near one-hot
decisions and loses little when its arg-max alone is used.

Prints, with and without the penalty: the mean max-probability, the mean
entropy (nats) of the routing distribution, the fit with soft routing, and
the fit when only the arg-max branch runs.

    python examples/one_hot_routing.py          # full run (~15 s on a CPU)
    python examples/one_hot_routing.py --fast   # a few seconds
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

try:
    import corelosses as cl
except ImportError:  # run from a source checkout without installing
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import corelosses as cl

K = 4  # experts


def make_data(n: int, rng: np.random.Generator):
    x = rng.uniform(-2.0, 2.0, size=(n, 2)).astype(np.float32)
    y = (np.sin(1.5 * x[:, 0]) + 0.5 * x[:, 1] ** 2).astype(np.float32)
    return jnp.asarray(x), jnp.asarray(y)


def init(key, hidden: int = 32):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "w1": jax.random.normal(k1, (2, hidden)) * 0.7,
        "b1": jnp.zeros(hidden),
        "w2": jax.random.normal(k2, (hidden, K)) * 0.1,
        "b2": jnp.zeros(K),
        # the experts: y_k(x) = a_k . x + c_k, trained with the router
        "a": jax.random.normal(k3, (K, 2)),
        "c": jnp.linspace(-1.0, 2.0, K),
    }


def forward(params, x):
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"] + params["b2"]
    experts = x @ params["a"].T + params["c"]  # (n, K)
    return logits, experts


def train(x, y, steps: int, penalty: float, seed: int = 0):
    params = init(jax.random.PRNGKey(seed))
    opt = optax.adam(1e-2)
    state = opt.init(params)

    def loss_fn(params, step):
        logits, experts = forward(params, x)
        p = jax.nn.softmax(logits, axis=-1)
        fit = cl.mse_loss(jnp.sum(p * experts, axis=-1), y)
        if penalty:
            # an array step: the ramp is traced inside jit
            w = cl.sigmoid_ramp(step, start=0.1 * steps, stop=0.6 * steps, high=penalty)
            fit = fit + w * cl.one_hot_penalty(logits, from_logits=True)
        return fit

    @jax.jit
    def update(params, state, step):
        g = jax.grad(loss_fn)(params, step)
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), state

    for step in range(steps):
        params, state = update(params, state, jnp.asarray(step))
    return params


def evaluate(params, x, y) -> dict:
    logits, experts = forward(params, x)
    p = jax.nn.softmax(logits, axis=-1)
    hard = jnp.take_along_axis(experts, jnp.argmax(p, axis=-1)[:, None], axis=-1)[:, 0]
    return {
        "mean_max_prob": float(jnp.mean(jnp.max(p, axis=-1))),
        "mean_entropy": float(cl.entropy_penalty(logits)),
        "mse_soft_routing": float(jnp.mean((jnp.sum(p * experts, -1) - y) ** 2)),
        "mse_argmax_routing": float(jnp.mean((hard - y) ** 2)),
    }


def main(fast: bool = False) -> dict:
    rng = np.random.default_rng(0)
    x, y = make_data(1024 if fast else 4096, rng)
    xt, yt = make_data(4096, rng)
    steps = 400 if fast else 3000
    res = {}
    for name, lam in (("plain", 0.0), ("one_hot_penalty", 0.5)):
        res[name] = evaluate(train(x, y, steps, lam), xt, yt)
    print(f"uniform routing over {K} experts: max-prob {1 / K:.2f}, entropy {np.log(K):.3f}")
    for name, r in res.items():
        print(
            f"{name:>16}: mean max-prob = {r['mean_max_prob']:.3f}   "
            f"mean entropy = {r['mean_entropy']:.3f}   "
            f"MSE soft = {r['mse_soft_routing']:.4f}   "
            f"MSE arg-max only = {r['mse_argmax_routing']:.4f}"
        )
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="a few-second run (for tests)")
    main(fast=ap.parse_args().fast)
