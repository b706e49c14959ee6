"""Topology losses (Lovasz softmax/hinge, Hausdorff DT, soft clDice) against float64
NumPy references written from the papers / the authors' code (sharing no code with
corelosses), and against kornia and MONAI run live (value and gradient)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl


# ----------------------------------------------------------------- references
def _softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ref_lovasz_grad(gt_sorted):
    """The authors' ``lovasz_grad``."""
    gts = gt_sorted.sum()
    inter = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1.0 - gt_sorted)
    jac = 1.0 - inter / union
    jac[1:] = jac[1:] - jac[:-1].copy()
    return jac


def ref_softmax_flat(probas, labels, classes):
    """The authors' ``lovasz_softmax_flat``: probas (P, C), labels (P,)."""
    if probas.shape[0] == 0:
        return 0.0
    C = probas.shape[1]
    losses = []
    for k in range(C) if isinstance(classes, str) else classes:
        fg = (labels == k).astype(float)
        if classes == "present" and fg.sum() == 0:
            continue
        errors = np.abs(fg - probas[:, k])
        order = np.argsort(-errors, kind="stable")
        losses.append(np.dot(errors[order], ref_lovasz_grad(fg[order])))
    return float(np.mean(losses)) if losses else 0.0


def ref_lovasz_softmax(x, y, classes="present", per_image=False, ignore=None, probs=False):
    p = x if probs else _softmax(x, 1)
    C = p.shape[1]

    def flat(p, y):
        P = np.moveaxis(p, 1, -1).reshape(-1, C)
        L = y.reshape(-1)
        if ignore is not None:
            P, L = P[L != ignore], L[L != ignore]
        return P, L

    if per_image:
        return np.array(
            [ref_softmax_flat(*flat(p[i : i + 1], y[i : i + 1]), classes) for i in range(len(p))]
        )
    return ref_softmax_flat(*flat(p, y), classes)


def ref_hinge_flat(logits, labels):
    if logits.size == 0:
        return 0.0
    errors = 1.0 - logits * (2.0 * labels - 1.0)
    order = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[order], 0.0), ref_lovasz_grad(labels[order])))


def ref_lovasz_hinge(x, y, per_image=True, ignore=None):
    def flat(x, y):
        x, y = x.reshape(-1), y.reshape(-1)
        if ignore is not None:
            x, y = x[y != ignore], y[y != ignore]
        return x, y.astype(float)

    if per_image:
        return np.array([ref_hinge_flat(*flat(x[i], y[i])) for i in range(len(x))])
    return ref_hinge_flat(*flat(x, y))


def brute_field(m):
    """MONAI's distance field of one binary map by exhaustive search (any rank)."""
    m = np.asarray(m, bool)
    out = np.zeros(m.shape)
    if not m.any() or m.all():
        return out
    pts = np.indices(m.shape).reshape(m.ndim, -1).T
    flat = m.reshape(-1)
    for i, q in enumerate(pts):
        other = pts[flat != flat[i]]
        out.reshape(-1)[i] = np.sqrt(((other - q) ** 2).sum(1)).min()
    return out


def ref_hausdorff(x, t, alpha=2.0, include_background=False, activation="sigmoid"):
    p = _softmax(x) if activation == "softmax" else _sigmoid(x) if activation else x
    if not include_background and p.shape[1] > 1:
        p, t = p[:, 1:], t[:, 1:]
    out = np.zeros(p.shape[:2])
    for n in range(p.shape[0]):
        for k in range(p.shape[1]):
            d = brute_field(p[n, k] > 0.5) ** alpha + brute_field(t[n, k] > 0.5) ** alpha
            out[n, k] = np.mean((p[n, k] - t[n, k]) ** 2 * d)
    return out


def _pool(a, window, fn, fill):
    """Sliding ``fn`` (max/min) over the trailing axes with ``window``, padding ``fill``."""
    pads = [(0, 0)] * (a.ndim - len(window)) + [(w // 2, w // 2) for w in window]
    ap = np.pad(a, pads, constant_values=fill)
    out = None
    for off in np.ndindex(*window):
        sl = tuple(slice(None) for _ in range(a.ndim - len(window))) + tuple(
            slice(o, o + s) for o, s in zip(off, a.shape[-len(window) :])
        )
        out = ap[sl] if out is None else fn(out, ap[sl])
    return out


def ref_skel(img, iters):
    d = img.ndim - 2

    def erode(a):
        outs = [
            _pool(a, tuple(3 if j == i else 1 for j in range(d)), np.minimum, np.inf)
            for i in range(d)
        ]
        return np.minimum.reduce(outs)

    def opn(a):
        return _pool(erode(a), (3,) * d, np.maximum, -np.inf)

    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    skel = relu(img - opn(img))
    for _ in range(iters):
        img = erode(img)
        delta = relu(img - opn(img))
        skel = skel + relu(delta - skel * delta)
    return skel


def ref_cldice(x, t, iters=3, smooth=1.0, eps=1e-4, activation="sigmoid", include_background=True):
    p = _softmax(x) if activation == "softmax" else _sigmoid(x) if activation else x
    if not include_background and p.shape[1] > 1:
        p, t = p[:, 1:], t[:, 1:]
    sp, st = ref_skel(p, iters), ref_skel(t, iters)
    ax = tuple(range(1, p.ndim))
    tprec = ((sp * t).sum(ax) + smooth) / (sp.sum(ax) + smooth)
    tsens = ((st * p).sum(ax) + smooth) / (st.sum(ax) + smooth)
    return 1.0 - 2.0 * tprec * tsens / (tprec + tsens + eps)


def _data(rng, shape=(2, 3, 5, 6), scale=2.0):
    x = rng.normal(size=shape) * scale
    y = rng.integers(0, shape[1], size=(shape[0],) + shape[2:])
    return x, y


def _onehot(y, c):
    return (y[:, None] == np.arange(c).reshape((1, c) + (1,) * (y.ndim - 1))).astype(float)


# ------------------------------------------------------------------ Lovasz softmax
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"per_image": True},
        {"classes": "all"},
        {"classes": "all", "per_image": True},
        {"classes": [2, 0]},
        {"ignore_index": 1},
        {"ignore_index": 1, "per_image": True},
    ],
)
def test_lovasz_softmax_reference(xp, rng, kw):
    x, y = _data(rng)
    y[1][y[1] == 2] = 0  # class 2 absent from image 1
    ref = ref_lovasz_softmax(
        x,
        y,
        classes=kw.get("classes", "present"),
        per_image=kw.get("per_image", False),
        ignore=kw.get("ignore_index"),
    )
    out = run(xp, cl.lovasz_softmax_loss, x, y, **kw, reduction="none")
    assert out.shape == np.shape(ref)
    assert_close(out, ref)
    assert_close(run(xp, cl.lovasz_softmax_loss, x, y, **kw), np.mean(ref))


def test_lovasz_softmax_layout_probs_and_pixel_mask(xp, rng):
    x, y = _data(rng, (2, 3, 4, 5))
    ref = ref_lovasz_softmax(x, y, per_image=True)
    out = run(
        xp,
        cl.lovasz_softmax_loss,
        np.moveaxis(x, 1, -1),
        y,
        channel_axis=-1,
        per_image=True,
        reduction="none",
    )
    assert_close(out, ref)
    p = _softmax(x)
    assert_close(
        run(xp, cl.lovasz_softmax_loss, p, y, activation=None), ref_lovasz_softmax(p, y, probs=True)
    )
    # a pixel mask is ignore_index; NaN under it reaches nothing
    m = rng.uniform(size=y.shape) > 0.3
    ref_m = ref_lovasz_softmax(x, np.where(m, y, -1), ignore=-1)
    xd = np.where(m[:, None], x, np.nan)
    assert_close(run(xp, cl.lovasz_softmax_loss, xd, y, mask=m), ref_m)


def test_lovasz_softmax_fully_ignored_image_left_out(xp, rng):
    # the authors' code counts such an image as a loss of 0 in the batch mean; we leave
    # it out (as every masked mean here): their number is ours * (images left) / N
    x, y = _data(rng, (3, 3, 4, 4))
    y[1] = 255
    ref = ref_lovasz_softmax(x, y, per_image=True, ignore=255)
    out = run(xp, cl.lovasz_softmax_loss, x, y, per_image=True, ignore_index=255)
    assert_close(out, ref[[0, 2]].mean())
    assert_close(out * 2 / 3, ref.mean())


def test_lovasz_softmax_gradient(ad, rng):
    x, y = _data(rng, (2, 3, 4, 4))
    for kw in ({}, {"per_image": True, "classes": "all"}):
        (g,) = grad(ad, cl.lovasz_softmax_loss, x, y, **kw, reduction="sum")
        fd = numeric_grad(lambda a, b, kw=kw: np.sum(ref_lovasz_softmax(a, b, **kw)), x, y)
        assert_close(g, fd, rtol=1e-6, atol=1e-8)


def test_lovasz_vs_kornia(rng):
    torch = pytest.importorskip("torch")
    kornia = pytest.importorskip("kornia")
    x, y = _data(rng, (2, 4, 5, 6))
    xt = torch.tensor(x, requires_grad=True)
    want = kornia.losses.lovasz_softmax_loss(xt, torch.tensor(y))
    want.backward()
    xo = torch.tensor(x, requires_grad=True)
    got = cl.lovasz_softmax_loss(xo, torch.tensor(y), classes="all", per_image=True)
    got.backward()
    assert_close(got.detach(), want.detach())
    assert_close(xo.grad, xt.grad)
    # binary: kornia's lovasz_hinge_loss (B, 1, H, W) logits, (B, H, W) labels
    xb = rng.normal(size=(3, 1, 5, 6))
    yb = rng.integers(0, 2, size=(3, 5, 6))
    xt = torch.tensor(xb, requires_grad=True)
    want = kornia.losses.lovasz_hinge_loss(xt, torch.tensor(yb))
    want.backward()
    xo = torch.tensor(xb, requires_grad=True)
    got = cl.lovasz_hinge_loss(xo, torch.tensor(yb[:, None]))
    got.backward()
    assert_close(got.detach(), want.detach())
    assert_close(xo.grad, xt.grad)


def test_lovasz_softmax_extremes(xp, rng):
    x, y = _data(rng, (2, 3, 4, 4))
    y[:] = 0  # all background
    for kw in ({}, {"classes": "all", "per_image": True}):
        out = run(xp, cl.lovasz_softmax_loss, x, y, **kw)
        assert np.isfinite(out)
        assert_close(out, np.mean(ref_lovasz_softmax(x, y, **{"classes": "present", **kw})))
    # everything ignored / masked: 0
    assert run(xp, cl.lovasz_softmax_loss, x, y, ignore_index=0) == 0.0
    assert (
        run(xp, cl.lovasz_softmax_loss, x, y, mask=np.zeros(y.shape, bool), per_image=True) == 0.0
    )
    # saturated logits: finite, perfect prediction ~0
    big = np.where(_onehot(y, 3) > 0, 1e4, -1e4)
    assert run(xp, cl.lovasz_softmax_loss, big, y) == pytest.approx(0.0, abs=1e-12)


def test_lovasz_extremes_grad(ad, rng):
    x, y = _data(rng, (2, 3, 4, 4))
    y[:] = 0
    for fn, a, b in (
        (cl.lovasz_softmax_loss, x, y),
        (cl.lovasz_hinge_loss, x[:, 0], np.zeros((2, 4, 4))),
        (cl.lovasz_hinge_loss, x[:, 0] * 1e30, np.ones((2, 4, 4))),
    ):
        (g,) = grad(ad, fn, a, b)
        assert np.all(np.isfinite(g))


def test_lovasz_loss_level_mask_nan_safe(ad, rng):
    x, y = _data(rng, (3, 3, 4, 4))
    x[1] = np.nan
    m = np.array([True, False, True])
    for fn, a, b in (
        (cl.lovasz_softmax_loss, x, y),
        (cl.lovasz_hinge_loss, x[:, 0], (y > 0) * 1.0),
    ):
        kw = {"per_image": True}
        clean = run(ad, fn, np.nan_to_num(a), b, reduction="none", **kw)
        assert_close(run(ad, fn, a, b, mask=m, **kw), clean[m].mean())
        (g,) = grad(ad, fn, a, b, mask=m, **kw)
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)


# ------------------------------------------------------------------ Lovasz hinge
@pytest.mark.parametrize("kw", [{}, {"per_image": False}, {"ignore_index": 255}])
def test_lovasz_hinge_reference(xp, rng, kw):
    x = rng.normal(size=(3, 4, 5)) * 2
    y = rng.integers(0, 2, size=(3, 4, 5)).astype(float)
    y[0] = 0  # an image without foreground
    if "ignore_index" in kw:
        y[rng.uniform(size=y.shape) < 0.3] = 255
    ref = ref_lovasz_hinge(x, y, per_image=kw.get("per_image", True), ignore=kw.get("ignore_index"))
    out = run(xp, cl.lovasz_hinge_loss, x, y, **kw, reduction="none")
    assert_close(out, ref)
    assert_close(run(xp, cl.lovasz_hinge_loss, x, y > 0.5 if not kw else y, **kw), np.mean(ref))


def test_lovasz_hinge_gradient_and_pixel_mask(ad, rng):
    x = rng.normal(size=(2, 4, 5)) * 2
    y = rng.integers(0, 2, size=(2, 4, 5)).astype(float)
    for per_image in (True, False):
        (g,) = grad(ad, cl.lovasz_hinge_loss, x, y, per_image=per_image, reduction="sum")
        fd = numeric_grad(lambda a, b, pi=per_image: np.sum(ref_lovasz_hinge(a, b, pi)), x, y)
        assert_close(g, fd, rtol=1e-6, atol=1e-8)
    m = rng.uniform(size=x.shape) > 0.3
    xd = np.where(m, x, np.inf)
    want = ref_lovasz_hinge(x, np.where(m, y, 7.0), ignore=7.0)
    assert_close(run(ad, cl.lovasz_hinge_loss, xd, y, mask=m, reduction="none"), want)
    (g,) = grad(ad, cl.lovasz_hinge_loss, xd, y, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


# ------------------------------------------------------------------ Hausdorff DT
@pytest.mark.parametrize(
    "kw",
    [{}, {"activation": "softmax", "alpha": 1.0}, {"activation": None, "include_background": True}],
)
def test_hausdorff_reference(xp, rng, kw):
    x, y = _data(rng, (2, 3, 5, 4))
    t = _onehot(y, 3)
    t[1, 2] = 0.0  # an empty class
    t[0, 0] = 1.0  # a full map
    if kw.get("activation", "sigmoid") is None:
        x = _sigmoid(x)
    ref = ref_hausdorff(x, t, **kw)
    assert_close(run(xp, cl.hausdorff_dt_loss, x, t, **kw, reduction="none"), ref)
    assert_close(run(xp, cl.hausdorff_dt_loss, x, t, **kw), ref.mean())


def test_hausdorff_3d_channels_last_and_masks(xp, rng):
    x = rng.normal(size=(1, 2, 3, 4, 3))
    t = (rng.uniform(size=x.shape) > 0.5) * 1.0
    ref = ref_hausdorff(x, t, include_background=True)
    out = run(
        xp,
        cl.hausdorff_dt_loss,
        np.moveaxis(x, 1, -1),
        np.moveaxis(t, 1, -1),
        channel_axis=-1,
        include_background=True,
        reduction="none",
    )
    assert_close(out, ref)
    m = np.array([[True, False]])
    xd = x.copy()
    xd[:, 1] = np.nan
    assert_close(run(xp, cl.hausdorff_dt_loss, xd, t, include_background=True, mask=m), ref[0, 0])


def test_hausdorff_vs_monai(rng):
    torch = pytest.importorskip("torch")
    monai_losses = pytest.importorskip("monai.losses")
    x, y = _data(rng, (2, 3, 6, 5))
    t = _onehot(y, 3)
    for act in ("sigmoid", "softmax"):
        xt = torch.tensor(x, requires_grad=True)
        loss = monai_losses.HausdorffDTLoss(sigmoid=act == "sigmoid", softmax=act == "softmax")
        want = loss(xt, torch.tensor(t))
        want.backward()
        xo = torch.tensor(x, requires_grad=True)
        got = cl.hausdorff_dt_loss(xo, torch.tensor(t), activation=act)
        got.backward()
        # MONAI casts its distance fields to float32
        assert_close(got.detach(), want.detach(), rtol=1e-7)
        assert_close(xo.grad, xt.grad, rtol=1e-6, atol=1e-9)


def test_hausdorff_gradient(ad, rng):
    x, y = _data(rng, (1, 3, 4, 4))
    t = _onehot(y, 3)
    (g,) = grad(ad, cl.hausdorff_dt_loss, x, t, activation="softmax", reduction="sum")
    fd = numeric_grad(lambda a, b: ref_hausdorff(a, b, activation="softmax").sum(), x, t)
    assert_close(g, fd, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------ soft clDice
@pytest.mark.parametrize(
    "kw",
    [{}, {"iterations": 0, "smooth": 0.5}, {"activation": "softmax", "include_background": False}],
)
def test_cldice_reference(xp, rng, kw):
    if xp.name == "dask":
        pytest.skip("slow on dask (a large task graph); a 1-D case runs there below")
    x = rng.normal(size=(2, 3, 6, 5)) * 2
    t = (rng.uniform(size=x.shape) > 0.5) * 1.0
    ref = ref_cldice(
        x, t, iters=kw.get("iterations", 3), **{k: v for k, v in kw.items() if k != "iterations"}
    )
    assert_close(run(xp, cl.soft_cldice_loss, x, t, **kw, reduction="none"), ref)
    assert_close(run(xp, cl.soft_cldice_loss, x, t, **kw), ref.mean())


def test_cldice_3d_and_1d(xp, rng):
    if xp.name != "dask":  # slow on dask (a large task graph)
        x = rng.normal(size=(1, 1, 4, 5, 3))
        t = (rng.uniform(size=x.shape) > 0.5) * 1.0
        want = ref_cldice(x, t, iters=2).mean()
        assert_close(run(xp, cl.soft_cldice_loss, x, t, iterations=2), want)
    x1 = rng.normal(size=(2, 1, 7))
    t1 = (rng.uniform(size=x1.shape) > 0.5) * 1.0
    assert_close(run(xp, cl.soft_cldice_loss, x1, t1, reduction="none"), ref_cldice(x1, t1))


def test_cldice_vs_monai(rng):
    torch = pytest.importorskip("torch")
    monai_losses = pytest.importorskip("monai.losses")
    x = rng.normal(size=(2, 2, 6, 6)) * 2
    t = (rng.uniform(size=x.shape) > 0.5) * 1.0
    for act, ib in (("sigmoid", True), ("softmax", False)):
        xt = torch.tensor(x, requires_grad=True)
        loss = monai_losses.SoftclDiceLoss(
            iter_=3, sigmoid=act == "sigmoid", softmax=act == "softmax", include_background=ib
        )
        want = loss(xt, torch.tensor(t))
        want.backward()
        xo = torch.tensor(x, requires_grad=True)
        got = cl.soft_cldice_loss(xo, torch.tensor(t), activation=act, include_background=ib)
        got.backward()
        assert_close(got.detach(), want.detach())
        assert_close(xo.grad, xt.grad)


def test_cldice_gradient_extremes_and_masks(ad, rng):
    x = rng.normal(size=(2, 1, 5, 5))
    t = (rng.uniform(size=x.shape) > 0.5) * 1.0
    (g,) = grad(ad, cl.soft_cldice_loss, x, t, iterations=2, reduction="sum")
    fd = numeric_grad(lambda a, b: ref_cldice(a, b, iters=2).sum(), x, t)
    assert_close(g, fd, rtol=1e-6, atol=1e-8)
    z = np.zeros_like(t)
    kw = {"smooth": 0.0, "eps": 0.0, "iterations": 1}
    # empty prediction and target: empty skeletons, both ratios 0/0 -> 1: loss 0
    assert np.all(run(ad, cl.soft_cldice_loss, x * 0 - 50, z, **kw, reduction="none") == 0.0)
    (g,) = grad(ad, cl.soft_cldice_loss, x * 0 - 50, z, **kw)
    assert np.all(np.isfinite(g))
    # disjoint lines: both ratios 0, harmonic mean 0/0 -> 0: loss 1
    a, b = z.copy(), z.copy()
    a[..., 1, :], b[..., 3, :] = 1.0, 1.0
    assert np.all(
        run(ad, cl.soft_cldice_loss, a, b, activation=None, **kw, reduction="none") == 1.0
    )
    (g,) = grad(ad, cl.soft_cldice_loss, a, b, activation=None, **kw)
    assert np.all(np.isfinite(g))
    # pixel mask: masked pixels are background, NaN there reaches nothing
    m = np.ones(x.shape, bool)
    m[..., 0, :] = False
    xd = np.where(m, x, np.nan)
    want = ref_cldice(np.where(m, x, -np.inf), np.where(m, t, 0.0), iters=1).mean()
    assert_close(run(ad, cl.soft_cldice_loss, xd, t, mask=m, iterations=1), want)
    (g,) = grad(ad, cl.soft_cldice_loss, xd, t, mask=m, iterations=1)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


# ------------------------------------------------------------------ tracing, bad input
@pytest.mark.slow
def test_jax_jit_traces(rng):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    x, y = _data(rng, (2, 3, 4, 4))
    t = _onehot(y, 3)
    cases = [
        (cl.lovasz_softmax_loss, x, y, {"ignore_index": 2}),
        (cl.lovasz_hinge_loss, x[:, 0], (y > 0) * 1.0, {}),
        (cl.hausdorff_dt_loss, x, t, {}),
        (cl.soft_cldice_loss, x, t, {}),
    ]
    jax.config.update("jax_enable_x64", True)
    if True:
        for fn, a, b, kw in cases:
            f = jax.jit(lambda a, b, fn=fn, kw=kw: fn(a, b, **kw))
            assert_close(f(jnp.asarray(a), jnp.asarray(b)), fn(a, b, **kw))
            g = jax.jit(jax.grad(lambda a, b, fn=fn, kw=kw: fn(a, b, **kw)))(
                jnp.asarray(a), jnp.asarray(b)
            )
            assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lovasz_softmax_loss", "lovasz_hinge_loss", "soft_cldice_loss"])
def test_torch_compile_fullgraph(rng, name):
    torch = pytest.importorskip("torch")
    x, y = _data(rng, (2, 3, 4, 4))
    args = {
        "lovasz_softmax_loss": (x, y),
        "lovasz_hinge_loss": (x[:, 0], (y > 0) * 1.0),
        "soft_cldice_loss": (x, _onehot(y, 3)),
    }[name]
    fn = getattr(cl, name)
    a = [torch.tensor(v) for v in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = compile_fullgraph(fn, *a)
    assert_close(out, fn(*args))


def test_bad_input():
    x = np.zeros((2, 3, 4, 4))
    y = np.zeros((2, 4, 4), dtype=np.int64)
    t = np.zeros((2, 3, 4, 4))
    with pytest.raises(ValueError, match="classes"):
        cl.lovasz_softmax_loss(x, y, classes="some")
    with pytest.raises(ValueError, match="classes"):
        cl.lovasz_softmax_loss(x, y, classes=[3])
    with pytest.raises(ValueError, match="target"):
        cl.lovasz_softmax_loss(x, y[:, :3])
    with pytest.raises(ValueError, match="target"):
        cl.lovasz_softmax_loss(x, y + 3)
    with pytest.raises(TypeError, match="target"):
        cl.lovasz_softmax_loss(x, y * 1.0)
    with pytest.raises(TypeError, match="per_image"):
        cl.lovasz_softmax_loss(x, y, per_image=1)
    with pytest.raises(ValueError, match="activation"):
        cl.lovasz_softmax_loss(x, y, activation="sigmoid")
    with pytest.raises(ValueError, match="reduction"):
        cl.lovasz_hinge_loss(y * 1.0, y, reduction="avg")
    with pytest.raises(ValueError, match="target"):
        cl.lovasz_hinge_loss(y * 1.0, y + 2)
    with pytest.raises(ValueError, match="target"):
        cl.lovasz_hinge_loss(y * 1.0, y[:1])
    with pytest.raises(ValueError, match="alpha"):
        cl.hausdorff_dt_loss(x, t, alpha=0.0)
    with pytest.raises(ValueError, match="input"):
        cl.hausdorff_dt_loss(x[0, 0], t[0, 0])
    with pytest.raises(TypeError, match="include_background"):
        cl.hausdorff_dt_loss(x, t, include_background=None)
    with pytest.raises(ValueError, match="iterations"):
        cl.soft_cldice_loss(x, t, iterations=-1)
    with pytest.raises(ValueError, match="smooth"):
        cl.soft_cldice_loss(x, t, smooth=-1.0)
    with pytest.raises(ValueError, match="target"):
        cl.soft_cldice_loss(x, t[:, :2])
    with pytest.raises(ValueError, match="mask"):
        cl.soft_cldice_loss(x, t, mask=np.ones((3,), bool))
