"""jaccard_loss, dice_ce_loss, dice_focal_loss against MONAI live (value and gradient),
float64 NumPy references, reductions, masks, jit and bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _helpers import assert_close, grad, run

import corelosses as cl
from corelosses.dice_combo import dice_ce_loss, dice_focal_loss, jaccard_loss

torch = pytest.importorskip("torch")


def _case(rng, n=2, c=3, shape=(4, 5)):
    x = rng.normal(size=(n, c) + shape) * 2
    y = rng.integers(0, c, size=(n,) + shape)
    y[1] = np.where(y[1] == c - 1, 0, y[1])  # the last class absent from sample 1
    return x, y


def _onehot(idx, c):
    return (idx[:, None] == np.arange(c).reshape((1, c) + (1,) * (idx.ndim - 1))).astype(float)


def _tt(a, grad=False):
    t = torch.tensor(np.asarray(a))
    return t.requires_grad_(True) if grad else t


def _both(ref_fn, our_fn, x):
    a, b = _tt(x, True), _tt(x, True)
    ref, ours = ref_fn(a), our_fn(b)
    (ga,) = torch.autograd.grad(ref, a)
    (gb,) = torch.autograd.grad(ours, b)
    return ref.detach(), ours.detach(), ga, gb


# ------------------------------------------------------------------ jaccard
def test_jaccard_reference(xp, rng):
    x, y = _case(rng)
    e = np.exp(x - x.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    t = _onehot(y, 3)
    inter = (p * t).sum((2, 3))
    union = p.sum((2, 3)) + t.sum((2, 3)) - inter
    want = 1 - (inter + 0.5) / (union + 0.5)
    assert_close(run(xp, jaccard_loss, x, y, smooth=0.5, reduction="none"), want)
    got = run(xp, cl.dice_loss, x, y, smooth=0.5, jaccard=True, reduction="none")
    assert_close(got, want)


@pytest.mark.parametrize("kw", [{}, {"squared_pred": True, "include_background": False}])
def test_jaccard_matches_monai(rng, kw):
    from monai.losses import DiceLoss

    x, y = _case(rng)
    peer = DiceLoss(
        jaccard=True, softmax=True, to_onehot_y=True, smooth_nr=0.2, smooth_dr=0.4, **kw
    )
    ref, ours, ga, gb = _both(
        lambda a: peer(a, _tt(y[:, None])),
        lambda b: jaccard_loss(b, _tt(y), smooth_nr=0.1, smooth_dr=0.2, **kw),
        x,
    )
    assert_close(ours, ref, rtol=2e-6)
    assert_close(gb, ga, rtol=2e-5, atol=1e-8)


# ------------------------------------------------------------------ dice + CE
CE_CASES = [
    ({}, {}, "idx"),
    (
        {"include_background": False, "weight": [0.5, 1.0, 2.0], "lambda_ce": 0.7},
        {"include_background": False, "class_weight": [0.5, 1.0, 2.0], "lambda_ce": 0.7},
        "idx",
    ),
    ({"label_smoothing": 0.1, "reduction": "sum"}, {"label_smoothing": 0.1, "reduction": "sum"}, "idx"),
    ({"jaccard": True, "lambda_dice": 0.3}, {"jaccard": True, "lambda_dice": 0.3}, "idx"),
    ({"batch": True, "squared_pred": True}, {"batch": True, "squared_pred": True}, "idx"),
    ({"weight": [0.5, 1.0, 2.0]}, {"class_weight": [0.5, 1.0, 2.0]}, "onehot"),
]  # fmt: skip


@pytest.mark.parametrize("mkw,okw,kind", CE_CASES)
def test_dice_ce_matches_monai(rng, mkw, okw, kind):
    from monai.losses import DiceCELoss

    x, y = _case(rng)
    mkw = dict(mkw)
    if "weight" in mkw:
        mkw["weight"] = _tt(mkw["weight"])
        okw = dict(okw, class_weight=_tt(okw["class_weight"]))
    if kind == "idx":
        tm, to = _tt(y[:, None]), _tt(y)
        mkw["to_onehot_y"] = True
    else:
        tm = to = _tt(_onehot(y, 3))
    peer = DiceCELoss(softmax=True, smooth_nr=1e-5, smooth_dr=1e-5, **mkw)
    ref, ours, ga, gb = _both(
        lambda a: peer(a, tm), lambda b: dice_ce_loss(b, to, smooth=1e-5, **okw), x
    )
    assert_close(ours, ref, rtol=2e-6)
    assert_close(gb, ga, rtol=2e-5, atol=1e-8)


def test_dice_ce_binary_matches_monai(rng):
    from monai.losses import DiceCELoss

    x = rng.normal(size=(2, 1, 4, 5)) * 2
    y = (rng.uniform(size=(2, 4, 5)) > 0.5).astype(np.int64)
    w = _tt([2.0])
    peer = DiceCELoss(sigmoid=True, weight=w, smooth_nr=1e-5, smooth_dr=1e-5)
    ref, ours, ga, gb = _both(
        lambda a: peer(a, _tt(y[:, None].astype(float))),
        lambda b: dice_ce_loss(b, _tt(y), activation="sigmoid", class_weight=w, smooth=1e-5),
        x,
    )
    assert_close(ours, ref, rtol=1e-9)
    assert_close(gb, ga, rtol=1e-7, atol=1e-12)


# ---------------------------------------------------------------- dice + focal
FOCAL_CASES = [
    ({"gamma": 1.5, "alpha": 0.25}, {"gamma": 1.5, "alpha": 0.25}),
    ({"gamma": 2.0, "alpha": [0.2, 0.5, 0.8]}, {"gamma": 2.0, "alpha": [0.2, 0.5, 0.8]}),
    (
        {"include_background": False, "weight": [1.0, 2.0], "lambda_focal": 0.5},
        {"include_background": False, "class_weight": [9.0, 1.0, 2.0], "lambda_focal": 0.5},
    ),
    ({"reduction": "sum", "gamma": 0.0}, {"reduction": "sum", "gamma": 0.0}),
    ({"reduction": "sum", "alpha": 0.3, "jaccard": True}, {"reduction": "sum", "alpha": 0.3, "jaccard": True}),
]  # fmt: skip


@pytest.mark.parametrize("mkw,okw", FOCAL_CASES)
def test_dice_focal_matches_monai(rng, mkw, okw):
    from monai.losses import DiceFocalLoss

    x, y = _case(rng)
    mkw = dict(mkw)
    okw = {k: _tt(v) if isinstance(v, list) else v for k, v in okw.items()}
    if isinstance(mkw.get("alpha"), list):
        mkw["alpha"] = _tt(mkw["alpha"])
    peer = DiceFocalLoss(softmax=True, to_onehot_y=True, smooth_nr=1e-5, smooth_dr=1e-5, **mkw)
    ref, ours, ga, gb = _both(
        lambda a: peer(a, _tt(y[:, None])),
        lambda b: dice_focal_loss(b, _tt(y), smooth=1e-5, **okw),
        x,
    )
    # MONAI's FocalLoss runs in float32
    assert_close(ours, ref, rtol=1e-6)
    assert_close(gb, ga, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("ib,alpha", [(True, 0.25), (False, None), (True, [0.2, 0.5, 0.8])])
def test_dice_focal_softmax_matches_monai_parts(rng, ib, alpha):
    from monai.losses import DiceLoss, FocalLoss

    x, y = _case(rng)
    a_t = _tt(alpha) if isinstance(alpha, list) else alpha
    dice = DiceLoss(
        softmax=True, to_onehot_y=True, include_background=ib, smooth_nr=1e-5, smooth_dr=1e-5
    )
    focal = FocalLoss(
        use_softmax=True, to_onehot_y=True, include_background=ib, gamma=2.0, alpha=a_t
    )
    ref, ours, ga, gb = _both(
        lambda a: dice(a, _tt(y[:, None])) + focal(a, _tt(y[:, None])),
        lambda b: dice_focal_loss(
            b, _tt(y), smooth=1e-5, focal="softmax", include_background=ib, alpha=a_t
        ),
        x,
    )
    assert_close(ours, ref, rtol=1e-6)
    assert_close(gb, ga, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- reductions, masks
@pytest.mark.parametrize("fn", [dice_ce_loss, dice_focal_loss])
def test_sum_is_sum_of_none(xp, rng, fn):
    x, y = _case(rng)
    none = run(xp, fn, x, y, reduction="none")
    assert none.shape == (2,)
    assert_close(none.sum(), run(xp, fn, x, y, reduction="sum"))
    assert np.isfinite(run(xp, fn, x, y)).all()


@pytest.mark.parametrize("fn", [dice_ce_loss, dice_focal_loss, jaccard_loss])
def test_masks_nan_safe(ad, rng, fn):
    x, y = _case(rng)
    m = np.ones((2, 4, 5), dtype=bool)
    m[0, 1:3, 2:] = False
    xn = x.copy()
    xn[0, :, 1:3, 2:] = np.nan
    assert_close(run(ad, fn, xn, y, mask=m), run(ad, fn, x, y, mask=m))
    g = grad(ad, fn, xn, y, mask=m)[0]
    assert np.isfinite(g).all() and np.all(g[0, :, 1:3, 2:] == 0)
    if fn is jaccard_loss:
        return
    # ignore_index is the same pixel mask
    yi = np.where(m, y, 255)
    assert_close(run(ad, fn, x, yi, ignore_index=255), run(ad, fn, x, y, mask=m))
    # a per-sample mask: NaN in a masked sample reaches nothing
    xs = x.copy()
    xs[1] = np.nan
    sm = np.array([True, False])
    out = run(ad, fn, xs, y, mask=sm, reduction="none")
    assert out[1] == 0 and np.isfinite(out).all()
    g = grad(ad, fn, xs, y, mask=sm)[0]
    assert np.isfinite(g).all() and np.all(g[1] == 0)


def test_extremes_finite(ad):
    x = np.zeros((2, 3, 3, 3))
    x[:, 0] = 60.0
    y = np.zeros((2, 3, 3), dtype=np.int64)  # all background
    for fn in (dice_ce_loss, dice_focal_loss, jaccard_loss):
        for kw in ({"smooth": 0.0}, {"smooth": 0.0, "include_background": False}):
            v = run(ad, fn, x, y, **kw)
            g = grad(ad, fn, x, y, **kw)[0]
            assert np.isfinite(v).all() and np.isfinite(g).all(), (fn, kw)


def test_registered_and_channels_last(rng):
    for name in ("jaccard_loss", "dice_ce_loss", "dice_focal_loss"):
        info = cl.get(name) if hasattr(cl, "get") else None
        from corelosses._registry import _CATALOG

        info = _CATALOG[name]
        assert info.family == "segmentation"
        args, kw = info.example(np.random.default_rng(0))
        assert np.isfinite(float(info.fn(*args, **kw)))
    x, y = _case(rng)
    xl = np.moveaxis(x, 1, -1)
    for fn in (dice_ce_loss, dice_focal_loss):
        assert_close(fn(xl, y, channel_axis=-1), fn(x, y))


# ---------------------------------------------------------------- bad input
def test_bad_input():
    rng = np.random.default_rng(0)
    x, y = _case(rng)
    with pytest.raises(ValueError, match="lambda_dice"):
        dice_ce_loss(x, y, lambda_dice=-1.0)
    with pytest.raises(ValueError, match="lambda_focal"):
        dice_focal_loss(x, y, lambda_focal=float("inf"))
    with pytest.raises(ValueError, match="focal"):
        dice_focal_loss(x, y, focal="tanh")
    with pytest.raises(ValueError, match="class_weight"):
        dice_ce_loss(x, y, class_weight=np.ones(2))
    with pytest.raises(ValueError, match="class_weight"):
        dice_focal_loss(x, y, class_weight=np.ones(4))
    with pytest.raises(ValueError, match="alpha"):
        dice_focal_loss(x, y, alpha=np.ones(2))
    with pytest.raises(ValueError, match="batch"):
        dice_ce_loss(x, y, batch=True, reduction="none")
    with pytest.raises(ValueError, match="mask"):
        dice_ce_loss(x, y, mask=np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match="reduction"):
        dice_focal_loss(x, y, reduction="avg")
    with pytest.raises(ValueError, match="target"):
        dice_ce_loss(x, y[:, :2])
    with pytest.raises(TypeError, match="soft_label"):
        jaccard_loss(x, y, average=None, soft_label=1)


@pytest.mark.slow
@pytest.mark.parametrize("fn", [dice_ce_loss, dice_focal_loss])
def test_torch_compile_fullgraph(rng, fn):
    from _helpers import compile_fullgraph

    x, y = _case(rng)
    out = compile_fullgraph(fn, _tt(x), _tt(y), include_background=False)
    assert_close(out, fn(x, y, include_background=False))


def test_onehot_ignore_index_equals_index_form(xp, rng):
    x, y = _case(rng)
    for fn in (dice_ce_loss, dice_focal_loss):
        a = run(xp, fn, x, y, ignore_index=1, reduction="none")
        b = run(xp, fn, x, _onehot(y, 3), ignore_index=1, reduction="none")
        assert_close(a, b)


def test_keras_wrapper_gives_the_combined_mean():
    """The combos' "mean" is not the mean of their "none" values: the generated Keras
    loss must return the function's own mean (``corelosses check``'s keras cell; Keras
    picks its backend at import, so in a process of its own)."""
    import importlib.util
    import subprocess
    import sys

    pytest.importorskip("jax")
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed")
    code = (
        "import sys; from corelosses._tools.cli import main; "
        "sys.exit(main(['check', 'dice_ce_loss', 'dice_focal_loss', '--backends', 'keras']))"
    )
    env = dict(os.environ, KERAS_BACKEND="jax")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("PASS") >= 2, res.stdout
