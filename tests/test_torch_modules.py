"""corelosses.torch: one nn.Module per catalog loss, generated from the catalog."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _helpers import assert_close, compile_fullgraph  # noqa: E402

import corelosses as cl  # noqa: E402
from corelosses.adapters.frontends import _wrap  # noqa: E402

LOSSES = [i for i in cl.catalog() if i.kind in cl.torch.KINDS and i.example is not None]
IDS = [i.name for i in LOSSES]


def _t(v):
    return torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v


def test_every_catalog_loss_has_a_module():
    for info in cl.catalog():
        if info.kind in cl.torch.KINDS:
            cls = getattr(cl.torch, _wrap.class_name(info.name))
            assert issubclass(cls, torch.nn.Module) and cls.corelosses_info is info
    assert cl.torch.MSELoss is cl.torch.MseLoss
    assert cl.torch.CrossEntropyLoss is cl.torch.CrossEntropy
    assert cl.torch.SmoothL1Loss.corelosses_info.name == "smooth_l1_loss"


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_module_matches_function_value_and_state_dict(info):
    args, kw = info.example(np.random.default_rng(0))
    mod = getattr(cl.torch, _wrap.class_name(info.name))(**{k: _t(v) for k, v in kw.items()})
    out = mod(*[_t(a) for a in args])
    assert_close(out.detach().numpy(), info.fn(*args, **kw))
    for k, v in kw.items():
        assert k in repr(mod)
        if isinstance(v, np.ndarray):
            assert k in mod.state_dict()
    fresh = type(mod)(
        **{k: (torch.zeros_like(_t(v)) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    )
    fresh.load_state_dict(mod.state_dict())
    assert_close(fresh(*[_t(a) for a in args]).detach().numpy(), info.fn(*args, **kw))


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match="gama"):
        cl.torch.FocalLoss(gama=2.0)


def test_repr_and_buffers_follow_module():
    m = cl.torch.CrossEntropy(class_weight=np.array([1.0, 2.0]), label_smoothing=0.1)
    assert repr(m).startswith("CrossEntropy(label_smoothing=0.1, class_weight=tensor(shape=(2,)")
    m = m.to(torch.float32)
    assert m.class_weight.dtype == torch.float32


@pytest.mark.parametrize("name", ["MSELoss", "CrossEntropy", "FocalLoss"])
def test_module_compiles_fullgraph(name):
    info = getattr(cl.torch, name).corelosses_info
    args, kw = info.example(np.random.default_rng(0))
    mod = getattr(cl.torch, name)(**{k: _t(v) for k, v in kw.items()})
    out = compile_fullgraph(mod, *[_t(a) for a in args])
    assert_close(out.detach().numpy(), info.fn(*args, **kw))


@pytest.mark.parametrize("name", ["MSELoss", "BinaryCrossEntropy", "CrossEntropy"])
def test_autocast_bf16_input_gives_float32(name):
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3)
    x = torch.randn(6, 4)
    y = torch.randint(0, 3, (6,)) if name == "CrossEntropy" else torch.rand(6, 3)
    mod = getattr(cl.torch, name)()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = lin(x)
        assert h.dtype == torch.bfloat16
        out = mod(h, y)
    assert out.dtype == torch.float32
    ref = mod.corelosses_info.fn(h.float(), y)
    torch.testing.assert_close(out, ref)
    out.backward()
    assert lin.weight.grad is not None


def test_per_call_mask_weight_and_valid_count_for_data_parallel():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(10, 4)))
    y = torch.from_numpy(rng.integers(0, 4, size=(10,)))
    y[[1, 6]] = -100
    cw = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)
    m = torch.from_numpy(rng.uniform(size=(10,)) > 0.3)
    for crit, full in [
        (
            cl.torch.CrossEntropy(ignore_index=-100, reduction="sum"),
            torch.nn.functional.cross_entropy(x, y, ignore_index=-100),
        ),
        (
            cl.torch.CrossEntropy(ignore_index=-100, class_weight=cw, reduction="sum"),
            torch.nn.functional.cross_entropy(x, y, ignore_index=-100, weight=cw),
        ),
    ]:
        # two "ranks": all-reduce numerators and denominators, then divide
        num = sum(crit(x[s], y[s]) for s in (slice(0, 3), slice(3, 10)))
        den = sum(crit.valid_count(x[s], y[s]) for s in (slice(0, 3), slice(3, 10)))
        torch.testing.assert_close(num / den, full)
    mse = cl.torch.MSELoss(reduction="sum")
    t = torch.zeros_like(x)
    mm = m[:, None].expand(10, 4)
    num = sum(mse(x[s], t[s], mask=mm[s]) for s in (slice(0, 4), slice(4, 10)))
    den = sum(mse.valid_count(x[s], t[s], mask=mm[s]) for s in (slice(0, 4), slice(4, 10)))
    assert float(den) == float(mm.sum())
    torch.testing.assert_close(num / den, cl.mse_loss(x, t, mask=mm))
    # probabilities (from_logits=False): the count still follows the mask
    p = torch.sigmoid(x)
    assert float(
        cl.torch.valid_count(
            "binary_cross_entropy", p, (p > 0.5).double(), from_logits=False, mask=mm
        )
    ) == float(mm.sum())
