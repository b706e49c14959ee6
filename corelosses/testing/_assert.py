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
    "float64": (1e-9, 1e-12),
    "grad": (1e-5, 1e-7),  # central finite differences (step 1e-6) of the float64 reference
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


class _Case:
    """One loss call: the function, its float64 NumPy inputs and what to compare with."""

    def __init__(self, fn, inputs, kwargs, reference, seed):
        self.fn = fn
        self.fname = getattr(fn, "__name__", repr(fn))
        self.args, self.kw = _inputs(inputs, kwargs, seed)
        self.ref_fn = reference or fn
        self.desc = _describe(self.args, self.kw)
        self.seed = seed
        self._expected = None

    @property
    def expected(self) -> np.ndarray:
        if self._expected is None:
            self._expected = np.asarray(self.ref_fn(*self.args, **self.kw), dtype=np.float64)
        return self._expected

    def on(self, tb, args=None, kw=None):
        args = self.args if args is None else args
        kw = self.kw if kw is None else kw
        return [_convert(tb, a) for a in args], {k: _convert(tb, v) for k, v in kw.items()}

    def fail(self, backend, what, expected, got):
        raise KitError(_report(self.fname, backend, what, self.desc, expected, got))


def _tol(rtol, atol, key="float64"):
    rt, at = TOLERANCES[key]
    return (rt if rtol is None else rtol), (at if atol is None else atol)


def check_value(
    fn, inputs, backend, /, *, kwargs=None, reference=None, rtol=None, atol=None, seed=0
):
    """The value on ``backend`` (jit under jax) against the float64 NumPy result."""
    case = _Case(fn, inputs, kwargs, reference, seed)
    tb = _get(backend)
    conv, ckw = case.on(tb)
    try:
        got = tb.to_numpy(tb.call(fn, *conv, **ckw))
    except Exception as e:  # noqa: BLE001 - reported with the backend
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        case.fail(backend, f"raised {type(e).__name__}: {first}", case.expected, "-")
    rt, at = _tol(rtol, atol)
    if not _close(got, case.expected, rt, at):
        case.fail(backend, "value differs from float64 NumPy", case.expected, got)


def check_gradient(
    fn,
    inputs,
    backend,
    /,
    *,
    grad_argnums=(0,),
    kwargs=None,
    reference=None,
    rtol=None,
    atol=None,
    seed=0,
):
    """Gradients of ``sum(fn(...))`` on an autodiff backend against central finite differences."""
    case = _Case(fn, inputs, kwargs, reference, seed)
    tb = _get(backend)
    if not (tb.autodiff and grad_argnums):
        return
    conv, ckw = case.on(tb)
    gs = tb.grad(fn, *conv, argnums=tuple(grad_argnums), **ckw)
    rt, at = _tol(rtol, atol, "grad")
    for i, g in zip(grad_argnums, gs):
        r = _fd(case.ref_fn, case.args, case.kw, i)
        if not np.all(np.isfinite(g)) or not _close(g, r, rt, at):
            case.fail(backend, f"gradient in argument {i} differs from finite differences", r, g)


def check_gradients_agree(
    fn, inputs, /, *, grad_argnums=(0,), kwargs=None, seed=0, rtol=1e-9, atol=1e-12
):
    """torch's and jax's gradients of ``sum(fn(...))`` agree (both installed, else nothing)."""
    if not grad_argnums or not {"torch", "jax"} <= set(_selected()):
        return
    case = _Case(fn, inputs, kwargs, None, seed)
    out = {}
    for name in ("torch", "jax"):
        tb = _get(name)
        conv, ckw = case.on(tb)
        out[name] = tb.grad(fn, *conv, argnums=tuple(grad_argnums), **ckw)
    for i, gt, gj in zip(grad_argnums, out["torch"], out["jax"]):
        if not _close(gt, gj, rtol, atol):
            case.fail("torch vs jax", f"gradients in argument {i} differ", gj, gt)


#: options after which ``"mean"`` is a weighted mean or counts fewer entries
_WEIGHTING = ("weight", "class_weight", "ignore_index", "ignore_value", "mask")


def check_reductions(
    fn, inputs, backend, /, *, kwargs=None, mean_of_none=True, rtol=None, atol=None, seed=0
):
    """``"sum"`` is the sum of ``"none"``; ``"mean"`` its mean (unless weighted, or
    ``mean_of_none=False``: a loss with its own mean), finite and scalar; an unknown
    reduction raises ``ValueError``."""
    case = _Case(fn, inputs, kwargs, None, seed)
    tb = _get(backend)
    kw = {k: v for k, v in case.kw.items() if k != "reduction"}
    conv, ckw = case.on(tb, kw=kw)
    none = tb.to_numpy(tb.call(fn, *conv, **ckw, reduction="none"))
    rt, at = _tol(rtol, atol)
    checks = [("sum", np.sum(none))]
    if mean_of_none and not any(k in kw for k in _WEIGHTING):
        checks.append(("mean", np.mean(none) if none.size else 0.0))
    for red, want in checks:
        got = tb.to_numpy(tb.call(fn, *conv, **ckw, reduction=red))
        if np.shape(got) != () or not _close(got, want, rt, at):
            case.fail(backend, f'reduction="{red}" is not the {red} of reduction="none"', want, got)
    mean = tb.to_numpy(tb.call(fn, *conv, **ckw, reduction="mean"))
    if np.shape(mean) != () or not np.isfinite(mean):
        case.fail(backend, 'reduction="mean" is not a finite scalar', "finite scalar", mean)
    try:
        fn(*case.args, **kw, reduction="average")
    except ValueError:
        pass
    else:
        case.fail(backend, 'reduction="average" did not raise ValueError', "ValueError", "no error")


def _poisoned(x_shape, m: np.ndarray, rows: bool) -> np.ndarray | None:
    """The input entries that only masked loss entries read (NaN/inf go there), or None.

    Elementwise losses (input of the loss's shape): every masked entry. With
    ``rows``, losses that reduce over trailing axes (classes, coordinates,
    pixels): the samples (first axis) whose every loss entry is masked, since a
    masked entry's input may still feed its sample's other entries (a softmax).
    """
    if tuple(x_shape) == tuple(m.shape):
        return ~m
    if rows and m.ndim >= 1 and len(x_shape) >= 1 and x_shape[0] == m.shape[0]:
        whole = ~np.any(m.reshape(m.shape[0], -1), axis=1)
        return np.broadcast_to(whole.reshape((-1,) + (1,) * (len(x_shape) - 1)), x_shape)
    return None


def check_masks(
    fn,
    inputs,
    backend,
    /,
    *,
    kwargs=None,
    grad_argnums=(0,),
    renormalised=False,
    mean_of_none=True,
    rows=True,
    poison=True,
    rtol=None,
    atol=None,
    seed=0,
):
    """Masks: a random mask over the unreduced loss, NaN and inf under it in the first input.

    The masked ``"sum"`` (and ``"mean"``, unless weighted) equals that of the clean
    unreduced loss's unmasked entries (``renormalised=True``: of the loss computed
    with the mask, for losses whose normalisation depends on it); everything masked
    gives exactly 0; on autodiff backends the gradient is finite and exactly 0 under
    the mask. ``rows=False``: NaN only for elementwise losses (not whole samples);
    ``poison=False``: no NaN at all (losses whose entries read their neighbours',
    such as a symmetry or image-gradient penalty: no input is read by masked
    entries only).
    """
    case = _Case(fn, inputs, kwargs, None, seed)
    tb = _get(backend)
    kw = {k: v for k, v in case.kw.items() if k not in ("reduction", "mask")}
    rng = np.random.default_rng(seed + 3)
    clean = np.asarray(fn(*case.args, **kw, reduction="none"), dtype=np.float64)
    m = rng.uniform(size=clean.shape) > 0.4
    if m.size:
        m.flat[0], m.flat[-1] = True, False
    if rows and m.ndim >= 1 and m.shape[0] >= 2:
        m[-1] = False  # one whole sample masked
    if renormalised:
        clean = np.asarray(fn(*case.args, **kw, mask=m, reduction="none"), dtype=np.float64)
        if np.any(clean[~m] != 0):
            case.fail(backend, 'masked entries of reduction="none" are not 0', 0.0, clean[~m])
    dirty = list(case.args)
    bad = None
    if poison and np.issubdtype(np.asarray(case.args[0]).dtype, np.floating) and not renormalised:
        bad = _poisoned(np.shape(case.args[0]), m, rows)
    if bad is not None:
        x = np.array(case.args[0], dtype=np.float64)
        x[bad] = np.where(rng.uniform(size=int(bad.sum())) < 0.5, np.nan, np.inf)
        dirty[0] = x
    conv, ckw = case.on(tb, dirty, kw)
    mask = tb.asarray(m)
    rt, at = _tol(rtol, atol)
    want_sum = float(np.sum(clean[m]))
    checks = [("sum", want_sum)]
    if mean_of_none and not any(k in kw for k in _WEIGHTING):
        checks.append(("mean", want_sum / max(int(m.sum()), 1)))
    for red, want in checks:
        got = tb.to_numpy(tb.call(fn, *conv, **ckw, mask=mask, reduction=red))
        if not _close(got, want, rt, at):
            what = f'masked "{red}" differs from the {red} over the unmasked entries'
            case.fail(
                backend, what + (" (NaN/inf under the mask)" if bad is not None else ""), want, got
            )
    none_mask = tb.asarray(np.zeros(clean.shape, dtype=bool))
    got = tb.to_numpy(tb.call(fn, *conv, **ckw, mask=none_mask))
    if not _close(got, 0.0, 0, 0):
        case.fail(backend, "everything masked is not exactly 0", 0.0, got)
    if tb.autodiff and bad is not None and 0 in tuple(grad_argnums):
        (g,) = tb.grad(fn, *conv, argnums=(0,), mask=mask, **ckw)
        if not np.all(np.isfinite(g)) or np.any(g[bad] != 0):
            what = "gradient under the mask is not exactly 0 (NaN/inf inputs there)"
            case.fail(backend, what, 0.0, g[bad])


def check_half(fn, inputs, backend, /, *, dtype="float16", kwargs=None, seed=0):
    """float16/bfloat16 first input on torch or jax: computed in float32, a float32 result
    equal to the call with that input upcast to float32 (the other float inputs float32)."""
    case = _Case(fn, inputs, kwargs, None, seed)
    tb = _get(backend)
    name = f"{backend} {dtype}"
    if backend == "torch":
        torch = tb.torch
        x = torch.from_numpy(np.asarray(case.args[0])).to(getattr(torch, dtype))
        x32 = x.float()

        def f32(v):
            v = _convert(tb, v)
            return v.float() if getattr(v, "is_floating_point", lambda: False)() else v
    elif backend == "jax":
        jnp = tb.xp
        x = jnp.asarray(case.args[0]).astype(getattr(jnp, dtype))
        x32 = x.astype(jnp.float32)

        def f32(v):
            v = _convert(tb, v)
            return v.astype("float32") if "float64" in str(getattr(v, "dtype", "")) else v
    else:
        raise ValueError(f"check_half: torch or jax, got {backend!r}")
    rest = [f32(a) for a in case.args[1:]]
    kwa = {k: f32(v) for k, v in case.kw.items()}
    try:
        out = fn(x, *rest, **kwa)
    except Exception as e:  # noqa: BLE001 - reported
        case.fail(name, f"raised {type(e).__name__}: {e}", "a float32 result", "-")
    if "float32" not in str(out.dtype):
        case.fail(name, "result is not float32", "float32", str(out.dtype))
    ref = fn(x32, *rest, **kwa)
    got, want = tb.to_numpy(out), tb.to_numpy(ref)
    if not _close(got, want, 1e-6, 0.0):
        case.fail(name, "differs from the same call with the input upcast to float32", want, got)


def check_compile(fn, inputs, /, *, kwargs=None, seed=0, dynamic=False):
    """``torch.compile(fn, fullgraph=True)``: no graph break, the eager value.

    ``dynamic=True``: compiled with ``dynamic=True`` instead, the shapes and the
    Python floats (options, defaults) traced symbolically, as ``torch.compile``
    does by itself once a size or a float changes between calls.
    """
    case = _Case(fn, inputs, kwargs, None, seed)
    tb = _get("torch")
    torch = tb.torch
    conv, ckw = case.on(tb)
    eager = tb.to_numpy(fn(*conv, **ckw))
    torch._dynamo.reset()
    mode = "torch.compile(fullgraph=True" + (", dynamic=True)" if dynamic else ")")
    try:  # fullgraph: a graph break raises, naming its reason
        compiled = torch.compile(
            lambda *a: fn(*a, **ckw), fullgraph=True, backend="eager", dynamic=dynamic or None
        )
        got = tb.to_numpy(compiled(*conv))
    except Exception as e:  # noqa: BLE001 - a graph break raises under fullgraph
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        what = f"does not compile without graph breaks: {type(e).__name__}: {first}"
        case.fail(mode, what, eager, "-")
    if not _close(got, eager, 1e-9, 1e-12):
        case.fail(mode, "compiled value differs from eager", eager, got)


def check_torch_func(fn, inputs, /, *, grad_argnums=(0,), kwargs=None, seed=0):
    """``torch.func`` composes with ``fn`` (torch installed, else nothing):
    ``torch.func.grad`` of ``sum(fn(...))`` gives autograd's gradient,
    ``torch.func.jvp`` (forward mode) its product with random tangents, and
    ``torch.func.vmap`` over two calls stacked on a new axis (the example at ``seed``
    and ``seed + 1``, or the first twice where their shapes differ; keyword arrays
    unbatched), of the value and of its ``grad`` (per-sample gradients), gives the
    calls one by one. Under ``vmap`` no value can be read: a loss whose checks read
    values must skip them there (``be.concrete`` does)."""
    if "torch" not in _selected():
        return
    tb = _get("torch")
    torch = tb.torch
    case = _Case(fn, inputs, kwargs, None, seed)
    a, kw = case.on(tb)
    b, _ = _Case(fn, inputs, kwargs, None, seed + 1).on(tb)
    if any(
        isinstance(u, torch.Tensor) and (tuple(u.shape) != tuple(v.shape) or u.dtype != v.dtype)
        for u, v in zip(a, b)
    ):
        b = a
    ga = tuple(grad_argnums)

    def f(*x):
        return torch.sum(fn(*x, **kw))

    def run(mode, call):
        try:
            return call()
        except Exception as e:  # noqa: BLE001 - reported
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            case.fail(mode, f"raised {type(e).__name__}: {first}", "a result", "-")

    wants = [tb.grad(fn, *one, argnums=ga, **kw) if ga else [] for one in (a, b)]
    if ga:
        got = run("torch.func.grad", lambda: torch.func.grad(f, argnums=ga)(*a))
        for i, g, w in zip(ga, got, wants[0]):
            if not _close(g.detach().numpy(), w, 1e-12, 1e-15):
                case.fail("torch.func.grad", f"gradient in argument {i} is not autograd's", w, g)
        # forward mode: the tangent of sum(fn) along random directions is <grad, t>
        rng = np.random.default_rng(seed + 2)
        ts = [torch.from_numpy(rng.normal(size=tuple(a[i].shape))).to(a[i].dtype) for i in ga]

        def along(*xs):
            full = list(a)
            for i, x in zip(ga, xs):
                full[i] = x
            return f(*full)

        primals = tuple(a[i] for i in ga)
        _, tan = run("torch.func.jvp", lambda: torch.func.jvp(along, primals, tuple(ts)))
        want = sum(float(np.sum(w * t.numpy())) for w, t in zip(wants[0], ts))
        if not _close(float(tan), want, 1e-9, 1e-12):
            case.fail("torch.func.jvp", "tangent is not <autograd's gradient, t>", want, tan)
    stacked = [torch.stack([u, v]) if isinstance(u, torch.Tensor) else u for u, v in zip(a, b)]
    values = run("torch.func.vmap", lambda: torch.func.vmap(f)(*stacked))
    grads = (
        run("torch.func.vmap", lambda: torch.func.vmap(torch.func.grad(f, argnums=ga))(*stacked))
        if ga
        else []
    )
    for k, one in enumerate((a, b)):
        want = tb.to_numpy(f(*one))
        if not _close(tb.to_numpy(values[k]), want, 1e-12, 1e-15):
            case.fail("torch.func.vmap", f"call {k} of the stack differs", want, values[k])
        for i, g, w in zip(ga, grads, wants[k]):
            if not _close(g[k].detach().numpy(), w, 1e-12, 1e-15):
                what = f"per-sample gradient {k} in argument {i} is not autograd's"
                case.fail("torch.func.vmap(grad)", what, w, g[k])


def catalog_options(info) -> dict:
    """The check options a catalog entry declares (through ``register(..., **extra)``):
    ``grad_argnums``; ``fd_gradient=False`` (a stop-gradient inside: finite differences
    do not apply); ``mask="renormalised"``; ``mean="weighted"``; ``mean_of_none=False``;
    ``coupled=True`` (entries read their neighbours' inputs: no NaN under the mask);
    ``batch_axis`` (not 0: no whole-sample NaN); ``compile=False`` (a documented graph
    break, e.g. an exact distance transform computed outside the traced region)."""
    return {
        "compile": info.extra.get("compile", True) is not False,
        "poison": not info.extra.get("coupled", False),
        "rows": info.extra.get("batch_axis", 0) == 0,
        "grad_argnums": tuple(info.grad_argnums),
        "fd_gradient": info.extra.get("fd_gradient", True) is not False,
        "renormalised": info.extra.get("mask") == "renormalised",
        "mean_of_none": info.extra.get("mean_of_none", True) is not False
        and info.extra.get("mean") != "weighted",
    }


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
    func: bool = True,
    fd_gradient: bool = True,
    renormalised: bool = False,
    mean_of_none: bool = True,
    poison: bool = True,
    rows: bool = True,
    seed: int = 0,
) -> None:
    """Check a loss on every backend the way the catalog's own losses are checked.

    On each backend (default: every installed one, or ``CORELOSSES_TEST_BACKENDS``;
    jax runs under ``jax.jit`` with x64), in this order, each also public on its own
    (:func:`check_value`, :func:`check_gradient`, :func:`check_gradients_agree`,
    :func:`check_reductions`, :func:`check_masks`, :func:`check_half`,
    :func:`check_compile`, :func:`check_torch_func`):

    1. **value** against the float64 NumPy result (``reference`` or ``fn`` on NumPy);
    2. **gradients** of ``sum(fn(...))`` in ``grad_argnums`` against central finite
       differences of the float64 reference (torch and jax; ``fd_gradient=False`` for
       a loss with a stop-gradient inside), and torch against jax;
    3. **reductions**: ``"sum"`` is the sum of ``"none"`` and ``"mean"`` its mean
       (unless weighted, or ``mean_of_none=False``);
    4. **masks** (when ``fn`` has ``mask``): a random mask over the unreduced loss,
       NaN and inf written into the first input under it: the value equals the
       masked sum/mean of the clean unreduced loss, the gradient is finite and 0
       under the mask; everything masked gives 0;
    5. **half precision** (torch, jax): float16 and bfloat16 inputs give a float32
       result, that of the input upcast to float32;
    6. **compilation**: ``torch.compile(fn, fullgraph=True)`` without graph breaks
       gives the eager value;
    7. **torch.func**: ``grad`` gives autograd's gradient, ``jvp`` its product with
       a tangent, ``vmap`` of the value and of ``grad`` the calls one by one.

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
    reductions, masks, half, compile, func : bool
        Which of checks 3-7 to run.
    fd_gradient, renormalised, mean_of_none, poison, rows : bool
        What the loss declares (see :func:`catalog_options` and :func:`check_masks`).
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
    names = list(backends) if backends is not None else _selected()
    params = _params(fn)
    common = {"kwargs": kwargs, "seed": seed}
    ga = tuple(grad_argnums)
    for name in names:
        check_value(fn, inputs, name, reference=reference, rtol=rtol, atol=atol, **common)
        if fd_gradient:
            check_gradient(fn, inputs, name, grad_argnums=ga, reference=reference, **common)
        if reductions and "reduction" in params:
            check_reductions(
                fn, inputs, name, mean_of_none=mean_of_none, rtol=rtol, atol=atol, **common
            )
        if masks and "mask" in params:
            check_masks(
                fn, inputs, name, grad_argnums=ga, renormalised=renormalised,
                mean_of_none=mean_of_none, poison=poison, rows=rows, rtol=rtol, atol=atol,
                **common,
            )  # fmt: skip
    if {"torch", "jax"} <= set(names):
        check_gradients_agree(fn, inputs, grad_argnums=ga, **common)
    for name in ("torch", "jax"):
        if half and name in names and ga:
            for dt in ("float16", "bfloat16"):
                check_half(fn, inputs, name, dtype=dt, **common)
    if compile and "torch" in names:
        check_compile(fn, inputs, **common)
    if func and "torch" in names:
        check_torch_func(fn, inputs, grad_argnums=ga, **common)


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
        assert_backends_agree(info.fn, info.example, **{**catalog_options(info), **options})
    return [i.name for i in infos]
