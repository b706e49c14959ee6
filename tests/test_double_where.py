"""The double-``where`` rule (issue 8, part 5).

``where(c, f(x), g(x))`` differentiates both branches: a NaN or inf in the
branch it did not select leaks into the gradient as ``0 * nan``. Every loss
must sanitize the inputs of the unselected branch first. Tested with NaN and
inf under masks (input, target and weight), under ``ignore_index`` and
``ignore_value``, ``log(0)`` at probabilities of 0 and 1, Huber's branches, and
the focal modulating factor at ``1 - p_t = 0`` (``gamma < 1`` included).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _reliability import (
    IDS,
    LOSSES,
    call,
    call_native,
    class_axis,
    example,
    grad_native,
    has,
    input_mask,
    is_arr,
    loss_none,
    without,
)

import corelosses as cl


def _values_and_grads(xp, info, args, kw, argnums=None):
    """Value (every backend) and gradients (torch, jax), both as NumPy."""
    if xp.name not in info.backends:
        pytest.skip(f"{info.name} does not support {xp.name}")
    val = call(xp, info.fn, *args, **kw)
    argnums = info.grad_argnums if argnums is None else argnums
    if not xp.autodiff or not argnums:
        return val, None
    a = [xp.asarray(v) if is_arr(v) else v for v in args]
    k = {n: xp.asarray(v) if is_arr(v) else v for n, v in kw.items()}
    return val, grad_native(xp, info.fn, *a, argnums=argnums, **k)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_bad_values_under_mask(xp, info, bad):
    """NaN/inf in the input where masked: finite value, zero gradient there."""
    if not has(info, "mask"):
        pytest.skip("no mask argument")
    args, kw = example(info)
    kw = without(kw, "mask", "reduction")
    shape = loss_none(info, args, kw).shape
    m = np.ones(shape, dtype=bool)
    m.reshape(-1)[::3] = False
    mx = input_mask(info, args, kw, m)
    if mx is None:
        pytest.skip("mask does not align with the input")
    x = np.array(args[0])
    x[~mx] = float(bad)
    for red in ("mean", "sum", "none"):
        val, gs = _values_and_grads(xp, info, (x, *args[1:]), {**kw, "mask": m, "reduction": red})
        assert np.all(np.isfinite(val)), red
    if gs is not None:
        g = gs[0]
        assert np.all(np.isfinite(g))
        assert np.all(g[~mx] == 0)


@pytest.mark.parametrize("where", ["target", "weight"])
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_nan_target_or_weight_under_mask(xp, info, where):
    if not has(info, "mask"):
        pytest.skip("no mask argument")
    args, kw = example(info)
    kw = without(kw, "mask", "reduction")
    shape = loss_none(info, args, kw).shape
    m = np.ones(shape, dtype=bool)
    m.reshape(-1)[1::3] = False
    if where == "target":
        if len(args) < 2 or not is_arr(args[1]) or args[1].dtype.kind != "f":
            pytest.skip("no float target")
        mt = m if args[1].shape == shape else input_mask(info, args, kw, m)
        if mt is None or mt.shape != args[1].shape:
            pytest.skip("mask does not align with the target")
        t = np.array(args[1])
        t[~mt] = np.nan
        args = (args[0], t, *args[2:])
    else:
        if not has(info, "weight"):
            pytest.skip("no weight argument")
        w = np.ones(shape)
        w[~m] = np.nan
        kw["weight"] = w
    val, gs = _values_and_grads(xp, info, args, {**kw, "mask": m})
    assert np.isfinite(val)
    if gs is not None:
        assert all(np.all(np.isfinite(g)) for g in gs)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_nan_input_at_ignore_index(xp, info):
    if not has(info, "ignore_index"):
        pytest.skip("no ignore_index")
    args, kw = example(info)
    name, ax = class_axis(info, args, kw)
    t = np.array(args[1])
    if name is None or t.dtype.kind not in "iu":
        pytest.skip("no class-index target")
    ign = kw.get("ignore_index")
    if ign is None:
        ign = kw["ignore_index"] = -100
    t.reshape(-1)[::2] = ign
    x = np.array(args[0])
    mx = input_mask(info, args, kw, t == ign)
    x[mx] = np.nan
    val, gs = _values_and_grads(xp, info, (x, t, *args[2:]), kw)
    assert np.isfinite(val)
    if gs is not None:
        assert np.all(np.isfinite(gs[0])) and np.all(gs[0][mx] == 0)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_nan_at_ignore_value(xp, info):
    if not has(info, "ignore_value"):
        pytest.skip("no ignore_value")
    args, kw = example(info)
    x, t = np.array(args[0]), np.array(args[1])
    t.reshape(-1)[::3] = np.nan
    x.reshape(-1)[::3] = np.nan
    kw["ignore_value"] = math.nan
    val, gs = _values_and_grads(xp, info, (x, t, *args[2:]), kw)
    assert np.isfinite(val)
    if gs is not None:
        g = gs[0].reshape(-1)
        assert np.all(np.isfinite(g)) and np.all(g[::3] == 0)


# ------------------------------------------------------------- foundation
def _grad(ad, fn, x, *rest, **kw):
    a = [ad.asarray(x), *[ad.asarray(r) if is_arr(r) else r for r in rest]]
    k = {n: ad.asarray(v) if is_arr(v) else v for n, v in kw.items()}
    return grad_native(ad, fn, *a, **k)[0]


@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_focal_modulating_factor_at_zero(ad, gamma, dtype):
    """``(1 - p_t) ** gamma`` at ``1 - p_t = 0``: its derivative is infinite for gamma < 1."""
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0], dtype=dtype)
    p = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 0.25], dtype=dtype)  # exact hits and regular points
    g = _grad(ad, cl.focal_loss, p, y, gamma=gamma, from_logits=False, reduction="sum")
    assert np.all(np.isfinite(g)), g
    logits = np.array([1e4, -1e4, 40.0, -40.0, 0.5, -0.5], dtype=dtype)
    g = _grad(ad, cl.focal_loss, logits, y, gamma=gamma, reduction="sum")
    assert np.all(np.isfinite(g)), g
    # softmax focal: p_c = 1 exactly at the target class
    x = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=dtype)
    t = np.array([0, 2])
    for from_logits, xi in ((False, x), (True, x * 1e4)):
        g = _grad(ad, cl.softmax_focal_loss, xi, t, gamma=gamma, from_logits=from_logits)
        assert np.all(np.isfinite(g)), (from_logits, g)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_of_zero_probability(ad, dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    for fn in (cl.binary_cross_entropy, cl.focal_loss):
        g = _grad(ad, fn, p, y, from_logits=False)
        assert np.all(np.isfinite(g)), fn.__name__
    P = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], dtype=dtype)
    g = _grad(ad, cl.cross_entropy, P, np.array([0, 1]), from_logits=False, label_smoothing=0.1)
    assert np.all(np.isfinite(g))
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], dtype=dtype)
    g = _grad(ad, cl.cross_entropy, P, Y, from_logits=False)
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regression_branches_have_exact_gradients(ad, dtype):
    """Huber/smooth L1 at and around the kink, L1 at 0, log-cosh at +-1e4."""
    d = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 1e4, -1e4, 3e38], dtype=dtype)
    z = np.zeros_like(d)
    g = _grad(ad, cl.huber_loss, d, z, delta=1.0, reduction="sum")
    np.testing.assert_allclose(g, np.clip(d, -1.0, 1.0), rtol=1e-6)
    g = _grad(ad, cl.smooth_l1_loss, d, z, beta=0.5, reduction="sum")
    np.testing.assert_allclose(g, np.clip(d / 0.5, -1.0, 1.0), rtol=1e-6)
    g = _grad(ad, cl.l1_loss, d, z, reduction="sum")
    np.testing.assert_allclose(g, np.sign(d), rtol=1e-6)
    g = _grad(ad, cl.log_cosh_loss, d[:-1], z[:-1], reduction="sum")
    np.testing.assert_allclose(g, np.tanh(d[:-1].astype(np.float64)), rtol=1e-6, atol=1e-7)


def test_value_checks_do_not_break_jit():
    """Value checks are skipped on traced arrays: a jitted loss on bad values traces."""
    pytest.importorskip("jax")
    import _backends

    tb = _backends.get("jax")
    out = call_native(
        tb,
        cl.binary_cross_entropy,
        tb.asarray(np.array([1.5, -0.5])),
        tb.asarray(np.array([1.0, 0.0])),
        from_logits=False,
    )
    assert np.isfinite(np.asarray(out))
