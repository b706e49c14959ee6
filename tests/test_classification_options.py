"""The peer options of the classification losses.

``focal_loss(pos_weight=, alpha=<per class>, class_axis=)``,
``softmax_focal_loss(label_smoothing=)``, ``cross_entropy(axis=<tuple>, where=)``
and ``-inf`` logits of excluded classes: independent float64 NumPy references,
the live peers (MONAI ``FocalLoss``, torch ``binary_cross_entropy_with_logits``,
Keras ``CategoricalFocalCrossentropy`` on jax and torch, optax
``softmax_cross_entropy`` / ``safe_softmax_cross_entropy`` /
``softmax_cross_entropy_with_integer_labels``) value and gradient, masks,
half precision, bad input, ``jax.jit`` and ``torch.compile(fullgraph=True)``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl


# --------------------------------------------------------- float64 references
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def along(v, ndim, ax):
    shape = [1] * ndim
    shape[ax] = -1
    return np.reshape(v, shape)


def ref_focal(x, y, alpha=0.25, gamma=2.0, pw=None, class_axis=-1, from_logits=True):
    """alpha_t (1 - p_t)^g (-(pw y log p + (1 - y) log(1 - p))), written out."""
    p = sigmoid(x) if from_logits else x
    pw = 1.0 if pw is None else pw
    if np.ndim(pw) == 1 and class_axis % x.ndim != x.ndim - 1:
        pw = along(pw, x.ndim, class_axis)
    ce = -(pw * y * np.log(p) + (1 - y) * np.log(1 - p))
    pt = p * y + (1 - p) * (1 - y)
    loss = (1 - pt) ** gamma * ce
    if alpha is not None:
        a = alpha if np.ndim(alpha) == 0 else along(alpha, x.ndim, class_axis)
        loss = (a * y + (1 - a) * (1 - y)) * loss
    return loss


def ref_softmax_focal_ls(x, t, s, gamma=2.0, alpha=None):
    """Keras: y <- y (1 - s) + s / C, -sum alpha (1 - p)^g y log p (last axis)."""
    C = x.shape[-1]
    y = np.eye(C)[t] if t.shape != x.shape else t
    y = y * (1 - s) + s / C
    lp = log_softmax(x)
    a = 1.0 if alpha is None else alpha
    return -(a * y * (1 - np.exp(lp)) ** gamma * lp).sum(-1)


def ref_ce_where(x, y, keep, s=0.0):
    """Per row: the cross entropy of the kept classes alone (last axis), loops."""
    out = np.zeros(x.shape[:-1])
    for i in np.ndindex(*x.shape[:-1]):
        k = keep[i]
        if not k.any():
            continue
        lp = log_softmax(x[i][k])
        yy = y[i][k] * (1 - s) + s / k.sum()
        out[i] = -(yy * lp).sum()
    return out


def ref_ce_axes(x, y, axes):
    rest = [a for a in range(x.ndim) if a not in axes]
    lead = [x.shape[a] for a in rest]
    xf = np.transpose(x, rest + list(axes)).reshape(*lead, -1)
    yf = y if y.shape == tuple(lead) else np.transpose(y, rest + list(axes)).reshape(*lead, -1)
    if yf.shape == tuple(lead):
        yf = np.eye(xf.shape[-1])[yf]
    return -(yf * log_softmax(xf)).sum(-1)


def _jax():
    pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    import _backends

    _backends.get("jax")  # x64 on
    import jax
    import jax.numpy as jnp

    return jax, jnp, optax


def _torch():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


def focal_data(rng, shape=(6, 5)):
    x = rng.normal(size=shape) * 2
    y = (rng.uniform(size=shape) > 0.6).astype(float)
    return x, y


# ====================================================== focal_loss options
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("from_logits", [True, False])
def test_focal_pos_weight_scalar_alpha_matches_reference(xp, rng, reduction, from_logits):
    x, y = focal_data(rng)
    y[0, :2] = [0.3, 0.8]  # soft targets too
    pw = rng.uniform(0.5, 3.0, size=5)
    inp = x if from_logits else sigmoid(x)
    ref = ref_focal(inp, y, 0.25, 1.5, pw, from_logits=from_logits)
    ref = {"none": ref, "mean": ref.mean(), "sum": ref.sum()}[reduction]
    kw = dict(alpha=0.25, gamma=1.5, pos_weight=pw, from_logits=from_logits, reduction=reduction)
    assert_close(run(xp, cl.focal_loss, inp, y, **kw), ref)


@pytest.mark.parametrize("class_axis", [-1, 1])
def test_focal_per_class_alpha_matches_reference(xp, rng, class_axis):
    x, y = focal_data(rng, (3, 4, 5))
    C = x.shape[class_axis]
    a, pw = rng.uniform(0.1, 0.9, size=C), rng.uniform(0.5, 2.0, size=C)
    kw = dict(alpha=a, pos_weight=pw, class_axis=class_axis, reduction="none")
    ref = ref_focal(x, y, a, 2.0, pw, class_axis)
    assert_close(run(xp, cl.focal_loss, x, y, **kw), ref)
    # one class a binary problem of its own: alpha=[a] * C is alpha=a
    out = run(xp, cl.focal_loss, x, y, alpha=np.full(C, 0.3), class_axis=class_axis)
    assert_close(out, run(xp, cl.focal_loss, x, y, alpha=0.3))


def test_focal_options_gradient(ad, rng):
    x, y = focal_data(rng, (3, 4, 5))
    kw = dict(alpha=rng.uniform(0.1, 0.9, size=4), pos_weight=rng.uniform(0.5, 2, size=4))
    kw["class_axis"], kw["gamma"] = 1, 1.5
    (g,) = grad(ad, cl.focal_loss, x, y, **kw)
    assert_close(g, numeric_grad(cl.focal_loss, x, y, **kw), rtol=1e-6, atol=1e-9)
    # pos_weight differentiable (torch then runs the formula, not the fused kernel)
    args = (x, y, kw["pos_weight"])

    def f(a, b, p):
        return cl.focal_loss(a, b, pos_weight=p, class_axis=1)

    (gp,) = grad(ad, f, *args, argnums=(2,))
    ref = numeric_grad(f, *args, argnum=2)
    assert_close(gp, ref, rtol=1e-6, atol=1e-9)


def test_focal_pos_weight_peer_torch_bce(rng):
    """gamma=0, alpha=None: F.binary_cross_entropy_with_logits(pos_weight=), value and grad."""
    torch, F = _torch()
    x, y = focal_data(rng)
    pw = torch.from_numpy(rng.uniform(0.5, 3.0, size=5))
    yt = torch.from_numpy(y)
    x0 = torch.from_numpy(x).requires_grad_(True)
    ref = F.binary_cross_entropy_with_logits(x0, yt, pos_weight=pw)
    (gr,) = torch.autograd.grad(ref, x0)
    x1 = torch.from_numpy(x).requires_grad_(True)
    out = cl.focal_loss(x1, yt, alpha=None, gamma=0.0, pos_weight=pw)
    (go,) = torch.autograd.grad(out, x1)
    assert_close(out.detach().numpy(), ref.detach().numpy())
    assert_close(go.numpy(), gr.numpy())


def _monai():
    torch, _ = _torch()
    pytest.importorskip("monai")
    from monai.losses import FocalLoss

    return torch, FocalLoss


def _value_grad_torch(torch, fn, x):
    a = torch.from_numpy(x).requires_grad_(True)
    v = fn(a)
    (g,) = torch.autograd.grad(v, a)
    return v.detach().numpy(), g.numpy()


def test_focal_peer_monai_alpha(rng):
    """MONAI FocalLoss (sigmoid, channel-first): scalar alpha is ours; its per-class
    alpha (positives weighed by a_c, negatives by 1) is alpha=None, pos_weight=a;
    our per-class alpha is its scalar alpha run on each channel. MONAI computes in
    float32: float32 inputs, float32 tolerances."""
    torch, FocalLoss = _monai()
    x, y = focal_data(rng, (2, 3, 4, 5))
    x, y = x.astype(np.float32), y.astype(np.float32)
    yt = torch.from_numpy(y)
    a = np.array([0.2, 0.5, 0.9], np.float32)
    at = torch.from_numpy(a)
    pairs = [
        (FocalLoss(alpha=0.3, gamma=1.5), lambda v: cl.focal_loss(v, yt, alpha=0.3, gamma=1.5)),
        (FocalLoss(alpha=a.tolist()), lambda v: cl.focal_loss(v, yt, alpha=None, pos_weight=at, class_axis=1)),
        (FocalLoss(alpha=None, gamma=0.5), lambda v: cl.focal_loss(v, yt, alpha=None, gamma=0.5)),
    ]  # fmt: skip
    for peer, ours in pairs:
        vp, gp = _value_grad_torch(torch, lambda v, peer=peer: peer(v, yt), x)
        vo, go = _value_grad_torch(torch, ours, x)
        assert_close(vo, vp, "float32")
        assert_close(go, gp, "float32")

    def monai_per_channel(v):
        return sum(
            FocalLoss(alpha=float(a[k]), reduction="none")(v[:, k : k + 1], yt[:, k : k + 1]).sum()
            for k in range(3)
        )

    vp, gp = _value_grad_torch(torch, monai_per_channel, x)
    ours = lambda v: cl.focal_loss(v, yt, alpha=at, class_axis=1, reduction="sum")  # noqa: E731
    vo, go = _value_grad_torch(torch, ours, x)
    assert_close(vo, vp, "float32", rtol=1e-5)
    assert_close(go, gp, "float32")


def test_softmax_focal_peer_monai_alpha(rng):
    """MONAI FocalLoss(use_softmax=True, alpha=[...]) averages over the classes too."""
    torch, FocalLoss = _monai()
    x = (rng.normal(size=(2, 3, 4, 5)) * 2).astype(np.float32)
    t = rng.integers(0, 3, size=(2, 4, 5))
    oh = torch.from_numpy(np.moveaxis(np.eye(3, dtype=np.float32)[t], -1, 1))
    a = [0.2, 0.5, 0.9]
    peer = FocalLoss(alpha=a, gamma=2.0, use_softmax=True)
    vp, gp = _value_grad_torch(torch, lambda v: 3 * peer(v, oh), x)
    at, tt = torch.tensor(a), torch.from_numpy(t)
    vo, go = _value_grad_torch(torch, lambda v: cl.softmax_focal_loss(v, tt, alpha=at, axis=1), x)
    assert_close(vo, vp, "float32")
    assert_close(go, gp, "float32")


# ===================================== softmax_focal_loss(label_smoothing=)
@pytest.mark.parametrize("s", [0.0, 0.1, 0.9])
def test_softmax_focal_label_smoothing_matches_reference(xp, rng, s):
    x = rng.normal(size=(7, 5)) * 2
    t = rng.integers(0, 5, size=7)
    a = rng.uniform(0.2, 1.0, size=5)
    kw = dict(gamma=1.5, alpha=a, label_smoothing=s, reduction="none")
    ref = ref_softmax_focal_ls(x, t, s, 1.5, a)
    assert_close(run(xp, cl.softmax_focal_loss, x, t, **kw), ref)
    # one-hot targets give the same
    assert_close(run(xp, cl.softmax_focal_loss, x, np.eye(5)[t], **kw), ref)
    # axis=1 with ignore_index
    x3 = np.moveaxis(x.reshape(7, 1, 5), -1, 1)
    t3 = t.reshape(7, 1).copy()
    t3[2] = -100
    out = run(xp, cl.softmax_focal_loss, x3, t3, axis=1, ignore_index=-100, **kw)
    assert_close(out, np.where(t3 == -100, 0.0, ref.reshape(7, 1)))


def test_softmax_focal_label_smoothing_gradient(ad, rng):
    x = rng.normal(size=(6, 4)) * 2
    t = rng.integers(0, 4, size=6)
    kw = dict(gamma=2.0, alpha=0.5, label_smoothing=0.2)
    (g,) = grad(ad, cl.softmax_focal_loss, x, t, **kw)
    assert_close(g, numeric_grad(cl.softmax_focal_loss, x, t, **kw), rtol=1e-6, atol=1e-9)


KERAS_SCRIPT = r"""
import numpy as np, keras, corelosses as cl
bk = keras.backend.backend()
rng = np.random.default_rng(0)
x = (rng.normal(size=(6, 4)) * 1.5).astype("float32")
idx = rng.integers(0, 4, size=6)
oh = np.eye(4, dtype="float32")[idx]
if bk == "jax":
    import jax, jax.numpy as jnp
    arr = jnp.asarray
    def value_and_grad(f, x):
        v, g = jax.value_and_grad(lambda a: f(a))(jnp.asarray(x))
        return float(v), np.asarray(g)
else:
    import torch
    arr = torch.from_numpy
    def value_and_grad(f, x):
        a = torch.from_numpy(np.array(x)).requires_grad_(True)
        v = f(a)
        (g,) = torch.autograd.grad(v, a)
        return float(v.detach()), g.numpy()
for s in (0.0, 0.1, 0.5, 0.95):
    for al, g in ((0.25, 2.0), (1.0, 1.5)):
        kfl = keras.losses.CategoricalFocalCrossentropy(
            alpha=al, gamma=g, label_smoothing=s, from_logits=True)
        peer = lambda a: kfl(arr(oh), a)
        for tgt in (arr(idx), arr(oh)):
            ours = lambda a: cl.softmax_focal_loss(a, tgt, alpha=al, gamma=g, label_smoothing=s)
            vp, gp = value_and_grad(peer, x)
            vo, go = value_and_grad(ours, x)
            assert np.isclose(vp, vo, rtol=1e-5, atol=1e-7), (s, al, vp, vo)
            np.testing.assert_allclose(go, gp, rtol=1e-4, atol=1e-7, err_msg=str((s, al)))
print("OK", bk)
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_softmax_focal_label_smoothing_peer_keras(backend):
    """Keras CategoricalFocalCrossentropy(label_smoothing=), value and gradient."""
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"needs keras and {backend}")
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    r = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"OK {backend}" in r.stdout


# ========================================== cross_entropy(axis=(...), where=)
@pytest.mark.parametrize("axes", [(1, 2), (2, 1), (0, 2), (-1, 1)])
def test_ce_axes_tuple_matches_reference(xp, rng, axes):
    x = rng.normal(size=(4, 3, 5)) * 2
    norm = tuple(a % 3 for a in axes)
    rest = [a for a in range(3) if a not in norm]
    lead = tuple(x.shape[a] for a in rest)
    ncls = x.shape[norm[0]] * x.shape[norm[1]]
    yf = rng.dirichlet(np.ones(ncls), size=lead)  # (*lead, ncls)
    cd = tuple(x.shape[a] for a in norm)
    y = np.transpose(yf.reshape(*lead, *cd), np.argsort(rest + list(norm)))
    ref = ref_ce_axes(x, y, list(norm))
    assert_close(run(xp, cl.cross_entropy, x, y, axis=axes, reduction="none"), ref)
    assert_close(run(xp, cl.cross_entropy, x, y, axis=axes), ref.mean())
    t = rng.integers(0, ncls, size=lead)
    reft = ref_ce_axes(x, t, list(norm))
    assert_close(run(xp, cl.cross_entropy, x, t, axis=axes, reduction="none"), reft)
    # a class_weight of the class axes' shape (or flat); one-element tuple = the int
    cw = rng.uniform(0.5, 2.0, size=cd)
    out = run(xp, cl.cross_entropy, x, t, axis=axes, class_weight=cw, reduction="sum")
    assert_close(out, (cw.reshape(-1)[t] * reft).sum())
    out = run(xp, cl.cross_entropy, x, t, axis=axes, class_weight=cw.reshape(-1), reduction="sum")
    assert_close(out, (cw.reshape(-1)[t] * reft).sum())
    t1 = rng.integers(0, 5, size=(4, 3))
    assert_close(
        run(xp, cl.cross_entropy, x, t1, axis=(2,)), run(xp, cl.cross_entropy, x, t1, axis=2)
    )


@pytest.mark.parametrize("axes", [(1, 2), (2, 1)])
def test_ce_axes_tuple_peer_optax(rng, axes):
    jax, jnp, optax = _jax()
    x = jnp.asarray(rng.normal(size=(4, 3, 5)) * 2)
    y = jnp.asarray(rng.dirichlet(np.ones(15), size=4).reshape(4, 3, 5))
    t = jnp.asarray(rng.integers(0, 15, size=4))
    for tgt, peer in ((y, optax.softmax_cross_entropy),
                      (t, optax.softmax_cross_entropy_with_integer_labels)):  # fmt: skip
        ref = peer(x, tgt, axis=axes)
        assert_close(cl.cross_entropy(x, tgt, axis=axes, reduction="none"), ref)
        gr = jax.grad(lambda a, tgt=tgt, peer=peer: peer(a, tgt, axis=axes).mean())(x)
        go = jax.jit(jax.grad(lambda a, tgt=tgt: cl.cross_entropy(a, tgt, axis=axes)))(x)
        assert_close(go, gr)


def where_data(rng, shape=(6, 5)):
    x = rng.normal(size=shape) * 2
    keep = rng.uniform(size=shape) > 0.35
    keep[:, 0] = True
    keep[-1] = False  # a row with no class kept: loss 0
    t = rng.integers(0, shape[-1], size=shape[:-1])
    t = np.where(np.take_along_axis(keep, t[:, None], -1)[:, 0], t, 0)
    y = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    return x, keep, t, y


@pytest.mark.parametrize("s", [0.0, 0.2])
@pytest.mark.parametrize("from_logits", [True, False])
def test_ce_where_matches_reference(xp, rng, s, from_logits):
    x, keep, t, y = where_data(rng)
    inp = x if from_logits else np.exp(log_softmax(x))
    kw = dict(where=keep, label_smoothing=s, from_logits=from_logits, reduction="none")
    for tgt in (y, t):
        yy = tgt if tgt.ndim == 2 else np.eye(5)[tgt]
        ref = ref_ce_where(x, yy, keep, s)
        assert_close(run(xp, cl.cross_entropy, inp, tgt, **kw), ref)
    # class weights: torch's mean (divide by the targets' summed weights)
    cw = rng.uniform(0.5, 2.0, size=5)
    ref = ref_ce_where(x, np.eye(5)[t], keep) * cw[t]
    out = run(xp, cl.cross_entropy, x, t, where=keep, class_weight=cw)
    assert_close(out, ref.sum() / (cw[t] * keep[np.arange(6), t]).sum())
    # a (C,) where keeps the same classes in every row; all kept is the plain loss
    k1 = np.array([True, False, True, True, False])
    out = run(xp, cl.cross_entropy, x, y, where=k1, reduction="none")
    assert_close(out, ref_ce_where(x, y, np.broadcast_to(k1, x.shape)))
    out = run(xp, cl.cross_entropy, x, t, where=np.ones(5, np.int64))
    assert_close(out, run(xp, cl.cross_entropy, x, t))


def test_ce_where_peer_optax(rng):
    """optax.softmax_cross_entropy(where=) and its integer-label version (targets kept)."""
    jax, jnp, optax = _jax()
    x, keep, t, y = where_data(rng)
    ja, jk = jnp.asarray(x), jnp.asarray(keep)
    peers = ((jnp.asarray(y), optax.softmax_cross_entropy),
             (jnp.asarray(t), optax.softmax_cross_entropy_with_integer_labels))  # fmt: skip
    for tgt, peer in peers:
        ref = peer(ja, tgt, where=jk)
        assert_close(cl.cross_entropy(ja, tgt, where=jk, reduction="none"), ref)
        gr = jax.grad(lambda a, tgt=tgt, peer=peer: peer(a, tgt, where=jk).sum())(ja)
        go = jax.jit(
            jax.grad(lambda a, tgt=tgt: cl.cross_entropy(a, tgt, where=jk, reduction="sum"))
        )(ja)  # noqa: E501
        assert_close(go, gr)
    # with a tuple of axes
    x3 = jnp.asarray(rng.normal(size=(4, 3, 5)))
    y3 = jnp.asarray(rng.dirichlet(np.ones(15), size=4).reshape(4, 3, 5))
    k3 = jnp.asarray(rng.uniform(size=(4, 3, 5)) > 0.3)
    ref = optax.softmax_cross_entropy(x3, y3, axis=(1, 2), where=k3)
    assert_close(cl.cross_entropy(x3, y3, axis=(1, 2), where=k3, reduction="none"), ref)


def test_ce_where_torch_value_and_grad(rng):
    """torch: the same as the float64 reference, gradient by finite differences."""
    torch, _ = _torch()
    x, keep, t, y = where_data(rng)
    for tgt in (t, y):
        a = torch.from_numpy(x).requires_grad_(True)
        out = cl.cross_entropy(a, torch.from_numpy(tgt), where=torch.from_numpy(keep))
        (g,) = torch.autograd.grad(out, a)
        fd = numeric_grad(lambda v, tt: cl.cross_entropy(v, tt, where=keep), x, tgt)
        assert_close(g.numpy(), fd, rtol=1e-6, atol=1e-9)


def test_ce_where_excluded_nan_inf_never_read(ad, rng):
    """NaN / inf logits (and NaN targets) in excluded classes: value and gradient finite,
    the gradient 0 there."""
    x, keep, t, y = where_data(rng)
    xb, yb = x.copy(), y.copy()
    xb[~keep] = np.nan
    xb[~keep & (np.arange(5) % 2 == 0)] = np.inf
    yb[~keep] = np.nan
    for tgt, clean in ((t, t), (yb, np.where(keep, y, 0.0))):
        ref = run(ad, cl.cross_entropy, x, clean, where=keep, reduction="none")
        out = run(ad, cl.cross_entropy, xb, tgt, where=keep, reduction="none")
        assert_close(out, ref)
        (g,) = grad(ad, cl.cross_entropy, xb, tgt, where=keep)
        assert np.all(np.isfinite(g)) and np.all(g[~keep] == 0)


def test_ce_minus_inf_logits_safe_value(xp):
    """-inf logits of excluded classes: optax.safe_softmax_cross_entropy's value, no NaN."""
    x = np.array([[1.0, -np.inf, 0.5, -np.inf], [-np.inf, 2.0, -np.inf, 0.0]])
    y = np.array([[0.3, 0.0, 0.7, 0.0], [0.0, 1.0, 0.0, 0.0]])
    t = np.array([2, 1])
    lp = log_softmax(np.where(np.isinf(x), -1e300, x))
    ref = -(np.where(y > 0, y * lp, 0.0)).sum(-1)
    assert_close(run(xp, cl.cross_entropy, x, y, reduction="none"), ref)
    reft = -np.take_along_axis(lp, t[:, None], -1)[:, 0]
    assert_close(run(xp, cl.cross_entropy, x, t, reduction="none"), reft)
    for kw in ({"label_smoothing": 0.0, "class_weight": np.ones(4)}, {"mask": np.array([1, 1])}):
        assert_close(run(xp, cl.cross_entropy, x, t, reduction="none", **kw), reft)
    # where= on the finite entries gives the same
    out = run(xp, cl.cross_entropy, x, y, where=np.isfinite(x), reduction="none")
    assert_close(out, ref)


def test_ce_minus_inf_logits_peer_optax(rng):
    jax, jnp, optax = _jax()
    x = rng.normal(size=(5, 4))
    excl = rng.uniform(size=x.shape) < 0.4
    excl[:, 0] = False
    x = np.where(excl, -np.inf, x)
    y = rng.dirichlet(np.ones(4), size=5) * ~excl
    y /= y.sum(-1, keepdims=True)
    t = np.argmax(y, -1)
    ja = jnp.asarray(x)
    grads = []
    for tgt in (jnp.asarray(y), jnp.asarray(t)):
        yy = tgt if tgt.ndim == 2 else jax.nn.one_hot(tgt, 4, dtype=ja.dtype)
        ref = optax.safe_softmax_cross_entropy(ja, yy)
        assert np.all(np.isnan(np.asarray(optax.softmax_cross_entropy(ja, yy))[excl.any(-1)]))
        assert_close(cl.cross_entropy(ja, tgt, reduction="none"), ref)
        gr = jax.grad(lambda a, yy=yy: optax.safe_softmax_cross_entropy(a, yy).mean())(ja)
        go = jax.jit(jax.grad(lambda a, tgt=tgt: cl.cross_entropy(a, tgt)))(ja)
        assert np.all(np.isfinite(np.asarray(go)))
        assert_close(go, gr)
        grads.append(np.asarray(gr))
    # torch: value and gradient finite, the same
    torch, _ = _torch()
    for tgt, gr in zip((y, t), grads):
        a = torch.from_numpy(x).requires_grad_(True)
        out = cl.cross_entropy(a, torch.from_numpy(tgt))
        (g,) = torch.autograd.grad(out, a)
        assert np.isfinite(float(out.detach())) and np.all(np.isfinite(g.numpy()))
        assert_close(g.numpy(), gr)


def test_ce_native_kernel_only_in_the_plain_case(rng, monkeypatch):
    """The fused torch kernel is not called with where= or a tuple of axes, and the
    plain call still takes it."""
    torch, _ = _torch()
    from corelosses.adapters.torch import TorchBackend

    calls = []
    orig = TorchBackend.cross_entropy_native

    def spy(self, *a, **k):
        calls.append(a[2])
        return orig(self, *a, **k)

    monkeypatch.setattr(TorchBackend, "cross_entropy_native", spy)
    x = torch.from_numpy(rng.normal(size=(4, 3, 5)))
    t = torch.from_numpy(rng.integers(0, 5, size=(4, 3)))
    cl.cross_entropy(x, t)
    assert calls == [-1]
    cl.cross_entropy(x, t, where=torch.ones(5, dtype=torch.bool))
    assert calls == [-1]
    t2 = torch.from_numpy(rng.integers(0, 15, size=4))
    out = cl.cross_entropy(x, t2, axis=(1, 2))  # declined, the definition runs
    ref = ref_ce_axes(x.numpy(), t2.numpy(), [1, 2]).mean()
    assert_close(out.numpy(), ref)


# ============================================================ every new option
def _cases(rng):
    x, y = focal_data(rng)
    x3, y3 = focal_data(rng, (6, 4, 3))
    xm = rng.normal(size=(6, 5)) * 2
    t = rng.integers(0, 5, size=6)
    xw, keep, tw, yw = where_data(rng)
    xa = rng.normal(size=(6, 3, 4)) * 2
    ya = rng.dirichlet(np.ones(12), size=6).reshape(6, 3, 4)
    return {
        "focal/pos_weight": (cl.focal_loss, x, y, {"pos_weight": rng.uniform(0.5, 2, size=5)}),
        "focal/alpha_c": (
            cl.focal_loss, x3, y3,
            {"alpha": rng.uniform(0.1, 0.9, size=4), "pos_weight": rng.uniform(0.5, 2, size=4),
             "class_axis": 1, "gamma": 1.5},
        ),
        "softmax_focal/ls": (
            cl.softmax_focal_loss, xm, t,
            {"label_smoothing": 0.2, "alpha": rng.uniform(0.2, 1, size=5), "gamma": 2.5},
        ),
        "ce/axes": (cl.cross_entropy, xa, ya, {"axis": (1, 2)}),
        "ce/axes_int": (cl.cross_entropy, xa, rng.integers(0, 12, size=6), {"axis": (2, 1)}),
        "ce/where": (
            cl.cross_entropy, xw, tw,
            {"where": keep, "label_smoothing": 0.1, "class_weight": rng.uniform(0.5, 2, size=5)},
        ),
        "ce/where_prob": (cl.cross_entropy, xw, yw, {"where": keep}),
    }  # fmt: skip


CASES = list(_cases(np.random.default_rng(0)))


def _loss_mask(name, x, t):
    m = np.array([True, False, True, True, False, True])
    if name.startswith("focal"):
        return m, np.broadcast_to(m.reshape((6,) + (1,) * (x.ndim - 1)), x.shape)
    return m, m


@pytest.mark.parametrize("name", CASES)
def test_gradient_matches_finite_differences(ad, rng, name):
    fn, x, t, kw = _cases(rng)[name]
    (g,) = grad(ad, fn, x, t, **kw)
    assert_close(g, numeric_grad(fn, x, t, **kw), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", CASES)
def test_mask_all_masked_and_nan_under_mask(ad, rng, name):
    fn, x, t, kw = _cases(rng)[name]
    m, mm = _loss_mask(name, x, t)
    for red in ("mean", "sum"):
        assert float(run(ad, fn, x, t, mask=np.zeros(mm.shape, bool), reduction=red, **kw)) == 0
    (g,) = grad(ad, fn, x, t, mask=np.zeros(mm.shape, bool), **kw)
    assert np.all(g == 0)
    xb, tb = x.copy(), t.copy()
    xb[~m] = np.nan
    xb[~m, 0] = np.inf
    if tb.dtype.kind == "f":
        tb[~m] = np.nan
    ref = np.asarray(fn(x, t, reduction="none", **kw))
    assert_close(run(ad, fn, xb, tb, mask=mm, reduction="sum", **kw), ref[mm].sum())
    (g,) = grad(ad, fn, xb, tb, mask=mm, **kw)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


@pytest.mark.parametrize("name", CASES)
def test_torch_compile_fullgraph_value_and_grad(rng, name):
    torch, _ = _torch()
    fn, x, t, kw = _cases(rng)[name]
    kw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    out = compile_fullgraph(fn, xt, tt, **kw)
    assert_close(out.numpy(), fn(xt, tt, **kw).numpy())
    compiled = torch.compile(lambda a, b: fn(a, b, **kw), fullgraph=True, backend="eager")
    x0 = xt.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(compiled(x0, tt), x0)
    x1 = xt.clone().requires_grad_(True)
    (g_eager,) = torch.autograd.grad(fn(x1, tt, **kw), x1)
    assert_close(g.numpy(), g_eager.numpy())


@pytest.mark.parametrize("name", CASES)
def test_jax_jit_grad_and_vmap(rng, name):
    jax, jnp, _ = _jax()
    fn, x, t, kw = _cases(rng)[name]
    ref = np.asarray(fn(x, t, **kw))
    kw = {k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    ja, jt = jnp.asarray(x), jnp.asarray(t)
    assert_close(jax.jit(lambda a, b: fn(a, b, **kw))(ja, jt), ref)
    g = jax.jit(jax.grad(lambda a, b: fn(a, b, **kw)))(ja, jt)
    assert np.all(np.isfinite(np.asarray(g)))
    if "where" in kw or "class_axis" in kw:
        return  # per-class arrays of the full shape: vmap would need in_axes for them
    none = np.asarray(fn(x, t, reduction="none", **kw))
    ax = kw.get("axis")
    if isinstance(ax, tuple):
        kw = dict(kw, axis=tuple(a - 1 for a in ax))  # one sample: one axis fewer
    per = jax.vmap(lambda a, b: fn(a, b, reduction="sum", **kw))(ja, jt)
    assert_close(per, none.reshape(len(per), -1).sum(-1))


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_in_float32(ad, rng, name, dtype):
    fn, x, t, kw = _cases(rng)[name]
    if ad.name == "torch":
        torch = ad.torch
        h = torch.from_numpy(x).to(getattr(torch, dtype))
        h32, tt = h.float(), torch.from_numpy(t)

        def cast(v):
            v = torch.from_numpy(v)
            return v.to(torch.float32) if v.dtype.is_floating_point else v

    else:
        import jax.numpy as jnp

        h = jnp.asarray(x).astype(getattr(jnp, dtype))
        h32, tt = h.astype(jnp.float32), jnp.asarray(t)

        def cast(v):
            return jnp.asarray(v, jnp.float32) if v.dtype.kind == "f" else jnp.asarray(v)

    if t.dtype.kind == "f":
        tt = cast(t)
    kw = {k: cast(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = fn(h, tt, **kw)
    assert "float32" in str(out.dtype)
    assert_close(ad.to_numpy(out), ad.to_numpy(fn(h32, tt, **kw)), rtol=1e-6, atol=1e-7)


# ================================================================ bad input
def test_bad_input_named_errors(rng):
    x, y = focal_data(rng)
    xm = rng.normal(size=(6, 5))
    t = rng.integers(0, 5, size=6)
    x3 = rng.normal(size=(4, 3, 5))
    y3 = rng.dirichlet(np.ones(15), size=4).reshape(4, 3, 5)
    sfl, ce, fl = cl.softmax_focal_loss, cl.cross_entropy, cl.focal_loss
    checks = [
        (lambda: fl(x, y, alpha=np.ones(4) * 0.5), ValueError, "'alpha'"),
        (lambda: fl(x, y, alpha=np.ones((6, 5)) * 0.5), ValueError, "'alpha'"),
        (lambda: fl(x, y, alpha=np.array([0.5, 0.5, 1.5, 0.5, 0.5])), ValueError, "'alpha'"),
        (lambda: fl(x, y, alpha=1.5), ValueError, "'alpha'"),
        (lambda: fl(x, y, pos_weight=np.ones(4)), ValueError, "'pos_weight'"),
        (lambda: fl(x, y, alpha=np.ones(5) * 0.5, class_axis=2), ValueError, "'class_axis'"),
        (lambda: fl(x, y, pos_weight=np.ones(5), class_axis=1.0), TypeError, "'class_axis'"),
        (lambda: sfl(xm, t, label_smoothing=-0.1), ValueError, "'label_smoothing'"),
        (lambda: sfl(xm, t, label_smoothing=1.5), ValueError, "'label_smoothing'"),
        (lambda: sfl(xm, t, label_smoothing=1.0), ValueError, "'label_smoothing'"),
        (lambda: sfl(xm, t, label_smoothing=float("nan")), ValueError, "'label_smoothing'"),
        (lambda: sfl(xm, t, label_smoothing="0.1"), TypeError, "'label_smoothing'"),
        (lambda: sfl(xm, t, alpha=np.ones(4)), ValueError, "'alpha'"),
        (lambda: ce(x3, y3, axis=(1, 1)), ValueError, "'axis'"),
        (lambda: ce(x3, y3, axis=(1, -2)), ValueError, "'axis'"),
        (lambda: ce(x3, y3, axis=()), ValueError, "'axis'"),
        (lambda: ce(x3, y3, axis=(1, 3)), ValueError, "'axis'"),
        (lambda: ce(x3, y3, axis=(1, 2.0)), TypeError, "'axis'"),
        (lambda: ce(x3, y3, axis=1.0), TypeError, "'axis'"),
        (lambda: ce(x3, y3[:, 0], axis=(1, 2)), ValueError, "'target'"),
        (lambda: ce(x3, np.array([0, 1, 15, 2]), axis=(1, 2)), ValueError, "'target'"),
        (lambda: ce(xm, t, where=np.ones(4, bool)), ValueError, "'where'"),
        (lambda: ce(xm, t, where=np.ones((6, 5), complex)), TypeError, "'where'"),
        (lambda: ce(x3, y3, axis=(1, 2), where=np.ones((3, 4), bool)), ValueError, "'where'"),
    ]
    for k, (call, exc, word) in enumerate(checks):
        with pytest.raises(exc, match=word):
            call()
        assert k >= 0


def test_bad_input_torch_tuple_axis_int_targets():
    torch, _ = _torch()
    x = torch.zeros(4, 3, 5)
    with pytest.raises(ValueError, match="'axis'"):
        cl.cross_entropy(x, torch.zeros(4, dtype=torch.int64), axis=(1, 1))
    with pytest.raises(ValueError, match="'target'"):
        cl.cross_entropy(x, torch.full((4,), 15), axis=(1, 2))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_focal_sigmoid_gradient_mask_under_torch_compile(dtype):
    """Under ``torch.compile`` ``focal_loss`` takes the sigmoid of the logit itself
    and masks its gradient past the saturation bounds (``Backend.sigmoid_clipped``),
    where eager takes the sigmoid of the clipped logit: the same value and
    gradient at every extreme, finite, "sum" included (an incoming gradient of 1
    times ce past float32's max / 2 overflows before meeting the sigmoid's zero
    slope)."""
    torch = pytest.importorskip("torch")
    big = 3e38 if dtype == "float32" else 1e308
    x0 = np.array(
        [0.0, 3.0, -3.0, 39.9, 40.0, 40.5, -744.0, -745.0, -800.0, 1e30, -1e30, big, -big]
    )
    x0 = np.concatenate([x0, x0]).astype(dtype)
    y0 = np.repeat(np.array([0.0, 1.0], dtype=dtype), x0.size // 2)
    y = torch.from_numpy(y0)
    for reduction in ("sum", "none"):

        def f(x, reduction=reduction):
            return cl.focal_loss(x, y, reduction=reduction)

        torch._dynamo.reset()
        compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
        x1, x2 = (torch.from_numpy(x0).requires_grad_(True) for _ in range(2))
        v1, v2 = compiled(x1), f(x2)
        (g1,), (g2,) = torch.autograd.grad(v1.sum(), x1), torch.autograd.grad(v2.sum(), x2)
        assert torch.isfinite(g1).all() and torch.isfinite(g2).all(), reduction
        assert_close(
            v1.detach().numpy(), v2.detach().numpy(), rtol=1e-6, atol=0.0, err_msg=reduction
        )
        assert_close(g1.numpy(), g2.numpy(), rtol=1e-6, atol=0.0, err_msg=f"{reduction} gradient")
