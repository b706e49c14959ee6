"""Under ``torch.compile``, an ``autograd.Function`` inside ``torch.func.vjp``: is its
``backward`` used? (RESULTS.md "Traced triplet: one branch differentiated": why the
compiled triplet guard recomputes its norms in the backward pass.)

The function returns a norm computed beforehand and carries the norm's gradient
``d / n``. Eagerly ``torch.func.vjp`` uses that backward; compiled (``aot_eager``), the
gradient comes out 0 on torch 2.13: the backward is ignored, the forward differentiated.
"""

from __future__ import annotations

import torch


class KnownNorm(torch.autograd.Function):
    @staticmethod
    def forward(x, n):
        return n.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, g):
        x, n = ctx.saved_tensors
        return x / n.unsqueeze(-1) * g.unsqueeze(-1), None


torch.manual_seed(0)
x = torch.randn(3, 4, dtype=torch.float64)
n = torch.linalg.vector_norm(x, dim=-1)


def grad_of(x):
    return torch.func.vjp(lambda x: KnownNorm.apply(x, n).sum(), x)[1](torch.tensor(1.0))[0]


want = x / n.unsqueeze(-1)
eager = grad_of(x)
compiled = torch.compile(grad_of, fullgraph=True, backend="aot_eager")(x)
print(f"torch {torch.__version__}")
print(f"eager:    backward used: {torch.allclose(eager, want)}")
print(
    f"compiled: backward used: {torch.allclose(compiled, want)}  (max |gradient| {compiled.abs().max():.3g})"
)
