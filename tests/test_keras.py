"""corelosses.keras: Keras 3 losses, fitted on the jax and torch Keras backends.

Keras picks its backend at import, so each backend runs in its own process.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import numpy as np, keras, corelosses as cl
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
yb = (x[:, :1] > 0).astype("float32")
yc = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")
yr = x[:, :2].sum(axis=1, keepdims=True)
cases = [
    (cl.keras.BinaryCrossEntropy(), yb, 1),
    (cl.keras.CrossEntropy(), yc, 3),
    (cl.keras.MSELoss(), yr, 1),
    (cl.keras.FocalLoss(gamma=2.0, alpha=0.25), yb, 1),
]
for loss, y, out in cases:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(out)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    h = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(h)) and h[-1] < h[0], (loss.name, h)
    # Keras' value equals the core's mean on the same predictions
    p = keras.ops.convert_to_numpy(model(x))
    got = float(keras.ops.convert_to_numpy(loss(y, p)))
    ref = float(loss.corelosses_info.fn(p.astype("float64"), y, **loss.options))
    assert np.isclose(got, ref, rtol=1e-5), (loss.name, got, ref)
    cfg = loss.get_config()
    again = type(loss).from_config(cfg)
    assert again.get_config() == cfg
    assert keras.losses.deserialize(keras.losses.serialize(loss)).get_config() == cfg
# options round trip, arrays included; ignore_index handled like the core's mean
l = cl.keras.CrossEntropyLoss(ignore_index=-100, class_weight=np.array([1.0, 2.0, 0.5]),
                              label_smoothing=0.1)
l2 = type(l).from_config(l.get_config())
p = rng.normal(size=(6, 3)).astype("float32"); t = np.array([0, 1, -100, 2, 1, 0])
ref = float(cl.cross_entropy(p.astype("float64"), t, ignore_index=-100,
                             class_weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1))
for ll in (l, l2):
    assert np.isclose(float(keras.ops.convert_to_numpy(ll(t, p))), ref, rtol=1e-5)
print("OK", keras.backend.backend())
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_fit_tiny_model(backend):
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"needs keras and {backend}")
    env = dict(os.environ, KERAS_BACKEND=backend)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"OK {backend}" in r.stdout
