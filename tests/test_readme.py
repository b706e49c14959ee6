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
