"""The ``corelosses`` command: ``list``, ``check``, ``bench``, ``plot``."""

from __future__ import annotations

import argparse
import ast
import sys

#: ``corelosses --help``'s description (plain text: argparse prints it as is)
DESCRIPTION = (
    "Loss functions written against the Python array API standard, checked on every "
    "installed backend (numpy, array_api_strict, torch, jax, dask, cupy)."
)
EPILOG = "Run 'corelosses COMMAND --help' for the options of a command."


def _list(args) -> int:
    from .. import catalog

    rows = catalog()
    if args.json:
        import json

        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return 0
    w = max(len(r.name) for r in rows) + 2
    print("name".ljust(w) + "family".ljust(16) + "backends tested".ljust(48) + "reference")
    for r in rows:
        ref = r.reference + (f" [plugin: {r.plugin}]" if r.plugin else "")
        print(r.name.ljust(w) + r.family.ljust(16) + ",".join(r.backends).ljust(48) + ref)
    print(f"\n{len(rows)} functions")
    return 0


def _check(args) -> int:
    import importlib.util
    import os

    from .check import run_check

    if "KERAS_BACKEND" not in os.environ and "keras" not in sys.modules:
        # Keras defaults to TensorFlow, whose tensors the core cannot take.
        for b in ("torch", "jax"):
            if importlib.util.find_spec(b) is not None:
                os.environ["KERAS_BACKEND"] = b
                break
    from .check import UsageError

    backends = args.backends.split(",") if args.backends else None
    names = list(args.names or [])
    if args.plugin:
        from .. import catalog

        known = sorted({i.plugin for i in catalog() if i.plugin})
        mine = [i.name for i in catalog() if i.plugin == args.plugin]
        if not mine:
            have = ", ".join(known) if known else "none installed"
            print(
                f"corelosses check: no loss plugin named {args.plugin!r} (loss plugins: {have})",
                file=sys.stderr,
            )
            return 2
        names += mine
    try:
        return run_check(backends=backends, names=names or None)
    except UsageError as e:
        print(f"corelosses check: {e}", file=sys.stderr)
        return 2


def _bench(args) -> int:
    from pathlib import Path

    from .bench import from_args

    # in a source checkout the results go next to benchmarks/RESULTS.md
    default = Path("benchmarks/results") if Path("benchmarks/__init__.py").exists() else None
    if args.out is None and default is None:
        args.out = "corelosses-bench"
    return from_args(args, default)


def _option(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` with VALUE a Python literal (``2``, ``0.5``, ``False``, ``'giou'``);
    anything else is taken as a string."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        v = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        v = value.strip()
    return name.strip(), v


def _plot(args) -> int:
    from .plot import plot_loss

    try:
        path = plot_loss(
            args.name,
            args.out or f"{args.name}.png",
            args.low,
            args.high,
            options=dict(args.option or ()),
        )
    except KeyError as e:
        print(f"corelosses plot: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, RuntimeError) as e:
        print(f"corelosses plot: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    from .check import BACKEND_NAMES

    p = argparse.ArgumentParser(prog="corelosses", description=DESCRIPTION, epilog=EPILOG)
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    pl = sub.add_parser(
        "list",
        help="print the catalog: every function, its family, reference and tested backends",
        description="Print the catalog (corelosses.catalog() in Python).",
    )
    pl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pl.set_defaults(func=_list)
    pc = sub.add_parser(
        "check",
        help="every catalog function on every installed backend vs float64 NumPy",
        description=(
            "Check every catalog function on every installed backend: the value against the "
            "float64 NumPy result and, on autodiff backends, the gradient against finite "
            "differences. Prints a function-by-backend table and the counts of passed, failed "
            "and n/a (not applicable) cells. Exit status: 0 if every check that ran passed, 1 if "
            "one failed or none ran, 2 for an unknown function or backend name."
        ),
    )
    pc.add_argument(
        "names", nargs="*", metavar="NAME", help="only these catalog functions (default: all)"
    )
    pc.add_argument(
        "--backends",
        metavar="B1,B2",
        help=(
            f"comma-separated, among {','.join(BACKEND_NAMES)} (default: all of them that are "
            "installed; a known backend that is not installed is reported and skipped)"
        ),
    )
    pc.add_argument(
        "--plugin",
        metavar="NAME",
        help=(
            "only the losses of this plugin (its corelosses.losses entry point name), "
            "checked exactly as the built-in ones (default: every catalog function)"
        ),
    )
    pc.set_defaults(func=_check)
    pb = sub.add_parser(
        "bench",
        help="speed against native kernels (ratios, bandwidth, plot)",
        description=(
            "Time every loss with a native peer against that peer (interleaved repeats, median "
            "kept); write bench.md, bench.json and bench.png."
        ),
    )
    from .bench import add_arguments

    add_arguments(pb)
    pb.set_defaults(func=_bench)
    pp = sub.add_parser(
        "plot",
        help="a picture of a loss's shape: value and derivative",
        description=(
            "Plot a loss (reduction='none') and its derivative against one scalar input, for a "
            "few targets, on NumPy in float64. The title lists the options used, defaults "
            "included; the x axis says whether the input is a logit, a probability or a "
            "regression prediction."
        ),
    )
    pp.add_argument("name", help="a catalog loss, e.g. focal_loss")
    pp.add_argument("--out", help="PNG path (default: NAME.png)")
    pp.add_argument(
        "--low",
        type=float,
        default=None,
        help="smallest input (default: -6 for logits and predictions, 0.001 for probabilities)",
    )
    pp.add_argument(
        "--high",
        type=float,
        default=None,
        help="largest input (default: 6 for logits and predictions, 0.999 for probabilities)",
    )
    pp.add_argument(
        "-o",
        "--option",
        type=_option,
        action="append",
        metavar="NAME=VALUE",
        help="an option of the loss, e.g. -o gamma=3 -o from_logits=False (repeatable; "
        "default: the loss's own defaults)",
    )
    pp.set_defaults(func=_plot)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
