"""Sphinx configuration: ``nox -s docs`` builds the site with warnings as errors.

The API reference (one page per catalog function, with the figure ``corelosses
plot`` draws for it), the migration guide's tables and the example gallery are
generated at build time by ``_generate.py`` from the catalog, the migration rows
(``migration_rows.py``, executed by ``tests/test_migration.py``) and
``examples/``: nothing in them is written by hand, so nothing drifts.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import corelosses  # noqa: E402

project = "corelosses"
author = "the corelosses developers"
copyright = "2026, the corelosses developers"
version = release = corelosses.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax bundled: formulas render without a network
    "sphinx_copybutton",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "README.md", "guide/_kit_reports.md"]
templates_path: list[str] = []

numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = "corelosses"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "github_url": "https://github.com/corelosses/corelosses",
}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


def _generate(app):
    import _generate

    _generate.main(HERE, figures=os.environ.get("CORELOSSES_DOCS_FIGURES", "1") != "0")


def setup(app):
    app.connect("builder-inited", _generate)
