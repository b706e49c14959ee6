"""What the ``pytest11`` entry point loads: the options, nothing else until asked.

``--corelosses`` registers :mod:`corelosses.testing.plugin` (the ``xp`` fixture);
without it an installed corelosses leaves a test session untouched.
"""

from __future__ import annotations

import os

OPTION = "--corelosses-backends"


def pytest_addoption(parser):
    group = parser.getgroup("corelosses", "corelosses: test losses on every backend")
    try:
        group.addoption(
            "--corelosses",
            action="store_true",
            default=False,
            help="enable the corelosses fixtures (xp over every installed backend)",
        )
        group.addoption(
            OPTION,
            default=None,
            help="comma-separated backends for the xp fixture (default: every installed "
            "one; also CORELOSSES_TEST_BACKENDS)",
        )
    except ValueError:  # loaded twice (entry point and -p corelosses.testing)
        pass


def pytest_configure(config):
    chosen = config.getoption(OPTION, default=None)
    if chosen:
        os.environ["CORELOSSES_TEST_BACKENDS"] = chosen
    pm = config.pluginmanager
    if config.getoption("--corelosses", default=False) and not (
        pm.has_plugin("corelosses.testing") or pm.has_plugin("corelosses-testing-fixtures")
    ):
        from . import plugin

        pm.register(plugin, "corelosses-testing-fixtures")
