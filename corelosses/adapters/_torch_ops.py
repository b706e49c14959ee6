"""The torch adapter's building blocks: autograd functions, ATen entry points, constants.

Imported only by :mod:`corelosses.adapters.torch` (itself imported once a torch
tensor has been seen).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class _CustomVJP(torch.autograd.Function):
    """``fun(*arrays) -> (out, residuals)`` forward, ``bwd(residuals, g)`` backward."""

    @staticmethod
    def forward(ctx, fun, bwd, *arrays):
        out, res = fun(*arrays)
        ctx.save_for_backward(*res)
        ctx.bwd = bwd
        return out

    @staticmethod
    def backward(ctx, g):
        return (None, None, *ctx.bwd(ctx.saved_tensors, g))


class _BitSelect(torch.autograd.Function):
    """``where(valid, x, 0)`` as a bitwise AND with a ``0 / -1`` int8 mask.

    ATen's CPU ``where`` runs a scalar loop (~1-2 ns per element); a bitwise
    AND on the float's bits is vectorised (~5x faster at 1M, RESULTS.md
    "Masked calls"). It is the same selection bit for bit: the kept entries
    are untouched, the others become +0.0. The backward pass is the same
    selection of the incoming gradient (differentiable again).
    """

    generate_vmap_rule = True  # torch.func (grad, vmap) composes with it

    @staticmethod
    def forward(x, bits):
        return _bit_select(x, bits)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[1])

    @staticmethod
    def backward(ctx, g):
        (bits,) = ctx.saved_tensors
        return _BitSelect.apply(g, bits), None


class _Guarded(torch.autograd.Function):
    """``Backend.guarded`` under ``torch.compile``, given the fast pass's value,
    check and saved arrays (computed detached). ``torch.cond`` on ``ok`` keeps
    that value or runs the fallback; in the backward pass a second ``torch.cond``
    on the same ``ok`` runs that branch's vjp (``torch.func.vjp``; the fast one
    from the saved arrays: ``TorchBackend.norm2_diff``), for the operands that
    need a gradient only. (``torch.cond``'s own backward computes every
    operand's gradient, and the benchmark's positives and negatives need none.)
    Double backward is not supported under ``torch.compile`` anyway."""

    @staticmethod
    def forward(ctx, fast, slow, k, ok, value, *args):
        ctx.fast, ctx.slow, ctx.k = fast, slow, k
        ctx.save_for_backward(ok, *args)
        return torch.cond(
            ok,
            lambda v, *a: v.clone(),  # (a branch may not return its input)
            lambda v, *a: slow(*a[:k]),
            (value, *args),
        )

    @staticmethod
    def backward(ctx, g):
        ok, *args = ctx.saved_tensors
        fast, slow, k = ctx.fast, ctx.slow, ctx.k
        need = [i for i in range(k) if ctx.needs_input_grad[5 + i]]

        def vjp_of(f):
            def branch(g, *a):
                ops, saved = list(a[:k]), a[k:]

                def part(*chosen):
                    for i, c in zip(need, chosen):
                        ops[i] = c
                    return f(ops, saved)

                return tuple(torch.func.vjp(part, *(a[i] for i in need))[1](g))

            return branch

        grads = torch.cond(
            ok,
            vjp_of(lambda o, saved: fast(*o, saved=saved)[0]),
            vjp_of(lambda o, saved: slow(*o)),
            (g, *args),
        )
        out = [None] * len(args)
        for i, gi in zip(need, grads):
            out[i] = gi
        return (None, None, None, None, None, *out)


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


_CTC = getattr(torch, "_ctc_loss", None)  # (nll, log_alpha); F.ctc_loss zeroes inf itself
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
