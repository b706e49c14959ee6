"""The README's code blocks run as written."""

from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code):
    for mod in ("torch", "jax"):
        if f"import {mod}" in code:
            pytest.importorskip(mod)
    exec(compile(code, str(README), "exec"), {})


def test_readme_catalog_is_complete():
    """The README's catalog lists every registered function, in its family, and no other."""
    import corelosses as cl

    text = README.read_text().split("## Catalog", 1)[1].split("\n## ", 1)[0]
    listed = {}
    for fam, names in re.findall(r"^- \*\*(.+?)\*\*: (.*)$", text, re.M):
        for name in re.findall(r"`(\w+)`", names):
            listed[name] = fam
    expected = {i.name: i.family for i in cl.catalog()}
    assert listed == expected
    assert f"{len(expected)} functions" in text
