"""Minor page faults per call of eager losses (RESULTS.md item 8 and "Page faults").

python page_faults.py 1048576        # only the loss's own arrays alive
python page_faults.py 1048576 big    # with a 16M-element buffer alive as well
"""

from __future__ import annotations

import resource
import sys
import time

from _common import _data, _extra_data, size, torch1

torch = torch1()
import corelosses as cl  # noqa: E402

n = size()
keep = torch.empty(1 << 24).normal_() if "big" in sys.argv[2:] else None
seg = [torch.from_numpy(a) for a in _extra_data("segmentation", n)]
binary = [torch.from_numpy(a) for a in _data("binary", n)]
calls = {
    "dice_loss": lambda: cl.dice_loss(*seg),
    "focal_loss": lambda: cl.focal_loss(*binary),
}
try:
    from monai.losses import DiceLoss

    monai = DiceLoss(softmax=True, to_onehot_y=True)
    calls["monai DiceLoss"] = lambda: monai(seg[0], seg[1][:, None])
except ImportError:
    pass


def per_call(f, k=12):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    for _ in range(k):
        f()
    dt = (time.perf_counter() - t0) / k
    return dt, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / k


for f in calls.values():
    per_call(f)
for _ in range(3):
    for name, f in calls.items():
        dt, faults = per_call(f)
        print(f"{name:16s} {dt * 1e3:8.2f} ms  {faults:8.0f} faults/call")
