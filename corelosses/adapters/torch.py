"""PyTorch backend: ``torch.nn.functional`` kernels, ``detach`` and autograd hooks.

Imported only once a torch tensor has been seen, so ``import corelosses``
never imports torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._generic import Backend


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


class TorchBackend(Backend):
    name = "torch"
    has_autodiff = True

    def is_half(self, dtype):
        return dtype in (torch.float16, torch.bfloat16)

    def concrete(self, x):
        # Value checks only where they cost no device sync and break no graph.
        return (
            not torch.compiler.is_compiling()
            and getattr(x, "device", None) is not None
            and x.device.type == "cpu"
        )

    def min_scalar(self, a, s):
        # one kernel (compare + select are two in eager)
        return torch.clamp(a, max=s) if self.native else super().min_scalar(a, s)

    def clip_scalar(self, a, low, high):
        # one kernel; its backward is a select (a NaN outside the range is dropped)
        return torch.clamp(a, low, high) if self.native else super().clip_scalar(a, low, high)

    def value_range(self, x):
        # one pass; torch.amin on int64 CPU tensors is ~25x slower than amax.
        # Detached: the checks turn the results into Python numbers, which on a
        # tensor requiring grad warns ("Converting a tensor with requires_grad=True
        # to a scalar"), and a check has no gradient anyway.
        return torch.aminmax(x.detach())

    def stop_gradient(self, x):
        return x.detach()

    def custom_vjp(self, fun, bwd):
        # One module-level Function; ``fun``/``bwd`` travel as non-tensor
        # arguments: a class built per call breaks dynamo's graph
        # (``__build_class__``). Without any input needing a gradient the
        # value alone is computed (also the path dynamo can trace there).
        def call(*arrays):
            if torch.is_grad_enabled() and any(
                isinstance(a, torch.Tensor) and a.requires_grad for a in arrays
            ):
                return _CustomVJP.apply(fun, bwd, *arrays)
            return fun(*arrays)[0]

        return call

    def grad_of(self, fn, x):
        if torch.compiler.is_compiling():
            # dynamo breaks the graph on torch.autograd.grad (unless the user sets
            # torch._dynamo.config.trace_autograd_ops); it traces torch.func.vjp.
            return _func_grad(fn, x)
        # create_graph: the gradient is itself differentiable (penalties train the critic);
        # enable_grad: works inside a caller's no_grad block too.
        with torch.enable_grad():
            x = x if x.requires_grad else x.detach().requires_grad_(True)
            y = fn(x)
            if not (isinstance(y, torch.Tensor) and y.requires_grad):
                return y, torch.zeros_like(x)  # critic constant in x: zero gradient
            (g,) = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=True)
        return y, torch.zeros_like(x) if g is None else g

    # Native kernels: each computes the generic definition's function exactly.
    def softplus(self, x):
        if not self.native:
            return super().softplus(x)
        return -F.logsigmoid(-x)  # F.softplus switches to x past a threshold

    def log_sigmoid(self, x):
        return F.logsigmoid(x) if self.native else super().log_sigmoid(x)

    def sigmoid(self, x):
        return torch.sigmoid(x) if self.native else super().sigmoid(x)

    def logsumexp(self, x, axis=-1, keepdims=False):
        if not self.native:
            return super().logsumexp(x, axis=axis, keepdims=keepdims)
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)

    def log_softmax(self, x, axis=-1):
        return torch.log_softmax(x, dim=axis) if self.native else super().log_softmax(x, axis)

    def softmax(self, x, axis=-1):
        if not self.native:
            return super().softmax(x, axis)
        if torch.compiler.is_compiling() and x.numel() >= _BIG:
            # Past the last-level cache, inductor's graph for exp(z - logsumexp(z))
            # moves less memory in training than its softmax decomposition (it
            # recomputes instead of saving): dice_loss fwd+bwd at 16M elements 0.82x
            # MONAI instead of 1.09x; at 1M-4M the decomposition is faster (1.01-1.10x
            # against 1.2-1.4x); benchmarks/RESULTS.md. z = x - max keeps
            # logsumexp(z) in [0, log C]: no precision lost for large logits.
            z = x - x.detach().amax(dim=axis, keepdim=True)
            return torch.exp(z - torch.logsumexp(z, dim=axis, keepdim=True))
        return torch.softmax(x, dim=axis)

    def one_hot(self, indices, num_classes, axis, dtype):
        if not self.native:
            return super().one_hot(indices, num_classes, axis, dtype)
        shape = [1] * (indices.ndim + 1)
        shape[axis] = num_classes
        if not (torch.compiler.is_compiling() and dtype in _PLAIN_DTYPES and num_classes <= 2**24):
            classes = torch.arange(num_classes, dtype=indices.dtype, device=indices.device)
            hit = torch.unsqueeze(indices, axis) == classes.view(shape)
            # ATen converts uint8 to float ~1.6x faster than bool (same bytes, 0/1)
            return hit.view(torch.uint8).to(dtype)
        # Under torch.compile the partitioner saves a compare's boolean result for
        # the backward, and inductor's CPU code stores booleans at 8-10 ns per element
        # (dice_loss fwd+bwd 4x MONAI; benchmarks/RESULTS.md). The same 0/1 values by
        # arithmetic, which it saves as the target (one float per pixel) instead:
        # max(0, 1 - |t - c|) is 1 at t == c and 0 at any other integer, exactly, for
        # classes below 2**24 (an index past float32's integers rounds to >= 2**24).
        classes = torch.arange(num_classes, dtype=dtype, device=indices.device).view(shape)
        t = torch.unsqueeze(indices, axis).to(dtype)
        return torch.clamp(1.0 - torch.abs(t - classes), min=0.0)

    def bce_with_logits(self, x, y, pos_weight=None):
        if not self.native or (
            pos_weight is not None and pos_weight.requires_grad and torch.is_grad_enabled()
        ):
            # F.binary_cross_entropy_with_logits does not differentiate pos_weight
            # (it raises if pos_weight requires grad): the definition does.
            return super().bce_with_logits(x, y, pos_weight)
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="none")

    # Whole-loss kernels (see Backend.cross_entropy_native): plain cases only.
    def _plain(self, x, y):
        # float32/float64 pairs of the same dtype and shape, not empty (an empty
        # mean is 0 for corelosses, NaN for torch)
        return (
            self.native
            and isinstance(y, torch.Tensor)
            and x.dtype in _PLAIN_DTYPES
            and y.dtype is x.dtype
            and x.shape == y.shape
            and x.numel() > 0
        )

    def cross_entropy_native(self, x, target, axis, reduction):
        # (each tensor attribute costs ~60 ns: this runs on every plain call)
        dt = x.dtype
        if not (
            self.native
            and (dt is torch.float32 or dt is torch.float64)
            and target.dtype is torch.int64
            and target.numel() > 0
        ):
            return None
        nd = x.ndim
        if nd > 1:
            if axis != 1 and axis != 1 - nd:
                # classes on dim 1, the other dims in order; a bad axis raises
                x = torch.movedim(x, axis, 1)
        elif axis not in (0, -1):
            return None
        # A target of the wrong shape or an index out of range makes
        # F.cross_entropy raise; the caller then runs the definition, which
        # names the problem. No index is ignored (the int64 minimum is never a
        # class index), unlike F.cross_entropy's default of -100.
        if _CE_KERNEL is not None:
            # the ATen op F.cross_entropy itself calls, without its Python wrapper
            # (0.33 us of a ~4 us call at 64 elements; RESULTS.md "Floors");
            # dynamo traces it as it traces F.cross_entropy (no graph break, tested)
            return _CE_KERNEL(x, target, None, _REDUCTION_ENUM[reduction], _NO_INDEX, 0.0)
        return F.cross_entropy(x, target, ignore_index=_NO_INDEX, reduction=reduction)

    def bce_with_logits_native(self, x, y, reduction):
        if not self._plain(x, y):
            return None
        return F.binary_cross_entropy_with_logits(x, y, reduction=reduction)

    def huber_native(self, x, y, delta, reduction):
        if not self._plain(x, y):
            return None
        return F.huber_loss(x, y, reduction=reduction, delta=delta)


_PLAIN_DTYPES = (torch.float32, torch.float64)
_BIG = 1 << 23  # elements: 32 MB of float32, past this machine's last-level cache
_NO_INDEX = -(2**63)
_CE_KERNEL = getattr(getattr(torch._C, "_nn", None), "cross_entropy_loss", None)
_REDUCTION_ENUM = {"none": 0, "mean": 1, "sum": 2}  # torch's _Reduction.get_enum


def make(xp):
    return TorchBackend(xp)
