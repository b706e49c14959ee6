"""The ``corelosses`` command: ``list``, ``check``, ``bench``, ``plot``."""

from __future__ import annotations

import argparse
import sys


def _list(args) -> int:
    from . import catalog

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

    from ._check import run_check

    if "KERAS_BACKEND" not in os.environ and "keras" not in sys.modules:
        # Keras defaults to TensorFlow, whose tensors the core cannot take.
        for b in ("torch", "jax"):
            if importlib.util.find_spec(b) is not None:
                os.environ["KERAS_BACKEND"] = b
                break
    backends = args.backends.split(",") if args.backends else None
    return run_check(backends=backends, names=args.names or None)


def _bench(args) -> int:
    from pathlib import Path

    from ._bench import from_args

    # in a source checkout the results go next to benchmarks/RESULTS.md
    default = Path("benchmarks/results") if Path("benchmarks/__init__.py").exists() else None
    if args.out is None and default is None:
        args.out = "corelosses-bench"
    return from_args(args, default)


def _plot(args) -> int:
    from ._plot import plot_loss

    try:
        path = plot_loss(args.name, args.out or f"{args.name}.png", args.low, args.high)
    except (KeyError, ValueError, RuntimeError) as e:
        print(f"corelosses plot: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="corelosses", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    pl = sub.add_parser("list", help="print the catalog")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(func=_list)
    pc = sub.add_parser("check", help="every loss on every installed backend vs float64 NumPy")
    pc.add_argument("names", nargs="*", help="only these losses")
    pc.add_argument("--backends", help="comma-separated backends (default: all importable)")
    pc.set_defaults(func=_check)
    pb = sub.add_parser("bench", help="speed against native kernels (ratios, bandwidth, plot)")
    from ._bench import add_arguments

    add_arguments(pb)
    pb.set_defaults(func=_bench)
    pp = sub.add_parser("plot", help="a picture of a loss's shape: value and derivative")
    pp.add_argument("name", help="a catalog loss, e.g. focal_loss")
    pp.add_argument("--out", help="PNG path (default NAME.png)")
    pp.add_argument("--low", type=float, default=-6.0, help="smallest prediction")
    pp.add_argument("--high", type=float, default=6.0, help="largest prediction")
    pp.set_defaults(func=_plot)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
