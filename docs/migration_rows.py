"""The migration guide as data: one row per peer call, executed by ``tests/test_migration.py``.

Each :class:`Row` holds two Python expressions, the peer's call and the corelosses call
that gives the same number (the exact expression where conventions differ). The test
evaluates both in a namespace holding ``F`` (``torch.nn.functional``), ``torch``,
``jax``, ``jnp``, ``optax``, ``keras``, ``monai``, ``kornia``, ``pml``
(``pytorch_metric_learning``), ``sklearn``, ``torchvision``, ``smp``, ``cl``
(corelosses) and the arrays of the row's input builder (:data:`INPUTS`), converted to
the row's framework (:data:`FRAMEWORK`); it compares the values (float64 inputs) and,
with ``grad=True``, the gradients with respect to the first floating input both
expressions use. ``docs/_generate.py`` renders ``docs/migration.md`` from
:func:`by_peer` and :data:`PEER_NOTES`, so the tables show exactly what is tested.

This module imports NumPy only (no framework): the builders return NumPy arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# peer key -> section title (the order of the guide)
SECTIONS = {
    "torch": "torch.nn.functional",
    "torchvision": "torchvision.ops",
    "keras": "Keras 3",
    "optax": "optax",
    "monai": "MONAI",
    "kornia": "kornia",
    "smp": "segmentation_models_pytorch",
    "pytorch_msssim": "pytorch-msssim",
    "pml": "pytorch-metric-learning",
    "sklearn": "scikit-learn",
}

# the framework a peer's arrays live in ("keras": the backend Keras was imported with)
FRAMEWORK = {"optax": "jax", "keras": "keras", "sklearn": "numpy"}

# modules a peer's rows need (a row adds its own in ``requires``)
PEER_REQUIRES = {
    "torch": ("torch",),
    "torchvision": ("torch",),
    "keras": ("keras",),
    "optax": ("jax", "optax"),
    "monai": ("torch", "monai"),
    "kornia": ("torch", "kornia"),
    "smp": ("torch",),
    "pytorch_msssim": ("torch", "pytorch_msssim"),
    "pml": ("torch", "pytorch_metric_learning"),
    "sklearn": ("sklearn",),
}

PEER_NOTES = {
    "torch.nn.functional": (
        'Same argument order (`input, target`) and the same default reduction (`"mean"`). '
        "Options that PyTorch spells differently: `weight=` (a per-class weight) is "
        "`class_weight=`; corelosses' `weight=` is a per-element weight. PyTorch ignores "
        "targets equal to `-100` by default; corelosses ignores nothing unless `ignore_index=` "
        'is given. `F.kl_div`\'s `"batchmean"` is the KL divergence (our `"mean"`); its '
        '`"mean"` also averages over the classes.'
    ),
    "torchvision.ops": (
        "torchvision does not import with the CPU-only torch of the test environment: these "
        "rows are checked against torchvision's formulas written out in the test "
        "(`tests/test_migration.py`, `_TorchvisionOps`), and against torchvision itself where "
        'it imports. torchvision\'s box losses default to `reduction="none"`, ours to '
        '`"mean"`; `sigmoid_focal_loss` also defaults to `"none"` and treats `alpha=-1` '
        "as no class balancing (our `alpha=None`)."
    ),
    "Keras 3": (
        "Keras takes `(y_true, y_pred)`: the target first. Its loss functions "
        "(`keras.losses.mean_squared_error`, ...) return one value per sample, the mean over "
        "the last axis; its `Loss` classes then average those over the batch "
        '(`"sum_over_batch_size"`), which equals our `"mean"`. Keras\' `"sum"` sums the '
        'per-sample means: our `"sum"` divided by the size of the last axis. Keras\' `Loss` classes cast to '
        "`floatx` (float32): the rows compare at float32 tolerance. Run with "
        "`KERAS_BACKEND=torch` (or jax): corelosses takes the backend's arrays directly."
    ),
    "optax": (
        "optax returns one loss per example (no reduction): the equivalent is "
        '`reduction="none"`, and `jnp.mean(optax...)` is our default `"mean"`. Labels come '
        "second as in corelosses. `optax.losses.sigmoid_focal_loss` defaults to `alpha=None`, "
        "ours to `alpha=0.25` (torchvision's)."
    ),
    "MONAI": (
        "MONAI's segmentation losses take channel-first logits and, with `to_onehot_y=True`, "
        "integer labels of shape `(N, 1, ...)`; corelosses takes the labels as `(N, ...)` "
        "(or one-hot `(N, C, ...)`). MONAI's default smoothing is `smooth_nr = smooth_dr = "
        "1e-5`, ours `smooth=1` in numerator and denominator: pass `smooth=` to match. Its "
        '`"mean"` averages the per-sample, per-class losses, as ours does. MONAI\'s '
        "`squared_pred=True` (squared terms in the Dice denominator) has no corelosses "
        "equivalent."
    ),
    "kornia": (
        "kornia's robust losses are the scale `c = 1` members of Barron's family: "
        "`kornia(x / c, y / c)` is `cl.robust_loss(x, y, alpha=..., scale=c)`. Its Dice and "
        "Tversky losses add `eps` to the denominator only: ours with `smooth=0` agree to ~1e-8. "
        "`kornia.losses.focal_loss` weighs class 0 by `1 - alpha` and the others by `alpha`, and "
        "its mean also runs over the classes."
    ),
    "segmentation_models_pytorch": (
        "smp does not install with the CPU torch here: these rows are checked against its "
        "formula written out in the test (`tests/test_migration.py`, `_SmpLosses`). smp "
        "aggregates the Dice/Tversky statistics over the whole batch (one score per class), "
        "zeroes classes absent from the batch and averages over the classes: ours on the batch "
        "folded into one sample (every class present). Its `TverskyLoss(gamma=)` raises the "
        "class mean to `gamma`."
    ),
    "pytorch-metric-learning": (
        "Same call `(embeddings, labels)`. The defaults match (normalised embeddings, pml's "
        "temperatures and margins); pml's `CircleLoss(m=)` is our `margin=`. pml's ArcFace / "
        "CosFace losses own their class weights `W`; `cl.margin_softmax_loss` takes the cosine "
        "logits `normalize(e) @ normalize(W)`, so the weights stay in your model."
    ),
    "scikit-learn": "scikit-learn metrics take `(y_true, y_pred)` and return the mean.",
}


@dataclass(frozen=True)
class Row:
    """One executable line of the guide."""

    peer: str  # a key of SECTIONS
    peer_call: str
    ours: str
    inputs: str  # a key of INPUTS
    note: str = ""
    rtol: float = 1e-6
    atol: float = 1e-8
    requires: tuple[str, ...] = ()
    grad: bool = True

    @property
    def framework(self) -> str:
        return FRAMEWORK.get(self.peer, "torch")

    @property
    def modules(self) -> tuple[str, ...]:
        return PEER_REQUIRES[self.peer] + tuple(self.requires)

    @property
    def functions(self) -> tuple[str, ...]:
        """The corelosses functions ``ours`` calls (a row is skipped while one is missing)."""
        return tuple(dict.fromkeys(re.findall(r"\bcl\.(\w+)", self.ours)))

    @property
    def id(self) -> str:
        return f"{self.peer}:{self.peer_call}"


# ------------------------------------------------------------------ inputs
def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _cls(rng):
    n, c = 6, 5
    x = rng.normal(size=(n, c)) * 1.5
    t = rng.integers(0, c, size=n)
    t[:c] = np.arange(c)  # every class present
    ti = t.copy()
    ti[[1, 4]] = -100
    k = np.ones((n, c), bool)
    k[0, 1] = k[3, 4] = k[5, 0] = False  # classes excluded per row (optax where=)
    k[np.arange(n), t] = True
    return {
        "x": x,
        "xm": np.where(k, x, -np.inf),
        "t": t,
        "ti": ti,
        "p": _softmax(rng.normal(size=(n, c))),
        "oh": np.eye(c)[t],
        "cw": rng.uniform(0.5, 2.0, size=c),
        "k": k,
        "w": rng.uniform(0.5, 2.0, size=n),
    }


def _probs(rng):
    d = _cls(rng)
    return {"sm": _softmax(rng.normal(size=(6, 5))), "oh": d["oh"], "t": d["t"]}


def _cls3(rng):
    return {
        "x": rng.normal(size=(3, 4, 5)),
        "p": _softmax(rng.normal(size=(3, 20)), -1).reshape(3, 4, 5),
    }


def _img(rng):
    x = rng.normal(size=(2, 4, 3, 3))
    t = rng.integers(0, 4, size=(2, 3, 3))
    t[0, 0, :] = [0, 1, 2]
    t[1, 0, :] = [3, 2, 1]
    return {"x": x, "t": t}


def _binary(rng):
    n, c = 6, 4
    y = (rng.uniform(size=(n, c)) > 0.5).astype(float)
    return {
        "x": rng.normal(size=(n, c)) * 2,
        "y": y,
        "s": 2 * y - 1,
        "ys": rng.uniform(size=(n, c)),
        "pw": rng.uniform(0.5, 3.0, size=c),
        "w": rng.uniform(0.5, 2.0, size=(n, c)),
    }


def _binary_probs(rng):
    return {
        "pr": rng.uniform(0.05, 0.95, size=(6, 4)),
        "y": (rng.uniform(size=(6, 4)) > 0.5).astype(float),
    }


def _dist(rng):
    lp = np.log(_softmax(rng.normal(size=(6, 5))))
    lq = np.log(_softmax(rng.normal(size=(6, 5))))
    return {"lp": lp, "q": np.exp(lq), "lq": lq, "r": rng.uniform(0.0, 2.0, size=(6, 5))}


def _multilabel(rng):
    n, c = 6, 5
    yb = (rng.uniform(size=(n, c)) > 0.5).astype(float)
    yb[0] = 0.0
    yb[0, 2] = 1.0
    yi = -np.ones((n, c), dtype=np.int64)
    for i in range(n):
        idx = np.flatnonzero(yb[i])
        yi[i, : len(idx)] = idx
    return {"x": rng.normal(size=(n, c)), "yi": yi, "yb": yb, "cw": rng.uniform(0.5, 2.0, size=c)}


def _reg(rng):
    n, c = 6, 4
    return {
        "x": rng.normal(size=(n, c)) * 2,
        "y": rng.normal(size=(n, c)) * 2,
        "var": rng.uniform(0.2, 2.0, size=(n, c)),
        "sw": rng.uniform(0.5, 2.0, size=n),
    }


def _positive(rng):
    return {"x": rng.uniform(0.1, 3.0, size=(6, 4)), "y": rng.uniform(0.1, 3.0, size=(6, 4))}


def _counts(rng):
    return {
        "x": rng.normal(size=(6, 4)) * 0.5,
        "r": rng.uniform(0.2, 3.0, size=(6, 4)),
        "n": rng.poisson(1.5, size=(6, 4)).astype(float),
    }


def _pairs(rng):
    return {
        "a": rng.normal(size=(6, 4)),
        "b": rng.normal(size=(6, 4)),
        "d": rng.uniform(0.0, 2.0, size=6),
        "x1": rng.normal(size=6),
        "x2": rng.normal(size=6),
        "s": np.array([1.0, -1.0, 1.0, -1.0, -1.0, 1.0]),
    }


def _triplets(rng):
    return {
        "anc": rng.normal(size=(6, 4)),
        "pos": rng.normal(size=(6, 4)),
        "neg": rng.normal(size=(6, 4)),
    }


def _embeddings(rng):
    e = rng.normal(size=(9, 4))
    return {
        "e": e,
        "u": e / np.linalg.norm(e, axis=1, keepdims=True),
        "lab": rng.permutation(np.array([0, 0, 0, 1, 1, 2, 2, 3, 4])),
    }


def _classifier(rng):
    return {
        "e": rng.normal(size=(6, 4)),
        "lab": rng.integers(0, 5, size=6),
        # class weights exact in float32 (pml keeps its weights in float32)
        "W": rng.normal(size=(4, 5)).astype(np.float32).astype(np.float64),
    }


def _cosines(rng):
    return {"cos": np.tanh(rng.normal(size=(6, 5))), "t": rng.integers(0, 5, size=6)}


def _ctc(rng):
    T, N, C, S = 8, 3, 5, 3
    z = rng.normal(size=(T, N, C))
    tg = rng.integers(1, C, size=(N, S))
    tl = np.array([3, 2, 1])
    tg[np.arange(S)[None, :] >= tl[:, None]] = 0
    il = np.array([8, 7, 6])
    return {
        "zt": z,  # (T, N, C) logits (PyTorch)
        "z": np.swapaxes(z, 0, 1).copy(),  # (N, T, C) logits (optax, Keras)
        "tg": tg,
        "il": il,
        "tl": tl,
        "zpad": (np.arange(T)[None, :] >= il[:, None]).astype(float),
        "tpad": (np.arange(S)[None, :] >= tl[:, None]).astype(float),
        "full": np.full(N, T),
    }


def _ranking(rng):
    r = rng.integers(0, 3, size=(3, 6)).astype(float)
    r[:, 0] = 2.0
    return {"sc": rng.normal(size=(3, 6)), "rel": r}


def _seg(rng):
    x = rng.normal(size=(3, 3, 6, 5)) * 1.5
    t = rng.integers(0, 3, size=(3, 6, 5))
    t[:, 0, :3] = [0, 1, 2]  # every class in every sample
    return {"x": x, "t": t, "t1": t[:, None], "oh": np.moveaxis(np.eye(3)[t], -1, 1)}


def _seg_binary(rng):
    x = rng.normal(size=(2, 3, 4, 5)) * 1.5
    y = (rng.uniform(size=(2, 3, 4, 5)) > 0.6).astype(float)
    y[:, :, 0, 0] = 1.0
    return {"x": x, "y": y}


def _images(rng):
    im = rng.uniform(size=(2, 2, 12, 13))
    ref = np.clip(im + 0.2 * rng.normal(size=im.shape), 0.0, 1.0)
    im3 = rng.uniform(size=(1, 2, 35, 38))  # room for three scales
    ref3 = np.clip(im3 + 0.2 * rng.normal(size=im3.shape), 0.0, 1.0)
    return {"im": im, "ref": ref, "im3": im3, "ref3": ref3}


def _ddf(rng):
    return {"ddf": rng.normal(size=(2, 2, 8, 9))}  # a 2-D displacement field (N, 2, H, W)


def _masks(rng):
    y = (rng.uniform(size=(3, 6, 5)) > 0.6).astype(float)
    y[:, 0, 0] = 1.0
    return {"pk": rng.uniform(0.01, 0.99, size=(3, 6, 5)), "yk": y}


def _boxes(rng):
    def boxes():
        xy = rng.uniform(0, 10, size=(6, 2))
        wh = rng.uniform(1, 5, size=(6, 2))
        return np.concatenate([xy, xy + wh], -1)

    b1, b2 = boxes(), boxes()
    b2[:3] = b1[:3] + rng.uniform(-1, 1, size=(3, 4))  # overlapping pairs
    b2[:3, 2:] = np.maximum(b2[:3, 2:], b2[:3, :2] + 0.5)
    return {"b1": b1, "b2": b2}


def _simplex(rng):
    return {"x": rng.normal(size=(6, 5)), "y": (rng.uniform(size=(6, 5)) > 0.5).astype(float)}


INPUTS = {
    "cls": _cls,
    "probs": _probs,
    "cls3": _cls3,
    "img": _img,
    "binary": _binary,
    "binary_probs": _binary_probs,
    "dist": _dist,
    "multilabel": _multilabel,
    "reg": _reg,
    "positive": _positive,
    "counts": _counts,
    "pairs": _pairs,
    "triplets": _triplets,
    "embeddings": _embeddings,
    "cosines": _cosines,
    "classifier": _classifier,
    "ctc": _ctc,
    "ranking": _ranking,
    "seg": _seg,
    "seg_binary": _seg_binary,
    "images": _images,
    "ddf": _ddf,
    "masks": _masks,
    "boxes": _boxes,
    "simplex": _simplex,
}

# what the arrays of the rows are (a legend for the guide)
ARRAYS = {
    "x": "logits, scores or predictions: `(N, C)`, `(N, C, H, W)` for segmentation",
    "t": "class indices `(N,)` (`(N, H, W)` for segmentation)",
    "ti": "class indices with some entries `-100` (ignored)",
    "t1": "segmentation labels with a channel axis `(N, 1, H, W)` (MONAI)",
    "p": "probability targets `(N, C)`",
    "oh": "one-hot targets",
    "sm": "predicted probabilities (a softmax output)",
    "cw": "per-class weights `(C,)`",
    "w": "per-sample (per-element) weights",
    "sw": "Keras `sample_weight`, one per sample `(N,)`",
    "k": "a boolean `(N, C)` mask of the classes that take part (optax `where=`)",
    "y": "binary `{0, 1}` targets (regression targets for the regression rows)",
    "s": "`{-1, 1}` targets",
    "ys": "soft binary targets in `[0, 1]`",
    "pw": "`pos_weight`, one per class",
    "pr": "predicted probabilities in `(0, 1)`",
    "lp": "log-probabilities (input)",
    "q": "target probabilities",
    "lq": "target log-probabilities",
    "r": "non-negative, unnormalised targets",
    "yi": "multi-label targets as class indices padded with `-1`",
    "yb": "multi-label `{0, 1}` targets",
    "var": "predicted variances",
    "n": "observed counts (Poisson targets)",
    "a": "embeddings `(N, D)`",
    "b": "embeddings `(N, D)`",
    "d": "distances `(N,)`",
    "x1": "scores `(N,)`",
    "x2": "scores `(N,)`",
    "anc": "anchor embeddings",
    "pos": "positive embeddings",
    "neg": "negative embeddings",
    "e": "embeddings `(N, D)`",
    "u": "unit-norm embeddings",
    "lab": "class labels of the embeddings `(N,)`",
    "cos": "cosine logits `(N, C)`",
    "W": "the class weights of a cosine classifier `(D, C)`",
    "zt": "CTC logits `(T, N, C)`",
    "z": "CTC logits `(N, T, C)`",
    "tg": "CTC targets `(N, S)`, padded with 0",
    "il": "input lengths `(N,)`",
    "tl": "target lengths `(N,)`",
    "full": "input lengths, all `T`",
    "zpad": "optax logit paddings `(N, T)` (1 = padding)",
    "tpad": "optax label paddings `(N, S)`",
    "sc": "ranking scores `(lists, items)`",
    "rel": "relevance labels",
    "pk": "predicted foreground probabilities `(N, H, W)`",
    "yk": "binary masks `(N, H, W)`",
    "xm": "logits with `-inf` at the excluded classes",
    "b1": "predicted boxes `(N, 4)`, `xyxy`",
    "b2": "target boxes `(N, 4)`, `xyxy`",
    "im": "images in [0, 1] `(N, C, H, W)` (the prediction)",
    "ref": "images in [0, 1] `(N, C, H, W)` (the reference)",
    "im3": "images large enough for three scales of MS-SSIM",
    "ref3": "their references",
    "ddf": "a displacement field `(N, 2, H, W)` (registration)",
}

# ------------------------------------------------------------------- rows
K32 = {"rtol": 2e-5, "atol": 1e-6}  # Keras computes in float32

ROWS: list[Row] = [
    # ---------------------------------------------------------------- torch
    Row("torch", "F.cross_entropy(x, t)", "cl.cross_entropy(x, t)", "cls"),
    Row(
        "torch",
        'F.cross_entropy(x, t, reduction="sum")',
        'cl.cross_entropy(x, t, reduction="sum")',
        "cls",
    ),
    Row(
        "torch",
        'F.cross_entropy(x, t, reduction="none")',
        'cl.cross_entropy(x, t, reduction="none")',
        "cls",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, t, label_smoothing=0.1)",
        "cl.cross_entropy(x, t, label_smoothing=0.1)",
        "cls",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, t, weight=cw)",
        "cl.cross_entropy(x, t, class_weight=cw)",
        "cls",
        "PyTorch's per-class `weight` is `class_weight`; the mean divides by the sum of the targets' class weights in both",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, t, weight=cw, label_smoothing=0.2)",
        "cl.cross_entropy(x, t, class_weight=cw, label_smoothing=0.2)",
        "cls",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, ti)",
        "cl.cross_entropy(x, ti, ignore_index=-100)",
        "cls",
        "PyTorch ignores -100 by default; corelosses only with `ignore_index=`",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, ti, weight=cw, ignore_index=-100)",
        "cl.cross_entropy(x, ti, class_weight=cw, ignore_index=-100)",
        "cls",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, p)",
        "cl.cross_entropy(x, p)",
        "cls",
        "probability targets: same call",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, p, label_smoothing=0.2)",
        "cl.cross_entropy(x, p, label_smoothing=0.2)",
        "cls",
    ),
    Row(
        "torch",
        'F.cross_entropy(x, t, reduction="none") * w',
        'cl.cross_entropy(x, t, weight=w, reduction="none")',
        "cls",
        "`weight=` is per sample (per element), not per class",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, t)",
        "cl.cross_entropy(x, t, axis=1)",
        "img",
        "`(N, C, H, W)` logits: the class axis is an option (default -1, the last)",
    ),
    Row(
        "torch",
        "F.nll_loss(F.log_softmax(x, -1), t)",
        "cl.nll_loss(F.log_softmax(x, -1), t)",
        "cls",
    ),
    Row(
        "torch",
        "F.nll_loss(F.log_softmax(x, -1), ti, weight=cw)",
        "cl.nll_loss(F.log_softmax(x, -1), ti, class_weight=cw, ignore_index=-100)",
        "cls",
    ),
    Row(
        "torch",
        "F.nll_loss(F.log_softmax(x, 1), t)",
        "cl.nll_loss(F.log_softmax(x, 1), t, axis=1)",
        "img",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, t)",
        "cl.softmax_focal_loss(x, t, gamma=0.0)",
        "cls",
        "the focal loss with `gamma=0` and no `alpha` is the cross-entropy",
    ),
    Row(
        "torch",
        "F.cross_entropy(x, t)",
        "cl.bi_tempered_logistic_loss(x, t, t1=1.0, t2=1.0)",
        "cls",
        "`t1 = t2 = 1` is the cross-entropy",
    ),
    Row(
        "torch",
        "F.binary_cross_entropy_with_logits(x, y)",
        "cl.binary_cross_entropy(x, y)",
        "binary",
        "logits by default",
    ),
    Row(
        "torch",
        "F.binary_cross_entropy_with_logits(x, y, pos_weight=pw)",
        "cl.binary_cross_entropy(x, y, pos_weight=pw)",
        "binary",
    ),
    Row(
        "torch",
        "F.binary_cross_entropy_with_logits(x, y, weight=w)",
        "cl.binary_cross_entropy(x, y, weight=w)",
        "binary",
    ),
    Row(
        "torch",
        "F.binary_cross_entropy_with_logits(x, ys)",
        "cl.binary_cross_entropy(x, ys)",
        "binary",
        "soft targets",
    ),
    Row(
        "torch",
        "F.binary_cross_entropy(pr, y)",
        "cl.binary_cross_entropy(pr, y, from_logits=False)",
        "binary_probs",
        "probabilities: `from_logits=False`",
    ),
    Row(
        "torch",
        "F.binary_cross_entropy_with_logits(x, y)",
        "cl.bi_tempered_binary_logistic_loss(x, y, t1=1.0, t2=1.0)",
        "binary",
        "`t1 = t2 = 1` is the logistic loss",
    ),
    Row(
        "torch",
        "F.softmax(x, -1)",
        "cl.tempered_softmax(x, t=1.0)",
        "cls",
        "`t = 1` is the softmax",
    ),
    Row(
        "torch",
        "F.binary_cross_entropy_with_logits(x, y, pos_weight=pw)",
        "cl.focal_loss(x, y, gamma=0.0, alpha=None, pos_weight=pw)",
        "binary",
        "the sigmoid focal loss with `gamma=0`, `alpha=None`",
    ),
    Row(
        "torch",
        'F.kl_div(lp, q, reduction="batchmean")',
        "cl.kl_divergence(lp, q)",
        "dist",
        'our `"mean"` is PyTorch\'s `"batchmean"`: the sum over the classes, averaged over the rows',
    ),
    Row(
        "torch",
        "F.kl_div(lp, q)",
        "cl.kl_divergence(lp, q) / q.shape[-1]",
        "dist",
        'PyTorch\'s default `"mean"` also divides by the number of classes',
    ),
    Row(
        "torch",
        'F.kl_div(lp, q, reduction="sum")',
        'cl.kl_divergence(lp, q, reduction="sum")',
        "dist",
    ),
    Row(
        "torch",
        'F.kl_div(lp, q, reduction="none").sum(-1)',
        'cl.kl_divergence(lp, q, reduction="none")',
        "dist",
        '`"none"` is one value per row (summed over the class axis)',
    ),
    Row(
        "torch",
        'F.kl_div(lp, lq, reduction="batchmean", log_target=True)',
        "cl.kl_divergence(lp, lq, log_target=True)",
        "dist",
    ),
    Row(
        "torch",
        "F.multi_margin_loss(x, t)",
        'cl.multiclass_hinge_loss(x, t, kind="weston_watkins")',
        "cls",
        "PyTorch's is the Weston-Watkins hinge (sum over the wrong classes / C); our default `kind` is Crammer-Singer",
    ),
    Row(
        "torch",
        "F.multi_margin_loss(x, t, p=2, margin=0.5, weight=cw)",
        'cl.multiclass_hinge_loss(x, t, kind="weston_watkins", p=2, margin=0.5, class_weight=cw)',
        "cls",
    ),
    Row(
        "torch",
        "F.multilabel_margin_loss(x, yi)",
        "cl.multilabel_margin_loss(x, yi)",
        "multilabel",
        "targets: class indices padded with -1",
    ),
    Row(
        "torch",
        "F.multilabel_soft_margin_loss(x, yb)",
        "cl.multilabel_soft_margin_loss(x, yb)",
        "multilabel",
    ),
    Row(
        "torch",
        "F.multilabel_soft_margin_loss(x, yb, weight=cw)",
        "cl.multilabel_soft_margin_loss(x, yb, class_weight=cw)",
        "multilabel",
    ),
    Row(
        "torch",
        "F.soft_margin_loss(x, s)",
        "cl.soft_margin_loss(x, s)",
        "binary",
        "targets in {-1, 1}",
    ),
    Row("torch", "F.mse_loss(x, y)", "cl.mse_loss(x, y)", "reg"),
    Row("torch", 'F.mse_loss(x, y, reduction="sum")', 'cl.mse_loss(x, y, reduction="sum")', "reg"),
    Row("torch", "F.l1_loss(x, y)", "cl.l1_loss(x, y)", "reg"),
    Row("torch", "F.huber_loss(x, y, delta=0.5)", "cl.huber_loss(x, y, delta=0.5)", "reg"),
    Row("torch", "F.smooth_l1_loss(x, y, beta=0.5)", "cl.smooth_l1_loss(x, y, beta=0.5)", "reg"),
    Row(
        "torch",
        "F.gaussian_nll_loss(x, y, var)",
        "cl.gaussian_nll_loss(x, y, var)",
        "reg",
        "the variance is positional",
    ),
    Row(
        "torch",
        "F.gaussian_nll_loss(x, y, var, full=True, eps=0.5)",
        "cl.gaussian_nll_loss(x, y, var, full=True, eps=0.5)",
        "reg",
    ),
    Row(
        "torch",
        "F.poisson_nll_loss(x, n)",
        "cl.poisson_nll_loss(x, n)",
        "counts",
        "log-rate input by default",
    ),
    Row(
        "torch",
        "F.poisson_nll_loss(r, n, log_input=False, full=True)",
        "cl.poisson_nll_loss(r, n, log_input=False, full=True)",
        "counts",
    ),
    Row(
        "torch",
        "F.cosine_embedding_loss(a, b, s, margin=0.2)",
        "cl.cosine_embedding_loss(a, b, s, margin=0.2)",
        "pairs",
    ),
    Row(
        "torch",
        "F.hinge_embedding_loss(d, s, margin=1.5)",
        "cl.hinge_embedding_loss(d, s, margin=1.5)",
        "pairs",
    ),
    Row(
        "torch",
        "F.margin_ranking_loss(x1, x2, s, margin=0.1)",
        "cl.margin_ranking_loss(x1, x2, s, margin=0.1)",
        "pairs",
    ),
    Row(
        "torch",
        "F.triplet_margin_loss(anc, pos, neg)",
        "cl.triplet_margin_loss(anc, pos, neg)",
        "triplets",
    ),
    Row(
        "torch",
        "F.triplet_margin_loss(anc, pos, neg, margin=0.5, p=1, swap=True)",
        "cl.triplet_margin_loss(anc, pos, neg, margin=0.5, p=1, swap=True)",
        "triplets",
    ),
    Row(
        "torch",
        "F.triplet_margin_with_distance_loss(anc, pos, neg, distance_function=lambda a, b: 1 - F.cosine_similarity(a, b))",
        "cl.triplet_margin_loss(anc, pos, neg, distance=lambda a, b: 1 - F.cosine_similarity(a, b))",
        "triplets",
        "any distance: `distance=`",
    ),
    Row(
        "torch",
        "F.ctc_loss(F.log_softmax(zt, -1), tg, il, tl)",
        "cl.ctc_loss(F.log_softmax(zt, -1), tg, il, tl)",
        "ctc",
        "`(T, N, C)` log-probabilities; PyTorch's gradient assumes they come from a log-softmax, so both go through one",
    ),
    Row(
        "torch",
        'F.ctc_loss(F.log_softmax(zt, -1), tg, il, tl, blank=0, reduction="sum", zero_infinity=True)',
        'cl.ctc_loss(F.log_softmax(zt, -1), tg, il, tl, blank=0, reduction="sum", zero_infinity=True)',
        "ctc",
    ),
    # --------------------------------------------------------- torchvision
    Row(
        "torchvision",
        'torchvision.ops.sigmoid_focal_loss(x, y, reduction="mean")',
        "cl.focal_loss(x, y)",
        "binary",
        "torchvision not importable with the CPU torch here: checked against its formula",
    ),
    Row(
        "torchvision",
        "torchvision.ops.sigmoid_focal_loss(x, y, alpha=-1, gamma=1.5)",
        'cl.focal_loss(x, y, alpha=None, gamma=1.5, reduction="none")',
        "binary",
        '`alpha=-1` (no balancing) is `alpha=None`; torchvision\'s default reduction is `"none"`',
    ),
    Row(
        "torchvision",
        "torchvision.ops.generalized_box_iou_loss(b1, b2)",
        'cl.box_iou_loss(b1, b2, mode="giou", reduction="none")',
        "boxes",
        "`(x1, y1, x2, y2)` boxes",
    ),
    Row(
        "torchvision",
        'torchvision.ops.distance_box_iou_loss(b1, b2, reduction="mean")',
        'cl.box_iou_loss(b1, b2, mode="diou")',
        "boxes",
    ),
    Row(
        "torchvision",
        'torchvision.ops.complete_box_iou_loss(b1, b2, reduction="sum")',
        'cl.box_iou_loss(b1, b2, mode="ciou", reduction="sum")',
        "boxes",
    ),
    # --------------------------------------------------------------- Keras
    Row(
        "keras",
        "keras.losses.BinaryCrossentropy(from_logits=True)(y, x)",
        "cl.binary_cross_entropy(x, y)",
        "binary",
        "target first in Keras",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.binary_crossentropy(y, x, from_logits=True)",
        'cl.binary_cross_entropy(x, y, reduction="none").mean(-1)',
        "binary",
        "the function form: per-sample mean over the last axis",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(y, x)",
        "cl.binary_cross_entropy(x, y, label_smoothing=0.1)",
        "binary",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.BinaryCrossentropy()(y, pr)",
        "cl.binary_cross_entropy(pr, y, from_logits=False)",
        "binary_probs",
        "Keras takes probabilities by default",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CategoricalCrossentropy(from_logits=True)(p, x)",
        "cl.cross_entropy(x, p)",
        "cls",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(oh, x)",
        "cl.cross_entropy(x, t, label_smoothing=0.1)",
        "cls",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.SparseCategoricalCrossentropy(from_logits=True)(t, x)",
        "cl.cross_entropy(x, t)",
        "cls",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CategoricalCrossentropy()(oh, sm)",
        "cl.cross_entropy(sm / keras.ops.sum(sm, -1, keepdims=True), oh, from_logits=False)",
        "probs",
        "probabilities: `from_logits=False`; Keras renormalises them (and clips them to [1e-7, 1 - 1e-7])",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=True)(oh, x)",
        "cl.softmax_focal_loss(x, t, alpha=0.25, gamma=2.0)",
        "cls",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1)(oh, x)",
        "cl.softmax_focal_loss(x, t, alpha=0.25, label_smoothing=0.1)",
        "cls",
        "Keras' `alpha` defaults to 0.25, ours to None",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True)(y, x)",
        "cl.focal_loss(x, y)",
        "binary",
        "Keras balances the classes only with `apply_class_balancing=True`",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)(y, x)",
        "cl.focal_loss(x, y, alpha=None)",
        "binary",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CategoricalGeneralizedCrossEntropy(q=0.5)(t, sm)",
        "cl.generalized_cross_entropy(sm, t, q=0.5, from_logits=False)",
        "probs",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.KLDivergence()(oh, sm)",
        "cl.kl_divergence(keras.ops.clip(sm, 1e-7, 1.0), keras.ops.clip(oh, 1e-7, 1.0), log_input=False)",
        "probs",
        "Keras clips both distributions to [1e-7, 1]",
        **K32,
    ),
    Row("keras", "keras.losses.Hinge()(s, x)", "cl.hinge_loss(x, s)", "binary", **K32),
    Row(
        "keras",
        "keras.losses.Hinge()(y, x)",
        "cl.hinge_loss(x, y)",
        "binary",
        "{0, 1} labels are mapped to {-1, 1} in both",
        **K32,
    ),
    Row(
        "keras", "keras.losses.SquaredHinge()(s, x)", "cl.squared_hinge_loss(x, s)", "binary", **K32
    ),
    Row(
        "keras",
        "keras.losses.CategoricalHinge()(oh, x)",
        "cl.multiclass_hinge_loss(keras.ops.pad(x, ((0, 0), (0, 1))), t)",
        "cls",
        "Keras floors the best wrong score at 0: a zero column that is never the target reproduces it",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.Dice(axis=(1, 2))(yk, pk)",
        "cl.dice_loss(pk[:, None], yk[:, None], activation=None, smooth=0.0)",
        "masks",
        "Keras takes probabilities, no smoothing (epsilon 1e-7 in the denominator); `axis` = the spatial axes",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.Tversky(alpha=0.3, beta=0.7, axis=(1, 2))(yk, pk)",
        "cl.tversky_loss(pk[:, None], yk[:, None], alpha=0.7, beta=0.3, activation=None, smooth=0.0)",
        "masks",
        "Keras' `alpha` weighs the false negatives, ours (MONAI's) the false positives: swap them",
        **K32,
    ),
    Row("keras", "keras.losses.MeanSquaredError()(y, x)", "cl.mse_loss(x, y)", "reg", **K32),
    Row(
        "keras",
        'keras.losses.MeanSquaredError(reduction="sum")(y, x)',
        'cl.mse_loss(x, y, reduction="sum") / x.shape[-1]',
        "reg",
        "Keras sums the per-sample means",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.MeanSquaredError(reduction=None)(y, x)",
        'cl.mse_loss(x, y, reduction="none").mean(-1)',
        "reg",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.MeanSquaredError()(y, x, sample_weight=sw)",
        "cl.mse_loss(x, y, weight=sw[:, None])",
        "reg",
        "one weight per sample: broadcast it over the last axis",
        **K32,
    ),
    Row("keras", "keras.losses.MeanAbsoluteError()(y, x)", "cl.l1_loss(x, y)", "reg", **K32),
    Row(
        "keras",
        "keras.losses.Huber(delta=0.5)(y, x)",
        "cl.huber_loss(x, y, delta=0.5)",
        "reg",
        **K32,
    ),
    Row("keras", "keras.losses.LogCosh()(y, x)", "cl.log_cosh_loss(x, y)", "reg", **K32),
    Row(
        "keras",
        "keras.losses.MeanAbsolutePercentageError()(y, x)",
        "cl.mape_loss(x, y)",
        "positive",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.MeanSquaredLogarithmicError()(y, x)",
        "cl.msle_loss(x, y)",
        "positive",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.Poisson()(y, x)",
        "cl.poisson_nll_loss(x, y, log_input=False, eps=1e-7)",
        "positive",
        "Keras takes the rate: `log_input=False`, its epsilon 1e-7",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CosineSimilarity()(b, a)",
        "cl.cosine_distance(a, b, eps=1e-14) - 1",
        "pairs",
        "Keras returns minus the cosine similarity",
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.Circle()(lab, u)",
        "cl.circle_loss(u, lab)",
        "embeddings",
        "unit-norm embeddings: the same value; Keras does not normalise, so the gradients differ (not compared)",
        grad=False,
        **K32,
    ),
    Row(
        "keras",
        "keras.losses.CTC()(tg, z)",
        'cl.ctc_loss(keras.ops.transpose(keras.ops.log_softmax(z), (1, 0, 2)), tg, full, tl, reduction="none").mean()',
        "ctc",
        "Keras: `(N, T, C)` logits, blank 0, every input of full length T, the mean of the per-sequence losses",
        **K32,
    ),
    # --------------------------------------------------------------- optax
    Row(
        "optax",
        "optax.losses.softmax_cross_entropy_with_integer_labels(x, t)",
        'cl.cross_entropy(x, t, reduction="none")',
        "cls",
        "optax returns per-example values",
    ),
    Row(
        "optax",
        "jnp.mean(optax.losses.softmax_cross_entropy_with_integer_labels(x, t))",
        "cl.cross_entropy(x, t)",
        "cls",
    ),
    Row(
        "optax",
        "optax.losses.softmax_cross_entropy(x, p)",
        'cl.cross_entropy(x, p, reduction="none")',
        "cls",
    ),
    Row(
        "optax",
        "optax.losses.softmax_cross_entropy(x, optax.smooth_labels(oh, 0.1))",
        'cl.cross_entropy(x, t, label_smoothing=0.1, reduction="none")',
        "cls",
        "`optax.smooth_labels` is `label_smoothing=`",
    ),
    Row(
        "optax",
        "optax.losses.softmax_cross_entropy(x, p, where=k)",
        'cl.cross_entropy(x, p, where=k, reduction="none")',
        "cls",
        "`where=` excludes classes from the softmax",
    ),
    Row(
        "optax",
        "optax.losses.safe_softmax_cross_entropy(xm, oh)",
        'cl.cross_entropy(xm, oh, reduction="none")',
        "cls",
        "`-inf` logits (excluded classes) are safe in ours too: finite values, zero gradients there",
    ),
    Row(
        "optax",
        "optax.losses.softmax_cross_entropy(x, p, axis=(1, 2))",
        'cl.cross_entropy(x, p, axis=(1, 2), reduction="none")',
        "cls3",
    ),
    Row(
        "optax",
        "optax.losses.sigmoid_binary_cross_entropy(x, y)",
        'cl.binary_cross_entropy(x, y, reduction="none")',
        "binary",
    ),
    Row(
        "optax",
        "optax.losses.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0)",
        'cl.focal_loss(x, y, reduction="none")',
        "binary",
    ),
    Row(
        "optax",
        "optax.losses.sigmoid_focal_loss(x, y)",
        'cl.focal_loss(x, y, alpha=None, reduction="none")',
        "binary",
        "optax's default is `alpha=None`, ours 0.25",
    ),
    Row(
        "optax",
        "optax.losses.poly_loss_cross_entropy(x, oh, epsilon=2.0)",
        'cl.poly_loss(x, t, epsilon=2.0, reduction="none")',
        "cls",
    ),
    Row(
        "optax",
        "optax.losses.kl_divergence(lp, q)",
        'cl.kl_divergence(lp, q, reduction="none")',
        "dist",
    ),
    Row(
        "optax",
        "optax.losses.kl_divergence_with_log_targets(lp, lq)",
        'cl.kl_divergence(lp, lq, log_target=True, reduction="none")',
        "dist",
    ),
    Row(
        "optax",
        "optax.losses.generalized_kl_divergence(lp, r)",
        'cl.generalized_kl_divergence(lp, r, reduction="none")',
        "dist",
        "unnormalised targets",
    ),
    Row(
        "optax", "optax.losses.hinge_loss(x, s)", 'cl.hinge_loss(x, s, reduction="none")', "binary"
    ),
    Row(
        "optax",
        "optax.losses.perceptron_loss(x, s)",
        'cl.perceptron_loss(x, s, reduction="none")',
        "binary",
    ),
    Row(
        "optax",
        "optax.losses.multiclass_hinge_loss(x, t)",
        'cl.multiclass_hinge_loss(x, t, reduction="none")',
        "cls",
    ),
    Row(
        "optax",
        "optax.losses.multiclass_perceptron_loss(x, t)",
        'cl.multiclass_perceptron_loss(x, t, reduction="none")',
        "cls",
    ),
    Row(
        "optax",
        "optax.losses.multiclass_sparsemax_loss(x, t)",
        'cl.sparsemax_loss(x, t, reduction="none")',
        "cls",
    ),
    Row(
        "optax",
        "optax.losses.sparsemax_loss(x, y)",
        'cl.binary_sparsemax_loss(x, y, reduction="none")',
        "simplex",
    ),
    Row("optax", "jax.vmap(optax.projections.projection_simplex)(x)", "cl.sparsemax(x)", "simplex"),
    Row("optax", "optax.losses.squared_error(x, y)", 'cl.mse_loss(x, y, reduction="none")', "reg"),
    Row(
        "optax",
        "optax.losses.l2_loss(x, y)",
        '0.5 * cl.mse_loss(x, y, reduction="none")',
        "reg",
        "optax's `l2_loss` is half the squared error",
    ),
    Row(
        "optax",
        "optax.losses.huber_loss(x, y, delta=0.7)",
        'cl.huber_loss(x, y, delta=0.7, reduction="none")',
        "reg",
    ),
    Row("optax", "optax.losses.log_cosh(x, y)", 'cl.log_cosh_loss(x, y, reduction="none")', "reg"),
    Row(
        "optax",
        "optax.losses.cosine_distance(a, b, epsilon=1e-8)",
        'cl.cosine_distance(a, b, eps=1e-8, reduction="none")',
        "pairs",
    ),
    Row(
        "optax",
        "optax.losses.cosine_similarity(a, b, epsilon=1e-8)",
        '1 - cl.cosine_distance(a, b, eps=1e-8, reduction="none")',
        "pairs",
    ),
    Row(
        "optax",
        "optax.losses.triplet_margin_loss(anc, pos, neg, margin=0.5)",
        'cl.triplet_margin_loss(anc, pos, neg, margin=0.5, distance=lambda u, v: jnp.sqrt(jnp.sum((u - v) ** 2, -1) + 1e-6), reduction="none")',
        "triplets",
        "optax adds `eps` under the square root (PyTorch, and our default, to the difference)",
    ),
    Row("optax", "optax.losses.ntxent(e, lab, 0.07)", "cl.ntxent_loss(e, lab)", "embeddings"),
    Row(
        "optax",
        "optax.losses.ranking_softmax_loss(sc, rel)",
        "cl.ranking_softmax_loss(sc, rel)",
        "ranking",
        'optax\'s `reduce_fn=jnp.mean` is our `"mean"`',
    ),
    Row(
        "optax",
        "optax.losses.ctc_loss(z, zpad, tg, tpad)",
        'cl.ctc_loss(jnp.swapaxes(jax.nn.log_softmax(z), 0, 1), tg, il, tl, reduction="none")',
        "ctc",
        "optax: `(N, T, C)` logits and padding masks; ours: `(T, N, C)` log-probabilities and lengths",
    ),
    # --------------------------------------------------------------- MONAI
    Row(
        "monai",
        "monai.losses.DiceLoss(softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0)(x, t1)",
        "cl.dice_loss(x, t)",
        "seg",
        "labels `(N, 1, H, W)` in MONAI, `(N, H, W)` here",
    ),
    Row(
        "monai",
        "monai.losses.DiceLoss(softmax=True, to_onehot_y=True)(x, t1)",
        "cl.dice_loss(x, t, smooth=1e-5)",
        "seg",
        "MONAI's default smoothing",
    ),
    Row(
        "monai",
        'monai.losses.DiceLoss(softmax=True, to_onehot_y=True, reduction="none")(x, t1).flatten(1)',
        'cl.dice_loss(x, t, smooth=1e-5, reduction="none")',
        "seg",
        "one value per sample and class",
    ),
    Row(
        "monai",
        "monai.losses.DiceLoss(sigmoid=True)(x, y)",
        'cl.dice_loss(x, y, activation="sigmoid", smooth=1e-5)',
        "seg_binary",
        "multi-label channels",
    ),
    Row(
        "monai",
        "monai.losses.DiceLoss(softmax=True, to_onehot_y=True, batch=True, smooth_nr=1.0, smooth_dr=1.0)(x, t1)",
        "cl.dice_loss(x.transpose(0, 1).reshape(1, x.shape[1], -1), t.reshape(1, -1))",
        "seg",
        "`batch=True` pools the batch into one score per class: ours on the batch folded into one sample",
    ),
    Row(
        "monai",
        "monai.losses.TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7, smooth_nr=1.0, smooth_dr=1.0)(x, t1)",
        "cl.tversky_loss(x, t, alpha=0.3, beta=0.7)",
        "seg",
    ),
    Row(
        "monai",
        "monai.losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, smooth_nr=0.0, smooth_dr=0.0)(x, t1)",
        "cl.generalized_dice_loss(x, t, smooth=0.0)",
        "seg",
        "MONAI computes the class weights in float32",
        rtol=1e-6,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.FocalLoss(alpha=0.25, gamma=2.0)(x, y)",
        "cl.focal_loss(x, y, alpha=0.25, gamma=2.0)",
        "seg_binary",
        "MONAI's default `alpha=None`",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.FocalLoss(alpha=[0.2, 0.5, 0.9])(x, y)",
        "cl.focal_loss(x, y, alpha=None, pos_weight=torch.tensor([0.2, 0.5, 0.9]), class_axis=1)",
        "seg_binary",
        "MONAI's per-class `alpha` weighs the positives of class c by a_c and the negatives by 1: our `pos_weight`",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.FocalLoss(gamma=1.5)(x, y)",
        "cl.focal_loss(x, y, alpha=None, gamma=1.5)",
        "seg_binary",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.FocalLoss(gamma=2.0, use_softmax=True, to_onehot_y=True)(x, t1)",
        "cl.softmax_focal_loss(x, t, axis=1) / x.shape[1]",
        "seg",
        "MONAI's mean also runs over the classes",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.FocalLoss(alpha=[0.2, 0.5, 0.9], use_softmax=True, to_onehot_y=True)(x, t1)",
        "cl.softmax_focal_loss(x, t, alpha=torch.tensor([0.2, 0.5, 0.9]), axis=1) / x.shape[1]",
        "seg",
        "a per-class `alpha` with the softmax: the same per-class weights",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.DiceLoss(softmax=True, to_onehot_y=True, include_background=False)(x, t1)",
        "cl.dice_loss(x, t, smooth=1e-5, include_background=False)",
        "seg",
    ),
    Row(
        "monai",
        "monai.losses.DiceLoss(softmax=True, to_onehot_y=True, jaccard=True)(x, t1)",
        "cl.jaccard_loss(x, t, smooth=1e-5)",
        "seg",
    ),
    Row(
        "monai",
        "monai.losses.DiceCELoss(softmax=True, to_onehot_y=True)(x, t1)",
        "cl.dice_ce_loss(x, t, smooth=1e-5)",
        "seg",
        "MONAI's default smoothing",
        rtol=1e-5,
    ),
    Row(
        "monai",
        "monai.losses.DiceFocalLoss(softmax=True, to_onehot_y=True, gamma=1.5, alpha=0.25)(x, t1)",
        "cl.dice_focal_loss(x, t, smooth=1e-5, gamma=1.5, alpha=0.25)",
        "seg",
        rtol=1e-5,
    ),
    Row(
        "monai",
        "monai.losses.HausdorffDTLoss(softmax=True)(x, oh)",
        'cl.hausdorff_dt_loss(x, oh, activation="softmax")',
        "seg",
        "MONAI casts its distance fields to float32",
        rtol=1e-6,
        requires=("scipy",),
    ),
    Row(
        "monai",
        "monai.losses.SoftclDiceLoss(softmax=True, include_background=False)(x, oh)",
        'cl.soft_cldice_loss(x, oh, activation="softmax", include_background=False)',
        "seg",
    ),
    Row(
        "monai",
        "monai.losses.SSIMLoss(spatial_dims=2, data_range=1.0)(im, ref)",
        "cl.ssim_loss(im, ref)",
        "images",
        "MONAI computes in float32",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.LocalNormalizedCrossCorrelationLoss(spatial_dims=2)(im, ref)",
        "cl.lncc_loss(im, ref, kernel_size=3)",
        "images",
        "MONAI's default window has 3 taps, ours 9",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "monai",
        "monai.losses.BendingEnergyLoss()(ddf)",
        "cl.bending_energy(ddf)",
        "ddf",
    ),
    Row(
        "monai",
        "monai.losses.DiffusionLoss()(ddf)",
        "cl.diffusion_regularizer(ddf)",
        "ddf",
    ),
    Row(
        "monai",
        "monai.losses.DeepSupervisionLoss(torch.nn.MSELoss())([im, im[..., ::2, ::2]], ref)",
        "cl.deep_supervision(cl.mse_loss)([im, im[..., ::2, ::2]], ref)",
        "images",
        'the same weights (`weight_mode="exp"`) and `"nearest-exact"` resizing of the target',
    ),
    # -------------------------------------------------------------- kornia
    Row(
        "kornia",
        'kornia.losses.ssim_loss(im, ref, 5, eps=0.0, padding="valid")',
        "cl.ssim_loss(im, ref, window_size=5) / 2",
        "images",
        'kornia returns `(1 - SSIM) / 2`; its default `padding="same"` reflects the images first '
        "(see `ssim_loss`)",
    ),
    Row(
        "kornia",
        "kornia.losses.psnr_loss(im, ref, 1.0)",
        "cl.psnr_loss(im.reshape(1, -1), ref.reshape(1, -1))",
        "images",
        "kornia pools the squared error over the whole batch; ours is per sample",
    ),
    Row(
        "kornia",
        "kornia.losses.total_variation(im)",
        'cl.total_variation(im, reduction="none")',
        "images",
        "one value per image and channel",
    ),
    Row(
        "kornia",
        "kornia.losses.lovasz_softmax_loss(x, t)",
        'cl.lovasz_softmax_loss(x, t, classes="all", per_image=True)',
        "seg",
        "kornia: every class, one value per image",
    ),
    Row(
        "kornia",
        "kornia.losses.lovasz_hinge_loss(x[:, :1], (y[:, 0] > 0).long())",
        "cl.lovasz_hinge_loss(x[:, :1], y[:, :1])",
        "seg_binary",
        "kornia's labels `(N, H, W)`; ours have the input's shape `(N, 1, H, W)`",
    ),
    # ------------------------------------------------------ pytorch-msssim
    Row(
        "pytorch_msssim",
        "1 - pytorch_msssim.ssim(im, ref, data_range=1.0, win_size=5)",
        "cl.ssim_loss(im, ref, window_size=5)",
        "images",
        "pytorch-msssim returns the similarity; its window is built in float32",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "pytorch_msssim",
        "1 - pytorch_msssim.ms_ssim(im3, ref3, data_range=1.0, win_size=3, weights=[0.3, 0.3, 0.4])",
        "cl.ms_ssim_loss(im3, ref3, window_size=3, weights=[0.3, 0.3, 0.4])",
        "images",
        "pytorch-msssim checks that the image is larger than `(win_size - 1) * 2^(levels - 1)`",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "kornia",
        'kornia.losses.focal_loss(x, t, alpha=None, gamma=2.0, reduction="mean")',
        "cl.softmax_focal_loss(x, t, gamma=2.0, axis=1) / x.shape[1]",
        "seg",
        "kornia's mean also runs over the classes",
    ),
    Row(
        "kornia",
        'kornia.losses.focal_loss(x, t, alpha=0.25, gamma=2.0, reduction="sum")',
        'cl.softmax_focal_loss(x, t, alpha=torch.tensor([0.75, 0.25, 0.25]), gamma=2.0, axis=1, reduction="sum")',
        "seg",
        "kornia weighs class 0 (background) by `1 - alpha`, the others by `alpha`: a per-class `alpha`",
    ),
    Row(
        "kornia",
        'kornia.losses.binary_focal_loss_with_logits(x, y, alpha=0.25, gamma=2.0, reduction="mean")',
        "cl.focal_loss(x, y)",
        "seg_binary",
        rtol=1e-5,
        atol=1e-7,
    ),
    Row(
        "kornia",
        'kornia.losses.charbonnier_loss(x, y, reduction="mean")',
        "cl.robust_loss(x, y, alpha=1.0)",
        "reg",
    ),
    Row(
        "kornia",
        'kornia.losses.cauchy_loss(x, y, reduction="mean")',
        "cl.robust_loss(x, y, alpha=0.0)",
        "reg",
    ),
    Row(
        "kornia",
        'kornia.losses.geman_mcclure_loss(x, y, reduction="mean")',
        "cl.robust_loss(x, y, alpha=-2.0)",
        "reg",
    ),
    Row(
        "kornia",
        'kornia.losses.welsch_loss(x, y, reduction="mean")',
        'cl.robust_loss(x, y, alpha=float("-inf"))',
        "reg",
    ),
    Row(
        "kornia",
        'kornia.losses.cauchy_loss(x / 0.5, y / 0.5, reduction="sum")',
        'cl.robust_loss(x, y, alpha=0.0, scale=0.5, reduction="sum")',
        "reg",
        "a scale `c`: kornia's losses on `x / c, y / c`",
    ),
    Row(
        "kornia",
        'kornia.losses.dice_loss(x, t, average="macro")',
        "cl.dice_loss(x, t, smooth=0.0)",
        "seg",
        "kornia adds eps=1e-8 to the denominator",
    ),
    Row(
        "kornia",
        "kornia.losses.tversky_loss(x, t, 0.3, 0.7)",
        "cl.tversky_loss(x, t, alpha=0.3, beta=0.7, smooth=0.0)",
        "seg",
    ),
    Row(
        "kornia",
        "(kornia.filters.spatial_gradient(x) - kornia.filters.spatial_gradient(y)).abs().sum(2)",
        'cl.gradient_loss(x, y, reduction="none")',
        "seg_binary",
        "the L1 distance of kornia's normalised Sobel gradients (replicate padding), summed over the two directions",
    ),
    # ----------------------------------------------------------------- smp
    Row(
        "smp",
        'smp.losses.DiceLoss("multiclass")(x, t)',
        "cl.dice_loss(x.transpose(0, 1).reshape(1, x.shape[1], -1), t.reshape(1, -1), smooth=0.0)",
        "seg",
        "smp not installable with the CPU torch here: checked against its formula",
    ),
    Row(
        "smp",
        'smp.losses.TverskyLoss("multiclass", alpha=0.3, beta=0.7)(x, t)',
        "cl.tversky_loss(x.transpose(0, 1).reshape(1, x.shape[1], -1), t.reshape(1, -1), alpha=0.3, beta=0.7, smooth=0.0)",
        "seg",
        "smp not installable with the CPU torch here: checked against its formula",
    ),
    Row(
        "smp",
        'smp.losses.TverskyLoss("multiclass", alpha=0.3, beta=0.7, gamma=0.75)(x, t)',
        "cl.tversky_loss(x.transpose(0, 1).reshape(1, x.shape[1], -1), t.reshape(1, -1), alpha=0.3, beta=0.7, smooth=0.0) ** 0.75",
        "seg",
        "smp raises the class mean to `gamma` (our `focal_tversky_loss` raises each class's term)",
    ),
    Row(
        "smp",
        'smp.losses.TverskyLoss("binary", alpha=0.3, beta=0.7, gamma=0.75)(x[:, :1], y[:, :1])',
        'cl.focal_tversky_loss(x[:, :1].reshape(1, 1, -1), y[:, :1].reshape(1, 1, -1), alpha=0.3, beta=0.7, gamma=0.75, activation="sigmoid", smooth=0.0)',
        "seg_binary",
        "one class (binary mode): smp's `gamma` after the mean is ours",
    ),
    # ----------------------------------------------------------------- pml
    Row(
        "pml",
        "pml.losses.SupConLoss()(e, lab)",
        "cl.supervised_contrastive_loss(e, lab)",
        "embeddings",
    ),
    Row(
        "pml",
        "pml.losses.SupConLoss(temperature=0.3)(e, lab)",
        "cl.supervised_contrastive_loss(e, lab, temperature=0.3)",
        "embeddings",
    ),
    Row("pml", "pml.losses.ContrastiveLoss()(e, lab)", "cl.contrastive_loss(e, lab)", "embeddings"),
    Row(
        "pml",
        "pml.losses.ContrastiveLoss(pos_margin=0.2, neg_margin=1.3)(e, lab)",
        "cl.contrastive_loss(e, lab, pos_margin=0.2, neg_margin=1.3)",
        "embeddings",
    ),
    Row("pml", "pml.losses.CircleLoss()(e, lab)", "cl.circle_loss(e, lab)", "embeddings"),
    Row(
        "pml",
        "pml.losses.CircleLoss(m=0.25, gamma=256)(e, lab)",
        "cl.circle_loss(e, lab, margin=0.25, gamma=256.0)",
        "embeddings",
    ),
    Row(
        "pml",
        "pml.losses.MultiSimilarityLoss()(e, lab)",
        "cl.multi_similarity_loss(e, lab)",
        "embeddings",
    ),
    Row(
        "pml",
        "pml.losses.MultiSimilarityLoss(alpha=1.0, beta=10.0, base=0.3)(e, lab)",
        "cl.multi_similarity_loss(e, lab, alpha=1.0, beta=10.0, base=0.3)",
        "embeddings",
    ),
    Row(
        "pml",
        "pml.losses.CosFaceLoss(5, 4, margin=0.35, scale=10.0, weight_init_func=lambda w: w.data.copy_(W))(e, lab)",
        'cl.margin_softmax_loss(F.normalize(e, dim=1) @ F.normalize(W, dim=0), lab, kind="cosface", margin=0.35, scale=10.0)',
        "classifier",
        "pml owns the class weights `W`; ours takes the cosines, so the weights stay in your model",
    ),
    Row(
        "pml",
        "pml.losses.ArcFaceLoss(5, 4, margin=28.6, scale=16.0, weight_init_func=lambda w: w.data.copy_(W))(e, lab)",
        'cl.margin_softmax_loss(F.normalize(e, dim=1) @ F.normalize(W, dim=0), lab, kind="arcface", margin=math.radians(28.6), scale=16.0)',
        "classifier",
        "pml's ArcFace margin is in degrees, ours in radians",
    ),
    # ------------------------------------------------------------- sklearn
    Row(
        "sklearn",
        "sklearn.metrics.mean_pinball_loss(y, x, alpha=0.3)",
        "cl.quantile_loss(x, y, quantile=0.3)",
        "reg",
        "`(y_true, y_pred)`; `alpha` is our `quantile`",
        rtol=1e-12,
        grad=False,
    ),
]


def by_peer() -> dict[str, list[Row]]:
    """The rows by section title, in the guide's order."""
    out: dict[str, list[Row]] = {}
    for key, title in SECTIONS.items():
        rows = [r for r in ROWS if r.peer == key]
        if rows:
            out[title] = rows
    return out
