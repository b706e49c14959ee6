"""Operations per element in the code inductor generates for the masked focal loss,
forward + backward, ours against the hand-written ``where`` idiom with torchvision's
formula (RESULTS.md "Masked calls", compiled ``focal_loss``): the ``auto tmp``
statements and the ``exp`` calls of the generated C++ kernels. Before
``Backend.sigmoid_clipped`` ours read 116 statements and 5 ``exp`` against 99 and 4.
"""

from __future__ import annotations

import os
import subprocess
import sys

CHILD = """
import sys, torch
import corelosses as cl
from corelosses._tools import bench_masked as bm
torch.set_num_threads(1)
pair = [p for p in bm.torch_masked_pairs()
        if p.loss == "focal_loss[mask]" and p.peer.startswith("where")][0]
f = torch.compile([pair.ours, pair.native][int(sys.argv[1])], fullgraph=True)
x = torch.randn(1 << 12, requires_grad=True)
y = (torch.rand(1 << 12) > 0.7).float()
m = torch.rand(1 << 12) > 0.2
f(x, y, m, None).backward()
"""

for side, name in ((0, "corelosses"), (1, "where idiom")):
    env = dict(os.environ, TORCH_LOGS="output_code")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(side)], capture_output=True, text=True, env=env
    )
    code = out.stdout + out.stderr
    stmts, exps, kernels = code.count("auto tmp"), code.count(".exp()"), code.count('extern "C"')
    print(f"{name:12s} {stmts:4d} statements, {exps:2d} exp, {kernels:2d} kernels")
