"""Evaluate losses over a dataset larger than one chunk on a Dask cluster.

The same ``corelosses`` call that runs on NumPy builds a lazy Dask graph on
chunked arrays; ``compute()`` runs it on a ``dask.distributed`` cluster (a
``LocalCluster`` here, a real one by changing the address). The result is
checked against the in-memory NumPy value.

Each chunk of the inputs is drawn by its own task from a NumPy generator
seeded with ``(seed, array, chunk index)``: the same chunk always has the same
key and the same task, wherever and however often it is computed, and the
NumPy reference rebuilds the very same arrays without the cluster. (Drawing
them with ``da.random`` and computing them a second time for the reference
resubmits their keys with a differently optimised graph, which the scheduler
warns about: "Detected different `run_spec` ... This can cause failures and
deadlocks".)

Run: ``python examples/out_of_core.py`` (``--fast`` for a small dataset).
"""

from __future__ import annotations

import sys

import numpy as np

SEED = 0


def draw(which: str, index: int, rows: int, d: int, seed: int = SEED) -> np.ndarray:
    """Chunk ``index`` (``rows`` rows) of input ``which``: logits ``x``, labels ``y``
    or a ``mask``; the same arguments always give the same array."""
    rng = np.random.default_rng([seed, "xym".index(which[0]), index])
    if which == "x":
        return rng.normal(size=(rows, d))
    if which == "y":
        return (rng.uniform(size=(rows, d)) > 0.5).astype(np.float64)
    return rng.uniform(size=(rows, d)) > 0.1


def chunked(which: str, n: int, d: int, chunk: int):
    """The Dask array of input ``which``, one seeded task per chunk."""
    import dask.array as da
    from dask.base import tokenize

    rows = tuple(min(chunk, n - i) for i in range(0, n, chunk))
    dtype = bool if which == "mask" else np.float64

    def block(block_id=None):
        return draw(which, block_id[0], rows[block_id[0]], d)

    name = f"out-of-core-{which}-" + tokenize(SEED, n, d, chunk)  # the same key for the same data
    return da.map_blocks(block, chunks=(rows, (d,)), dtype=dtype, name=name)


def in_memory(which: str, n: int, d: int, chunk: int) -> np.ndarray:
    """The same array as :func:`chunked`, built in this process (the reference)."""
    rows = [min(chunk, n - i) for i in range(0, n, chunk)]
    return np.concatenate([draw(which, i, r, d) for i, r in enumerate(rows)])


def main(fast: bool = False) -> dict[str, float]:
    """Compute ``mse_loss`` and ``binary_cross_entropy`` (``reduction="mean"``)
    chunk by chunk on a LocalCluster; return the values (checked vs NumPy)."""
    from dask.distributed import Client, LocalCluster

    import corelosses as cl

    n, d = (20_000, 8) if fast else (2_000_000, 16)
    chunk = n // 8
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        x, y, mask = (chunked(w, n, d, chunk) for w in ("x", "y", "mask"))
        lazy = {
            "mse_loss": cl.mse_loss(x, y, reduction="mean"),
            "binary_cross_entropy": cl.binary_cross_entropy(x, y, mask=mask, reduction="mean"),
        }
        assert all(hasattr(v, "dask") for v in lazy.values()), "results must stay lazy"
        values = dict(zip(lazy, (float(v) for v in client.compute(list(lazy.values()), sync=True))))
    if fast or n * d <= 50_000_000:  # small enough to check in memory
        xn, yn, mn = (in_memory(w, n, d, chunk) for w in ("x", "y", "mask"))
        ref = {
            "mse_loss": float(np.mean((xn - yn) ** 2)),
            "binary_cross_entropy": float(
                np.sum(np.where(mn, np.logaddexp(0, xn) - yn * xn, 0)) / mn.sum()
            ),
        }
        for k in values:
            assert np.isclose(values[k], ref[k], rtol=1e-10), (k, values[k], ref[k])
    for k, v in values.items():
        print(f"{k}: {v:.10f} over {n * d:,} entries in {len(x.chunks[0])} chunks")
    return values


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)
