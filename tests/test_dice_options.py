"""The dice family's MONAI/kornia options against the live peers, MONAI's own test
cases, an independent float64 NumPy reference, extremes, masks and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, grad, numeric_grad, run

import corelosses as cl

torch = pytest.importorskip("torch")


# ----------------------------------------------------------------- reference
def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _onehot(idx, c):
    return (idx[:, None] == np.arange(c).reshape((1, c) + (1,) * (idx.ndim - 1))).astype(float)


def ref_dice(
    x,
    y,
    *,
    snr=1.0,
    sdr=1.0,
    include_background=True,
    squared=False,
    jaccard=False,
    soft=False,
    w=None,
    batch=False,
    average=None,
):
    """Channels-first softmax probabilities against a one-hot/soft target (float64)."""
    p = _softmax(np.asarray(x, float))
    y = np.asarray(y, float)
    if not include_background:
        p, y = p[:, 1:], y[:, 1:]
    ax = tuple(range(2, p.ndim))
    if squared:
        ps, ys, inter = (p**2).sum(ax), (y**2).sum(ax), (p * y).sum(ax)
    else:
        ps, ys = p.sum(ax), y.sum(ax)
        inter = np.minimum(p, y).sum(ax) if soft else (p * y).sum(ax)
    if batch:
        ps, ys, inter = (a.sum(0, keepdims=True) for a in (ps, ys, inter))
    num, den = (inter, ps + ys - inter) if jaccard else (2 * inter, ps + ys)
    wc = np.ones(p.shape[1]) if w is None else np.asarray(w, float)
    if average == "micro":
        return 1 - ((wc * num).sum(1) + snr) / ((wc * den).sum(1) + sdr)
    loss = 1 - (num + snr) / (den + sdr)
    if average == "macro":
        pw = wc * (ys > 0)
        return np.where(pw.sum(1) > 0, (pw * loss).sum(1) / np.maximum(pw.sum(1), 1e-300), 1.0)
    return loss * wc


def _case(rng, n=2, c=3, shape=(4, 5)):
    x = rng.normal(size=(n, c) + shape) * 2
    y = rng.integers(0, c, size=(n,) + shape)
    y[1] = np.where(y[1] == c - 1, 0, y[1])  # the last class absent from sample 1
    return x, y


REF_CASES = [
    ({}, {}),
    ({"smooth_nr": 0.3, "smooth_dr": 0.7}, {"snr": 0.3, "sdr": 0.7}),
    ({"include_background": False}, {"include_background": False}),
    ({"squared_pred": True}, {"squared": True}),
    ({"jaccard": True, "smooth": 0.5}, {"jaccard": True, "snr": 0.5, "sdr": 0.5}),
    ({"batch": True}, {"batch": True}),
    ({"class_weight": np.array([0.5, 1.0, 2.0])}, {"w": [0.5, 1.0, 2.0]}),
    ({"average": "micro", "smooth": 0.0}, {"average": "micro", "snr": 0.0, "sdr": 0.0}),
    (
        {"average": "macro", "class_weight": np.array([0.5, 1.0, 2.0])},
        {"average": "macro", "w": [0.5, 1.0, 2.0]},
    ),
]


@pytest.mark.parametrize("ours,ref", REF_CASES)
def test_dice_options_match_reference(xp, rng, ours, ref):
    x, y = _case(rng)
    got = run(xp, cl.dice_loss, x, y, reduction="none", **ours)
    assert_close(got, ref_dice(x, _onehot(y, 3), **ref), dtype="float64")


def test_soft_label_reference_and_minimum(xp, rng):
    x, _ = _case(rng)
    t = rng.uniform(size=x.shape)
    got = run(xp, cl.dice_loss, x, t, soft_label=True, reduction="none")
    assert_close(got, ref_dice(x, t, soft=True))
    # soft_label: p = y is the minimum (0 at smooth=0); the plain form is not 0 there
    p = _softmax(x)
    zero = run(xp, cl.dice_loss, p, p, activation=None, soft_label=True, smooth=0.0)
    assert abs(float(zero)) < 1e-12
    assert float(run(xp, cl.dice_loss, p, p, activation=None, smooth=0.0)) > 0.1


@pytest.mark.parametrize("kw", [{"jaccard": True, "squared_pred": True}, {"average": "macro"}])
def test_gradient_vs_finite_differences(rng, kw):
    x, y = _case(rng, shape=(3, 3))
    g = grad(cl.testing.backend("torch"), cl.dice_loss, x, y, **kw)[0]
    assert_close(g, numeric_grad(cl.dice_loss, x, y, **kw), rtol=1e-5, atol=1e-7)


# -------------------------------------------------------------- live MONAI
def _tt(a, grad=False):
    t = torch.tensor(np.asarray(a))
    return t.requires_grad_(True) if grad else t


MONAI_CASES = [
    # (loss, MONAI class, MONAI kwargs, our kwargs, target kind)
    ("dice_loss", "DiceLoss", {"include_background": False}, {"include_background": False}, "idx"),
    ("dice_loss", "DiceLoss", {"squared_pred": True}, {"squared_pred": True}, "idx"),
    ("dice_loss", "DiceLoss", {"jaccard": True, "smooth_nr": 0.2, "smooth_dr": 0.6},
     {"jaccard": True, "smooth_nr": 0.1, "smooth_dr": 0.3}, "idx"),
    ("dice_loss", "DiceLoss", {"soft_label": True}, {"soft_label": True}, "soft"),
    ("dice_loss", "DiceLoss", {"smooth_nr": 0.3, "smooth_dr": 0.7},
     {"smooth_nr": 0.3, "smooth_dr": 0.7}, "idx"),
    ("dice_loss", "DiceLoss", {"weight": [0.5, 1.0, 2.0]},
     {"class_weight": np.array([0.5, 1.0, 2.0])}, "idx"),
    ("dice_loss", "DiceLoss", {"batch": True, "include_background": False, "weight": [1.0, 3.0]},
     {"batch": True, "include_background": False, "class_weight": np.array([1.0, 3.0])}, "idx"),
    ("dice_loss", "DiceLoss", {"ignore_index": 1}, {"ignore_index": 1}, "idx"),
    ("dice_loss", "DiceLoss", {"ignore_index": 1}, {"ignore_index": 1}, "onehot"),
    ("dice_loss", "DiceLoss", {"ignore_index": 255}, {"ignore_index": 255}, "onehot_holes"),
    ("tversky_loss", "TverskyLoss",
     {"alpha": 0.3, "beta": 0.7, "include_background": False, "batch": True},
     {"alpha": 0.3, "beta": 0.7, "include_background": False, "batch": True}, "idx"),
    ("tversky_loss", "TverskyLoss", {"alpha": 0.2, "beta": 0.8, "soft_label": True},
     {"alpha": 0.2, "beta": 0.8, "soft_label": True}, "soft"),
    ("tversky_loss", "TverskyLoss", {"ignore_index": 0, "smooth_nr": 0.1, "smooth_dr": 0.4},
     {"ignore_index": 0, "smooth_nr": 0.1, "smooth_dr": 0.4}, "idx"),
    ("generalized_dice_loss", "GeneralizedDiceLoss", {}, {"normalize_weights": False}, "idx"),
    ("generalized_dice_loss", "GeneralizedDiceLoss", {"w_type": "simple", "batch": True},
     {"w_type": "simple", "batch": True, "normalize_weights": False}, "idx"),
    ("generalized_dice_loss", "GeneralizedDiceLoss",
     {"w_type": "uniform", "include_background": False},
     {"w_type": "uniform", "include_background": False, "normalize_weights": False}, "idx"),
    ("generalized_dice_loss", "GeneralizedDiceLoss", {"soft_label": True, "smooth_nr": 0.5},
     {"soft_label": True, "smooth_nr": 0.5, "smooth_dr": 1e-5, "normalize_weights": False},
     "soft"),
]  # fmt: skip


@pytest.mark.parametrize("name,cls,mkw,okw,kind", MONAI_CASES)
def test_options_match_monai_value_and_gradient(rng, name, cls, mkw, okw, kind):
    from monai import losses

    x, y = _case(rng)
    smooth = {} if "smooth_nr" in mkw else {"smooth_nr": 1e-5, "smooth_dr": 1e-5}
    osmooth = {} if "smooth_nr" in okw else {"smooth": 1e-5}
    if kind == "idx":
        tm, to = _tt(y[:, None]), _tt(y)
        mkw = dict(mkw, to_onehot_y=True)
    elif kind == "soft":
        t = rng.uniform(size=x.shape)
        tm, to = _tt(t), _tt(t)
    else:
        t = _onehot(y, 3)
        if kind == "onehot_holes":
            t[0, :, 1, :3] = 0.0  # unlabelled pixels
        tm, to = _tt(t), _tt(t)
    extra = {"alpha": okw["alpha"], "beta": okw["beta"]} if "alpha" in okw else {}
    mkw = {k: v for k, v in mkw.items() if k not in ("alpha", "beta")}
    peer = getattr(losses, cls)(softmax=True, reduction="sum", **smooth, **mkw, **extra)
    a, b = _tt(x, True), _tt(x, True)
    ref = peer(a, tm)
    okw = {k: _tt(v) if isinstance(v, np.ndarray) else v for k, v in okw.items()}
    ours = getattr(cl, name)(b, to, reduction="sum", **osmooth, **okw)
    (ga,) = torch.autograd.grad(ref, a)
    (gb,) = torch.autograd.grad(ours, b)
    # MONAI computes one-hot targets and GDL weights in float32
    assert_close(ours.detach(), ref.detach(), rtol=2e-6, atol=1e-9)
    assert_close(gb, ga, rtol=2e-5, atol=1e-7)


def test_callable_activation_matches_monai_other_act(rng):
    from monai import losses

    x, y = _case(rng)
    ref = losses.DiceLoss(other_act=torch.tanh, to_onehot_y=True)(_tt(x), _tt(y[:, None]))
    ours = cl.dice_loss(_tt(x), _tt(y), activation=torch.tanh, smooth=1e-5)
    assert_close(ours, ref, rtol=1e-9)
    # activation=None with check_range=False: the same numbers on tanh(x) itself
    t = np.tanh(x)
    assert_close(cl.dice_loss(t, y, activation=None, check_range=False, smooth=1e-5), ref)
    with pytest.raises(ValueError, match="probabilities"):
        cl.dice_loss(t, y, activation=None)


# -------------------------------------------------- MONAI's own test cases
_T = [[[1.0, -1.0], [-1.0, 1.0]]]
_IN2 = [[[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
_Y2 = [[0, 0, 0], [0, 0, 0]]
_Y2[0][0], _Y2[1][0], _Y2[1][1] = 1, 1, 1  # MONAI's (2, 1, 3) labels [[1,0,0]], [[1,1,0]]
_SOFT = [[[[0.3, 0.4], [0.7, 0.9]]], [[[1.0, 0.1], [0.5, 0.3]]]]
_SQ = (
    np.array([[[[1.0, -1.0], [-1.0, 1.0]]]]),
    np.array([[[[1.0, 0.0], [1.0, 1.0]]]]),
)
_TWO = (np.array([_T, _T]), np.array([[[[1.0, 1.0], [1.0, 1.0]]], [[[1.0, 0.0], [1.0, 0.0]]]]))
_TWO_B = (
    np.array([[[[1.0, -0.0], [-1.0, 1.0]]], [[[1.0, -1.0], [-1.0, 1.0]]]]),
    _TWO[1],
)


def _log_softmax(x):
    return torch.log_softmax(x, dim=1)


# (function, our kwargs, input, target, expected) from MONAI's tests/losses
# test_dice_loss.py and test_generalized_dice_loss.py (MONAI's smooth_nr / smooth_dr
# as ours; jaccard's halved; GDL with normalize_weights=False)
MONAI_DOC = [
    ("dice_loss", {"activation": "sigmoid", "smooth": 1e-6}, *_SQ, 0.307576),
    ("dice_loss", {"activation": "sigmoid", "smooth": 1e-4}, *_TWO, 0.416657),
    ("dice_loss", {"activation": None, "smooth": 1e-4, "soft_label": True},
     np.array(_SOFT), np.array(_SOFT), 0.0),
    ("dice_loss", {"activation": None, "smooth": 1e-4}, np.array(_SOFT), np.array(_SOFT), 0.307773),
    ("dice_loss", {"activation": "sigmoid", "smooth": 1e-4},
     np.array(_IN2), np.array(_Y2), 0.435050),
    ("dice_loss", {"activation": "softmax", "smooth": 1e-4},
     np.array(_IN2), np.array(_Y2), 0.383713),
    ("dice_loss", {"activation": "sigmoid", "squared_pred": True, "smooth": 1e-5}, *_SQ, 0.178337),
    ("dice_loss", {"activation": "sigmoid", "jaccard": True, "smooth": 0.5e-5}, *_SQ, 0.470451),
    ("dice_loss", {"activation": torch.tanh, "smooth": 1e-4}, *_TWO, 0.999963),
    ("dice_loss", {"activation": _log_softmax, "smooth": 1e-4},
     np.array(_IN2), np.array(_Y2), -8.522593),
    ("dice_loss", {"activation": torch.tanh, "smooth": 1e-4, "batch": True}, *_TWO_B, 0.774718),
    ("dice_loss", {"activation": torch.tanh, "smooth_nr": 0, "smooth_dr": 1e-4, "batch": True},
     *_TWO_B, 0.774733),
    ("dice_loss", {"activation": torch.tanh, "smooth_nr": 0, "smooth_dr": 1e-4}, *_TWO_B, 0.840058),
    ("dice_loss", {"activation": _log_softmax, "smooth": 1e-4, "class_weight": np.array([0.0, 1.0])},
     np.array(_IN2), np.array(_Y2), -8.268515),
    ("generalized_dice_loss", {"activation": "sigmoid", "smooth": 1e-6}, *_SQ, 0.307576),
    ("generalized_dice_loss", {"activation": "sigmoid", "smooth": 1e-4}, *_TWO, 0.416597),
    ("generalized_dice_loss", {"activation": None, "smooth": 1e-4, "soft_label": True},
     np.array(_SOFT), np.array(_SOFT), 0.0),
    ("generalized_dice_loss", {"activation": None, "smooth": 1e-4},
     np.array(_SOFT), np.array(_SOFT), 0.307748),
    ("generalized_dice_loss", {"activation": "sigmoid", "smooth": 1e-4},
     np.array(_IN2), np.array(_Y2), 0.469964),
    ("generalized_dice_loss", {"activation": "softmax", "smooth": 1e-4},
     np.array(_IN2), np.array(_Y2), 0.414507),
    ("generalized_dice_loss", {"activation": "softmax", "w_type": "simple", "smooth": 0},
     np.array([[[0.0, 10.0, 10.0, 10.0], [10.0, 0.0, 0.0, 0.0]]]), np.array([[1, 1, 0, 0]]),
     0.250023),
    ("generalized_dice_loss", {"activation": torch.tanh, "smooth": 1e-4}, *_TWO, 0.99970),
    ("generalized_dice_loss", {"activation": _log_softmax, "smooth": 1e-4},
     np.array(_IN2), np.array(_Y2), -0.097833),
]  # fmt: skip


@pytest.mark.parametrize("i", range(len(MONAI_DOC)))
def test_monai_documented_cases(i):
    name, kw, x, y, want = MONAI_DOC[i]
    if name == "generalized_dice_loss":
        kw = dict(kw, normalize_weights=False)
    kw = dict(kw, check_range=False) if kw.get("activation") is None else kw
    x, y = torch.tensor(x), torch.tensor(y)
    kw = {k: _tt(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    if y.dtype == torch.float64 and y.shape != x.shape:
        y = y.long()
    got = getattr(cl, name)(x, y, **kw)
    assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_generalized_dice_smoothing_normalised_vs_monai():
    """MONAI's test case 2: raw weights (MONAI) 0.416597, normalised ones 0.41666."""
    x, y = (torch.tensor(a) for a in _TWO)
    monai_form = cl.generalized_dice_loss(
        x, y, activation="sigmoid", smooth=1e-4, normalize_weights=False
    )
    ours = cl.generalized_dice_loss(x, y, activation="sigmoid", smooth=1e-4)
    assert_close(monai_form, 0.416597, rtol=1e-5)
    assert_close(ours, 0.416657, rtol=1e-5)  # = dice_loss here (one class)
    # at smooth=0 both forms agree
    a = cl.generalized_dice_loss(x, y, activation="sigmoid", smooth=0.0)
    b = cl.generalized_dice_loss(x, y, activation="sigmoid", smooth=0.0, normalize_weights=False)
    assert_close(a, b)


# -------------------------------------------------------------- live kornia
@pytest.mark.parametrize(
    "name,kw",
    [
        ("dice_loss", {"average": "micro"}),
        ("dice_loss", {"average": "macro"}),
        ("dice_loss", {"average": "macro", "weight": [0.5, 1.0, 2.0]}),
        ("dice_loss", {"average": "micro", "weight": [0.5, 1.0, 2.0]}),
        ("tversky_loss", {"alpha": 0.3, "beta": 0.7}),
    ],
)
def test_average_matches_kornia_value_and_gradient(rng, name, kw):
    kornia = pytest.importorskip("kornia")
    x, y = _case(rng)
    y[0, 0, :2] = -100  # kornia's default ignore_index
    a, b = _tt(x, True), _tt(x, True)
    kk = dict(kw)
    ok = {"smooth_nr": 0.0, "smooth_dr": 1e-8, "ignore_index": -100}
    if "weight" in kk:
        w = np.array(kk.pop("weight"))
        kk["weight"] = _tt(w)
        ok["class_weight"] = _tt(w)
    if name == "tversky_loss":
        ref = kornia.losses.tversky_loss(a, _tt(y), kk["alpha"], kk["beta"])
        ok.update(alpha=kk["alpha"], beta=kk["beta"], average="macro")
    else:
        ref = kornia.losses.dice_loss(a, _tt(y), **kk)
        ok["average"] = kk["average"]
    ours = getattr(cl, name)(b, _tt(y), **ok)
    assert_close(ours.detach(), ref.detach(), rtol=1e-9)
    (ga,) = torch.autograd.grad(ref, a)
    (gb,) = torch.autograd.grad(ours, b)
    assert_close(gb, ga, rtol=1e-7, atol=1e-12)


def test_macro_sample_without_present_class_is_one(xp):
    x = np.zeros((2, 3, 2, 2))
    y = np.zeros((2, 2, 2), dtype=np.int64)
    y[1] = 255
    out = run(xp, cl.dice_loss, x, y, average="macro", ignore_index=255, reduction="none")
    assert out[1] == 1.0 and 0 < out[0] < 1


# ----------------------------------------------------------------- extremes
EXTREME_OPTS = [
    {"include_background": False, "average": "macro"},
    {"batch": True, "soft_label": True, "squared_pred": True, "jaccard": True},
    {"average": "micro", "smooth_nr": 0.5},
]


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("kw", EXTREME_OPTS)
def test_extremes_finite_at_smooth_zero(ad, kw):
    """Empty classes, all background, confident logits: finite values and gradients."""
    x = np.zeros((2, 3, 3, 3))
    x[:, 0] = 40.0  # confident background everywhere
    y = np.zeros((2, 3, 3), dtype=np.int64)  # all background
    for name in ("dice_loss", "tversky_loss", "focal_tversky_loss", "generalized_dice_loss"):
        opts = dict(kw)
        if name in ("focal_tversky_loss", "generalized_dice_loss"):
            opts.pop("average", None)
        if name != "dice_loss":
            opts.pop("squared_pred", None)
            opts.pop("jaccard", None)
        opts = {"smooth": 0.0, **opts}
        v = run(ad, getattr(cl, name), x, y, **opts)
        g = grad(ad, getattr(cl, name), x, y, **opts)[0]
        assert np.isfinite(v).all() and np.isfinite(g).all(), (name, opts)
    # all background, predicted exactly, include_background=False: every kept class
    # is 0 / 0: loss 0 (with softmax the kept classes hold exp(-40): loss 1 each)
    p = _onehot(y, 3)
    v = run(ad, cl.dice_loss, p, y, activation=None, smooth=0.0, include_background=False,
            reduction="none")  # fmt: skip
    assert v.shape == (2, 2) and np.all(v == 0.0)


@pytest.mark.parametrize(
    "kw",
    [
        {"include_background": False, "average": "macro"},
        {"batch": True, "soft_label": True, "class_weight": np.array([1.0, 2.0, 0.5])},
        {"average": "micro", "squared_pred": True},
    ],
)
def test_pixel_mask_nan_safe(ad, rng, kw):
    x, y = _case(rng)
    m = np.ones((2, 4, 5), dtype=bool)
    m[0, 1:3, 2:] = False
    xn = x.copy()
    xn[0, :, 1:3, 2:] = np.nan
    clean = run(ad, cl.dice_loss, x, y, mask=m, **kw)
    dirty = run(ad, cl.dice_loss, xn, y, mask=m, **kw)
    assert_close(dirty, clean)
    g = grad(ad, cl.dice_loss, xn, y, mask=m, **kw)[0]
    assert np.isfinite(g).all() and np.all(g[0, :, 1:3, 2:] == 0)


def test_loss_mask_with_options(ad, rng):
    """A loss-level mask of the (N, C - 1) or (1, C) loss; NaN under it stays out."""
    x, y = _case(rng)
    xn = x.copy()
    xn[1] = np.nan
    m = np.array([[True, True], [False, False]])
    out = run(ad, cl.dice_loss, xn, y, include_background=False, mask=m, reduction="none")
    ref = run(ad, cl.dice_loss, x, y, include_background=False, reduction="none")
    assert out.shape == (2, 2) and np.all(out[1] == 0)
    assert_close(out[0], ref[0])
    g = grad(ad, cl.dice_loss, xn, y, include_background=False, mask=m)[0]
    assert np.isfinite(g).all() and np.all(g[1] == 0)
    mb = np.array([[True, False, True]])
    out = run(ad, cl.tversky_loss, x, y, batch=True, mask=mb, reduction="none")
    assert out.shape == (1, 3) and out[0, 1] == 0


def test_shapes_of_none(xp, rng):
    x, y = _case(rng)
    assert run(xp, cl.dice_loss, x, y, batch=True, reduction="none").shape == (1, 3)
    assert run(xp, cl.dice_loss, x, y, average="micro", reduction="none").shape == (2,)
    shape = run(xp, cl.tversky_loss, x, y, include_background=False, reduction="none").shape
    assert shape == (2, 2)
    assert run(xp, cl.generalized_dice_loss, x, y, batch=True, reduction="none").shape == (1,)


def test_focal_tversky_options(xp, rng):
    x, y = _case(rng)
    w = np.array([1.0, 2.0])
    kw = {"include_background": False, "class_weight": w, "smooth": 0.5}
    ft = run(
        xp, cl.focal_tversky_loss, x, y, gamma=1.0, alpha=0.5, beta=0.5, reduction="none", **kw
    )
    tv = run(xp, cl.tversky_loss, x, y, alpha=0.5, beta=0.5, reduction="none", **kw)
    assert_close(ft, tv)
    # separate smoothing: 1 - (TP + s_nr) / (TP + err + s_dr)
    a = run(xp, cl.focal_tversky_loss, x, y, gamma=2.0, smooth_nr=0.1, smooth_dr=0.3,
            reduction="none")  # fmt: skip
    b = run(xp, cl.tversky_loss, x, y, alpha=0.3, beta=0.7, smooth_nr=0.1, smooth_dr=0.3,
            reduction="none")  # fmt: skip
    assert_close(a, b**2)


def test_onehot_ignore_index_equals_index_form(xp, rng):
    x, y = _case(rng)
    y[0, 0] = 1
    for name in ("dice_loss", "tversky_loss", "generalized_dice_loss"):
        a = run(xp, getattr(cl, name), x, y, ignore_index=1, reduction="none")
        b = run(xp, getattr(cl, name), x, _onehot(y, 3), ignore_index=1, reduction="none")
        assert_close(a, b)


# ---------------------------------------------------------------- bad input
def test_bad_options():
    rng = np.random.default_rng(0)
    x, y = _case(rng)
    with pytest.raises(ValueError, match="w_type"):
        cl.generalized_dice_loss(x, y, w_type="cube")
    with pytest.raises(ValueError, match="average"):
        cl.dice_loss(x, y, average="weighted")
    with pytest.raises(ValueError, match="class_weight"):
        cl.dice_loss(x, y, class_weight=np.ones(4))
    with pytest.raises(ValueError, match="class_weight"):
        cl.dice_loss(x, y, include_background=False, class_weight=np.ones(3))
    with pytest.raises(ValueError, match="class_weight"):
        cl.tversky_loss(x, y, class_weight=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="class_weight"):
        cl.dice_loss(x, y, class_weight=-1.0)
    with pytest.raises(TypeError, match="include_background"):
        cl.dice_loss(x, y, include_background=0)
    with pytest.raises(TypeError, match="jaccard"):
        cl.dice_loss(x, y, jaccard="yes")
    with pytest.raises(TypeError, match="normalize_weights"):
        cl.generalized_dice_loss(x, y, normalize_weights=None)
    with pytest.raises(ValueError, match="smooth_nr"):
        cl.dice_loss(x, y, smooth_nr=-1.0)
    with pytest.raises(ValueError, match="smooth_dr"):
        cl.tversky_loss(x, y, smooth_dr=float("nan"))
    with pytest.raises(ValueError, match="activation"):
        cl.dice_loss(x, y, activation=lambda a: a[:, :1])
    with pytest.raises(TypeError, match="ignore_index"):
        cl.dice_loss(x, y, ignore_index=1.5)
    with pytest.raises(ValueError, match="mask"):  # batch: the loss is (1, C)
        cl.dice_loss(x, y, batch=True, mask=np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="probabilities"):
        cl.dice_loss(x, y, activation=None)


@pytest.mark.slow
def test_torch_compile_fullgraph_with_options(rng):
    from _helpers import compile_fullgraph

    x, y = _case(rng)
    kw = {"include_background": False, "batch": True, "soft_label": True, "average": "macro"}
    out = compile_fullgraph(cl.dice_loss, _tt(x), _tt(y), **kw)
    assert_close(out, cl.dice_loss(x, y, **kw))
    kw = {"w_type": "simple", "normalize_weights": False, "include_background": False}
    out = compile_fullgraph(cl.generalized_dice_loss, _tt(x), _tt(y), **kw)
    assert_close(out, cl.generalized_dice_loss(x, y, **kw))
