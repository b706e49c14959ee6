"""``assert_backends_agree`` and ``assert_catalog_consistent``: the catalog's checks, public."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._backends import get as _get
from ._backends import selected as _selected

#: (rtol, atol) of a value or gradient against the float64 NumPy reference
TOLERANCES = {
    "float64": (1e-7, 1e-9),
    "grad": (1e-4, 1e-6),  # finite differences of the float64 reference
    "half": (2e-2, 2e-3),  # float16 inputs computed in float32, against float64
}


class KitError(AssertionError):
    """A check of :func:`assert_backends_agree` failed: the report says which and where."""


def _report(fname: str, backend: str, what: str, inputs: str, expected: Any, got: Any) -> str:
    np.set_printoptions(precision=6, threshold=20, edgeitems=3)
    return (
        f"{fname} on {backend}: {what}\n"
        f"  input:    {inputs}\n"
        f"  expected: {_show(expected)}\n"
        f"  got:      {_show(got)}"
    )


def _show(v: Any) -> str:
    if isinstance(v, str):
        return v
    return repr(np.asarray(v)) if np.ndim(v) else repr(float(np.asarray(v)))


def _describe(args: Sequence[Any], kwargs: dict) -> str:
    def one(a):
        if isinstance(a, np.ndarray):
            return f"array{a.shape} {a.dtype}"
        return type(a).__name__ if callable(a) else repr(a)

    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _close(a, b, rtol, atol) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def _fd(fn: Callable, args: list, kwargs: dict, i: int, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``sum(fn(...))`` in ``args[i]``, float64 NumPy."""
    x = np.array(args[i], dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        vals = []
        for step in (eps, -eps):
            flat[k] = old + step
            a = list(args)
            a[i] = x.copy()
            vals.append(float(np.sum(np.asarray(fn(*a, **kwargs), dtype=np.float64))))
        flat[k] = old
        gflat[k] = (vals[0] - vals[1]) / (2 * eps)
    return g


def _inputs(inputs: Any, kwargs: dict | None, seed: int) -> tuple[list, dict]:
    if callable(inputs):  # a catalog example: rng -> (args, kwargs)
        args, kw = inputs(np.random.default_rng(seed))
        return list(args), {**kw, **(kwargs or {})}
    return list(inputs), dict(kwargs or {})


def _convert(tb, v: Any, dtype=None) -> Any:
    if isinstance(v, np.ndarray):
        if dtype is not None and np.issubdtype(v.dtype, np.floating):
            return tb.asarray(v, dtype)
        return tb.asarray(v)
    return v


def _params(fn: Callable) -> dict:
    try:
        return dict(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}


def assert_backends_agree(
    fn: Callable,
    inputs: Any,
    /,
    *,
    kwargs: dict | None = None,
    backends: Sequence[str] | None = None,
    grad_argnums: Sequence[int] = (0,),
    reference: Callable | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    reductions: bool = True,
    masks: bool = True,
    half: bool = True,
    compile: bool = True,
    seed: int = 0,
) -> None:
    """Check a loss on every backend the way the catalog's own losses are checked.

    On each backend (default: every installed one, or ``CORELOSSES_TEST_BACKENDS``;
    jax runs under ``jax.jit`` with x64):

    1. **value** against the float64 NumPy result (``reference`` or ``fn`` on NumPy);
    2. **gradients** of ``sum(fn(...))`` in ``grad_argnums`` against central finite
       differences of the float64 reference (torch and jax), and torch against jax;
    3. **reductions**: ``"sum"`` is the sum of ``"none"`` and ``"mean"`` its mean
       (when ``fn`` has ``reduction`` and no ``weight``/``mask`` is passed);
    4. **masks** (when ``fn`` has ``mask``): a random mask over the unreduced loss,
       NaN and inf written into the first input under it: the value equals the
       masked sum/mean of the clean unreduced loss, the gradient is finite and 0
       under the mask; everything masked gives 0;
    5. **half precision** (torch): float16 inputs give a float32 result close to
       the float64 one, with finite gradients;
    6. **compilation**: ``torch.compile(fn, fullgraph=True)`` gives the eager value
       (a graph break raises).

    Parameters
    ----------
    fn : callable
        The loss: positional arrays, keyword options.
    inputs : callable or sequence
        A catalog example ``example(rng) -> (args, kwargs)`` or the positional
        arguments as float64 NumPy arrays (options through ``kwargs``).
    kwargs : dict, optional
        Keyword options (added to the example's).
    backends : sequence of str, optional
        Backend names (see :data:`corelosses.testing.BACKENDS`).
    grad_argnums : sequence of int
        The positional arguments to differentiate (``()`` for none).
    reference : callable, optional
        A float64 NumPy implementation with ``fn``'s signature (default ``fn``).
    rtol, atol : float, optional
        Value tolerances (default :data:`TOLERANCES` ``["float64"]``).
    reductions, masks, half, compile : bool
        Which of checks 3-6 to run.
    seed : int
        For the example and the random mask.

    Raises
    ------
    KitError
        An ``AssertionError`` whose message names the function, the backend, the
        check, the inputs, the expected and the received values.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> from corelosses.testing import assert_backends_agree
    >>> x, y = np.linspace(-1, 1, 6).reshape(2, 3), np.zeros((2, 3))
    >>> assert_backends_agree(cl.mse_loss, (x, y), backends=["numpy"])
    """
    fname = getattr(fn, "__name__", repr(fn))
    args, kw = _inputs(inputs, kwargs, seed)
    ref_fn = reference or fn
    desc = _describe(args, kw)
    rt, at = TOLERANCES["float64"]
    rt, at = rtol if rtol is not None else rt, atol if atol is not None else at
    names = list(backends) if backends is not None else _selected()
    expected = np.asarray(ref_fn(*args, **kw), dtype=np.float64)
    params = _params(fn)
    fd = None
    grads: dict[str, list] = {}
    for name in names:
        tb = _get(name)
        conv = [_convert(tb, a) for a in args]
        ckw = {k: _convert(tb, v) for k, v in kw.items()}
        try:
            got = tb.to_numpy(tb.call(fn, *conv, **ckw))
        except Exception as e:  # noqa: BLE001 - reported with the backend
            what = f"raised {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
            raise KitError(_report(fname, name, what, desc, expected, "-")) from e
        if not _close(got, expected, rt, at):
            raise KitError(
                _report(fname, name, "value differs from float64 NumPy", desc, expected, got)
            )
        if tb.autodiff and grad_argnums:
            gs = tb.grad(fn, *conv, argnums=tuple(grad_argnums), **ckw)
            if fd is None:
                fd = [_fd(ref_fn, args, kw, i) for i in grad_argnums]
            gr, ga = TOLERANCES["grad"]
            for i, g, r in zip(grad_argnums, gs, fd):
                if not np.all(np.isfinite(g)) or not _close(g, r, gr, ga):
                    what = f"gradient in argument {i} differs from finite differences"
                    raise KitError(_report(fname, name, what, desc, r, g))
            grads[name] = gs
        if reductions and "reduction" in params:
            _check_reductions(fname, tb, fn, conv, ckw, desc, rt, at)
        if masks and "mask" in params and "mask" not in kw:
            _check_masks(fname, tb, fn, args, kw, grad_argnums, desc, rt, at, seed)
    if {"torch", "jax"} <= set(grads):
        for i, gt, gj in zip(grad_argnums, grads["torch"], grads["jax"]):
            if not _close(gt, gj, 1e-8, 1e-10):
                what = f"torch and jax gradients in argument {i} differ"
                raise KitError(_report(fname, "torch vs jax", what, desc, gj, gt))
    if "torch" in names and (half or compile):
        tb = _get("torch")
        if half:
            _check_half(fname, tb, fn, args, kw, grad_argnums, desc, expected)
        if compile:
            _check_compile(fname, tb, fn, args, kw, desc)


#: options after which ``"mean"`` is a weighted mean or counts fewer entries
_WEIGHTING = ("weight", "class_weight", "ignore_index", "ignore_value", "mask")


def _check_reductions(fname, tb, fn, conv, ckw, desc, rt, at):
    if "reduction" in ckw:
        return
    none = tb.to_numpy(tb.call(fn, *conv, **ckw, reduction="none"))
    checks = [("sum", np.sum(none))]
    if not any(k in ckw for k in _WEIGHTING):
        checks.append(("mean", np.mean(none) if none.size else 0.0))
    for red, want in checks:
        got = tb.to_numpy(tb.call(fn, *conv, **ckw, reduction=red))
        if not _close(got, want, rt, at):
            what = f'reduction="{red}" is not the {red} of reduction="none"'
            raise KitError(_report(fname, tb.name, what, desc, want, got))


def _poisoned(x_shape, m: np.ndarray) -> np.ndarray | None:
    """The input entries that only masked loss entries read (NaN/inf go there), or None.

    Elementwise losses (input of the loss's shape): every masked entry. Losses that
    reduce over trailing axes (classes, coordinates, pixels): only the samples
    (first axis) whose every loss entry is masked, since a masked entry's input
    may still feed the unmasked entries of its sample (a softmax over classes).
    """
    if tuple(x_shape) == tuple(m.shape):
        return ~m
    if m.ndim >= 1 and len(x_shape) >= 1 and x_shape[0] == m.shape[0]:
        rows = ~np.any(m.reshape(m.shape[0], -1), axis=1)
        return np.broadcast_to(rows.reshape((-1,) + (1,) * (len(x_shape) - 1)), x_shape)
    return None


def _check_masks(fname, tb, fn, args, kw, grad_argnums, desc, rt, at, seed):
    rng = np.random.default_rng(seed + 1)
    clean = np.asarray(fn(*args, **kw, reduction="none"), dtype=np.float64)
    m = rng.uniform(size=clean.shape) < 0.6
    if m.size:
        m.flat[0], m.flat[-1] = True, False
    if m.ndim >= 1 and m.shape[0] >= 2:
        m[-1] = False  # one whole sample masked
    dirty = list(args)
    bad = None
    if np.issubdtype(np.asarray(args[0]).dtype, np.floating):
        bad = _poisoned(np.shape(args[0]), m)
    if bad is not None:
        x = np.array(args[0], dtype=np.float64)
        x[bad] = np.where(rng.uniform(size=int(bad.sum())) < 0.5, np.nan, np.inf)
        dirty[0] = x
    conv = [_convert(tb, a) for a in dirty]
    ckw = {k: _convert(tb, v) for k, v in kw.items()}
    mask = tb.asarray(m)
    want_sum = float(np.sum(clean[m]))
    checks = [("sum", want_sum)]
    if not any(k in kw for k in _WEIGHTING):
        checks.append(("mean", want_sum / max(int(m.sum()), 1)))
    for red, want in checks:
        if "reduction" in kw:
            break
        got = tb.to_numpy(tb.call(fn, *conv, **ckw, mask=mask, reduction=red))
        if not _close(got, want, rt, at):
            what = f'masked "{red}" differs from the masked {red} of the clean loss (NaN/inf under the mask)'
            raise KitError(_report(fname, tb.name, what, desc, want, got))
    none_mask = tb.asarray(np.zeros(clean.shape, dtype=bool))
    got = tb.to_numpy(tb.call(fn, *conv, **ckw, mask=none_mask))
    if not _close(got, 0.0, 0, 0):
        raise KitError(_report(fname, tb.name, "everything masked is not 0", desc, 0.0, got))
    if tb.autodiff and grad_argnums and bad is not None and 0 in grad_argnums:
        (g,) = tb.grad(fn, *conv, argnums=(0,), mask=mask, **ckw)
        if not np.all(np.isfinite(g)) or np.any(g[bad] != 0):
            what = "gradient under the mask is not exactly 0 (NaN/inf inputs there)"
            raise KitError(_report(fname, tb.name, what, desc, 0.0, g[bad]))


def _check_half(fname, tb, fn, args, kw, grad_argnums, desc, expected):
    torch = tb.torch
    conv = [_convert(tb, a, np.float16) for a in args]
    ckw = {k: _convert(tb, v) for k, v in kw.items()}
    for i in grad_argnums:
        if isinstance(conv[i], torch.Tensor) and conv[i].is_floating_point():
            conv[i] = conv[i].detach().requires_grad_(True)
    try:
        out = fn(*conv, **ckw)
    except Exception as e:  # noqa: BLE001 - reported
        raise KitError(
            _report(fname, "torch float16", f"raised {type(e).__name__}: {e}", desc, expected, "-")
        ) from e
    if out.dtype != torch.float32:
        raise KitError(
            _report(
                fname, "torch float16", "result is not float32", desc, "float32", str(out.dtype)
            )
        )
    hr, ha = TOLERANCES["half"]
    got = out.detach().double().numpy()
    if not _close(got, expected, hr, ha + hr * float(np.max(np.abs(expected), initial=0.0))):
        raise KitError(
            _report(fname, "torch float16", "value far from float64", desc, expected, got)
        )
    leaves = [conv[i] for i in grad_argnums if getattr(conv[i], "requires_grad", False)]
    if leaves:
        gs = torch.autograd.grad(out.sum(), leaves, allow_unused=True)
        for g in gs:
            if g is not None and not bool(torch.isfinite(g).all()):
                raise KitError(
                    _report(fname, "torch float16", "gradient not finite", desc, "finite", g)
                )


def _check_compile(fname, tb, fn, args, kw, desc):
    torch = tb.torch
    conv = [_convert(tb, a) for a in args]
    ckw = {k: _convert(tb, v) for k, v in kw.items()}
    eager = tb.to_numpy(fn(*conv, **ckw))
    torch._dynamo.reset()
    try:
        compiled = torch.compile(fn, fullgraph=True, backend="eager")
        got = tb.to_numpy(compiled(*conv, **ckw))
    except Exception as e:  # noqa: BLE001 - a graph break raises under fullgraph
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise KitError(
            _report(
                fname,
                "torch.compile(fullgraph=True)",
                f"does not compile without graph breaks: {type(e).__name__}: {first}",
                desc,
                eager,
                "-",
            )
        ) from None
    if not _close(got, eager, 1e-10, 1e-12):
        raise KitError(_report(fname, "torch.compile", "compiled value differs", desc, eager, got))


def assert_catalog_consistent(package: str, /, **options: Any) -> list[str]:
    """:func:`assert_backends_agree` on every loss a package registers; their names.

    ``package`` is the plugin's entry-point name or the top-level module its
    losses are defined in. Each entry runs with its catalog example and
    ``grad_argnums`` (an entry without an example fails: a catalog entry must
    be checkable). ``options`` are passed on (e.g. ``backends=``).
    """
    from .._registry import catalog

    infos = [
        i
        for i in catalog()
        if i.plugin == package or (getattr(i.fn, "__module__", "") or "").split(".")[0] == package
    ]
    if not infos:
        raise KitError(f"assert_catalog_consistent: no catalog entry from {package!r}")
    for info in infos:
        if info.example is None:
            raise KitError(f"{info.name}: registered without an example, so it cannot be checked")
        own = {}
        if info.extra.get("mean_of_none", True) is False:
            own["reductions"] = False  # its "mean" is the peer's, not the mean of "none"
        if info.extra.get("mask") == "renormalised":
            own["masks"] = False  # a mask changes the other entries' values by design
        assert_backends_agree(
            info.fn, info.example, grad_argnums=info.grad_argnums, **{**own, **options}
        )
    return [i.name for i in infos]
