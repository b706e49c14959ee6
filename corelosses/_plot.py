"""``corelosses plot NAME``: a picture of a loss's shape.

The loss (``reduction="none"``) and its derivative are drawn against one
scalar prediction, for a few targets, on NumPy in float64; the derivative is
a central difference of the curve (NumPy has no autodiff). Elementwise losses
take the prediction as is; losses with a class axis see the two-class logits
``[0, x]`` with the target class 1; penalties (no target) take ``x`` alone.
"""

from __future__ import annotations

import inspect

import numpy as np

from ._registry import get

#: target values drawn for elementwise losses with a target
TARGETS = (0.0, 0.5, 1.0)


def _curves(fn, x):
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_ONLY
    ]
    if len(params) == 1:  # a penalty or transform of x alone
        return {"": np.asarray(fn(x, reduction="none"), dtype=float)}
    out = {}
    try:
        for t in TARGETS:
            y = np.asarray(fn(x, np.full_like(x, t), reduction="none"))
            if y.shape != x.shape:  # it reduced over a class axis: not elementwise
                raise ValueError
            out[f"target {t:g}"] = y
        return out
    except (TypeError, ValueError):
        pass
    two = np.stack([np.zeros_like(x), x], axis=-1)  # logits [0, x], class 1
    ones = np.ones(x.shape, dtype=np.int64)
    return {"two classes, target 1": np.asarray(fn(two, ones, axis=-1, reduction="none"))}


def plot_loss(name: str, out: str, lo: float = -6.0, hi: float = 6.0, n: int = 481) -> str:
    """Write a PNG of ``name``'s value and derivative over ``[lo, hi]``; return its path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("corelosses plot needs matplotlib: pip install matplotlib") from e
    info = get(name)
    if info.kind != "loss":
        raise ValueError(f"{name!r} is a {info.kind}, not a loss: nothing to plot")
    x = np.linspace(lo, hi, n)
    try:
        curves = _curves(info.fn, x)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"cannot plot {name!r} against one scalar prediction: {e}") from e
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    for label, y in curves.items():
        ax0.plot(x, y, label=label or name)
        ax1.plot(x, np.gradient(y, x), label=label or name)
    ax0.set(title=f"{name}: value", xlabel="prediction")
    ax1.set(title="derivative (central differences)", xlabel="prediction")
    for a in (ax0, ax1):
        a.grid(alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
