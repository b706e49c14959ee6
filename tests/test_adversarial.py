"""Adversarial property suite over the whole catalog (issue 13, "keep it so").

Generated from the catalog: every entry with an ``example=`` (losses,
transforms and schedules) is exercised on every backend with inputs that
hypothesis draws around its example:

* extremes in the inputs: logits and values at +-1e4, +-88/89, +-1e30 and
  +-3e38 in float32 (+-710, +-1e300 and +-1e308 in float64), probabilities of
  exactly 0 and 1, boxes of zero area and of huge size, classes absent from
  the target;
* masks (some entries, or all of them) with NaN and +-inf under the mask.

and asserts the reliability rules of ``docs/reliability.md``:

1. no NaN, ever, in a value or a gradient;
2. a value is finite unless the float64 result (elementwise, or its sum over
   the batch) lies beyond the compute dtype's range: the "documented inf";
   a gradient is finite wherever the value is;
3. the result has the compute dtype (float32 for float32, float64 for float64);
4. masked entries reach neither the value (NaN/inf under the mask give the
   same value as benign entries there) nor the gradient (exactly 0);
5. the native kernels (torch, jax) and the pure array-API path
   (``corelosses.native(False)``) agree, value and gradient, NaN/inf pattern
   included.

Example counts are small and derandomized (``N_EXAMPLES``) so the suite is
reproducible and stays within CI's time budget.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from _reliability import (
    class_axis,
    default,
    example,
    has,
    input_mask,
    is_arr,
    loss_none,
    without,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import corelosses as cl

ENTRIES = [i for i in cl.catalog() if i.example is not None and i.name not in ("triangle_mask",)]
IDS = [i.name for i in ENTRIES]

#: hypothesis examples per test and backend (NumPy explores, the others confirm)
N_EXAMPLES = {"numpy": 12, "array_api_strict": 3, "torch": 4, "jax": 3, "dask": 1, "cupy": 3}

#: Extreme pools by compute dtype: unbounded values (logits, regression values, scores)
VALUES = {
    "float32": np.array(
        [0.0, 1.0, -1.0, 1e4, -1e4, 88.0, -88.0, 89.0, -89.0, 1e30, -1e30, 3e38, -3e38]
    ),
    "float64": np.array(
        [0.0, 1.0, -1.0, 1e4, -1e4, 710.0, -710.0, 1e30, -1e30, 1e300, -1e300, 1e308, -1e308]
    ),
}
#: non-negative values (variances, Poisson rates and counts)
POSITIVE = {dt: v[v >= 0] for dt, v in VALUES.items()}
PROBS = np.array([0.0, 1.0])
#: box sizes and offsets (xyxy stays valid; the area stays within float32's range)
BOX_SIZES = np.array([0.0, 1e-30, 1.0, 1e4, 1e15])
BOX_OFFSETS = np.array([0.0, 1e4, -1e4, 1e15, -1e15])
BAD = np.array([np.nan, np.inf, -np.inf])

#: Entries whose first argument is not drawn from the value pool, with the reason.
#: (``perceptual``: the features are the caller's network; what it does at 3e38 is
#: its business, so the images are drawn at +-1e4 at most.)
SMALL_VALUES = {"perceptual_loss", "style_loss"}
#: Entries whose arrays hold something other than the family's usual roles.
ROLES = {
    "signed_distance_map": ("prob",),  # a binary / one-hot target
    # a distance map: bounded by the image's diagonal (the mean over pixels is taken
    # as a float32 sum, which a map at 1e37 would overflow)
    "boundary_loss": ("value", "small"),
    "gaussian_nll_loss": ("value", "value", "positive"),  # var >= 0
    "poisson_nll_loss": ("positive", "positive"),  # the example's rates (log_input=False)
    "cosine_embedding_loss": ("value", "value", None),  # labels in {-1, 1}
    "margin_softmax_loss": ("prob", "classes"),  # cosines in [-1, 1]: 0 and 1 exactly
    "ranking_softmax_loss": ("value", "positive"),  # relevance >= 0
    "ssim_loss": ("prob", "prob"),  # images in [0, data_range]
    "ms_ssim_loss": ("prob", "prob"),
}
#: transforms whose output is a probability (never inf) at any finite input
PROB_OUTPUT = {"sharpen", "tempered_softmax"}


# ------------------------------------------------------------------- roles
def _roles(info, args, kw):
    """The kind of value each positional array holds: drives the extreme pools."""
    if info.name in ROLES:
        return list(ROLES[info.name])
    roles = []
    act = kw.get("activation", default(info, "activation")) if has(info, "activation") else "?"
    for i, a in enumerate(args):
        if not is_arr(a):
            roles.append(None)
        elif a.dtype.kind in "iub":
            roles.append("classes" if class_axis(info, args, kw)[0] else None)
        elif info.name == "box_iou_loss" or (info.name == "iou_balanced_smooth_l1" and i < 2):
            roles.append("box" if info.name == "box_iou_loss" else "value")
        elif info.family == "detection" and i == 2:
            roles.append("prob")  # the IoU of each prediction
        elif i == 0:
            if act is None:
                roles.append("prob")
            elif info.name in SMALL_VALUES:
                roles.append("small")
            else:
                roles.append("value")
        elif info.family in ("classification", "detection") or (
            info.family == "segmentation" and info.name not in ("boundary_loss", "gradient_loss")
        ):
            roles.append("prob")
        elif info.name in SMALL_VALUES:
            roles.append("small")
        else:
            roles.append("value")
    return roles


def _extreme(role, a, dtype, rng):
    """``a`` with a random subset of its entries replaced by extremes of its role."""
    a = np.array(a, dtype=np.float64 if a.dtype.kind == "f" else a.dtype)
    if a.size == 0:
        return a
    hit = rng.uniform(size=a.shape) < rng.choice([0.2, 0.5, 1.0])
    if role in ("value", "small"):
        pool = VALUES[dtype] if role == "value" else VALUES[dtype][:5]
        return np.where(hit, rng.choice(pool, size=a.shape), a)
    if role == "positive":
        return np.where(hit, rng.choice(POSITIVE[dtype], size=a.shape), a)
    if role == "prob":
        return np.where(hit, rng.choice(PROBS, size=a.shape), a)
    if role == "box":
        lo = np.minimum(a[..., :2], a[..., 2:]) + rng.choice(BOX_OFFSETS, size=a.shape[:-1] + (1,))
        wh = rng.choice(BOX_SIZES, size=a.shape[:-1] + (2,))
        return np.concatenate([lo, lo + wh], axis=-1)
    if role == "classes":
        return a  # see _empty_classes
    return a


def _empty_classes(info, args, kw, rng):
    """Class-index targets with a random subset of the classes removed."""
    name, ax = class_axis(info, args, kw)
    C = args[0].shape[ax]
    ignore = kw.get("ignore_index")
    out = []
    for a in args:
        if is_arr(a) and a.dtype.kind in "iu" and C >= 2:
            gone = rng.uniform(size=C) < 0.5
            gone[rng.integers(C)] = False  # keep one class
            keep = int(np.flatnonzero(~gone)[0])
            t = np.array(a)
            real = t != ignore if ignore is not None else np.ones(t.shape, bool)
            inrange = (t >= 0) & (t < C)
            t = np.where(real & inrange & gone[np.clip(t, 0, C - 1)], keep, t)
            out.append(t)
        else:
            out.append(a)
    return tuple(out)


def _draw(info, seed, dtype):
    """(args, kw) of the example at ``seed`` with extremes in every array."""
    rng = np.random.default_rng(seed)
    args, kw = example(info, seed)
    if has(info, "from_logits"):
        kw["from_logits"] = True
    roles = _roles(info, args, kw)
    args = tuple(
        _extreme(r, a, dtype, rng) if r not in (None, "classes") else a for r, a in zip(roles, args)
    )
    if "classes" in roles:
        args = _empty_classes(info, args, kw, rng)
    # a float32 case holds float32-representable values only (the float64 reference
    # is then computed on exactly the float32 inputs)
    if dtype == "float32":
        args = tuple(a.astype(np.float32).astype(np.float64) if _isfloat(a) else a for a in args)
    return args, kw


def _isfloat(v):
    return is_arr(v) and v.dtype.kind == "f"


# ----------------------------------------------------------------- running
def _on(tb, v, dtype):
    if not is_arr(v):
        return v
    return tb.asarray(v, dtype=dtype if v.dtype.kind == "f" else None)


def _backend_args(tb, args, kw, dtype):
    return [_on(tb, a, dtype) for a in args], {n: _on(tb, v, dtype) for n, v in kw.items()}


def _jitted(tb, fn, a, k, argnums=None):
    """``fn(*a, **k)`` under jax: one ``jax.jit`` of a fresh closure per call (arrays
    traced, everything else static), so nothing is cached across calls and the
    Python-side choices (native or generic path) are made in the caller's context;
    with ``argnums``, ``jax.grad`` of the sum with respect to those arguments. One
    compiled program per call costs far less than compiling every primitive eagerly."""
    jax = tb.jax
    diff = list(argnums or ())
    pos = [i for i, v in enumerate(a) if isinstance(v, jax.Array) and i not in diff]
    arr = {n: v for n, v in k.items() if isinstance(v, jax.Array)}
    static = {n: v for n, v in k.items() if n not in arr}

    def call(d, traced, arrs):
        full = list(a)
        for i, v in zip(diff, d):
            full[i] = v
        for i, v in zip(pos, traced):
            full[i] = v
        out = fn(*full, **arrs, **static)
        return out if argnums is None else tb.xp.sum(out)

    d = [a[i] for i in diff]
    traced = [a[i] for i in pos]
    if argnums is None:
        return jax.jit(call)(d, traced, arr)
    return jax.jit(jax.grad(call))(d, traced, arr)


def _value(tb, info, args, kw, dtype):
    """Value as NumPy, its dtype checked (jax under a fresh ``jit``, see ``_jitted``)."""
    a, k = _backend_args(tb, args, kw, dtype)
    out = _jitted(tb, info.fn, a, k) if tb.name == "jax" else info.fn(*a, **k)
    if tb.lazy:
        assert hasattr(out, "dask"), "a Dask result must stay lazy"
    if info.kind != "schedule":
        assert str(out.dtype).endswith(dtype), f"{dtype} input gave a {out.dtype} result"
    return tb.to_numpy(out).astype(np.float64)


def _grads(tb, info, args, kw, dtype):
    if not tb.autodiff or not info.grad_argnums:
        return None
    a, k = _backend_args(tb, args, kw, dtype)
    argnums = info.grad_argnums
    if tb.name == "torch":
        torch = tb.torch
        a = list(a)
        leaves = []
        for i in argnums:
            a[i] = a[i].detach().clone().requires_grad_(True)
            leaves.append(a[i])
        out = info.fn(*a, **k)
        gs = torch.autograd.grad(out.sum(), leaves, allow_unused=True)
        return [
            np.zeros(tuple(lf.shape)) if g is None else g.detach().double().numpy()
            for g, lf in zip(gs, leaves)
        ]
    gs = _jitted(tb, info.fn, a, k, argnums=argnums)
    return [np.asarray(g, dtype=np.float64) for g in gs]


def _reference(info, args, kw):
    """float64 NumPy: the unreduced loss and its sum (or the transform's output)."""
    if has(info, "reduction"):
        none = np.asarray(info.fn(*args, **{**kw, "reduction": "none"}), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            return none, np.sum(none)
    out = np.asarray(info.fn(*args, **kw), dtype=np.float64)
    return out, out


def _gap_overflows(info, args, kw, dtype):
    """Whether a logit gap along the class axis exceeds the dtype's range: there
    ``log_softmax`` itself is -inf in the dtype (in every framework), so a loss that
    weighs that class (label smoothing, soft targets) is inf although the float64
    result may fit."""
    name, ax = class_axis(info, args, kw)
    if name is None or not _isfloat(args[0]):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        gap = np.max(args[0], axis=ax) - np.min(args[0], axis=ax)
    return bool(np.any(gap > np.finfo(dtype).max))


def _assert_rules(info, val, grads, ref, dtype, what, gap=False):
    """Rules 1 and 2: no NaN; inf only where float64 overflows the dtype."""
    assert not np.any(np.isnan(val)), f"{what}: NaN value {val}"
    if not np.all(np.isfinite(val)):
        assert info.name not in PROB_OUTPUT, f"{what}: non-finite probabilities {val}"
        big = np.finfo(dtype).max
        none, total = ref
        with np.errstate(invalid="ignore"):
            overflow = np.any(np.abs(none) > big) or np.any(np.abs(total) > big)
        # float64: the reference is the computation itself; an inf there is an overflow
        # of float64's range (inputs at 1e300-1e308), never a NaN (checked on NumPy)
        assert overflow or gap or dtype == "float64", (
            f"{what}: {val} is not finite while the float64 result {none} (sum {total}) "
            f"fits {dtype}"
        )
    if grads is None:
        return
    for i, g in enumerate(grads):
        assert not np.any(np.isnan(g)), f"{what}: NaN gradient (argument {i}) {g}"
        if np.all(np.isfinite(val)):
            assert np.all(np.isfinite(g)), f"{what}: finite value, non-finite gradient {g}"


def _given(tb, *strategies):
    def deco(f):
        return settings(
            max_examples=N_EXAMPLES.get(tb.name, 3),
            deadline=None,
            derandomize=True,
            database=None,
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck),
        )(given(*strategies)(f))

    return deco


def _skip(tb, info):
    if tb.name not in info.backends:
        pytest.skip(f"{info.name} does not support {tb.name}")


SEEDS = st.integers(0, 2**31 - 1)
DTYPES = st.sampled_from(["float32", "float64"])


def _valid(info, args, kw):
    """Whether NumPy accepts the drawn input (a rejection is a bad-input case, tested
    in test_bad_input.py; the drawn extremes are all meant to be valid)."""
    try:
        np.asarray(info.fn(*args, **kw))
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------- tests
@pytest.mark.parametrize("info", ENTRIES, ids=IDS)
def test_extremes_finite_or_documented_inf(xp, info):
    """Rules 1-3 at drawn extremes, every backend; gradients on torch and jax."""
    _skip(xp, info)

    @_given(xp, SEEDS, DTYPES)
    def check(seed, dtype):
        args, kw = _draw(info, seed, dtype)
        assert _valid(info, args, kw), f"the drawn extremes were rejected: {args}"
        ref = _reference(info, args, kw)
        val = _value(xp, info, args, kw, dtype)
        grads = _grads(xp, info, args, kw, dtype)
        gap = _gap_overflows(info, args, kw, dtype)
        _assert_rules(info, val, grads, ref, dtype, f"{info.name} {dtype} seed={seed}", gap)

    check()


#: losses whose loss entries read several input entries (a transpose, a stencil): an
#: input entry is hidden only when every loss entry that reads it is masked
COUPLED = {"symmetry_penalty", "gradient_loss"}
_READS: dict = {}


def _reads(info, args, kw):
    """``reads[e, l]``: loss entry ``l`` reads input entry ``e`` (found by putting a NaN
    at ``e`` on NumPy; the pattern does not depend on the values)."""
    if info.name not in _READS:
        x = np.array(args[0])
        rows = []
        for e in range(x.size):
            xe = x.copy()
            xe.reshape(-1)[e] = np.nan
            with np.errstate(invalid="ignore"):
                rows.append(np.isnan(loss_none(info, (xe, *args[1:]), kw)).reshape(-1))
        _READS[info.name] = np.array(rows)
    return _READS[info.name]


def _hidden(info, args, kw, m):
    """Input entries that no unmasked loss entry reads."""
    if info.name in COUPLED:
        reads = _reads(info, args, kw)
        return ~np.any(reads & m.reshape(1, -1), axis=1).reshape(args[0].shape)
    mx = input_mask(info, args, kw, m)
    return None if mx is None else ~mx


def _mask_shape(info, args, kw):
    return loss_none(info, args, without(kw, "mask", "reduction")).shape


@pytest.mark.parametrize("info", [i for i in ENTRIES if has(i, "mask")], ids=lambda i: i.name)
def test_masked_extremes_reach_nothing(xp, info):
    """Rule 4: NaN/inf under a drawn mask (all-masked included) at drawn extremes."""
    _skip(xp, info)

    @_given(xp, SEEDS, DTYPES, st.sampled_from(["some", "all", "none"]))
    def check(seed, dtype, kind):
        rng = np.random.default_rng(seed + 1)
        args, kw = _draw(info, seed, dtype)
        kw = without(kw, "mask")
        shape = _mask_shape(info, args, kw)
        m = {
            "some": rng.uniform(size=shape) < 0.6,
            "all": np.zeros(shape, bool),
            "none": np.ones(shape, bool),
        }[kind]
        hidden = _hidden(info, args, kw, m)
        if hidden is None:
            pytest.skip("the mask does not align with the input")
        bad = np.array(args[0])
        bad[hidden] = rng.choice(BAD, size=int(hidden.sum()))
        kw = {**kw, "mask": m}
        what = f"{info.name} {dtype} seed={seed} mask={kind}"
        for red in ("mean", "sum"):
            k = {**kw, "reduction": red}
            ref = _reference(info, args, kw)
            clean = _value(xp, info, args, k, dtype)
            dirty = _value(xp, info, (bad, *args[1:]), k, dtype)
            grads = _grads(xp, info, (bad, *args[1:]), k, dtype)
            _assert_rules(
                info, dirty, grads, ref, dtype, what, _gap_overflows(info, args, kw, dtype)
            )
            np.testing.assert_array_equal(np.isfinite(dirty), np.isfinite(clean), err_msg=what)
            fin = np.isfinite(clean)
            np.testing.assert_allclose(dirty[fin], clean[fin], rtol=1e-6, err_msg=what)
            if kind == "all":
                assert float(dirty) == 0.0, what
            if grads is not None:
                assert np.all(grads[0][hidden] == 0), f"{what}: gradient under the mask"
                if kind == "all":
                    assert all(np.all(g == 0) for g in grads), f"{what}: all masked"

    check()


def _close_or_same_inf(a, b, rtol, what):
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: NaN pattern")
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b), err_msg=f"{what}: inf pattern")
    inf = np.isinf(a)
    np.testing.assert_array_equal(a[inf], b[inf], err_msg=f"{what}: inf signs")
    fin = np.isfinite(a) & np.isfinite(b)
    scale = max(1.0, float(np.max(np.abs(b[fin]), initial=0.0)))
    np.testing.assert_allclose(a[fin], b[fin], rtol=rtol, atol=rtol * scale, err_msg=what)


#: Entries whose native and generic gradients may differ where the function is not
#: differentiable, both being valid subgradients. ``soft_cldice_loss``: its soft skeleton
#: is min- then max-pooled, which makes plateaus of equal values; at a tie the native
#: ``max_pool2d`` / ``reduce_window`` sends the whole gradient to one element of the
#: window, the generic chain of ``maximum``s splits it among the tied ones. The values
#: must still agree.
TIED_SUBGRADIENTS = {"soft_cldice_loss"}


#: options each entry is drawn with in the native-vs-generic test: the plain call
#: (where the whole-loss kernels run) and the example's own options
def _option_sets(info, kw):
    plain = {k: v for k, v in kw.items() if k in ("from_logits", "axis", "channel_axis")}
    plain.update({k: v for k, v in kw.items() if k in _required(info)})
    return [plain, kw]


def _required(info):
    sig = inspect.signature(info.fn).parameters
    return [
        n
        for n, p in sig.items()
        if p.kind == inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    ]


@pytest.mark.parametrize("info", ENTRIES, ids=IDS)
def test_native_and_generic_paths_agree(ad, info):
    """Rule 5: torch/jax native kernels vs the pure array-API path at drawn extremes."""
    _skip(ad, info)

    @_given(ad, SEEDS, DTYPES, st.booleans())
    def check(seed, dtype, plain):
        args, kw = _draw(info, seed, dtype)
        kw = _option_sets(info, kw)[0 if plain else 1]
        if not _valid(info, args, kw):
            return
        rtol = 1e-4 if dtype == "float32" else 1e-9
        what = f"{info.name} {dtype} seed={seed} plain={plain}"
        nat = _value(ad, info, args, kw, dtype)
        ngr = _grads(ad, info, args, kw, dtype)
        with cl.native(False):
            gen = _value(ad, info, args, kw, dtype)
            ggr = _grads(ad, info, args, kw, dtype)
        _close_or_same_inf(nat, gen, rtol, what)
        if ngr is not None:
            for a, b in zip(ngr, ggr):
                if info.name in TIED_SUBGRADIENTS:
                    # both are valid subgradients: the same finiteness, not the same values
                    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b), err_msg=what)
                    continue
                _close_or_same_inf(a, b, rtol, f"{what} gradient")

    check()
