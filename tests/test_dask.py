"""Dask: losses stay lazy on chunked arrays and compute on a distributed cluster."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import corelosses as cl

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        with distributed.Client(cluster) as c:
            yield c


LOSSES = [i for i in cl.catalog(kind="loss") if i.example is not None and "dask" in i.backends]


def test_lazy_and_computes_on_cluster(client):
    """Every Dask-tested catalog loss, one graph submitted to the cluster."""

    def chunked(a):
        if not isinstance(a, np.ndarray):
            return a
        return da.from_array(a, chunks=tuple(max(1, (s + 1) // 2) for s in a.shape) or ())

    lazy, refs = [], []
    for info in LOSSES:
        args, kw = info.example(np.random.default_rng(0))
        out = info.fn(*[chunked(a) for a in args], **{k: chunked(v) for k, v in kw.items()})
        assert hasattr(out, "dask"), f"{info.name} on Dask arrays must stay lazy"
        lazy.append(out)
        refs.append(info.fn(*args, **kw))
    for info, got, ref in zip(LOSSES, client.compute(lazy, sync=True), refs):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12, err_msg=info.name)


def test_out_of_core_example_fast():
    path = Path(__file__).parent.parent / "examples" / "out_of_core.py"
    spec = importlib.util.spec_from_file_location("out_of_core", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["out_of_core"] = mod
    spec.loader.exec_module(mod)
    values = mod.main(fast=True)
    assert set(values) == {"mse_loss", "binary_cross_entropy"}
    assert all(np.isfinite(v) for v in values.values())
