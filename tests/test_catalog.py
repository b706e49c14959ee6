"""Catalog-wide checks, run for every registered loss on every backend.

Each loss's catalog example gives float64 NumPy inputs; these tests check the
backends agree with NumPy, gradients agree with finite differences and
across torch and jax, ``torch.compile`` sees no graph break, reductions have
the right shapes, masks behave, and half precision computes in float32.
Family test files add the independent formula references and peers.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close, compile_fullgraph, grad, numeric_grad, run

import corelosses as cl

LOSSES = [i for i in cl.catalog() if i.example is not None and i.kind == "loss"]
IDS = [i.name for i in LOSSES]


def _example(info, seed=0):
    return info.example(np.random.default_rng(seed))


def _has_reduction(info):
    import inspect

    return "reduction" in inspect.signature(info.fn).parameters


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_value_matches_numpy_float64(xp, info):
    if xp.name not in info.backends:
        pytest.skip(f"{info.name} does not support {xp.name}")
    args, kw = _example(info)
    ref = np.asarray(info.fn(*args, **kw))
    out = run(xp, info.fn, *args, **kw)
    assert out.shape == ref.shape
    assert_close(out, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_gradient_matches_finite_differences(ad, info):
    if not info.grad_argnums or ad.name not in info.backends:
        pytest.skip("no differentiable argument")
    if info.extra.get("fd_gradient") is False:
        # weights held out of the gradient (stop-gradient): finite differences of the
        # value do not see that; the family tests check against the analytic gradient
        pytest.skip("gradient deliberately differs from d(value); checked torch vs jax")
    args, kw = _example(info)
    gs = grad(ad, info.fn, *args, argnums=info.grad_argnums, **kw)
    for i, g in zip(info.grad_argnums, gs):
        assert_close(g, numeric_grad(info.fn, *args, argnum=i, **kw), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_gradient_torch_equals_jax(info):
    import _backends

    if not {"torch", "jax"} <= set(_backends.selected()) or not info.grad_argnums:
        pytest.skip("needs torch and jax")
    args, kw = _example(info, seed=1)
    gt = grad(_backends.get("torch"), info.fn, *args, argnums=info.grad_argnums, **kw)
    gj = grad(_backends.get("jax"), info.fn, *args, argnums=info.grad_argnums, **kw)
    for a, b in zip(gt, gj):
        assert_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_compile_no_graph_break(info):
    torch = pytest.importorskip("torch")
    if "torch" not in info.backends:
        pytest.skip("torch not supported")
    args, kw = _example(info)
    targs = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    tkw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = compile_fullgraph(info.fn, *targs, **tkw)
    assert_close(out.detach().numpy(), info.fn(*args, **kw), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_reductions(xp, info):
    if not _has_reduction(info) or xp.name not in info.backends:
        pytest.skip("no reduction argument")
    args, kw = _example(info)
    kw = {k: v for k, v in kw.items() if k != "reduction"}
    none = run(xp, info.fn, *args, reduction="none", **kw)
    total = run(xp, info.fn, *args, reduction="sum", **kw)
    mean = run(xp, info.fn, *args, reduction="mean", **kw)
    assert total.shape == () and mean.shape == ()
    assert_close(total, none.sum(), rtol=1e-9, atol=1e-12)
    assert np.isfinite(mean)
    with pytest.raises(ValueError, match="reduction"):
        info.fn(*args, reduction="average", **kw)


def _mask_case(info):
    args, kw = _example(info)
    kw = {k: v for k, v in kw.items() if k not in ("reduction", "mask")}
    none = np.asarray(info.fn(*args, reduction="none", **kw))
    return args, kw, none.shape


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_mask_excludes_entries(xp, info):
    import inspect

    if "mask" not in inspect.signature(info.fn).parameters or xp.name not in info.backends:
        pytest.skip("no mask argument")
    args, kw, shape = _mask_case(info)
    m = np.random.default_rng(3).uniform(size=shape) > 0.4
    if info.extra.get("mask") == "renormalised":
        # masked entries also leave the loss's own normalisation (IoU-balanced
        # weights): compare with the masked unreduced loss instead
        none = np.asarray(info.fn(*args, mask=m, reduction="none", **kw))
        assert np.all(none[~m] == 0)
    else:
        none = np.asarray(info.fn(*args, reduction="none", **kw))
    total = run(xp, info.fn, *args, mask=m, reduction="sum", **kw)
    assert_close(total, none[m].sum(), rtol=1e-9, atol=1e-12)
    if info.extra.get("mean") != "weighted":  # e.g. class weights divide by their sum
        out = run(xp, info.fn, *args, mask=m, **kw)
        assert_close(out, none[m].sum() / max(m.sum(), 1), rtol=1e-9, atol=1e-12)
    # all masked: exactly 0, never NaN
    allm = run(xp, info.fn, *args, mask=np.zeros(shape, dtype=bool), **kw)
    assert float(allm) == 0.0


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_nan_under_mask_gives_zero_gradient(ad, info):
    import inspect

    if "mask" not in inspect.signature(info.fn).parameters or ad.name not in info.backends:
        pytest.skip("no mask argument")
    args, kw, shape = _mask_case(info)
    x = np.array(args[0], dtype=np.float64)
    if x.shape != shape:
        pytest.skip("mask does not align with input elementwise (covered in family tests)")
    m = np.ones(shape, dtype=bool)
    m.reshape(-1)[::3] = False
    x[~m] = np.nan
    args = (x, *args[1:])
    val = run(ad, info.fn, *args, mask=m, **kw)
    assert np.isfinite(val)
    (g,) = grad(ad, info.fn, *args, mask=m, argnums=(0,), **kw)
    assert np.all(np.isfinite(g))
    assert np.all(g[~m] == 0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_half_precision_computes_in_float32(ad, info, dtype):
    if ad.name not in info.backends or not info.grad_argnums:
        pytest.skip("not supported")
    args, kw = _example(info)
    if ad.name == "torch":
        import torch

        dt = getattr(torch, dtype)
        x = torch.from_numpy(args[0]).to(dt)
        x32 = x.float()
    else:
        import jax.numpy as jnp

        x = jnp.asarray(args[0]).astype(getattr(jnp, dtype))
        x32 = x.astype(jnp.float32)
    rest = [ad.asarray(a) if isinstance(a, np.ndarray) else a for a in args[1:]]
    kwa = {k: ad.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    # other float inputs in float32 too, so the only difference is the input's storage
    rest = (
        [
            r.astype("float32") if hasattr(r, "dtype") and "float64" in str(r.dtype) else r
            for r in rest
        ]
        if ad.name == "jax"
        else [r.float() if hasattr(r, "dtype") and r.dtype.is_floating_point else r for r in rest]
    )
    kwa = {
        k: (v.astype("float32") if ad.name == "jax" else v.float())
        if hasattr(v, "dtype") and "float64" in str(v.dtype)
        else v
        for k, v in kwa.items()
    }
    out = info.fn(x, *rest, **kwa)
    ref = info.fn(x32, *rest, **kwa)
    assert "float32" in str(out.dtype)
    np.testing.assert_allclose(
        np.asarray(ad.to_numpy(out)), np.asarray(ad.to_numpy(ref)), rtol=1e-6
    )


def test_catalog_lists_every_builtin_loss():
    names = {i.name for i in cl.catalog()}
    for n in (
        "binary_cross_entropy",
        "cross_entropy",
        "focal_loss",
        "softmax_focal_loss",
        "mse_loss",
        "l1_loss",
        "huber_loss",
        "smooth_l1_loss",
        "log_cosh_loss",
    ):
        assert n in names
        info = cl.get(n)
        assert info.reference and info.family in ("classification", "regression")
        assert {"numpy", "torch", "jax", "dask", "array_api_strict"} <= set(info.backends)
