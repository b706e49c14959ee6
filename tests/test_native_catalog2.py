"""Native torch kernels of nll_loss, kl_divergence, poisson_nll_loss,
gaussian_nll_loss and multiclass_hinge_loss(kind="weston_watkins"): the same value and gradient as the array-API definition
(``cl.native(False)``), also at edge values, in float32 and float64; bad input
still raises; ``torch.compile(fullgraph=True)`` has no graph break."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import compile_fullgraph

import corelosses as cl

torch = pytest.importorskip("torch")

from corelosses.adapters.torch import TorchBackend  # noqa: E402

DTYPES = [torch.float32, torch.float64]
REDUCTIONS = ["mean", "sum", "none"]
HOOKS = (
    "nll_native",
    "kl_div_native",
    "poisson_nll_native",
    "gaussian_nll_native",
    "multi_margin_native",
)


@pytest.fixture
def used(monkeypatch):
    """Names of the hooks that returned a result (the native path was taken)."""
    seen = []
    for name in HOOKS:
        orig = getattr(TorchBackend, name)

        def spy(self, *a, _orig=orig, _name=name, **k):
            out = _orig(self, *a, **k)
            if out is not None:
                seen.append(_name)
            return out

        monkeypatch.setattr(TorchBackend, name, spy)
    return seen


def _tol(dtype):
    return (
        {"rtol": 1e-5, "atol": 1e-6} if dtype is torch.float32 else {"rtol": 1e-11, "atol": 1e-13}
    )


def _both(fn, arrays, argnums):
    """``(value, grads)`` native and generic, as float64 NumPy arrays."""
    res = []
    for flag in (True, False):
        a = [
            t.detach().clone().requires_grad_(i in argnums) if t.is_floating_point() else t
            for i, t in enumerate(arrays)
        ]
        with cl.native(flag):
            v = fn(*a)
            gs = torch.autograd.grad(v.sum(), [a[i] for i in argnums], allow_unused=True)
        res.append(
            (
                v.detach().double().numpy(),
                [None if g is None else g.double().numpy() for g in gs],
            )
        )
    return res


def _same(fn, arrays, argnums, dtype):
    (v1, g1), (v0, g0) = _both(fn, arrays, argnums)
    kw = _tol(dtype)
    np.testing.assert_allclose(v1, v0, equal_nan=True, **kw)
    for a, b in zip(g1, g0):
        if a is None or b is None:
            assert a is None and b is None
            continue
        scale = max(1.0, float(np.nanmax(np.abs(b)))) if b.size else 1.0
        np.testing.assert_allclose(a / scale, b / scale, equal_nan=True, **kw)
    return v1


def _t(a, dtype):
    return torch.as_tensor(np.asarray(a), dtype=dtype)


def _log_softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


# ------------------------------------------------------------------ nll_loss
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("cw", [False, True])
@pytest.mark.parametrize("layout", ["rows", "axis1", "axis_last_3d", "vector"])
def test_nll_loss_native_equals_definition(used, dtype, reduction, cw, layout):
    rng = np.random.default_rng(0)
    if layout == "rows":
        x, t, axis = _log_softmax(rng.normal(size=(9, 5)) * 2), rng.integers(0, 5, (9,)), -1
    elif layout == "axis1":
        x, t, axis = _log_softmax(rng.normal(size=(3, 5, 4)), 1), rng.integers(0, 5, (3, 4)), 1
    elif layout == "axis_last_3d":
        x, t, axis = _log_softmax(rng.normal(size=(3, 4, 5))), rng.integers(0, 5, (3, 4)), -1
    else:
        x, t, axis = _log_softmax(rng.normal(size=(5,))), np.array(2), 0
    x.reshape(-1)[:2] = [-1e4, 0.0]
    kw = {"reduction": reduction, "axis": axis}
    if cw:
        kw["class_weight"] = _t(rng.uniform(0.2, 2.0, size=5), dtype)
    _same(lambda a: cl.nll_loss(a, _t(t, torch.int64), **kw), [_t(x, dtype)], (0,), dtype)
    assert used == ["nll_native"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_nll_loss_overflow_goes_to_the_definition(used, dtype, reduction):
    # rows of +-3e38: ATen's sum overflows (inf - inf), the definition's scaled one does not
    big = float(torch.finfo(dtype).max) * 0.9
    x = np.array([[big, 0.0], [-big, 0.0], [-big, 0.0], [big, 1.0]])
    t = _t([0, 0, 0, 0], torch.int64)
    v = _same(lambda a: cl.nll_loss(a, t, reduction=reduction), [_t(x, dtype)], (0,), dtype)
    assert np.isfinite(v).all() and used == []


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_nll_loss_rows_of_both_signs_go_to_the_definition(used, dtype, reduction):
    # not log-probabilities: +-1e30 rows cancel, and each summation order has its
    # own rounding; only rows of one sign are summed natively
    x = _t([[1e30, 0.0], [-1e30, 0.0], [-1.5, 0.0], [2.0, 1.0]], dtype)
    t = _t([0, 0, 0, 0], torch.int64)
    _same(lambda a: cl.nll_loss(a, t, reduction=reduction), [x], (0,), dtype)
    assert used == []


@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss_unreadable_mean_needs_no_check(used, dtype, monkeypatch):
    # where values cannot be read (torch.compile, GPU) the mean is sum(-x_t / N):
    # no partial sum overflows, as in the definition's scaled mean
    monkeypatch.setattr(TorchBackend, "concrete", lambda self, x: False)
    big = float(torch.finfo(dtype).max) * 0.9
    x = _t([[big, 0.0], [big, 0.0], [-big, 1.0], [big, 1.0], [0.5, -1.0]], dtype)
    t = _t([0, 0, 0, 0, 1], torch.int64)
    v = _same(lambda a: cl.nll_loss(a, t), [x], (0,), dtype)
    assert np.isfinite(v) and used == ["nll_native"]
    _same(lambda a: cl.nll_loss(a, t, reduction="sum"), [x], (0,), dtype)
    assert used == ["nll_native"]  # "sum": the definition


@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss_zero_class_weights_mean_is_zero(used, dtype):
    x = _t(_log_softmax(np.random.default_rng(1).normal(size=(4, 3))), dtype)
    cw = _t([0.0, 1.0, 1.0], dtype)
    t = _t([0, 0, 0, 0], torch.int64)  # every target weighs 0: PyTorch's mean is NaN
    v = _same(lambda a: cl.nll_loss(a, t, class_weight=cw), [x], (0,), dtype)
    assert v == 0.0 and used == []


def test_nll_loss_declines_what_aten_cannot_do(used):
    x = _t(_log_softmax(np.random.default_rng(2).normal(size=(4, 3))), torch.float64)
    t = _t([0, 1, 2, 1], torch.int64)
    cw = _t([1.0, 2.0, 3.0], torch.float64).requires_grad_(True)  # ATen has no d/dw
    (v1, g1), (v0, g0) = _both(lambda a, w: cl.nll_loss(a, t, class_weight=w), [x, cw], (0, 1))
    np.testing.assert_allclose(g1[1], g0[1])
    cl.nll_loss(x, t.to(torch.int32))  # int32 labels: the definition
    cl.nll_loss(x, t, ignore_index=1)
    assert used == []


# ------------------------------------------------------------- kl_divergence
def _kl_case(rng, shape, axis, log_target, zeros):
    x = _log_softmax(rng.normal(size=shape) * 1.5, axis)
    t = np.exp(_log_softmax(rng.normal(size=shape) * 1.5, axis))
    if zeros:
        t[rng.uniform(size=shape) < 0.3] = 0.0
    return x, (np.log(t) if log_target else t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_kl_divergence_native_equals_definition(used, dtype, reduction, log_target, axis):
    rng = np.random.default_rng(3)
    with np.errstate(divide="ignore"):
        # zero targets (log t = -inf: ATen's 0 * -inf is NaN, the definition's 0, see below)
        x, t = _kl_case(rng, (4, 5, 3), axis, log_target, zeros=not log_target)
    x.reshape(-1)[0] = -500.0
    if log_target:
        t.reshape(-1)[:2] = [-500.0, -1e4]  # exp(log t) underflows to 0
    kw = {"reduction": reduction, "axis": axis, "log_target": log_target}
    _same(lambda a: cl.kl_divergence(a, _t(t, dtype), **kw), [_t(x, dtype)], (0,), dtype)
    assert used == ["kl_div_native"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_divergence_edges_go_to_the_definition(used, dtype, reduction, log_target):
    # t = 0 with log p = -inf: 0 here, NaN in ATen (0 * -inf); t > 0 with
    # log p = -inf: +inf in both; rows of terms +-3e38: no overflow in the definition
    big = float(torch.finfo(dtype).max) * 0.5
    x = np.array([[-math.inf, 0.0, -1.0], [-1.0, -math.inf, -2.0], [big, -big, 0.0]])
    t = np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.8], [0.5, 0.0, 0.5]])
    t[1, 1] = 0.1  # row 1: +inf (p = 0 under target mass)
    t[1, 2] = 0.7
    with np.errstate(divide="ignore"):
        tt = np.log(t) if log_target else t
    kw = {"reduction": reduction, "log_target": log_target}
    for rows in ([0], [0, 2], [0, 1, 2]):
        v = _same(
            lambda a, rows=rows: cl.kl_divergence(a, _t(tt[rows], dtype), **kw),
            [_t(x[rows], dtype)],
            (0,),
            dtype,
        )
        assert not np.isnan(v).any()
    assert used == [] or reduction == "none"  # "none": the finite rows need no fallback


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_divergence_target_gradient(used, dtype):
    # d/dt at t = 0: 0 here, NaN through ATen's xlogy: the definition runs
    rng = np.random.default_rng(4)
    x, t = _kl_case(rng, (5, 4), -1, False, zeros=True)
    _same(lambda a, b: cl.kl_divergence(a, b), [_t(x, dtype), _t(t, dtype)], (0, 1), dtype)
    assert used == []


def test_kl_divergence_bad_input_still_raises(used):
    x = torch.log_softmax(torch.randn(3, 4, dtype=torch.float64), -1)
    with pytest.raises(ValueError, match="target"):
        cl.kl_divergence(x, torch.full((3, 4), 1.5, dtype=torch.float64))
    with pytest.raises(ValueError, match="target"):
        cl.kl_divergence(x, torch.full((3, 4), -0.5, dtype=torch.float64))
    with pytest.raises(ValueError):
        cl.kl_divergence(x, torch.full((3, 5), 0.2, dtype=torch.float64))
    with pytest.raises((ValueError, TypeError)):
        cl.kl_divergence(x, torch.full((3, 4), 0.25, dtype=torch.float64), axis=2)


# ------------------------------------------------------------------ poisson
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss_native_equals_definition(used, dtype, reduction, full):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 7))
    y = rng.poisson(2.0, size=(6, 7)).astype(float)
    y[0, :4] = [0.0, 1.0, 1.5, 1e6]
    x[1, :3] = [-80.0, 30.0, 0.0]
    argnums = (0,) if full else (0, 1)  # ATen's Stirling term has d/dy NaN at y = 0
    _same(
        lambda a, b: cl.poisson_nll_loss(a, b, full=full, reduction=reduction),
        [_t(x, dtype), _t(y, dtype)],
        argnums,
        dtype,
    )
    assert used == ["poisson_nll_native"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_nll_loss_declines(used, dtype):
    x, y = _t(np.ones((2, 3)), dtype), _t(np.array([[0.0, 1.0, 3.0]] * 2), dtype)
    _same(lambda a, b: cl.poisson_nll_loss(a, b, full=True), [x, y], (0, 1), dtype)
    _same(lambda a: cl.poisson_nll_loss(a, y, log_input=False), [x], (0,), dtype)
    assert used == []
    with pytest.raises(ValueError, match="input"):
        cl.poisson_nll_loss(-x, y, log_input=False)


# ----------------------------------------------------------------- gaussian
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_native_equals_definition(used, dtype, reduction, full):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(5, 6)) * 2, rng.normal(size=(5, 6)) * 2
    v = rng.uniform(0.1, 3.0, size=(5, 6))
    v[0, :4] = [0.0, 1e-9, 1e-6, 1e-3]  # at and below the clamp: d/dv passes unchanged
    x[1, 0] = 1e15
    _same(
        lambda a, b, s: cl.gaussian_nll_loss(a, b, s, full=full, eps=1e-6, reduction=reduction),
        [_t(x, dtype), _t(y, dtype), _t(v, dtype)],
        (0, 1, 2),
        dtype,
    )
    assert used == ["gaussian_nll_native"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_overflow_goes_to_the_definition(used, dtype, reduction):
    # (x - y)^2 overflows in F.gaussian_nll_loss; the half residual does not
    big = float(torch.finfo(dtype).max) ** 0.5 * 4
    x = _t([[big, 1.0], [0.0, -big]], dtype)
    y, v = _t([[-big, 0.0], [0.0, big]], dtype), _t([[1e10, 1.0], [1.0, 1e10]], dtype)
    val = _same(
        lambda a, b, s: cl.gaussian_nll_loss(a, b, s, reduction=reduction), [x, y, v], (0, 2), dtype
    )
    assert np.isfinite(val).all() and used == []


def test_gaussian_nll_loss_declines_and_raises(used):
    x, y = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    cl.gaussian_nll_loss(x, y, torch.ones(3, dtype=torch.float64))  # var of shape (3,)
    cl.gaussian_nll_loss(x, y, 0.5)
    assert used == []
    with pytest.raises(ValueError, match="var"):
        cl.gaussian_nll_loss(x, y, -torch.ones(3, 4, dtype=torch.float64))


# ----------------------------------------------------------- weston-watkins
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("cw", [False, True])
@pytest.mark.parametrize("axis", [-1, 1])
def test_weston_watkins_native_equals_definition(used, dtype, reduction, p, cw, axis):
    rng = np.random.default_rng(8)
    shape = (4, 5, 3) if axis == 1 else (7, 5)
    x = np.round(rng.normal(size=shape) * 2)  # integer scores: terms exactly at the hinge
    x.reshape(-1)[:3] = [-math.inf, 1e4, -1e4]
    t = rng.integers(0, 5, size=shape[:1] + shape[2:])
    t[0] = 3  # the extreme scores are off-target (x_y = -inf is an infinite loss)
    kw = {"kind": "weston_watkins", "p": p, "reduction": reduction, "axis": axis, "margin": 1.0}
    if cw:
        kw["class_weight"] = _t(rng.uniform(0.2, 2.0, size=5), dtype)
    fn = lambda a: cl.multiclass_hinge_loss(a, _t(t, torch.int64), **kw)  # noqa: E731
    v = _same(fn, [_t(x, dtype)], (0,), dtype)
    assert np.isfinite(v).all() and used == ["multi_margin_native"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_weston_watkins_overflow_and_bad_input(used, dtype):
    big = float(torch.finfo(dtype).max) * 0.5
    x = _t([[-big, big, big, 0.0], [0.0, 1.0, 2.0, 3.0]], dtype)
    t = _t([0, 1], torch.int64)
    kw = {"kind": "weston_watkins"}
    v = _same(lambda a: cl.multiclass_hinge_loss(a, t, **kw), [x], (0,), dtype)
    assert np.isfinite(v).all() and used == []  # ATen's row sum overflows: the definition
    with pytest.raises(ValueError, match="target"):
        cl.multiclass_hinge_loss(x, _t([0, 4], torch.int64), **kw)
    cl.multiclass_hinge_loss(x, t)  # crammer_singer: the definition
    assert used == []


# ------------------------------------------------------------------ compile
CASES = {
    "nll_loss": lambda x, y: cl.nll_loss(x, y),
    "nll_loss_none": lambda x, y: cl.nll_loss(x, y, reduction="none"),
    "kl_divergence": lambda x, y: cl.kl_divergence(x, y),
    "kl_divergence_none": lambda x, y: cl.kl_divergence(x, y, reduction="none"),
    "poisson_nll_loss": lambda x, y: cl.poisson_nll_loss(x, y),
    "gaussian_nll_loss": lambda x, y: cl.gaussian_nll_loss(x, y, y * 0 + 0.5),
    "weston_watkins": lambda x, y: cl.multiclass_hinge_loss(x, y, kind="weston_watkins"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compile_fullgraph_no_graph_break(name):
    rng = np.random.default_rng(7)
    x = torch.as_tensor(_log_softmax(rng.normal(size=(6, 5))))
    if name.startswith(("nll", "weston")):
        y = torch.as_tensor(rng.integers(0, 5, (6,)))
    elif name.startswith("kl"):
        y = torch.as_tensor(np.exp(_log_softmax(rng.normal(size=(6, 5)))))
    else:
        y = torch.as_tensor(rng.poisson(2.0, size=(6, 5)).astype(float))
    got = compile_fullgraph(CASES[name], x, y)
    np.testing.assert_allclose(got.numpy(), CASES[name](x, y).numpy(), rtol=1e-12)
