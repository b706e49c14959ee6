"""GAN objectives and gradient penalties: float64 NumPy references from the formulas."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl

D_KINDS = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")
G_KINDS = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")


# ------------------------------------------------------------- references
def _softplus(z):
    return np.logaddexp(0.0, z)


def ref_disc(r, f, kind):
    r = np.asarray(r, np.float64)
    f = np.asarray(f, np.float64)
    if kind in ("minimax", "non_saturating"):
        # -log sigmoid(r) - log(1 - sigmoid(f))
        return _softplus(-r) + _softplus(f)
    if kind == "least_squares":
        return 0.5 * (r - 1.0) ** 2 + 0.5 * f**2
    if kind == "wasserstein":
        return f - r
    return np.maximum(0.0, 1.0 - r) + np.maximum(0.0, 1.0 + f)


def ref_gen(f, kind):
    f = np.asarray(f, np.float64)
    if kind == "minimax":
        return -_softplus(f)  # log(1 - sigmoid(f))
    if kind == "non_saturating":
        return _softplus(-f)  # -log sigmoid(f)
    if kind == "least_squares":
        return 0.5 * (f - 1.0) ** 2
    return -f


def _logits(rng, shape, kinks=(1.0, -1.0)):
    x = rng.normal(size=shape) * 2.5
    for k in kinks:  # keep finite differences away from the hinge kinks
        near = np.abs(x - k) < 0.1
        x[near] += 0.3
    return x


# ------------------------------------------------------------ GAN losses
@pytest.mark.parametrize("kind", D_KINDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_discriminator_matches_reference(xp, kind, reduction):
    rng = np.random.default_rng(0)
    r, f = _logits(rng, (7, 3)), _logits(rng, (7, 3))
    ref = ref_disc(r, f, kind)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    out = run(xp, cl.gan_discriminator_loss, r, f, kind=kind, reduction=reduction)
    assert out.shape == np.shape(ref)
    assert_close(out, ref)


def test_discriminator_mean_is_sum_of_real_and_fake_means(xp):
    rng = np.random.default_rng(1)
    r, f = rng.normal(size=(9,)), rng.normal(size=(9,))
    out = run(xp, cl.gan_discriminator_loss, r, f, kind="minimax")
    # the TF-GAN / BCE form: mean BCE(real, 1) + mean BCE(fake, 0)
    p_r, p_f = 1 / (1 + np.exp(-r)), 1 / (1 + np.exp(-f))
    assert_close(out, np.mean(-np.log(p_r)) + np.mean(-np.log(1 - p_f)), rtol=1e-9)


@pytest.mark.parametrize("kind", G_KINDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_generator_matches_reference(xp, kind, reduction):
    f = _logits(np.random.default_rng(2), (4, 5))
    ref = ref_gen(f, kind)
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    out = run(xp, cl.gan_generator_loss, f, kind=kind, reduction=reduction)
    assert out.shape == np.shape(ref)
    assert_close(out, ref)


def test_generator_default_is_minimax(xp):
    f = np.array([-3.0, 0.2, 4.0])
    assert_close(run(xp, cl.gan_generator_loss, f), ref_gen(f, "minimax").mean())


def test_minimax_matches_probability_form():
    f = np.array([-2.0, 0.0, 1.5])
    d = 1 / (1 + np.exp(-f))
    assert_close(cl.gan_generator_loss(f, kind="minimax", reduction="none"), np.log(1 - d))
    assert_close(cl.gan_generator_loss(f, kind="non_saturating", reduction="none"), -np.log(d))


def test_weight_and_mask(xp):
    rng = np.random.default_rng(3)
    r, f = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    w = rng.uniform(0.5, 2.0, size=(2,))
    m = np.array([True, False, True, True, False])[:, None]
    ref = ref_disc(r, f, "hinge") * w
    out = run(xp, cl.gan_discriminator_loss, r, f, kind="hinge", weight=w, mask=m)
    mb = np.broadcast_to(m, ref.shape)
    assert_close(out, ref[mb].sum() / mb.sum())
    gref = ref_gen(f, "least_squares") * w
    out = run(xp, cl.gan_generator_loss, f, kind="least_squares", weight=w, mask=m, reduction="sum")
    assert_close(out, gref[mb].sum())
    allm = run(xp, cl.gan_generator_loss, f, mask=np.zeros((5, 2), bool))
    assert float(allm) == 0.0


@pytest.mark.parametrize("kind", D_KINDS)
def test_nan_under_mask(ad, kind):
    rng = np.random.default_rng(4)
    r, f = rng.normal(size=(6,)), rng.normal(size=(6,))
    m = np.array([1, 0, 1, 1, 0, 1], dtype=bool)
    r[~m] = np.nan
    f[~m] = np.inf
    val = run(ad, cl.gan_discriminator_loss, r, f, kind=kind, mask=m)
    assert_close(val, ref_disc(r[m], f[m], kind).mean())
    gr, gf = grad(ad, cl.gan_discriminator_loss, r, f, kind=kind, mask=m, argnums=(0, 1))
    for g in (gr, gf):
        assert np.all(np.isfinite(g)) and np.all(g[~m] == 0)
    (gg,) = grad(ad, cl.gan_generator_loss, f, kind=kind, mask=m)
    assert np.all(np.isfinite(gg)) and np.all(gg[~m] == 0)


@pytest.mark.parametrize("kind", D_KINDS)
def test_discriminator_gradient_finite_differences(ad, kind):
    rng = np.random.default_rng(5)
    r, f = _logits(rng, (4, 3)), _logits(rng, (4, 3))
    gs = grad(ad, cl.gan_discriminator_loss, r, f, kind=kind, argnums=(0, 1))
    for i, g in enumerate(gs):
        num = numeric_grad(lambda a, b: ref_disc(a, b, kind).mean(), r, f, argnum=i)
        assert_close(g, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", G_KINDS)
def test_generator_gradient_finite_differences(ad, kind):
    f = _logits(np.random.default_rng(6), (3, 4))
    (g,) = grad(ad, cl.gan_generator_loss, f, kind=kind)
    num = numeric_grad(lambda a: ref_gen(a, kind).mean(), f)
    assert_close(g, num, rtol=1e-5, atol=1e-7)


def test_generator_gradients_analytic(ad):
    # minimax saturates where D rejects the sample; non-saturating does not.
    f = np.array([-30.0, 0.0, 30.0])
    (g_mm,) = grad(ad, cl.gan_generator_loss, f, kind="minimax", reduction="sum")
    (g_ns,) = grad(ad, cl.gan_generator_loss, f, kind="non_saturating", reduction="sum")
    s = 1 / (1 + np.exp(-f))
    assert_close(g_mm, -s, rtol=1e-9, atol=1e-15)
    assert_close(g_ns, s - 1, rtol=1e-9, atol=1e-15)
    assert abs(g_mm[0]) < 1e-12 and abs(g_ns[0] + 1) < 1e-12


@pytest.mark.parametrize("kind", D_KINDS)
def test_extreme_logits_are_finite(ad, kind):
    r = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    f = r[::-1].copy()
    val = run(ad, cl.gan_discriminator_loss, r, f, kind=kind, reduction="none")
    assert np.all(np.isfinite(val))
    assert_close(val, ref_disc(r, f, kind), rtol=1e-12)
    gs = grad(ad, cl.gan_discriminator_loss, r, f, kind=kind, argnums=(0, 1))
    assert all(np.all(np.isfinite(g)) for g in gs)
    gv = run(ad, cl.gan_generator_loss, f, kind=kind, reduction="none")
    assert_close(gv, ref_gen(f, kind), rtol=1e-12)
    (gg,) = grad(ad, cl.gan_generator_loss, f, kind=kind)
    assert np.all(np.isfinite(gg))


def test_gradient_torch_equals_jax_all_kinds():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    import _backends

    t, j = _backends.get("torch"), _backends.get("jax")
    rng = np.random.default_rng(7)
    r, f = _logits(rng, (5,)), _logits(rng, (5,))
    for kind in D_KINDS:
        a = grad(t, cl.gan_discriminator_loss, r, f, kind=kind, argnums=(0, 1))
        b = grad(j, cl.gan_discriminator_loss, r, f, kind=kind, argnums=(0, 1))
        for x, y in zip(a, b, strict=True):
            assert_close(x, y)
        a = grad(t, cl.gan_generator_loss, f, kind=kind)
        b = grad(j, cl.gan_generator_loss, f, kind=kind)
        assert_close(a[0], b[0])


@pytest.mark.parametrize("kind", D_KINDS)
def test_torch_compile_fullgraph(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    r, f = _logits(rng, (4, 2)), _logits(rng, (4, 2))
    out = compile_fullgraph(
        cl.gan_discriminator_loss, torch.from_numpy(r), torch.from_numpy(f), kind=kind
    )
    assert_close(out.numpy(), ref_disc(r, f, kind).mean())
    out = compile_fullgraph(cl.gan_generator_loss, torch.from_numpy(f), kind=kind)
    assert_close(out.numpy(), ref_gen(f, kind).mean())


def test_bad_input():
    r, f = np.zeros((4,)), np.zeros((4,))
    with pytest.raises(ValueError, match="kind"):
        cl.gan_discriminator_loss(r, f, kind="relativistic")
    with pytest.raises(ValueError, match="kind"):
        cl.gan_generator_loss(f, kind="wgan")
    with pytest.raises(ValueError, match=r"'fake'.*\(4,\).*\(3,\)"):
        cl.gan_discriminator_loss(r, np.zeros((3,)))
    with pytest.raises(ValueError, match="reduction"):
        cl.gan_generator_loss(f, reduction="avg")
    with pytest.raises(TypeError, match="real"):
        cl.gan_discriminator_loss(np.zeros(4, dtype=np.int64), f)
    with pytest.raises(ValueError, match="weight"):
        cl.gan_generator_loss(f, weight=np.ones(3))


# ------------------------------------------------------------- penalties
# A small critic, the same weights in NumPy (reference), torch and jax:
#   D(x) = tanh(flat(x) @ W1 + b1) @ w2 + b2,   dD/dx = W1 @ (w2 * (1 - h^2))
SHAPE = (5, 2, 3)  # (N, ...): two non-batch axes, so the norm must run over both


def _params(seed=0, d=6, h=4):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(d, h)) * 0.6,
        "b1": rng.normal(size=(h,)) * 0.1,
        "w2": rng.normal(size=(h,)),
        "b2": np.array(0.3),
    }


def _np_critic_and_grad(p, x):
    n = x.shape[0]
    z = x.reshape(n, -1) @ p["W1"] + p["b1"]
    h = np.tanh(z)
    y = h @ p["w2"] + p["b2"]
    g = ((1 - h**2) * p["w2"]) @ p["W1"].T
    return y, g.reshape(x.shape)


def ref_gp(p, real, fake, eps, weight=10.0, target=1.0):
    eps = np.reshape(eps, (-1,) + (1,) * (real.ndim - 1)) if np.ndim(eps) else eps
    xh = eps * real + (1 - eps) * fake
    _, g = _np_critic_and_grad(p, xh)
    norm = np.sqrt(np.sum(g**2, axis=tuple(range(1, g.ndim))) + 1e-10)
    return weight * np.mean((norm - target) ** 2)


def ref_r1(p, real, weight=10.0):
    _, g = _np_critic_and_grad(p, real)
    return 0.5 * weight * np.mean(np.sum(g**2, axis=tuple(range(1, g.ndim))))


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=SHAPE), rng.normal(size=SHAPE) + 1.0, rng.uniform(size=(SHAPE[0],))


def _torch_gp(p, real, fake, eps, which="gp", **kw):
    """Penalty and its gradient w.r.t. the critic's parameters, in torch."""
    import torch

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}

    def critic(x):
        h = torch.tanh(x.reshape(x.shape[0], -1) @ tp["W1"] + tp["b1"])
        return h @ tp["w2"] + tp["b2"]

    if which == "gp":
        e = eps if isinstance(eps, float) else torch.from_numpy(np.asarray(eps))
        out = cl.gradient_penalty(
            critic, torch.from_numpy(real), torch.from_numpy(fake), epsilon=e, **kw
        )
    else:
        out = cl.r1_penalty(critic, torch.from_numpy(real), **kw)
    out.backward()
    # b2 does not move dD/dx: no gradient reaches it (None in torch, zeros in jax)
    return out.detach().numpy(), {
        k: np.zeros_like(p[k]) if v.grad is None else v.grad.numpy() for k, v in tp.items()
    }


def _jax_gp(p, real, fake, eps, which="gp", **kw):
    """The same in jax: jit(grad) over the critic's parameters."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def loss(jp, real, fake, eps):
        def critic(x):
            h = jnp.tanh(x.reshape(x.shape[0], -1) @ jp["W1"] + jp["b1"])
            return h @ jp["w2"] + jp["b2"]

        if which == "gp":
            return cl.gradient_penalty(critic, real, fake, epsilon=eps, **kw)
        return cl.r1_penalty(critic, real, **kw)

    jp = {k: jnp.asarray(v) for k, v in p.items()}
    e = eps if eps is None or isinstance(eps, float) else jnp.asarray(eps)
    val, g = jax.jit(jax.value_and_grad(loss))(jp, jnp.asarray(real), jnp.asarray(fake), e)
    return np.asarray(val), {k: np.asarray(v) for k, v in g.items()}


def _fd_params(fn, p):
    out = {}
    for k in p:

        def f(v, k=k):
            q = dict(p)
            q[k] = v
            return fn(q)

        out[k] = numeric_grad(f, p[k])
    return out


@pytest.mark.parametrize("eps_kind", ["vector", "scalar"])
def test_gradient_penalty_torch_jax_reference(eps_kind):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    p = _params()
    real, fake, eps = _data()
    if eps_kind == "scalar":
        eps = 0.3
    ref = ref_gp(p, real, fake, eps)
    vt, gt = _torch_gp(p, real, fake, eps)
    vj, gj = _jax_gp(p, real, fake, eps)
    assert_close(vt, ref)
    assert_close(vj, ref)
    fd = _fd_params(lambda q: ref_gp(q, real, fake, eps), p)
    for k in p:
        assert_close(gt[k], gj[k], err_msg=k)  # torch and jax agree
        assert_close(gt[k], fd[k], rtol=1e-5, atol=1e-7, err_msg=k)  # and are right


def test_gradient_penalty_weight_target():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    p = _params(2)
    real, fake, eps = _data(3)
    ref = ref_gp(p, real, fake, eps, weight=2.5, target=0.5)
    vt, _ = _torch_gp(p, real, fake, eps, weight=2.5, target=0.5)
    vj, _ = _jax_gp(p, real, fake, eps, weight=2.5, target=0.5)
    assert_close(vt, ref)
    assert_close(vj, ref)


def test_r1_penalty_torch_jax_reference():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    p = _params(4)
    real, _, _ = _data(5)
    ref = ref_r1(p, real, weight=3.0)
    vt, gt = _torch_gp(p, real, None, None, which="r1", weight=3.0)
    vj, gj = _jax_gp(p, real, real, None, which="r1", weight=3.0)
    assert_close(vt, ref)
    assert_close(vj, ref)
    fd = _fd_params(lambda q: ref_r1(q, real, weight=3.0), p)
    for k in p:
        assert_close(gt[k], gj[k], err_msg=k)
        assert_close(gt[k], fd[k], rtol=1e-5, atol=1e-7, err_msg=k)


def test_epsilon_shapes_agree(ad):
    import _backends  # noqa: F401

    p = _params()
    real, fake, eps = _data()
    fn = _torch_gp if ad.name == "torch" else _jax_gp
    v1, _ = fn(p, real, fake, eps)
    v2, _ = fn(p, real, fake, eps.reshape(-1, 1, 1))
    assert_close(v1, v2)
    # a 0-d array behaves like the scalar
    v3, _ = fn(p, real, fake, np.asarray(0.3))
    v4, _ = fn(p, real, fake, 0.3)
    assert_close(v3, v4)


def test_penalty_per_sample_norm_not_batch_norm():
    """Per-sample norms (TF-GAN), not torchgan's one norm over the whole batch."""
    torch = pytest.importorskip("torch")
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    x = torch.zeros(4, 2, dtype=torch.float64)
    gp = cl.gradient_penalty(lambda z: z @ w, x, x, epsilon=0.5, weight=1.0)
    # each sample's gradient is w (norm 5): (5 - 1)^2; a batch norm would give 10
    assert abs(gp.item() - (np.sqrt(25 + 1e-10) - 1) ** 2) < 1e-12


def test_penalty_flat_critic_is_finite(ad):
    """A critic constant in x: gradient 0, penalty weight * (sqrt(1e-10) - 1)^2, finite grads."""
    real, fake, eps = _data()
    if ad.name == "torch":
        import torch

        c = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)

        def critic(x):
            return c * 0 * x.reshape(x.shape[0], -1).sum(1) + c

        out = cl.gradient_penalty(
            critic, torch.from_numpy(real), torch.from_numpy(fake), epsilon=torch.from_numpy(eps)
        )
        val = out.item()
    else:
        import jax
        import jax.numpy as jnp

        def f(c):
            def critic(x):
                return c * 0 * jnp.sum(x.reshape(x.shape[0], -1), axis=1) + c

            return cl.gradient_penalty(
                critic, jnp.asarray(real), jnp.asarray(fake), epsilon=jnp.asarray(eps)
            )

        val = float(f(2.0))
        assert np.isfinite(float(jax.grad(f)(2.0)))
    assert_close(val, 10.0 * (np.sqrt(1e-10) - 1) ** 2)


def test_penalty_torch_module_backward_and_no_grad():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    fake_g = fake.clone().requires_grad_(True)  # as if from a generator
    gp = cl.gradient_penalty(critic, real, fake_g.detach(), epsilon=torch.rand(6, 1))
    r1 = cl.r1_penalty(critic, real)
    (gp + r1).backward()
    # every parameter that moves dD/dx gets a finite gradient (the last bias does not)
    for p in (critic[0].weight, critic[0].bias, critic[2].weight):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert critic[2].bias.grad is None
    assert gp.dtype == torch.float32
    with torch.no_grad():  # still computes (the gradient needs autograd internally)
        v = cl.r1_penalty(critic, real)
    assert_close(v.detach().numpy(), r1.detach().numpy(), dtype="float32")


def test_penalty_half_precision_gives_float32():
    torch = pytest.importorskip("torch")
    w = torch.tensor([3.0, 4.0], dtype=torch.bfloat16)
    x = torch.zeros(3, 2, dtype=torch.bfloat16)
    gp = cl.gradient_penalty(lambda z: z @ w, x, x, epsilon=0.5, weight=1.0)
    assert gp.dtype == torch.float32
    assert abs(gp.item() - 16.0) < 1e-3


@pytest.mark.parametrize("bad_shape", ["pair", "scalar", "batchless"])
def test_critic_wrong_shape(ad, bad_shape):
    real, fake, eps = _data()
    real, fake = ad.asarray(real), ad.asarray(fake)
    xp = ad.xp

    def critic(x):
        s = xp.sum(xp.reshape(x, (x.shape[0], -1)), axis=1)
        if bad_shape == "pair":
            return xp.stack([s, s], axis=1)  # (N, 2)
        if bad_shape == "scalar":
            return xp.sum(s)  # ()
        return s[:2]  # (2,)

    with pytest.raises(ValueError, match=r"critic.*one value per sample.*\(5,\)"):
        cl.gradient_penalty(critic, real, fake, epsilon=0.5)
    with pytest.raises(ValueError, match="critic"):
        cl.r1_penalty(critic, real)


def test_critic_column_output_accepted(ad):
    real, fake, eps = _data()
    xp = ad.xp

    def critic(x):
        return 2.0 * xp.sum(xp.reshape(x, (x.shape[0], -1)), axis=1, keepdims=True)  # (N, 1)

    out = cl.gradient_penalty(critic, ad.asarray(real), ad.asarray(fake), epsilon=0.5)
    # gradient 2 everywhere over 6 entries: norm 2 sqrt(6)
    assert_close(ad.to_numpy(out), 10 * (np.sqrt(24 + 1e-10) - 1) ** 2)


def test_penalty_bad_input(ad):
    real, fake, eps = _data()
    r, f = ad.asarray(real), ad.asarray(fake)

    def critic(x):
        return ad.xp.sum(ad.xp.reshape(x, (x.shape[0], -1)), axis=1)

    with pytest.raises(ValueError, match=r"epsilon.*\(5,\).*\(3,\)"):
        cl.gradient_penalty(critic, r, f, epsilon=ad.asarray(np.ones(3)))
    with pytest.raises(ValueError, match="epsilon"):
        cl.gradient_penalty(critic, r, f, epsilon=1.5)
    with pytest.raises(ValueError, match="fake"):
        cl.gradient_penalty(critic, r, ad.asarray(fake[:2]), epsilon=0.5)
    with pytest.raises(ValueError, match="weight"):
        cl.gradient_penalty(critic, r, f, epsilon=0.5, weight=-1.0)
    with pytest.raises(TypeError, match="critic"):
        cl.r1_penalty("not callable", r)
    with pytest.raises(TypeError, match="real"):
        cl.r1_penalty(critic, ad.asarray(np.ones((3, 2), dtype=np.int64)))


@pytest.mark.parametrize("name", ["numpy", "array_api_strict", "dask"])
def test_penalties_need_autodiff(name):
    import _backends

    if name not in _backends.selected():
        pytest.skip(f"{name} not selected")
    tb = _backends.get(name)
    real, fake, _ = _data()
    r, f = tb.asarray(real), tb.asarray(fake)

    def critic(x):
        return x[:, 0, 0]

    with pytest.raises(TypeError, match="automatic differentiation"):
        cl.gradient_penalty(critic, r, f, epsilon=0.5)
    with pytest.raises(TypeError, match="automatic differentiation"):
        cl.r1_penalty(critic, r)


def test_penalty_catalog_entries():
    for name in ("gradient_penalty", "r1_penalty"):
        info = cl.get(name)
        assert info.family == "gan" and info.example is None
        assert set(info.backends) == {"torch", "jax"}
        assert info.extra.get("follows")
    for name in ("gan_discriminator_loss", "gan_generator_loss"):
        info = cl.get(name)
        assert info.family == "gan" and info.example is not None
    assert cl.get("gan_discriminator_loss").grad_argnums == (0, 1)
