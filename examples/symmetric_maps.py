"""Sparse maps symmetric about the diagonal: the symmetry tools with focal loss (torch).

Each sample is a set of N points with noisy per-point features; the target
map has ``y[i, j] = 1`` when points i and j are close (a contact map: about
5% ones, symmetric). A pair network scores ``(features_i, features_j)`` in
that order, so nothing makes its logits symmetric. Trained with focal
loss alone, and with each symmetry tool:

- ``symmetrize``: the ``(x + x^T) / 2`` output layer (symmetric by construction);
- ``symmetry_penalty``: focal loss + ``symmetry_penalty`` on the probabilities;
- ``lower_half_only``: plain focal loss on the lower triangle's labels only
  (the baseline for the next two, which see the same labels);
- ``symmetric_loss``: ``focal(x, y) + focal(x^T, y)`` on the labels of the
  lower triangle only. (With a symmetric target and a symmetric mask it is
  exactly twice the plain loss, since ``sum l(x_ji, y_ij) = sum l(x_ij, y_ji)``:
  it earns its keep when labels exist for one half, or disagree across it);
- ``triangle_mask``: focal loss on the lower triangle only, the prediction
  read as ``where(lower, x, x^T)``.

Prints F1 (threshold 0.5, off-diagonal entries) and the asymmetry
``mean |p - p^T|`` of the predicted probabilities on held-out maps.

    python examples/symmetric_maps.py          # full run (~30 s on a CPU)
    python examples/symmetric_maps.py --fast   # a few seconds
"""

from __future__ import annotations

import argparse
import functools
import os

import numpy as np
import torch

try:
    import corelosses as cl
except ImportError:  # run from a source checkout without installing
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import corelosses as cl

N = 20  # points per map
F = 6  # features per point


def make_data(b: int, rng: np.random.Generator, proj: np.ndarray):
    z = rng.uniform(0.0, 1.0, size=(b, N, 3))  # latent positions
    dist = np.sqrt(((z[:, :, None, :] - z[:, None, :, :]) ** 2).sum(-1))
    y = (dist < 0.26).astype(np.float32)
    idx = np.arange(N)
    y[:, idx, idx] = 0.0  # no self-contacts
    feats = z @ proj + 0.15 * rng.normal(size=(b, N, F))  # what the network sees
    return torch.from_numpy(feats).float(), torch.from_numpy(y)


class PairNet(torch.nn.Module):
    """Scores ordered pairs: ``mlp([f_i, f_j, (f_i - f_j)^2])`` -> a logit map (b, N, N)."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(3 * F, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, 1),
        )

    def forward(self, f):
        fi = f[:, :, None, :].expand(-1, -1, N, -1)
        fj = f[:, None, :, :].expand(-1, N, -1, -1)
        return self.mlp(torch.cat([fi, fj, (fi - fj) ** 2], dim=-1))[..., 0]


ALPHA = 0.75  # weigh the rare positives up (torchvision's convention: alpha on positives)
VARIANTS = (
    "focal",
    "symmetrize",
    "symmetry_penalty",
    "lower_half_only",
    "symmetric_loss",
    "triangle_mask",
)


def predict(net, f, variant):
    x = net(f)
    if variant == "symmetrize":
        return cl.symmetrize(x)
    if variant == "triangle_mask":
        return torch.where(cl.triangle_mask(x), x, x.transpose(-1, -2))
    return x


def train(f, y, variant: str, steps: int, seed: int = 0):
    torch.manual_seed(seed)
    net = PairNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    off = ~torch.eye(N, dtype=torch.bool)  # the diagonal is known: leave it out
    focal = functools.partial(cl.focal_loss, alpha=ALPHA)
    sym_focal = cl.symmetric_loss(focal)
    for step in range(steps):
        x = net(f)
        if variant == "focal":
            loss = focal(x, y, mask=off)
        elif variant == "symmetrize":
            loss = focal(cl.symmetrize(x), y, mask=off)
        elif variant == "symmetry_penalty":
            w = cl.linear_ramp(step, start=0, stop=0.3 * steps, high=0.3)
            loss = focal(x, y, mask=off) + w * cl.symmetry_penalty(torch.sigmoid(x))
        elif variant == "lower_half_only":  # the baseline of the two half-label variants
            loss = focal(x, y, mask=cl.triangle_mask(x, include_diagonal=False))
        elif variant == "symmetric_loss":
            # labels of one half only, trained into both x[i, j] and x[j, i]
            loss = sym_focal(x, y, mask=cl.triangle_mask(x, include_diagonal=False))
        elif variant == "triangle_mask":
            loss = focal(x, y, mask=cl.triangle_mask(x, include_diagonal=False))
        else:
            raise ValueError(variant)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def metrics(p: np.ndarray, y: np.ndarray) -> dict:
    off = ~np.eye(N, dtype=bool)
    pred = (p > 0.5)[:, off]
    true = y[:, off] > 0.5
    tp = np.sum(pred & true)
    f1 = 2 * tp / max(np.sum(pred) + np.sum(true), 1)
    return {"f1": float(f1), "asymmetry": float(np.mean(np.abs(p - np.swapaxes(p, -1, -2))))}


def main(fast: bool = False) -> dict:
    torch.set_num_threads(1)  # small models: threads only add overhead
    rng = np.random.default_rng(0)
    proj = rng.normal(size=(3, F))
    f, y = make_data(32 if fast else 160, rng, proj)
    ft, yt = make_data(64, rng, proj)
    steps = 150 if fast else 500
    off = ~np.eye(N, dtype=bool)
    print(f"targets: {float(y.numpy()[:, off].mean()):.1%} ones, symmetric; {N}x{N} maps")
    res = {}
    for variant in VARIANTS:
        net = train(f, y, variant, steps)
        with torch.no_grad():
            p = torch.sigmoid(predict(net, ft, variant)).numpy()
        res[variant] = metrics(p, yt.numpy())
    for k, m in res.items():
        print(f"{k:>17}: F1 = {m['f1']:.3f}   asymmetry mean|p - p^T| = {m['asymmetry']:.4f}")
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="a few-second run (for tests)")
    main(fast=ap.parse_args().fast)
