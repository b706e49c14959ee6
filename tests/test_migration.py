"""The migration guide (docs/migration.md) executed: every row of docs/migration_rows.py.

Each row's peer call and corelosses call are evaluated on the same random inputs (float64)
and must agree in value and, where the row says so, in gradient with respect to the first
floating input both calls use. A row whose peer does not import here is skipped with the
reason; torchvision and segmentation_models_pytorch, which do not import with the CPU
torch of this environment, are checked against their formulas written out below
(``_TorchvisionOps``, ``_SmpLosses``), transcribed from their sources.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import sys
import types
import zlib
from pathlib import Path

import numpy as np
import pytest

import corelosses as cl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
import migration_rows as mr  # noqa: E402

sys.path.pop(0)


# ------------------------------------------- peers not importable: their formulas
class _TorchvisionOps:
    """torchvision.ops' losses (torchvision/ops/focal_loss.py, giou_loss.py,
    diou_loss.py, ciou_loss.py, _utils.py), used where torchvision does not import."""

    @staticmethod
    def _reduce(loss, reduction):
        return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]

    @staticmethod
    def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
        import torch.nn.functional as F

        p = inputs.sigmoid()
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        return _TorchvisionOps._reduce(loss, reduction)

    @staticmethod
    def _inter_union(b1, b2):
        import torch

        x1, y1, x2, y2 = b1.unbind(-1)
        x1g, y1g, x2g, y2g = b2.unbind(-1)
        xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
        xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
        intsctk = torch.zeros_like(x1)
        mask = (ykis2 > ykis1) & (xkis2 > xkis1)
        intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
        unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
        return intsctk, unionk

    @staticmethod
    def generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
        import torch

        intsctk, unionk = _TorchvisionOps._inter_union(boxes1, boxes2)
        iouk = intsctk / (unionk + eps)
        x1, y1, x2, y2 = boxes1.unbind(-1)
        x1g, y1g, x2g, y2g = boxes2.unbind(-1)
        xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
        xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
        area_c = (xc2 - xc1) * (yc2 - yc1)
        miouk = iouk - ((area_c - unionk) / (area_c + eps))
        return _TorchvisionOps._reduce(1 - miouk, reduction)

    @staticmethod
    def _diou_iou_loss(boxes1, boxes2, eps):
        import torch

        intsct, union = _TorchvisionOps._inter_union(boxes1, boxes2)
        iou = intsct / (union + eps)
        x1, y1, x2, y2 = boxes1.unbind(-1)
        x1g, y1g, x2g, y2g = boxes2.unbind(-1)
        xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
        xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
        diagonal_distance_squared = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
        x_p, y_p = (x2 + x1) / 2, (y2 + y1) / 2
        x_g, y_g = (x1g + x2g) / 2, (y1g + y2g) / 2
        centers_distance_squared = ((x_p - x_g) ** 2) + ((y_p - y_g) ** 2)
        return 1 - iou + (centers_distance_squared / diagonal_distance_squared), iou

    @staticmethod
    def distance_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
        loss, _ = _TorchvisionOps._diou_iou_loss(boxes1, boxes2, eps)
        return _TorchvisionOps._reduce(loss, reduction)

    @staticmethod
    def complete_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
        import torch

        diou_loss, iou = _TorchvisionOps._diou_iou_loss(boxes1, boxes2, eps)
        x1, y1, x2, y2 = boxes1.unbind(-1)
        x1g, y1g, x2g, y2g = boxes2.unbind(-1)
        w_pred, h_pred, w_gt, h_gt = x2 - x1, y2 - y1, x2g - x1g, y2g - y1g
        v = (4 / (torch.pi**2)) * torch.pow(
            (torch.atan(w_gt / h_gt) - torch.atan(w_pred / h_pred)), 2
        )
        with torch.no_grad():
            alpha = v / (1 - iou + v + eps)
        return _TorchvisionOps._reduce(diou_loss + alpha * v, reduction)


class _SmpLosses:
    """segmentation_models_pytorch.losses DiceLoss / TverskyLoss, multiclass mode
    (smp/losses/dice.py, tversky.py, _functional.py), used where smp does not import."""

    class TverskyLoss:
        def __init__(self, mode, classes=None, log_loss=False, from_logits=True, smooth=0.0,
                     ignore_index=None, eps=1e-7, alpha=0.5, beta=0.5, gamma=1.0):  # fmt: skip
            assert mode in ("multiclass", "binary") and classes is None and not log_loss
            assert ignore_index is None
            self.mode, self.from_logits, self.smooth, self.eps = mode, from_logits, smooth, eps
            self.alpha, self.beta, self.gamma = alpha, beta, gamma

        def compute_score(self, output, target, smooth, eps, dims):
            intersection = (output * target).sum(dims)
            fp = (output * (1.0 - target)).sum(dims)
            fn = ((1 - output) * target).sum(dims)
            denom = intersection + self.alpha * fp + self.beta * fn + smooth
            return (intersection + smooth) / denom.clamp_min(eps)

        def aggregate_loss(self, loss):
            return loss.mean() ** self.gamma

        def __call__(self, y_pred, y_true):
            import torch.nn.functional as F

            bs, num_classes, dims = y_true.size(0), y_pred.size(1), (0, 2)
            if self.mode == "binary":
                if self.from_logits:
                    y_pred = F.logsigmoid(y_pred).exp()
                y_true = y_true.view(bs, 1, -1)
                y_pred = y_pred.view(bs, 1, -1)
            else:
                if self.from_logits:
                    y_pred = y_pred.log_softmax(dim=1).exp()
                y_true = y_true.view(bs, -1)
                y_pred = y_pred.view(bs, num_classes, -1)
                y_true = F.one_hot(y_true, num_classes).permute(0, 2, 1)
            scores = self.compute_score(y_pred, y_true.type_as(y_pred), self.smooth, self.eps, dims)
            loss = 1.0 - scores
            loss = loss * (y_true.sum(dims) > 0).to(loss.dtype)
            return self.aggregate_loss(loss)

    class DiceLoss(TverskyLoss):
        def __init__(self, mode, classes=None, log_loss=False, from_logits=True, smooth=0.0,
                     ignore_index=None, eps=1e-7):  # fmt: skip
            super().__init__(mode, classes, log_loss, from_logits, smooth, ignore_index, eps)

        def compute_score(self, output, target, smooth, eps, dims):
            intersection = (output * target).sum(dims)
            cardinality = (output + target).sum(dims)
            return (2.0 * intersection + smooth) / (cardinality + smooth).clamp_min(eps)

        def aggregate_loss(self, loss):
            return loss.mean()


# ---------------------------------------------------------------- namespace
_CACHE: dict[str, object] = {}


def _import(name: str):
    """The module (or the reason it is unavailable, as a str), imported once."""
    if name in _CACHE:
        return _CACHE[name]
    try:
        if name == "keras":
            if "keras" not in sys.modules:
                importlib.import_module("torch")
                old = os.environ.get("KERAS_BACKEND")
                os.environ["KERAS_BACKEND"] = old or "torch"
                try:
                    importlib.import_module("keras")
                finally:
                    if old is None:
                        del os.environ["KERAS_BACKEND"]
            mod = sys.modules["keras"]
            if mod.backend.backend() not in ("torch", "jax"):
                raise ImportError(f"keras runs on {mod.backend.backend()}, not torch or jax")
            _import(mod.backend.backend())
        elif name == "jax":
            mod = importlib.import_module("jax")
            mod.config.update("jax_enable_x64", True)  # float64 inputs, as the other tests
        else:
            mod = importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - the skip reason
        mod = f"{name} does not import here ({type(e).__name__}: {str(e)[:120]})"
    _CACHE[name] = mod
    return mod


def _need(row):
    for m in row.modules:
        mod = _import(m)
        if isinstance(mod, str):
            pytest.skip(mod)
    missing = [f for f in row.functions if not hasattr(cl, f)]
    if missing:
        pytest.skip(f"corelosses has no {', '.join(missing)} yet")


def _namespace(row) -> dict:
    ns = {"cl": cl, "np": np, "math": math}
    if row.framework in ("torch", "keras"):
        torch = _import("torch")
        if not isinstance(torch, str):
            ns.update(torch=torch, F=torch.nn.functional)
    for name in ("jax", "optax", "monai", "kornia", "keras"):
        if name in row.modules:
            ns[name] = _import(name)
    if "jax" in row.modules:
        ns["jnp"] = ns["jax"].numpy
        importlib.import_module("optax.projections")
    if row.peer == "pml":
        ns["pml"] = importlib.import_module("pytorch_metric_learning")
        importlib.import_module("pytorch_metric_learning.losses")
    if row.peer == "sklearn":
        importlib.import_module("sklearn.metrics")
        ns["sklearn"] = sys.modules["sklearn"]
    if row.peer == "monai":
        importlib.import_module("monai.losses")
    if row.peer == "kornia":
        importlib.import_module("kornia.filters")
    if row.peer == "torchvision":
        tv = _import("torchvision")
        ns["torchvision"] = (
            tv if not isinstance(tv, str) else types.SimpleNamespace(ops=_TorchvisionOps)
        )
    if row.peer == "pytorch_msssim":
        ns["pytorch_msssim"] = _import("pytorch_msssim")
    if row.peer == "smp":
        smp = _import("segmentation_models_pytorch")
        ns["smp"] = smp if not isinstance(smp, str) else types.SimpleNamespace(losses=_SmpLosses)
    return ns


def _framework(row) -> str:
    if row.framework == "keras":
        return _import("keras").backend.backend()
    return row.framework


def _convert(fw: str, a: np.ndarray):
    if fw == "torch":
        return _import("torch").from_numpy(np.ascontiguousarray(a))
    if fw == "jax":
        return _import("jax").numpy.asarray(a)
    return a


def _to_numpy(v) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    return np.asarray(v, dtype=np.float64)


def _wrt(row, arrays: dict) -> str | None:
    """The first floating input both expressions use."""
    for k, a in arrays.items():
        if np.issubdtype(a.dtype, np.floating) and all(
            re.search(rf"\b{k}\b", e) for e in (row.peer_call, row.ours)
        ):
            return k
    return None


def _evaluate(fw: str, expr: str, ns: dict, arrays: dict, wrt: str | None):
    """The value of ``expr`` and its gradient (of the sum) with respect to ``wrt``."""
    env = dict(ns, **{k: _convert(fw, a) for k, a in arrays.items()})
    if wrt is None:
        return _to_numpy(eval(expr, env)), None
    if fw == "torch":
        torch = ns["torch"]
        leaf = torch.from_numpy(arrays[wrt].copy()).requires_grad_(True)
        env[wrt] = leaf
        out = eval(expr, env)
        (g,) = torch.autograd.grad(out.sum(), leaf, allow_unused=True)
        return _to_numpy(out), np.zeros(leaf.shape) if g is None else g.numpy()
    jax, jnp = _import("jax"), _import("jax").numpy

    def f(a):
        return eval(expr, dict(env, **{wrt: a}))

    # one compilation per expression: eager JAX dispatches (and compiles) op by op
    out, g = jax.jit(lambda a: (f(a), jax.grad(lambda b: jnp.sum(f(b)))(a)))(
        jnp.asarray(arrays[wrt])
    )
    return _to_numpy(out), np.asarray(g)


def _seed(row) -> int:
    return zlib.crc32(row.id.encode())


# -------------------------------------------------------------------- tests
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # F.kl_div's own
@pytest.mark.parametrize("row", mr.ROWS, ids=[f"{r.id} == {r.ours}" for r in mr.ROWS])
def test_row(row):
    _need(row)
    ns = _namespace(row)
    fw = _framework(row)
    arrays = mr.INPUTS[row.inputs](np.random.default_rng(_seed(row)))
    wrt = _wrt(row, arrays) if row.grad else None
    assert wrt is not None or not row.grad, "grad=True but no floating input is used by both calls"
    vp, gp = _evaluate(fw, row.peer_call, ns, arrays, wrt)
    vo, go = _evaluate(fw, row.ours, ns, arrays, wrt)
    assert vo.shape == vp.shape, (vo.shape, vp.shape)
    assert np.all(np.isfinite(vo))
    np.testing.assert_allclose(vo, vp, rtol=row.rtol, atol=row.atol, err_msg="value")
    if wrt is not None:
        assert np.all(np.isfinite(go))
        np.testing.assert_allclose(
            go, gp, rtol=max(row.rtol, 1e-6) * 10, atol=row.atol * 10, err_msg=f"d/d{wrt}"
        )


def test_guide_renders(tmp_path):
    """docs/_generate.py writes migration.md with every row, verbatim."""
    spec = importlib.util.spec_from_file_location(
        "_generate", mr.__file__.replace("migration_rows", "_generate")
    )
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen._migration(tmp_path)
    text = (tmp_path / "migration.md").read_text()
    for title in mr.by_peer():
        assert f"## {title}" in text
    for r in mr.ROWS:
        assert r.peer_call.replace("|", "\\|") in text and r.ours.replace("|", "\\|") in text


def test_rows_well_formed():
    assert list(mr.by_peer()) == [
        t for k, t in mr.SECTIONS.items() if any(r.peer == k for r in mr.ROWS)
    ]
    assert set(mr.PEER_NOTES) <= set(mr.SECTIONS.values())
    ids = [r.id + " -> " + r.ours for r in mr.ROWS]
    assert len(set(ids)) == len(ids), "duplicate rows"
    for r in mr.ROWS:
        assert r.inputs in mr.INPUTS, r
        assert set(mr.INPUTS[r.inputs](np.random.default_rng(0))) <= set(mr.ARRAYS), r.inputs
        assert r.functions, f"{r.id}: ours calls no corelosses function"
        for e in (r.peer_call, r.ours):
            compile(e, r.id, "eval")


# catalog functions whose listed peers have no row, and why
NO_ROW = {
    "gan_discriminator_loss": "tfgan / torchgan are not installable here",
    "gan_generator_loss": "tfgan / torchgan are not installable here",
    "gradient_penalty": "tfgan is not installable here",
    "r1_penalty": "a StyleGAN2 recipe, not a library call",
    "perceptual_loss": "piq is not installable here; LPIPS has learned weights",
    "style_loss": "piq is not installable here",
}


def test_every_peered_function_has_a_row():
    covered = {f for r in mr.ROWS for f in r.functions}
    missing = [
        i.name
        for i in cl.catalog()
        if i.plugin is None and i.peers and i.name not in covered and i.name not in NO_ROW
    ]
    assert not missing, f"catalog functions with peers but no migration row: {missing}"
