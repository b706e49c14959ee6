"""Outputs that must end near 0 or 1, with no target saying so: ``binary_penalty``.

A small network predicts a mask over the plane from a soft target (a disc
with a blurred edge, as a mask network sees soft evidence). Trained on the
fit alone its outputs spread over (0, 1) along the edge; with a ramped
``binary_penalty`` the same network commits every point to 0 or 1. The
penalty's weight ramps up with ``linear_ramp``: at full strength from the
first step it would trap outputs on the wrong side of the hump at 0.5.

Prints the fraction of outputs within 0.05 of 0 or 1 for both runs and
writes a PNG of the two output histograms to ``examples/out/``.

    python examples/binary_masks.py          # full run (~20 s on a CPU)
    python examples/binary_masks.py --fast   # a few seconds
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

try:
    import corelosses as cl
except ImportError:  # run from a source checkout without installing
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import corelosses as cl

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def make_data(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    r = np.sqrt((x**2).sum(-1))
    soft = 1.0 / (1.0 + np.exp(-6.0 * (0.6 - r)))  # a disc of radius 0.6, blurred edge
    return torch.from_numpy(x).float(), torch.from_numpy(soft).float()


def train(x, y, steps: int, penalty: float, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(steps):
        m = torch.sigmoid(net(x)[:, 0])
        loss = cl.mse_loss(m, y)
        if penalty:
            # 0 for the first 20% of training, full weight from 70% on
            w = cl.linear_ramp(step, start=0.2 * steps, stop=0.7 * steps, high=penalty)
            loss = loss + w * cl.binary_penalty(m)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def near_01(m: np.ndarray, tol: float = 0.05) -> float:
    """Fraction of outputs within ``tol`` of 0 or 1."""
    return float(np.mean((m < tol) | (m > 1 - tol)))


def main(fast: bool = False) -> dict:
    torch.set_num_threads(1)  # small models: threads only add overhead
    rng = np.random.default_rng(0)
    x, y = make_data(1024 if fast else 4096, rng)
    xt, yt = make_data(4096, rng)
    steps = 300 if fast else 1500
    hard = (yt.numpy() > 0.5).astype(float)  # the disc itself
    res: dict = {}
    outs = {}
    for name, lam in (("plain", 0.0), ("binary_penalty", 4.0)):
        net = train(x, y, steps, lam, seed=1)
        with torch.no_grad():
            m = torch.sigmoid(net(xt)[:, 0]).numpy()
        outs[name] = m
        res[name] = {
            "near_0_or_1": near_01(m),
            "mse_to_soft_target": float(np.mean((m - yt.numpy()) ** 2)),
            "accuracy_vs_disc": float(np.mean((m > 0.5) == (hard > 0.5))),
        }
    for name, r in res.items():
        print(
            f"{name:>15}: fraction within 0.05 of 0 or 1 = {r['near_0_or_1']:.3f}   "
            f"MSE to soft target = {r['mse_to_soft_target']:.4f}   "
            f"accuracy vs disc = {r['accuracy_vs_disc']:.3f}"
        )
    res["png"] = plot(outs)
    return res


def plot(outs: dict) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the metrics above do not need it
        print("matplotlib not installed: no PNG written")
        return None
    os.makedirs(OUT, exist_ok=True)
    fig, axs = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    bins = np.linspace(0, 1, 41)
    for ax, (name, m) in zip(axs, outs.items()):
        ax.hist(m, bins=bins, color="tab:blue" if name == "plain" else "tab:orange")
        ax.set_title(f"{name}: {near_01(m):.0%} within 0.05 of 0 or 1")
        ax.set_xlabel("output")
    axs[0].set_ylabel("count")
    fig.tight_layout()
    path = os.path.join(OUT, "binary_masks.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="a few-second run (for tests)")
    main(fast=ap.parse_args().fast)
