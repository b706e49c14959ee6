"""The demo plugin's own tests: public names only (corelosses.testing), as a third party writes them.

Run with the kit's pytest plugin: ``pytest -p corelosses.testing tests/`` (the
``xp`` fixture runs each test on every installed backend).
"""

import numpy as np

import corelosses as cl
from corelosses.testing import assert_backends_agree, assert_catalog_consistent


def test_every_loss_of_the_plugin_agrees_on_every_backend():
    assert assert_catalog_consistent("demo") == ["squared_log_error"]


def test_value_on_each_backend(xp):
    fn = cl.get("squared_log_error").fn
    x, y = np.array([np.e - 1.0, 0.0]), np.array([0.0, 0.0])
    out = xp.call(fn, xp.asarray(x), xp.asarray(y), reduction="none")
    np.testing.assert_allclose(xp.to_numpy(out), [1.0, 0.0], rtol=1e-12)


def test_options_and_masks_through_the_kit():
    fn = cl.get("squared_log_error").fn
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0.1, 2.0, (3, 4)), rng.uniform(0.1, 2.0, (3, 4))
    assert_backends_agree(fn, (x, y), kwargs={"weight": rng.uniform(0.5, 2.0, (4,))})
