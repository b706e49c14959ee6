"""PyTorch backend: ``torch.nn.functional`` kernels, ``detach`` and autograd hooks.

Imported only once a torch tensor has been seen, so ``import corelosses``
never imports torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._generic import Backend


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

    def stop_gradient(self, x):
        return x.detach()

    def custom_vjp(self, fun, bwd):
        class _Fn(torch.autograd.Function):
            @staticmethod
            def forward(ctx, *arrays):
                out, res = fun(*arrays)
                ctx.save_for_backward(*res)
                return out

            @staticmethod
            def backward(ctx, g):
                return tuple(bwd(ctx.saved_tensors, g))

        return _Fn.apply

    def grad_of(self, fn, x):
        x = x if x.requires_grad else x.detach().requires_grad_(True)
        y = fn(x)
        (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        return y, g

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
        return torch.softmax(x, dim=axis) if self.native else super().softmax(x, axis)

    def bce_with_logits(self, x, y, pos_weight=None):
        if not self.native:
            return super().bce_with_logits(x, y, pos_weight)
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="none")


def make(xp):
    return TorchBackend(xp)
