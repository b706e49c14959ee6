"""Bad input, table-driven over every catalog loss and backend (issue 8, part 1).

Each case perturbs the loss's catalog example generically (from the function
signature only) and expects a ``ValueError``/``TypeError`` whose message names
the argument. Shape, dtype and option checks run on every backend (under
``jax.jit`` they fire at trace time, on Dask at graph construction). Value
checks (probabilities in [0, 1], class indices in range) need the values, so
they run only where ``Backend.concrete`` is true (NumPy, array-api-strict,
torch CPU eager); on jax, Dask and torch CUDA/compile the documented
behaviour (no error, a result of the right shape) is tested instead. See
docs/reliability.md.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _reliability import (
    IDS,
    LOSSES,
    batch_size,
    call,
    class_axis,
    default,
    example,
    grad_native,
    has,
    is_arr,
    loss_none,
    params,
    positional_names,
    sigmoid,
    without,
)

#: Backends whose value checks run (``Backend.concrete``): NumPy, strict, torch CPU eager.
CONCRETE = ("numpy", "array_api_strict", "torch", "cupy")

#: Option -> invalid values (each must raise naming the option).
BAD_OPTIONS = {
    "reduction": ["bogus", "MEAN", None],
    "gamma": [-1.0, math.nan, "2"],
    "label_smoothing": [1.5, 1.0, -0.1],
    "delta": [0.0, -1.0],
    "beta": [-1.0],
    "t2": [0.0, -1.0],
    "num_iters": [0],
    "axis": [7, -8, 1.0],
    "channel_axis": [7, -8, 1.0],
}

#: Losses that accept integer predictions by design: the result must equal the float one.
INT_PREDICTION_OK = {
    "box_iou_loss": "torchvision casts integer boxes to float",
}

#: Losses whose positional arrays are independent batches (their shapes need not match).
INDEPENDENT_ARRAYS = {
    "gan_discriminator_loss": "real and fake are separate batches",
}

#: (loss, argument index, shape perturbation) that gives another valid layout, or
#: whose inconsistency is in the values (checked where concrete only), with the reason.
SHAPE_CASE_EXEMPT = {
    ("ctc_loss", 1, "flatten"): "1-D targets are PyTorch's concatenated layout",
    ("ctc_loss", 1, "drop_trailing"): "value",  # target_lengths > S: a value check
}

#: Losses whose first array's leading axis is not the batch, with the reason.
NOT_BATCH_LEADING = {
    "ctc_loss": "log_probs is time-major (T, N, C): empty batch tested in test_ctc.py",
}


def _skip_unsupported(xp, info):
    if xp.name not in info.backends:
        pytest.skip(f"{info.name} does not support {xp.name}")


def _raises(xp, info, exc, match, args, kw):
    with pytest.raises(exc, match=match):
        call(xp, info.fn, *args, **kw)


# ---------------------------------------------------------------- options
def _option_cases():
    out = []
    for info in LOSSES:
        for opt, values in BAD_OPTIONS.items():
            if has(info, opt):
                for v in values:
                    out.append(pytest.param(info, opt, v, id=f"{info.name}-{opt}={v!r}"))
        # every string option is a choice: an unknown value names it
        for name, p in params(info).items():
            if isinstance(p.default, str) and name not in BAD_OPTIONS:
                out.append(pytest.param(info, name, "bogus", id=f"{info.name}-{name}='bogus'"))
    return out


@pytest.mark.parametrize("info,opt,value", _option_cases())
def test_bad_option_names_it(xp, info, opt, value):
    _skip_unsupported(xp, info)
    args, kw = example(info)
    kw[opt] = value
    _raises(xp, info, (ValueError, TypeError), f"'{opt}'|{opt}", args, kw)


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_non_float_prediction(xp, info, dtype):
    _skip_unsupported(xp, info)
    if 0 not in info.grad_argnums:
        pytest.skip("first array is not a differentiable prediction")
    args, kw = example(info)
    x = args[0] > 0 if dtype == "bool" else np.round(args[0]).astype(dtype)
    name = positional_names(info)[0]
    if info.name in INT_PREDICTION_OK:
        out = call(xp, info.fn, x, *args[1:], **kw)
        ref = info.fn(x.astype("float64"), *args[1:], **kw)
        np.testing.assert_allclose(out, np.asarray(ref), rtol=1e-6, atol=1e-9)
        return
    _raises(xp, info, TypeError, f"'{name}'", (x, *args[1:]), kw)


# ------------------------------------------------------------------ shapes
def _shape_perturbations(info):
    """(case id, index of the perturbed positional array, function of the array)."""
    return [
        ("drop_trailing", lambda a: a[..., :-1] if a.ndim and a.shape[-1] > 1 else None),
        ("drop_batch", lambda a: a[:-1] if a.ndim and a.shape[0] > 1 else None),
        ("extra_axis", lambda a: a[..., None]),
        ("flatten", lambda a: a.reshape(-1) if a.ndim >= 2 else None),
    ]


def _shape_cases():
    out = []
    for info in LOSSES:
        if info.name in INDEPENDENT_ARRAYS:
            continue
        args, _ = example(info)
        arrays = [i for i, a in enumerate(args) if is_arr(a)]
        for i in arrays[1:]:
            for cid, f in _shape_perturbations(info):
                out.append(pytest.param(info, i, f, id=f"{info.name}-arg{i}-{cid}"))
    return out


@pytest.mark.parametrize("info,i,perturb", _shape_cases())
def test_wrong_shape_names_argument(xp, info, i, perturb, request):
    """A second/third positional array of the wrong rank or size names itself."""
    _skip_unsupported(xp, info)
    why = SHAPE_CASE_EXEMPT.get((info.name, i, request.node.callspec.id.rsplit("-", 1)[-1]))
    if why is not None and (why != "value" or xp.name not in CONCRETE):
        pytest.skip(why)
    args, kw = example(info)
    bad = perturb(args[i])
    if bad is None:
        pytest.skip("perturbation does not apply to this shape")
    name = positional_names(info)[i]
    args = (*args[:i], bad, *args[i + 1 :])
    _raises(xp, info, ValueError, f"'{name}'", args, kw)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
@pytest.mark.parametrize("opt", ["weight", "mask"])
def test_weight_or_mask_not_broadcastable(xp, info, opt):
    _skip_unsupported(xp, info)
    if not has(info, opt):
        pytest.skip(f"no {opt} argument")
    args, kw = example(info)
    kw = without(kw, opt)
    shape = loss_none(info, args, kw).shape
    if not shape:
        pytest.skip("scalar loss")
    bad = np.ones((*shape[:-1], shape[-1] + 1))
    kw[opt] = bad if opt == "weight" else bad > 0
    _raises(xp, info, ValueError, f"'{opt}'", args, kw)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_mixed_namespaces_name_both(xp, info):
    _skip_unsupported(xp, info)
    if xp.name == "numpy":
        pytest.skip("needs a second namespace")
    args, kw = example(info)
    arrays = [i for i, a in enumerate(args) if is_arr(a)]
    if len(arrays) < 2:
        pytest.skip("one array argument")
    i = arrays[1]
    a = [xp.asarray(x) if is_arr(x) and j != i else x for j, x in enumerate(args)]
    k = {n: xp.asarray(v) if is_arr(v) else v for n, v in kw.items()}
    with pytest.raises(TypeError, match="numpy"):
        info.fn(*a, **k)  # not under jax.jit, which would convert the NumPy array


# ------------------------------------------------------------ class axis
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_zero_classes(xp, info):
    """An input with no class along ``axis``/``channel_axis`` names the input."""
    _skip_unsupported(xp, info)
    args, kw = example(info)
    name, ax = class_axis(info, args, kw)
    if name is None:
        pytest.skip("no class axis")
    x = np.take(args[0], np.arange(0), axis=ax)
    rest = list(args[1:])
    if rest and is_arr(rest[0]) and rest[0].shape == args[0].shape:
        rest[0] = np.take(rest[0], np.arange(0), axis=ax)
    _raises(xp, info, ValueError, f"'({positional_names(info)[0]}|{name})'", (x, *rest), kw)


def _index_target_case(info):
    args, kw = example(info)
    name, ax = class_axis(info, args, kw)
    if name is None or len(args) < 2 or not is_arr(args[1]) or args[1].dtype.kind not in "iu":
        return None
    return args, kw, args[0].shape[ax]


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
@pytest.mark.parametrize("bad", ["C", "-1"])
def test_class_index_out_of_range(xp, info, bad):
    _skip_unsupported(xp, info)
    case = _index_target_case(info)
    if case is None:
        pytest.skip("no class-index target in the example")
    args, kw, C = case
    ign = kw.get("ignore_index")
    t = np.array(args[1])
    value = C if bad == "C" else -1
    if value == ign or (value == -1 and info.name == "multilabel_margin_loss"):
        value = -2  # (-1 pads multilabel_margin_loss's targets)
    valid_pos = np.flatnonzero(t.reshape(-1) != ign) if ign is not None else np.arange(t.size)
    t.reshape(-1)[valid_pos[0]] = value
    args = (args[0], t, *args[2:])
    tname = positional_names(info)[1]
    if xp.name in CONCRETE:
        _raises(xp, info, ValueError, f"'{tname}'", args, kw)
        return
    # documented: not checked (it would need the values); no error, a result of the
    # right shape: under jax.jit NaN (jax's convention for an out-of-bounds index, not
    # a quiet 0 that still counts in the mean); elsewhere (Dask) the index matches
    # no class (a zero one-hot row) and the result is finite
    out = call(xp, info.fn, *args, **kw)
    assert out.shape == np.asarray(info.fn(*example(info)[0], **kw)).shape
    if xp.name == "jax":
        assert np.any(np.isnan(out)), out
    else:
        assert np.all(np.isfinite(out))


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_ignore_index_itself_is_accepted(xp, info):
    _skip_unsupported(xp, info)
    if not has(info, "ignore_index"):
        pytest.skip("no ignore_index")
    case = _index_target_case(info)
    if case is None:
        pytest.skip("no class-index target in the example")
    args, kw, C = case
    t = np.array(args[1])
    ign = kw.get("ignore_index")
    if ign is None:
        ign = kw["ignore_index"] = -100
    t.reshape(-1)[:2] = ign
    out = call(xp, info.fn, args[0], t, *args[2:], **kw)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_ignore_index_with_float_target(xp, info):
    _skip_unsupported(xp, info)
    if not has(info, "ignore_index"):
        pytest.skip("no ignore_index")
    if info.extra.get("onehot_ignore_index"):
        pytest.skip("ignore_index on one-hot targets (MONAI's rule)")
    args, kw = example(info)
    name, ax = class_axis(info, args, kw)
    if name is None:
        pytest.skip("no class axis")
    x = args[0]
    e = np.exp(np.random.default_rng(1).normal(size=x.shape))
    probs = e / e.sum(axis=ax, keepdims=True)
    kw["ignore_index"] = -100
    _raises(xp, info, ValueError, "'ignore_index'", (x, probs, *args[2:]), kw)


# ----------------------------------------------------------- probabilities
def _prob_case(info):
    """Example with from_logits=False and probabilities outside [0, 1] (two entries)."""
    args, kw = example(info)
    kw["from_logits"] = False
    kw = without(kw, "label_smoothing")
    p = sigmoid(args[0])
    p.reshape(-1)[0] = 1.5
    p.reshape(-1)[-1] = -0.25
    return (p, *args[1:]), kw


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_probabilities_outside_unit_interval(xp, info):
    _skip_unsupported(xp, info)
    if not has(info, "from_logits"):
        pytest.skip("no from_logits option")
    args, kw = _prob_case(info)
    name = positional_names(info)[0]
    if xp.name in CONCRETE:
        _raises(xp, info, ValueError, f"'{name}'.*\\[0, 1\\]", args, kw)
    else:
        # documented: unchecked on traced/lazy backends; no error, right shape
        out = call(xp, info.fn, *args, **kw)
        ok = (np.clip(args[0], 0.0, 1.0), *args[1:])
        assert out.shape == np.asarray(info.fn(*ok, **kw)).shape


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_probabilities_at_bounds_are_accepted(xp, info):
    """0 and 1 themselves are valid probabilities (the check is closed)."""
    _skip_unsupported(xp, info)
    if not has(info, "from_logits"):
        pytest.skip("no from_logits option")
    args, kw = _prob_case(info)
    p = np.array(args[0])
    p.reshape(-1)[0] = 1.0
    p.reshape(-1)[-1] = 0.0
    out = call(xp, info.fn, p, *args[1:], **kw)
    assert np.all(np.isfinite(out))


# -------------------------------------------------------------- empty arrays
def _empty_case(info):
    """Slice the batch of every positional array (and per-sample keyword array) to 0."""
    args, kw = example(info)
    n = batch_size(args)
    if n is None:
        return None
    none = loss_none(info, args, kw) if has(info, "reduction") else None
    a = tuple(x[:0] if is_arr(x) and x.ndim and x.shape[0] == n else x for x in args)
    k = {
        key: (
            v[:0]
            if is_arr(v) and none is not None and v.ndim == none.ndim and v.ndim and v.shape[0] == n
            else v
        )
        for key, v in kw.items()
    }
    return a, k, none


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_empty_batch(xp, info):
    """Documented rule: an empty batch is not an error; mean and sum are 0, none is empty.

    Consistent with the all-masked rule (mean over zero valid entries is 0).
    """
    _skip_unsupported(xp, info)
    if info.name in NOT_BATCH_LEADING:
        pytest.skip(NOT_BATCH_LEADING[info.name])
    case = _empty_case(info)
    if case is None or case[2] is None:
        pytest.skip("no batch axis or no reduction")
    args, kw, none = case
    kw = without(kw, "reduction")
    for red in ("mean", "sum"):
        out = call(xp, info.fn, *args, reduction=red, **kw)
        assert out.shape == ()
        assert float(out) == 0.0, red
    out = call(xp, info.fn, *args, reduction="none", **kw)
    assert out.size == 0
    if none.ndim:
        assert out.shape[1:] == none.shape[1:]
    if xp.autodiff and info.grad_argnums:
        a = [xp.asarray(v) if is_arr(v) else v for v in args]
        k = {n: xp.asarray(v) if is_arr(v) else v for n, v in kw.items()}
        for g, i in zip(
            grad_native(xp, info.fn, *a, argnums=info.grad_argnums, **k), info.grad_argnums
        ):
            assert g.shape == args[i].shape


def test_documented_defaults_table_is_consistent():
    """The option table only names options some loss has (catches renamed options)."""
    used = {o for o in BAD_OPTIONS if any(has(i, o) for i in LOSSES)}
    assert "reduction" in used and "gamma" in used and "label_smoothing" in used
    assert default(LOSSES[0], "reduction") == "mean"
