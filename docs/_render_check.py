"""Open built pages in headless Chromium: the figure and the table must render.

``python docs/_render_check.py docs/_build/html`` (``nox -s docs`` runs it).
For one API reference page and the migration guide it asks Chromium for the
DOM after loading (``--dump-dom``) and for a screenshot (``--screenshot``),
saved to ``docs/_build/screenshots/`` for the record, and checks that

- the reference page holds the ``corelosses plot`` figure, an ``<img>`` whose
  file exists, decodes and is not blank, its formula typeset by MathJax, and
  the screenshot shows it (many colours, not one flat page);
- the migration guide holds its tables, with a row per tested mapping.

Without Chromium (Debian's ``chromium``) it says so and exits 0, unless
``CORELOSSES_REQUIRE_BROWSER=1`` (CI sets it after installing the package).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE = "api/cross_entropy.html"
FIGURE = "cross_entropy.png"
MIN_MIGRATION_ROWS = 40


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(browser: str, *args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                browser,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if proc.returncode != 0:
        raise SystemExit(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def _colours(png: Path) -> int:
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(png)
    flat = (img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return len(np.unique(flat, axis=0))


def main(html_dir: str) -> int:
    root = Path(html_dir).resolve()
    browser = _browser()
    if browser is None:
        msg = "render check skipped: no Chromium installed (apt-get install chromium)"
        if os.environ.get("CORELOSSES_REQUIRE_BROWSER") == "1":
            raise SystemExit(msg.replace("skipped", "failed"))
        print(msg)
        return 0
    shots = root.parent / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)

    page = root / PAGE
    dom = _chromium(browser, "--dump-dom", page.as_uri())
    imgs = re.findall(r'<img[^>]+src="([^"]+)"', dom)
    fig = [s for s in imgs if s.endswith(FIGURE)]
    if not fig:
        raise SystemExit(f"{PAGE}: no <img> of {FIGURE} in the rendered DOM (found {imgs})")
    img_file = (page.parent / fig[0]).resolve()
    if not img_file.exists() or _colours(img_file) < 16:
        raise SystemExit(f"{PAGE}: the figure {img_file} is missing or blank")
    if "autofunction" not in dom and "sig sig-object" not in dom:
        raise SystemExit(f"{PAGE}: the function's documentation did not render")
    if "mjx-container" not in dom:  # MathJax is bundled (sphinx-mathjax-offline)
        raise SystemExit(f"{PAGE}: the formula was not typeset")
    shot = shots / "api_cross_entropy.png"
    _chromium(browser, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    if _colours(shot) < 64:
        raise SystemExit(f"{shot}: the screenshot is (nearly) blank")

    mig = root / "migration.html"
    dom = _chromium(browser, "--dump-dom", mig.as_uri())
    tables = dom.count("<table")
    rows = dom.count("<tr") - tables  # minus the header rows
    if tables < 3 or rows < MIN_MIGRATION_ROWS:
        raise SystemExit(f"migration.html: {tables} tables, {rows} rows rendered")
    shot2 = shots / "migration.png"
    _chromium(browser, f"--screenshot={shot2}", "--window-size=1280,2400", mig.as_uri())
    if _colours(shot2) < 8:
        raise SystemExit(f"{shot2}: the screenshot is blank")
    print(
        f"render check passed: {PAGE} shows {FIGURE}; migration.html {tables} tables, "
        f"{rows} rows; screenshots in {shots}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html"))
