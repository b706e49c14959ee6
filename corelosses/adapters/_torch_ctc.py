"""CTC on torch: ATen's kernel with the function's own gradient, eagerly and under
``torch.compile``.

ATen's CTC kernel returns ``(nll, log_alpha)`` with ``log_alpha`` of shape
``(N, T, 2 max(target_lengths) + 1)``: a shape that depends on the targets'
values, so dynamo breaks the graph at ``F.ctc_loss``. Under ``torch.compile``
the kernel is therefore called inside a custom operator (``corelosses::ctc_nll_<digest>``)
whose outputs have static shapes: the per-sequence ``nll`` and, when a gradient
is needed, ATen's Jacobian (the log-probabilities' shape: ATen's backward kernel
with unit weights, in the same call) and the mask of the steps read. The
registered backward pass subtracts ``exp(x)`` on those steps (ATen's gradient is
``exp(x) - posterior``, the function's ``-posterior``) and scales by the incoming
gradient, one loop once inductor fuses it. Inside the operator the
values can be read, so it also checks what the eager path checks and, where
ATen would not compute the function (extreme or positive scores, labels or
lengths out of range), runs the generic recursion and its own backward pass
instead (:func:`corelosses.sequence._ctc_nll_and_jacobian`).

Imported only by :mod:`corelosses.adapters.torch`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from ._torch_ops import _PLAIN_DTYPES, _forward_ad

_CTC: Any = getattr(torch, "_ctc_loss", None)  # (nll, log_alpha); F.ctc_loss zeroes inf itself
_CTC_BACKWARD: Any = getattr(torch.ops.aten, "_ctc_loss_backward", None)


def supported(x) -> bool:
    """Whether ATen's kernel may run on ``x`` at all (dtype, device, size)."""
    return (
        _CTC is not None
        and _CTC_BACKWARD is not None
        and x.dtype in _PLAIN_DTYPES
        and x.device.type == "cpu"
        and x.numel() > 0
    )


def _well_behaved(x) -> bool:
    # At extremes (-inf, -3e38, positive scores) ATen's backward overflows or
    # cancels where the recursion does not: log-probabilities in [-1e30, 0] only.
    lo, hi = torch.aminmax(x)
    return float(hi) <= 0.0 and float(lo) >= -1e30


def _steps(x, il, nll):
    """``(T, N, 1)``: the steps each sequence reads, of the sequences with a path.
    (A multiplying mask: ``exp(x)`` is finite on the checked inputs; ATen's ``where``
    is a scalar loop on CPU, 8x a multiply's time.)"""
    steps = torch.arange(x.shape[0], device=x.device).unsqueeze(1) < il.unsqueeze(0)
    return (steps & torch.isfinite(nll).unsqueeze(0)).unsqueeze(2)


def eager(x, tg, il, tl, blank):
    """The per-sequence nll by ATen's kernel, differentiable by autograd, or None.

    For concrete CPU arrays whose targets and lengths the caller has checked.
    In float32 this and the recursion's gradients both carry a rounding error of
    about ``eps * nll``: they differ by ~1e-3 at nll ~1e4.
    """
    if not _well_behaved(x.detach()):
        return None
    tg, il, tl = (v.to(torch.int64) for v in (tg, il, tl))
    if (torch.is_grad_enabled() and x.requires_grad) or _forward_ad():
        nll, log_alpha = _ATenCTC.apply(x, tg, il, tl, blank)
        return nll
    # zero_infinity=True: the raw nll (+inf kept) with a zero gradient there
    # (PyTorch's is NaN otherwise)
    return _CTC(x, tg, il, tl, blank, True)[0]


class _ATenCTC(torch.autograd.Function):
    """ATen's kernels, forward and backward, with the function's own gradient.

    ATen's gradient is ``exp(x) - posterior`` (d/d logits through a
    log_softmax); the function's own is ``-posterior``: ``g exp(x)`` is
    subtracted on the steps read, in place (three passes, and what ATen saves).
    Not twice differentiable, as ATen's (its backward kernel has no derivative).
    """

    @staticmethod
    def forward(x, tg, il, tl, blank):
        return _CTC(x, tg, il, tl, blank, True)

    @staticmethod
    def setup_context(ctx, inputs, output):  # (torch.func transforms need this form)
        x, tg, il, tl, blank = inputs
        ctx.save_for_backward(x, tg, il, tl, *output)
        ctx.save_for_forward(x, tg, il, tl, *output)
        ctx.mark_non_differentiable(output[1])  # log_alpha
        ctx.set_materialize_grads(False)  # (else autograd allocates log_alpha's zero gradient)
        ctx.blank = blank

    @staticmethod
    def backward(ctx, g, _):
        x, tg, il, tl, nll, log_alpha = ctx.saved_tensors
        grad = _CTC_BACKWARD(g, x, tg, il, tl, nll, log_alpha, ctx.blank, True)
        w = _steps(x, il, nll) * g.reshape(1, -1, 1)  # (T, N, 1)
        return grad.sub_(torch.exp(x).mul_(w)), None, None, None, None

    @staticmethod
    def jvp(ctx, tx, *_):
        # forward mode: the per-sequence Jacobian (ATen's backward with unit
        # weights, corrected) against the tangent, summed over steps and classes
        x, tg, il, tl, nll, log_alpha = ctx.saved_tensors
        one = torch.ones_like(nll)
        grad = _CTC_BACKWARD(one, x, tg, il, tl, nll, log_alpha, ctx.blank, True)
        grad.sub_(torch.exp(x).mul_(_steps(x, il, nll)))
        return torch.sum(grad * tx, dim=(0, 2)), None


def traced(x, tg, il, tl, blank):
    """The per-sequence nll through the custom operator (``torch.compile``)."""
    jacobian = torch.is_grad_enabled() and x.requires_grad
    return _ctc_nll(x, tg, il, tl, blank, jacobian)[0]


def _aten_computes_it(x, tg, il, tl, blank) -> bool:
    # what the eager path checks before the call, unchecked under a trace
    T, N, C = x.shape
    S = tg.shape[1]
    if not _well_behaved(x):
        return False
    if N and not (0 <= int(il.min()) and int(il.max()) <= T):
        return False
    if N and not (0 <= int(tl.min()) and int(tl.max()) <= S):
        return False
    real = torch.arange(S, device=tg.device).unsqueeze(0) < tl.unsqueeze(1)
    return not bool((real & ((tg < 0) | (tg >= C) | (tg == blank))).any())


def _op_name() -> str:
    # The name carries a digest of this file. Inductor's and AOTAutograd's on-disk
    # caches key a compiled graph on the operators it calls by name, not on their
    # implementation or backward pass: an operator changed under the same name
    # (a new corelosses) would be served the graphs compiled for the old one (seen
    # here: a wrong gradient, until the cache was cleared).
    try:
        digest = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]
    except OSError:  # (no source file: the version stands in)
        from .. import __version__ as digest
    return "corelosses::ctc_nll_" + "".join(ch if ch.isalnum() else "_" for ch in digest)


@torch.library.custom_op(_op_name(), mutates_args=())
def _ctc_nll(
    x: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
    jacobian: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(nll (N,), j (T, N, C), m (T, N, 1) bool)``: ``d nll[n] / d x[:, n, :]`` is
    ``j - where(m, exp(x), 0)`` (the subtraction left to the backward pass, where
    inductor fuses it with the product by the incoming gradient); without
    ``jacobian`` ``j`` and ``m`` are empty."""
    tg, il, tl = (v.to(torch.int64) for v in (targets, input_lengths, target_lengths))
    none = (x.new_empty(0), torch.empty(0, dtype=torch.bool, device=x.device))
    if supported(x) and _aten_computes_it(x, tg, il, tl, blank):
        nll, log_alpha = _CTC(x, tg, il, tl, blank, True)
        if not jacobian:
            return nll, *none
        ones = torch.ones_like(nll)
        j = _CTC_BACKWARD(ones, x, tg, il, tl, nll, log_alpha, blank, True)
        return nll, j, _steps(x, il, nll)
    # the generic recursion, value and its own backward pass (autograd is off here)
    from .. import _core as c
    from .. import sequence

    be = c.backend_of(x)
    T, N, C = x.shape
    if not jacobian or N == 0:
        nll = sequence._ctc_nll(be, be.xp, x, tg, il, tl, blank, C)
        if not jacobian:
            return nll, *none
        return nll, torch.zeros_like(x), torch.zeros((T, N, 1), dtype=torch.bool, device=x.device)
    nll, je, ext = sequence._ctc_nll_and_jacobian(be, be.xp, x, tg, il, tl, blank, C)
    index = ext.to(torch.int64).unsqueeze(0).expand(je.shape)
    j = torch.zeros_like(x).scatter_add_(2, index, je)
    return nll, j, torch.zeros((T, N, 1), dtype=torch.bool, device=x.device)


@_ctc_nll.register_fake
def _(x, targets, input_lengths, target_lengths, blank, jacobian):
    T, N, _ = x.shape
    if not jacobian:
        return x.new_empty((N,)), x.new_empty(0), x.new_empty(0, dtype=torch.bool)
    return x.new_empty((N,)), x.new_empty(x.shape), x.new_empty((T, N, 1), dtype=torch.bool)


def _setup(ctx, inputs, output):
    ctx.save_for_backward(inputs[0], output[1], output[2])


def _backward(ctx, g, *_):
    x, j, m = ctx.saved_tensors
    # where: exp(x) may overflow where the recursion ran (m False there)
    return (
        g.reshape(1, -1, 1) * (j - torch.where(m, torch.exp(x), 0.0)),
        None,
        None,
        None,
        None,
        None,
    )


_ctc_nll.register_autograd(_backward, setup_context=_setup)
