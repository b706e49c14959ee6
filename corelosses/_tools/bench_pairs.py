"""The benchmark pairs: each corelosses call beside its native peer, per mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

NUM_CLASSES = 32  # cross entropy: (n // C, C) logits
EMBED_DIM = 256  # triplet and NT-Xent: (n // D, D) embeddings
CTC_CLASSES, CTC_LABELS = 32, 16  # CTC: T = 4 S steps, (T, n // (T C), C) log-probabilities


# -------------------------------------------------------------------- pairs
@dataclass
class Pair:
    loss: str
    peer: str
    kind: str  # "binary" | "regression" | "classes" | ...
    ours: Callable
    native: Callable
    elementwise: bool = True
    grad: bool = True
    masked: bool = False  # a masked/weighted call against hand-written idioms (bench_masked)


def _data(kind: str, n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    if kind in ("classes", "nll", "logprobs"):
        c = min(NUM_CLASSES, n)
        x = (rng.standard_normal((n // c, c)) * 2).astype(np.float32)
        if kind != "classes":  # log-probabilities (nll_loss, kl_divergence)
            x = x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
        if kind == "logprobs":  # target probabilities, none 0
            z = np.exp(rng.standard_normal((n // c, c)) * 2)
            return x, (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)
        t = rng.integers(0, c, size=(n // c,)).astype(np.int64)
        return x, t
    if kind == "triplet":  # anchors (n / D, D); positives and negatives stacked: (2, n / D, D)
        d = min(EMBED_DIM, n)
        a = rng.standard_normal((n // d, d)).astype(np.float32)
        pn = a[None] + rng.standard_normal((2, n // d, d)) * np.array([0.5, 1.5])[:, None, None]
        return a, pn.astype(np.float32)
    if kind == "embeddings":  # (n / D, D) embeddings and labels of 8-sample classes
        d = min(EMBED_DIM, n)
        b = max(2, n // d)
        return rng.standard_normal((b, d)).astype(np.float32), np.arange(b) // 8
    if kind == "ctc":  # log-probabilities (T, N, C); targets | input lengths | target lengths
        c, s = CTC_CLASSES, CTC_LABELS
        t_len = 4 * s
        batch = max(1, n // (t_len * c))
        z = rng.standard_normal((t_len, batch, c))
        lp = (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)
        tg = rng.integers(1, c, size=(batch, s))
        il = rng.integers(3 * s, t_len + 1, size=(batch, 1))
        tl = rng.integers(s // 2, s + 1, size=(batch, 1))
        return lp, np.concatenate([tg, il, tl], axis=1).astype(np.int64)
    if kind == "poisson":  # log-rates and counts
        x = (rng.standard_normal(n) * 0.5).astype(np.float32)
        return x, rng.poisson(np.exp(x)).astype(np.float32)
    if kind == "gaussian":  # means, and the targets and variances stacked: (2, n)
        x = (rng.standard_normal(n) * 2).astype(np.float32)
        y = np.stack([rng.standard_normal(n) * 2, rng.uniform(0.5, 2.0, size=n)])
        return x, y.astype(np.float32)
    x = (rng.standard_normal(n) * 2).astype(np.float32)
    if kind == "binary":
        y = (rng.uniform(size=n) > 0.7).astype(np.float32)
    else:
        y = (rng.standard_normal(n) * 2).astype(np.float32)
    return x, y


def torch_pairs() -> list[Pair]:
    import torch
    import torch.nn.functional as F

    import corelosses as cl

    try:  # the real thing when installed
        from torchvision.ops import sigmoid_focal_loss as _tv_focal

        def tv_focal(x, y):
            return _tv_focal(x, y, alpha=0.25, gamma=2.0, reduction="mean")

        tv_name = "torchvision.ops.sigmoid_focal_loss"
    except Exception:  # noqa: BLE001

        def tv_focal(x, y):
            # torchvision.ops.sigmoid_focal_loss, verbatim (reduction="mean")
            alpha, gamma = 0.25, 2.0
            p = torch.sigmoid(x)
            ce_loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
            p_t = p * y + (1 - p) * (1 - y)
            loss = ce_loss * ((1 - p_t) ** gamma)
            alpha_t = alpha * y + (1 - alpha) * (1 - y)
            loss = alpha_t * loss
            return loss.mean()

        tv_name = "torchvision sigmoid_focal_loss (its formula)"

    pairs = [
        Pair("focal_loss", tv_name, "binary", lambda x, y: cl.focal_loss(x, y), tv_focal),
        Pair(
            "cross_entropy",
            "F.cross_entropy",
            "classes",
            lambda x, t: cl.cross_entropy(x, t),
            lambda x, t: F.cross_entropy(x, t),
            elementwise=False,
        ),
        Pair(
            "binary_cross_entropy",
            "F.binary_cross_entropy_with_logits",
            "binary",
            lambda x, y: cl.binary_cross_entropy(x, y),
            lambda x, y: F.binary_cross_entropy_with_logits(x, y),
        ),
        Pair(
            "huber_loss",
            "F.huber_loss",
            "regression",
            lambda x, y: cl.huber_loss(x, y),
            lambda x, y: F.huber_loss(x, y),
        ),
    ]
    pairs += _catalog2_torch_pairs(cl, F)
    pairs += _optional_torch_pairs(cl)
    from .bench_masked import torch_masked_pairs

    return pairs + torch_masked_pairs()


def _catalog2_torch_pairs(cl, F) -> list[Pair]:
    """Divergences and likelihoods against their ``torch.nn.functional`` kernels."""
    return [
        Pair(
            "kl_divergence",
            "F.kl_div (batchmean)",
            "logprobs",
            lambda x, t: cl.kl_divergence(x, t),
            lambda x, t: F.kl_div(x, t, reduction="batchmean"),
        ),
        Pair(
            "nll_loss",
            "F.nll_loss",
            "nll",
            lambda x, t: cl.nll_loss(x, t),
            lambda x, t: F.nll_loss(x, t),
            elementwise=False,
        ),
        Pair(
            "poisson_nll_loss",
            "F.poisson_nll_loss",
            "poisson",
            lambda x, y: cl.poisson_nll_loss(x, y),
            lambda x, y: F.poisson_nll_loss(x, y),
        ),
        Pair(
            "gaussian_nll_loss",
            "F.gaussian_nll_loss",
            "gaussian",
            lambda x, y: cl.gaussian_nll_loss(x, y[0], y[1]),
            lambda x, y: F.gaussian_nll_loss(x, y[0], y[1]),
            elementwise=False,  # three arrays read
        ),
        Pair(
            "triplet_margin_loss",
            "F.triplet_margin_loss",
            "triplet",
            lambda a, pn: cl.triplet_margin_loss(a, pn[0], pn[1]),
            lambda a, pn: F.triplet_margin_loss(a, pn[0], pn[1]),
            elementwise=False,  # three arrays read
        ),
        Pair(
            "ctc_loss",
            "F.ctc_loss",
            "ctc",
            lambda lp, y: cl.ctc_loss(lp, y[:, :-2], y[:, -2], y[:, -1]),
            lambda lp, y: F.ctc_loss(lp, y[:, :-2], y[:, -2], y[:, -1]),
            elementwise=False,  # a recursion over time
        ),
    ]


def _optional_torch_pairs(cl) -> list[Pair]:
    """MONAI's DiceLoss and torchvision's box losses, when both sides exist."""
    out = []
    if hasattr(cl, "dice_loss"):
        try:
            from monai.losses import DiceLoss

            monai_dice = DiceLoss(softmax=True, to_onehot_y=True)

            out.append(
                Pair(
                    "dice_loss",
                    "monai.losses.DiceLoss",
                    "segmentation",
                    lambda x, t: cl.dice_loss(x, t),
                    lambda x, t: monai_dice(x, t[:, None]),
                    elementwise=False,
                )
            )
        except Exception:  # noqa: BLE001 - not installed: skipped
            pass
    out += _catalog3_torch_pairs(cl)
    if hasattr(cl, "box_iou_loss"):
        try:
            from torchvision.ops import generalized_box_iou_loss

            out.append(
                Pair(
                    "box_iou_loss",
                    "torchvision generalized_box_iou_loss",
                    "boxes",
                    lambda p, t: cl.box_iou_loss(p, t, mode="giou"),
                    lambda p, t: generalized_box_iou_loss(p, t, reduction="mean"),
                    elementwise=False,
                )
            )
        except Exception:  # noqa: BLE001
            pass
    return out


def _catalog3_torch_pairs(cl) -> list[Pair]:
    """SSIM, Lovasz-softmax and dice + CE against MONAI and kornia, when installed."""
    out = []
    try:
        from monai.losses import DiceCELoss, SSIMLoss

        monai_ssim = SSIMLoss(spatial_dims=2, data_range=1.0)
        monai_dice_ce = DiceCELoss(softmax=True, to_onehot_y=True)
        out += [
            Pair(
                "ssim_loss",
                "monai.losses.SSIMLoss",
                "image",
                lambda x, y: cl.ssim_loss(x, y),
                lambda x, y: monai_ssim(x, y),
                elementwise=False,  # an 11 x 11 Gaussian window
            ),
            Pair(
                "dice_ce_loss",
                "monai.losses.DiceCELoss",
                "segmentation",
                lambda x, t: cl.dice_ce_loss(x, t),
                lambda x, t: monai_dice_ce(x, t[:, None]),
                elementwise=False,
            ),
        ]
    except Exception:  # noqa: BLE001 - not installed: skipped
        pass
    try:
        from kornia.losses import lovasz_softmax_loss as kornia_lovasz

        out.append(
            Pair(
                "lovasz_softmax_loss",
                "kornia.losses.lovasz_softmax_loss",
                "segmentation",
                # kornia's convention: every class, one value per image, averaged
                lambda x, t: cl.lovasz_softmax_loss(x, t, classes="all", per_image=True),
                kornia_lovasz,
                elementwise=False,  # a sort per image and class
            )
        )
    except Exception:  # noqa: BLE001
        pass
    return out


def _extra_data(kind: str, n: int):
    import numpy as np

    if kind.endswith("_masked") or kind == "nan_target":
        from .bench_masked import masked_data

        return masked_data(kind, n)
    rng = np.random.default_rng(0)
    if kind == "segmentation":  # (N, C, H, W) logits, C = 4
        side = max(2, int((n // 8) ** 0.5))
        x = rng.standard_normal((2, 4, side, side)).astype(np.float32)
        t = rng.integers(0, 4, size=(2, side, side)).astype(np.int64)
        return x, t
    if kind == "image":  # (N, C, H, W) images in [0, 1] and a noisy copy, C = 3
        side = max(16, int((n // 6) ** 0.5))
        img = rng.uniform(size=(2, 3, side, side))
        noisy = np.clip(img + 0.1 * rng.standard_normal(img.shape), 0.0, 1.0)
        return img.astype(np.float32), noisy.astype(np.float32)
    if kind == "boxes":
        m = max(1, n // 4)
        a = rng.uniform(0, 50, size=(m, 2))
        b = rng.uniform(0, 50, size=(m, 2))
        p = np.concatenate([a, a + rng.uniform(1, 20, size=(m, 2))], 1).astype(np.float32)
        t = np.concatenate([b, b + rng.uniform(1, 20, size=(m, 2))], 1).astype(np.float32)
        return p, t
    return _data(kind, n)


def jax_pairs() -> list[Pair]:
    import jax.numpy as jnp
    import optax

    import corelosses as cl

    return [
        Pair(
            "focal_loss",
            "optax.sigmoid_focal_loss",
            "binary",
            lambda x, y: cl.focal_loss(x, y),
            lambda x, y: jnp.mean(optax.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0)),
        ),
        Pair(
            "cross_entropy",
            "optax.softmax_cross_entropy_with_integer_labels",
            "classes",
            lambda x, t: cl.cross_entropy(x, t),
            lambda x, t: jnp.mean(optax.softmax_cross_entropy_with_integer_labels(x, t)),
            elementwise=False,
        ),
        Pair(
            "binary_cross_entropy",
            "optax.sigmoid_binary_cross_entropy",
            "binary",
            lambda x, y: cl.binary_cross_entropy(x, y),
            lambda x, y: jnp.mean(optax.sigmoid_binary_cross_entropy(x, y)),
        ),
        Pair(
            "huber_loss",
            "optax.huber_loss",
            "regression",
            lambda x, y: cl.huber_loss(x, y),
            lambda x, y: jnp.mean(optax.huber_loss(x, y, delta=1.0)),
        ),
        Pair(
            "kl_divergence",
            "optax.kl_divergence",
            "logprobs",
            lambda x, t: cl.kl_divergence(x, t),
            lambda x, t: jnp.mean(optax.kl_divergence(x, t)),
        ),
        Pair(
            "triplet_margin_loss",
            "optax.triplet_margin_loss",
            "triplet",
            # optax adds eps inside the root: the docstring's distance= reproduces it
            lambda a, pn: cl.triplet_margin_loss(a, pn[0], pn[1]),
            lambda a, pn: jnp.mean(optax.losses.triplet_margin_loss(a, pn[0], pn[1])),
            elementwise=False,
        ),
        Pair(
            "ntxent_loss",
            "optax.ntxent",
            "embeddings",
            lambda e, lab: cl.ntxent_loss(e, lab),
            lambda e, lab: optax.losses.ntxent(e, lab),
            elementwise=False,  # (N, N) similarities
        ),
        Pair(
            "ctc_loss",
            "optax.ctc_loss",
            "ctc",
            lambda lp, y: _ctc_ours_batch_major(cl, lp, y),
            lambda lp, y: _ctc_optax(optax, jnp, lp, y),
            elementwise=False,
        ),
    ]


def jax_pairs_all() -> list[Pair]:
    """:func:`jax_pairs` and the masked pairs."""
    from .bench_masked import jax_masked_pairs

    return jax_pairs() + jax_masked_pairs()


def _ctc_ours_batch_major(cl, lp, y):
    # optax's per-sequence values, our reduction "none" (see ctc_loss's docstring); mean
    return cl.ctc_loss(lp, y[:, :-2], y[:, -2], y[:, -1], reduction="none").mean()


def _ctc_optax(optax, jnp, lp, y):
    t, n, _ = lp.shape
    s = y.shape[1] - 2
    steps = jnp.arange(t)[None, :]
    logit_pad = (steps >= y[:, -2:-1]).astype(lp.dtype)
    label_pad = (jnp.arange(s)[None, :] >= y[:, -1:]).astype(lp.dtype)
    per = optax.ctc_loss(jnp.swapaxes(lp, 0, 1), logit_pad, y[:, :-2], label_pad)
    return per.mean()


def numpy_pairs(np=None) -> list[Pair]:
    """Pairs for an array module with NumPy's API: NumPy itself, or CuPy (``np=cupy``)."""
    if np is None:
        import numpy as np

    import corelosses as cl

    def focal(x, y):
        ce = np.logaddexp(0, -x) + (1 - y) * x
        p = 1 / (1 + np.exp(-x))
        p_t = p * y + (1 - p) * (1 - y)
        return np.mean((0.25 * y + 0.75 * (1 - y)) * ce * (1 - p_t) ** 2)

    def ce(x, t):
        m = np.max(x, axis=-1, keepdims=True)
        lse = np.log(np.sum(np.exp(x - m), axis=-1)) + m[:, 0]
        return np.mean(lse - np.take_along_axis(x, t[:, None], axis=-1)[:, 0])

    def huber(x, y):
        a = np.abs(x - y)
        return np.mean(np.where(a < 1.0, 0.5 * a * a, a - 0.5))

    return [
        Pair(
            "focal_loss",
            "NumPy formula",
            "binary",
            lambda x, y: cl.focal_loss(x, y),
            focal,
            grad=False,
        ),
        Pair(
            "cross_entropy",
            "NumPy formula",
            "classes",
            lambda x, t: cl.cross_entropy(x, t),
            ce,
            elementwise=False,
            grad=False,
        ),
        Pair(
            "binary_cross_entropy",
            "NumPy formula",
            "binary",
            lambda x, y: cl.binary_cross_entropy(x, y),
            lambda x, y: np.mean(np.logaddexp(0, -x) + (1 - y) * x),
            grad=False,
        ),
        Pair(
            "huber_loss",
            "NumPy formula",
            "regression",
            lambda x, y: cl.huber_loss(x, y),
            huber,
            grad=False,
        ),
    ]
