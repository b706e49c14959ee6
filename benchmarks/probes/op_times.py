"""Time per ATen op inside one eager call (RESULTS.md item 7).

python op_times.py dice_loss 1048576     # also MONAI's DiceLoss
python op_times.py focal_loss 1048576
"""

from __future__ import annotations

import collections
import sys
import time

from _common import _data, _extra_data, torch1

torch = torch1()
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import corelosses as cl  # noqa: E402

name = sys.argv[1] if len(sys.argv) > 1 else "dice_loss"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
kind = "segmentation" if name == "dice_loss" else "binary"
data = _extra_data(kind, n) if kind == "segmentation" else _data(kind, n)
x, t = (torch.from_numpy(a) for a in data)
acc: dict[str, float] = collections.defaultdict(float)


class Timed(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        t0 = time.perf_counter()
        out = func(*args, **(kwargs or {}))
        acc[str(func)] += time.perf_counter() - t0
        return out


def profile(label, f, reps=50):
    acc.clear()
    for _ in range(5):
        f()
    with Timed():
        for _ in range(reps):
            f()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    print(f"{label}: {(time.perf_counter() - t0) / reps * 1e6:.0f} us per call (untimed)")
    for k, v in sorted(acc.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {k:45s} {v / reps * 1e6:9.1f} us")


fn = getattr(cl, name)
profile(f"corelosses {name}", lambda: fn(x, t))
if name == "dice_loss":
    from monai.losses import DiceLoss

    monai = DiceLoss(softmax=True, to_onehot_y=True)
    profile("monai DiceLoss", lambda: monai(x, t[:, None]))
