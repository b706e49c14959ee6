"""``torch.func`` over the catalog, and second derivatives through the torch adapter's
custom backward passes (``Backend.custom_vjp``: ``_CustomVJP`` in ``setup_context``
form).

- ``torch.func.grad`` and ``vmap`` over every catalog entry: tests/test_catalog.py
  (``corelosses.testing.check_torch_func``); here, value checks under vmap.
- A second derivative through a custom backward pass is exact, by autograd
  (``create_graph=True``) and by ``torch.func``, against finite differences of the
  gradient: the residuals computed inside are recomputed with their graph when the
  backward pass is itself differentiated. Before, they were saved without one, and a
  second derivative raised (and, under nested ``torch.func.grad``, was silently 0).
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_close

import corelosses as cl
import corelosses.testing as kit
from corelosses.testing._assert import _Case

torch = pytest.importorskip("torch")

ENTRIES = [
    i for i in cl.catalog() if i.example is not None and "torch" in i.backends and i.grad_argnums
]
#: the catalog entries whose gradient is an analytic backward pass (custom_vjp)
CUSTOM = [
    "bi_tempered_logistic_loss",
    "bi_tempered_binary_logistic_loss",
    "tempered_softmax",
    "bending_energy",
    "diffusion_regularizer",
    "ctc_loss",  # its recursion (native(False)); ATen's kernel has no second derivative
]


def _case(info, seed=0):
    case = _Case(info.fn, info.example, None, None, seed)
    return case.on(kit.backend("torch"))


def test_every_custom_vjp_entry_is_listed(monkeypatch):
    """CUSTOM names exactly the catalog entries whose torch gradient is a ``_CustomVJP``
    (so the second-derivative test below covers each)."""
    from corelosses.adapters import _torch_ops

    hit = []
    real = _torch_ops._CustomVJP.apply

    def spy(*a):
        hit.append(1)
        return real(*a)

    monkeypatch.setattr(_torch_ops._CustomVJP, "apply", spy)
    found = set()
    for info in ENTRIES:
        conv, kw = _case(info)
        hit.clear()
        x = conv[0].detach().requires_grad_(True)
        with cl.native(False):  # (ctc_loss: its recursion)
            info.fn(x, *conv[1:], **kw)
        if hit:
            found.add(info.name)
    assert found == set(CUSTOM)


def _second_derivatives(f, x0, d, w):
    """The derivative of ``s(x) = sum(w * grad f(x))`` along ``d``: by autograd
    (``create_graph=True``), by ``torch.func`` (grad of grad), and by central finite
    differences of ``s``."""

    def s_autograd(x, create):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(x), x, create_graph=create)
        return x, (g * w).sum()

    x, s = s_autograd(x0, True)
    (h,) = torch.autograd.grad(s, x)
    by_autograd = float((h * d).sum())
    s_func = lambda z: torch.sum(torch.func.grad(f)(z) * w)  # noqa: E731
    by_func = float((torch.func.grad(s_func)(x0) * d).sum())
    e = 1e-6
    fd = (float(s_autograd(x0 + e * d, False)[1]) - float(s_autograd(x0 - e * d, False)[1])) / (
        2 * e
    )
    return by_autograd, by_func, fd


def _custom_cases():
    """(name, f, x0): each custom-VJP entry on its catalog example (the value squared:
    a softmax's outputs sum to 1, so their plain sum has no second derivative), and
    the bi-tempered loss on both its paths (log-softmax at t2 = 1, tempered
    probabilities otherwise)."""
    for info in ENTRIES:
        if info.name in CUSTOM:
            conv, kw = _case(info)

            def f(z, info=info, rest=conv[1:], kw=kw):
                return torch.sum(info.fn(z, *rest, **kw) ** 2)

            yield info.name, f, conv[0]
    rng = np.random.default_rng(3)
    x0 = torch.from_numpy(rng.normal(size=(4, 5)))
    y = torch.from_numpy(rng.dirichlet(np.ones(5), size=4))
    for t2 in (1.0, 1.3):

        def f(z, t2=t2):
            return cl.bi_tempered_logistic_loss(z, y, t1=0.8, t2=t2, num_iters=60)

        yield f"bi_tempered_logistic_loss, t2={t2}", f, x0


@pytest.mark.parametrize("name", [c[0] for c in _custom_cases()])
def test_second_derivative_through_custom_vjp_is_exact(name):
    f, x0 = next((f, x) for n, f, x in _custom_cases() if n == name)
    rng = np.random.default_rng(4)
    d = torch.from_numpy(rng.normal(size=tuple(x0.shape)))
    w = torch.from_numpy(rng.normal(size=tuple(x0.shape)))
    with cl.native(False):  # ctc_loss: the recursion (ATen's kernel has no second derivative)
        by_autograd, by_func, fd = _second_derivatives(f, x0, d, w)
    assert_close(by_autograd, fd, rtol=1e-6, atol=1e-8)
    assert_close(by_func, by_autograd, rtol=1e-10, atol=1e-12)


def test_bi_tempered_second_derivative_in_the_target():
    """The target's gradient (log_t1(y) - log_t1(p)) differentiated again, in y and in x:
    exact on both bi-tempered paths (the target is an input residual, ``p`` is computed)."""
    rng = np.random.default_rng(5)
    x0 = torch.from_numpy(rng.normal(size=(4, 5)))
    y0 = torch.from_numpy(rng.dirichlet(np.full(5, 4.0), size=4))
    d = torch.from_numpy(rng.normal(size=(4, 5)))
    w = torch.from_numpy(rng.normal(size=(4, 5)))
    for t2 in (1.0, 1.3):

        def s(y, x, t2=t2):
            gy = torch.func.grad(
                lambda v: cl.bi_tempered_logistic_loss(x, v, t1=0.8, t2=t2, num_iters=60)
            )(y)
            return torch.sum(gy * w)

        hy, hx = torch.func.grad(s, argnums=(0, 1))(y0, x0)
        e = 1e-6
        for h, dy, dx in ((hy, d, 0 * d), (hx, 0 * d, d)):
            fd = (float(s(y0 + e * dy, x0 + e * dx)) - float(s(y0 - e * dy, x0 - e * dx))) / (2 * e)
            assert_close(float((h * d).sum()), fd, rtol=1e-6, atol=1e-8)


def test_first_order_backward_reuses_the_saved_residuals(monkeypatch):
    """A plain ``backward()`` does not run the forward computation again (only a
    differentiated backward pass does)."""
    from corelosses import _bitempered

    calls = []
    real = _bitempered._tempered_probs

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(_bitempered, "_tempered_probs", counted)
    rng = np.random.default_rng(6)
    x = torch.from_numpy(rng.normal(size=(4, 5))).requires_grad_(True)
    y = torch.from_numpy(rng.dirichlet(np.ones(5), size=4))
    loss = cl.bi_tempered_logistic_loss(x, y, t1=0.8, t2=1.3)
    n = len(calls)
    assert n > 0
    loss.backward()
    assert len(calls) == n
    loss = cl.bi_tempered_logistic_loss(x, y, t1=0.8, t2=1.3)
    (g,) = torch.autograd.grad(loss, x, create_graph=True)
    assert len(calls) == 3 * n  # the forward, then once more in the differentiable backward
    assert_close(g.detach().numpy(), x.grad.numpy(), rtol=1e-12, atol=0)


def test_value_checks_are_skipped_under_vmap_only():
    """A bad target raises its named error eagerly and under torch.func.grad (values
    readable), and is not read under torch.func.vmap (one value per sample)."""
    x = torch.zeros(2, 3, dtype=torch.float64)
    t = torch.full((2, 3), 2.0, dtype=torch.float64)  # outside [0, 1]
    with pytest.raises(ValueError, match="target"):
        cl.binary_cross_entropy(x, t)
    with pytest.raises(ValueError, match="target"):
        torch.func.grad(lambda z: cl.binary_cross_entropy(z, t))(x)
    out = torch.func.vmap(lambda z, u: cl.binary_cross_entropy(z, u))(x, t)
    assert out.shape == (2,)


SECOND = [i for i in ENTRIES if kit.catalog_options(i)["fd_gradient"]]  # (no stop-gradient)
#: native kernels whose backward kernel autograd cannot differentiate (reverse over
#: reverse raises there; forward over reverse and the definition's are exact)
NO_DOUBLE_BACKWARD = {"multiclass_hinge_loss"}


def _hvp_case(info, xp_asarray):
    conv, kw = _case(info)
    rest = [xp_asarray(a) if isinstance(a, torch.Tensor) else a for a in conv[1:]]
    kw = {k: xp_asarray(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
    d = np.random.default_rng(1).normal(size=tuple(conv[0].shape))
    return xp_asarray(conv[0]), rest, kw, d


def _fd_close(hv, fd):
    hv, fd = np.asarray(hv, dtype=np.float64), np.asarray(fd, dtype=np.float64)
    err = np.max(np.abs(hv - fd)) if hv.size else 0.0
    assert err <= 1e-5 * np.max(np.abs(fd), initial=0.0) + 1e-8, (err, np.max(np.abs(fd)))


@pytest.mark.parametrize("info", SECOND, ids=[i.name for i in SECOND])
def test_hessian_vector_products_torch(info):
    """Second derivatives of ``sum(fn ** 2)`` along a direction, for every catalog entry
    whose gradient is the value's (no stop-gradient inside): forward over reverse
    (``torch.func.jvp`` of ``torch.func.grad``, as ``torch.func.hessian`` computes) equals
    reverse over reverse (autograd, ``create_graph=True``), and both equal central finite
    differences of the gradient. (``ctc_loss`` through its recursion: ATen's kernel has no
    second derivative.) Before 2026-11-28 the region losses' quotient (``_ratio``) gave a
    second derivative 4-14% off, on every backend."""
    x, rest, kw, d = _hvp_case(info, lambda a: a)
    d = torch.from_numpy(d).to(x.dtype)

    def f(z):
        return torch.sum(info.fn(z, *rest, **kw) ** 2)

    def g(z, create=False):
        z = z.detach().requires_grad_(True)
        return z, torch.autograd.grad(f(z), z, create_graph=create)[0]

    with cl.native(info.name != "ctc_loss"):
        fwd_rev = torch.func.jvp(torch.func.grad(f), (x,), (d,))[1]
        e = 1e-6
        fd = (g(x + e * d)[1] - g(x - e * d)[1]) / (2 * e)
        z, gz = g(x, create=True)
        if info.name in NO_DOUBLE_BACKWARD:  # ATen's backward kernel has no derivative
            with pytest.raises(RuntimeError, match="not implemented"):
                torch.autograd.grad(torch.sum(gz * d), z)
            with cl.native(False):  # the definition's, exact
                z, gz = g(x, create=True)
        (rev_rev,) = torch.autograd.grad(torch.sum(gz * d), z)
    assert_close(fwd_rev.detach().numpy(), rev_rev.numpy(), rtol=1e-10, atol=1e-12)
    _fd_close(rev_rev.numpy(), fd.numpy())


@pytest.mark.parametrize("info", SECOND, ids=[i.name for i in SECOND])
def test_hessian_vector_products_jax(info):
    """The same on JAX, reverse over reverse (``jax.grad`` of ``jax.grad``; forward mode
    does not enter a ``jax.custom_vjp``), under ``jax.jit``, against finite differences."""
    pytest.importorskip("jax")
    import _backends

    _backends.get("jax")  # x64 on
    import jax
    import jax.numpy as jnp

    if "jax" not in info.backends:
        pytest.skip("jax not supported")
    x, rest, kw, d = _hvp_case(info, lambda a: jnp.asarray(a.detach().numpy()))
    d = jnp.asarray(d)

    def f(z):
        return jnp.sum(info.fn(z, *rest, **kw) ** 2)

    g = jax.jit(jax.grad(f))  # (traced: about 5x faster than op by op)
    hv = jax.jit(jax.grad(lambda z: jnp.vdot(jax.grad(f)(z), d)))(x)
    e = 1e-6
    fd = (g(x + e * d) - g(x - e * d)) / (2 * e)
    _fd_close(hv, fd)


def test_ctc_forward_over_reverse_raises_on_atens_kernel():
    """ATen's CTC backward has no derivative in forward mode either: torch.func.hessian
    (jacfwd of jacrev) raises; forward mode itself (jvp) is ATen's Jacobian."""
    import test_ctc

    lp, targets, il, tl = test_ctc.make_case(np.random.default_rng(13))
    tt = [torch.from_numpy(a) for a in (targets, il, tl)]
    x = torch.from_numpy(lp)
    d = torch.from_numpy(np.random.default_rng(2).normal(size=lp.shape))

    def f(z):
        return cl.ctc_loss(z, *tt)

    with pytest.raises(NotImplementedError, match="forward AD"):
        torch.func.jvp(torch.func.grad(f), (x,), (d,))
    _, tan = torch.func.jvp(f, (x,), (d,))
    z = x.clone().requires_grad_(True)
    (gz,) = torch.autograd.grad(f(z), z)
    assert_close(float(tan), float(torch.sum(gz * d)), rtol=1e-12, atol=1e-14)
