"""The floor of any Python wrapper around the 64-element cross entropy (RESULTS.md
"Call overhead at 64 elements"): ATen's op called directly, against the smallest
wrapper that still takes corelosses' keyword-only signature, checks the plain case
and the dtypes, and calls the same op. Median of 9 rounds, each the best of 3 x
20000 calls (``timeit``).
"""

from __future__ import annotations

import statistics
import timeit

from _common import torch1

torch = torch1()

xc, t = torch.randn(2, 32), torch.randint(0, 32, (2,))
KERNEL = torch._C._nn.cross_entropy_loss
NO_INDEX = -(2**63)
PLAIN = {torch.Tensor: True}


def minimal(
    input,
    target,
    /,
    *,
    axis=-1,
    class_weight=None,
    ignore_index=None,
    label_smoothing=0.0,
    from_logits=True,
    where=None,
    weight=None,
    mask=None,
    reduction="mean",
):
    if (
        from_logits
        and class_weight is None
        and ignore_index is None
        and weight is None
        and mask is None
        and where is None
        and label_smoothing == 0
        and PLAIN.get(type(input))
        and type(target) is type(input)
    ):
        dt = input.dtype
        if (
            (dt is torch.float32 or dt is torch.float64)
            and target.dtype is torch.int64
            and input.ndim == 2
            and (axis == 1 or axis == -1)
        ):
            return KERNEL(input, target, None, 1, NO_INDEX, 0.0)
    raise NotImplementedError


def aten():
    return KERNEL(xc, t, None, 1, NO_INDEX, 0.0)


def wrapped():
    return minimal(xc, t)


ra, rw = [], []
for _ in range(9):
    ra.append(min(timeit.repeat(aten, number=20000, repeat=3)) / 20000)
    rw.append(min(timeit.repeat(wrapped, number=20000, repeat=3)) / 20000)
ma, mw = statistics.median(ra), statistics.median(rw)
print(f"ATen op          {ma * 1e6:6.2f} us")
print(f"minimal wrapper  {mw * 1e6:6.2f} us  ratio {mw / ma:4.2f}")
