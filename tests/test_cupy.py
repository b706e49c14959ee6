"""CuPy: the core on GPU arrays, unchanged. Skipped cleanly without a GPU."""

from __future__ import annotations

import numpy as np
import pytest

import corelosses as cl


def _cupy():
    cp = pytest.importorskip("cupy")
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA GPU")
    except Exception as e:  # noqa: BLE001 - driver missing, ...
        pytest.skip(f"no usable CUDA GPU: {e}")
    return cp


LOSSES = [i for i in cl.catalog() if i.example is not None and "cupy" in i.backends]


@pytest.mark.gpu
@pytest.mark.parametrize("info", LOSSES, ids=[i.name for i in LOSSES])
def test_catalog_on_cupy_matches_numpy(info):
    cp = _cupy()
    args, kw = info.example(np.random.default_rng(0))

    def conv(v):
        return cp.asarray(v) if isinstance(v, np.ndarray) else v

    out = info.fn(*[conv(a) for a in args], **{k: conv(v) for k, v in kw.items()})
    assert isinstance(out, cp.ndarray)
    assert cl.backend_of(out).name == "cupy"
    np.testing.assert_allclose(cp.asnumpy(out), info.fn(*args, **kw), rtol=1e-9, atol=1e-12)


@pytest.mark.gpu
def test_torch_module_on_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    crit = cl.torch.CrossEntropyLoss(class_weight=torch.tensor([1.0, 2.0, 3.0])).cuda()
    x = torch.randn(8, 3, device="cuda", requires_grad=True)
    y = torch.randint(0, 3, (8,), device="cuda")
    out = crit(x, y)
    assert out.device.type == "cuda"
    ref = torch.nn.functional.cross_entropy(x, y, weight=crit.class_weight)
    torch.testing.assert_close(out, ref)
    out.backward()
    assert x.grad is not None and x.grad.device.type == "cuda"
