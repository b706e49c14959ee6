"""The torch adapter's building blocks: autograd functions, ATen entry points, constants.

Imported only by :mod:`corelosses.adapters.torch` (itself imported once a torch
tensor has been seen).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_FX = torch._C._functorch
_FW_AD = torch.autograd.forward_ad
_TRANSFORMS_ACTIVE = getattr(torch._C, "_are_functorch_transforms_active", lambda: False)


def _vmapped() -> bool:
    """Whether a ``torch.func.vmap`` is running: its tensors hold one value per sample,
    which no check may read (``.item()`` raises there). One C call when no
    ``torch.func`` transform runs."""
    return _TRANSFORMS_ACTIVE() and any(
        i.key() == _FX.TransformType.Vmap for i in _FX.get_interpreter_stack() or ()
    )


def _forward_ad() -> bool:
    """Whether forward-mode AD is on (``torch.func.jvp``, ``jacfwd``, ``hessian``, or
    ``torch.autograd.forward_ad.dual_level``): tensors may carry tangents there while
    ``requires_grad`` is False."""
    return _FW_AD._current_level >= 0


class _CustomVJP(torch.autograd.Function):
    """An analytic backward pass ``bwd(residuals, g)`` for ``fun(*arrays) -> (out,
    residuals)``, in ``setup_context`` form (``torch.func`` composes with it).

    ``fun`` runs before ``apply``, without a graph (:meth:`TorchBackend.custom_vjp`);
    ``apply(fun, bwd, kinds, n, out, *arrays, *fresh)`` returns a copy of ``out``
    (an output may not be an input). ``kinds`` says where each residual comes from:
    the output (-1), the input ``arrays[k]`` (k), or computed by ``fun`` (None: the
    next of ``fresh``). Residuals that are the output or inputs are saved with their
    graph, so a second derivative differentiates ``bwd`` through them. Beside a
    residual computed inside, that would be partial (it carries no graph): there,
    when the backward pass itself is differentiated (grad mode on: ``create_graph``,
    or any ``torch.func`` transform), ``fun`` is run again on the saved inputs with
    its graph first, so every derivative is exact; otherwise the saved residuals
    serve. Forward mode: :class:`_CustomVJPForward`.
    """

    generate_vmap_rule = True  # torch.func.vmap composes with it

    @staticmethod
    def forward(fun, bwd, kinds, n, out, *tensors):
        return out.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        fun, bwd, kinds, n, _, *rest = inputs
        arrays, fresh = rest[:n], iter(rest[n:])
        res = [output if k == -1 else next(fresh) if k is None else arrays[k] for k in kinds]
        ctx.exact = None not in kinds  # (every residual carries its graph)
        ctx.save_for_backward(*res, *(() if ctx.exact else arrays))
        ctx.save_for_forward(output, *res)
        ctx.fun, ctx.bwd, ctx.nres, ctx.nfresh, ctx.n = fun, bwd, len(res), len(rest) - n, n

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        res = saved[: ctx.nres]
        if not ctx.exact and torch.is_grad_enabled():  # differentiated again
            res = ctx.fun(*saved[ctx.nres :])[1]
        return (None,) * 5 + (*ctx.bwd(res, g), *(None,) * ctx.nfresh)


class _CustomVJPForward(_CustomVJP):
    """:class:`_CustomVJP` with forward mode, applied only where forward AD is on
    (dynamo cannot trace an ``autograd.Function`` that defines ``jvp``): ``J t`` is
    the gradient in ``u`` of ``<bwd(residuals, u), t>`` (``bwd`` is linear in
    ``u``), one more ``bwd`` pass and its backward; it differentiates no iteration
    inside ``fun``."""

    @staticmethod
    def jvp(ctx, _fun, _bwd, _kinds, _n, _out, *tangents):
        out, *res = ctx.saved_tensors
        ts = tangents[: ctx.n]
        used = []

        def linear(u):  # u -> J^T u, paired with the tangents given
            ws = ctx.bwd(res, u)
            used[:] = [i for i, (w, t) in enumerate(zip(ws, ts)) if w is not None and t is not None]
            return tuple(ws[i] for i in used)

        _, pull = torch.func.vjp(linear, torch.zeros_like(out))
        if not used:
            return torch.zeros_like(out)
        return pull(tuple(ts[i] for i in used))[0]


class _BitSelect(torch.autograd.Function):
    """``where(valid, x, 0)`` as a bitwise AND with a ``0 / -1`` int8 mask.

    ATen's CPU ``where`` runs a scalar loop (~1-2 ns per element); a bitwise
    AND on the float's bits is vectorised (~5x faster at 1M, RESULTS.md
    "Masked calls"). It is the same selection bit for bit: the kept entries
    are untouched, the others become +0.0. The backward pass is the same
    selection of the incoming gradient (differentiable again).
    """

    generate_vmap_rule = True  # torch.func (grad, vmap, jvp) composes with it

    @staticmethod
    def forward(x, bits):
        return _bit_select(x, bits)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[1])
        ctx.save_for_forward(inputs[1])

    @staticmethod
    def backward(ctx, g):
        (bits,) = ctx.saved_tensors
        return _BitSelect.apply(g, bits), None

    @staticmethod
    def jvp(ctx, tx, _):
        # forward mode (torch.func.jvp, jacfwd, hessian): the same selection
        (bits,) = ctx.saved_tensors
        return _BitSelect.apply(tx, bits)


class _Norm2Known(torch.autograd.Function):
    """The norm ``n = |(x - y + c) k|_2`` over ``axis`` (``k`` a power of two
    broadcasting to ``x``, or None: 1), already computed: ``n`` itself, with
    ``vector_norm``'s gradient ``g k d / n`` for ``d = x k - y k + c k`` (0
    where ``n`` is 0 or inf: a finite coefficient). It saves ``x`` and ``y``,
    not ``d``: the backward pass recomputes it in its one elementwise sweep.
    Used under ``torch.compile`` only (``TorchBackend.guarded``), where double
    backward is not supported anyway."""

    @staticmethod
    def forward(x, y, c, n, axis, k):
        return n.clone()  # (an output may not be an input)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, y, c, n, axis, k = inputs
        ctx.save_for_backward(x, y, n, k)
        ctx.c, ctx.axis = c, axis

    @staticmethod
    def backward(ctx, g):
        x, y, n, k = ctx.saved_tensors
        ne, ge = n.unsqueeze(ctx.axis), g.unsqueeze(ctx.axis)
        ok = (ne > 0) & (ne < torch.inf)
        if k is None:
            d = x - y + ctx.c
        else:
            d, ge = x * k - y * k + ctx.c * k, ge * k
        gd = torch.where(ok, d / torch.where(ok, ne, 1.0), 0.0) * ge
        return _sum_to(gd, x.shape), _sum_to(-gd, y.shape), None, None, None, None


def _sum_to(g, shape):
    """``g`` summed over the axes broadcasting added or stretched to reach it."""
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(dim=tuple(range(lead)))
    dims = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(dim=dims, keepdim=True) if dims else g


def _bit_select(x, bits):
    return torch.bitwise_and(x.view(_BITS_OF[x.dtype]), bits).view(x.dtype)


_BITS_OF = {torch.float32: torch.int32, torch.float64: torch.int64}


def _func_grad(fn, x):
    """``(fn(x), d sum(fn(x)) / dx)`` through ``torch.func.vjp``, for ``torch.compile``.

    A function transform: the gradient is differentiable by ordinary autograd
    with respect to whatever ``fn`` closes over (a critic's parameters) and to
    ``x``, like ``autograd.grad(create_graph=True)``, and it ignores an outer
    ``no_grad``. Dynamo traces it with ``fullgraph=True``.
    """
    y, vjp = torch.func.vjp(fn, x)
    (g,) = vjp(torch.ones_like(y))
    return y, g


_PLAIN_DTYPES = (torch.float32, torch.float64)
_BIG = 1 << 23  # elements: 32 MB of float32, past this machine's last-level cache
_NO_INDEX = -(2**63)
_CE_KERNEL = getattr(getattr(torch._C, "_nn", None), "cross_entropy_loss", None)
_NLL_KERNEL = getattr(getattr(torch._C, "_nn", None), "nll_loss_nd", None) or (
    lambda x, t, w, r, i: F.nll_loss(x, t, w, ignore_index=i, reduction=("none", "mean", "sum")[r])
)
_REDUCTION_ENUM = {"none": 0, "mean": 1, "sum": 2}  # torch's _Reduction.get_enum
_REDUCTION_NAME = ("none", "mean", "sum")


def _regression_kernels():
    nn = getattr(torch._C, "_nn", None)
    # no "mse": ATen's backward computes 2 (x - y) first, which overflows to inf
    # near float32's maximum where the definition's d g + d g does not
    fallback = {
        "l1": lambda x, y, r: F.l1_loss(x, y, reduction=_REDUCTION_NAME[r]),
        "huber": lambda x, y, r, d: F.huber_loss(x, y, reduction=_REDUCTION_NAME[r], delta=d),
        "smooth_l1": lambda x, y, r, b: F.smooth_l1_loss(
            x, y, reduction=_REDUCTION_NAME[r], beta=b
        ),
    }
    names = {
        "l1": "l1_loss",
        "huber": "huber_loss",
        "smooth_l1": "smooth_l1_loss",
    }
    return {k: getattr(nn, names[k], None) or f for k, f in fallback.items()}


_REGRESSION_KERNELS = _regression_kernels()
