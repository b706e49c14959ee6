"""The structure-shaping examples run in their fast mode and show their effect."""

from __future__ import annotations

import importlib.util
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")

pytestmark = pytest.mark.slow


def _load(name):
    spec = importlib.util.spec_from_file_location(
        f"_example_{name}", os.path.join(EXAMPLES, f"{name}.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_binary_masks():
    pytest.importorskip("torch")
    res = _load("binary_masks").main(fast=True)
    plain, pen = res["plain"], res["binary_penalty"]
    # the penalised outputs are bimodal at 0 and 1; the plain ones spread over the edge
    assert pen["near_0_or_1"] > plain["near_0_or_1"] + 0.3
    assert pen["near_0_or_1"] > 0.6
    # and still segment the disc
    assert pen["accuracy_vs_disc"] > 0.9
    if res["png"] is not None:
        assert os.path.getsize(res["png"]) > 0


def test_one_hot_routing():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    res = _load("one_hot_routing").main(fast=True)
    plain, pen = res["plain"], res["one_hot_penalty"]
    assert pen["mean_max_prob"] > plain["mean_max_prob"] + 0.15
    assert pen["mean_entropy"] < 0.6 * plain["mean_entropy"]
    # the routing decision alone (arg-max branch) is much closer to the soft fit
    assert pen["mse_argmax_routing"] < 0.5 * plain["mse_argmax_routing"]


def test_partial_labels():
    pytest.importorskip("torch")
    res = _load("partial_labels").main(fast=True)
    m, z, mult, sep = res["masked"], res["zero_imputed"], res["multiplier"], res["separate"]
    # zero-imputation pulls the regression head toward 0 on the positives
    assert m["rmse_on_positives"] < 0.7 * z["rmse_on_positives"]
    assert z["bias_on_positives"] < -0.15 and abs(m["bias_on_positives"]) < 0.1
    # masking matches separate models on the regression head, sharing the trunk
    assert m["rmse_on_positives"] < 1.25 * sep["rmse_on_positives"]
    # the multiplier never trains on the real labels equal to 0
    assert m["rmse_on_zero_labels"] < mult["rmse_on_zero_labels"]
    assert min(v["accuracy"] for v in res.values()) > 0.65


def test_symmetric_maps():
    pytest.importorskip("torch")
    res = _load("symmetric_maps").main(fast=True)
    base = res["focal"]
    assert base["asymmetry"] > 1e-3  # the pair network alone is not symmetric
    for k in ("symmetrize", "triangle_mask"):  # symmetric by construction
        assert res[k]["asymmetry"] < 1e-6
    assert res["symmetry_penalty"]["asymmetry"] < 0.2 * base["asymmetry"]
    # trained from the lower half's labels, symmetric_loss learns both halves
    assert res["symmetric_loss"]["asymmetry"] < 0.8 * res["lower_half_only"]["asymmetry"]
    assert res["symmetric_loss"]["f1"] > res["lower_half_only"]["f1"]
    for k, v in res.items():
        assert v["f1"] > 0.35, k
    assert res["symmetrize"]["f1"] > base["f1"] - 0.05
