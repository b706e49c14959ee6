"""The shared machinery: namespaces, dtypes, masks, reduction, delegation, isolation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _helpers import assert_close, grad, run

import corelosses as cl


def test_mixed_namespaces_raise_typeerror_naming_both():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="numpy and torch"):
        cl.mse_loss(np.zeros(3), torch.zeros(3))


def test_non_array_raises_typeerror():
    with pytest.raises(TypeError, match="array"):
        cl.mse_loss([1.0, 2.0], [1.0, 2.0])


def test_backend_cache_is_per_namespace():
    be = cl.backend_of(np.zeros(2))
    assert cl.backend_of(np.float32(1.0)) is be  # a NumPy scalar, another type
    assert be.name == "numpy"


def test_result_namespace_matches_input(xp):
    x = xp.asarray(np.array([0.5, -1.0]))
    out = xp.call(cl.mse_loss, x, xp.asarray(np.zeros(2)))
    assert (
        type(out).__module__.split(".")[0] == type(x).__module__.split(".")[0] or xp.name == "jax"
    )


def test_integer_predictions_rejected(xp):
    with pytest.raises(TypeError, match="'input'.*floating"):
        cl.mse_loss(xp.asarray(np.array([1, 2])), xp.asarray(np.array([1, 2])))


def test_integer_and_bool_targets_cast(xp):
    x = np.array([0.3, -0.2, 1.5])
    for t in (np.array([1, 0, 1]), np.array([True, False, True])):
        got = run(xp, cl.binary_cross_entropy, x, t)
        assert_close(got, run(xp, cl.binary_cross_entropy, x, t.astype(np.float64)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_inputs_give_float32(ad, dtype):
    x = np.array([0.3, -2.0, 4.0])
    if ad.name == "torch":
        import torch

        xh = torch.tensor(x, dtype=getattr(torch, dtype))
        y = torch.tensor([1.0, 0.0, 1.0], dtype=getattr(torch, dtype))
        assert cl.binary_cross_entropy(xh, y).dtype == torch.float32
    else:
        import jax.numpy as jnp

        xh = jnp.asarray(x, dtype=getattr(jnp, dtype))
        y = jnp.asarray([1.0, 0.0, 1.0], dtype=getattr(jnp, dtype))
        assert cl.binary_cross_entropy(xh, y).dtype == jnp.float32


def test_bad_reduction_names_argument():
    with pytest.raises(ValueError, match="'reduction'.*'avg'"):
        cl.mse_loss(np.zeros(2), np.zeros(2), reduction="avg")


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"'target'.*\(2, 3\).*\(2, 4\)"):
        cl.l1_loss(np.zeros((2, 3)), np.zeros((2, 4)))


def test_weight_must_broadcast():
    with pytest.raises(ValueError, match="'weight'"):
        cl.mse_loss(np.zeros((2, 3)), np.zeros((2, 3)), weight=np.ones(4))


def test_mask_must_broadcast_and_be_boolean():
    with pytest.raises(ValueError, match="'mask'"):
        cl.mse_loss(np.zeros((2, 3)), np.zeros((2, 3)), mask=np.ones(4, dtype=bool))
    with pytest.raises(TypeError, match="'mask'"):
        cl.mse_loss(np.zeros(2), np.zeros(2), mask=np.array(["a", "b"]))


def test_mask_semantics(xp):
    x = np.array([[1.0, 2.0, np.nan], [0.5, np.inf, 3.0]])
    y = np.zeros((2, 3))
    m = np.array([[1, 1, 0], [1, 0, 1]])  # 0/1 ints accepted
    got = run(xp, cl.mse_loss, x, y, mask=m)
    assert_close(got, (1 + 4 + 0.25 + 9) / 4)
    got_none = run(xp, cl.mse_loss, x, y, mask=m.astype(bool), reduction="none")
    assert_close(got_none, np.where(m, np.nan_to_num(x, posinf=0) ** 2, 0.0))
    # broadcast mask: one flag per row
    got_row = run(xp, cl.mse_loss, np.ones((2, 3)), y, mask=np.array([[True], [False]]))
    assert_close(got_row, 1.0)
    # all masked: exactly 0, not NaN
    assert float(run(xp, cl.mse_loss, x, y, mask=np.zeros((2, 3), bool))) == 0.0


def test_masked_gradient_is_exactly_zero_even_for_nan(ad):
    x = np.array([1.0, np.nan, np.inf, -2.0])
    y = np.array([0.0, 0.0, np.nan, 0.0])
    m = np.array([True, False, False, True])
    for fn in (
        cl.mse_loss,
        cl.log_cosh_loss,
        cl.huber_loss,
        cl.binary_cross_entropy,
        cl.focal_loss,
    ):
        (g,) = grad(
            ad,
            fn,
            x,
            np.nan_to_num(y) if fn in (cl.binary_cross_entropy, cl.focal_loss) else y,
            mask=m,
        )
        assert np.all(np.isfinite(g)), fn.__name__
        assert np.all(g[~m] == 0), fn.__name__


def test_weight_semantics_mean_divides_by_count(xp):
    x = np.array([1.0, 2.0, 3.0])
    y = np.zeros(3)
    w = np.array([1.0, 0.0, 2.0])
    assert_close(run(xp, cl.mse_loss, x, y, weight=w), (1 + 0 + 18) / 3)
    assert_close(run(xp, cl.mse_loss, x, y, weight=w, reduction="sum"), 19.0)


def test_ignore_value_number_and_nan(xp):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([0.0, -1.0, 1.0, np.nan])
    got = run(xp, cl.mse_loss, x, np.where(np.isnan(y), -1.0, y), ignore_value=-1.0)
    assert_close(got, (1 + 4) / 2)  # entries 0 and 2 hold labels
    got = run(xp, cl.mse_loss, x, y, ignore_value=float("nan"))
    assert_close(got, (1 + 9 + 4) / 3)


def test_empty_batch_mean_is_zero_and_sum_is_zero(xp):
    if xp.name == "dask":
        pytest.skip("dask cannot chunk empty arrays in this helper")
    e = np.zeros((0, 3))
    assert float(run(xp, cl.mse_loss, e, e)) == 0.0
    assert float(run(xp, cl.mse_loss, e, e, reduction="sum")) == 0.0


# ------------------------------------------------------------- delegation
PRIMS = ["softplus", "log_sigmoid", "sigmoid", "logsumexp", "log_softmax", "softmax"]


@pytest.mark.parametrize("prim", PRIMS)
def test_native_and_generic_primitives_agree(ad, prim):
    x = ad.asarray(np.array([[-1e4, -88.0, -3.0, 0.0], [2.0, 30.0, 88.0, 1e4]]))
    be = cl.backend_of(x)
    native = ad.to_numpy(getattr(be, prim)(x))
    with cl.native(False):
        assert not be.native
        generic = ad.to_numpy(getattr(be, prim)(x))
    assert be.native
    assert_close(native, generic, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(native) | (native == -np.inf))


def test_generic_path_really_runs_without_native_kernels(monkeypatch):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = torch.tensor([0.5, -3.0, 7.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    ref = cl.binary_cross_entropy(x, y)

    def boom(*a, **k):
        raise AssertionError("native kernel called on the generic path")

    monkeypatch.setattr(F, "binary_cross_entropy_with_logits", boom)
    monkeypatch.setattr(F, "logsigmoid", boom)
    with cl.native(False):
        got = cl.binary_cross_entropy(x, y)
        (g,) = torch.autograd.grad(got, x)
    assert torch.allclose(got, ref)
    assert torch.allclose(g, (torch.sigmoid(x) - y).detach() / 3)


def test_stop_gradient(ad):
    x = np.array([1.0, 2.0])

    def f(a):
        be = cl.backend_of(a)
        return be.xp.sum(be.stop_gradient(a) * a)

    (g,) = grad(ad, f, x)
    assert_close(g, x)  # d/da (c * a) with c = a held constant


def test_stop_gradient_is_identity_without_autodiff():
    x = np.array([1.0, 2.0])
    assert cl.backend_of(x).stop_gradient(x) is x


def test_import_leaves_frameworks_unimported():
    code = (
        "import sys, numpy as np, corelosses as cl\n"
        "cl.cross_entropy(np.zeros((2, 3)), np.array([0, 1]))\n"
        "cl.focal_loss(np.zeros(3), np.ones(3)); cl.catalog()\n"
        "bad = [m for m in ('torch', 'jax', 'cupy', 'dask', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("first", ["torch", "corelosses"])
def test_first_compiled_call_compiles_once(first):
    """A loss compiled before any eager call compiles one graph, whichever of torch
    and corelosses is imported first: torch's backend is cached before dynamo can
    trace the cache's first fill (else its replay fails a guard: a second compile)."""
    pytest.importorskip("torch")
    second = "corelosses" if first == "torch" else "torch"
    code = (
        f"import sys, {first}, {second}\n"
        "import corelosses as cl\n"
        "from torch._dynamo.utils import counters\n"
        "x, y = torch.randn(8, requires_grad=True), torch.randn(8)\n"
        "f = torch.compile(lambda x, y: cl.huber_loss(x, y), backend='eager')\n"
        "for _ in range(3):\n"
        "    f(x, y).backward()\n"
        "n = counters['stats']['unique_graphs']\n"
        "assert n == 1, f'{n} graphs compiled'\n"
        "hooks = [h for h in sys.meta_path if type(h).__module__.startswith('corelosses')]\n"
        "assert not hooks, hooks\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_framework_imported_at_module_level_outside_adapters():
    import pathlib
    import re

    root = pathlib.Path(cl.__file__).parent
    pat = re.compile(
        r"^(import (torch|jax|cupy|dask|keras)|from (torch|jax|cupy|dask|keras)[ .])", re.M
    )
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "adapters" not in p.parts and pat.search(p.read_text())
    ]
    assert not offenders, offenders


# ------------------------------------------------------ one-hot and value checks
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_one_hot_matches_the_definition(xp, axis):
    t = np.array([[0, 2, 1], [3, -1, 255]])  # 3, -1 and 255 are outside [0, 3): zero rows
    be = cl.backend_of(xp.asarray(t))
    got = xp.to_numpy(be.one_hot(xp.asarray(t), 3, axis, xp.asarray(0.0).dtype))
    want = np.moveaxis((t[..., None] == np.arange(3)).astype(float), -1, axis)
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_torch_compiled_paths_compute_the_definition(monkeypatch):
    """Under torch.compile the adapter builds the one-hot by arithmetic and, past
    ``_BIG`` elements, the softmax as exp(z - logsumexp(z)): same values, same
    gradients as eager (forced here on small arrays)."""
    torch = pytest.importorskip("torch")
    import corelosses.adapters.torch as tad

    monkeypatch.setattr(tad, "_BIG", 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5)) * 30.0
    x[0, :, 0, 0] = [1e4, 1e4 - 1.0, -1e4]  # large logits: no precision lost
    t = rng.integers(0, 3, (2, 4, 5))
    t[0, 0, :3] = [255, -1, 3]  # outside the classes: zero one-hot rows

    def parts(a, b):
        be = cl.backend_of(a)
        return be.softmax(a, axis=1), be.one_hot(b, 3, 1, a.dtype)

    for dtype in (torch.float32, torch.float64):
        xa, ta = torch.tensor(x, dtype=dtype), torch.tensor(t)
        p_eager, y_eager = parts(xa, ta)
        torch._dynamo.reset()
        p_comp, y_comp = torch.compile(parts, fullgraph=True)(xa, ta)
        assert torch.equal(y_comp, y_eager)
        assert y_comp.dtype == dtype
        tol = 1e-6 if dtype == torch.float32 else 1e-14
        torch.testing.assert_close(p_comp, p_eager, rtol=tol, atol=tol)

        loss = lambda a, b: cl.dice_loss(a, b, ignore_index=255)  # noqa: E731
        xg = xa.clone().requires_grad_(True)
        tg = torch.where((ta < 0) | (ta > 2), 255, ta)
        (g_eager,) = torch.autograd.grad(loss(xg, tg), xg)
        torch._dynamo.reset()
        (g_comp,) = torch.autograd.grad(torch.compile(loss)(xg, tg), xg)
        torch.testing.assert_close(g_comp, g_eager, rtol=tol * 10, atol=tol)


def test_value_checks_allow_ignore_index_and_nan(xp):
    x = xp.asarray(np.zeros((2, 3)))
    assert float(cl.cross_entropy(x, xp.asarray(np.array([2, -100])), ignore_index=-100)) > 0
    if not cl.backend_of(x).concrete(x):
        pytest.skip("value checks run only where concrete (documented)")
    with pytest.raises(ValueError, match="class indices outside"):
        cl.cross_entropy(x, xp.asarray(np.array([3, -100])), ignore_index=-100)
    with pytest.raises(ValueError, match="class indices outside"):
        cl.cross_entropy(x, xp.asarray(np.array([0, -1])))
    # NaN probabilities pass the check, as with any(x < 0 | x > 1)
    p = xp.asarray(np.array([0.5, np.nan]))
    cl.binary_cross_entropy(p, xp.asarray(np.array([1.0, 0.0])), from_logits=False)
    with pytest.raises(ValueError, match="probabilities"):
        cl.binary_cross_entropy(
            xp.asarray(np.array([0.5, 1.5])), xp.asarray(np.array([1.0, 0.0])), from_logits=False
        )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_torch_cross_entropy_kernel_and_wrapper_agree(monkeypatch, reduction):
    """The plain path calls ATen's cross_entropy_loss directly; F.cross_entropy (its
    fallback where that op is missing) gives the same, and -100 is never ignored."""
    torch = pytest.importorskip("torch")
    import corelosses.adapters.torch as tad

    x = torch.randn(5, 4, dtype=torch.float64)
    t = torch.tensor([0, 3, 1, 2, 2])
    direct = cl.cross_entropy(x, t, reduction=reduction)
    want = torch.nn.functional.cross_entropy(x, t, reduction=reduction)
    torch.testing.assert_close(direct, want, rtol=1e-14, atol=1e-14)
    monkeypatch.setattr(tad, "_CE_KERNEL", None)
    torch.testing.assert_close(cl.cross_entropy(x, t, reduction=reduction), direct)
    with pytest.raises(ValueError, match="class indices outside"):
        cl.cross_entropy(x, torch.tensor([0, -100, 1, 2, 2]), reduction=reduction)
