"""Property tests over every catalog loss and backend (issue 8, part 2).

Hypothesis draws the seed of each loss's catalog ``example`` (so the inputs are
always valid for the loss) plus the permutations, weights and masks. The
expectations that depend on the loss (is it a divergence? what is a perfect
prediction?) are declared per family in the tables below, not in the library.
Example counts are small and derandomized so CI is stable and fast.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close
from _reliability import (
    IDS,
    LOSSES,
    batch_separable,
    call,
    class_axis,
    default,
    example,
    has,
    is_arr,
    loss_none,
    sigmoid,
    take_batch,
    without,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# ------------------------------------------------------------ expectations
#: Families whose losses are divergences (>= 0 everywhere); overrides below.
NONNEG_FAMILY = {
    "classification": True,
    "regression": True,
    "regularizers": True,
    "segmentation": True,
    "detection": True,
    "perceptual": True,
    "gan": False,
    "embedding": True,
    "metric learning": True,
}
#: Per-loss overrides: a bool, or a function of the keyword options.
NONNEG = {
    "boundary_loss": False,  # mean(p * phi) with phi < 0 inside the object
    "gaussian_nll_loss": False,  # a log-likelihood: negative for small variances
    "ctc_loss": True,  # -log of a probability (the example's log-softmax inputs)
    "ranking_softmax_loss": True,  # relevance >= 0 (checked), -log p >= 0
    "gan_discriminator_loss": lambda kw: kw.get("kind", "minimax") != "wasserstein",
    "gan_generator_loss": lambda kw: (
        kw.get("kind", "non_saturating") in ("non_saturating", "least_squares")
    ),
}


def _one_hot(t, C, ax, ndim):
    oh = np.eye(C)[np.where((t >= 0) & (t < C), t, 0)]
    return np.moveaxis(oh, -1, ax if ax >= 0 else ndim + ax)


def _perfect_same(args, kw, info):
    """Prediction = target (elementwise losses)."""
    return (np.array(args[1], dtype=np.float64), *args[1:]), kw


def _perfect_binary(args, kw, info):
    y = (np.asarray(args[1]) > 0.5).astype(np.float64)
    kw = without(kw, "label_smoothing")
    kw["from_logits"] = False
    return (y, y, *args[2:]), kw


def _perfect_classes(args, kw, info, prob_kw="from_logits", prob_value=False):
    name, ax = class_axis(info, args, kw)
    x, t = args[0], np.asarray(args[1])
    if t.dtype.kind in "iu":
        p = _one_hot(t, x.shape[ax], ax, x.ndim)
    else:
        p = _one_hot(np.argmax(t, axis=ax), x.shape[ax], ax, x.ndim)
        t = p
    kw = without(kw, "label_smoothing")
    kw[prob_kw] = prob_value
    return (p, t, *args[2:]), kw


def _perfect_segmentation(args, kw, info):
    if not has(info, "activation"):
        return None
    return _perfect_classes(args, kw, info, "activation", None)


def _perfect_one_hot_penalty(args, kw, info):
    name, ax = class_axis(info, args, kw)
    x = args[0]
    p = _one_hot(np.argmax(x, axis=ax), x.shape[ax], ax, x.ndim)
    kw = dict(kw)
    if has(info, "from_logits"):
        kw["from_logits"] = False
    return (p, *args[1:]), kw


def _perfect_binary_penalty(args, kw, info):
    return (np.round(sigmoid(args[0])), *args[1:]), kw


def _perfect_symmetric(args, kw, info):
    a, b = kw.get("axes", default(info, "axes"))
    x = args[0]
    return ((x + np.swapaxes(x, a, b)) / 2, *args[1:]), kw


def _perfect_margin(args, kw, info):
    """Scores 2 y (labels in {-1, 1}, or 0/1 read as -1/1): every margin y x = 2 >= 1."""
    y = np.asarray(args[1], dtype=np.float64)
    return (2.0 * np.where(y == 0, -1.0, y), *args[1:]), kw


def _perfect_class_margin(args, kw, info):
    """Score 2 on the target class, 0 elsewhere: every class margin is 2 >= 1."""
    name, ax = class_axis(info, args, kw)
    x, t = args[0], np.asarray(args[1])
    return (2.0 * _one_hot(t, x.shape[ax], ax, x.ndim), *args[1:]), kw


def _perfect_multilabel_margin(args, kw, info):
    """Score 2 on each target class (the indices before the first -1), 0 elsewhere."""
    x, t = np.asarray(args[0]), np.asarray(args[1])
    s = np.zeros_like(x, dtype=np.float64)
    for row in np.ndindex(t.shape[:-1]):
        for k in t[row]:
            if k < 0:
                break
            s[row + (int(k),)] = 2.0
    return (s, *args[1:]), kw


def _perfect_ctc(args, kw, info):
    """Log-probability 0 along one alignment (labels, a blank between repeats, then
    blanks), -inf elsewhere: the only path, probability 1."""
    x, t, il, tl = (np.asarray(a) for a in args[:4])
    blank = kw.get("blank", 0)
    s = np.full(x.shape, -np.inf)
    for n in range(x.shape[1]):
        path = []
        for j in range(int(tl[n])):
            if j and t[n, j] == t[n, j - 1]:
                path.append(blank)
            path.append(int(t[n, j]))
        path += [blank] * (int(il[n]) - len(path))
        s[np.arange(len(path)), n, path] = 0.0
    return (s, *args[1:]), kw


#: name or family -> builder of a perfect prediction (loss 0 there).
PERFECT = {
    "ctc_loss": _perfect_ctc,
    "regression": _perfect_same,
    "binary_cross_entropy": _perfect_binary,
    "focal_loss": _perfect_binary,
    "cross_entropy": _perfect_classes,
    "softmax_focal_loss": _perfect_classes,
    "dice_loss": _perfect_segmentation,
    "tversky_loss": _perfect_segmentation,
    "focal_tversky_loss": _perfect_segmentation,
    "generalized_dice_loss": _perfect_segmentation,
    "jaccard_loss": _perfect_segmentation,
    "gradient_loss": _perfect_same,
    "box_iou_loss": _perfect_same,
    "iou_balanced_smooth_l1": _perfect_same,
    "perceptual_loss": _perfect_same,
    "style_loss": _perfect_same,
    "binary_penalty": _perfect_binary_penalty,
    "one_hot_penalty": _perfect_one_hot_penalty,
    "entropy_penalty": _perfect_one_hot_penalty,
    "symmetry_penalty": _perfect_symmetric,
    "hinge_loss": _perfect_margin,
    "squared_hinge_loss": _perfect_margin,
    "perceptron_loss": _perfect_margin,
    "multiclass_hinge_loss": _perfect_class_margin,
    "multiclass_perceptron_loss": _perfect_class_margin,
    "multilabel_margin_loss": _perfect_multilabel_margin,
    "soft_margin_loss": None,  # log(1 + exp(-y x)) is never exactly 0
    "multilabel_soft_margin_loss": None,
    # negative log-likelihoods: not 0 at input == target
    "poisson_nll_loss": None,
    "gaussian_nll_loss": None,
    "cosine_distance": _perfect_same,
}

#: losses whose minimum is 0 up to a documented stabilizer
PERFECT_ATOL = {"box_iou_loss": 1e-5}  # eps=1e-7 in I / (U + eps): 1 - IoU = eps / U

# ---------------------------------------------------------------- settings
#: examples per test and backend (dask builds and computes a graph per call)
#: (the properties are backend-independent maths: NumPy explores, the others confirm)
N_EXAMPLES = {"numpy": 10, "array_api_strict": 2, "torch": 2, "jax": 2, "dask": 1}

SEEDS = st.integers(0, 2**31 - 1)


def _given(xp, *strategies):
    def deco(f):
        return settings(
            max_examples=N_EXAMPLES.get(xp.name, 5),
            deadline=None,
            derandomize=True,
            database=None,
            # no shrinking / explain phases: a failure is reported as found, and
            # the suite's time stays bounded (shrinking a Dask graph took minutes)
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck),
        )(given(*strategies)(f))

    return deco


def ev(xp, fn, *args, **kw):
    """Evaluate on ``xp`` (jax eagerly: shapes vary per example; jit is covered elsewhere)."""
    return call(xp, fn, *args, eager=True, **kw)


def _skip_unsupported(xp, info):
    if xp.name not in info.backends:
        pytest.skip(f"{info.name} does not support {xp.name}")
    if not has(info, "reduction"):
        pytest.skip("no reduction argument")


def _close(a, b, err=""):
    assert_close(a, b, rtol=1e-9, atol=1e-10, err_msg=err)


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_sum_is_sum_of_none(xp, info):
    _skip_unsupported(xp, info)

    @_given(xp, SEEDS)
    def check(seed):
        args, kw = example(info, seed)
        kw = without(kw, "reduction")
        none = ev(xp, info.fn, *args, reduction="none", **kw)
        total = ev(xp, info.fn, *args, reduction="sum", **kw)
        _close(total, none.sum())

    check()


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_nonnegative_divergence(xp, info):
    _skip_unsupported(xp, info)
    rule = NONNEG.get(info.name, NONNEG_FAMILY.get(info.family, False))

    @_given(xp, SEEDS)
    def check(seed):
        args, kw = example(info, seed)
        ok = rule(kw) if callable(rule) else rule
        if not ok:
            return
        none = ev(xp, info.fn, *args, **without(kw, "reduction"), reduction="none")
        assert np.all(none >= -1e-12), none.min()

    if not (callable(rule) or rule):
        pytest.skip(f"{info.name} is not declared a divergence")
    check()


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_zero_at_perfect_prediction(xp, info):
    _skip_unsupported(xp, info)
    build = PERFECT.get(info.name, PERFECT.get(info.family))
    if build is None:
        pytest.skip(f"no perfect-prediction expectation declared for {info.name}")
    if build(*example(info), info) is None:
        pytest.skip("no perfect prediction for this signature")

    @_given(xp, SEEDS)
    def check(seed):
        args, kw = build(*example(info, seed), info)
        kw = without(kw, "reduction")
        none = ev(xp, info.fn, *args, reduction="none", **kw)
        atol = PERFECT_ATOL.get(info.name, 1e-7)
        assert_close(none, np.zeros_like(none), atol=atol, err_msg="loss at a perfect prediction")

    check()


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_batch_permutation_invariance(xp, info):
    _skip_unsupported(xp, info)
    if not batch_separable(info, *example(info)):
        pytest.skip("the unreduced loss has no per-sample leading axis")

    @_given(xp, SEEDS, st.randoms(use_true_random=False))
    def check(seed, r):
        args, kw = example(info, seed)
        kw = without(kw, "reduction")
        n = args[0].shape[0]
        perm = np.array(r.sample(range(n), n))
        pa, pk = take_batch(info, args, kw, perm)
        none = ev(xp, info.fn, *args, reduction="none", **kw)
        _close(ev(xp, info.fn, *pa, reduction="none", **pk), none[perm])
        for red in ("mean", "sum"):
            _close(
                ev(xp, info.fn, *pa, reduction=red, **pk),
                ev(xp, info.fn, *args, reduction=red, **kw),
                red,
            )

    check()


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_moving_the_class_axis(xp, info):
    _skip_unsupported(xp, info)
    args0, kw0 = example(info)
    name, ax = class_axis(info, args0, kw0)
    if name is None or args0[0].ndim < (3 if name == "channel_axis" else 2):
        pytest.skip("no class axis to move")

    @_given(xp, SEEDS, st.data())
    def check(seed, data):
        args, kw = example(info, seed)
        kw = without(kw, "reduction")
        x = args[0]
        # channel_axis losses keep the batch on axis 0 (segmentation's layout)
        first = 1 if name == "channel_axis" else 0
        new = data.draw(st.sampled_from([a for a in range(first, x.ndim) if a != ax]))
        moved = [np.moveaxis(x, ax, new)]
        for a in args[1:]:
            moved.append(np.moveaxis(a, ax, new) if is_arr(a) and a.shape == x.shape else a)
        spelled = data.draw(st.sampled_from([new, new - x.ndim]))
        ref = ev(xp, info.fn, *args, reduction="none", **kw)
        out = ev(xp, info.fn, *moved, reduction="none", **{**kw, name: spelled})
        if ref.shape == out.shape:
            _close(out, ref)
        for red in ("mean", "sum"):
            _close(
                ev(xp, info.fn, *moved, reduction=red, **{**kw, name: spelled}),
                ev(xp, info.fn, *args, reduction=red, **kw),
                red,
            )

    check()


def _loss_shape(info, args, kw):
    return loss_none(info, args, kw).shape


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_unit_weights_equal_no_weights(xp, info):
    _skip_unsupported(xp, info)
    if not has(info, "weight"):
        pytest.skip("no weight argument")

    @_given(xp, SEEDS)
    def check(seed):
        args, kw = example(info, seed)
        kw = without(kw, "reduction", "weight")
        ones = np.ones(_loss_shape(info, args, kw))
        for red in ("none", "mean", "sum"):
            _close(
                ev(xp, info.fn, *args, weight=ones, reduction=red, **kw),
                ev(xp, info.fn, *args, reduction=red, **kw),
                red,
            )

    check()


def _sample_shape(info, args, kw):
    """Shape of a per-sample array broadcasting to the unreduced loss."""
    shape = _loss_shape(info, args, kw)
    return (shape[0],) + (1,) * (len(shape) - 1)


def _weighted_case(info, xp):
    if not has(info, "weight"):
        pytest.skip("no weight argument")
    if not batch_separable(info, *example(info)):
        pytest.skip("the unreduced loss has no per-sample leading axis")


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_zero_weight_removes_the_sample(xp, info):
    _skip_unsupported(xp, info)
    _weighted_case(info, xp)

    @_given(xp, SEEDS, st.data())
    def check(seed, data):
        args, kw = example(info, seed)
        kw = without(kw, "reduction", "weight")
        n = args[0].shape[0]
        drop = data.draw(st.integers(0, n - 1))
        w = np.ones(_sample_shape(info, args, kw))
        w[drop] = 0.0
        keep = np.array([i for i in range(n) if i != drop])
        ka, kk = take_batch(info, args, kw, keep)
        _close(
            ev(xp, info.fn, *args, weight=w, reduction="sum", **kw),
            ev(xp, info.fn, *ka, reduction="sum", **kk),
        )

    check()


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_integer_weights_repeat_the_sample(xp, info):
    _skip_unsupported(xp, info)
    _weighted_case(info, xp)

    @_given(xp, SEEDS, st.data())
    def check(seed, data):
        args, kw = example(info, seed)
        kw = without(kw, "reduction", "weight")
        n = args[0].shape[0]
        reps = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
        w = reps.reshape(_sample_shape(info, args, kw)).astype(np.float64)
        ra, rk = take_batch(info, args, kw, np.repeat(np.arange(n), reps))
        _close(
            ev(xp, info.fn, *args, weight=w, reduction="sum", **kw),
            ev(xp, info.fn, *ra, reduction="sum", **rk),
        )

    check()


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_masking_equals_removing(xp, info):
    _skip_unsupported(xp, info)
    if not has(info, "mask"):
        pytest.skip("no mask argument")
    if not batch_separable(info, *example(info)):
        pytest.skip("the unreduced loss has no per-sample leading axis")

    @_given(xp, SEEDS, st.data())
    def check(seed, data):
        args, kw = example(info, seed)
        kw = without(kw, "reduction", "mask")
        n = args[0].shape[0]
        keep = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        keep[data.draw(st.integers(0, n - 1))] = True
        m = keep.reshape(_sample_shape(info, args, kw))
        ka, kk = take_batch(info, args, kw, np.flatnonzero(keep))
        for red in ("mean", "sum"):
            _close(
                ev(xp, info.fn, *args, mask=m, reduction=red, **kw),
                ev(xp, info.fn, *ka, reduction=red, **kk),
                red,
            )

    check()
