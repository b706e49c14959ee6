"""Detection losses: box IoU losses and the IoU-balanced losses.

References are independent float64 NumPy code written from the formulas
(torchvision's for the box losses, Wu, Wang and Lin 2019 for the balanced
ones), plus torchvision itself when it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl

MODES = ("iou", "giou", "diou", "ciou")
EPS = 1e-7


# ------------------------------------------------------------ NumPy references
def ref_box(p, t, mode, eps=EPS, alpha=None):
    """torchvision's box losses in float64; ``alpha`` freezes CIoU's weight."""
    p = np.asarray(p, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    x1, y1, x2, y2 = (p[..., i] for i in range(4))
    a1, b1, a2, b2 = (t[..., i] for i in range(4))
    xk1, yk1 = np.maximum(x1, a1), np.maximum(y1, b1)
    xk2, yk2 = np.minimum(x2, a2), np.minimum(y2, b2)
    inter = np.where((xk2 > xk1) & (yk2 > yk1), (xk2 - xk1) * (yk2 - yk1), 0.0)
    union = (x2 - x1) * (y2 - y1) + (a2 - a1) * (b2 - b1) - inter
    iou = inter / (union + eps)
    xc1, yc1 = np.minimum(x1, a1), np.minimum(y1, b1)
    xc2, yc2 = np.maximum(x2, a2), np.maximum(y2, b2)
    if mode == "iou":
        return 1 - iou
    if mode == "giou":
        area_c = (xc2 - xc1) * (yc2 - yc1)
        return 1 - (iou - (area_c - union) / (area_c + eps))
    diag = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + eps
    dist = ((x1 + x2) / 2 - (a1 + a2) / 2) ** 2 + ((y1 + y2) / 2 - (b1 + b2) / 2) ** 2
    diou = 1 - iou + dist / diag
    if mode == "diou":
        return diou
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (
            4
            / np.pi**2
            * (np.arctan((a2 - a1) / (b2 - b1)) - np.arctan((x2 - x1) / (y2 - y1))) ** 2
        )
    if alpha is None:
        alpha = v / (1 - iou + v + eps)
    return diou + alpha * v


def ref_ciou_alpha(p, t, eps=EPS):
    loss = ref_box(p, t, "ciou", eps)
    diou = ref_box(p, t, "diou", eps)
    # alpha * v = ciou - diou and alpha = v / (1 - iou + v + eps): recompute directly
    iou = 1 - ref_box(p, t, "iou", eps)
    w_p, h_p = p[..., 2] - p[..., 0], p[..., 3] - p[..., 1]
    w_t, h_t = t[..., 2] - t[..., 0], t[..., 3] - t[..., 1]
    v = 4 / np.pi**2 * (np.arctan(w_t / h_t) - np.arctan(w_p / h_p)) ** 2
    alpha = v / (1 - iou + v + eps)
    np.testing.assert_allclose(diou + alpha * v, loss, rtol=1e-12)
    return alpha


def ref_bce(x, y):
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


def ref_smooth_l1(x, y, beta):
    d = np.abs(x - y)
    if beta == 0:
        return d
    return np.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta)


def ref_balance_weights(base, iou, power, pos):
    """Paper's w_i = iou_i^p * sum_pos(base) / sum_pos(iou^p * base); 1 off pos."""
    g = np.broadcast_to(iou, base.shape) ** power
    tot = base[pos].sum()
    wsum = (g * base)[pos].sum()
    return np.where(pos, g * tot / wsum, 1.0)


# ----------------------------------------------------------------- box inputs
def boxes(rng, shape):
    xy = rng.uniform(0, 10, size=(*shape, 2))
    wh = rng.uniform(0.5, 5, size=(*shape, 2))
    return np.concatenate([xy, xy + wh], axis=-1)


def box_pair(rng, shape=(2, 3)):
    p = boxes(rng, shape)
    t = boxes(rng, shape)
    flat_p, flat_t = p.reshape(-1, 4), t.reshape(-1, 4)
    flat_t[0] = flat_p[0] + 30.0  # disjoint
    flat_t[1] = flat_p[1] + np.array([-1.0, -2.0, 1.5, 0.5])  # encloses
    flat_t[2] = flat_p[2] + np.array([0.3, -0.2, 0.1, 0.4])  # overlaps
    return p, t


# ------------------------------------------------------------------ box loss
@pytest.mark.parametrize("mode", MODES)
def test_box_matches_reference_any_leading_shape(xp, mode, rng):
    p, t = box_pair(rng, (2, 3))
    ref = ref_box(p, t, mode)
    out = run(xp, cl.box_iou_loss, p, t, mode=mode, reduction="none")
    assert out.shape == (2, 3)
    assert_close(out, ref)
    assert_close(run(xp, cl.box_iou_loss, p, t, mode=mode), ref.mean())
    assert_close(run(xp, cl.box_iou_loss, p, t, mode=mode, reduction="sum"), ref.sum())
    # a single box pair and a deeper leading shape
    assert_close(run(xp, cl.box_iou_loss, p[0, 0], t[0, 0], mode=mode, reduction="none"), ref[0, 0])
    p3, t3 = box_pair(rng, (2, 3, 4))
    out3 = run(xp, cl.box_iou_loss, p3, t3, mode=mode, reduction="none")
    assert out3.shape == (2, 3, 4)
    assert_close(out3, ref_box(p3, t3, mode))


@pytest.mark.parametrize("mode", MODES)
def test_box_eps_and_weight(xp, mode, rng):
    p, t = box_pair(rng, (5,))
    w = rng.uniform(0.5, 2, size=(5,))
    out = run(xp, cl.box_iou_loss, p, t, mode=mode, eps=1e-3, weight=w, reduction="none")
    assert_close(out, ref_box(p, t, mode, eps=1e-3) * w)
    mean = run(xp, cl.box_iou_loss, p, t, mode=mode, eps=1e-3, weight=w)
    assert_close(mean, (ref_box(p, t, mode, eps=1e-3) * w).mean())


@pytest.mark.parametrize("mode", ("giou", "diou", "ciou"))
def test_box_matches_torchvision(mode, rng):
    torch = pytest.importorskip("torch")
    ops = pytest.importorskip("torchvision.ops")
    fn = {
        "giou": ops.generalized_box_iou_loss,
        "diou": ops.distance_box_iou_loss,
        "ciou": ops.complete_box_iou_loss,
    }[mode]
    p, t = box_pair(rng, (6,))
    tp, tt = torch.from_numpy(p).requires_grad_(True), torch.from_numpy(t)
    ref = fn(tp, tt, reduction="none")
    (gref,) = torch.autograd.grad(ref.sum(), tp)
    tp2 = torch.from_numpy(p).requires_grad_(True)
    out = cl.box_iou_loss(tp2, tt, mode=mode, reduction="none")
    (g,) = torch.autograd.grad(out.sum(), tp2)
    assert_close(out.detach().numpy(), ref.detach().numpy())
    assert_close(g.numpy(), gref.numpy(), rtol=1e-9, atol=1e-12)
    for red in ("mean", "sum"):
        assert_close(
            cl.box_iou_loss(tt, tt * 1.1, mode=mode, reduction=red).numpy(),
            fn(tt, tt * 1.1, reduction=red).numpy(),
        )
    # integer boxes are cast to float, as in torchvision
    ip = torch.tensor([[0, 0, 4, 3], [1, 1, 5, 6]])
    it = torch.tensor([[1, 0, 5, 2], [0, 2, 3, 7]])
    assert_close(
        cl.box_iou_loss(ip, it, mode=mode, reduction="none").numpy(),
        fn(ip, it, reduction="none").numpy(),
        dtype="float32",
    )


@pytest.mark.parametrize("mode", MODES)
def test_box_gradient_vs_finite_differences(ad, mode, rng):
    p, t = box_pair(rng, (2, 3))
    (g,) = grad(ad, cl.box_iou_loss, p, t, mode=mode, reduction="none")
    if mode == "ciou":  # alpha carries no gradient: differentiate with alpha frozen
        alpha = ref_ciou_alpha(p, t)
        fd = numeric_grad(lambda q, s: ref_box(q, s, "ciou", alpha=alpha), p, t)
    else:
        fd = numeric_grad(lambda q, s: ref_box(q, s, mode), p, t)
    assert_close(g, fd, rtol=1e-5, atol=1e-7)
    # the target is differentiable too (e.g. for symmetric uses)
    _, gt = grad(ad, cl.box_iou_loss, p, t, mode=mode, argnums=(0, 1), reduction="none")
    if mode == "ciou":
        fdt = numeric_grad(lambda q, s: ref_box(q, s, "ciou", alpha=alpha), p, t, argnum=1)
    else:
        fdt = numeric_grad(lambda q, s: ref_box(q, s, mode), p, t, argnum=1)
    assert_close(gt, fdt, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_box_gradient_torch_equals_jax(mode, rng):
    import _backends

    if not {"torch", "jax"} <= set(_backends.selected()):
        pytest.skip("needs torch and jax")
    p, t = box_pair(rng, (4, 2))
    w = rng.uniform(0.5, 2, size=(4, 1))
    gt = grad(_backends.get("torch"), cl.box_iou_loss, p, t, mode=mode, weight=w, argnums=(0, 1))
    gj = grad(_backends.get("jax"), cl.box_iou_loss, p, t, mode=mode, weight=w, argnums=(0, 1))
    for a, b in zip(gt, gj, strict=True):
        assert_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_box_torch_compile_fullgraph(mode, rng):
    torch = pytest.importorskip("torch")
    p, t = box_pair(rng, (3, 2))
    m = np.array([[True, False], [True, True], [False, True]])
    out = compile_fullgraph(
        cl.box_iou_loss,
        torch.from_numpy(p),
        torch.from_numpy(t),
        mode=mode,
        mask=torch.from_numpy(m),
    )
    assert_close(out.numpy(), ref_box(p, t, mode)[m].mean())


def degenerate_pairs():
    # each row: (pred, target)
    return np.array(
        [
            [[1.0, 1.0, 1.0, 4.0], [0.0, 0.0, 2.0, 3.0]],  # zero-width prediction
            [[1.0, 1.0, 3.0, 1.0], [0.0, 0.0, 2.0, 3.0]],  # zero-height prediction
            [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 3.0]],  # point prediction
            [[0.0, 0.0, 2.0, 3.0], [1.0, 2.0, 1.0, 2.0]],  # point target
            [[0.0, 0.0, 2.0, 3.0], [0.0, 0.0, 2.0, 3.0]],  # identical boxes
            [[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]],  # identical points
            [[0.0, 0.0, 0.0, 3.0], [0.0, 0.0, 0.0, 3.0]],  # identical zero-width
            [[0.0, 0.0, 2.0, 3.0], [2.0, 0.0, 4.0, 3.0]],  # touching edges
        ]
    )


@pytest.mark.parametrize("mode", MODES)
def test_box_degenerate_finite_value_and_gradient(ad, mode):
    pairs = degenerate_pairs()
    p, t = pairs[:, 0], pairs[:, 1]
    out = run(ad, cl.box_iou_loss, p, t, mode=mode, reduction="none")
    assert np.all(np.isfinite(out))
    gp, gt = grad(ad, cl.box_iou_loss, p, t, mode=mode, argnums=(0, 1))
    assert np.all(np.isfinite(gp)) and np.all(np.isfinite(gt))
    # where torchvision's formula is finite, the values agree
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = ref_box(p, t, mode)
    ok = np.isfinite(ref)
    assert ok.sum() >= 5
    assert_close(out[ok], ref[ok])
    # identical boxes: loss ~ eps / area, and exactly 1 for identical points
    assert_close(out[4], EPS / (6 + EPS), rtol=1e-9, atol=1e-15)
    assert out[5] == pytest.approx(1.0)


def test_box_identical_boxes_gradient_torch_equals_jax():
    import _backends

    if not {"torch", "jax"} <= set(_backends.selected()):
        pytest.skip("needs torch and jax")
    pairs = degenerate_pairs()
    p, t = pairs[:, 0], pairs[:, 1]
    for mode in MODES:
        gt = grad(_backends.get("torch"), cl.box_iou_loss, p, t, mode=mode)
        gj = grad(_backends.get("jax"), cl.box_iou_loss, p, t, mode=mode)
        assert_close(gt[0], gj[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_box_mask_nan_and_all_masked(xp, mode, rng):
    p, t = box_pair(rng, (2, 3))
    m = np.array([[True, False, True], [False, True, True]])
    ref = ref_box(p, t, mode)
    pn = p.copy()
    pn[~m] = np.nan
    tn = t.copy()
    tn[~m] = [5.0, 5.0, 1.0, 1.0]  # invalid boxes under the mask are not checked
    assert_close(run(xp, cl.box_iou_loss, pn, tn, mode=mode, mask=m), ref[m].mean())
    assert_close(run(xp, cl.box_iou_loss, pn, tn, mode=mode, mask=m, reduction="sum"), ref[m].sum())
    none = run(xp, cl.box_iou_loss, pn, tn, mode=mode, mask=m, reduction="none")
    assert np.all(none[~m] == 0)
    # a mask broadcast over the leading shape, and a {0, 1} mask
    mb = np.array([1, 0, 1])
    assert_close(
        run(xp, cl.box_iou_loss, p, t, mode=mode, mask=mb, reduction="sum"), ref[:, mb == 1].sum()
    )
    assert float(run(xp, cl.box_iou_loss, pn, tn, mode=mode, mask=np.zeros((2, 3), bool))) == 0.0


@pytest.mark.parametrize("mode", MODES)
def test_box_nan_under_mask_zero_gradient(ad, mode, rng):
    p, t = box_pair(rng, (2, 3))
    m = np.array([[True, False, True], [False, True, True]])
    p[~m] = np.nan
    gp, gt = grad(ad, cl.box_iou_loss, p, t, mode=mode, mask=m, argnums=(0, 1))
    assert np.all(np.isfinite(gp)) and np.all(np.isfinite(gt))
    assert np.all(gp[~m] == 0) and np.all(gt[~m] == 0)
    assert np.any(gp[m] != 0)


def test_box_integer_and_empty(xp):
    ip = np.array([[0, 0, 4, 3], [1, 1, 5, 6]])
    it = np.array([[1, 0, 5, 2], [0, 2, 3, 7]])
    for mode in MODES:
        out = run(xp, cl.box_iou_loss, ip, it, mode=mode, reduction="none")
        assert np.issubdtype(out.dtype, np.floating)
        assert_close(
            out,
            ref_box(ip, it, mode),
            dtype=str(out.dtype) if out.dtype == np.float32 else "float64",
        )
    # integer target with float prediction: cast to the prediction's dtype
    out = run(xp, cl.box_iou_loss, ip.astype(np.float64), it, mode="giou", reduction="none")
    assert out.dtype == np.float64
    assert_close(out, ref_box(ip, it, "giou"))
    e = np.zeros((0, 4))
    assert float(run(xp, cl.box_iou_loss, e, e, mode="ciou")) == 0.0
    assert run(xp, cl.box_iou_loss, e, e, mode="ciou", reduction="none").shape == (0,)


def test_box_jax_vmap_and_jit(rng):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    p, t = box_pair(rng, (4, 3))
    f = jax.jit(jax.vmap(lambda a, b: cl.box_iou_loss(a, b, mode="ciou")))
    out = np.asarray(f(jnp.asarray(p), jnp.asarray(t)))
    assert_close(out, ref_box(p, t, "ciou").mean(axis=1))


def test_box_half_precision_computes_in_float32(ad, rng):
    p, t = box_pair(rng, (3,))
    if ad.name == "torch":
        import torch

        ph = torch.from_numpy(p).half()
        out = cl.box_iou_loss(ph, torch.from_numpy(t).float(), mode="ciou")
        ref = cl.box_iou_loss(ph.float(), torch.from_numpy(t).float(), mode="ciou")
    else:
        import jax.numpy as jnp

        ph = jnp.asarray(p).astype(jnp.bfloat16)
        out = cl.box_iou_loss(ph, jnp.asarray(t, dtype=jnp.float32), mode="ciou")
        ref = cl.box_iou_loss(
            ph.astype(jnp.float32), jnp.asarray(t, dtype=jnp.float32), mode="ciou"
        )
    assert "float32" in str(out.dtype)
    np.testing.assert_allclose(ad.to_numpy(out), ad.to_numpy(ref), rtol=1e-6)


def test_box_bad_input(xp, rng):
    p, t = box_pair(rng, (3,))
    a = xp.asarray
    with pytest.raises(ValueError, match="'pred'.*4"):
        cl.box_iou_loss(a(p[:, :3]), a(t[:, :3]))
    with pytest.raises(ValueError, match="'target'.*4"):
        cl.box_iou_loss(a(p), a(np.zeros((3, 5))))
    with pytest.raises(ValueError, match="'pred'"):
        cl.box_iou_loss(a(np.array(1.0)), a(np.array(1.0)))
    with pytest.raises(ValueError, match="'target'.*shape"):
        cl.box_iou_loss(a(p), a(t[:2]))
    with pytest.raises(ValueError, match="mode"):
        cl.box_iou_loss(a(p), a(t), mode="eiou")
    with pytest.raises(ValueError, match="eps"):
        cl.box_iou_loss(a(p), a(t), eps=0.0)
    with pytest.raises(ValueError, match="reduction"):
        cl.box_iou_loss(a(p), a(t), reduction="avg")
    with pytest.raises(ValueError, match="'weight'"):
        cl.box_iou_loss(a(p), a(t), weight=a(np.ones((3, 4))))
    with pytest.raises(ValueError, match="'mask'"):
        cl.box_iou_loss(a(p), a(t), mask=a(np.ones((2,), dtype=bool)))
    bad = p.copy()
    bad[1, [0, 2]] = bad[1, [2, 0]]  # x2 < x1
    badt = t.copy()
    badt[2, [1, 3]] = badt[2, [3, 1]]  # y2 < y1
    if xp.name in ("numpy", "array_api_strict", "torch"):  # concrete: checked
        with pytest.raises(ValueError, match="'pred'.*x2 < x1"):
            cl.box_iou_loss(a(bad), a(t))
        with pytest.raises(ValueError, match="'target'.*y2 < y1"):
            cl.box_iou_loss(a(p), a(badt))
        # not checked where masked
        m = np.array([True, False, True])
        cl.box_iou_loss(a(bad), a(t), mask=a(m))


def test_box_mixed_namespaces():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        cl.box_iou_loss(np.zeros((2, 4)), torch.zeros(2, 4))


# --------------------------------------------------------- IoU-balanced BCE
def bce_case(rng, shape=(10, 3)):
    x = rng.normal(size=shape) * 2
    y = (rng.uniform(size=shape) > 0.6).astype(np.float64)
    y[0, 0] = 1.0
    iou = rng.uniform(0.2, 0.95, size=(shape[0], 1))
    return x, y, iou


def ref_iou_bce(x, y, iou, eta, weight=None, valid=None):
    ce = ref_bce(x, y)
    base = ce if weight is None else ce * weight
    pos = y > 0
    if valid is not None:
        pos = pos & valid
    w = ref_balance_weights(base, iou, eta, pos)
    return ce * w * (1.0 if weight is None else weight)


def test_iou_bce_matches_reference(xp, rng):
    x, y, iou = bce_case(rng)
    wt = rng.uniform(0.5, 2, size=(3,))
    for eta, weight in ((1.5, None), (1.0, wt), (0.0, None)):
        kw = {} if weight is None else {"weight": weight}
        ref = ref_iou_bce(x, y, iou, eta, weight)
        out = run(xp, cl.iou_balanced_bce, x, y, iou, eta=eta, reduction="none", **kw)
        assert_close(out, ref)
        assert_close(run(xp, cl.iou_balanced_bce, x, y, iou, eta=eta, **kw), ref.mean())
    # probabilities
    pr = 1 / (1 + np.exp(-x))
    out = run(xp, cl.iou_balanced_bce, pr, y, iou, from_logits=False, reduction="none")
    assert_close(out, ref_iou_bce(x, y, iou, 1.5), rtol=1e-8, atol=1e-10)


def test_iou_bce_totals_preserved(xp, rng):
    x, y, iou = bce_case(rng, (4, 5, 2))
    iou = rng.uniform(0.1, 1.0, size=(4, 5, 1))
    out = run(xp, cl.iou_balanced_bce, x, y, iou, eta=2.0, reduction="none")
    plain = ref_bce(x, y)
    pos = y > 0
    assert_close(out[pos].sum(), plain[pos].sum())
    assert_close(out[~pos], plain[~pos])  # negatives keep weight 1
    assert_close(run(xp, cl.iou_balanced_bce, x, y, iou, reduction="sum"), plain.sum())
    # higher IoU, larger weight among the positives
    w = out[pos] / plain[pos]
    order = np.argsort(np.broadcast_to(iou, x.shape)[pos])
    assert np.all(np.diff(w[order]) >= -1e-12)


def test_iou_bce_all_negative_and_zero_iou(xp, rng):
    x, _, iou = bce_case(rng)
    y = np.zeros_like(x)
    out = run(xp, cl.iou_balanced_bce, x, y, iou, reduction="none")
    assert np.all(np.isfinite(out))
    assert_close(out, ref_bce(x, y))
    # positives whose IoU is 0 everywhere: weights fall back to 1, totals kept
    x, y, _ = bce_case(rng)
    out = run(xp, cl.iou_balanced_bce, x, y, np.zeros((10, 1)), reduction="none")
    assert_close(out, ref_bce(x, y))


def test_iou_bce_gradient_is_weighted_ce_gradient(ad, rng):
    x, y, iou = bce_case(rng)
    wt = rng.uniform(0.5, 2, size=(3,))
    (g,) = grad(ad, cl.iou_balanced_bce, x, y, iou, weight=wt, reduction="sum")
    frozen = ref_iou_bce(x, y, iou, 1.5, wt) / ref_bce(x, y)  # total weight, held fixed
    fd = numeric_grad(lambda a, b: frozen * ref_bce(a, b), x, y)
    assert_close(g, fd, rtol=1e-6, atol=1e-9)


def test_iou_balanced_no_gradient_into_iou():
    import _backends

    rng = np.random.default_rng(0)
    x, y, iou = bce_case(rng)
    p, t = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    names = set(_backends.selected())
    if "torch" in names:
        import torch

        ti = torch.from_numpy(iou).requires_grad_(True)
        tx = torch.from_numpy(x).requires_grad_(True)
        out = cl.iou_balanced_bce(tx, torch.from_numpy(y), ti)
        gx, gi = torch.autograd.grad(out, (tx, ti), allow_unused=True)
        assert gi is None or bool((gi == 0).all())
        assert bool((gx != 0).any())
        ti = torch.from_numpy(iou).requires_grad_(True)
        out = cl.iou_balanced_smooth_l1(
            torch.from_numpy(p).requires_grad_(True), torch.from_numpy(t), ti
        )
        if out.requires_grad:
            (gi,) = torch.autograd.grad(out, (ti,), allow_unused=True)
            assert gi is None or bool((gi == 0).all())
    if "jax" in names:
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        gi = jax.grad(lambda i: cl.iou_balanced_bce(jnp.asarray(x), jnp.asarray(y), i))(
            jnp.asarray(iou)
        )
        assert np.all(np.asarray(gi) == 0)
        gi = jax.grad(lambda i: cl.iou_balanced_smooth_l1(jnp.asarray(p), jnp.asarray(t), i))(
            jnp.asarray(iou)
        )
        assert np.all(np.asarray(gi) == 0)


def test_iou_bce_mask_excludes_entries_from_renormalisation(xp, rng):
    x, y, iou = bce_case(rng)
    m = rng.uniform(size=(10, 3)) > 0.3
    m[0, 0] = True
    xn = x.copy()
    xn[~m] = np.nan
    ref = ref_iou_bce(x, y, iou, 1.5, valid=m)
    out = run(xp, cl.iou_balanced_bce, xn, y, iou, mask=m, reduction="none")
    assert np.all(out[~m] == 0)
    assert_close(out[m], ref[m])
    # the same as the loss on the unmasked entries alone
    alone = cl.iou_balanced_bce(x[m], y[m], np.broadcast_to(iou, x.shape)[m], reduction="none")
    assert_close(out[m], alone)
    assert_close(run(xp, cl.iou_balanced_bce, xn, y, iou, mask=m), alone.sum() / m.sum())
    # masked positives do not count in the preserved total
    assert_close(out[m & (y > 0)].sum(), ref_bce(x, y)[m & (y > 0)].sum())
    assert float(run(xp, cl.iou_balanced_bce, xn, y, iou, mask=np.zeros_like(m))) == 0.0


def test_iou_balanced_nan_under_mask_zero_gradient(ad, rng):
    x, y, iou = bce_case(rng)
    m = np.ones(x.shape, bool)
    m[::3, 1] = False
    x[~m] = np.nan
    iou_n = np.broadcast_to(iou, x.shape).copy()
    iou_n[~m] = np.nan
    (g,) = grad(ad, cl.iou_balanced_bce, x, y, iou_n, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)
    p, t = rng.normal(size=x.shape), rng.normal(size=x.shape)
    p[~m] = np.inf
    (g,) = grad(ad, cl.iou_balanced_smooth_l1, p, t, iou_n, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


# ------------------------------------------------------ IoU-balanced smooth L1
def ref_iou_sl1(x, y, iou, lam, beta, weight=None, valid=None):
    sl1 = ref_smooth_l1(x, y, beta)
    base = sl1 if weight is None else sl1 * weight
    pos = np.ones(x.shape, bool) if valid is None else np.broadcast_to(valid, x.shape)
    w = ref_balance_weights(base, iou, lam, pos)
    return sl1 * w * (1.0 if weight is None else weight)


def sl1_case(rng, n=8):
    return rng.normal(size=(n, 4)), rng.normal(size=(n, 4)), rng.uniform(0.2, 0.95, size=(n, 1))


def test_iou_sl1_matches_reference_and_preserves_total(xp, rng):
    x, y, iou = sl1_case(rng)
    wt = rng.uniform(0.5, 2, size=(4,))
    for lam, beta, weight in ((1.5, 1.0, None), (1.0, 0.3, wt), (2.0, 0.0, None)):
        kw = {} if weight is None else {"weight": weight}
        ref = ref_iou_sl1(x, y, iou, lam, beta, weight)
        out = run(
            xp, cl.iou_balanced_smooth_l1, x, y, iou, lam=lam, beta=beta, reduction="none", **kw
        )
        assert_close(out, ref)
        plain = ref_smooth_l1(x, y, beta) * (1.0 if weight is None else weight)
        assert_close(out.sum(), plain.sum())
        assert_close(
            run(xp, cl.iou_balanced_smooth_l1, x, y, iou, lam=lam, beta=beta, **kw), plain.mean()
        )


def test_iou_sl1_authors_variant_is_detached_weight(ad, rng):
    x, y, iou = sl1_case(rng)
    w = np.broadcast_to(iou, x.shape) ** 1.5
    out = run(ad, cl.smooth_l1_loss, x, y, weight=w, reduction="none")
    assert_close(out, ref_smooth_l1(x, y, 1.0) * w)


def test_iou_sl1_gradient_is_weighted_gradient(ad, rng):
    x, y, iou = sl1_case(rng)
    (g,) = grad(ad, cl.iou_balanced_smooth_l1, x, y, iou, beta=0.5)
    frozen = ref_iou_sl1(x, y, iou, 1.5, 0.5) / ref_smooth_l1(x, y, 0.5)
    fd = numeric_grad(lambda a, b: frozen * ref_smooth_l1(a, b, 0.5) / a.size, x, y)
    assert_close(g, fd, rtol=1e-6, atol=1e-9)


def test_iou_sl1_mask(xp, rng):
    x, y, iou = sl1_case(rng)
    m = np.array([True, True, False, True, False, True, True, True])[:, None]
    xn = x.copy()
    xn[~m[:, 0]] = np.nan
    out = run(xp, cl.iou_balanced_smooth_l1, xn, y, iou, mask=m, reduction="none")
    ref = ref_iou_sl1(x, y, iou, 1.5, 1.0, valid=m)
    mm = np.broadcast_to(m, x.shape)
    assert np.all(out[~mm] == 0)
    assert_close(out[mm], ref[mm])
    alone = cl.iou_balanced_smooth_l1(x[m[:, 0]], y[m[:, 0]], iou[m[:, 0]], reduction="none")
    assert_close(out[m[:, 0]], alone)
    assert_close(run(xp, cl.iou_balanced_smooth_l1, xn, y, iou, mask=m), alone.mean())


@pytest.mark.parametrize("fn", [cl.iou_balanced_bce, cl.iou_balanced_smooth_l1])
def test_iou_balanced_torch_compile_and_torch_equals_jax(fn, rng):
    import _backends

    torch = pytest.importorskip("torch")
    x, y, iou = bce_case(rng)
    m = rng.uniform(size=x.shape) > 0.2
    out = compile_fullgraph(
        fn,
        torch.from_numpy(x),
        torch.from_numpy(y),
        torch.from_numpy(iou),
        mask=torch.from_numpy(m),
    )
    assert_close(out.numpy(), fn(x, y, iou, mask=m))
    if "jax" in _backends.selected():
        gt = grad(_backends.get("torch"), fn, x, y, iou, mask=m)
        gj = grad(_backends.get("jax"), fn, x, y, iou, mask=m)
        assert_close(gt[0], gj[0], rtol=1e-9, atol=1e-12)


def test_iou_balanced_bad_input(xp, rng):
    x, y, iou = bce_case(rng)
    a = xp.asarray
    for fn, power in ((cl.iou_balanced_bce, "eta"), (cl.iou_balanced_smooth_l1, "lam")):
        with pytest.raises(ValueError, match=power):
            fn(a(x), a(y), a(iou), **{power: -1.0})
        with pytest.raises(ValueError, match="'iou'"):
            fn(a(x), a(y), a(np.ones((4, 1))))
        with pytest.raises(ValueError, match="'target'"):
            fn(a(x), a(y[:, :2]), a(iou))
        with pytest.raises(ValueError, match="reduction"):
            fn(a(x), a(y), a(iou), reduction="total")
        if xp.name in ("numpy", "array_api_strict", "torch"):
            with pytest.raises(ValueError, match="'iou'.*\\[0, 1\\]"):
                fn(a(x), a(y), a(iou + 1.0))
    with pytest.raises(ValueError, match="beta"):
        cl.iou_balanced_smooth_l1(a(x), a(y), a(iou), beta=-1.0)
    if xp.name in ("numpy", "array_api_strict", "torch"):
        with pytest.raises(ValueError, match="probabilities"):
            cl.iou_balanced_bce(a(x), a(y), a(iou), from_logits=False)


def test_catalog_entries():
    for name in ("box_iou_loss", "iou_balanced_bce", "iou_balanced_smooth_l1"):
        info = cl.get(name)
        assert info.family == "detection" and info.reference
        assert info.grad_argnums == (0,)
        assert {"numpy", "torch", "jax", "dask", "array_api_strict"} <= set(info.backends)
    assert set(cl.detection.__all__) == {
        "box_iou_loss",
        "iou_balanced_bce",
        "iou_balanced_smooth_l1",
    }
