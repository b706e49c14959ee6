"""Reliability fixes across families (issue: reliability, cases 3, 6, 7, 8 and 10).

- ``box_iou_loss`` with a subnormal ``eps`` (XLA on CPU flushes subnormals to
  zero: zero-area boxes gave 0 / 0 = NaN on jax only);
- ``perceptual_loss`` / ``style_loss`` with an integer (``uint8``) target;
- ``gradient_penalty`` with an array ``epsilon`` outside [0, 1];
- ``gradient_penalty`` / ``r1_penalty`` under ``torch.compile(fullgraph=True)``;
- overflow to NaN at extreme finite inputs: ``sharpen``, the IoU-balanced
  losses and ``binary_penalty``.

References are float64 NumPy (or Python float, in log space) from the formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, run

import corelosses as cl

DTYPES = ["float32", "float64"]

# NumPy-backed namespaces warn on the overflows these extremes are about
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


def _finfo(dtype):
    return np.finfo(np.dtype(dtype))


# ------------------------------------------------- 3: box_iou_loss, tiny eps
def _point_boxes(dtype):
    """Zero-area boxes: points, a zero-width and a zero-height box, each with itself."""
    b = np.array(
        [[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 1.0, 2.0], [3.0, 1.0, 3.0, 4.0], [0.5, 2.0, 2.5, 2.0]],
        dtype=dtype,
    )
    return b, b.copy()


def _tiny_eps(dtype):
    fi = _finfo(dtype)
    # subnormal: 1e-38 in float32 (the reported value) and the dtype's smallest
    # subnormal; normal but with a subnormal square (jax's division gradient
    # squares the denominator): 1e-30 in float32, 1e-200 in float64
    return [
        float(fi.smallest_normal) / 10,
        float(fi.smallest_subnormal),
        1e-30 if dtype == "float32" else 1e-200,
    ]


def _eps_floor(dtype):
    """The documented floor of eps: sqrt(smallest normal), 2**-63 / 2**-511."""
    return 2.0**-63 if dtype == "float32" else 2.0**-511


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["iou", "giou", "diou", "ciou"])
def test_box_iou_subnormal_eps_zero_area_boxes(xp, dtype, mode):
    """Zero-area boxes with a tiny eps: loss 1 (IoU 0), finite gradients, jax too."""
    p, t = _point_boxes(dtype)
    for eps in _tiny_eps(dtype):
        out = run(xp, cl.box_iou_loss, p, t, mode=mode, eps=eps, reduction="none")
        # I = U = |C| = rho = 0, v = 0: every term but the leading 1 is 0
        np.testing.assert_array_equal(out, np.ones(4), err_msg=f"eps={eps}")
        if xp.autodiff:
            (g,) = grad(xp, cl.box_iou_loss, p, t, mode=mode, eps=eps)
            assert np.all(np.isfinite(g)), g


@pytest.mark.parametrize("dtype", DTYPES)
def test_box_iou_tiny_eps_is_raised_to_the_floor(xp, dtype):
    """An eps below sqrt(smallest normal) gives exactly what that floor gives (documented)."""
    assert _eps_floor(dtype) == math.sqrt(float(_finfo(dtype).smallest_normal))
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 5, size=(6, 2))
    p = np.concatenate([xy, xy + rng.uniform(0.5, 3, size=(6, 2))], axis=-1).astype(dtype)
    t = (p + rng.normal(scale=0.5, size=p.shape)).astype(dtype)
    t[..., 2:] = np.maximum(t[..., 2:], t[..., :2])
    p[0, 2:] = p[0, :2]  # one zero-area prediction among ordinary pairs
    # a tiny box with itself: union 1e-24 (float32) / 1e-200 (float64), where eps shows
    side = 1e-12 if dtype == "float32" else 1e-100
    p[1] = t[1] = [0.0, 0.0, side, side]
    for mode in ("iou", "giou", "diou", "ciou"):
        ref = run(xp, cl.box_iou_loss, p, t, mode=mode, eps=_eps_floor(dtype), reduction="none")
        assert np.all(np.isfinite(ref))
        assert ref[1] > 0.99  # IoU = side**2 / (side**2 + floor): the floor dominates
        for eps in _tiny_eps(dtype):
            out = run(xp, cl.box_iou_loss, p, t, mode=mode, eps=eps, reduction="none")
            np.testing.assert_array_equal(out, ref, err_msg=f"{mode} eps={eps}")


# ------------------------------------------- 6: perceptual/style uint8 target
def _features_recording(seen):
    def features(a):
        seen.append(a.dtype)
        return [a * 0.01, (a[..., ::2] * 0.01) ** 2]

    return features


def _ref_layers(a):
    return [a * 0.01, (a[..., ::2] * 0.01) ** 2]


def _ref_gram(f):
    n, ch = f.shape[:2]
    f = f.reshape(n, ch, -1)
    return f @ np.swapaxes(f, 1, 2) / (ch * f.shape[-1])


def _ref_compare(x, y, gram):
    total = 0.0
    for a, b in zip(_ref_layers(x), _ref_layers(y), strict=True):
        if gram:
            a, b = _ref_gram(a), _ref_gram(b)
        d = (a - b) ** 2
        total = total + d.reshape(d.shape[0], -1).mean(axis=1)
    return total.mean()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["perceptual_loss", "style_loss"])
def test_perceptual_integer_target_is_cast(xp, name, dtype):
    """A uint8 (or bool) target is cast to the input's dtype, also for ``features``."""
    fn = getattr(cl, name)
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 255, size=(2, 3, 4, 4)).astype(dtype)
    y8 = rng.integers(0, 256, size=x.shape, dtype=np.uint8)
    seen = []
    out = run(xp, fn, x, y8, features=_features_recording(seen))
    ref = _ref_compare(x.astype(np.float64), y8.astype(np.float64), gram=name == "style_loss")
    assert_close(out, ref, dtype=dtype, rtol=1e-4 if dtype == "float32" else None)
    assert out.dtype == np.dtype(dtype)
    want = xp.asarray(x).dtype
    assert seen and all(d == want for d in seen), (seen, want)  # features saw the cast target
    # the same as the float target of the same values
    same = run(xp, fn, x, y8.astype(dtype), features=_features_recording([]))
    assert_close(out, same, dtype=dtype)
    # boolean targets too
    yb = y8 > 127
    out_b = run(xp, fn, x, yb, features=_features_recording([]))
    same_b = run(xp, fn, x, yb.astype(dtype), features=_features_recording([]))
    assert_close(out_b, same_b, dtype=dtype)
    if xp.autodiff:
        (g,) = grad(xp, fn, x, y8, features=_features_recording([]))
        (g_ref,) = grad(xp, fn, x, y8.astype(dtype), features=_features_recording([]))
        assert np.all(np.isfinite(g))
        assert_close(g, g_ref, dtype=dtype)


@pytest.mark.parametrize("name", ["perceptual_loss", "style_loss"])
def test_perceptual_complex_target_rejected(name):
    x = np.zeros((2, 1, 2, 2))
    with pytest.raises(TypeError, match="'target'.*complex"):
        getattr(cl, name)(x, x.astype(np.complex128), features=lambda a: [a])


# ------------------------------------ 7: gradient_penalty array epsilon range
def _gp_inputs(ad, n=4):
    rng = np.random.default_rng(7)
    real, fake = ad.asarray(rng.normal(size=(n, 3))), ad.asarray(rng.normal(size=(n, 3)))
    w = ad.asarray(np.array([3.0, 4.0, 0.0]))

    def critic(z):
        return z @ w

    return critic, real, fake


BAD_EPSILONS = {
    "above": np.array([0.2, 1.5, 0.3, 0.4]),
    "below": np.array([0.2, 0.5, -0.1, 0.4]),
    "nan": np.array([0.2, np.nan, 0.3, 0.4]),
    "column": np.array([0.2, 0.5, 0.3, 2.0]).reshape(4, 1),
    "scalar_array": np.array([1.5]),  # made 0-d below
}


@pytest.mark.parametrize("case", list(BAD_EPSILONS))
def test_gradient_penalty_array_epsilon_outside_unit_interval(ad, case):
    """Rejected like the scalar wherever the array's values are readable (eager CPU torch)."""
    critic, real, fake = _gp_inputs(ad)
    eps = ad.asarray(BAD_EPSILONS[case])
    if case == "scalar_array":
        eps = eps[0]
        assert eps.shape == ()
    be = cl.backend_of(eps)
    if ad.name == "torch":
        assert be.concrete(eps)  # eager CPU torch: the check must run
    if be.concrete(eps):
        with pytest.raises(ValueError, match="'epsilon'.*\\[0, 1\\]"):
            cl.gradient_penalty(critic, real, fake, epsilon=eps)
    else:  # documented: values used as given where they cannot be read
        try:
            cl.gradient_penalty(critic, real, fake, epsilon=eps)
        except ValueError as e:
            assert "epsilon" in str(e)
    if ad.name == "jax":  # under jit the values are never readable: no error, a value
        import jax

        jax.jit(lambda e: cl.gradient_penalty(critic, real, fake, epsilon=e))(eps)


def test_gradient_penalty_epsilon_edges_accepted(ad):
    critic, real, fake = _gp_inputs(ad)
    eps = ad.asarray(np.array([0.0, 1.0, 0.5, 1.0]))
    # the critic's gradient is (3, 4, 0) everywhere: norm 5
    out = cl.gradient_penalty(critic, real, fake, epsilon=eps, weight=1.0)
    assert_close(ad.to_numpy(out), (np.sqrt(25 + 1e-10) - 1) ** 2)


def test_gradient_penalty_epsilon_check_on_torch_grad_tensor():
    torch = pytest.importorskip("torch")
    w = torch.tensor([3.0, 4.0])
    eps = torch.tensor([0.5, 1.2], requires_grad=True)
    with pytest.raises(ValueError, match="epsilon"):
        cl.gradient_penalty(lambda z: z @ w, torch.zeros(2, 2), torch.ones(2, 2), epsilon=eps)


# --------------------------- 8: gradient penalties under torch.compile fullgraph
def _torch_critic(torch, norm=None):
    torch.manual_seed(0)
    layers = [torch.nn.Flatten(), torch.nn.Linear(6, 8)]
    if norm is not None:
        layers.append(norm(8))
    layers += [torch.nn.Tanh(), torch.nn.Linear(8, 1)]
    return torch.nn.Sequential(*layers).double()


def _penalty_fn(critic, which):
    if which == "gp":
        return lambda r, f, e: cl.gradient_penalty(critic, r, f, epsilon=e, weight=3.0)
    return lambda r, f, e: cl.r1_penalty(critic, r + 0.0 * f, weight=3.0)


def _value_and_grads(torch, critic, fn, args, compiled):
    critic.zero_grad()
    real, fake, eps = args
    fake = fake.detach().clone().requires_grad_(True)  # as if from a generator
    out = compile_fullgraph(fn, real, fake, eps) if compiled else fn(real, fake, eps)
    out.backward()
    grads = [
        np.zeros(tuple(p.shape)) if p.grad is None else p.grad.detach().numpy().copy()
        for p in critic.parameters()
    ]
    return out.detach().numpy(), grads, fake.grad.detach().numpy().copy()


@pytest.mark.parametrize("eps_kind", ["vector", "scalar"])
@pytest.mark.parametrize("which", ["gp", "r1"])
def test_penalties_torch_compile_fullgraph(which, eps_kind):
    """No graph break; value, parameter and input gradients equal eager's (create_graph)."""
    torch = pytest.importorskip("torch")
    critic = _torch_critic(torch)
    rng = np.random.default_rng(8)
    real = torch.from_numpy(rng.normal(size=(5, 2, 3)))
    fake = torch.from_numpy(rng.normal(size=(5, 2, 3)) + 1.0)
    eps = torch.from_numpy(rng.uniform(size=(5,))) if eps_kind == "vector" else 0.3
    fn = _penalty_fn(critic, which)
    v0, g0, f0 = _value_and_grads(torch, critic, fn, (real, fake, eps), compiled=False)
    v1, g1, f1 = _value_and_grads(torch, critic, fn, (real, fake, eps), compiled=True)
    assert_close(v1, v0)
    assert any(np.abs(g).sum() > 0 for g in g0)  # the penalty trains the critic
    for a, b in zip(g1, g0, strict=True):
        assert_close(a, b)
    assert_close(f1, f0)


@pytest.mark.parametrize("which", ["gp", "r1"])
def test_penalties_torch_compile_aot_autograd_and_no_grad(which):
    """Through AOTAutograd (the default backend's front end) and inside ``no_grad``."""
    torch = pytest.importorskip("torch")
    critic = _torch_critic(torch)
    rng = np.random.default_rng(9)
    real = torch.from_numpy(rng.normal(size=(4, 2, 3)))
    fake = torch.from_numpy(rng.normal(size=(4, 2, 3)))
    eps = torch.from_numpy(rng.uniform(size=(4, 1, 1)))
    fn = _penalty_fn(critic, which)
    v0, g0, _ = _value_and_grads(torch, critic, fn, (real, fake, eps), compiled=False)
    torch._dynamo.reset()
    compiled = torch.compile(fn, fullgraph=True, backend="aot_eager")
    critic.zero_grad()
    out = compiled(real, fake, eps)
    out.backward()
    assert_close(out.detach().numpy(), v0)
    for p, g in zip(critic.parameters(), g0, strict=True):
        assert_close(np.zeros(tuple(p.shape)) if p.grad is None else p.grad.numpy(), g)
    torch._dynamo.reset()
    with torch.no_grad():
        v = compile_fullgraph(fn, real, fake, eps)
    assert_close(v.numpy(), v0)


def test_penalties_torch_compile_buffer_mutating_critic_limitation():
    """Documented limit: torch.func rejects a critic updating buffers in place
    (BatchNorm in training mode) under torch.compile; eager torch works."""
    torch = pytest.importorskip("torch")
    critic = _torch_critic(torch, norm=torch.nn.BatchNorm1d)
    real = torch.from_numpy(np.random.default_rng(10).normal(size=(5, 2, 3)))
    out = cl.r1_penalty(critic, real)  # eager: autograd.grad, no limit
    assert torch.isfinite(out)
    torch._dynamo.reset()
    compiled = torch.compile(lambda r: cl.r1_penalty(critic, r), fullgraph=True, backend="eager")
    with pytest.raises(Exception, match="mutate a captured Tensor"):
        compiled(real)
    torch._dynamo.reset()


# ------------------------------------------------ 10: overflow at extremes
def _sharpen_case(dtype):
    big = float(_finfo(dtype).max) * 0.9  # 3e38 in float32, 1.6e308 in float64
    x = np.array([[big, 1.0], [big, big], [-big, big], [big, -big], [1.0, 0.0]], dtype=dtype)
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("temperature", [0.5, 0.1])
def test_sharpen_huge_logits(xp, dtype, temperature):
    """softmax(x / T) at finite logits near the dtype's max: [1, 0], not NaN."""
    x = _sharpen_case(dtype)
    out = run(xp, cl.sharpen, x, temperature=temperature)
    e = np.exp(np.array([1.0, 0.0]) / temperature)
    ref = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [1.0, 0.0], list(e / e.sum())])
    assert_close(out, ref, dtype=dtype)
    if xp.autodiff:
        wv = np.array([[0.3, -1.2]] * 5, dtype=dtype)
        w = xp.asarray(wv)

        def weighted(z):
            return cl.sharpen(z, temperature=temperature) * w

        (g,) = grad(xp, weighted, x)
        # d/dx_j sum_i w_i s_i = s_j (w_j - sum_i w_i s_i) / T
        ref_g = ref * (wv - np.sum(wv * ref, axis=-1, keepdims=True)) / temperature
        assert np.all(np.isfinite(g))
        assert_close(g, ref_g, dtype=dtype)


def _huge(dtype):
    return -float(_finfo(dtype).max) * 0.55  # two of them overflow a sum


def _ref_balance(loss, iou_pow, pos):
    """Weights iou_pow * S / W over ``pos`` (S, W summed in units of the largest loss)."""
    b = np.where(pos, loss, 0.0)
    b = b / np.max(b)  # NumPy divides exactly (no subnormal reciprocal)
    s, w = b.sum(), (iou_pow * b).sum()
    return np.where(pos, iou_pow * s / w, 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_iou_balanced_smooth_l1_huge_inputs(xp, dtype):
    h = _huge(dtype)
    pred = np.array([[h, 0.5], [h, 2.0], [0.2, -3.0]], dtype=dtype)
    target = np.zeros_like(pred)
    iou = np.array([[0.9], [0.4], [0.7]], dtype=dtype)
    lam, beta = 1.5, 1.0
    p64 = pred.astype(np.float64)
    a = np.abs(p64)
    sl1 = np.where(a < beta, 0.5 * a**2 / beta, a - 0.5 * beta)
    ipow = np.broadcast_to(iou.astype(np.float64) ** lam, pred.shape)
    w = _ref_balance(sl1, ipow, np.ones(pred.shape, bool))
    out = run(xp, cl.iou_balanced_smooth_l1, pred, target, iou, lam=lam, reduction="none")
    assert np.all(np.isfinite(out))
    assert_close(out, sl1 * w, dtype=dtype)
    for red in ("sum", "mean"):  # the total exceeds the dtype's max: inf, never NaN
        tot = run(xp, cl.iou_balanced_smooth_l1, pred, target, iou, lam=lam, reduction=red)
        assert not np.isnan(tot) and tot > 0
    if xp.autodiff:
        for red, n in (("sum", 1), ("mean", pred.size)):
            (g,) = grad(xp, cl.iou_balanced_smooth_l1, pred, target, iou, lam=lam, reduction=red)
            ref_g = w * np.where(a < beta, p64 / beta, np.sign(p64)) / n
            assert np.all(np.isfinite(g))
            assert_close(g, ref_g, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_iou_balanced_bce_huge_inputs(xp, dtype):
    h = _huge(dtype)
    x = np.array([[h, 0.5, -2.0], [h, 1.0, h], [0.3, -0.4, 2.0]], dtype=dtype)
    y = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0]], dtype=dtype)
    iou = np.array([[0.9], [0.4], [0.6]], dtype=dtype)
    eta = 1.5
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    ce = np.logaddexp(0.0, x64) - y64 * x64  # softplus(x) - y x: 1e308-ish at h, y = 1
    ce = np.where((x64 == h) & (y64 == 1), -x64, ce)  # softplus(-x) exactly there
    ipow = np.broadcast_to(iou.astype(np.float64) ** eta, x.shape)
    w = _ref_balance(ce, ipow, y64 > 0)
    out = run(xp, cl.iou_balanced_bce, x, y, iou, eta=eta, reduction="none")
    # a negative at h: softplus(h) = 0, so every entry is finite
    assert np.all(np.isfinite(out))
    assert_close(out, ce * w, dtype=dtype)
    for red in ("sum", "mean"):
        tot = run(xp, cl.iou_balanced_bce, x, y, iou, eta=eta, reduction=red)
        assert not np.isnan(tot) and tot > 0
    if xp.autodiff:
        (g,) = grad(xp, cl.iou_balanced_bce, x, y, iou, eta=eta, reduction="sum")
        sig = 0.5 * (1 + np.tanh(0.5 * x64))
        assert np.all(np.isfinite(g))
        assert_close(g, w * (sig - y64), dtype=dtype)


# binary_penalty: (|x (1 - x)| ** power) ** alpha, e = power * alpha
BP_OPTIONS = [(2.0, 1.0), (1.0, 1.0), (3.0, 1.0), (1.0, 0.5), (0.5, 0.5), (2.0, 0.3)]
BP_OPTIONS += [(2.0, 0.6), (1.0, 1.1), (1.5, 1.3), (1.25, 1.0)]
BP_X = {
    # |x| >= 1e30 (the report), and the bands where the value overflows but
    # the gradient does not (1e7, 1e10, 3e12, 2e15, 1e20), plus ordinary points
    "float32": [1e30, -1e30, 3e38, -3e38, 1e20, -1e20, 2e15, 3e12, 1e10, 1e7, 2.0, -0.5, 0.3],
    "float64": [1e200, -1e200, 1.7e308, -1.7e308, 1e160, 1e100, 1e80, 1e77, 1e30, 2.0, -0.5, 0.3],
}


def _ref_binary_penalty(x, e, dtype):
    """True value and gradient in log space, as the dtype would hold them (inf past max)."""
    big = math.log(float(_finfo(dtype).max))
    x = float(x)
    lv = math.log(abs(x)) + math.log(abs(1.0 - x))  # log |x (1 - x)|
    val = math.inf if e * lv > big else math.exp(e * lv)
    # d/dx |v|^e = e |v|^(e - 1) sign(v) (1 - 2x), |1 - 2x| = 2 |x - 1/2|
    sign = math.copysign(1.0, x * (1.0 - x)) * math.copysign(1.0, 0.5 - x)
    lg = math.log(e) + (e - 1.0) * lv + math.log(2.0) + math.log(abs(x - 0.5))
    return val, math.copysign(math.inf if lg > big else math.exp(lg), sign)


def _assert_matches_ref(actual, ref, rtol, what):
    for a, (x, r) in zip(actual, ref, strict=True):
        if math.isinf(r):
            assert a == r, f"{what} at x={x}: {a}, want {r}"
        else:
            assert math.isfinite(a) and abs(a - r) <= rtol * abs(r), (
                f"{what} at x={x}: {a}, want {r}"
            )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("power", "alpha"), BP_OPTIONS)
def test_binary_penalty_huge_inputs(xp, dtype, power, alpha):
    """inf where the true value/gradient is infinite, finite (and right) where not; no NaN."""
    x = np.array(BP_X[dtype], dtype=dtype)
    e = power * alpha
    refs = [_ref_binary_penalty(v, e, dtype) for v in x]
    rtol = 1e-4 if dtype == "float32" else 1e-9
    out = run(xp, cl.binary_penalty, x, power=power, alpha=alpha, reduction="none")
    _assert_matches_ref(out.tolist(), [(v, r[0]) for v, r in zip(x, refs)], rtol, "value")
    if xp.autodiff:
        (g,) = grad(xp, cl.binary_penalty, x, power=power, alpha=alpha, reduction="none")
        _assert_matches_ref(g.tolist(), [(v, r[1]) for v, r in zip(x, refs)], rtol, "gradient")


def test_symmetrize_near_the_float_maximum(xp):
    """(x + x^T) / 2 overflowed to inf for entries past half of float32's maximum."""
    x = np.array([[3e38, -3e38], [-2e38, 1.0]], dtype=np.float32)
    out = run(xp, cl.symmetrize, x)
    ref = (x.astype(np.float64) + x.T.astype(np.float64)) / 2
    assert np.all(np.isfinite(out)), out
    np.testing.assert_allclose(out, ref, rtol=1e-6)


@pytest.mark.parametrize("red", ["none", "sum", "mean"])
def test_iou_balanced_losses_past_the_float_maximum_give_inf_not_nan(xp, red):
    """A loss past float32's max (|x - y| = 6e38) made the renormalising sums inf / inf."""
    x = np.array([[3e38, 1.0], [0.5, 2.0]], dtype=np.float32)
    y = np.array([[-3e38, 0.0], [0.0, 1.0]], dtype=np.float32)
    iou = np.array([[0.9], [0.5]], dtype=np.float32)
    out = run(xp, cl.iou_balanced_smooth_l1, x, y, iou, reduction=red)
    assert not np.any(np.isnan(out)), out
    assert np.any(np.isinf(out)), out
    logits = np.array([[-3e38, 1.0], [0.5, 2.0]], dtype=np.float32)
    labels = np.array([[1.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    out = run(xp, cl.iou_balanced_bce, logits, labels, iou, reduction=red)
    assert not np.any(np.isnan(out)), out


def test_iou_balanced_bce_factor_overflow_gives_no_nan(xp):
    """total / weighted past float32's max (huge negatives' losses, tiny positive ones)
    made weights inf, and inf * 0 NaN at IoU 0 (found by tests/test_adversarial.py)."""
    x = np.array([[-1e30, 88.0], [3e38, 89.0]], dtype=np.float32)
    y = np.array([[1.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    iou = np.array([[0.0], [1.0]], dtype=np.float32)
    for red in ("none", "sum", "mean"):
        out = run(xp, cl.iou_balanced_bce, x, y, iou, reduction=red)
        assert not np.any(np.isnan(out)), (red, out)
