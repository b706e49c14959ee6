"""Embedding losses against float64 formulas and live peers.

cosine_distance, cosine_embedding_loss, hinge_embedding_loss,
margin_ranking_loss, triplet_margin_loss: an independent NumPy reference for
each (written from the formula), the peers (torch.nn.functional, optax, Keras)
value and gradient with their options, masks, zero-norm vectors, extremes,
bad input, the native kernel against the definition,
``torch.compile(fullgraph=True)`` and ``jax.jit``.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run
from array_api_compat import array_namespace

import corelosses as cl

NAMES = [
    "cosine_distance",
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
]


# --------------------------------------------------------- float64 references
def reduce(per, reduction):
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.mean()


def ref_cosine_distance(x, y, eps=1e-8, axis=-1):
    """Row by row: 1 - x.y / (sqrt(max(|x|^2, eps)) sqrt(max(|y|^2, eps)))."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    out = np.empty(x.shape[:-1])
    for i in np.ndindex(out.shape):
        nx = math.sqrt(max(float(x[i] @ x[i]), eps))
        ny = math.sqrt(max(float(y[i] @ y[i]), eps))
        out[i] = 1.0 - float(x[i] @ y[i]) / (nx * ny)
    return out


def ref_cosine_embedding(x1, x2, y, margin=0.0, axis=-1):
    x1, x2 = np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1)
    out = np.empty(x1.shape[:-1])
    for i in np.ndindex(out.shape):
        a, b = x1[i], x2[i]
        cos = float(a @ b) / math.sqrt((float(a @ a) + 1e-12) * (float(b @ b) + 1e-12))
        out[i] = 1.0 - cos if y[i] == 1 else max(0.0, cos - margin)
    return out


def ref_hinge_embedding(x, y, margin=1.0):
    return np.where(y == 1, x, np.maximum(0.0, margin - x))


def ref_ranking(x1, x2, y, margin=0.0):
    return np.maximum(0.0, -y * (x1 - x2) + margin)


def _norm(d, p):
    if p == math.inf:
        return float(np.max(np.abs(d)))
    return float(np.sum(np.abs(d) ** p) ** (1.0 / p))


def ref_triplet(a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False, axis=-1):
    a, pos, neg = (np.moveaxis(v, axis, -1) for v in (a, pos, neg))
    out = np.empty(a.shape[:-1])
    for i in np.ndindex(out.shape):
        dp = _norm(a[i] - pos[i] + eps, p)
        dn = _norm(a[i] - neg[i] + eps, p)
        if swap:
            dn = min(dn, _norm(pos[i] - neg[i] + eps, p))
        out[i] = max(0.0, margin + dp - dn)
    return out


# ------------------------------------------------------------------ data
def pair_data(rng, shape=(6, 5)):
    x = rng.normal(size=shape)
    return x, x + rng.normal(size=shape)


def cos_emb_data(rng, shape=(8, 5), margin=0.1):
    x1 = rng.normal(size=shape)
    x2 = x1 * rng.choice([-1.0, 1.0], size=shape[:-1] + (1,)) + 0.8 * rng.normal(size=shape)
    y = np.where(rng.uniform(size=shape[:-1]) < 0.5, -1, 1)
    cos = 1 - ref_cosine_distance(x1, x2, 0.0)
    x2 = np.where((np.abs(cos - margin) < 0.02)[..., None], x2 + 0.3 * x1, x2)  # no kink
    return x1, x2, y


def triplet_data(rng, shape=(8, 5)):
    (a, p, n), _ = cl.get("triplet_margin_loss").example(rng)
    if shape != (8, 5):
        a = rng.normal(size=shape)
        p = a + 0.6 * rng.normal(size=shape)
        n = a + 0.9 * rng.normal(size=shape)
    return a, p, n


def l1_distance(x, y):
    xp = array_namespace(x, y)
    d = x - y
    return xp.sum(d * xp.sign(d), axis=-1)


def cos_distance_fn(x, y):
    """1 - cos, a distance callable of the caller's namespace (no zero vectors here)."""
    xp = array_namespace(x, y)
    return 1.0 - xp.sum(x * y, axis=-1) / xp.sqrt(xp.sum(x * x, axis=-1) * xp.sum(y * y, axis=-1))


def _cases(rng):
    """name -> (fn, arrays, kwargs, reference of the unreduced loss, grad argnums)."""
    x, y = pair_data(rng)
    c1, c2, cy = cos_emb_data(rng)
    (h, hy), _ = cl.get("hinge_embedding_loss").example(rng)
    (r1, r2, ry), rk = cl.get("margin_ranking_loss").example(rng)
    a, p, n = triplet_data(rng)
    return {
        "cosine_distance": (cl.cosine_distance, (x, y), {}, ref_cosine_distance(x, y), (0, 1)),
        "cosine_distance/eps": (
            cl.cosine_distance, (0.01 * x, y), {"eps": 1e-3},
            ref_cosine_distance(0.01 * x, y, 1e-3), (0, 1),
        ),
        "cosine_embedding_loss": (
            cl.cosine_embedding_loss, (c1, c2, cy), {"margin": 0.1},
            ref_cosine_embedding(c1, c2, cy, 0.1), (0, 1),
        ),
        "hinge_embedding_loss": (
            cl.hinge_embedding_loss, (h, hy), {"margin": 1.0}, ref_hinge_embedding(h, hy), (0,),
        ),
        "margin_ranking_loss": (
            cl.margin_ranking_loss, (r1, r2, ry), rk, ref_ranking(r1, r2, ry, 0.2), (0, 1),
        ),
        "triplet_margin_loss": (
            cl.triplet_margin_loss, (a, p, n), {}, ref_triplet(a, p, n), (0, 1, 2),
        ),
        "triplet_margin_loss/p3_swap": (
            cl.triplet_margin_loss, (a, p, n), {"p": 3.0, "swap": True, "margin": 0.7},
            ref_triplet(a, p, n, 0.7, 3.0, swap=True), (0, 1, 2),
        ),
        "triplet_margin_loss/distance": (
            cl.triplet_margin_loss, (a, p, n), {"distance": l1_distance, "swap": True},
            ref_triplet(a, p, n, 1.0, 1.0, 0.0, swap=True), (0, 1, 2),
        ),
    }  # fmt: skip


CASES = list(_cases(np.random.default_rng(0)))


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


def test_catalog_entries():
    for n in NAMES:
        info = cl.get(n)
        module = cl.triplet if n == "triplet_margin_loss" else cl.embedding
        assert n in module.__all__ and getattr(cl, n) is info.fn
        assert info.family == "embedding"
        assert info.reference and info.example is not None and info.peers
    assert cl.get("triplet_margin_loss").grad_argnums == (0, 1, 2)


# ============================================================ references
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_reference(xp, rng, name, reduction):
    fn, args, kw, want, _ = _cases(rng)[name]
    assert_close(run(xp, fn, *args, reduction=reduction, **kw), reduce(want, reduction))


@pytest.mark.parametrize("name", CASES)
def test_gradient_matches_finite_differences(ad, rng, name):
    fn, args, kw, _, argnums = _cases(rng)[name]
    gs = grad(ad, fn, *args, argnums=argnums, reduction="sum", **kw)
    for g, i in zip(gs, argnums):
        num = numeric_grad(lambda *a: np.asarray(fn(*a, reduction="none", **kw)), *args, argnum=i)
        assert_close(g, num, rtol=1e-6, atol=1e-8, err_msg=f"argument {i}")


def test_axis_and_higher_rank(xp, rng):
    x, y = pair_data(rng, (3, 5, 4))
    want = ref_cosine_distance(x, y, axis=1)
    assert_close(run(xp, cl.cosine_distance, x, y, axis=1, reduction="none"), want)
    c1, c2, cy = cos_emb_data(rng, (3, 4, 5))
    want = ref_cosine_embedding(c1, c2, cy, 0.1)
    m1, m2 = np.moveaxis(c1, -1, 0), np.moveaxis(c2, -1, 0)
    got = run(xp, cl.cosine_embedding_loss, m1, m2, cy, margin=0.1, axis=0, reduction="none")
    assert_close(got, want)
    a, p, n = triplet_data(rng, (2, 3, 5))
    for kw in ({}, {"p": 1.0, "swap": True}):
        want = ref_triplet(a, p, n, **kw)
        mv = [np.moveaxis(v, -1, 1) for v in (a, p, n)]
        assert_close(run(xp, cl.triplet_margin_loss, *mv, axis=1, reduction="none", **kw), want)


@pytest.mark.parametrize(
    "kw",
    [
        {"p": 1.0}, {"p": 1.5}, {"p": 3.0}, {"p": math.inf}, {"p": 0.5},
        {"eps": 0.0}, {"eps": 0.3}, {"swap": True}, {"margin": 0.0}, {"margin": 2.5},
    ],
)  # fmt: skip
def test_triplet_options_match_reference(xp, rng, kw):
    a, p, n = triplet_data(rng)
    want = ref_triplet(a, p, n, **kw)
    assert_close(run(xp, cl.triplet_margin_loss, a, p, n, reduction="none", **kw), want)


def test_hinge_and_ranking_options(xp, rng):
    (h, hy), _ = cl.get("hinge_embedding_loss").example(rng)
    for m in (0.5, 1.7, -0.3):
        assert_close(
            run(xp, cl.hinge_embedding_loss, h, hy, margin=m, reduction="none"),
            ref_hinge_embedding(h, hy, m),
        )
    (r1, r2, ry), _ = cl.get("margin_ranking_loss").example(rng)
    for m in (0.0, 0.5, -0.1):
        assert_close(
            run(xp, cl.margin_ranking_loss, r1, r2, ry, margin=m, reduction="none"),
            ref_ranking(r1, r2, ry, m),
        )
    # float and {-1., 1.} targets alike
    got = run(xp, cl.margin_ranking_loss, r1, r2, ry.astype(np.float64), margin=0.2)
    assert_close(got, ref_ranking(r1, r2, ry, 0.2).mean())


# ================================================================ peers
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding_peer_torch(rng, reduction, margin):
    torch, F = _torch()
    x1, x2, y = cos_emb_data(rng, margin=margin)
    x1[0] = 0.0  # a zero vector: torch's 1e-12 gives cosine 0 with a finite gradient
    args = [torch.from_numpy(v).requires_grad_(True) for v in (x1, x2)]
    ref = F.cosine_embedding_loss(*args, torch.from_numpy(y), margin=margin, reduction=reduction)
    gr = torch.autograd.grad(ref.sum(), args)
    ours_in = [torch.from_numpy(v).requires_grad_(True) for v in (x1, x2)]
    out = cl.cosine_embedding_loss(
        *ours_in, torch.from_numpy(y), margin=margin, reduction=reduction
    )
    go = torch.autograd.grad(out.sum(), ours_in)
    assert_close(out.detach().numpy(), ref.detach().numpy())
    for a, b in zip(go, gr):
        assert_close(a.numpy(), b.numpy(), rtol=1e-7, atol=1e-9)  # ~1e6 at the zero vector
    # unbatched: 1-D vectors and a 0-d target
    one = cl.cosine_embedding_loss(torch.from_numpy(x1[1]), torch.from_numpy(x2[1]),
                                   torch.tensor(y[1]), margin=margin)  # fmt: skip
    ref1 = F.cosine_embedding_loss(torch.from_numpy(x1[1]), torch.from_numpy(x2[1]),
                                   torch.tensor(y[1]), margin=margin)  # fmt: skip
    assert_close(one.numpy(), ref1.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_embedding_peer_torch(rng, reduction, margin):
    torch, F = _torch()
    (x, y), _ = cl.get("hinge_embedding_loss").example(rng)
    x = np.where(np.abs(x - margin) < 0.05, x + 0.2, x)
    xt = torch.from_numpy(x).requires_grad_(True)
    ref = F.hinge_embedding_loss(xt, torch.from_numpy(y), margin=margin, reduction=reduction)
    (gr,) = torch.autograd.grad(ref.sum(), xt)
    xo = torch.from_numpy(x).requires_grad_(True)
    out = cl.hinge_embedding_loss(xo, torch.from_numpy(y), margin=margin, reduction=reduction)
    (go,) = torch.autograd.grad(out.sum(), xo)
    assert_close(out.detach().numpy(), ref.detach().numpy())
    assert_close(go.numpy(), gr.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [0.0, 0.2, -0.5])
def test_margin_ranking_peer_torch(rng, reduction, margin):
    torch, F = _torch()
    (x1, x2, y), _ = cl.get("margin_ranking_loss").example(rng)
    z = -y * (x1 - x2) + margin
    x1 = np.where(np.abs(z) < 0.05, x1 + 0.2 * y, x1)
    args = [torch.from_numpy(v).requires_grad_(True) for v in (x1, x2)]
    ref = F.margin_ranking_loss(*args, torch.from_numpy(y), margin=margin, reduction=reduction)
    gr = torch.autograd.grad(ref.sum(), args)
    ours_in = [torch.from_numpy(v).requires_grad_(True) for v in (x1, x2)]
    out = cl.margin_ranking_loss(*ours_in, torch.from_numpy(y), margin=margin, reduction=reduction)
    go = torch.autograd.grad(out.sum(), ours_in)
    assert_close(out.detach().numpy(), ref.detach().numpy())
    for a, b in zip(go, gr):
        assert_close(a.numpy(), b.numpy())


def _torch_value_and_grads(fn, arrays, **kw):
    torch, _ = _torch()
    ts = [torch.from_numpy(v).requires_grad_(True) for v in arrays]
    out = fn(*ts, **kw)
    gs = torch.autograd.grad(out.sum(), ts)
    return out.detach().numpy(), [g.numpy() for g in gs]


@pytest.mark.parametrize(
    "kw",
    [
        {}, {"p": 1.0}, {"p": 3.0}, {"p": 1.5}, {"p": math.inf}, {"eps": 0.0}, {"eps": 0.2},
        {"swap": True}, {"swap": True, "p": 1.0}, {"margin": 0.3}, {"margin": 2.0, "swap": True},
    ],
)  # fmt: skip
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_peer_torch(rng, kw, reduction):
    torch, F = _torch()
    a, p, n = triplet_data(rng)
    ref, gr = _torch_value_and_grads(F.triplet_margin_loss, (a, p, n), reduction=reduction, **kw)
    out, go = _torch_value_and_grads(cl.triplet_margin_loss, (a, p, n), reduction=reduction, **kw)
    assert_close(out, ref)
    for x, y in zip(go, gr):
        assert_close(x, y, rtol=1e-9, atol=1e-12)
    # float32 too
    a32, p32, n32 = (v.astype(np.float32) for v in (a, p, n))
    ref32, _ = _torch_value_and_grads(F.triplet_margin_loss, (a32, p32, n32), **kw)
    out32, _ = _torch_value_and_grads(cl.triplet_margin_loss, (a32, p32, n32), **kw)
    assert_close(out32, ref32, "float32")


def test_triplet_peer_torch_unbatched(rng):
    torch, F = _torch()
    a, p, n = (v[0] for v in triplet_data(rng))
    for kw in ({}, {"swap": True, "p": 1.0}):
        ref = F.triplet_margin_loss(*(torch.from_numpy(v) for v in (a, p, n)), **kw)
        out = cl.triplet_margin_loss(*(torch.from_numpy(v) for v in (a, p, n)), **kw)
        assert out.shape == () and float(out) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("distance", [None, "l1", "cos", "pairwise"])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_with_distance_peer_torch(rng, distance, swap, reduction):
    torch, F = _torch()
    a, p, n = triplet_data(rng)
    fn = {"l1": l1_distance, "cos": cos_distance_fn, "pairwise": F.pairwise_distance}
    f = fn.get(distance)
    kw = {"margin": 0.4, "swap": swap, "reduction": reduction}
    ref, gr = _torch_value_and_grads(
        F.triplet_margin_with_distance_loss, (a, p, n), distance_function=f, **kw
    )
    out, go = _torch_value_and_grads(cl.triplet_margin_loss, (a, p, n), distance=f, **kw)
    assert_close(out, ref)
    for x, y in zip(go, gr):
        assert_close(x, y, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("eps", [0.0, 1e-8, 1e-3, 0.5])
def test_cosine_distance_peer_optax(rng, eps):
    jax, jnp, optax = _jax()
    x, y = pair_data(rng, (4, 3, 5))
    x[0, 0] *= 1e-3  # a squared norm below eps=1e-3 and 0.5: the floor is active
    y[1, 2] *= 0.2
    if eps == 0.0:
        xs = (x, y)
    else:
        x[2, 1] = 0.0  # a zero vector (optax: finite with eps > 0)
        xs = (x, y)
    ja, jb = (jnp.asarray(v) for v in xs)
    ref = optax.losses.cosine_distance(ja, jb, epsilon=eps)
    ours = jax.jit(lambda a, b: cl.cosine_distance(a, b, eps=eps, reduction="none"))(ja, jb)
    assert_close(ours, ref)
    assert_close(ours, ref_cosine_distance(x, y, eps))
    gr = jax.grad(lambda a, b: jnp.mean(optax.losses.cosine_distance(a, b, epsilon=eps)), (0, 1))
    go = jax.jit(jax.grad(lambda a, b: cl.cosine_distance(a, b, eps=eps), (0, 1)))
    for u, v in zip(go(ja, jb), gr(ja, jb)):
        assert_close(u, v, rtol=1e-9, atol=1e-12)
    # optax's axis
    ref1 = optax.losses.cosine_distance(ja, jb, epsilon=eps, axis=1)
    assert_close(cl.cosine_distance(ja, jb, eps=eps, axis=1, reduction="none"), ref1)


@pytest.mark.parametrize("kw", [{}, {"margin": 0.5, "eps": 1e-3}])
def test_triplet_optax_reproduced_with_distance(rng, kw):
    """optax puts eps inside the root (no shift of the difference): the documented
    ``distance=`` gives its numbers, value and gradient; the default differs."""
    jax, jnp, optax = _jax()
    a, p, n = (jnp.asarray(v) for v in triplet_data(rng))
    margin, e = kw.get("margin", 1.0), kw.get("eps", 1e-6)

    def dist(x, y):
        return jnp.sqrt(jnp.sum((x - y) ** 2, axis=-1) + e)

    ref = optax.losses.triplet_margin_loss(a, p, n, margin=margin, eps=e)
    ours = jax.jit(
        lambda *v: cl.triplet_margin_loss(*v, margin=margin, distance=dist, reduction="none")
    )(a, p, n)
    assert_close(ours, ref)
    gr = jax.grad(
        lambda *v: jnp.mean(optax.losses.triplet_margin_loss(*v, margin=margin, eps=e)), (0, 1, 2)
    )(a, p, n)
    go = jax.jit(
        jax.grad(lambda *v: cl.triplet_margin_loss(*v, margin=margin, distance=dist), (0, 1, 2))
    )(a, p, n)
    for u, v in zip(go, gr):
        assert_close(u, v)
    # the default (eps added to the difference, PyTorch's) is not optax's number
    default = cl.triplet_margin_loss(a, p, n, margin=margin, eps=e, reduction="none")
    assert not np.allclose(np.asarray(default), np.asarray(ref), rtol=1e-12, atol=0)
    # optax's norm_degree q (no |.|: differences kept non-negative here)
    pp, nn = a - jnp.abs(p - a), a - jnp.abs(n - a)
    for q in (1, 3):

        def dq(x, y, q=q):
            return (jnp.sum((x - y) ** q, axis=-1) + e) ** (1 / q)

        ref = optax.losses.triplet_margin_loss(a, pp, nn, norm_degree=q, margin=margin, eps=e)
        ours = cl.triplet_margin_loss(a, pp, nn, margin=margin, distance=dq, reduction="none")
        assert_close(ours, ref)


KERAS_SCRIPT = r"""
import numpy as np, keras, corelosses as cl
bk = keras.backend.backend()
rng = np.random.default_rng(0)
x = rng.normal(size=(6, 5)).astype("float32")
y = (x + rng.normal(size=(6, 5))).astype("float32")
y[3] = 0.0  # a zero target vector
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
        return float(v), g.numpy()
for axis in (-1, 0):
    peer = lambda a: keras.losses.CosineSimilarity(axis=axis)(arr(y), a)
    ours = lambda a: cl.cosine_distance(a, arr(y), axis=axis, eps=1e-14) - 1.0
    vp, gp = value_and_grad(peer, x)
    vo, go = value_and_grad(ours, x)
    assert np.isclose(vp, vo, rtol=1e-5, atol=1e-6), (axis, vp, vo)
    np.testing.assert_allclose(go, gp, rtol=1e-4, atol=1e-6, err_msg=str(axis))
print("OK", bk)
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_cosine_similarity_is_distance_minus_one(backend):
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"needs keras and {backend}")
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    r = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"OK {backend}" in r.stdout


# ================================================================ masks, weights
@pytest.mark.parametrize("name", CASES)
def test_mask_all_masked_and_nan_under_mask(ad, rng, name):
    fn, args, kw, want, argnums = _cases(rng)[name]
    shape = want.shape
    m = rng.uniform(size=shape) < 0.6
    m.reshape(-1)[0] = False
    for red in ("mean", "sum"):
        out = run(ad, fn, *args, mask=np.zeros(shape, bool), reduction=red, **kw)
        assert float(out) == 0.0
    gs = grad(ad, fn, *args, argnums=argnums, mask=np.zeros(shape, bool), **kw)
    assert all(np.all(g == 0) for g in gs)
    vec = args[0].ndim > len(shape)  # one loss per vector (the last axis)
    bad = []
    for i, a in enumerate(args):
        b = np.array(a, dtype=np.float64)
        if i in argnums:
            if vec:
                b[~m] = np.nan
                b[~m, 0] = np.inf
            else:
                b[~m] = np.nan
        elif b.shape == shape:
            b[~m] = 7.0  # not a label, under the mask
        bad.append(b)
    assert_close(run(ad, fn, *bad, mask=m, reduction="sum", **kw), want[m].sum())
    assert_close(run(ad, fn, *bad, mask=m, **kw), want[m].sum() / m.sum())
    assert_close(run(ad, fn, *bad, mask=m, reduction="none", **kw), np.where(m, want, 0.0))
    gs = grad(ad, fn, *bad, argnums=argnums, mask=m, **kw)
    for g in gs:
        assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)


@pytest.mark.parametrize("name", CASES)
def test_weight_multiplies(xp, rng, name):
    fn, args, kw, want, _ = _cases(rng)[name]
    w = rng.uniform(0.1, 2.0, size=want.shape)
    assert_close(run(xp, fn, *args, weight=w, reduction="none", **kw), want * w)
    assert_close(run(xp, fn, *args, weight=w, **kw), (want * w).mean())
    assert_close(run(xp, fn, *args, weight=w, reduction="sum", **kw), (want * w).sum())


# ====================================================== zero norms, extremes
@pytest.mark.parametrize("eps", [1e-8, 0.0])
def test_zero_vectors_finite_value_and_gradient(ad, rng, eps):
    x, y = pair_data(rng, (4, 3))
    x[0] = 0.0
    y[1] = 0.0
    x[2] = y[2] = 0.0
    none = run(ad, cl.cosine_distance, x, y, eps=eps, reduction="none")
    assert np.all(np.isfinite(none)) and np.all(none[:3] == 1.0)
    for g in grad(ad, cl.cosine_distance, x, y, eps=eps, argnums=(0, 1)):
        assert np.all(np.isfinite(g))
    t = np.array([1, -1, 1, -1])
    none = run(ad, cl.cosine_embedding_loss, x, y, t, reduction="none")
    assert_close(none[:3], [1.0, 0.0, 1.0])
    for g in grad(ad, cl.cosine_embedding_loss, x, y, t, argnums=(0, 1)):
        assert np.all(np.isfinite(g))
    # a triplet with no difference at all (eps=0): distance 0, gradient 0 there
    a = rng.normal(size=(3, 4))
    for p in (2.0, 1.0, 1.5, 3.0, math.inf):
        gs = grad(ad, cl.triplet_margin_loss, a, a.copy(), a.copy(), eps=0.0, p=p,
                  argnums=(0, 1, 2))  # fmt: skip
        assert all(np.all(g == 0) for g in gs)
        assert_close(run(ad, cl.triplet_margin_loss, a, a, a, eps=0.0, p=p), 1.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_magnitudes_no_overflow(ad, dtype):
    """Vectors at 1e30 (float32) / 1e300: cosines and distances are computed scaled,
    finite where the float64 result fits (F.triplet_margin_loss gives NaN at 1e30 in
    float32)."""
    big = 1e30 if dtype == "float32" else 1e300
    x = np.array([[big, big, 0.0], [big, -big, 1.0], [1.0, 2.0, 3.0]])
    y = np.array([[big, big, big], [1.0, 2.0, 0.0], [3.0, 2.0, 1.0]])
    want = ref_cosine_distance(
        x / np.abs(x).max(-1, keepdims=True), y / np.abs(y).max(-1, keepdims=True), 0.0
    )
    x, y = x.astype(dtype), y.astype(dtype)
    got = run(ad, cl.cosine_distance, x, y, reduction="none")
    assert_close(got, want, "float32", rtol=1e-5)
    for g in grad(ad, cl.cosine_distance, x, y, argnums=(0, 1)):
        assert np.all(np.isfinite(g))
    got = run(ad, cl.cosine_embedding_loss, x, y, np.array([1, -1, 1]), reduction="none")
    assert np.all(np.isfinite(got))
    a = np.array([[big, 0.0], [0.5 * big, big]], dtype)
    p = np.array([[0.0, 0.0], [0.5 * big, 0.5 * big]], dtype)
    n = np.array([[-big, 0.0], [-0.5 * big, big]], dtype)
    want = ref_triplet(a / big, p / big, n / big, margin=1.0 / big, eps=0.0) * big
    for kw in ({}, {"swap": True}):
        got = run(ad, cl.triplet_margin_loss, a, p, n, reduction="none", **kw)
        assert_close(got, want, "float32", rtol=1e-5)
        gs = grad(ad, cl.triplet_margin_loss, a, p, n, argnums=(0, 1, 2), **kw)
        assert all(np.all(np.isfinite(g)) for g in gs)


@pytest.mark.parametrize("kw", [{}, {"swap": True}, {"eps": 0.0}, {"p": 1.0}])
def test_native_switch_and_why_no_native_kernel(rng, kw):
    """No torch kernel: F.triplet_margin_loss is not the same function at float32
    extremes (NaN at 1e30, where the definition is finite), and a native 2-norm
    rounds differently, which moves exact kinks (the adversarial suite's rule 5).
    Both switch settings run the definition."""
    torch, F = _torch()
    a, p, n = triplet_data(rng)
    a[0] = p[0]  # a zero difference with eps=0
    arrays = [v.astype(np.float32) for v in (a, p, n)]
    v1, g1 = _torch_value_and_grads(cl.triplet_margin_loss, arrays, reduction="none", **kw)
    with cl.native(False):
        v0, g0 = _torch_value_and_grads(cl.triplet_margin_loss, arrays, reduction="none", **kw)
    np.testing.assert_array_equal(v1, v0)
    for x, y in zip(g1, g0):
        np.testing.assert_array_equal(x, y)
    big = [torch.tensor([[1e30, 0.0]]), torch.tensor([[0.0, 0.0]]), torch.tensor([[-1e30, 0.0]])]
    assert torch.isnan(F.triplet_margin_loss(*big, reduction="none")).all()
    assert float(cl.triplet_margin_loss(*big, reduction="none")[0]) == 0.0


def _triplet_cases(rng, dtype):
    """(name, arrays, options, whether the unscaled fast path may serve it)."""
    big = 1e30 if dtype == "float32" else 1e300
    over = np.asarray(2e38 if dtype == "float32" else 1e308, dtype=dtype)
    a, p, n = (v.astype(dtype) for v in triplet_data(rng, (6, 7)))
    nan = n.copy()
    nan[2, 3] = np.nan
    mask = np.ones(6, bool)
    mask[2] = False
    z = a.copy()
    z[1] = p[1]
    return [
        ("plain", (a, p, n), {}, True),
        ("swap", (a, p, n), {"swap": True}, True),
        ("nan masked", (a, p, nan), {"mask": mask, "weight": np.arange(6.0)}, True),
        ("zero difference", (z, p, n), {"eps": 0.0}, False),
        ("big", (a * big, p * big, n * big), {}, False),
        ("big swap", (a * big, p * big, n * big), {"swap": True}, False),
        ("tiny", (a / big, p / big, n / big), {"eps": 0.0}, False),
        ("one row big", (np.where(np.arange(6)[:, None] == 4, a * big, a), p, n), {}, False),
        # a - p overflows (the distances are past the maximum, the loss is the margin)
        (
            "difference overflows",
            (np.abs(a) + over, -np.abs(p) - over, -np.abs(p) - over),
            {},
            False,
        ),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_triplet_fast_path_is_the_definition(xp, rng, dtype, monkeypatch):
    """p=2: the unscaled fast path (one norm per distance, kept where every distance is
    in range) gives the value and gradient of the power-of-two-scaled definition
    (``cl.native(False)``), and hands over to it at the extremes, on every backend
    (read eagerly; under the jax test backend's ``jax.jit``, through ``lax.cond``)."""
    from corelosses.adapters._generic import Backend

    seen = []
    real = Backend.guarded

    def spy(self, fast, slow, operands, parts=None):
        ok = fast(*operands)[1]
        if self.concrete(ok):
            seen.append(bool(ok))
        return real(self, fast, slow, operands, parts)

    monkeypatch.setattr(Backend, "guarded", spy)
    tm = cl.triplet_margin_loss
    tol = {"rtol": 1e-6, "atol": 0.0} if dtype == "float32" else {"rtol": 1e-14, "atol": 0.0}
    for name, arrays, kw, fast in _triplet_cases(rng, dtype):
        seen.clear()
        v1 = run(xp, tm, *arrays, reduction="none", **kw)
        if seen:  # read eagerly: the fast path served exactly the in-range cases
            assert seen == [fast], name
        with cl.native(False):
            v0 = run(xp, tm, *arrays, reduction="none", **kw)
        assert np.all(np.isfinite(v1)), name
        assert_close(v1, v0, err_msg=name, **tol)
        if not xp.autodiff:
            continue
        g1 = grad(xp, tm, *arrays, argnums=(0, 1, 2), **kw)
        with cl.native(False):
            g0 = grad(xp, tm, *arrays, argnums=(0, 1, 2), **kw)
        for x, y in zip(g1, g0):
            assert np.all(np.isfinite(x)), name
            assert_close(x, y, err_msg=f"{name} gradient", **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_triplet_guard_under_torch_compile(rng, dtype):
    """Under ``torch.compile`` (fullgraph) the p=2 fast path and the
    definition's distances are both compiled and ``torch.cond`` (not
    differentiated) runs one; the loss is differentiated given the distances:
    value and gradient are the eager definition's at every case, the extremes
    included (no NaN), with the positives and negatives views of one tensor
    (``torch.cond`` refuses aliased operands: they are copied), differentiated
    or not (the backward pass computes the gradients needed only)."""
    torch, _ = _torch()
    tm = cl.triplet_margin_loss
    tol = {"rtol": 2e-6, "atol": 0.0} if dtype == "float32" else {"rtol": 1e-13, "atol": 0.0}
    torch._dynamo.reset()
    anchors_only = ("plain", "nan masked", "difference overflows")  # fast, masked, fallback
    # float64: the same traced code at a tighter tolerance, on the fast path and the
    # two fallback kinds (every case runs in float32 here, and in float64 eagerly and
    # under jax.jit above)
    some = ("plain", "big", "difference overflows") if dtype == "float64" else None
    cases = [(c, True) for c in _triplet_cases(rng, dtype) if some is None or c[0] in some]
    cases += [(c, False) for c in _triplet_cases(rng, dtype) if c[0] in anchors_only]
    for (name, arrays, kw, _fast), pn_grad in cases:
        a, p, n = (torch.from_numpy(v) for v in arrays)
        kw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        pn = torch.stack([p, n]).requires_grad_(pn_grad)  # (else the anchors' gradient only)
        a = a.clone().requires_grad_(True)
        wrt = (a, pn) if pn_grad else (a,)
        torch._dynamo.reset()  # (one code object, compiled per case: past the recompile limit)
        f = torch.compile(
            lambda a, pn, kw=kw: tm(a, pn[0], pn[1], reduction="none", **kw),
            fullgraph=True,
            backend="aot_eager",  # dynamo, torch.cond and its autograd; no kernels to build
        )
        v1 = f(a, pn)
        g1 = torch.autograd.grad(v1.sum(), wrt)
        with cl.native(False):
            v0 = tm(a, pn[0], pn[1], reduction="none", **kw)
            g0 = torch.autograd.grad(v0.sum(), wrt)
        assert torch.isfinite(v1).all(), name
        assert_close(v1.detach().numpy(), v0.detach().numpy(), err_msg=name, **tol)
        for x, y in zip(g1, g0):
            assert torch.isfinite(x).all(), name
            assert_close(x.numpy(), y.numpy(), err_msg=f"{name} gradient", **tol)


def test_triplet_guard_under_inductor_leaves_inputs_alone(rng):
    """The guard's ``torch.cond`` subgraphs built by inductor (the default
    backend): value and gradient are the definition's, and the caller's tensors
    are unchanged afterwards. (A variant of the backward pass, an autograd
    function around the conds, had inductor write the anchors' gradient into the
    caller's anchors, float32 with the positives and negatives not
    differentiated: a subgraph reused a saved input taken for a donated buffer.)"""
    torch, _ = _torch()
    tm = cl.triplet_margin_loss
    a, p, n = (v.astype(np.float32) for v in triplet_data(rng, (64, 16)))
    big = np.float32(2e38)
    over = (np.abs(a) + big, -np.abs(p) - big, -np.abs(p) - big)  # a - p overflows
    for name, arrays, kw, pn_grad in (
        ("plain", (a, p, n), {}, False),
        ("swap", (a, p, n), {"swap": True}, True),
        ("difference overflows", over, {}, False),
    ):
        a0, pn0 = torch.from_numpy(arrays[0]), torch.from_numpy(np.stack(arrays[1:]))
        at, pn = a0.clone().requires_grad_(True), pn0.clone().requires_grad_(pn_grad)
        wrt = (at, pn) if pn_grad else (at,)
        torch._dynamo.reset()
        f = torch.compile(lambda a, pn, kw=kw: tm(a, pn[0], pn[1], reduction="none", **kw))
        v1 = f(at, pn)
        g1 = torch.autograd.grad(v1.sum(), wrt)
        assert torch.equal(at.detach(), a0) and torch.equal(pn.detach(), pn0), name
        with cl.native(False):
            v0 = tm(at, pn[0], pn[1], reduction="none", **kw)
            g0 = torch.autograd.grad(v0.sum(), wrt)
        assert torch.isfinite(v1).all(), name
        assert_close(v1.detach().numpy(), v0.detach().numpy(), rtol=2e-6, atol=0.0, err_msg=name)
        for x, y in zip(g1, g0):
            assert torch.isfinite(x).all(), name
            assert_close(x.numpy(), y.numpy(), rtol=2e-6, atol=1e-7, err_msg=f"{name} gradient")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_triplet_guard_under_jax_forward_and_reverse_mode(rng, dtype):
    """Under ``jax.jit`` the p=2 guard is a JVP rule (a ``lax.cond`` in its
    primal half, a tangent without one): forward mode (``jax.jvp``) and reverse
    mode (``jax.vjp``, its transpose) give the definition's tangents and
    cotangents at every case, the extremes included, along all three operands
    and along some only (the others constant)."""
    pytest.importorskip("jax")
    import _backends
    import jax

    _backends.get("jax")  # x64 on
    jnp = jax.numpy
    tm = cl.triplet_margin_loss
    tol = {"rtol": 2e-6, "atol": 0.0} if dtype == "float32" else {"rtol": 1e-13, "atol": 0.0}
    for name, arrays, kw, _fast in _triplet_cases(rng, dtype):
        xs = tuple(jnp.asarray(v) for v in arrays)
        kw = {k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        ts = tuple(jnp.asarray(rng.standard_normal(v.shape).astype(dtype)) for v in arrays)
        gy = jnp.asarray(rng.standard_normal(arrays[0].shape[:1]).astype(dtype))

        def f(*xs, kw=kw):
            return tm(*xs, reduction="none", **kw)

        def both(xs, ts, gy):
            y, t = jax.jvp(f, xs, ts)
            out = [y, t, jax.vjp(f, *xs)[1](gy)]
            # along some operands only, the others held constant (float64 only: the
            # float32 trace is the same code, and each subset is a compile)
            for live in ((0,), (1, 2)) if dtype == "float64" else ():

                def g(*ys, live=live):
                    full = list(xs)
                    for i, v in zip(live, ys):
                        full[i] = v
                    return f(*full)

                sub = tuple(xs[i] for i in live)
                out += [jax.jvp(g, sub, tuple(ts[i] for i in live))[1], jax.vjp(g, *sub)[1](gy)]
            return out

        got = jax.jit(both)(xs, ts, gy)
        with cl.native(False):
            want = both(xs, ts, gy)
        parts = ("value", "tangent", "cotangent", "tangent 0", "cotangent 0")
        parts += ("tangent 1, 2", "cotangent 1, 2")
        for part, x, y in zip(parts, got, want):
            for u, v in zip(jax.tree_util.tree_leaves(x), jax.tree_util.tree_leaves(y)):
                assert np.all(np.isfinite(np.asarray(u))), f"{name} {part}"
                assert_close(np.asarray(u), np.asarray(v), err_msg=f"{name} {part}", **tol)


def test_triplet_guard_under_jax_second_order(rng):
    """The JAX guard's JVP rule is itself differentiable (its primal half, the
    ``lax.cond`` included): ``jax.hessian`` under ``jax.jit`` is the
    definition's, on the fast path and on the fallback."""
    pytest.importorskip("jax")
    import _backends
    import jax

    _backends.get("jax")  # x64 on
    jnp = jax.numpy
    tm = cl.triplet_margin_loss
    for name, arrays, kw, _fast in _triplet_cases(rng, "float64"):
        if name not in ("plain", "swap", "big", "one row big"):
            continue
        a, p, n = (jnp.asarray(v[:3, :4]) for v in arrays)

        def f(a, p=p, n=n, kw=kw):
            return tm(a, p, n, **kw)

        got = jax.jit(jax.hessian(f))(a)
        with cl.native(False):
            want = jax.hessian(f)(a)
        scale = float(np.max(np.abs(np.asarray(want)))) or 1.0
        assert np.all(np.isfinite(np.asarray(got))), name
        assert_close(
            np.asarray(got), np.asarray(want), rtol=1e-10, atol=1e-12 * scale, err_msg=name
        )


# ================================================================ bad input
def test_bad_input_named_errors(rng):
    x, y = pair_data(rng)
    a, p, n = triplet_data(rng)
    t6 = np.array([1, -1, 1, 1, -1, 1])
    ce, tm = cl.cosine_embedding_loss, cl.triplet_margin_loss
    checks = [
        (lambda: cl.cosine_distance(x, y[:, :4]), ValueError, "'target'"),
        (lambda: cl.cosine_distance(x, y, eps=-1.0), ValueError, "'eps'"),
        (lambda: cl.cosine_distance(x, y, axis=2), ValueError, "'axis'"),
        (lambda: cl.cosine_distance(x, y, reduction="avg"), ValueError, "'reduction'"),
        (lambda: cl.cosine_distance(x.astype(int), y), TypeError, "'input'"),
        (lambda: cl.cosine_distance(x, y, mask=np.ones(5, bool)), ValueError, "'mask'"),
        (lambda: cl.cosine_distance(x, y, weight=np.ones((6, 5))), ValueError, "'weight'"),
        (lambda: ce(x, y[:5], t6), ValueError, "'x2'"),
        (lambda: ce(x, y, t6[:5]), ValueError, "'target'"),
        (lambda: ce(x, y, t6 * 2), ValueError, "'target'"),
        (lambda: ce(x, y, (t6 > 0).astype(int)), ValueError, "'target'"),
        (lambda: ce(x, y, t6, margin=math.nan), ValueError, "'margin'"),
        (lambda: cl.hinge_embedding_loss(x, np.zeros_like(x)), ValueError, "'target'"),
        (lambda: cl.hinge_embedding_loss(x, np.ones((6, 4))), ValueError, "'target'"),
        (lambda: cl.hinge_embedding_loss(x, np.ones_like(x), margin="1"), TypeError, "'margin'"),
        (lambda: cl.margin_ranking_loss(x, y[:, :4], x), ValueError, "'x2'"),
        (lambda: cl.margin_ranking_loss(x, y, np.ones(5)), ValueError, "'target'"),
        (lambda: cl.margin_ranking_loss(x, y, np.full_like(x, 0.5)), ValueError, "'target'"),
        (lambda: tm(a, p[:, :4], n), ValueError, "'positive'"),
        (lambda: tm(a, p, n[:7]), ValueError, "'negative'"),
        (lambda: tm(a, p, n, p=0.0), ValueError, "'p'"),
        (lambda: tm(a, p, n, p=-1.0), ValueError, "'p'"),
        (lambda: tm(a, p, n, p=math.nan), ValueError, "'p'"),
        (lambda: tm(a, p, n, eps=math.inf), ValueError, "'eps'"),
        (lambda: tm(a, p, n, margin=math.inf), ValueError, "'margin'"),
        (lambda: tm(a, p, n, swap=1), TypeError, "'swap'"),
        (lambda: tm(a, p, n, distance="l2"), TypeError, "'distance'"),
        (lambda: tm(a, p, n, distance=l1_distance, p=1.0), ValueError, "'p'"),
        (lambda: tm(a, p, n, distance=lambda u, v: u - v), ValueError, "'distance'"),
        (lambda: tm(a, p, n, axis=-3), ValueError, "'axis'"),
        (lambda: tm(a, p.astype(np.int64), n), TypeError, "'positive'"),
    ]
    for f, exc, word in checks:
        with pytest.raises(exc, match=word):
            f()


def test_mixed_namespaces_raise(rng):
    torch, _ = _torch()
    a, p, n = triplet_data(rng)
    with pytest.raises(TypeError):
        cl.triplet_margin_loss(torch.from_numpy(a), p, n)


def test_jit_unchecked_bad_label_is_torch_rule():
    """Under jit a label outside {-1, 1} is not checked: PyTorch's formula applies."""
    jax, jnp, _ = _jax()
    x1 = jnp.asarray(np.array([[1.0, 0.0], [1.0, 1.0]]))
    x2 = jnp.asarray(np.array([[0.5, 1.0], [1.0, -0.5]]))
    out = jax.jit(lambda t: cl.cosine_embedding_loss(x1, x2, t, reduction="none"))(
        jnp.asarray(np.array([1, 3]))
    )
    assert np.asarray(out)[1] == 0.0  # as F.cosine_embedding_loss


# ============================================================ every loss
@pytest.mark.parametrize("name", CASES)
def test_torch_compile_fullgraph_value_and_grad(rng, name):
    torch, _ = _torch()
    fn, args, kw, want, argnums = _cases(rng)[name]
    ts = [torch.from_numpy(v) for v in args]
    out = compile_fullgraph(fn, *ts, reduction="none", **kw)
    assert_close(out.numpy(), want)
    compiled = torch.compile(lambda *v: fn(*v, **kw), fullgraph=True, backend="eager")
    leaves = [t.clone().requires_grad_(True) if i in argnums else t for i, t in enumerate(ts)]
    gs = torch.autograd.grad(compiled(*leaves), [leaves[i] for i in argnums])
    leaves = [t.clone().requires_grad_(True) if i in argnums else t for i, t in enumerate(ts)]
    ge = torch.autograd.grad(fn(*leaves, **kw), [leaves[i] for i in argnums])
    for x, y in zip(gs, ge):
        assert_close(x.numpy(), y.numpy())


@pytest.mark.parametrize("name", CASES)
def test_jax_jit_grad_and_vmap(rng, name):
    jax, jnp, _ = _jax()
    fn, args, kw, want, argnums = _cases(rng)[name]
    ja = [jnp.asarray(v) for v in args]
    assert_close(jax.jit(lambda *v: fn(*v, reduction="none", **kw))(*ja), want)
    gs = jax.jit(jax.grad(lambda *v: fn(*v, **kw), argnums))(*ja)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in gs)
    per = jax.vmap(lambda *v: fn(*v, reduction="sum", **kw))(*ja)
    assert_close(per, want.reshape(len(per), -1).sum(-1))


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_in_float32(ad, rng, name, dtype):
    fn, args, kw, _, argnums = _cases(rng)[name]
    if ad.name == "torch":
        T = ad.torch
        h = [T.from_numpy(v).to(getattr(T, dtype)) if i in argnums else T.from_numpy(v)
             for i, v in enumerate(args)]  # fmt: skip
        h32 = [v.float() if i in argnums else v for i, v in enumerate(h)]
    else:
        import jax.numpy as jnp

        h = [jnp.asarray(v).astype(getattr(jnp, dtype)) if i in argnums else jnp.asarray(v)
             for i, v in enumerate(args)]  # fmt: skip
        h32 = [v.astype(jnp.float32) if i in argnums else v for i, v in enumerate(h)]
    out = fn(*h, **kw)
    assert "float32" in str(out.dtype)
    assert_close(ad.to_numpy(out), ad.to_numpy(fn(*h32, **kw)), rtol=1e-6, atol=1e-7)


def test_empty_batch(xp):
    z = np.zeros((0, 4))
    assert float(run(xp, cl.cosine_distance, z, z)) == 0.0
    assert float(run(xp, cl.triplet_margin_loss, z, z, z)) == 0.0
    zi = np.zeros(0, np.int64)
    assert float(run(xp, cl.cosine_embedding_loss, z, z, zi)) == 0.0
    assert float(run(xp, cl.margin_ranking_loss, zi * 1.0, zi * 1.0, zi)) == 0.0
