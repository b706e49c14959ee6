"""Catalog-wide checks, run for every registered loss on every backend.

Each loss's catalog example gives float64 NumPy inputs; these tests check the
backends agree with NumPy, gradients agree with finite differences and
across torch and jax, ``torch.compile`` sees no graph break, reductions have
the right shapes, masks behave, and half precision computes in float32.
Family test files add the independent formula references and peers. The checks
are those of the public kit (corelosses.testing), which third parties run on
their own losses: one implementation, dogfooded.
"""

from __future__ import annotations

import pytest

import corelosses as cl
import corelosses.testing as kit

LOSSES = [i for i in cl.catalog() if i.example is not None and i.kind == "loss"]
IDS = [i.name for i in LOSSES]
EXAMPLES = [i for i in cl.catalog() if i.example is not None]  # losses, penalties, schedules...


def _has_reduction(info):
    import inspect

    return "reduction" in inspect.signature(info.fn).parameters


def _backend_ok(tb, info):
    if tb.name not in info.backends:
        pytest.skip(f"{info.name} does not support {tb.name}")


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_value_matches_numpy_float64(xp, info):
    _backend_ok(xp, info)
    kit.check_value(info.fn, info.example, xp.name)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_gradient_matches_finite_differences(ad, info):
    _backend_ok(ad, info)
    opts = kit.catalog_options(info)
    if not info.grad_argnums:
        pytest.skip("no differentiable argument")
    if not opts["fd_gradient"]:
        # weights held out of the gradient (stop-gradient): finite differences of the
        # value do not see that; the family tests check against the analytic gradient
        pytest.skip("gradient deliberately differs from d(value); checked torch vs jax")
    kit.check_gradient(info.fn, info.example, ad.name, grad_argnums=info.grad_argnums)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_gradient_torch_equals_jax(info):
    if not {"torch", "jax"} <= set(kit.installed_backends()) or not info.grad_argnums:
        pytest.skip("needs torch and jax")
    kit.check_gradients_agree(info.fn, info.example, grad_argnums=info.grad_argnums, seed=1)


def _skip_unless_compiled(info):
    pytest.importorskip("torch")
    if "torch" not in info.backends:
        pytest.skip("torch not supported")
    if not kit.catalog_options(info)["compile"]:
        pytest.skip("a documented graph break (see its docstring); its family tests pin it")


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_compile_no_graph_break(info):
    _skip_unless_compiled(info)
    kit.check_compile(info.fn, info.example)


@pytest.mark.parametrize("info", EXAMPLES, ids=[i.name for i in EXAMPLES])
def test_torch_compile_dynamic_no_graph_break(info):
    # dynamic=True: symbolic sizes and Python floats (a float traced symbolically has
    # no math.isinf, no hasattr, and cannot enter a torch.cond branch)
    _skip_unless_compiled(info)
    kit.check_compile(info.fn, info.example, dynamic=True)


FUNC = [i for i in EXAMPLES if i.grad_argnums]  # (array arguments: vmap needs one)


@pytest.mark.parametrize("info", FUNC, ids=[i.name for i in FUNC])
def test_torch_func_grad_and_vmap(info):
    # torch.func.grad is autograd's gradient; vmap of the value and of grad (per-sample
    # gradients) the calls one by one
    pytest.importorskip("torch")
    if "torch" not in info.backends:
        pytest.skip("torch not supported")
    kit.check_torch_func(info.fn, info.example, grad_argnums=info.grad_argnums)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_reductions(xp, info):
    _backend_ok(xp, info)
    if not _has_reduction(info):
        pytest.skip("no reduction argument")
    opts = kit.catalog_options(info)
    kit.check_reductions(info.fn, info.example, xp.name, mean_of_none=opts["mean_of_none"])


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_masks_nan_safe(xp, info):
    # the masked value and (autodiff backends) gradient, NaN/inf under the mask,
    # all masked gives 0: the public kit's check_masks
    import inspect

    _backend_ok(xp, info)
    if "mask" not in inspect.signature(info.fn).parameters:
        pytest.skip("no mask argument")
    opts = kit.catalog_options(info)
    kit.check_masks(
        info.fn,
        info.example,
        xp.name,
        grad_argnums=info.grad_argnums,
        renormalised=opts["renormalised"],
        mean_of_none=opts["mean_of_none"],
        rows=opts["rows"],
        poison=opts["poison"],
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_half_precision_computes_in_float32(ad, info, dtype):
    _backend_ok(ad, info)
    if not info.grad_argnums:
        pytest.skip("not supported")
    kit.check_half(info.fn, info.example, ad.name, dtype=dtype)


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
