"""``corelosses check``: every catalog function on every importable backend.

For each catalog entry, its catalog example (float64 NumPy inputs) gives the
reference value on NumPy and the reference gradient by central finite
differences. Each backend recomputes the value (in float64; jax with x64,
under ``jax.jit``) and, where it has autodiff, the gradient; the table
reports the largest relative error per function and backend and PASS/FAIL.

Entries without an ``example`` are checked through a case built here
(:data:`SPECIAL_CASES`): the critic penalties (``gradient_penalty``,
``r1_penalty``) with a fixed differentiable critic against an analytic float64
reference, and the wrapper factory ``symmetric_loss`` through
``symmetric_loss(mse_loss)``. A cell that does not apply is ``n/a``, counted
apart from the passes and failures; an entry nothing here can check is
reported as such.
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import sys
import warnings
from collections.abc import Callable

import numpy as np

from .._registry import LossInfo, catalog
from .check_cases import (  # noqa: F401 (re-exported)
    SPECIAL_CASES,
    CheckCase,
    _gradient_penalty_case,
    _per_sample_sq_norm,
    _r1_penalty_case,
    _sum_squares_critic,
    _symmetric_loss_case,
    case_of,
)
from .check_runners import (  # noqa: F401 (re-exported)
    _RUNNERS,
    BACKEND_NAMES,
    _Cupy,
    _Dask,
    _info_of,
    _Jax,
    _Keras,
    _Numpy,
    _Runner,
    _Strict,
    _Torch,
    _TorchNN,
)

VALUE_RTOL = 1e-9
GRAD_RTOL = 1e-5


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(b))))
    return float(np.max(np.abs(a - b))) / scale


def fd_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function, float64."""
    x = np.array(x, dtype=np.float64, order="C")  # reshape(-1) below must be a view
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    gf = g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        h = eps * max(1.0, abs(old))
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


class UsageError(ValueError):
    """An unknown loss or backend name (the command exits with status 2)."""


def _suggest(kind: str, bad: list[str], valid: list[str], see: str) -> str:
    parts = []
    for b in bad:
        close = difflib.get_close_matches(b, valid, n=3, cutoff=0.6)
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else see
        parts.append(f"{b!r} ({hint})")
    return f"unknown {kind}{'s' if len(bad) > 1 else ''}: " + "; ".join(parts)


def _split_names(names) -> list[str]:
    out: list[str] = []
    for n in names or ():
        out += [p.strip() for p in str(n).split(",") if p.strip()]
    return out


def resolve_names(names=None) -> list[str] | None:
    """Check loss names against the catalog; ``None`` (all) if none given.

    Raises :class:`UsageError` naming each unknown name with its closest
    catalog names (``difflib.get_close_matches``).
    """
    names = _split_names(names)
    if not names:
        return None
    valid = [i.name for i in catalog()]
    bad = [n for n in names if n not in valid]
    if bad:
        raise UsageError(_suggest("loss", bad, valid, "no close match; see `corelosses list`"))
    return names


def resolve_backends(names=None) -> list[str]:
    """Check backend names; every known backend if none given.

    Raises :class:`UsageError` naming each unknown backend with the closest
    valid ones. A known backend that is not installed is not an error here
    (see :func:`load_backends`).
    """
    names = _split_names(names)
    if not names:
        return list(BACKEND_NAMES)
    bad = [n for n in names if n not in _RUNNERS]
    if bad:
        raise UsageError(
            _suggest("backend", bad, list(BACKEND_NAMES), "no close match")
            + "; valid backends: "
            + ", ".join(BACKEND_NAMES)
        )
    return list(dict.fromkeys(names))


def load_backends(names=None) -> tuple[list[_Runner], list[tuple[str, str]]]:
    """The runners of the known backends ``names`` (default: all) that work here,
    and ``(name, reason)`` for each one that does not (not installed, no GPU)."""
    runners, skipped = [], []
    for name in resolve_backends(names):
        top = name.split(".")[0]
        if importlib.util.find_spec(top) is None:
            skipped.append((name, f"{top} is not installed"))
            continue
        try:
            runners.append(_RUNNERS[name]())
        except Exception as e:  # noqa: BLE001 - e.g. cupy without a GPU
            skipped.append((name, f"{type(e).__name__}: {e}"))
    return runners, skipped


def available_backends(names=None) -> list[_Runner]:
    """The runners of ``names`` (default: all) that work here."""
    return load_backends(names)[0]


def _fd_of(fn, args, kwargs, i):
    def f(xi):
        a = list(args)
        a[i] = xi
        return float(np.sum(fn(*a, **kwargs)))

    return fd_gradient(f, args[i])


def _other_framework_grads(case, runner, args, kwargs):
    """Gradients from torch (or jax, when checking torch), or None if neither is here."""
    mine = getattr(runner, "backend", runner.name)
    for name in ("torch", "jax"):
        if name != mine and importlib.util.find_spec(name) is not None:
            return _RUNNERS[name]().grads(case.fn, args, kwargs, case.grad_argnums)
    return None


def check_one(case: CheckCase | LossInfo, runner: _Runner, seed: int = 0) -> tuple[str, float, str]:
    """Return (status, max relative error, detail) of one entry on one backend.

    ``status`` is ``"PASS"``, ``"FAIL"`` or ``"n/a"`` (a function that needs
    autodiff raised ``TypeError``, as documented, on a backend without it).
    """
    if isinstance(case, LossInfo):
        info = case
        found = case_of(info)
        if found is None:
            return "n/a", math.nan, f"{info.name} has no example to check"
        case = found
    rng = np.random.default_rng(seed)
    try:
        args, kwargs = case.example(rng)
    except ModuleNotFoundError as e:  # an optional dependency (scipy for distance maps)
        if not _optional(e):
            raise
        return "n/a", math.nan, f"needs {e.name} (not installed)"
    fn = case.fn
    ref_fn = case.reference or fn
    if case.needs_autodiff and not runner.autodiff:
        try:
            runner.value(fn, args, kwargs)
        except TypeError:
            return "n/a", math.nan, "no autodiff: raises TypeError, as documented"
        except Exception as e:  # noqa: BLE001 - reported in the table
            return "FAIL", math.inf, f"expected TypeError without autodiff, got {type(e).__name__}"
        return "FAIL", math.inf, "expected TypeError without autodiff, got a value"
    try:
        ref = (
            runner.reference(fn, args, kwargs)
            if hasattr(runner, "reference")
            else np.asarray(ref_fn(*args, **kwargs))
        )
        err = _rel_err(runner.value(fn, args, kwargs), ref)
        ok = err <= getattr(runner, "value_rtol", VALUE_RTOL)
        detail = "value"
        if runner.autodiff and case.grad_argnums:
            gs = runner.grads(fn, args, kwargs, case.grad_argnums)
            if not case.fd_gradient:
                # a stop-gradient inside (e.g. IoU-balanced weights): finite differences
                # of the value differ by design; compare with the other framework instead
                refs = _other_framework_grads(case, runner, args, kwargs)
            else:
                refs = [_fd_of(ref_fn, args, kwargs, i) for i in case.grad_argnums]
            if refs is not None:
                for g, r in zip(gs, refs):
                    ge = _rel_err(g, r)
                    ok &= ge <= GRAD_RTOL
                    err = max(err, ge)
                detail = "value+grad"
        return ("PASS" if ok else "FAIL"), err, detail
    except ModuleNotFoundError as e:
        if _optional(e):
            return "n/a", math.nan, f"needs {e.name} (not installed)"
        return "FAIL", math.inf, f"{type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 - reported in the table
        return "FAIL", math.inf, f"{type(e).__name__}: {e}"


# Optional dependencies a loss may need at call time (README, "Dependencies"): their
# absence makes a cell n/a; any other missing module is a failure.
OPTIONAL_MODULES = ("scipy",)


def _optional(e: ModuleNotFoundError) -> bool:
    return (e.name or "").partition(".")[0] in OPTIONAL_MODULES


def _not_applicable(case: CheckCase, runner: _Runner) -> bool:
    """Whether a cell is n/a without running anything."""
    if hasattr(runner, "supports"):  # the torch.nn / Keras wrappers of catalog entries
        return case.fn is not case.info.fn or not runner.supports(case.info)
    if case.needs_autodiff and not runner.autodiff:
        return False  # runs: it must raise TypeError
    return runner.name not in case.info.backends and runner.name != "numpy"


CELL = 20


def run_check(backends=None, names=None, out=None, err=None) -> int:
    """Print the table to ``out`` (default: stdout); return 0 if every check
    that ran passed (and one did), else 1.

    Unknown loss or backend names raise :class:`UsageError` before anything
    runs; a known backend that is not installed is reported and skipped.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    names = resolve_names(names)
    runners, skipped = load_backends(backends)
    infos = [i for i in catalog() if not names or i.name in names]
    cols = [r.name for r in runners]
    w = max([len(i.name) for i in infos] + [4]) + 2
    print("corelosses check: value vs float64 NumPy, gradient vs finite differences", file=out)
    print(
        f"(relative error; value tolerance {VALUE_RTOL:.0e}, gradient {GRAD_RTOL:.0e})",
        file=out,
    )
    for name, why in skipped:
        print(f"backend {name} skipped: {why}", file=out)
    print("", file=out)
    print("loss".ljust(w) + "".join(c.ljust(CELL) for c in cols), file=out)
    failures: list = []
    unchecked: list = []
    caught: dict = {}
    n_pass = n_fail = n_na = 0
    for info in infos:
        case = case_of(info)
        row = info.name.ljust(w)
        for r in runners:
            if case is None:
                row += "n/a (no example)".ljust(CELL)
                n_na += 1
                continue
            if _not_applicable(case, r):
                row += "n/a".ljust(CELL)
                n_na += 1
                continue
            # warnings the active filters let through are listed after the table, not
            # printed inside it
            with warnings.catch_warnings(record=True) as ws:
                status, rel, detail = check_one(case, r)
            for wm in ws:
                msg = str(wm.message).splitlines()[0] if str(wm.message) else ""
                caught.setdefault((wm.category.__name__, msg), []).append(f"{info.name}/{r.name}")
            if status == "n/a":
                why = (
                    "no autodiff"
                    if detail.startswith("no autodiff")
                    else "needs " + detail.split()[1]
                )
                row += f"n/a ({why})".ljust(CELL)
                n_na += 1
                continue
            cell = f"{status} {rel:.1e}" + ("*" if detail == "value+grad" else "")
            row += cell.ljust(CELL)
            if status == "PASS":
                n_pass += 1
            else:
                n_fail += 1
                failures.append((info.name, r.name, detail))
        if case is None:
            unchecked.append(info.name)
        print(row, file=out)
    print(
        "\n* value and gradient checked (autodiff backends; the gradient against finite "
        "differences, or against the other framework for losses with a stop-gradient inside)",
        file=out,
    )
    print(
        "n/a: not applicable, not run (a wrapper the entry does not have, a backend its tests "
        "do not cover); n/a (no autodiff): needs autodiff, and raised TypeError as documented; "
        "n/a (needs M): its example needs the optional module M, not installed",
        file=out,
    )
    if any(r.name == "keras" for r in runners):
        print(
            f"keras: value tolerance {_Keras.value_rtol:.0e} (Keras reduces in float32)", file=out
        )
    for info in infos:
        case = case_of(info)
        if case is not None and case.how:
            print(f"{info.name}: checked with {case.how}", file=out)
    for name in unchecked:
        print(f"NOT CHECKED {name}: no example in the catalog and no check case", file=out)
    if caught:
        print("\nwarnings raised during the checks:", file=out)
        for (cat, msg), where in caught.items():
            more = f" (+{len(where) - 3} more)" if len(where) > 3 else ""
            print(f"  {cat}: {msg}  [{', '.join(where[:3])}{more}]", file=out)
    for name, b, detail in failures:
        print(f"FAIL {name} on {b}: {detail}", file=out)
    verdict = "FAIL" if n_fail else "PASS" if n_pass else "NOTHING CHECKED"
    print(
        f"\n{verdict}: {n_pass} passed, {n_fail} failed, {n_na} n/a (not counted as passes) "
        f"of {len(infos) * len(runners)} loss/backend cells; {len(infos)} catalog functions, "
        f"{len(runners)} backends",
        file=out,
    )
    if not runners:
        print("corelosses check: none of the requested backends is available here", file=err)
    return 1 if n_fail or not n_pass else 0
