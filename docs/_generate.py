"""Pages generated at build time (``conf.py`` calls :func:`main`).

- ``api/``: an index by family and one page per catalog function: what the
  registry knows (family, reference, peers, the backends it is tested on), the
  numpydoc docstring (formula, parameters, runnable example) and the figure
  ``corelosses plot`` draws for it (value and derivative, options in the title);
- ``migration.md``: one table per peer from ``migration_rows.py``, the rows
  ``tests/test_migration.py`` executes;
- ``examples.md``: the gallery, each script's docstring, measured results,
  figure and source.

Run by hand: ``python docs/_generate.py`` (then ``sphinx-build docs docs/_build``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import corelosses as cl

FAMILY_ORDER = (
    "classification",
    "divergence",
    "regression",
    "embedding",
    "metric learning",
    "ranking",
    "sequence",
    "segmentation",
    "detection",
    "gan",
    "perceptual",
    "regularizers",
    "transforms",
    "schedules",
)


def _write(path: Path, text: str) -> None:
    # rewrite only on change: Sphinx then rebuilds only what changed
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _families() -> dict[str, list]:
    fam: dict[str, list] = defaultdict(list)
    for info in cl.catalog():
        if info.plugin is None:
            fam[info.family].append(info)
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    return dict(sorted(fam.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))


def _figure(info, figdir: Path) -> str | None:
    """The PNG ``corelosses plot`` draws (a loss it cannot draw fails the build)."""
    from corelosses._tools.plot import plot_loss

    out = figdir / f"{info.name}.png"
    if info.kind != "loss":
        return None
    src = Path(info.fn.__code__.co_filename).stat().st_mtime
    if not out.exists() or out.stat().st_mtime < src:
        plot_loss(info.name, str(out))
    return f"figures/{info.name}.png"


def _api(root: Path, figures: bool) -> None:
    api = root / "api"
    figdir = api / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    fams = _families()
    lines = [
        "# API reference",
        "",
        "Every function of the catalog (`corelosses list`), by family. Each page shows the",
        "formula, the reference paper or peer, the backends the function is tested on (from the",
        "registry), a runnable example and the figure `corelosses plot NAME` draws.",
        "",
        "The adapters: {doc}`torch`, {doc}`jax`, {doc}`keras`.",
        "",
    ]
    names = []
    for fam, infos in fams.items():
        lines += [f"## {fam}", "", "| function | reference |", "|---|---|"]
        for info in sorted(infos, key=lambda i: i.name):
            ref = info.reference.replace("|", "\\|")
            lines.append(f"| {{doc}}`{info.name}` | {ref} |")
            names.append(info.name)
            _write(api / f"{info.name}.md", _page(info, figdir, figures))
        lines.append("")
    lines += [
        "```{toctree}",
        ":hidden:",
        ":maxdepth: 1",
        "",
        *names,
        "torch",
        "jax",
        "keras",
        "```",
        "",
    ]
    _write(api / "index.md", "\n".join(lines))
    for mod, what in (
        ("torch", "an `nn.Module` for every loss, generated from the catalog"),
        ("jax", "the losses ready for `jit`/`grad`/`vmap`, `per_example` and `valid_count`"),
        ("keras", "a `keras.losses.Loss` for every loss, for Keras 3 on any backend"),
    ):
        _write(
            api / f"{mod}.md",
            f"# corelosses.{mod}\n\n{what.capitalize()}.\n\n"
            f"```{{eval-rst}}\n.. automodule:: corelosses.{mod}\n   :no-members:\n```\n",
        )


def _page(info, figdir: Path, figures: bool) -> str:
    peers = ", ".join(f"`{p}`" for p in info.peers) or "none (corelosses only)"
    backends = ", ".join(info.backends)
    fig = _figure(info, figdir) if figures else "no figure (built without figures)"
    lines = [
        f"# {info.name}",
        "",
        f"*family* {info.family} · *kind* {info.kind} · *tested on* {backends}",
        "",
        f"**Reference:** {info.reference}",
        "",
        f"**Peers:** {peers}",
        "",
        "```{eval-rst}",
        f".. autofunction:: corelosses.{info.name}",
        "```",
        "",
    ]
    if fig and fig.startswith("figures/"):
        lines += [
            f"```{{figure}} {fig}",
            f":alt: {info.name}: value and derivative",
            "",
            f'`corelosses plot {info.name}`: the loss (`reduction="none"`) and its derivative '
            "against one input, for a few targets, options in the title.",
            "```",
            "",
        ]
    elif fig:
        lines += [f"*{fig}*", ""]
    return "\n".join(lines)


def _migration(root: Path) -> None:
    import migration_rows as mr

    lines = [
        "# Migration guide",
        "",
        "One table per peer: the peer's call, the corelosses call that computes the same number,",
        "and, where conventions differ, the exact expression that reproduces the peer's value.",
        "Every row is executed by `tests/test_migration.py` on random inputs (both sides, compared",
        "with a tolerance), so this guide cannot drift from the code. The arrays the calls use:",
        "",
    ]
    arrays = getattr(mr, "ARRAYS", {})
    lines += [f"- `{k}`: {v}" for k, v in arrays.items()] + [""]
    for peer, rows in mr.by_peer().items():
        lines += [f"## {peer}", ""]
        intro = mr.PEER_NOTES.get(peer)
        if intro:
            lines += [intro, ""]
        lines += ["| peer | corelosses | note |", "|---|---|---|"]
        for r in rows:
            cell = lambda s: "`" + s.replace("|", "\\|") + "`"  # noqa: E731
            lines.append(f"| {cell(r.peer_call)} | {cell(r.ours)} | {r.note.replace('|', '/')} |")
        lines.append("")
    _write(root / "migration.md", "\n".join(lines))


def _examples(root: Path, figures: bool) -> None:
    repo = root.parent
    ex = repo / "examples"
    readme = (ex / "README.md").read_text()
    results = readme.split("\n## ", 1)[1] if "\n## " in readme else ""
    out = root / "gallery"
    lines = [
        "# Examples",
        "",
        "Each script trains or evaluates something small on the CPU and prints what it measured;",
        "`--fast` runs a few-second version (what the tests run, asserting the claimed effect).",
        "The figures below come from the `--fast` runs made when these pages were built; the",
        "measured results are those of the full runs.",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        "",
    ]
    scripts = sorted(p for p in ex.glob("*.py"))
    lines += [p.stem for p in scripts] + ["```", "", "## Measured results", "", "## " + results]
    _write(out / "index.md", "\n".join(lines))
    for p in scripts:
        doc = ast.get_docstring(ast.parse(p.read_text())) or ""
        page = [f"# {p.stem}", "", doc, ""]
        png = _example_figure(p, out, figures)
        if png:
            page += [
                f"```{{figure}} {png}",
                f":alt: {p.stem}",
                "",
                f"`python examples/{p.name} --fast`",
                "```",
                "",
            ]
        rel = os.path.relpath(p, out)
        page += [f"```{{literalinclude}} {rel}", ":language: python", "```", ""]
        _write(out / f"{p.stem}.md", "\n".join(page))


def _example_figure(script: Path, out: Path, figures: bool) -> str | None:
    """The PNG the script writes (``examples/out/STEM.png``), from its ``--fast`` run."""
    if not (figures and "savefig" in script.read_text()):
        return None
    name = f"{script.stem}.png"
    target = out / name
    if not target.exists() or target.stat().st_mtime < script.stat().st_mtime:
        subprocess.run(
            [sys.executable, str(script), "--fast"],
            check=True,
            cwd=script.parent.parent,
            capture_output=True,
            timeout=600,
        )
        target.write_bytes((script.parent / "out" / name).read_bytes())
    return name


def _kit_reports(root: Path) -> None:
    """The reports of ``corelosses.testing`` for its deliberately wrong losses."""
    import numpy as np

    from corelosses.testing import KitError, assert_backends_agree, broken, installed_backends

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    have = set(installed_backends())
    cases = [
        (
            "a different value on one backend",
            broken.wrong_on_torch,
            {"backends": ["numpy", "torch"]},
        ),
        (
            "a NaN gradient under the mask (one where, no double where)",
            broken.nan_grad_under_mask,
            {"backends": ["torch"], "half": False, "compile": False},
        ),
        ("a graph break", broken.graph_break, {"backends": ["numpy", "torch"], "half": False}),
        (
            "half precision computed in half precision",
            broken.half_stays_half,
            {"backends": ["torch"], "compile": False},
        ),
    ]
    lines = []
    for what, fn, opts in cases:
        if not set(opts["backends"]) <= have:
            continue
        try:
            assert_backends_agree(fn, (x, y), **opts)
            report = "(no failure: the check did not catch it)"
        except KitError as e:
            report = str(e)
        lines += [f"**{what}** (`broken.{fn.__name__}`):", "", "```text", report, "```", ""]
    if not lines:
        lines = ["*(torch is not installed where these pages were built: no reports)*", ""]
    _write(root / "guide" / "_kit_reports.md", "\n".join(lines))


def main(root: str | os.PathLike, figures: bool = True) -> None:
    root = Path(root)
    _kit_reports(root)
    _api(root, figures)
    if (root / "migration_rows.py").exists():
        _migration(root)
    _examples(root, figures)


if __name__ == "__main__":
    main(Path(__file__).parent, figures="--no-figures" not in sys.argv)
