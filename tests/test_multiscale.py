"""Deep supervision against a float64 NumPy reference and live MONAI ``DeepSupervisionLoss``.

The reference resizes with its own half-pixel nearest rule
(``floor((i + 0.5) * n_in / n_out)``, torch's ``"nearest-exact"``) and sums
the weighted losses of each level.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, run

import corelosses as cl
from corelosses.multiscale import deep_supervision


# ----------------------------------------------------------------- references
def ref_resize(a, size):
    """Nearest-exact resize of the trailing ``len(size)`` axes of ``a``."""
    a = np.asarray(a)
    k = len(size)
    for j, n_out in enumerate(size):
        ax = a.ndim - k + j
        n_in = a.shape[ax]
        idx = np.minimum(np.floor((np.arange(n_out) + 0.5) * n_in / n_out).astype(int), n_in - 1)
        a = np.take(a, idx, axis=ax)
    return a


def ref_weights(mode, levels):
    if mode == "same":
        return [1.0] * levels
    if mode == "two":
        return [1.0] + [0.5] * (levels - 1)
    return [max(2.0**-i, 1 / 16) for i in range(levels)]


def ref_mse(preds, y, weights):
    total = 0.0
    for w, p in zip(weights, preds):
        t = ref_resize(y, p.shape[2:])
        total += w * np.mean((np.asarray(p, float) - t) ** 2)
    return total


def _levels(rng, sizes, n=2, c=1):
    return [rng.normal(size=(n, c) + s) for s in sizes]


SIZES = [(8, 6), (4, 3), (3, 5), (2, 2)]  # integer factors and gathers


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("mode", ["exp", "same", "two"])
def test_weight_modes_reference(xp, rng, mode):
    preds = _levels(rng, SIZES)
    y = rng.normal(size=(2, 1, 8, 6))
    f = deep_supervision(cl.mse_loss, weight_mode=mode)
    out = run(xp, lambda *a: f(list(a[:-1]), a[-1]), *preds, y)
    assert_close(out, ref_mse(preds, y, ref_weights(mode, len(preds))))


def test_explicit_weights_and_kwargs(xp, rng):
    preds = _levels(rng, SIZES[:3])
    y = rng.normal(size=(2, 1, 8, 6))
    f = deep_supervision(cl.mse_loss, weights=[0.2, 0.0, 3.0, 9.0])  # extra weights ignored
    out = run(xp, lambda *a: f(list(a[:-1]), a[-1]), *preds, y)
    assert_close(out, ref_mse(preds, y, [0.2, 0.0, 3.0]))
    # keyword options reach the loss; a tuple works as a list
    out = run(xp, lambda *a: f(tuple(a[:-1]), a[-1], reduction="sum"), *preds, y)
    want = sum(
        w * np.sum((p - ref_resize(y, p.shape[2:])) ** 2) for w, p in zip([0.2, 0.0, 3.0], preds)
    )
    assert_close(out, want)


def test_exp_weights_floor():
    # MONAI: max(0.5**i, 1/16), not normalised
    f = deep_supervision(lambda x, t: 1.0)
    preds = [np.zeros((1, 1, 2))] * 7
    assert f(preds, np.zeros((1, 1, 2))) == pytest.approx(1 + 0.5 + 0.25 + 0.125 + 3 * 0.0625)
    assert deep_supervision(lambda x, t: 1.0, weight_mode="two")(preds, preds[0]) == 4.0


def test_single_array_passthrough(xp, rng):
    x = rng.normal(size=(2, 1, 4, 4))
    y = rng.normal(size=(2, 1, 4, 4))
    f = deep_supervision(cl.mse_loss, weights=[5.0])
    assert_close(run(xp, f, x, y), np.mean((x - y) ** 2))  # MONAI: no weight for one array


def test_class_index_target(xp, rng):
    preds = [rng.normal(size=(2, 3) + s) for s in [(8, 6), (4, 3), (3, 5)]]
    y = rng.integers(0, 3, size=(2, 8, 6))
    f = deep_supervision(cl.dice_loss, weight_mode="same")
    out = run(xp, lambda *a: f(list(a[:-1]), a[-1]), *preds, y)
    want = sum(float(cl.dice_loss(p, ref_resize(y, p.shape[2:]))) for p in preds)
    assert_close(out, want)


def test_linear_resize_matches_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    preds = _levels(rng, [(8, 6), (3, 4), (5, 9)])
    y = rng.normal(size=(2, 1, 8, 6))
    f = deep_supervision(cl.mse_loss, resize="linear")
    want = 0.0
    for w, p in zip(ref_weights("exp", 3), preds):
        t = F.interpolate(torch.from_numpy(y), size=p.shape[2:], mode="bilinear").numpy()
        want += w * np.mean((p - t) ** 2)
    assert_close(f(preds, y), want)
    assert_close(f([torch.from_numpy(p) for p in preds], torch.from_numpy(y)).numpy(), want)


# ------------------------------------------------------------------- MONAI
def _monai(preds, y, mode, loss="dice", requires_grad=False):
    torch = pytest.importorskip("torch")
    pytest.importorskip("monai")
    from monai.losses import DeepSupervisionLoss, DiceLoss

    inner = DiceLoss(softmax=True) if loss == "dice" else torch.nn.MSELoss()
    ts = [torch.from_numpy(p).requires_grad_(requires_grad) for p in preds]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = DeepSupervisionLoss(inner, weight_mode=mode)(ts, torch.from_numpy(y))
    if not requires_grad:
        return out.detach().numpy()
    gs = torch.autograd.grad(out, ts)
    return out.detach().numpy(), [g.numpy() for g in gs]


def _dice_case(rng):
    # float32: MONAI casts every prediction to float32
    preds = [rng.normal(size=(2, 3) + s).astype(np.float32) for s in [(8, 6), (4, 3), (3, 5)]]
    idx = rng.integers(0, 3, size=(2, 1, 8, 6))
    onehot = (idx == np.arange(3).reshape(1, 3, 1, 1)).astype(np.float32)
    return preds, onehot


@pytest.mark.parametrize("mode", ["exp", "two"])
def test_matches_monai_dice(xp, rng, mode):
    preds, y = _dice_case(rng)
    want = _monai(preds, y, mode)
    f = deep_supervision(cl.dice_loss, weight_mode=mode)
    out = run(xp, lambda *a: f(list(a[:-1]), a[-1], smooth=1e-5), *preds, y)
    assert_close(out, want, dtype="float32", rtol=1e-5)


def test_matches_monai_mse(xp, rng):
    preds = [p.astype(np.float32) for p in _levels(rng, SIZES, c=2)]
    y = rng.normal(size=(2, 2, 8, 6)).astype(np.float32)
    want = _monai(preds, y, "same", loss="mse")
    f = deep_supervision(cl.mse_loss, weight_mode="same")
    out = run(xp, lambda *a: f(list(a[:-1]), a[-1]), *preds, y)
    assert_close(out, want, dtype="float32", rtol=1e-5)


def test_gradient_matches_monai(ad, rng):
    preds, y = _dice_case(rng)
    _, g_ref = _monai(preds, y, "exp", requires_grad=True)
    f = deep_supervision(cl.dice_loss)
    gs = grad(ad, lambda *a: f(list(a[:-1]), a[-1], smooth=1e-5), *preds, y, argnums=(0, 1, 2))
    for g, r in zip(gs, g_ref):
        assert_close(g, r, dtype="float32", rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_torch_compile_fullgraph(rng):
    torch = pytest.importorskip("torch")
    preds = _levels(rng, SIZES[:3])
    y = rng.normal(size=(2, 1, 8, 6))
    f = deep_supervision(cl.mse_loss)
    tp = [torch.from_numpy(p) for p in preds]
    out = compile_fullgraph(lambda *a: f(list(a[:-1]), a[-1]), *tp, torch.from_numpy(y))
    assert_close(out.numpy(), ref_mse(preds, y, ref_weights("exp", 3)))


# --------------------------------------------------------------- bad input
def test_bad_input():
    x = [np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2))]
    y = np.zeros((1, 1, 4, 4))
    with pytest.raises(TypeError, match="loss_fn"):
        deep_supervision("mse")
    with pytest.raises(ValueError, match="weight_mode"):
        deep_supervision(cl.mse_loss, weight_mode="linear")
    with pytest.raises(ValueError, match="resize"):
        deep_supervision(cl.mse_loss, resize="cubic")
    with pytest.raises(ValueError, match="weights"):
        deep_supervision(cl.mse_loss, weights=[1.0, -0.5])
    with pytest.raises(ValueError, match="weights"):
        deep_supervision(cl.mse_loss, weights=[1.0, float("inf")])
    with pytest.raises(TypeError, match="weights"):
        deep_supervision(cl.mse_loss, weights=0.5)
    with pytest.raises(TypeError, match="spatial_dims"):
        deep_supervision(cl.mse_loss, spatial_dims=2.0)
    with pytest.raises(ValueError, match="spatial_dims"):
        deep_supervision(cl.mse_loss, spatial_dims=0)
    with pytest.raises(ValueError, match="weights"):
        deep_supervision(cl.mse_loss, weights=[1.0])(x, y)
    with pytest.raises(ValueError, match="at least one"):
        deep_supervision(cl.mse_loss)([], y)
    with pytest.raises(TypeError, match="linear"):
        g = deep_supervision(cl.dice_loss, resize="linear")
        g([np.zeros((1, 2, 2, 2))], np.zeros((1, 4, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="spatial axes"):
        deep_supervision(cl.mse_loss, spatial_dims=3)(x, y[0, 0])
    f = deep_supervision(cl.mse_loss)
    assert f.__name__ == "deep_supervision_mse_loss"
