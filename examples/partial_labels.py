"""Multi-task learning with partial labels: ``mask=`` / ``ignore_value=`` (NumPy data, torch model).

A shared trunk has two heads: a classifier (is the sample positive?) and a
regression head whose target exists only for positives (say, a size that
is only measured when something is there). Four ways to train the
regression head:

- ``masked``: ``mse_loss(pred, r, ignore_value=nan)``: the mean over the
  labels that exist, no gradient from the missing ones;
- ``zero_imputed``: the missing targets set to 0, every sample counted: the
  head is pulled toward 0 wherever a label is missing;
- ``multiplier``: the ``r / (r + eps)`` trick on the zero-imputed target,
  multiplying the squared error by 0 where ``r = 0``: it also drops the
  real labels that are 0 (here a size, 0 for some positives), and its mean
  is diluted by the missing labels (its scale depends on the fraction
  labelled);
- ``separate``: a classifier on every sample and a regressor on the
  positives only (no shared trunk).

Prints each variant's classification accuracy and its regression RMSE on the
test positives (the only place a regression target means anything).

    python examples/partial_labels.py          # full run (~20 s on a CPU)
    python examples/partial_labels.py --fast   # a few seconds
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

D = 8


def make_data(n: int, rng: np.random.Generator, w: np.ndarray, v: np.ndarray):
    """NumPy data: labels, and a regression target only for the positives (NaN elsewhere)."""
    x = rng.normal(size=(n, D))
    logit = 2.5 * (x @ w) + 0.3
    c = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    # a size: never negative, exactly 0 for some positives (a real label, not a missing one)
    r_full = np.maximum(0.0, 1.0 + np.sin(x @ v) + 0.5 * x[:, 0] + 0.05 * rng.normal(size=n))
    r = np.where(c == 1, r_full, np.nan)  # the label exists for positives only
    return x, c, r


class Net(torch.nn.Module):
    def __init__(self, heads=("cls", "reg"), hidden: int = 32):
        super().__init__()
        self.trunk = torch.nn.Sequential(
            torch.nn.Linear(D, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
        )
        self.out = torch.nn.Linear(hidden, len(heads))

    def forward(self, x):
        return self.out(self.trunk(x))


def train(x, c, r, variant: str, steps: int, seed: int = 0):
    torch.manual_seed(seed)
    xt = torch.from_numpy(x).float()
    ct = torch.from_numpy(c).float()
    rt = torch.from_numpy(r).float()  # NaN where missing
    if variant == "separate":
        cls_net, reg_net = Net(("cls",)), Net(("reg",))
        pos = torch.from_numpy(c == 1)
        params = list(cls_net.parameters()) + list(reg_net.parameters())
    else:
        net = Net()
        params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=3e-3)
    r0 = torch.nan_to_num(rt, nan=0.0)  # what zero-imputation and the multiplier see
    for _ in range(steps):
        if variant == "separate":
            logit = cls_net(xt)[:, 0]
            reg_loss = cl.mse_loss(reg_net(xt[pos])[:, 0], rt[pos])
        else:
            out = net(xt)
            logit, pred = out[:, 0], out[:, 1]
            if variant == "masked":
                reg_loss = cl.mse_loss(pred, rt, ignore_value=float("nan"))
            elif variant == "zero_imputed":
                reg_loss = cl.mse_loss(pred, r0)
            elif variant == "multiplier":
                eps = 1e-6
                reg_loss = torch.mean((pred - r0) ** 2 * (r0 / (r0 + eps)))
            else:
                raise ValueError(variant)
        loss = cl.binary_cross_entropy(logit, ct) + reg_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    if variant == "separate":
        return lambda z: (cls_net(z)[:, 0], reg_net(z)[:, 0])
    return lambda z: (net(z)[:, 0], net(z)[:, 1])


def main(fast: bool = False) -> dict:
    torch.set_num_threads(1)  # small models: threads only add overhead
    rng = np.random.default_rng(0)
    w = rng.normal(size=D) / np.sqrt(D)
    v = rng.normal(size=D) / np.sqrt(D) * 2
    x, c, r = make_data(1000 if fast else 6000, rng, w, v)
    xt, ct, rt = make_data(4000, rng, w, v)
    steps = 250 if fast else 1500
    print(
        f"train: {len(c)} samples, {c.mean():.0%} with a regression label "
        f"({np.mean(r[c == 1] == 0):.0%} of those labels are exactly 0)"
    )
    res = {}
    for variant in ("masked", "zero_imputed", "multiplier", "separate"):
        model = train(x, c, r, variant, steps)
        with torch.no_grad():
            logit, pred = model(torch.from_numpy(xt).float())
        logit, pred = logit.numpy(), pred.numpy()
        pos = ct == 1
        res[variant] = {
            "accuracy": float(np.mean((logit > 0) == pos)),
            "rmse_on_positives": float(np.sqrt(np.mean((pred[pos] - rt[pos]) ** 2))),
            "bias_on_positives": float(np.mean(pred[pos] - rt[pos])),
            # the positives whose real label is 0 (the multiplier never trains on them)
            "rmse_on_zero_labels": float(np.sqrt(np.mean(pred[pos & (rt == 0)] ** 2))),
        }
    for k, m in res.items():
        print(
            f"{k:>13}: accuracy = {m['accuracy']:.3f}   regression RMSE on positives = "
            f"{m['rmse_on_positives']:.3f}   bias = {m['bias_on_positives']:+.3f}   "
            f"RMSE on labels equal to 0 = {m['rmse_on_zero_labels']:.3f}"
        )
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="a few-second run (for tests)")
    main(fast=ap.parse_args().fast)
