"""docs/reliability.md names the test behind every rule: each named test must exist."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_the_reliability_doc_names_exists():
    doc = (ROOT / "docs" / "reliability.md").read_text()
    refs = re.findall(r"`(tests/[\w/]+\.py)::([\w*]+)`|`::([\w*]+)`|`(test_[\w*]+)`", doc)
    assert len(refs) > 30
    current = None
    missing = []
    for path, name, cont, bare in refs:
        if path:
            current, name = path, name
        elif cont:
            name = cont
        else:  # a bare name in the adversarial suite's table
            current, name = "tests/test_adversarial.py", bare
        defs = re.findall(r"^def (test_\w+)", (ROOT / current).read_text(), re.M)
        if not any(fnmatch.fnmatch(d, name) for d in defs):
            missing.append(f"{current}::{name}")
    assert not missing, missing
