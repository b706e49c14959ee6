"""Softmax losses over scores against float64 formulas and live peers.

ranking_softmax_loss (optax.losses.ranking_softmax_loss) and
margin_softmax_loss (pytorch-metric-learning's ArcFaceLoss, CosFaceLoss,
SphereFaceLoss): an independent NumPy reference for each (written from the
formula, with loops and ``arccos``), the peers value and gradient, options,
reductions, masks, bad input, ``torch.compile(fullgraph=True)`` and
``jax.jit``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl

NAMES = ["ranking_softmax_loss", "margin_softmax_loss"]
KINDS = ["arcface", "cosface", "sphereface"]


def _jax():
    pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    import _backends

    _backends.get("jax")  # x64 on
    import jax
    import jax.numpy as jnp

    return jax, jnp, optax


def _torch():
    return pytest.importorskip("torch")


def reduce(per, reduction, count=None):
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    n = per.size if count is None else count
    return per.sum() / max(n, 1)


# ============================================================ references
def ref_ranking(s, y, where=None, weights=None):
    """Per list (last axis), loops: -sum_i w_i y_i log softmax(s over kept items)_i."""
    s2, y2 = s.reshape(-1, s.shape[-1]), y.reshape(-1, s.shape[-1])
    wh = np.ones(s2.shape, bool) if where is None else np.broadcast_to(where, s.shape)
    wt = np.ones(s2.shape) if weights is None else np.broadcast_to(weights, s.shape)
    wh, wt = wh.reshape(s2.shape), wt.reshape(s2.shape)
    out, has = [], []
    for row, rel, keep, w in zip(s2, y2, wh, wt):
        items = [i for i in range(len(row)) if keep[i]]
        has.append(bool(items))
        if not items:
            out.append(0.0)
            continue
        lse = math.log(sum(math.exp(row[i]) for i in items))
        out.append(-sum(w[i] * rel[i] * (row[i] - lse) for i in items))
    return np.array(out).reshape(s.shape[:-1]), np.array(has).reshape(s.shape[:-1])


def ref_margin(cos, t, kind="arcface", m=None, s=64.0):
    """Per sample: the target logit from theta = arccos(cos), then cross entropy."""
    m = {"arcface": 0.5, "cosface": 0.35, "sphereface": 4}[kind] if m is None else m
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), cos.shape)
    out = []
    for row, k, srow in zip(cos, t, s):
        theta = math.acos(min(1.0, max(-1.0, row[k])))
        if kind == "arcface":
            psi = math.cos(theta + m) if theta <= math.pi - m else row[k] - m * math.sin(m)
        elif kind == "cosface":
            psi = row[k] - m
        else:
            j = math.floor(theta * m / math.pi)
            psi = (-1) ** j * math.cos(m * theta) - 2 * j
        z = srow * row
        z[k] = srow[k] * psi
        out.append(-(z[k] - (z.max() + math.log(np.exp(z - z.max()).sum()))))
    return np.array(out)


def ranking_data(rng, shape=(6, 5)):
    s = rng.normal(size=shape) * 2
    y = rng.integers(0, 4, size=shape).astype(np.float64)
    y[1] = 0.0  # a list with no relevant item
    return s, y


def margin_data(rng, n=8, C=5, kind="arcface"):
    # away from +-1, from ArcFace's threshold and from SphereFace's interval ends
    cos = rng.uniform(-0.8, 0.9, size=(n, C))
    return cos, rng.integers(0, C, size=(n,))


def test_catalog_entries():
    for n in NAMES:
        info = cl.get(n)
        assert n in cl.ranking.__all__ and getattr(cl, n) is info.fn
        assert info.reference and info.example is not None and info.peers
    assert cl.get("ranking_softmax_loss").family == "ranking"
    assert cl.get("margin_softmax_loss").family == "classification"


# ============================================================ ranking softmax
OPTS = {
    "plain": lambda rng, shape: {},
    "where": lambda rng, shape: {"where": _where(rng, shape)},
    "weights": lambda rng, shape: {"weights": rng.uniform(0.2, 2.0, size=shape)},
    "both": lambda rng, shape: {
        "where": _where(rng, shape),
        "weights": rng.uniform(0.2, 2.0, size=shape),
    },
}


def _where(rng, shape):
    w = rng.uniform(size=shape) < 0.7
    w[3] = False  # a list with no item at all: loss 0, not in the mean
    return w


@pytest.mark.parametrize("opt", list(OPTS))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ranking_matches_reference(xp, rng, opt, reduction):
    s, y = ranking_data(rng)
    kw = OPTS[opt](rng, s.shape)
    per, has = ref_ranking(s, y, **kw)
    want = reduce(per, reduction, count=int(has.sum()))
    assert_close(run(xp, cl.ranking_softmax_loss, s, y, reduction=reduction, **kw), want)


def test_ranking_axis_and_broadcast_options(xp, rng):
    s, y = ranking_data(rng, (3, 5, 4))
    wh = rng.uniform(size=(1, 5, 1)) < 0.7
    wh[0, 0, 0] = True
    wt = rng.uniform(0.5, 2.0, size=(5, 1))
    per, _ = ref_ranking(
        np.moveaxis(s, 1, -1),
        np.moveaxis(y, 1, -1),
        np.moveaxis(wh, 1, -1),
        np.moveaxis(np.broadcast_to(wt, (1, 5, 1)), 1, -1),
    )
    out = run(xp, cl.ranking_softmax_loss, s, y, axis=1, where=wh, weights=wt, reduction="none")
    assert_close(out, per)
    # integer and boolean relevance are cast
    yb = y > 1
    assert_close(
        run(xp, cl.ranking_softmax_loss, s, yb, axis=-2, reduction="none"),
        ref_ranking(np.moveaxis(s, 1, -1), np.moveaxis(yb.astype(float), 1, -1))[0],
    )
    assert_close(
        run(xp, cl.ranking_softmax_loss, s, y.astype(np.int64), axis=1),
        np.mean(ref_ranking(np.moveaxis(s, 1, -1), np.moveaxis(y, 1, -1))[0]),
    )


@pytest.mark.parametrize("opt", list(OPTS))
def test_ranking_peer_optax_value_and_grad(rng, opt):
    jax, jnp, optax = _jax()
    s, y = ranking_data(rng)
    kw = OPTS[opt](rng, s.shape)
    jkw = {k: jnp.asarray(v) for k, v in kw.items()}
    js, jy = jnp.asarray(s), jnp.asarray(y)
    peer = optax.losses.ranking_softmax_loss
    for red, fn in (("mean", jnp.mean), ("sum", jnp.sum), ("none", None)):
        ref = peer(js, jy, reduce_fn=fn, **jkw)
        out = jax.jit(lambda a, b, k, red=red: cl.ranking_softmax_loss(a, b, reduction=red, **k))
        assert_close(out(js, jy, jkw), ref)
        gr = jax.grad(lambda a, fn=fn: jnp.sum(peer(a, jy, reduce_fn=fn, **jkw)))(js)
        go = jax.jit(
            jax.grad(
                lambda a, red=red: jnp.sum(cl.ranking_softmax_loss(a, jy, reduction=red, **jkw))
            )
        )(js)
        assert_close(go, gr)
    # optax's own default call
    assert_close(cl.ranking_softmax_loss(js, jy, **jkw), peer(js, jy, **jkw))


def test_ranking_gradient_matches_finite_differences(ad, rng):
    s, y = ranking_data(rng)
    kw = OPTS["both"](rng, s.shape)
    (g,) = grad(ad, cl.ranking_softmax_loss, s, y, **kw)
    assert_close(g, numeric_grad(cl.ranking_softmax_loss, s, y, **kw), rtol=1e-6, atol=1e-8)
    assert np.all(g[~kw["where"]] == 0)


def test_ranking_mask_weight_and_nan_safety(ad, rng):
    s, y = ranking_data(rng)
    fn = cl.ranking_softmax_loss
    m = np.array([True, False, True, True, False, True])
    for red in ("mean", "sum"):
        assert float(run(ad, fn, s, y, mask=np.zeros(6, bool), reduction=red)) == 0.0
    (g,) = grad(ad, fn, s, y, mask=np.zeros(6, bool))
    assert np.all(g == 0)
    per, _ = ref_ranking(s, y)
    sb, yb = s.copy(), y.copy()
    sb[~m] = np.nan
    sb[~m, 0] = np.inf
    yb[~m] = np.nan
    assert_close(run(ad, fn, sb, yb, mask=m, reduction="sum"), per[m].sum())
    assert_close(run(ad, fn, sb, yb, mask=m), per[m].mean())
    assert_close(run(ad, fn, sb, yb, mask=m, reduction="none"), np.where(m, per, 0.0))
    (g,) = grad(ad, fn, sb, yb, mask=m)
    assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)
    # NaN / inf scores, relevance and weights of items excluded by where
    wh = OPTS["where"](rng, s.shape)["where"]
    wt = rng.uniform(0.5, 2.0, size=s.shape)
    want = run(ad, fn, s, y, where=wh, weights=wt)
    sb, yb, wb = s.copy(), y.copy(), wt.copy()
    sb[~wh], yb[~wh], wb[~wh] = np.nan, np.nan, np.inf
    assert_close(run(ad, fn, sb, yb, where=wh, weights=wb), want)
    (g,) = grad(ad, fn, sb, yb, where=wh, weights=wb)
    assert np.all(np.isfinite(g)) and np.all(g[~wh] == 0)
    # per-list weight
    w = rng.uniform(0.1, 2.0, size=6)
    assert_close(run(ad, fn, s, y, weight=w, reduction="none"), per * w)
    assert_close(run(ad, fn, s, y, weight=w), (per * w).mean())


def test_ranking_huge_relevance_no_nan_gradient(ad):
    """Relevance summing past float32's max: an inf loss with a NaN-free gradient."""
    s = np.array([[3e38, -3e38, 0.0, 1.0], [0.5, 1.0, -1.0, 2.0]], np.float32)
    y = np.array([[3e38, 3e38, 3e38, 0.0], [1.0, 0.0, 2.0, 0.0]], np.float32)
    (g,) = grad(ad, cl.ranking_softmax_loss, s, y)
    assert not np.any(np.isnan(g))
    assert np.all(np.isfinite(g[1]))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_ranking_half_precision_in_float32(ad, rng, dtype):
    s, y = ranking_data(rng)
    if ad.name == "torch":
        h = ad.torch.from_numpy(s).to(getattr(ad.torch, dtype))
        h32, yt = h.float(), ad.torch.from_numpy(y)
    else:
        import jax.numpy as jnp

        h = jnp.asarray(s).astype(getattr(jnp, dtype))
        h32, yt = h.astype(jnp.float32), jnp.asarray(y)
    out = cl.ranking_softmax_loss(h, yt)
    assert "float32" in str(out.dtype)
    assert_close(ad.to_numpy(out), ad.to_numpy(cl.ranking_softmax_loss(h32, yt)), rtol=1e-6)


def test_ranking_torch_compile_and_jax_jit(rng):
    torch = _torch()
    s, y = ranking_data(rng)
    wh = OPTS["where"](rng, s.shape)["where"]
    fn = cl.ranking_softmax_loss
    st, yt, wt = torch.from_numpy(s), torch.from_numpy(y), torch.from_numpy(wh)
    out = compile_fullgraph(fn, st, yt, where=wt)
    assert_close(out.numpy(), fn(s, y, where=wh))
    compiled = torch.compile(lambda a: fn(a, yt, where=wt), fullgraph=True, backend="eager")
    x0 = st.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(compiled(x0), x0)
    x1 = st.clone().requires_grad_(True)
    (ge,) = torch.autograd.grad(fn(x1, yt, where=wt), x1)
    assert_close(g.numpy(), ge.numpy())
    jax, jnp, _ = _jax()
    js, jy, jw = jnp.asarray(s), jnp.asarray(y), jnp.asarray(wh)
    assert_close(jax.jit(lambda a, b, w: fn(a, b, where=w))(js, jy, jw), fn(s, y, where=wh))
    per = jax.vmap(lambda a, b: fn(a, b, reduction="sum"))(js, jy)
    assert_close(per, ref_ranking(s, y)[0])


def test_ranking_bad_input_named_errors(rng):
    s, y = ranking_data(rng)
    fn = cl.ranking_softmax_loss
    checks = [
        (lambda: fn(s, y[:, :3]), ValueError, "'relevance'"),
        (lambda: fn(s, -y - 1), ValueError, "'relevance'"),
        (lambda: fn(s.astype(int), y), TypeError, "'scores'"),
        (lambda: fn(s[:, :0], y[:, :0]), ValueError, "'scores'"),
        (lambda: fn(s, y, axis=2), ValueError, "'axis'"),
        (lambda: fn(s, y, where=np.ones((6, 4), bool)), ValueError, "'where'"),
        (lambda: fn(s, y, where=np.full(s.shape, "a")), TypeError, "'where'"),
        (lambda: fn(s, y, weights=np.ones(3)), ValueError, "'weights'"),
        (lambda: fn(s, y, weight=np.ones(5)), ValueError, "'weight'"),
        (lambda: fn(s, y, mask=np.ones((6, 5), bool)), ValueError, "'mask'"),
        (lambda: fn(s, y, reduction="avg"), ValueError, "'reduction'"),
    ]
    for f, exc, msg in checks:
        with pytest.raises(exc, match=msg):
            f()


# ============================================================ margin softmax
MARGIN_OPTS = [
    ("arcface", None, 64.0),
    ("arcface", 0.3, 8.0),
    ("cosface", None, 64.0),
    ("cosface", 0.2, 10.0),
    ("sphereface", None, 64.0),
    ("sphereface", 2, 5.0),
    ("sphereface", 3.0, 1.5),
    ("sphereface", 1, 2.0),
]


@pytest.mark.parametrize("kind,m,s", MARGIN_OPTS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_margin_matches_reference(xp, rng, kind, m, s, reduction):
    cos, t = margin_data(rng)
    want = reduce(
        ref_margin(cos, t, kind, None if m is None else int(m) if kind == "sphereface" else m, s),
        reduction,
    )
    kw = {} if m is None else {"margin": m}
    assert_close(
        run(xp, cl.margin_softmax_loss, cos, t, kind=kind, scale=s, reduction=reduction, **kw),
        want,
    )


def test_margin_defaults_and_regions(xp, rng):
    """Past ArcFace's threshold and over every SphereFace interval (the whole range)."""
    cos = np.linspace(-0.999, 0.999, 40).reshape(8, 5)
    t = rng.integers(0, 5, size=8)
    for kind in KINDS:
        want = ref_margin(cos, t, kind, s=2.0)
        assert_close(
            run(xp, cl.margin_softmax_loss, cos, t, kind=kind, scale=2.0, reduction="none"), want
        )
    assert_close(run(xp, cl.margin_softmax_loss, cos, t), ref_margin(cos, t).mean())


def test_margin_axis_ignore_index_and_scale_array(xp, rng):
    cos, t = margin_data(rng, n=6, C=4)
    sc = rng.uniform(1.0, 5.0, size=(6, 1))
    want = ref_margin(cos, t, "cosface", 0.2, sc)
    out = run(
        xp,
        cl.margin_softmax_loss,
        cos.T,
        t,
        axis=0,
        kind="cosface",
        margin=0.2,
        scale=sc.T,
        reduction="none",
    )
    assert_close(out, want)
    ti = t.copy()
    ti[[1, 4]] = -100
    keep = ti != -100
    assert_close(
        run(xp, cl.margin_softmax_loss, cos, ti, ignore_index=-100, scale=4.0),
        ref_margin(cos[keep], t[keep], s=4.0).mean(),
    )


def _pml_case(kind, m, s, rng):
    torch = _torch()
    from pytorch_metric_learning import losses

    N, D, C = 7, 6, 5
    torch.manual_seed(0)
    if kind == "arcface":
        kw = {} if m is None else {"margin": math.degrees(m)}
        L = losses.ArcFaceLoss(C, D, scale=s, **kw)
        ours = {"margin": math.radians(28.6) if m is None else m}
    elif kind == "cosface":
        L = losses.CosFaceLoss(C, D, scale=s, **({} if m is None else {"margin": m}))
        ours = {"margin": 0.35 if m is None else m}
    else:
        L = losses.SphereFaceLoss(C, D, scale=s, **({} if m is None else {"margin": m}))
        ours = {"margin": 4 if m is None else m}
    emb = rng.normal(size=(N, D))
    return torch, L, emb, rng.integers(0, C, size=N), ours


@pytest.mark.parametrize(
    "kind,m,s",
    [
        ("arcface", None, 64.0),
        ("arcface", 0.4, 16.0),
        ("cosface", None, 64.0),
        ("cosface", 0.25, 10.0),
        ("sphereface", None, 1.0),
        ("sphereface", 3, 2.0),
    ],
)
def test_margin_peer_pytorch_metric_learning(rng, kind, m, s):
    """pml's number from its own W: cos = normalize(emb) @ normalize(W, dim=0)."""
    torch, L, emb, y, ours = _pml_case(kind, m, s, rng)
    F = torch.nn.functional
    e = torch.tensor(emb, requires_grad=True)
    ref = L(e, torch.from_numpy(y))
    (gr,) = torch.autograd.grad(ref, e)
    W = L.W.detach().double()  # (embedding_size, num_classes)
    assert tuple(W.shape) == (emb.shape[1], 5)
    e2 = torch.tensor(emb, requires_grad=True)
    cos = F.normalize(e2, dim=1) @ F.normalize(W, dim=0)
    scale = s * torch.linalg.norm(e2, dim=1, keepdim=True) if kind == "sphereface" else s
    out = cl.margin_softmax_loss(cos, torch.from_numpy(y), kind=kind, scale=scale, **ours)
    (go,) = torch.autograd.grad(out, e2)
    assert_close(out.detach().numpy(), ref.detach().numpy())
    assert_close(go.numpy(), gr.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_margin_gradient_matches_finite_differences(ad, rng, kind):
    cos, t = margin_data(rng)
    kw = {"kind": kind, "scale": 4.0}
    (g,) = grad(ad, cl.margin_softmax_loss, cos, t, **kw)
    assert_close(g, numeric_grad(cl.margin_softmax_loss, cos, t, **kw), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_margin_gradient_finite_at_plus_minus_one(ad, kind, dtype):
    """cos = +-1 exactly (acos is vertical there): finite value and gradient."""
    cos = np.array([[1.0, -1.0, 0.2], [-1.0, 1.0, 0.0], [1.0, 1.0, -1.0]], dtype)
    t = np.array([0, 0, 2])
    out = run(ad, cl.margin_softmax_loss, cos, t, kind=kind, reduction="none")
    (g,) = grad(ad, cl.margin_softmax_loss, cos, t, kind=kind)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(g))
    assert_close(
        out, ref_margin(cos.astype(np.float64), t, kind), dtype=dtype, rtol=1e-5, atol=1e-4
    )
    if kind == "arcface":  # slope of cos(theta + m) at theta = 0: cos m (times s, p - 1)
        one = np.array([[1.0, 0.0]], dtype)
        (g1,) = grad(ad, cl.margin_softmax_loss, one, np.array([0]), kind=kind, scale=1.0)
        z = np.array([math.cos(0.5), 0.0])
        p = np.exp(z) / np.exp(z).sum()
        assert_close(g1[0, 0], (p[0] - 1.0) * math.cos(0.5), dtype=dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_margin_half_precision_in_float32(ad, rng, kind, dtype):
    cos, t = margin_data(rng)
    cos[0, t[0]] = 1.0
    cos[1, t[1]] = -1.0
    if ad.name == "torch":
        h = ad.torch.from_numpy(cos).to(getattr(ad.torch, dtype))
        h32, tt = h.float(), ad.torch.from_numpy(t)
    else:
        import jax.numpy as jnp

        h = jnp.asarray(cos).astype(getattr(jnp, dtype))
        h32, tt = h.astype(jnp.float32), jnp.asarray(t)
    out = cl.margin_softmax_loss(h, tt, kind=kind)
    assert "float32" in str(out.dtype)
    assert_close(
        ad.to_numpy(out),
        ad.to_numpy(cl.margin_softmax_loss(h32, tt, kind=kind)),
        rtol=1e-6,
        atol=1e-6,
    )
    if ad.name == "torch":
        hg = h.clone().requires_grad_(True)
        (g,) = ad.torch.autograd.grad(cl.margin_softmax_loss(hg, tt, kind=kind), hg)
        g = g.float().numpy()
    else:
        g = ad.jax.grad(lambda a: cl.margin_softmax_loss(a, tt, kind=kind))(h)
        g = np.asarray(g.astype("float32"))
    assert np.all(np.isfinite(g))


def test_margin_mask_weight_and_nan_safety(ad, rng):
    cos, t = margin_data(rng, n=6)
    fn = cl.margin_softmax_loss
    m = np.array([True, False, True, True, False, True])
    for red in ("mean", "sum"):
        assert float(run(ad, fn, cos, t, mask=np.zeros(6, bool), reduction=red)) == 0.0
    (g,) = grad(ad, fn, cos, t, mask=np.zeros(6, bool))
    assert np.all(g == 0)
    per = ref_margin(cos, t)
    cb = cos.copy()
    cb[~m] = np.nan
    cb[~m, 0] = np.inf
    sc = np.full((6, 1), 3.0)
    sc[~m] = np.nan
    for kw, want in (({}, per), ({"scale": sc}, ref_margin(cos, t, s=3.0))):
        assert_close(run(ad, fn, cb, t, mask=m, reduction="sum", **kw), want[m].sum())
        assert_close(run(ad, fn, cb, t, mask=m, **kw), want[m].mean())
        (g,) = grad(ad, fn, cb, t, mask=m, **kw)
        assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)
    w = rng.uniform(0.1, 2.0, size=6)
    assert_close(run(ad, fn, cos, t, weight=w, reduction="none"), per * w)


@pytest.mark.parametrize("kind", KINDS)
def test_margin_torch_compile_and_jax_jit(rng, kind):
    torch = _torch()
    cos, t = margin_data(rng)
    fn = cl.margin_softmax_loss
    ct, tt = torch.from_numpy(cos), torch.from_numpy(t)
    out = compile_fullgraph(fn, ct, tt, kind=kind)
    assert_close(out.numpy(), ref_margin(cos, t, kind).mean())
    compiled = torch.compile(lambda a: fn(a, tt, kind=kind), fullgraph=True, backend="eager")
    x0 = ct.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(compiled(x0), x0)
    x1 = ct.clone().requires_grad_(True)
    (ge,) = torch.autograd.grad(fn(x1, tt, kind=kind), x1)
    assert_close(g.numpy(), ge.numpy())
    jax, jnp, _ = _jax()
    jc, jt = jnp.asarray(cos), jnp.asarray(t)
    assert_close(jax.jit(lambda a, b: fn(a, b, kind=kind))(jc, jt), ref_margin(cos, t, kind).mean())
    gj = jax.jit(jax.grad(lambda a: fn(a, jt, kind=kind)))(jc)
    assert_close(gj, ge.numpy())
    # unchecked under jit: values outside [-1, 1] are clipped for the angle, no error
    assert np.isfinite(float(jax.jit(lambda a: fn(a, jt, kind=kind))(jc * 3)))


def test_margin_bad_input_named_errors(rng):
    cos, t = margin_data(rng)
    fn = cl.margin_softmax_loss
    checks = [
        (lambda: fn(cos, t, kind="adaface"), ValueError, "'kind'"),
        (lambda: fn(cos, t, margin=-0.1), ValueError, "'margin'"),
        (lambda: fn(cos, t, margin=math.pi), ValueError, "'margin'"),
        (lambda: fn(cos, t, margin=math.nan), ValueError, "'margin'"),
        (lambda: fn(cos, t, kind="cosface", margin=-1.0), ValueError, "'margin'"),
        (lambda: fn(cos, t, kind="cosface", margin=math.inf), ValueError, "'margin'"),
        (lambda: fn(cos, t, kind="cosface", margin="0.3"), TypeError, "'margin'"),
        (lambda: fn(cos, t, kind="sphereface", margin=2.5), ValueError, "'margin'"),
        (lambda: fn(cos, t, kind="sphereface", margin=0), ValueError, "'margin'"),
        (lambda: fn(cos, t, kind="sphereface", margin=True), TypeError, "'margin'"),
        (lambda: fn(cos, t, kind="sphereface", margin="4"), TypeError, "'margin'"),
        (lambda: fn(cos, t, scale=0.0), ValueError, "'scale'"),
        (lambda: fn(cos, t, scale=-2.0), ValueError, "'scale'"),
        (lambda: fn(cos, t, scale=math.inf), ValueError, "'scale'"),
        (lambda: fn(cos, t, scale=np.ones((3, 1))), ValueError, "'scale'"),
        (lambda: fn(cos, t, scale=np.ones((8, 1), int)), TypeError, "'scale'"),
        (lambda: fn(cos * 1.5, t), ValueError, "'cosine'"),
        (lambda: fn(cos - 1.5, t), ValueError, "'cosine'"),
        (lambda: fn(cos.astype(int), t), TypeError, "'cosine'"),
        (lambda: fn(cos, t + 5), ValueError, "'target'"),
        (lambda: fn(cos, t.astype(float)), TypeError, "'target'"),
        (lambda: fn(cos, np.eye(5)[t]), ValueError, "'target'"),
        (lambda: fn(cos, t[:-1]), ValueError, "'target'"),
        (lambda: fn(cos, t, axis=2), ValueError, "'axis'"),
        (lambda: fn(cos, t, mask=np.ones(3, bool)), ValueError, "'mask'"),
        (lambda: fn(cos, t, reduction="avg"), ValueError, "'reduction'"),
    ]
    for f, exc, msg in checks:
        with pytest.raises(exc, match=msg):
            f()
    # rounding just past +-1 (a normalised product) is accepted and clipped
    c2 = cos.copy()
    c2[0, t[0]] = 1.0 + 1e-7
    assert np.isfinite(float(fn(c2, t)))


def test_cli_check_passes(capsys):
    from corelosses._tools.cli import main

    assert main(["check", *NAMES, "--backends", "numpy,torch,jax"]) == 0
    assert "FAIL" not in capsys.readouterr().out
