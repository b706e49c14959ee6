"""``corelosses plot NAME``: a picture of a loss's shape.

The loss (``reduction="none"``) and its derivative are drawn against one
scalar input, for a few targets, on NumPy in float64; the derivative is a
central difference of the curve (NumPy has no autodiff). Elementwise losses
take the input as is; losses with a class axis see two classes, the logits
``[0, x]`` (or the probabilities ``[1 - x, x]``) with the target class 1;
penalties (no target) take ``x`` alone.

The x axis says what the input is: a ``logit`` (``from_logits=True``, an
``activation``, or a loss documented to take logits), a ``probability``
(``from_logits=False``, ``activation=None``, or a loss documented to take
probabilities) or a regression ``prediction``. The title lists the options
used, defaults included.
"""

from __future__ import annotations

import difflib
import inspect
import re
import textwrap
from typing import Any

import numpy as np

from .._registry import LossInfo, catalog, get

#: target values drawn for elementwise losses with a target
TARGETS = (0.0, 0.5, 1.0)

#: default x range by input kind
RANGES = {"logit": (-6.0, 6.0), "prediction": (-6.0, 6.0), "probability": (0.001, 0.999)}

#: options never shown in the title (arrays, or set by the plot itself)
_HIDDEN = {"weight", "mask", "reduction"}


def unknown_name_message(name: str) -> str:
    """``no function named ...`` with the closest catalog names."""
    valid = [i.name for i in catalog()]
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
    hint = (
        "did you mean " + " or ".join(repr(c) for c in close) + "?"
        if close
        else "see `corelosses list`"
    )
    return f"no loss named {name!r} in the catalog ({hint})"


def _lookup(name: str) -> LossInfo:
    try:
        return get(name)
    except KeyError:
        raise KeyError(unknown_name_message(name)) from None


def _positional(fn) -> list[inspect.Parameter]:
    return [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_ONLY
    ]


def options_used(info: LossInfo, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword options of the call, defaults included (arrays and ``None`` left out)."""
    out = {}
    for p in inspect.signature(info.fn).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.name in _HIDDEN:
            continue
        if p.name in options:
            out[p.name] = options[p.name]
        elif p.default is not inspect.Parameter.empty and p.default is not None:
            out[p.name] = p.default
    return out


def _first_param_doc(fn) -> str:
    """The description of the first positional parameter in a numpydoc docstring."""
    doc = inspect.getdoc(fn) or ""
    params = _positional(fn)
    if not params:
        return ""
    first = params[0].name
    m = re.search(rf"^\s*{re.escape(first)}(\s*,\s*\w+)*\s*:.*\n((?:\s+.*\n?)+)", doc, re.M)
    return m.group(2).strip() if m else ""


def input_kind(info: LossInfo, options: dict[str, Any]) -> str:
    """``"logit"``, ``"probability"`` or ``"prediction"``: what the input is."""
    used = options_used(info, options)
    if "from_logits" in used:
        return "logit" if used["from_logits"] else "probability"
    params = inspect.signature(info.fn).parameters
    if "activation" in params:
        act = options.get("activation", params["activation"].default)
        return "probability" if act is None else "logit"
    if info.family == "regression":
        return "prediction"
    if info.name in ("gan_discriminator_loss", "gan_generator_loss"):
        # discriminator outputs: logits for the log-likelihood objectives, scores otherwise
        kind = used.get("kind", "minimax")
        return "logit" if kind in ("minimax", "non_saturating") else "prediction"
    doc = _first_param_doc(info.fn).lower()
    if re.match(r"(activations \()?logits", doc):
        return "logit"
    if re.match(r"probabilities|values meant to end near 0 or 1", doc):
        return "probability"
    return "prediction"


def _call(info: LossInfo, options: dict[str, Any], *arrays):
    return np.asarray(info.fn(*arrays, **options, reduction="none"), dtype=float)


def _curves(info: LossInfo, x: np.ndarray, kind: str, options: dict[str, Any]):
    if len(_positional(info.fn)) == 1:  # a penalty or transform of x alone
        try:
            y = _call(info, options, x)
            if y.shape == x.shape:
                return {"": y}
        except (TypeError, ValueError):
            pass
        single = False
    else:
        single = True
    out = {}
    if single:
        second = _positional(info.fn)[1].name  # "target" (or "fake" for a discriminator)
        try:
            for t in TARGETS:
                try:
                    y = _call(info, options, x, np.full_like(x, t))
                except ValueError:  # a target value the loss rejects (0.5 for {-1, 1} labels)
                    continue
                if y.shape != x.shape:  # it reduced over a class axis: not elementwise
                    raise ValueError
                out[f"{second} = {t:g}"] = y
            if out:
                return out
        except (TypeError, ValueError):
            out = {}
    # two classes on the last axis, class 1 the target
    other = 1.0 - x if kind == "probability" else np.zeros_like(x)
    two = np.stack([other, x], axis=-1)
    axis = {k: -1 for k in ("axis", "channel_axis") if k in inspect.signature(info.fn).parameters}
    if len(_positional(info.fn)) == 1:
        label, y = "two classes", _call(info, {**axis, **options}, two)
    else:
        ones = np.ones(x.shape, dtype=np.int64)
        label = "two classes, target 1" + (", class 0's logit 0" if kind == "logit" else "")
        y = _call(info, {**axis, **options}, two, ones)
    if y.shape != x.shape:  # not one value per point (e.g. a sum over a spatial axis)
        raise ValueError(f"no curve: {y.shape} values for {x.shape} points")
    return {label: y}


def _fmt(v: Any) -> str:
    return repr(v)


def title_of(name: str, used: dict[str, Any]) -> str:
    """``name(opt=value, ...)``, wrapped to fit over a plot."""
    call = f"{name}(" + ", ".join(f"{k}={_fmt(v)}" for k, v in used.items()) + ")"
    return "\n".join(textwrap.wrap(call, 60, break_on_hyphens=False))


def plot_loss(
    name: str,
    out: str,
    lo: float | None = None,
    hi: float | None = None,
    n: int = 481,
    options: dict[str, Any] | None = None,
) -> str:
    """Write a PNG of ``name``'s value and derivative over ``[lo, hi]``; return its path.

    ``options`` are passed to the loss (and shown in the title with the
    defaults of the others); ``lo``/``hi`` default to -6..6 for logits and
    predictions, 0.001..0.999 for probabilities.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("corelosses plot needs matplotlib: pip install matplotlib") from e
    info = _lookup(name)
    if info.kind != "loss":
        raise ValueError(f"{name!r} is a {info.kind}, not a loss: nothing to plot")
    options = dict(options or {})
    valid = [
        k
        for k, p in inspect.signature(info.fn).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and k not in _HIDDEN
    ]
    bad = sorted(k for k in options if k not in valid)
    if bad:
        raise ValueError(f"unknown option(s) {bad} for {name}; valid options are {valid}")
    kind = input_kind(info, options)
    dlo, dhi = RANGES[kind]
    lo = dlo if lo is None else lo
    hi = dhi if hi is None else hi
    if not lo < hi:
        raise ValueError(f"--low must be smaller than --high, got {lo} and {hi}")
    x = np.linspace(lo, hi, n)
    try:
        curves = _curves(info, x, kind, options)
    except Exception as e:  # noqa: BLE001
        if info.example is None:
            raise ValueError(f"cannot plot {name!r} against one scalar input: {e}") from e
        return _plot_along_example(info, out, n, options, plt)
    used = options_used(info, options)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.4))
    for label, y in curves.items():
        ax0.plot(x, y, label=label or name)
        ax1.plot(x, np.gradient(y, x), label=label or name)
    two_class = any(label.startswith("two classes") for label in curves)
    first = _positional(info.fn)[0].name
    xlabel = f"{kind} of class 1" if two_class else kind
    if first not in ("input", "pred", "x", "p"):  # e.g. the discriminator's "real" outputs
        xlabel = f"{first} ({xlabel})"
    ax0.set(title="value", xlabel=xlabel, ylabel="loss (reduction='none')")
    ax1.set(title="derivative (central differences)", xlabel=xlabel, ylabel="d loss / d x")
    for a in (ax0, ax1):
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle(title_of(name, used))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def _plot_along_example(info: LossInfo, out: str, n: int, options: dict[str, Any], plt) -> str:
    """The mean loss along a line through the catalog example, for losses with no scalar picture.

    Losses over whole samples (embeddings, boxes, sequences, images) or with
    extra inputs have no one-input curve: the example's first differentiated
    input ``a`` moves along ``a + s d`` (``d`` a fixed random direction scaled
    to ``a``'s spread), the other inputs stay, and the plot shows the reduced
    loss and its derivative in ``s``. Points where the loss rejects the input
    (a probability leaving [0, 1], say) are left out.
    """
    rng = np.random.default_rng(0)
    assert info.example is not None  # checked by the caller
    args, kwargs = info.example(rng)
    kwargs = {**kwargs, **options}
    i = info.grad_argnums[0] if info.grad_argnums else 0
    base = np.asarray(args[i], dtype=float)
    d = rng.standard_normal(base.shape)
    spread = float(np.std(base)) or 1.0
    d *= spread / (float(np.std(d)) or 1.0)
    s = np.linspace(-1.0, 1.0, n)
    y = np.full(n, np.nan)
    for k, sk in enumerate(s):
        moved = list(args)
        moved[i] = base + sk * d
        try:
            y[k] = float(np.asarray(info.fn(*moved, **kwargs)))
        except (TypeError, ValueError):
            pass
    if not np.isfinite(y).any():
        raise ValueError(f"cannot plot {info.name!r}: no point of the line gives a value")
    first = _positional(info.fn)[i].name
    xlabel = f"s: {first} = example + s * direction"
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.4))
    ax0.plot(s, y, label="mean over the example")
    ax1.plot(s, np.gradient(y, s), label="d/ds")
    ax0.set(title="value along a line through the example", xlabel=xlabel, ylabel="loss")
    ax1.set(title="derivative (central differences)", xlabel=xlabel, ylabel="d loss / d s")
    for a in (ax0, ax1):
        a.axvline(0.0, color="0.6", lw=0.8)
        a.grid(alpha=0.3)
        a.legend()
    used = {k: v for k, v in options_used(info, kwargs).items() if np.ndim(v) == 0}
    fig.suptitle(title_of(info.name, used))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
