"""The masked and weighted fast paths (issue 15): same value and gradient as the definition.

Masked, weighted and ``ignore_value``/``ignore_index`` calls of the losses with
a native kernel run that kernel unreduced on the filled inputs, and skip the
second ``where`` where the loss is already 0 there (``reduce(at_fill=...)``);
the mean counts the mask without a float copy of it. These tests hold those
shortcuts to the contract: a NaN or inf under the mask reaches neither value
nor gradient, everything masked gives 0, and the value is the loss of the
entries that remain (computed on the compressed arrays, in float64 NumPy).
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import grad, run

import corelosses as cl
from corelosses import _core as c

BAD = np.array([np.nan, np.inf, -np.inf, 3e38])


def _pair(rng, n=40, binary=False):
    x = rng.normal(size=n) * 2
    y = (rng.uniform(size=n) > 0.6).astype(float) if binary else rng.normal(size=n) * 2
    return x, y


# name -> (loss, make(rng) -> (input, target, options), keys of the mask-like options)
def _regression(fn):
    def make(rng):
        x, y = _pair(rng)
        return x, y, {"weight": rng.uniform(0.5, 2.0, size=x.shape)}

    return fn, make


def _binary(fn):
    def make(rng):
        x, y = _pair(rng, binary=True)
        return x, y, {"weight": rng.uniform(0.5, 2.0, size=x.shape)}

    return fn, make


def _classes(rng):
    x = rng.normal(size=(12, 5)) * 2
    t = rng.integers(0, 5, size=12)
    return x, t, {"weight": rng.uniform(0.5, 2.0, size=12)}


CASES = {
    "mse_loss": _regression(cl.mse_loss),
    "l1_loss": _regression(cl.l1_loss),
    "huber_loss": _regression(cl.huber_loss),
    "smooth_l1_loss": _regression(cl.smooth_l1_loss),
    "quantile_loss": _regression(cl.quantile_loss),
    "msle_loss": (cl.msle_loss, lambda rng: (*(np.abs(a) for a in _pair(rng)), {})),
    "binary_cross_entropy": _binary(cl.binary_cross_entropy),
    "focal_loss": _binary(cl.focal_loss),
    "cross_entropy": (cl.cross_entropy, _classes),
}
VARIANTS = ("mask", "mask+weight", "weight", "ignore", "finite mask")


def _setup(name, variant, seed):
    """NumPy inputs with bad values under the mask; the options; the mask."""
    rng = np.random.default_rng(seed)
    fn, make = CASES[name]
    x, y, opts = make(rng)
    rows = x.shape[:1]
    m = rng.uniform(size=rows) < 0.6
    m[0], m[1] = True, False  # some of each
    kw = {}
    if "weight" in variant and "weight" in opts:
        kw["weight"] = opts["weight"].copy()
    if variant == "weight":
        m = np.ones(rows, bool)
    elif variant == "ignore":
        if name == "cross_entropy":
            y = np.where(m, y, -7)
            kw["ignore_index"] = -7
        elif name in ("binary_cross_entropy", "focal_loss"):
            kw["mask"] = m
        else:
            y = np.where(m, y, np.nan)
            kw["ignore_value"] = float("nan")
    else:
        kw["mask"] = m
    if not m.all() and variant != "finite mask":  # (finite: torch's CE needs no fill)
        hidden = ~m
        x = x.copy()
        x[hidden] = rng.choice(BAD, size=(int(hidden.sum()), *x.shape[1:]))
        if "weight" in kw:
            kw["weight"][hidden] = np.nan
    return fn, x, y, kw, m


def _compressed(fn, x, y, kw, m, reduction):
    """The loss of the entries that remain, float64 NumPy (no mask at all)."""
    k = {"reduction": reduction}
    if "weight" in kw:
        k["weight"] = kw["weight"][m]
    if not m.any():
        return 0.0
    return float(fn(x[m], y[m], **k))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_masked_value_is_the_remaining_entries_loss(xp, name, variant):
    fn, x, y, kw, m = _setup(name, variant, seed=len(name))
    for reduction in ("mean", "sum"):
        got = run(xp, fn, x, y, **kw, reduction=reduction)
        want = _compressed(fn, x, y, kw, m, reduction)
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=f"{name} {variant} {reduction}")
    none = run(xp, fn, x, y, **kw, reduction="none")
    assert np.all(none[~m] == 0), f"{name} {variant}: a masked entry is not exactly 0"
    assert np.all(np.isfinite(none[m]))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_and_generic_paths_agree(ad, name, variant):
    """Native (fast) and pure array-API paths: value and gradient, NaN/inf under the mask."""
    fn, x, y, kw, m = _setup(name, variant, seed=3 * len(name))
    for reduction in ("mean", "sum", "none"):
        k = {**kw, "reduction": reduction}
        fast = run(ad, fn, x, y, **k)
        g_fast = grad(ad, fn, x, y, **k)[0]
        with cl.native(False):
            slow = run(ad, fn, x, y, **k)
            g_slow = grad(ad, fn, x, y, **k)[0]
        what = f"{name} {variant} {reduction}"
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-300, err_msg=what)
        assert np.all(np.isfinite(g_fast)), what
        assert np.all(g_fast[~m] == 0), f"{what}: gradient under the mask"
        np.testing.assert_allclose(g_fast, g_slow, rtol=1e-10, atol=1e-14, err_msg=what)


@pytest.mark.parametrize("name", sorted(CASES))
def test_everything_masked_gives_zero(xp, name):
    fn, x, y, kw, _ = _setup(name, "mask+weight", seed=5)
    m = np.zeros(x.shape[:1], bool)
    kw = {**kw, "mask": m}
    x = np.full_like(x, np.nan)
    for reduction in ("mean", "sum"):
        assert float(run(xp, fn, x, y, **kw, reduction=reduction)) == 0.0
    if xp.name in ("torch", "jax"):
        g = grad(xp, fn, x, y, **kw)[0]
        assert np.all(g == 0)


def test_count_valid_scales_a_broadcast_mask(xp):
    """The mean's denominator counts a broadcast mask once per repeat, no float copy."""
    m = np.array([True, False, True, True, False, True])
    loss = np.arange(30.0).reshape(5, 6)
    got = run(xp, lambda v, k: cl.mse_loss(v, 0.0 * v, mask=k), np.sqrt(loss), m)
    np.testing.assert_allclose(got, loss[:, m].mean(), rtol=1e-12)
    valid = xp.asarray(m)
    be = cl.adapters.backend_of(valid)
    assert float(xp.to_numpy(c.count_valid(be, valid, (5, 6), be.xp.float64))) == 20.0


def test_torch_masked_calls_take_the_native_kernels(monkeypatch):
    """The fast paths are taken (a spy on the hooks): this fails if they silently fall back."""
    torch = pytest.importorskip("torch")
    from corelosses.adapters.torch import TorchBackend

    seen = []
    for hook in ("regression_native", "cross_entropy_native", "bce_with_logits"):
        orig = getattr(TorchBackend, hook)

        def spy(self, *a, _orig=orig, _hook=hook, **k):
            out = _orig(self, *a, **k)
            seen.append((_hook, a[-1] if _hook == "regression_native" else k, out is not None))
            return out

        monkeypatch.setattr(TorchBackend, hook, spy)
    x = torch.randn(20, requires_grad=True)
    y = torch.randn(20)
    m = torch.rand(20) < 0.5
    cl.huber_loss(x, y, mask=m).backward()
    assert ("regression_native", "none", True) in seen
    seen.clear()
    cl.binary_cross_entropy(x, (y > 0).double(), weight=torch.rand(20), mask=m)
    assert any(h == "bce_with_logits" and k.get("weight") is not None for h, k, _ in seen)
    seen.clear()
    xc = torch.randn(6, 4)
    cl.cross_entropy(xc, torch.tensor([0, 1, 2, 3, 0, 1]), mask=m[:6])
    assert any(h == "cross_entropy_native" and k.get("valid") is not None and ok
               for h, k, ok in seen)  # fmt: skip


def test_torch_bit_select_is_where_bit_for_bit():
    """The torch hook (a bitwise AND, vectorised) is ``where(valid, x, 0)`` exactly:
    NaN, inf and -0.0 kept where valid, +0.0 elsewhere; broadcasting, float64, gradients
    (twice) and torch.func transforms included."""
    torch = pytest.importorskip("torch")
    be = cl.adapters.backend_of(torch.zeros(1))
    g = torch.Generator().manual_seed(0)
    for dt in (torch.float32, torch.float64):
        x = torch.randn(7, 5, generator=g, dtype=dt)
        x[0, :4] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0], dtype=dt)
        x[1, :4] = x[0, :4]
        for m in (torch.rand(7, 5, generator=g) < 0.5, torch.rand(5, generator=g) < 0.5):
            m = m.clone()
            m.view(-1)[0] = True
            want = torch.where(m, x, 0.0)
            got = be.where_valid(m, x, 0.0)
            assert got.dtype == dt and got.shape == want.shape
            # bit for bit (NaN == NaN, -0.0 != +0.0)
            assert torch.equal(got.view(torch.int64 if dt == torch.float64 else torch.int32),
                               want.view(torch.int64 if dt == torch.float64 else torch.int32))  # fmt: skip
            xr = x.nan_to_num(0.0, 1.0, -1.0).requires_grad_(True)
            (gx,) = torch.autograd.grad((be.where_valid(m, xr) ** 3).sum(), xr, create_graph=True)
            (gw,) = torch.autograd.grad((torch.where(m, xr, 0.0) ** 3).sum(), xr, create_graph=True)
            assert torch.equal(gx, gw)
            (hx,) = torch.autograd.grad(gx.sum(), xr)
            (hw,) = torch.autograd.grad(gw.sum(), xr)
            assert torch.equal(hx, hw)
    # a 0-d array (a scalar weight) under a mask: where's broadcasting, not an int8 result
    w = torch.tensor(float("nan"), dtype=torch.float64)
    m = torch.rand(8) < 0.5
    assert torch.equal(be.where_valid(m, w).isnan(), m)
    assert torch.equal(be.where_valid(m, w).nan_to_num(), torch.zeros(8, dtype=torch.float64))
    x = torch.randn(4, 3, dtype=torch.float64)
    m = torch.rand(4, 3) < 0.5
    per = torch.func.vmap(torch.func.grad(lambda a, k: (be.where_valid(k, a) ** 2).sum()))(x, m)
    assert torch.equal(per, torch.where(m, 2 * x, 0.0))
