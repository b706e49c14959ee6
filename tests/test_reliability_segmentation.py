"""Segmentation losses at their edges (reliability issue, items 2, 5 and 10).

- Region losses at ``smooth=0``: a ``0 / 0`` class (empty in target and
  prediction) gives loss 0 with zero gradient, also when a mask hides it (the
  double ``where``), with no NumPy RuntimeWarning; tiny denominators (an
  absent class under confident logits) keep finite gradients; kornia's own
  Tversky test cases give kornia's values. Focal Tversky with ``gamma < 1``
  has a finite gradient where ``TI`` is (or rounds to) 1.
- ``signed_distance_map`` on float16/bfloat16 maps, torch and JAX.
- ``gradient_loss`` with float32 inputs at about +-3e38: the value or ``inf``
  (never NaN) and finite gradients, both operators.

The references are written here from the formulas (float64 NumPy) or taken
from kornia's test file (tests/losses/test_tversky.py); none calls corelosses.
kornia and MONAI also run live where installed (``pytest.importorskip``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _helpers import assert_close, grad, numeric_grad, run

import corelosses as cl

REGION = ["dice_loss", "tversky_loss", "focal_tversky_loss", "generalized_dice_loss"]
OPTS = {
    "dice_loss": {},
    "tversky_loss": {"alpha": 0.3, "beta": 0.7},
    "focal_tversky_loss": {"alpha": 0.3, "beta": 0.7, "gamma": 0.75},
    "generalized_dice_loss": {},
}
F32_MAX = float(np.finfo(np.float32).max)


def _onehot(idx, c):
    return (idx[:, None] == np.arange(c).reshape((1, c) + (1,) * (idx.ndim - 1))).astype(float)


def _loss_mask(name, per_class):
    """A loss-level mask: (N, C) for the per-class losses, (N,) for generalized dice."""
    per_class = np.asarray(per_class)
    return per_class.any(axis=1) if name == "generalized_dice_loss" else per_class


# ---------------------------------------------------- item 2: kornia's cases
# kornia tests/losses/test_tversky.py::test_present_class_without_correct_predictions
KORNIA_LOGITS = np.array([[[[100.0, 100.0]], [[-100.0, -100.0]], [[-100.0, -100.0]]]])
KORNIA_LABELS = np.array([[[0, 1]]])
PRESENT = np.array([[True, True, False]])  # kornia averages over the classes present


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.0, 1.0)])
def test_kornia_present_class_without_correct_predictions(xp, dtype, alpha, beta):
    # Class 0: TP=1, FP=1, FN=0. Class 1: TP=0, FP=0, FN=1 (loss 1). Class 2: empty.
    x = KORNIA_LOGITS.astype(dtype)
    kw = {"alpha": alpha, "beta": beta, "smooth": 0.0}
    expected = 1 - (1 / (1 + alpha)) / 2
    out = run(xp, cl.tversky_loss, x, KORNIA_LABELS, mask=PRESENT, **kw)
    assert_close(out, expected, rtol=0, atol=1e-7)
    per = run(xp, cl.tversky_loss, x, KORNIA_LABELS, reduction="none", **kw)
    assert np.all(np.isfinite(per))
    assert_close(per[0, :2], [1 - 1 / (1 + alpha), 1.0], rtol=0, atol=1e-7)
    if dtype == "float32" or alpha == 0:  # class 2 is 0 / 0 (float64 (0.3, 0.7): p ~ 1e-87)
        assert per[0, 2] == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (1.0, 0.0), (0.0, 1.0)])
@pytest.mark.parametrize("masked", [False, True], ids=["all", "present"])
def test_kornia_present_class_gradient_is_finite(ad, dtype, alpha, beta, masked):
    """The issue's case: NaN gradient on every logit through the masked 0 / 0."""
    x = KORNIA_LOGITS.astype(dtype)
    kw = {"alpha": alpha, "beta": beta, "smooth": 0.0}
    if masked:
        kw["mask"] = PRESENT
    for name in ("tversky_loss", "focal_tversky_loss"):
        fn = getattr(cl, name)
        assert np.all(np.isfinite(run(ad, fn, x, KORNIA_LABELS, **kw)))
        (g,) = grad(ad, fn, x, KORNIA_LABELS, **kw)
        assert np.all(np.isfinite(g)), (name, g)


def _kornia_per_sample_mean(per, onehot):
    """kornia's aggregation: mean over each sample's present classes, then over the batch."""
    present = onehot.reshape(onehot.shape[:2] + (-1,)).sum(-1) > 0
    return np.mean([per[n][present[n]].mean() for n in range(per.shape[0])])


@pytest.mark.parametrize("alpha,beta", [(0.3, 0.7), (0.7, 0.3), (0.5, 0.5), (1.0, 1.0)])
def test_kornia_target_presence_per_sample(xp, alpha, beta):
    # kornia's test_target_presence_per_sample at eps=0 (kornia's eps is in the
    # denominator only, our smooth in both: they agree at 0)
    probabilities = np.array(
        [
            [[[0.5, 0.25, 0.125, 0.5]], [[0.25, 0.5, 0.125, 0.25]], [[0.25, 0.25, 0.75, 0.25]]],
            [[[0.5, 0.25, 0.5, 0.25]], [[0.25, 0.5, 0.25, 0.5]], [[0.25, 0.25, 0.25, 0.25]]],
        ]
    )
    labels = np.array([[[0, 1, 1, 0]], [[2, 2, 2, 2]]])
    score_0 = 1 / (1 + alpha * 0.375 + beta)
    score_1 = 0.625 / (0.625 + alpha * 0.5 + beta * 1.375)
    score_2 = 1 / (1 + beta * 3)
    expected = 1 - ((score_0 + score_1) / 2 + score_2) / 2
    per = run(
        xp,
        cl.tversky_loss,
        np.log(probabilities),
        labels,
        alpha=alpha,
        beta=beta,
        smooth=0.0,
        reduction="none",
    )
    assert np.all(np.isfinite(per))
    assert_close(_kornia_per_sample_mean(per, _onehot(labels, 3)), expected)


def test_kornia_per_class_issue_5543_and_live_peer():
    torch = pytest.importorskip("torch")
    # kornia's CPU-seeded fixture (test_per_class_issue_5543); every class present
    generator = torch.Generator().manual_seed(1206)
    logits = torch.randn(2, 3, 4, 6, dtype=torch.float64, generator=generator) * 2
    labels = torch.randint(0, 3, (2, 4, 6), generator=generator)
    labels[1, :, :2] = 2
    logits = logits.to(torch.float32)
    expected = (0.6015094950, 0.5990951811, 0.6037325821)
    for (alpha, beta), value in zip(((0.3, 0.7), (0.7, 0.3), (0.5, 0.5)), expected):
        out = cl.tversky_loss(logits, labels, alpha=alpha, beta=beta, smooth=0.0)
        assert abs(float(out) - value) <= 1e-7
    kornia = pytest.importorskip("kornia")
    # live: kornia's present-class case and a random one with an absent class, value
    # and gradient (our mean over the present classes = kornia's for one sample)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1, 4, 5, 6)) * 2
    y = rng.integers(0, 3, size=(1, 5, 6))  # class 3 absent
    cases = [(KORNIA_LOGITS, KORNIA_LABELS, PRESENT), (x, y, np.array([[1, 1, 1, 0]], bool))]
    for (xx, yy, present), dtype in itertools.product(cases, (torch.float32, torch.float64)):
        for alpha, beta in ((0.3, 0.7), (0.0, 1.0), (0.5, 0.5)):
            a = torch.tensor(xx, dtype=dtype, requires_grad=True)
            t = torch.from_numpy(yy)
            ref = kornia.losses.tversky_loss(a, t, alpha, beta)
            (gref,) = torch.autograd.grad(ref, a)
            ours = cl.tversky_loss(
                a, t, alpha=alpha, beta=beta, smooth=0.0, mask=torch.from_numpy(present)
            )
            (g,) = torch.autograd.grad(ours, a)
            assert abs(float(ours.detach()) - float(ref.detach())) <= 1e-6
            assert torch.isfinite(g).all()
            assert_close(g.numpy(), gref.numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["dice_loss", "tversky_loss", "generalized_dice_loss"])
@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_matches_monai_at_smooth_zero(name, activation):
    """Where MONAI is defined at smooth 0 (no 0 / 0), the rewritten quotient agrees."""
    pytest.importorskip("monai")
    torch = pytest.importorskip("torch")
    from monai import losses

    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 3, 6, 5)) * 3
    y = rng.integers(0, 3, size=(3, 6, 5))
    y[:, 0, :3] = [0, 1, 2]  # every class present in every sample
    cls = {
        "dice_loss": losses.DiceLoss,
        "tversky_loss": losses.TverskyLoss,
        "generalized_dice_loss": losses.GeneralizedDiceLoss,
    }[name]
    extra = {"alpha": 0.3, "beta": 0.7} if name == "tversky_loss" else {}
    act = {"softmax": True} if activation == "softmax" else {"sigmoid": True}
    peer = cls(to_onehot_y=True, smooth_nr=0.0, smooth_dr=0.0, reduction="none", **act, **extra)
    ref = peer(torch.from_numpy(x), torch.from_numpy(y[:, None])).numpy()
    ours = getattr(cl, name)(x, y, activation=activation, smooth=0.0, reduction="none", **extra)
    rtol = 1e-6 if name == "generalized_dice_loss" else 1e-9  # MONAI's GDL weights: float32
    assert_close(ours, ref.reshape(ours.shape), rtol=rtol)


# --------------------------------------------- item 2: 0 / 0 at smooth = 0
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("name", REGION)
def test_zero_over_zero_is_a_perfect_match(xp, name):
    """smooth=0: an empty class predicted empty is loss 0 (the smooth -> 0 limit)."""
    fn = getattr(cl, name)
    y = np.zeros((2, 4, 4), dtype=np.int64)
    y[0, :2] = 1
    t = _onehot(y, 3)
    t[1] = 0.0  # sample 1: every class empty (soft-target form)
    p = t.copy()  # hard, perfect prediction: class 2 is 0 / 0, sample 1 all 0 / 0
    out = run(xp, fn, p, t, activation=None, smooth=0.0, reduction="none", **OPTS[name])
    assert np.all(out == 0.0), out
    # a false positive on an empty class at smooth=0: loss 1 for that class
    fp = p.copy()
    fp[0, 2, 3, 3] = 0.5
    fp[0, 0, 3, 3] = 0.5
    out = run(xp, fn, fp, t, activation=None, smooth=0.0, reduction="none", **OPTS[name])
    assert np.all(np.isfinite(out))
    if name in ("dice_loss", "tversky_loss"):
        assert out[0, 2] == 1.0
    # 0 / 0 hidden by the mask, and a sample whose pixels are all masked
    pix = np.ones((2, 4, 4), bool)
    pix[1] = False
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4))
    for kw in ({"mask": pix}, {"mask": _loss_mask(name, [[1, 1, 0], [1, 1, 1]])}):
        out = run(xp, fn, x, y, smooth=0.0, reduction="none", **kw, **OPTS[name])
        assert np.all(np.isfinite(out))
        assert np.all(run(xp, fn, x, y, smooth=0.0, ignore_index=1, **OPTS[name]) >= 0)
    out = run(xp, fn, x, y, smooth=0.0, mask=pix, reduction="none", **OPTS[name])
    assert np.all(out[1] == 0.0)  # all its pixels masked: every ratio is 0 / 0


@pytest.mark.parametrize("name", REGION)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("gap", [45.0, 100.0, 1e4])
def test_smooth_zero_absent_class_gradients_are_finite(ad, name, dtype, gap):
    """Confident logits on an absent class: a denominator of 0 or of 1e-20..1e-44.

    Before the fix: NaN gradients (0 / 0 under the mask; ``0 * (1 / den**2)`` on JAX,
    ``0 * (1 / den)`` on torch, where the denominator is tiny)."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(2, 4, 5))
    y[1] = 0  # sample 1: only class 0; class 2 absent everywhere
    x = np.where(y[:, None] == np.arange(3)[None, :, None, None], gap, -gap)
    x = (x * rng.choice([1.0, 0.5], size=x.shape)).astype(dtype)
    fn = getattr(cl, name)
    for act, mask in itertools.product(
        ("softmax", "sigmoid"), (None, _loss_mask(name, [[1, 1, 0], [1, 0, 0]]))
    ):
        kw = dict(OPTS[name], activation=act, smooth=0.0)
        if mask is not None:
            kw["mask"] = mask
        val = run(ad, fn, x, y, **kw)
        (g,) = grad(ad, fn, x, y, **kw)
        assert np.all(np.isfinite(val)) and np.all(np.isfinite(g)), (act, mask is None, val)


@pytest.mark.parametrize("name", REGION)
def test_smooth_zero_gradient_vs_finite_differences(ad, rng, name):
    """The rewritten quotient keeps the exact gradient (an absent class included)."""
    x = rng.normal(size=(2, 3, 4, 3)) * 2
    y = rng.integers(0, 2, size=(2, 4, 3))  # class 2 absent
    fn = getattr(cl, name)
    for kw in ({}, {"mask": _loss_mask(name, [[1, 1, 0], [1, 0, 1]])}):
        kw = dict(OPTS[name], smooth=0.0, **kw)
        (g,) = grad(ad, fn, x, y, **kw)
        assert_close(g, numeric_grad(fn, x, y, **kw), rtol=1e-5, atol=1e-8)
        assert_close(run(ad, fn, x, y, **kw), fn(x, y, **kw))


@pytest.mark.parametrize("gamma", [0.05, 0.1, 0.75])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_focal_tversky_gamma_below_one_at_ti_one(ad, gamma, dtype):
    y = np.array([[[0, 1, 1, 0]]])
    onehot = _onehot(y, 2)
    # TI exactly 1: a hard, perfect prediction (smooth 0 and 1)
    for smooth in (0.0, 1.0):
        kw = {"gamma": gamma, "smooth": smooth, "activation": None}
        assert float(run(ad, cl.focal_tversky_loss, onehot.astype(dtype), y, **kw)) == 0.0
        (g,) = grad(ad, cl.focal_tversky_loss, onehot.astype(dtype), y, **kw)
        assert np.all(np.isfinite(g))
    # TI rounds to 1: logit gap 100, 1 - TI ~ 4e-44 (subnormal in float32); before the
    # fix torch's backward formed gamma * u**gamma / u = inf, times 0 = NaN
    x = ((onehot * 2 - 1) * 50.0).astype(dtype)
    for smooth, reduction in itertools.product((0.0, 1e-5, 1.0), ("none", "sum", "mean")):
        kw = {"gamma": gamma, "smooth": smooth, "reduction": reduction}
        val = run(ad, cl.focal_tversky_loss, x, y, **kw)
        (g,) = grad(ad, cl.focal_tversky_loss, x, y, **kw)
        assert np.all(np.isfinite(g)), (smooth, reduction, g)
        assert np.all(np.isfinite(val)) and np.all((val >= 0) & (val < 0.1))
        if dtype == "float64":  # u is a normal number there: the formula's value
            e = np.exp(x - x.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)  # wrong pixels: ~3.7e-44; right: 1.0
            tp, fp, fn = (
                (a * b).sum((2, 3)) for a, b in ((p, onehot), (p, 1 - onehot), (1 - p, onehot))
            )
            ref = ((0.3 * fp + 0.7 * fn) / (tp + 0.3 * fp + 0.7 * fn + smooth)) ** gamma
            ref = {"none": ref, "sum": ref.sum(), "mean": ref.mean()}[reduction]
            assert_close(val, ref)


# --------------------------------------- item 5: half-precision distance maps
def _brute_sdm(m):
    m = np.asarray(m, bool)
    out = np.zeros(m.shape)
    if not m.any() or m.all():
        return out
    fg, bg = np.argwhere(m), np.argwhere(~m)
    for idx in np.ndindex(m.shape):
        other = bg if m[idx] else fg
        d = np.sqrt(((other - np.array(idx)) ** 2).sum(1)).min()
        out[idx] = -(d - 1) if m[idx] else d
    return out


def _half_case():
    t = np.zeros((2, 2, 5, 6))
    t[:, 1, 1:4, 2:5] = 1
    t[0, 1, 2, 0] = 1
    t[:, 0] = 1 - t[:, 1]
    t[1, 0] = 0  # an empty map
    ref = np.zeros(t.shape)
    for n, k in itertools.product(range(2), range(2)):
        ref[n, k] = _brute_sdm(t[n, k])
    return t, ref


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_signed_distance_map_half_precision_torch(dtype):
    torch = pytest.importorskip("torch")
    t, ref = _half_case()
    a = torch.from_numpy(t).to(getattr(torch, dtype))
    out = cl.signed_distance_map(a)
    assert out.dtype == torch.float32 and out.device == a.device
    assert_close(out.numpy(), ref, dtype="float32")
    last = cl.signed_distance_map(a.movedim(1, -1), channel_axis=-1)
    assert_close(last.movedim(-1, 1).numpy(), ref, dtype="float32")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_signed_distance_map_half_precision_jax(dtype):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    t, ref = _half_case()
    a = jnp.asarray(t, dtype=getattr(jnp, dtype))
    for fn in (cl.signed_distance_map, jax.jit(cl.signed_distance_map)):
        out = fn(a)
        assert out.dtype == jnp.float32
        assert_close(np.asarray(out), ref, dtype="float32")


# ------------------------------------------ item 10: gradient_loss at +-3e38
V = float(np.float32(1.75 * 2.0**127))  # ~2.98e38; the stencils' sums of it are exact


def _ref_gradient_loss(x, t, operator):
    """Unreduced loss in float64 (no overflow there): |Gx (x - t)| + |Gy (x - t)|."""
    d = np.asarray(x, np.float64) - np.asarray(t, np.float64)
    gx, gy = np.zeros_like(d), np.zeros_like(d)
    if operator == "diff":
        gx[..., :, :-1] = d[..., :, 1:] - d[..., :, :-1]
        gy[..., :-1, :] = d[..., 1:, :] - d[..., :-1, :]
    else:
        p = np.pad(d, [(0, 0)] * (d.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
        h, w = d.shape[-2:]
        k = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        for i, j in itertools.product(range(3), range(3)):
            win = p[..., i : i + h, j : j + w]
            gx += k[i, j] * win
            gy += k[j, i] * win
    return np.abs(gx) + np.abs(gy)


def _extreme_cases(v):
    cols = np.zeros((2, 4, 5), np.float32)
    cols[..., ::2], cols[..., 1::2] = v, -v
    block = np.full((1, 5, 6), v, np.float32)
    block[:, 1:3, 2:4] = -v
    rows = np.zeros((1, 5, 4), np.float32)
    rows[:, ::2] = v
    return {
        "columns_vs_0": (cols, np.zeros_like(cols)),
        "columns_vs_neg": (cols, -cols),  # x - t = +-2v overflows float32
        "uniform_opposite": (np.full((3, 4), v, np.float32), np.full((3, 4), -v, np.float32)),
        "block_vs_neg": (block, -block),
        "rows_vs_0": (rows, np.zeros_like(rows)),
        "moderate": (0.1 * cols, np.zeros_like(cols)),
    }


CASES = sorted(_extreme_cases(V))


def _expected(ref, reduction):
    if reduction == "sum":
        ref = ref.sum()
    elif reduction == "mean":
        ref = ref.mean()
    return np.where(np.abs(ref) > F32_MAX, np.inf, ref)


def _assert_value(out, exp):
    out = np.asarray(out, np.float64)
    assert not np.any(np.isnan(out)), out
    assert np.array_equal(np.isinf(out), np.isinf(exp)), (out, exp)
    fin = np.isfinite(exp)
    assert_close(out[fin], exp[fin], rtol=1e-6, atol=0)


@pytest.mark.filterwarnings("error:invalid value:RuntimeWarning")
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("operator", ["sobel", "diff"])
@pytest.mark.parametrize("v", [V, 3e38], ids=["exact", "3e38"])
def test_gradient_loss_value_at_float32_extremes(xp, operator, case, reduction, v):
    x, t = _extreme_cases(v)[case]
    exp = _expected(_ref_gradient_loss(x, t, operator), reduction)
    out = run(xp, cl.gradient_loss, x, t, operator=operator, reduction=reduction)
    assert out.dtype == np.float32
    _assert_value(out, exp)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("operator", ["sobel", "diff"])
def test_gradient_loss_gradient_at_float32_extremes(ad, operator, case, reduction):
    x, t = _extreme_cases(V)[case]
    kw = {"operator": operator, "reduction": reduction}
    g32 = grad(ad, cl.gradient_loss, x, t, argnums=(0, 1), **kw)
    # the same inputs in float64 do not overflow: the true gradient
    g64 = grad(
        ad, cl.gradient_loss, x.astype(np.float64), t.astype(np.float64), argnums=(0, 1), **kw
    )
    for a, b in zip(g32, g64):
        assert np.all(np.isfinite(a)), a
        assert_close(a, b, rtol=1e-6, atol=1e-8)  # float32 rounding of cancelling terms
    # a mask over the overflowing pixels leaves the rest finite
    m = np.ones(x.shape, bool)
    m[..., 0, :] = False
    (g,) = grad(ad, cl.gradient_loss, x, t, mask=m, **kw)
    assert np.all(np.isfinite(g))
