"""Evaluate losses over a dataset larger than one chunk on a Dask cluster.

The same ``corelosses`` call that runs on NumPy builds a lazy Dask graph on
chunked arrays; ``compute()`` runs it on a ``dask.distributed`` cluster (a
``LocalCluster`` here, a real one by changing the address). The result is
checked against the in-memory NumPy value.

Run: ``python examples/out_of_core.py`` (``--fast`` for a small dataset).
"""

from __future__ import annotations

import sys

import numpy as np


def main(fast: bool = False) -> dict[str, float]:
    """Compute ``mse_loss`` and ``binary_cross_entropy`` (``reduction="mean"``)
    chunk by chunk on a LocalCluster; return the values (checked vs NumPy)."""
    import dask.array as da
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
        rs = da.random.RandomState(0)
        x = rs.normal(size=(n, d), chunks=(chunk, d))
        y = (rs.uniform(size=(n, d), chunks=(chunk, d)) > 0.5).astype("float64")
        mask = rs.uniform(size=(n, d), chunks=(chunk, d)) > 0.1
        lazy = {
            "mse_loss": cl.mse_loss(x, y, reduction="mean"),
            "binary_cross_entropy": cl.binary_cross_entropy(x, y, mask=mask, reduction="mean"),
        }
        assert all(hasattr(v, "dask") for v in lazy.values()), "results must stay lazy"
        values = dict(zip(lazy, (float(v) for v in client.compute(list(lazy.values()), sync=True))))
        if fast or n * d <= 50_000_000:  # small enough to check in memory
            xn, yn, mn = client.compute([x, y, mask], sync=True)
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
