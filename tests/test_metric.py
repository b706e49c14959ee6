"""Metric-learning losses against float64 loop references and live peers.

ntxent_loss, supervised_contrastive_loss, contrastive_loss, circle_loss,
multi_similarity_loss: an independent NumPy reference written with explicit
loops over pairs; optax ``ntxent``, pytorch-metric-learning (value and
torch autograd gradient) and Keras ``Circle``; options; reductions; masks
(NaN-safe, masking equals removing); duplicate embeddings, single-class and
all-distinct batches; bad input; ``jax.jit`` and ``torch.compile(fullgraph=True)``.
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

import corelosses as cl

NAMES = [
    "ntxent_loss",
    "supervised_contrastive_loss",
    "contrastive_loss",
    "circle_loss",
    "multi_similarity_loss",
]


# --------------------------------------------------------- float64 references
def _unit(x, eps=1e-12):
    return [v / max(math.sqrt(sum(a * a for a in v)), eps) for v in np.asarray(x, float)]


def _cos(u, i, j):
    return float(np.dot(u[i], u[j]))


def _pairs(y, i):
    n = len(y)
    P = [j for j in range(n) if j != i and y[j] == y[i]]
    N = [j for j in range(n) if y[j] != y[i]]
    return P, N


def _lse(vals):
    m = max(vals)
    return m + math.log(sum(math.exp(v - m) for v in vals))


def ref_ntxent(x, y, temperature=0.07):
    """(per-anchor sums, mean over positive pairs)."""
    u = _unit(x, math.sqrt(np.finfo(np.float64).eps))
    per, npairs = [], 0
    for i in range(len(y)):
        P, N = _pairs(y, i)
        tot = 0.0
        for j in P:
            sij = _cos(u, i, j) / temperature
            den = math.exp(sij) + sum(math.exp(_cos(u, i, k) / temperature) for k in N)
            tot += -(sij - math.log(den))
            npairs += 1
        per.append(tot)
    per = np.array(per)
    return per, per.sum() / max(npairs, 1)


def ref_supcon(x, y, temperature=0.1):
    u = _unit(x)
    n = len(y)
    any_neg = any(y[i] != y[j] for i in range(n) for j in range(n))
    per, cnt = [], 0
    for i in range(n):
        P, N = _pairs(y, i)
        if not P:
            per.append(0.0)
            continue
        cnt += 1
        if not any_neg:
            per.append(0.0)
            continue
        den = _lse([_cos(u, i, a) / temperature for a in P + N])
        per.append(-sum(_cos(u, i, p) / temperature - den for p in P) / len(P))
    per = np.array(per)
    return per, per.sum() / max(cnt, 1)


def ref_contrastive(x, y, pos_margin=0.0, neg_margin=1.0, normalize=True):
    u = _unit(x) if normalize else list(np.asarray(x, float))
    per, pos_terms, neg_terms = [], [], []
    for i in range(len(y)):
        P, N = _pairs(y, i)
        tot = 0.0
        for j in P:
            t = max(0.0, float(np.linalg.norm(u[i] - u[j])) - pos_margin)
            pos_terms.append(t)
            tot += t
        for j in N:
            t = max(0.0, neg_margin - float(np.linalg.norm(u[i] - u[j])))
            neg_terms.append(t)
            tot += t
        per.append(tot)
    mean = 0.0
    for terms in (pos_terms, neg_terms):
        nz = [t for t in terms if t > 0]
        mean += sum(nz) / len(nz) if nz else 0.0
    return np.array(per), mean


def ref_circle(x, y, gamma=80.0, margin=0.4):
    u = _unit(x)
    per, cnt = [], 0
    for i in range(len(y)):
        P, N = _pairs(y, i)
        if not P or not N:
            per.append(0.0)
            continue
        cnt += 1
        lp = [
            -gamma * max(0.0, 1 + margin - s) * (s - (1 - margin))
            for s in (_cos(u, i, j) for j in P)
        ]
        ln = [gamma * max(0.0, s + margin) * (s - margin) for s in (_cos(u, i, j) for j in N)]
        z = _lse(lp) + _lse(ln)
        per.append(max(z, 0.0) + math.log1p(math.exp(-abs(z))))
    per = np.array(per)
    return per, per.sum() / max(cnt, 1)


def ref_ms(x, y, alpha=2.0, beta=50.0, base=0.5):
    u = _unit(x)
    per = []
    for i in range(len(y)):
        P, N = _pairs(y, i)
        tp = math.log(1 + sum(math.exp(-alpha * (_cos(u, i, j) - base)) for j in P)) / alpha
        tn = math.log(1 + sum(math.exp(beta * (_cos(u, i, j) - base)) for j in N)) / beta
        per.append(tp + tn)
    per = np.array(per)
    return per, per.mean() if len(per) else 0.0


REF = {
    "ntxent_loss": ref_ntxent,
    "supervised_contrastive_loss": ref_supcon,
    "contrastive_loss": ref_contrastive,
    "circle_loss": ref_circle,
    "multi_similarity_loss": ref_ms,
}

OPTIONS = {
    "ntxent_loss": [{}, {"temperature": 0.5}],
    "supervised_contrastive_loss": [{}, {"temperature": 0.3}],
    "contrastive_loss": [{}, {"pos_margin": 0.2, "neg_margin": 1.3}, {"normalize": False}],
    "circle_loss": [{}, {"gamma": 16.0, "margin": 0.25}],
    "multi_similarity_loss": [{}, {"alpha": 1.0, "beta": 10.0, "base": 0.3}],
}


def ref(name, x, y, reduction="mean", **kw):
    per, mean = REF[name](x, np.asarray(y), **kw)
    return {"none": per, "sum": per.sum(), "mean": mean}[reduction]


def batch(rng, n=9, d=4, classes=(0, 0, 0, 1, 1, 2, 2, 3, 4)):
    x = rng.normal(size=(n, d))
    return x, rng.permutation(np.array(classes[:n]))


# ------------------------------------------------------------------ peers
def _jax():
    pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    import _backends

    _backends.get("jax")  # x64 on
    import jax
    import jax.numpy as jnp

    return jax, jnp, optax


def _pml():
    torch = pytest.importorskip("torch")
    pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning import losses

    return torch, losses


def test_catalog_entries():
    for n in NAMES:
        info = cl.get(n)
        assert n in cl.metric.__all__ and getattr(cl, n) is info.fn
        assert info.family == "metric learning" and info.grad_argnums == (0,)
        assert info.reference and info.example is not None and info.peers


# ============================================================ references
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_loop_reference(xp, rng, name, reduction):
    x, y = batch(rng)
    for kw in OPTIONS[name]:
        got = run(xp, getattr(cl, name), x, y, reduction=reduction, **kw)
        assert_close(got, ref(name, x, y, reduction, **kw), err_msg=str(kw))


@pytest.mark.parametrize("name", [n for n in NAMES if n != "circle_loss"])
def test_gradient_matches_reference(ad, rng, name):
    x, y = batch(rng)
    kw = OPTIONS[name][-1]
    for red in ("mean", "none"):
        (g,) = grad(ad, getattr(cl, name), x, y, reduction=red, **kw)
        want = numeric_grad(lambda a: ref(name, a, y, red, **kw), x)  # noqa: B023
        assert_close(g, want, rtol=1e-6, atol=1e-8)


# ============================================================ live peers
@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_ntxent_optax_value_and_grad(rng, temperature):
    jax, jnp, optax = _jax()
    x, y = batch(rng)
    ja, jy = jnp.asarray(x), jnp.asarray(y)
    assert_close(
        cl.ntxent_loss(ja, jy, temperature=temperature), optax.losses.ntxent(ja, jy, temperature)
    )
    gp = jax.grad(lambda a: optax.losses.ntxent(a, jy, temperature))(ja)
    go = jax.jit(jax.grad(lambda a: cl.ntxent_loss(a, jy, temperature=temperature)))(ja)
    assert_close(go, gp, rtol=1e-8, atol=1e-10)
    # float32 with a tiny-norm row: optax clamps the norm at sqrt(eps)
    x32 = x.astype(np.float32)
    x32[0] *= 1e-5
    a32 = jnp.asarray(x32)
    assert_close(cl.ntxent_loss(a32, jy), optax.losses.ntxent(a32, jy), "float32")


def _pml_pairs():
    torch, L = _pml()
    return [
        ("supervised_contrastive_loss", L.SupConLoss(), {}),
        ("supervised_contrastive_loss", L.SupConLoss(temperature=0.3), {"temperature": 0.3}),
        ("contrastive_loss", L.ContrastiveLoss(), {}),
        (
            "contrastive_loss",
            L.ContrastiveLoss(pos_margin=0.2, neg_margin=1.3),
            {"pos_margin": 0.2, "neg_margin": 1.3},
        ),
        ("circle_loss", L.CircleLoss(), {}),
        ("circle_loss", L.CircleLoss(m=0.25, gamma=256), {"margin": 0.25, "gamma": 256.0}),
        ("multi_similarity_loss", L.MultiSimilarityLoss(), {}),
        (
            "multi_similarity_loss",
            L.MultiSimilarityLoss(alpha=1.0, beta=10.0, base=0.3),
            {"alpha": 1.0, "beta": 10.0, "base": 0.3},
        ),
    ]


@pytest.mark.parametrize(
    "classes",
    [
        (0, 0, 0, 1, 1, 2, 2, 3, 4),  # some anchors without positives
        (0, 1, 0, 1, 0, 1, 0, 1, 2),
        (0, 1, 2, 3, 4, 5, 6, 7, 8),  # no positives at all
        (3,) * 9,  # a single class: no negatives
    ],
)
def test_pml_value_and_grad(rng, classes):
    torch, _ = _pml()
    x, y = batch(rng, classes=classes)
    x[1] = x[0] * 2.0  # a duplicate direction (distance 0 after normalising)
    ty = torch.from_numpy(y)
    for name, peer, kw in _pml_pairs():
        a = torch.from_numpy(x).requires_grad_(True)
        vp = peer(a, ty)
        (gp,) = torch.autograd.grad(vp, a, allow_unused=True)
        gp = np.zeros_like(x) if gp is None else gp.numpy()
        b = torch.from_numpy(x).requires_grad_(True)
        vo = getattr(cl, name)(b, ty, **kw)
        (go,) = torch.autograd.grad(vo, b, allow_unused=True)
        go = np.zeros_like(x) if go is None else go.numpy()
        what = f"{name} {kw} {classes}"
        assert_close(vo.detach().numpy(), vp.detach().numpy(), err_msg=what)
        assert_close(go, gp, rtol=1e-8, atol=1e-10, err_msg=what)
        assert np.all(np.isfinite(go))


def test_pml_float32_gamma80(rng):
    """Float32 and float16 (computed in float32): gamma=80 times similarities does not overflow."""
    torch, L = _pml()
    x, y = batch(rng, n=9, d=8)
    x = (x * 30).astype(np.float32)
    ty = torch.from_numpy(y)
    for name, peer, kw in _pml_pairs():
        want = float(peer(torch.from_numpy(x), ty))
        got = getattr(cl, name)(torch.from_numpy(x), ty, **kw)
        assert got.dtype == torch.float32
        assert_close(float(got), want, rtol=2e-5, atol=1e-5, err_msg=name)
        h = torch.from_numpy(x).to(torch.float16).requires_grad_(True)
        out = getattr(cl, name)(h, ty, **kw)
        (g,) = torch.autograd.grad(out, h)
        assert out.dtype == torch.float32 and math.isfinite(float(out.detach())), name
        assert torch.isfinite(g).all() and g.dtype == torch.float16, name
        assert_close(float(out.detach()), float(peer(h.detach().float(), ty)), rtol=1e-3, atol=1e-3)


KERAS_SCRIPT = r"""
import numpy as np, keras, corelosses as cl
bk = keras.backend.backend()
rng = np.random.default_rng(0)
x = rng.normal(size=(9, 4)).astype("float32")
u = x / np.linalg.norm(x, axis=1, keepdims=True)
for y in (np.array([0, 0, 0, 1, 1, 2, 2, 3, 4]), np.array([0, 1, 0, 1, 0, 1, 0, 1, 2])):
    for kw, kk in (({}, {}), ({"gamma": 16.0, "margin": 0.25}, {"gamma": 16.0, "margin": 0.25})):
        peer = keras.losses.Circle(**kk)
        vp = float(peer(y, u))
        vo = float(cl.circle_loss(u.astype("float64"), y, **kw))
        assert np.isclose(vp, vo, rtol=1e-4, atol=1e-5), (y, kw, vp, vo)
        vn = np.asarray(keras.losses.Circle(reduction=None, **kk)(y, u))
        on = cl.circle_loss(u.astype("float64"), y, reduction="none", **kw)
        np.testing.assert_allclose(vn, on, rtol=1e-4, atol=1e-5)
print("OK", bk)
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_circle_value(backend):
    """Keras Circle on unit-norm rows: our default normalisation, mean over losses > 0."""
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"needs keras and {backend}")
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    r = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"OK {backend}" in r.stdout


# ============================================================ masks
@pytest.mark.parametrize("name", NAMES)
def test_mask_equals_removing(xp, rng, name):
    x, y = batch(rng)
    keep = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0], dtype=bool)
    for kw in OPTIONS[name]:
        for red in ("mean", "sum", "none"):
            got = run(xp, getattr(cl, name), x, y, mask=keep, reduction=red, **kw)
            want = ref(name, x[keep], y[keep], red, **kw)
            if red == "none":
                full = np.zeros(len(y))
                full[keep] = want
                want = full
            assert_close(got, want, err_msg=f"{kw} {red}")
        # 0/1 masks
        got = run(xp, getattr(cl, name), x, y, mask=keep.astype(np.int64), **kw)
        assert_close(got, ref(name, x[keep], y[keep], **kw))


@pytest.mark.parametrize("name", NAMES)
def test_nan_under_mask(ad, rng, name):
    x, y = batch(rng)
    keep = np.ones(len(y), dtype=bool)
    keep[[2, 5]] = False
    bad = x.copy()
    bad[2] = np.nan
    bad[5, 1] = np.inf
    for red in ("mean", "sum"):
        val = run(ad, getattr(cl, name), bad, y, mask=keep, reduction=red)
        assert_close(val, ref(name, x[keep], y[keep], red))
        (g,) = grad(ad, getattr(cl, name), bad, y, mask=keep, reduction=red)
        assert np.all(np.isfinite(g)) and np.all(g[~keep] == 0)
    # all masked: 0, zero gradient
    none = np.zeros(len(y), dtype=bool)
    assert float(run(ad, getattr(cl, name), bad, y, mask=none)) == 0.0
    (g,) = grad(ad, getattr(cl, name), bad, y, mask=none)
    assert np.all(g == 0)


# ============================================================ edge batches
@pytest.mark.parametrize("name", NAMES)
def test_no_positive_and_single_class(xp, rng, name):
    x = rng.normal(size=(5, 3))
    distinct = np.arange(5)
    single = np.zeros(5, dtype=np.int64)
    for y in (distinct, single):
        for red in ("mean", "sum", "none"):
            got = run(xp, getattr(cl, name), x, y, reduction=red)
            assert np.all(np.isfinite(got))
            assert_close(got, ref(name, x, y, red))
    # no positives: every loss but multi-similarity (its negative term) and
    # contrastive (negative pairs) is 0
    if name in ("ntxent_loss", "supervised_contrastive_loss", "circle_loss"):
        assert float(run(xp, getattr(cl, name), x, distinct)) == 0.0
    if name in ("supervised_contrastive_loss", "circle_loss"):  # a single class: no negatives
        assert float(run(xp, getattr(cl, name), x, single)) == 0.0
    if name == "ntxent_loss":  # a single class: every pair is a softmax of itself
        assert float(run(xp, getattr(cl, name), x, single)) == 0.0
    # one sample
    assert float(run(xp, getattr(cl, name), x[:1], distinct[:1])) == pytest.approx(
        ref(name, x[:1], distinct[:1])
    )


@pytest.mark.parametrize("name", NAMES)
def test_duplicate_and_zero_embeddings(ad, rng, name):
    """Identical embeddings (distance 0) and a zero row: finite values and gradients."""
    x, y = batch(rng)
    x[1] = x[0]
    x[4] = x[3]
    x[6] = 0.0
    # (a zero row is at distance exactly 1 from every unit row: keep the margin off 1)
    kw = {"neg_margin": 1.3} if name == "contrastive_loss" else {}
    val = run(ad, getattr(cl, name), x, y, **kw)
    assert_close(val, ref(name, x, y, **kw))
    (g,) = grad(ad, getattr(cl, name), x, y, **kw)
    assert np.all(np.isfinite(g))
    if name == "contrastive_loss":
        (g,) = grad(ad, cl.contrastive_loss, x, y, normalize=False, neg_margin=100.0)
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize("name", NAMES)
def test_extreme_magnitudes(ad, rng, name):
    """Rows at 1e30 and 1e-30: the scaled norm neither overflows nor underflows."""
    x, y = batch(rng)
    big = x.copy()
    big[0] *= 1e30
    big[1] *= 1e-30  # below the norm's clamp: a near-zero row, at distance ~1 from the others
    kw = {"neg_margin": 1.3} if name == "contrastive_loss" else {}
    val = run(ad, getattr(cl, name), big, y, **kw)
    assert_close(val, ref(name, big, y, **kw), rtol=1e-9)
    (g,) = grad(ad, getattr(cl, name), big, y, **kw)
    assert np.all(np.isfinite(g))


def test_circle_gradient_holds_weights(ad, rng):
    """Circle's weights are stop-gradient: autodiff equals the reference with the
    weights frozen at their values."""
    x, y = batch(rng)
    u0 = _unit(x)
    (g,) = grad(ad, cl.circle_loss, x, y, gamma=8.0, reduction="sum")

    def frozen(a):
        u = _unit(a)
        tot = 0.0
        for i in range(len(y)):
            P, N = _pairs(y, i)
            if not P or not N:
                continue
            lp = [-8.0 * max(0.0, 1.4 - _cos(u0, i, j)) * (_cos(u, i, j) - 0.6) for j in P]
            ln = [8.0 * max(0.0, _cos(u0, i, j) + 0.4) * (_cos(u, i, j) - 0.4) for j in N]
            tot += math.log1p(math.exp(_lse(lp) + _lse(ln)))
        return tot

    assert_close(g, numeric_grad(frozen, x), rtol=1e-6, atol=1e-8)


# ============================================================ bad input
@pytest.mark.parametrize("name", NAMES)
def test_bad_input(xp, rng, name):
    fn = getattr(cl, name)
    x, y = batch(rng)
    a = xp.asarray(x)
    with pytest.raises(TypeError, match="'labels'"):
        fn(a, xp.asarray(y.astype(np.float64)))
    with pytest.raises(TypeError, match="'labels'"):
        fn(a, xp.asarray(y > 0))
    with pytest.raises(ValueError, match="'labels'"):
        fn(a, xp.asarray(y[:-1]))
    with pytest.raises(ValueError, match="'labels'"):
        fn(a, xp.asarray(y[:, None]))
    with pytest.raises(ValueError, match="'embeddings'"):
        fn(xp.asarray(x[0]), xp.asarray(y[:1]))
    with pytest.raises(TypeError, match="'embeddings'"):
        fn(xp.asarray(y), xp.asarray(y))
    with pytest.raises(ValueError, match="'mask'"):
        fn(a, xp.asarray(y), mask=xp.asarray(np.ones(4, dtype=bool)))
    with pytest.raises(ValueError, match="'reduction'"):
        fn(a, xp.asarray(y), reduction="avg")
    opts = {
        "ntxent_loss": {"temperature": [0.0, -1.0, math.nan, math.inf]},
        "supervised_contrastive_loss": {"temperature": [0.0, -0.1]},
        "contrastive_loss": {"pos_margin": [math.nan], "neg_margin": [math.inf]},
        "circle_loss": {"gamma": [0.0, -1.0], "margin": [math.nan]},
        "multi_similarity_loss": {"alpha": [0.0], "beta": [-1.0], "base": [math.nan]},
    }[name]
    for opt, values in opts.items():
        for v in values:
            with pytest.raises(ValueError, match=f"'{opt}'"):
                fn(a, xp.asarray(y), **{opt: v})
    if name == "contrastive_loss":
        with pytest.raises(TypeError, match="'normalize'"):
            fn(a, xp.asarray(y), normalize=1)


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(xp, name):
    x, y = np.zeros((0, 3)), np.zeros((0,), dtype=np.int64)
    assert float(run(xp, getattr(cl, name), x, y)) == 0.0
    assert run(xp, getattr(cl, name), x, y, reduction="none").shape == (0,)


# ============================================================ jit / compile
@pytest.mark.parametrize("name", NAMES)
def test_jax_jit_and_grad(rng, name):
    jax, jnp, _ = _jax()
    x, y = batch(rng)
    keep = np.arange(len(y)) != 3
    ja, jy, jm = jnp.asarray(x), jnp.asarray(y), jnp.asarray(keep)
    f = jax.jit(lambda a, t, m: getattr(cl, name)(a, t, mask=m))
    assert_close(f(ja, jy, jm), ref(name, x[keep], y[keep]))
    g = jax.jit(jax.grad(lambda a, t, m: getattr(cl, name)(a, t, mask=m)))(ja, jy, jm)
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize("name", NAMES)
def test_torch_compile_fullgraph(rng, name):
    torch = pytest.importorskip("torch")
    x, y = batch(rng)
    keep = np.arange(len(y)) != 3
    for kw in OPTIONS[name]:
        out = compile_fullgraph(
            getattr(cl, name),
            torch.from_numpy(x),
            torch.from_numpy(y),
            mask=torch.from_numpy(keep),
            **kw,
        )
        assert_close(out.numpy(), ref(name, x[keep], y[keep], **kw))
