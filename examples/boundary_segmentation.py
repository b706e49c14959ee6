"""Generalized dice alone against generalized dice + boundary loss (Kervadec et al.).

Synthetic 40x40 grey images hold one thin curve (a circular arc 2-3 px
wide) and one to three small blobs (ellipses, half-axes 1.5-3.5 px), under
strong noise and a smooth background gradient: the foreground is about 4%
of the pixels. The same small PyTorch conv net is trained twice with Adam,
from the same initialisation and on the same batches:

- ``gdl``: ``cl.generalized_dice_loss`` (softmax, 2 classes);
- ``gdl+boundary``: the authors' rebalanced mix
  ``(1 - a) * cl.generalized_dice_loss + a * cl.boundary_loss``, the signed
  distance maps from ``cl.signed_distance_map`` (computed once per target,
  as in a data loader) and ``a = cl.linear_ramp(step, ...)`` rising from
  0.01 by 0.01 per epoch (Kervadec et al.'s schedule), so it ends near 0.4,
  well below 1.

On held-out images it prints the foreground dice score, the 95th percentile
Hausdorff distance (HD95) and the mean symmetric boundary distance (pixels),
the mean (and spread) over a few initialisation seeds.

The boundary term is a complement, not a stand-alone loss: ``mean(p * phi)``
is smallest for an empty prediction wherever objects are too thin to have
pixels with ``phi < 0`` (every pixel of a 1-2 px line is a boundary pixel,
``phi = 0``), and at initialisation it is several times the regional loss
(``phi`` reaches tens of pixels in the background). On this data the plain
``cl.dice_loss`` (averaged over both classes) mixed the same way collapses
to an empty prediction early in training; the generalized
dice, whose ``1 / |g|^2`` weights make the small class's gradient large,
holds it, which is why the authors pair the boundary loss with GDL.

Run ``python examples/boundary_segmentation.py`` (``--fast`` for a smoke
test of a few seconds).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import corelosses as cl

SIZE = 40


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 1, S, S) float32 and labels (n, S, S) int64 (1 = small/thin object).

    Each image holds one thin curve (a circular arc 2-3 px wide) and one to
    three small blobs (ellipses with half-axes of 1.5-3.5 px); the rest is
    background with a smooth gradient and strong noise.
    """
    yy, xx = np.mgrid[:SIZE, :SIZE].astype(np.float64)
    imgs = np.zeros((n, 1, SIZE, SIZE), np.float32)
    labels = np.zeros((n, SIZE, SIZE), np.int64)
    for i in range(n):
        m = np.zeros((SIZE, SIZE), bool)
        # thin curve: an arc of a circle, half-width 1.0-1.5 px (2-3 px wide)
        c = rng.uniform(0, SIZE, 2)
        r = rng.uniform(8, 16)
        a0 = rng.uniform(0, 2 * np.pi)
        span = rng.uniform(0.6, 1.4)
        ang = np.mod(np.arctan2(yy - c[1], xx - c[0]) - a0, 2 * np.pi)
        on_arc = np.abs(np.hypot(xx - c[0], yy - c[1]) - r) <= rng.uniform(1.0, 1.5)
        m |= on_arc & (ang <= span)
        for _ in range(rng.integers(1, 4)):  # small blobs (ellipses)
            c = rng.uniform(4, SIZE - 4, 2)
            ax1, ax2 = rng.uniform(1.5, 3.5, 2)
            th = rng.uniform(0, np.pi)
            u = (xx - c[0]) * np.cos(th) + (yy - c[1]) * np.sin(th)
            v = -(xx - c[0]) * np.sin(th) + (yy - c[1]) * np.cos(th)
            m |= (u / ax1) ** 2 + (v / ax2) ** 2 <= 1.0
        g = rng.normal(size=2) * 0.02
        background = g[0] * (xx - SIZE / 2) + g[1] * (yy - SIZE / 2)
        imgs[i, 0] = m * 1.0 + background + rng.normal(size=m.shape) * 0.5
        labels[i] = m
    return imgs, labels


def make_net(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=2, dilation=2),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 2, 1),
    )


def _boundary(m: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    return m & ~binary_erosion(m, border_value=0)


def surface_distances(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(HD95, mean symmetric boundary distance) of two binary maps, in pixels.

    An empty prediction (with a non-empty target) counts as the image diagonal.
    """
    from scipy.ndimage import distance_transform_edt

    if not pred.any() or not gt.any():
        worst = float(np.hypot(*gt.shape))
        return (0.0, 0.0) if pred.any() == gt.any() else (worst, worst)
    bp, bg = _boundary(pred), _boundary(gt)
    d_to_gt = distance_transform_edt(~bg)[bp]
    d_to_pred = distance_transform_edt(~bp)[bg]
    both = np.concatenate([d_to_gt, d_to_pred])
    return float(np.percentile(both, 95)), float(both.mean())


def evaluate(net, torch, imgs, labels) -> dict:
    with torch.no_grad():
        pred = net(torch.from_numpy(imgs)).argmax(1).numpy().astype(bool)
    gt = labels.astype(bool)
    inter = (pred & gt).sum((1, 2))
    dice = 2 * inter / np.maximum(pred.sum((1, 2)) + gt.sum((1, 2)), 1)
    hd = np.array([surface_distances(p, g) for p, g in zip(pred, gt)])
    return {
        "dice": float(dice.mean()),
        "hd95": float(hd[:, 0].mean()),
        "mean_boundary_distance": float(hd[:, 1].mean()),
    }


def train(torch, boundary: bool, data, steps: int, batch: int, seed: int = 0):
    """Adam on the generalized dice loss, or on ``(1 - a) * gdl + a * boundary``.

    ``a`` starts at 0.01 and rises by 0.01 per epoch (one pass over the
    training images), as in Kervadec et al. The initialisation (``seed``)
    and the batches do not depend on ``boundary``.
    """
    imgs, labels, phi = data
    torch.manual_seed(seed)
    net = make_net(torch)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed)
    x_all, y_all, phi_all = (torch.from_numpy(a) for a in (imgs, labels, phi))
    epochs = steps * batch / len(imgs)
    first = None
    for step in range(steps):
        idx = torch.from_numpy(rng.choice(len(imgs), size=batch, replace=False))
        logits = net(x_all[idx])
        loss = cl.generalized_dice_loss(logits, y_all[idx])
        if boundary:
            a = cl.linear_ramp(step, start=0, stop=steps, low=0.01, high=0.01 + 0.01 * epochs)
            loss = (1 - a) * loss + a * cl.boundary_loss(logits, phi_all[idx])
        if first is None:
            first = float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, first, float(loss.detach())


METRICS = ("dice", "hd95", "mean_boundary_distance")


def main(fast: bool = False) -> dict:
    """Train both losses; return ``{name: metrics}`` (means over the seeds).

    Each entry holds ``dice``, ``hd95``, ``mean_boundary_distance`` (test
    set, mean over seeds), their ``*_std`` over the seeds, ``first_loss``
    and ``final_loss`` (training loss, mean over seeds), ``seconds`` and
    ``per_seed`` (the metrics of every seed).
    """
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    if fast:
        n_train, n_test, steps, batch, seeds = (48, 16, 60, 12, (0,))
    else:
        n_train, n_test, steps, batch, seeds = (128, 64, 300, 16, (0, 1, 2))
    imgs, labels = make_data(n_train + n_test, rng)
    onehot = (labels[:, None] == np.arange(2)[None, :, None, None]).astype(np.float32)
    phi = np.asarray(cl.signed_distance_map(onehot))  # once per target, like a data loader
    train_data = (imgs[:n_train], labels[:n_train], phi[:n_train])
    epochs = steps * batch / n_train
    print(
        f"foreground fraction: {labels.mean():.1%}; {n_train} training images, "
        f"{n_test} test images, {steps} steps of batch {batch} ({epochs:.1f} epochs), "
        f"boundary weight 0.01 -> {0.01 + 0.01 * epochs:.2f}, seeds {list(seeds)}"
    )
    results = {}
    for name, use_b in (("gdl", False), ("gdl+boundary", True)):
        t0 = time.perf_counter()
        runs = []
        for seed in seeds:
            net, first, last = train(torch, use_b, train_data, steps, batch, seed=seed)
            r = evaluate(net, torch, imgs[n_train:], labels[n_train:])
            r["first_loss"], r["final_loss"] = first, last
            runs.append(r)
        res = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
        res.update({f"{k}_std": float(np.std([r[k] for r in runs])) for k in METRICS})
        res["per_seed"] = runs
        res["seconds"] = time.perf_counter() - t0
        results[name] = res
    print(f"{'loss':<14}{'dice':>15}{'HD95 (px)':>15}{'mean bd (px)':>15}{'time (s)':>10}")
    for name, r in results.items():
        cells = "".join(f"{r[k]:>8.3f} +-{r[k + '_std']:.3f}"[-15:].rjust(15) for k in METRICS)
        print(f"{name:<14}{cells}{r['seconds']:>10.1f}")
    return results


if __name__ == "__main__":
    main(fast="--fast" in sys.argv[1:])
