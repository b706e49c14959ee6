"""The masked and weighted benchmark pairs (issue 15): corelosses beside hand-written idioms.

Each masked call is timed against the fastest NaN-safe ways a user writes the
same loss by hand, each its own pair (the judged ratio is against the faster):

- ``index``: the loss of the entries that remain, ``F.huber_loss(x[m], y[m])``;
- ``where``: the inputs filled where masked, the native kernel unreduced, its
  sum over the count, ``F.huber_loss(where(m, x, 0), where(m, y, 0),
  reduction="none").sum() / m.sum()`` (a second ``where`` only where the loss is
  not 0 at the fill). Multiplying by the mask instead is not NaN-safe
  (``NaN * 0``) and is not a pair.
- for ``cross_entropy``, also ``F.cross_entropy(x, t, ignore_index=-100)``: the
  idiom the issue measured, although a NaN logit in an ignored row reaches its
  gradient (reported, not judged).

jax's pairs are the ``where`` idioms on optax's functions. Data: 80% of the
entries valid, float32; the mask, weights and the NaN-holed target are inputs
of both sides (``_masked_data``).
"""

from __future__ import annotations

import numpy as np

from .bench_pairs import NUM_CLASSES, Pair

MASKED_TARGET = 1.20  # eager torch, the target for masked calls


def masked_data(kind: str, n: int, seed: int = 0):
    """``(x, target, mask, weight)`` for a masked kind, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    if kind == "classes_masked":
        c = min(NUM_CLASSES, n)
        rows = max(1, n // c)
        x = (rng.standard_normal((rows, c)) * 2).astype(np.float32)
        t = rng.integers(0, c, size=rows).astype(np.int64)
        m = rng.uniform(size=rows) < 0.8
        return x, t, m, rng.uniform(0.5, 1.5, size=rows).astype(np.float32)
    x = (rng.standard_normal(n) * 2).astype(np.float32)
    m = rng.uniform(size=n) < 0.8
    w = rng.uniform(0.5, 1.5, size=n).astype(np.float32)
    if kind == "binary_masked":
        y = (rng.uniform(size=n) > 0.7).astype(np.float32)
    else:
        y = (rng.standard_normal(n) * 2).astype(np.float32)
        if kind == "nan_target":  # ignore_value=NaN: the mask is where the target exists
            y = np.where(m, y, np.nan).astype(np.float32)
    return x, y, m, w


def P(loss, peer, kind, ours, native, elementwise=True) -> Pair:  # noqa: N802
    """A masked pair (judged against the masked targets)."""
    return Pair(loss, peer, kind, ours, native, elementwise=elementwise, masked=True)


def torch_masked_pairs() -> list[Pair]:
    import torch
    import torch.nn.functional as F

    import corelosses as cl

    def fill(m, a):
        return torch.where(m, a, 0.0)

    def count(m):
        return m.sum().clamp_min(1)

    def tv_focal(x, y):  # torchvision.ops.sigmoid_focal_loss's formula, unreduced
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        return (0.25 * y + 0.75 * (1 - y)) * ce * (1 - p_t) ** 2

    def nan_ok(y):
        return ~torch.isnan(y)

    return [
        P(
            "huber_loss[mask]",
            "index: F.huber_loss(x[m], y[m])",
            "regression_masked",
            lambda x, y, m, w: cl.huber_loss(x, y, mask=m),
            lambda x, y, m, w: F.huber_loss(x[m], y[m]),
        ),
        P(
            "huber_loss[mask]",
            "where: F.huber_loss(fill x, fill y, none).sum() / m.sum()",
            "regression_masked",
            lambda x, y, m, w: cl.huber_loss(x, y, mask=m),
            lambda x, y, m, w: (
                F.huber_loss(fill(m, x), fill(m, y), reduction="none").sum() / count(m)
            ),
        ),
        P(
            "mse_loss[ignore nan]",
            "index: F.mse_loss(x[k], y[k]), k = ~isnan(y)",
            "nan_target",
            lambda x, y, m, w: cl.mse_loss(x, y, ignore_value=float("nan")),
            lambda x, y, m, w: (lambda k: F.mse_loss(x[k], y[k]))(nan_ok(y)),
        ),
        P(
            "mse_loss[ignore nan]",
            "where: F.mse_loss(fill x, fill y, none).sum() / k.sum()",
            "nan_target",
            lambda x, y, m, w: cl.mse_loss(x, y, ignore_value=float("nan")),
            lambda x, y, m, w: (
                lambda k: F.mse_loss(fill(k, x), fill(k, y), reduction="none").sum() / count(k)
            )(nan_ok(y)),
        ),
        P(
            "binary_cross_entropy[weight+mask]",
            "index: F.bce_with_logits(x[m], y[m], weight=w[m])",
            "binary_masked",
            lambda x, y, m, w: cl.binary_cross_entropy(x, y, weight=w, mask=m),
            lambda x, y, m, w: F.binary_cross_entropy_with_logits(x[m], y[m], weight=w[m]),
        ),
        P(
            "binary_cross_entropy[weight+mask]",
            "where: F.bce_with_logits(fill x, fill y, weight=fill w, sum) / m.sum()",
            "binary_masked",
            lambda x, y, m, w: cl.binary_cross_entropy(x, y, weight=w, mask=m),
            lambda x, y, m, w: (
                F.binary_cross_entropy_with_logits(
                    fill(m, x), fill(m, y), weight=fill(m, w), reduction="sum"
                )
                / count(m)
            ),
        ),
        P(
            "focal_loss[mask]",
            "index: torchvision focal(x[m], y[m]).mean()",
            "binary_masked",
            lambda x, y, m, w: cl.focal_loss(x, y, mask=m),
            lambda x, y, m, w: tv_focal(x[m], y[m]).mean(),
        ),
        P(
            "focal_loss[mask]",
            "where: fill(torchvision focal(fill x, fill y)).sum() / m.sum()",
            "binary_masked",
            lambda x, y, m, w: cl.focal_loss(x, y, mask=m),
            lambda x, y, m, w: fill(m, tv_focal(fill(m, x), fill(m, y))).sum() / count(m),
        ),
        P(
            "cross_entropy[mask]",
            "index: F.cross_entropy(x[m], t[m])",
            "classes_masked",
            lambda x, t, m, w: cl.cross_entropy(x, t, mask=m),
            lambda x, t, m, w: F.cross_entropy(x[m], t[m]),
            elementwise=False,
        ),
        P(
            "cross_entropy[mask]",
            "where: F.cross_entropy(fill rows, t or -100)",
            "classes_masked",
            lambda x, t, m, w: cl.cross_entropy(x, t, mask=m),
            lambda x, t, m, w: F.cross_entropy(fill(m[:, None], x), torch.where(m, t, -100)),
            elementwise=False,
        ),
        P(
            "cross_entropy[mask]",
            "not NaN-safe: F.cross_entropy(x, t or -100)",
            "classes_masked",
            lambda x, t, m, w: cl.cross_entropy(x, t, mask=m),
            lambda x, t, m, w: F.cross_entropy(x, torch.where(m, t, -100)),
            elementwise=False,
        ),
    ]


def jax_masked_pairs() -> list[Pair]:
    import jax.numpy as jnp
    import optax

    import corelosses as cl

    def fill(m, a):
        return jnp.where(m, a, 0.0)

    def mean(m, loss):  # jnp.mean's where=: the sum of the kept entries over their count
        return jnp.sum(jnp.where(m, loss, 0.0)) / jnp.maximum(jnp.sum(m), 1)

    return [
        P(
            "huber_loss[mask]",
            "where: optax.huber_loss(fill x, fill y), masked mean",
            "regression_masked",
            lambda x, y, m, w: cl.huber_loss(x, y, mask=m),
            lambda x, y, m, w: mean(m, optax.huber_loss(fill(m, x), fill(m, y))),
        ),
        P(
            "mse_loss[ignore nan]",
            "where: optax.squared_error(fill x, fill y), masked mean",
            "nan_target",
            lambda x, y, m, w: cl.mse_loss(x, y, ignore_value=float("nan")),
            lambda x, y, m, w: (lambda k: mean(k, optax.squared_error(fill(k, x), fill(k, y))))(
                ~jnp.isnan(y)
            ),
        ),
        P(
            "binary_cross_entropy[weight+mask]",
            "where: optax.sigmoid_binary_cross_entropy(fill x, fill y) * fill w",
            "binary_masked",
            lambda x, y, m, w: cl.binary_cross_entropy(x, y, weight=w, mask=m),
            lambda x, y, m, w: mean(
                m, optax.sigmoid_binary_cross_entropy(fill(m, x), fill(m, y)) * fill(m, w)
            ),
        ),
        P(
            "focal_loss[mask]",
            "where: optax.sigmoid_focal_loss(fill x, fill y), masked mean",
            "binary_masked",
            lambda x, y, m, w: cl.focal_loss(x, y, mask=m),
            lambda x, y, m, w: mean(
                m, optax.sigmoid_focal_loss(fill(m, x), fill(m, y), alpha=0.25, gamma=2.0)
            ),
        ),
        P(
            "cross_entropy[mask]",
            "where: optax softmax CE (integer labels) of filled rows, masked mean",
            "classes_masked",
            lambda x, t, m, w: cl.cross_entropy(x, t, mask=m),
            lambda x, t, m, w: mean(
                m, optax.softmax_cross_entropy_with_integer_labels(fill(m[:, None], x), t)
            ),
            elementwise=False,
        ),
    ]
