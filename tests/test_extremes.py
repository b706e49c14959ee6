"""Extreme inputs over every catalog loss (issue 8, part 3).

Logits at +-1e4 and +-88 (exp overflows float32 past 88.7), probabilities of
exactly 0 and 1, all-masked batches, and, where a loss's example allows it,
zero-area boxes and classes absent from the target: finite values on every
backend, finite gradients on torch and jax, in float32 and float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reliability import (
    IDS,
    LOSSES,
    call_native,
    cast_floats,
    class_axis,
    example,
    grad_native,
    has,
    is_arr,
    loss_none,
    sigmoid,
    without,
)

DTYPES = ["float32", "float64"]
LOGITS = np.array([1e4, -1e4, 88.0, -88.0, 89.0, -89.0, 0.0, 1e4, -1e4, 20.0])


#: Losses whose first argument is a log-measure (``exp`` of it enters the value):
#: at a log-input of 1e4 the true value is +inf in any dtype (``exp(1e4)``), so
#: there the rule is the adversarial suite's: +inf where the float64 NumPy result
#: is itself inf, never NaN.
LOG_MEASURE_INPUT = {"generalized_kl_divergence"}


def _check_finite(xp, info, args, kw, dtype, *, grads=True):
    if xp.name not in info.backends:
        pytest.skip(f"{info.name} does not support {xp.name}")
    a = [cast_floats(xp, v, dtype) for v in args]
    k = {n: cast_floats(xp, v, dtype) for n, v in kw.items()}
    out = xp.to_numpy(call_native(xp, info.fn, *a, **k))
    if info.name in LOG_MEASURE_INPUT:
        with np.errstate(over="ignore"):
            ref = np.asarray(info.fn(*args, **kw), dtype=np.float64)
        assert not np.any(np.isnan(out)), f"NaN value {out}"
        assert np.array_equal(np.isinf(out), np.isinf(ref)), f"inf where float64 is finite {out}"
        grads = grads and bool(np.all(np.isfinite(ref)))
    else:
        assert np.all(np.isfinite(out)), f"non-finite value {out}"
    if grads and xp.autodiff and info.grad_argnums:
        for i, g in zip(
            info.grad_argnums, grad_native(xp, info.fn, *a, argnums=info.grad_argnums, **k)
        ):
            assert np.all(np.isfinite(g)), f"non-finite gradient w.r.t. argument {i}"
    return out


def _valid_or_skip(info, args, kw):
    """Inputs a loss rejects on NumPy (e.g. boxes with x2 < x1) are bad-input cases."""
    try:
        np.asarray(info.fn(*args, **kw))
    except ValueError as e:
        pytest.skip(f"not a valid input for {info.name}: {e}")


def _logit_case(info, seed=0):
    args, kw = example(info, seed)
    x = np.array(args[0], dtype=np.float64)
    x.reshape(-1)[:] = np.resize(LOGITS, x.size)
    if has(info, "from_logits"):
        kw["from_logits"] = True
    return (x, *args[1:]), kw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_extreme_logits(xp, info, dtype):
    args, kw = _logit_case(info)
    _valid_or_skip(info, args, kw)
    _check_finite(xp, info, args, kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_extreme_logits_on_the_target_side(xp, info, dtype):
    """Same extremes in a float target of the input's shape (soft labels at 0/1 edges)."""
    args, kw = example(info)
    if (
        len(args) < 2
        or not is_arr(args[1])
        or args[1].dtype.kind != "f"
        or args[1].shape != args[0].shape
    ):
        pytest.skip("no float target of the input's shape")
    if info.family not in ("regression", "perceptual"):
        pytest.skip("target is a probability/box, not an unbounded value")
    t = np.array(args[1])
    t.reshape(-1)[:] = np.resize(LOGITS[::-1], t.size)
    _check_finite(xp, info, (args[0], t, *args[2:]), kw, dtype)


def _prob_case(info, seed=0):
    args, kw = example(info, seed)
    kw["from_logits"] = False
    rng = np.random.default_rng(seed + 7)
    p = (rng.uniform(size=np.shape(args[0])) > 0.5).astype(np.float64)
    return (p, *args[1:]), kw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_probabilities_exactly_zero_and_one(xp, info, dtype):
    if not has(info, "from_logits"):
        pytest.skip("no from_logits option")
    args, kw = _prob_case(info)
    _check_finite(xp, info, args, kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_probabilities_matching_hard_targets(xp, info, dtype):
    """p equal to a hard target: log(0) sits in every unselected term."""
    if not has(info, "from_logits"):
        pytest.skip("no from_logits option")
    args, kw = example(info)
    if len(args) < 2 or not is_arr(args[1]):
        pytest.skip("no target")
    kw["from_logits"] = False
    kw = without(kw, "label_smoothing")
    x, t = args[0], np.asarray(args[1])
    name, ax = class_axis(info, args, kw)
    if t.dtype.kind in "iu" and name is not None:
        C = x.shape[ax]
        p = np.moveaxis(np.eye(C)[np.where((t >= 0) & (t < C), t, 0)], -1, ax)
    elif t.shape == x.shape:
        p = (t > 0.5).astype(np.float64)
        t = p
    else:
        pytest.skip("target does not determine a hard prediction")
    _check_finite(xp, info, (p, t, *args[2:]), kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_all_masked_with_extreme_inputs(xp, info, dtype):
    if not has(info, "mask"):
        pytest.skip("no mask argument")
    args, kw = _logit_case(info)
    try:
        shape = loss_none(info, args, without(kw, "mask")).shape
    except ValueError:
        args, kw = example(info)
        shape = loss_none(info, args, without(kw, "mask")).shape
    kw = without(kw, "mask", "reduction")
    for red in ("mean", "sum"):
        out = _check_finite(
            xp, info, args, {**kw, "mask": np.zeros(shape, dtype=bool), "reduction": red}, dtype
        )
        assert float(out) == 0.0
    if xp.autodiff and info.grad_argnums:
        a = [cast_floats(xp, v, dtype) for v in args]
        k = {n: cast_floats(xp, v, dtype) for n, v in kw.items()}
        k["mask"] = xp.asarray(np.zeros(shape, dtype=bool))
        for g in grad_native(xp, info.fn, *a, argnums=info.grad_argnums, **k):
            assert np.all(g == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_zero_area_boxes(xp, info, dtype):
    if info.family != "detection":
        pytest.skip("not a box loss")
    args, kw = example(info)
    boxes = [i for i, a in enumerate(args) if is_arr(a) and a.ndim and a.shape[-1] == 4]
    if not boxes:
        pytest.skip("no xyxy boxes in the example")
    a = list(args)
    for i in boxes:
        b = np.array(a[i])
        b[..., 2] = b[..., 0]  # zero width
        b[..., 3] = b[..., 1]  # zero height
        a[i] = b
    _check_finite(xp, info, a, kw, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_class_absent_from_target(xp, info, dtype):
    """Empty classes (no pixel/sample of class 0, nor of the last class)."""
    args, kw = example(info)
    name, ax = class_axis(info, args, kw)
    if name is None or len(args) < 2 or not is_arr(args[1]):
        pytest.skip("no class axis")
    x, t = args[0], np.array(args[1])
    C = x.shape[ax]
    if C < 3:
        pytest.skip("fewer than 3 classes")
    if t.dtype.kind in "iu":
        t = np.where((t == 0) | (t == C - 1), 1, t)
    else:
        pytest.skip("not a class-index target")
    _check_finite(xp, info, (x, t, *args[2:]), kw, dtype)


def test_logit_table_covers_float32_overflow():
    assert np.isinf(np.exp(np.float32(89.0))) and np.isfinite(np.exp(np.float32(88.0)))
    assert np.all(np.isfinite(sigmoid(LOGITS)))
