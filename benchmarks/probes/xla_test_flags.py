"""The test suite's XLA flags (tests/conftest.py): the compile time of 40 small jitted
gradients of catalog losses (10 losses, float32 and float64, twice over fresh seeds),
each flag set in its own interpreter (XLA reads its flags once, at start-up).
"""

from __future__ import annotations

import os
import subprocess
import sys

FLAG_SETS = {
    "default": "",
    "O0 + cheap LLVM passes": "--xla_backend_optimization_level=0"
    " --xla_llvm_disable_expensive_passes=true",
    "... + elemental emitter": "--xla_backend_optimization_level=0"
    " --xla_llvm_disable_expensive_passes=true --xla_cpu_use_fusion_emitters=false",
}

CHILD = """
import time
import numpy as np
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
import corelosses as cl
NAMES = {"focal_loss", "cross_entropy", "huber_loss", "dice_loss", "triplet_margin_loss",
         "ctc_loss", "ms_ssim_loss", "soft_cldice_loss", "kl_divergence", "binary_cross_entropy"}
lower = comp = 0.0
for seed in range(2):
    for info in [i for i in cl.catalog(kind="loss") if i.name in NAMES]:
        args, kw = info.example(np.random.default_rng(seed))
        arr = {k: jnp.asarray(v) for k, v in kw.items() if isinstance(v, np.ndarray)}
        st = {k: v for k, v in kw.items() if k not in arr}
        a = [jnp.asarray(x) if isinstance(x, np.ndarray) else x for x in args]
        for dt in (jnp.float32, jnp.float64):
            a2 = [x.astype(dt) if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)
                  else x for x in a]
            def f(x, rest, arr, fn=info.fn, st=st):
                return jnp.sum(fn(x, *rest, **arr, **st))
            t0 = time.perf_counter()
            low = jax.jit(jax.grad(f)).lower(a2[0], a2[1:], arr)
            t1 = time.perf_counter()
            low.compile()
            lower += t1 - t0
            comp += time.perf_counter() - t1
print(f"{lower:6.2f} {comp:6.2f}")
"""

for name, flags in FLAG_SETS.items():
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True)
    if out.returncode:
        print(f"{name:26s} failed: {out.stderr.strip().splitlines()[-1:]}")
        continue
    low, comp = out.stdout.split()
    print(f"{name:26s} trace + lower {low} s  compile {comp} s  (40 gradients)")
