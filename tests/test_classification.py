"""Classification losses against float64 formulas and their peers."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, grad, numeric_grad, run

import corelosses as cl


# --------------------------------------------------------- float64 references
def softplus(x):
    return np.logaddexp(0.0, x)


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def ref_bce(x, y, pos_weight=None, s=0.0):
    y = y * (1 - s) + s / 2
    pw = 1.0 if pos_weight is None else pos_weight
    logp, log1mp = -softplus(-x), -softplus(x)
    return -(pw * y * logp + (1 - y) * log1mp)


def ref_ce_indices(x, t, w=None, ignore=None, s=0.0, axis=-1):
    x = np.moveaxis(x, axis, -1)
    C = x.shape[-1]
    lp = log_softmax(x, -1)
    w = np.ones(C) if w is None else w
    valid = np.ones(t.shape, bool) if ignore is None else t != ignore
    tt = np.where(valid, t, 0)
    nll = -w[tt] * np.take_along_axis(lp, tt[..., None], -1)[..., 0]
    smooth = -(lp * w).sum(-1)
    per = np.where(valid, (1 - s) * nll + s / C * smooth, 0.0)
    return per, (w[tt] * valid).sum()


def ref_focal(x, y, alpha, gamma):
    p = 1 / (1 + np.exp(-x))
    ce = ref_bce(x, y)
    pt = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - pt) ** gamma
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def ref_softmax_focal(x, t, gamma, alpha=None, axis=-1):
    x = np.moveaxis(x, axis, -1)
    lp = log_softmax(x, -1)
    y = np.eye(x.shape[-1])[t]
    a = np.ones(x.shape[-1]) if alpha is None else alpha
    return -(a * y * (1 - np.exp(lp)) ** gamma * lp).sum(-1)


@pytest.fixture
def data(rng):
    return {
        "x": rng.normal(size=(6, 5)) * 3,
        "yb": (rng.uniform(size=(6, 5)) > 0.5).astype(float),
        "ys": rng.uniform(size=(6, 5)),
        "t": rng.integers(0, 5, size=6),
        "pw": rng.uniform(0.5, 3, size=5),
        "w": rng.uniform(0.2, 2, size=5),
    }


# ------------------------------------------------------------ binary CE
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_matches_reference(xp, data, reduction):
    x, y, pw = data["x"], data["ys"], data["pw"]
    ref = ref_bce(x, y, pw, 0.1)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    got = run(
        xp, cl.binary_cross_entropy, x, y, pos_weight=pw, label_smoothing=0.1, reduction=reduction
    )
    assert_close(got, ref)


def test_bce_probabilities_matches_reference(xp, rng):
    p = rng.uniform(0.01, 0.99, size=(4, 3))
    y = rng.uniform(size=(4, 3))
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    assert_close(run(xp, cl.binary_cross_entropy, p, y, from_logits=False), ref)


def test_bce_peer_torch(data):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x, y, pw = (torch.from_numpy(data[k]) for k in ("x", "ys", "pw"))
    w = torch.from_numpy(data["w"])
    assert_close(
        cl.binary_cross_entropy(x, y, pos_weight=pw, weight=w),
        F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, weight=w),
    )
    p = torch.sigmoid(x)
    p[0, 0], p[1, 1] = 0.0, 1.0  # exact 0 and 1: torch clamps log at -100
    assert_close(cl.binary_cross_entropy(p, y, from_logits=False), F.binary_cross_entropy(p, y))


def test_bce_peer_optax(data):
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    x, y = jnp.asarray(data["x"]), jnp.asarray(data["ys"])
    assert_close(
        cl.binary_cross_entropy(x, y, reduction="none"),
        optax.sigmoid_binary_cross_entropy(x, y),
        rtol=1e-6,
    )


def test_bce_extreme_logits_and_probabilities(ad):
    x = np.array([-1e4, -88.0, 0.0, 88.0, 1e4], dtype=np.float32)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0], dtype=np.float32)
    v = run(ad, cl.binary_cross_entropy, x, y, reduction="none")
    assert np.all(np.isfinite(v))
    assert_close(v, ref_bce(x.astype(float), y.astype(float)), rtol=1e-6, atol=1e-6)
    (g,) = grad(ad, cl.binary_cross_entropy, x, y)
    assert np.all(np.isfinite(g))
    p = np.array([0.0, 1.0, 0.0, 1.0])
    yy = np.array([0.0, 1.0, 1.0, 0.0])
    v = run(ad, cl.binary_cross_entropy, p, yy, from_logits=False, reduction="none")
    assert_close(v, [0.0, 0.0, 100.0, 100.0])
    (g,) = grad(ad, cl.binary_cross_entropy, p, yy, from_logits=False)
    assert np.all(np.isfinite(g))


def test_bce_bad_input():
    with pytest.raises(ValueError, match="label_smoothing"):
        cl.binary_cross_entropy(np.zeros(2), np.zeros(2), label_smoothing=1.0)
    with pytest.raises(ValueError, match="probabilities"):
        cl.binary_cross_entropy(np.array([1.5]), np.array([1.0]), from_logits=False)
    with pytest.raises(ValueError, match="pos_weight"):
        cl.binary_cross_entropy(np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=np.ones(4))


# ------------------------------------------------------------ cross entropy
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ce_matches_reference(xp, data, reduction):
    t = data["t"].copy()
    t[2] = -100
    per, wsum = ref_ce_indices(data["x"], t, data["w"], -100, 0.2)
    ref = {"mean": per.sum() / wsum, "sum": per.sum(), "none": per}[reduction]
    got = run(
        xp,
        cl.cross_entropy,
        data["x"],
        t,
        class_weight=data["w"],
        ignore_index=-100,
        label_smoothing=0.2,
        reduction=reduction,
    )
    assert_close(got, ref)


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("use_weight", [False, True])
def test_ce_peer_torch_indices_axis1(rng, smoothing, use_weight):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = torch.from_numpy(rng.normal(size=(3, 4, 5, 2)) * 2)
    t = torch.from_numpy(rng.integers(0, 4, size=(3, 5, 2)))
    t[0, 0, 0] = -100
    w = torch.from_numpy(rng.uniform(0.2, 2, size=4)) if use_weight else None
    for red in ("mean", "sum", "none"):
        ours = cl.cross_entropy(
            x,
            t,
            axis=1,
            class_weight=w,
            ignore_index=-100,
            label_smoothing=smoothing,
            reduction=red,
        )
        peer = F.cross_entropy(
            x, t, weight=w, ignore_index=-100, label_smoothing=smoothing, reduction=red
        )
        assert_close(ours, peer)


def test_ce_peer_torch_soft_targets(rng):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = torch.from_numpy(rng.normal(size=(6, 5)))
    y = torch.softmax(torch.from_numpy(rng.normal(size=(6, 5))), -1)
    w = torch.from_numpy(rng.uniform(0.2, 2, size=5))
    for red in ("mean", "sum", "none"):
        assert_close(
            cl.cross_entropy(x, y, class_weight=w, label_smoothing=0.1, reduction=red),
            F.cross_entropy(x, y, weight=w, label_smoothing=0.1, reduction=red),
        )


def test_ce_peer_optax(data):
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    x, t = jnp.asarray(data["x"]), jnp.asarray(data["t"])
    assert_close(
        cl.cross_entropy(x, t, reduction="none"),
        optax.softmax_cross_entropy_with_integer_labels(x, t),
        rtol=1e-6,
    )
    y = jnp.asarray(np.eye(5)[data["t"]] * 0.8 + 0.04)
    assert_close(
        cl.cross_entropy(x, y, reduction="none"), optax.softmax_cross_entropy(x, y), rtol=1e-6
    )


def test_ce_index_and_onehot_targets_agree(xp, data):
    a = run(xp, cl.cross_entropy, data["x"], data["t"])
    b = run(xp, cl.cross_entropy, data["x"], np.eye(5)[data["t"]])
    assert_close(a, b)


def test_ce_mask_and_nan_rows(ad, data):
    x = data["x"].copy()
    x[1] = np.nan
    m = np.ones(6, bool)
    m[1] = False
    per, _ = ref_ce_indices(data["x"], data["t"])
    assert_close(run(ad, cl.cross_entropy, x, data["t"], mask=m), per[m].mean())
    (g,) = grad(ad, cl.cross_entropy, x, data["t"], mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[1] == 0)
    assert float(run(ad, cl.cross_entropy, x, data["t"], mask=np.zeros(6, bool))) == 0.0


def test_ce_gradient_fd_with_options(ad, data):
    kw = dict(class_weight=data["w"], label_smoothing=0.1, axis=0)
    x = data["x"].T.copy()
    (g,) = grad(ad, cl.cross_entropy, x, data["t"], **kw)
    assert_close(g, numeric_grad(cl.cross_entropy, x, data["t"], **kw), rtol=1e-5, atol=1e-8)


def test_ce_extreme_logits(ad):
    x = np.array([[1e4, -1e4, 0.0], [-88.0, 88.0, 0.0]], dtype=np.float32)
    t = np.array([1, 0])
    v = run(ad, cl.cross_entropy, x, t, reduction="none")
    assert_close(v, [2e4, 176.0], dtype="float32")
    (g,) = grad(ad, cl.cross_entropy, x, t)
    assert np.all(np.isfinite(g))


def test_ce_bad_input():
    with pytest.raises(ValueError, match="class indices outside"):
        cl.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="ignore_index"):
        cl.cross_entropy(np.zeros((2, 3)), np.full((2, 3), 1 / 3), ignore_index=-100)
    with pytest.raises(ValueError, match="'target'"):
        cl.cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="class_weight"):
        cl.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), class_weight=np.ones(4))
    with pytest.raises(ValueError, match="'axis'"):
        cl.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), axis=2)
    with pytest.raises(ValueError, match="label_smoothing"):
        cl.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=-0.1)


# ------------------------------------------------------------ focal losses
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (None, 0.5), (0.6, 0.0), (0.25, 3.0)])
def test_focal_matches_reference(xp, data, alpha, gamma):
    x, y = data["x"], data["yb"]
    got = run(xp, cl.focal_loss, x, y, alpha=alpha, gamma=gamma, reduction="none")
    assert_close(got, ref_focal(x, y, alpha, gamma))


def test_focal_peer_torchvision_formula(data):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    def sigmoid_focal_loss(
        inputs, targets, alpha=0.25, gamma=2.0
    ):  # torchvision.ops, verbatim maths
        p = torch.sigmoid(inputs)
        ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce * ((1 - p_t) ** gamma)
        if alpha >= 0:
            loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
        return loss.mean()

    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["ys"])
    assert_close(cl.focal_loss(x, y), sigmoid_focal_loss(x, y))
    assert_close(cl.focal_loss(x, y, alpha=None, gamma=1.5), sigmoid_focal_loss(x, y, -1, 1.5))


def test_focal_peer_optax(data):
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    x, y = jnp.asarray(data["x"]), jnp.asarray(data["yb"])
    assert_close(
        cl.focal_loss(x, y, reduction="none"),
        optax.sigmoid_focal_loss(x, y, alpha=0.25, gamma=2.0),
        rtol=1e-6,
        atol=1e-12,
    )


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_extreme_logits_finite_gradient(ad, gamma):
    x = np.array([-1e4, -88.0, -9.5, 9.5, 88.0, 1e4], dtype=np.float32)
    for yv in (0.0, 1.0):
        y = np.full_like(x, yv)
        v = run(ad, cl.focal_loss, x, y, gamma=gamma, reduction="none")
        (g,) = grad(ad, cl.focal_loss, x, y, gamma=gamma)
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))


def test_focal_bad_input():
    with pytest.raises(ValueError, match="'gamma'"):
        cl.focal_loss(np.zeros(2), np.zeros(2), gamma=-1.0)
    with pytest.raises(ValueError, match="'alpha'"):
        cl.focal_loss(np.zeros(2), np.zeros(2), alpha=1.5)


@pytest.mark.parametrize("gamma", [0.0, 1.5, 2.0])
def test_softmax_focal_matches_reference(xp, rng, gamma):
    x = rng.normal(size=(3, 4, 6)) * 2
    t = rng.integers(0, 4, size=(3, 6))
    a = rng.uniform(0.2, 1, size=4)
    got = run(xp, cl.softmax_focal_loss, x, t, gamma=gamma, alpha=a, axis=1, reduction="none")
    assert_close(got, ref_softmax_focal(x, t, gamma, a, axis=1))


def test_softmax_focal_gamma0_is_cross_entropy(xp, data):
    assert_close(
        run(xp, cl.softmax_focal_loss, data["x"], data["t"], gamma=0.0),
        run(xp, cl.cross_entropy, data["x"], data["t"]),
    )


def test_softmax_focal_extremes_and_bad_input(ad):
    x = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    t = np.array([0, 2])
    for g in (0.5, 2.0):
        (gr,) = grad(ad, cl.softmax_focal_loss, x, t, gamma=g)
        assert np.all(np.isfinite(gr))
    with pytest.raises(ValueError, match="'alpha'"):
        cl.softmax_focal_loss(np.zeros((2, 3)), np.array([0, 1]), alpha=np.ones(2))
    with pytest.raises(ValueError, match="'gamma'"):
        cl.softmax_focal_loss(np.zeros((2, 3)), np.array([0, 1]), gamma=-2.0)


def test_ce_native_fast_path_computes_the_definition(ad, rng):
    # the backends' native cross-entropy kernels (plain case) against the pure array-API
    # definition, including an out-of-range index that no value check sees under jit:
    # both give that sample NaN (jax's convention; it used to be a silent 0 that
    # still counted in the mean)
    x = rng.normal(size=(5, 4)) * 3
    t = np.array([0, 3, 1, 7, 2])
    if ad.name == "torch":
        t = np.array([0, 3, 1, 2, 2])  # torch's kernel raises on out-of-range indices
    native = run(ad, cl.cross_entropy, x, t, reduction="none")
    with cl.native(False):
        generic = run(ad, cl.cross_entropy, x, t, reduction="none")
    bad = (t < 0) | (t >= 4)
    np.testing.assert_array_equal(np.isnan(native), bad)
    np.testing.assert_array_equal(np.isnan(generic), bad)
    assert_close(native[~bad], generic[~bad], rtol=1e-12, atol=1e-15)
