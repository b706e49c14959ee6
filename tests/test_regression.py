"""Regression losses against float64 formulas and their peers."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, grad, run

import corelosses as cl


def ref(name, d, p):
    a = np.abs(d)
    if name == "mse_loss":
        return d**2
    if name == "l1_loss":
        return a
    if name == "huber_loss":
        return np.where(a < p, 0.5 * d**2, p * (a - 0.5 * p))
    if name == "smooth_l1_loss":
        return a if p == 0 else np.where(a < p, 0.5 * d**2 / p, a - 0.5 * p)
    return np.log(np.cosh(d))


CASES = [
    ("mse_loss", None),
    ("l1_loss", None),
    ("huber_loss", 1.0),
    ("huber_loss", 0.3),
    ("smooth_l1_loss", 1.0),
    ("smooth_l1_loss", 2.5),
    ("smooth_l1_loss", 0.0),
    ("log_cosh_loss", None),
]
OPT = {"huber_loss": "delta", "smooth_l1_loss": "beta"}


def _kw(name, p):
    return {OPT[name]: p} if name in OPT else {}


@pytest.mark.parametrize("name,p", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_reference(xp, rng, name, p, reduction):
    x, y = rng.normal(size=(4, 5)) * 2, rng.normal(size=(4, 5))
    w = rng.uniform(0.5, 2, size=(5,))
    r = ref(name, x - y, p) * w
    r = {"mean": r.mean(), "sum": r.sum(), "none": r}[reduction]
    got = run(xp, getattr(cl, name), x, y, weight=w, reduction=reduction, **_kw(name, p))
    assert_close(got, r)


@pytest.mark.parametrize("name,p", CASES)
def test_peer_torch(rng, name, p):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x, y = torch.from_numpy(rng.normal(size=(4, 5)) * 2), torch.from_numpy(rng.normal(size=(4, 5)))
    ours = getattr(cl, name)(x, y, reduction="none", **_kw(name, p))
    if name == "log_cosh_loss":
        peer = torch.log(torch.cosh(x - y))  # F has none: the definition
    else:
        peer = getattr(F, name)(x, y, reduction="none", **_kw(name, p))
    assert_close(ours, peer)


def test_peer_optax(rng):
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    x, y = jnp.asarray(rng.normal(size=8) * 3), jnp.asarray(rng.normal(size=8))
    assert_close(cl.mse_loss(x, y, reduction="none"), optax.squared_error(x, y), rtol=1e-6)
    assert_close(
        cl.huber_loss(x, y, delta=0.7, reduction="none"),
        optax.huber_loss(x, y, delta=0.7),
        rtol=1e-6,
    )
    assert_close(cl.log_cosh_loss(x, y, reduction="none"), optax.log_cosh(x, y), rtol=1e-6)


@pytest.mark.parametrize("name,p", CASES)
def test_extreme_differences_finite(ad, name, p):
    x = np.array([-1e4, -800.0, 0.0, 800.0, 1e4], dtype=np.float32)
    y = np.zeros_like(x)
    v = run(ad, getattr(cl, name), x, y, reduction="none", **_kw(name, p))
    (g,) = grad(ad, getattr(cl, name), x, y, **_kw(name, p))
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    if name == "log_cosh_loss":
        xd = x.astype(float)
        big = np.abs(xd) > 30  # cosh overflows; log cosh(d) = |d| - log 2 there
        expect = np.where(big, np.abs(xd) - np.log(2), np.log(np.cosh(np.where(big, 0.0, xd))))
        assert_close(v, expect, dtype="float32")


def test_partial_labels_mean_over_existing_labels(ad):
    # a regression head valid only where a label exists (NaN elsewhere)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([0.0, np.nan, 1.0, np.nan])
    v = run(ad, cl.mse_loss, x, y, ignore_value=float("nan"))
    assert_close(v, (1.0 + 4.0) / 2)  # not diluted by the missing labels
    (g,) = grad(ad, cl.mse_loss, x, y, ignore_value=float("nan"))
    assert_close(g, [1.0, 0.0, 2.0, 0.0])


def test_bad_input():
    with pytest.raises(ValueError, match="'delta'"):
        cl.huber_loss(np.zeros(2), np.zeros(2), delta=0.0)
    with pytest.raises(ValueError, match="'beta'"):
        cl.smooth_l1_loss(np.zeros(2), np.zeros(2), beta=-1.0)
    with pytest.raises(TypeError, match="'delta'"):
        cl.huber_loss(np.zeros(2), np.zeros(2), delta="1")
