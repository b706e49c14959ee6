"""Data parallel for real: a masked mean through ``valid_count`` and all-reduce.

Two processes (``torch.distributed`` with gloo, DistributedDataParallel) and a
jax ``shard_map`` over two virtual CPU devices each train a few steps with a
masked cross entropy whose valid entries are spread unevenly over the shards.
With ``num = loss(..., reduction="sum")`` and ``den = valid_count(loss, ...)``
summed across shards, the parameters equal those of one process on the whole
batch; the naive per-shard ``"mean"`` (averaged by DDP or ``pmean``) does not,
which shows the test can fail. Each side runs in a fresh interpreter (the jax
device count and the process group are set before anything else).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# The data: 16 samples, 5 features, 3 classes; the first shard keeps 7 of its 8
# samples, the second 2 of 8: a per-shard mean weighs them differently.
DATA = """
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(16, 5))
T = rng.integers(0, 3, size=(16,))
M = np.array([1, 1, 1, 1, 1, 1, 1, 0] + [0, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
W0 = rng.normal(size=(5, 3)) * 0.5
STEPS, LR = 4, 0.5
"""

TORCH_SCRIPT = (
    DATA
    + """
import sys, torch, torch.distributed as dist, torch.multiprocessing as mp
import corelosses as cl
from torch.nn.parallel import DistributedDataParallel as DDP

def model():
    torch.manual_seed(0)
    m = torch.nn.Linear(5, 3, bias=False).double()
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(W0.T))
    return m

def single():
    m = model(); opt = torch.optim.SGD(m.parameters(), lr=LR)
    x, t, k = torch.from_numpy(X), torch.from_numpy(T), torch.from_numpy(M)
    for _ in range(STEPS):
        opt.zero_grad(); cl.cross_entropy(m(x), t, mask=k).backward(); opt.step()
    return m.weight.detach().numpy()

def worker(rank, world, init, out, naive):
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    m = DDP(model()); opt = torch.optim.SGD(m.parameters(), lr=LR)
    sl = slice(rank * 8, rank * 8 + 8)
    x, t, k = torch.from_numpy(X[sl]), torch.from_numpy(T[sl]), torch.from_numpy(M[sl])
    for _ in range(STEPS):
        opt.zero_grad()
        logits = m(x)
        if naive:
            loss = cl.cross_entropy(logits, t, mask=k)  # per-shard mean, averaged by DDP
        else:
            num = cl.cross_entropy(logits, t, mask=k, reduction="sum")
            den = cl.torch.valid_count(cl.cross_entropy, logits, t, mask=k)
            dist.all_reduce(den)  # the global count (no gradient)
            loss = num * world / den  # DDP averages the gradients over the world
        loss.backward(); opt.step()
    if rank == 0:
        np.save(out, m.module.weight.detach().numpy())
    dist.barrier()
    dist.destroy_process_group()

if __name__ == "__main__":
    tmp = sys.argv[1]
    for mode in ("global", "naive"):
        init = "file://" + tmp + "/pg-" + mode
        mp.spawn(worker, args=(2, init, tmp + "/" + mode + ".npy", mode == "naive"), nprocs=2)
    np.save(tmp + "/single.npy", single())
"""
)

JAX_SCRIPT = (
    DATA
    + """
import os, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax.sharding import Mesh, PartitionSpec as P
import corelosses as cl
try:
    from jax import shard_map
except ImportError:  # older jax
    from jax.experimental.shard_map import shard_map

assert len(jax.devices()) == 2, jax.devices()
mesh = Mesh(np.array(jax.devices()), ("b",))

def shard_loss(w, x, t, k, naive):
    logits = x @ w
    if naive:
        return jax.lax.pmean(cl.cross_entropy(logits, t, mask=k), "b")
    num = jax.lax.psum(cl.cross_entropy(logits, t, mask=k, reduction="sum"), "b")
    den = jax.lax.psum(cl.jax.valid_count(cl.cross_entropy, logits, t, mask=k), "b")
    return num / den

def train(grad):
    w = jnp.asarray(W0)
    for _ in range(STEPS):
        w = w - LR * grad(w, jnp.asarray(X), jnp.asarray(T), jnp.asarray(M))
    return np.asarray(w).T

for mode in ("global", "naive"):
    fn = shard_map(
        lambda w, x, t, k: shard_loss(w, x, t, k, mode == "naive"),
        mesh=mesh, in_specs=(P(), P("b"), P("b"), P("b")), out_specs=P())
    np.save(sys.argv[1] + "/" + mode + ".npy", train(jax.jit(jax.grad(fn))))
whole = jax.jit(jax.grad(lambda w, x, t, k: cl.cross_entropy(x @ w, t, mask=k)))
np.save(sys.argv[1] + "/single.npy", train(whole))
"""
)


def _run(script: str, tmp_path: Path) -> dict[str, np.ndarray]:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run(
        [sys.executable, str(path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {m: np.load(tmp_path / f"{m}.npy") for m in ("global", "naive", "single")}


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_torch_ddp_two_processes_equal_one_process(tmp_path):
    w = _run(TORCH_SCRIPT, tmp_path)
    np.testing.assert_allclose(w["global"], w["single"], rtol=1e-12, atol=1e-14)
    # the naive per-rank mean (averaged by DDP) trains another model: the test can fail
    assert np.abs(w["naive"] - w["single"]).max() > 1e-3


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_shard_map_two_devices_equal_one_device(tmp_path):
    w = _run(JAX_SCRIPT, tmp_path)
    np.testing.assert_allclose(w["global"], w["single"], rtol=1e-12, atol=1e-14)
    assert np.abs(w["naive"] - w["single"]).max() > 1e-3
