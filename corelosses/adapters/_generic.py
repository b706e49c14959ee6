"""The pure array-API backend: every primitive written with standard calls only.

Each framework adapter subclasses :class:`Backend` and overrides a primitive
only where its native kernel computes the same function (same value, same
gradient), so the generic implementations here are the definition of every
primitive and the fallback for any namespace we do not know.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Array = Any


class Backend:
    """Primitives for one array namespace.

    Attributes
    ----------
    name : str
        Short backend name (``"numpy"``, ``"torch"``, ...).
    xp : module
        The array-API namespace (array-api-compat wrapped where needed).
    has_autodiff : bool
        Whether the framework differentiates through these calls.
    native : bool
        Whether native kernels are used (``False`` forces the generic path).
    """

    name = "generic"
    has_autodiff = False
    #: Whether a class index out of range that no value check saw (``concrete``
    #: false) gives its sample a NaN loss, jax's convention for out-of-bounds
    #: indices; otherwise such an index matches no class (a zero one-hot row).
    nan_bad_indices = False

    def __init__(self, xp: Any, name: str | None = None):
        self.xp = xp
        if name is not None:
            self.name = name
        self.native = True

    def __repr__(self) -> str:
        return f"<corelosses backend {self.name!r} native={self.native}>"

    # ------------------------------------------------------------------ dtypes
    def is_half(self, dtype: Any) -> bool:
        """True for 16-bit floating dtypes (float16, bfloat16)."""
        xp = self.xp
        try:
            return xp.isdtype(dtype, "real floating") and xp.finfo(dtype).bits < 32
        except (TypeError, ValueError):
            return False

    def concrete(self, x: Array) -> bool:
        """Whether value checks on ``x`` are cheap and possible (no trace, no sync)."""
        return True

    def guarded(
        self, fast: Callable, slow: Callable, operands: tuple, parts: Callable | None = None
    ) -> Array:
        """``fast``'s value where it is the function's, else ``slow(*operands)``.

        A fast path and its exact fallback. ``fast(*operands, saved=None,
        scale=None)`` returns ``(value, ok, saved)``: the value, a 0-d boolean
        (whether the value is the function's there) and arrays it computed on
        the way; given arrays back (``saved=``), it returns the value from them
        without recomputing them, and its backward pass is one elementwise
        sweep. ``parts(*operands)`` returns the fallback's own such arrays and
        the per-item ``scale`` they are computed at: ``fast(*operands,
        saved=s, scale=k)`` is then ``slow(*operands)``, value and gradient.
        ``ok`` is read where reading costs no trace or sync (:meth:`concrete`);
        under a trace a backend picks the arrays with a branch that is not
        differentiated (``lax.cond``, ``torch.cond``: see :meth:`guards`) and
        differentiates ``fast`` given them; elsewhere (or without ``parts``)
        the fallback runs (``fast``'s value, and its gradient, which at the
        extremes may be NaN, never reach the result).
        """
        value, ok, _ = fast(*operands)
        if self.concrete(ok):
            return value if bool(ok) else slow(*operands)
        return slow(*operands)

    def guards(self, x: Array) -> bool:
        """Whether :meth:`guarded` can select the fast path for ``x`` (else it
        always runs the fallback, and the caller need not try the fast one)."""
        return self.concrete(x)

    def fuses_selects(self) -> bool:
        """Whether a final ``where`` is free here (fused by a compiler), so
        :func:`corelosses._core.reduce` keeps it even where it may skip it."""
        return False

    def count_true(self, valid: Array) -> Array:
        """The number of true entries of the boolean ``valid`` (an integer array)."""
        return self.xp.count_nonzero(valid)

    def where_valid(self, valid: Array, x: Array, fill: float = 0.0) -> Array:
        """``where(valid, x, fill)``: the masks' selection (both ``where`` s of the
        double-``where`` rule). ``valid`` is boolean and broadcasts with ``x``;
        the gradient with respect to ``x`` is ``where(valid, g, 0)``."""
        return self.xp.where(valid, x, fill)

    # ------------------------------------------------ vector norms (embeddings)
    # Primitives, the same in both settings of :func:`corelosses.native`: the
    # triplet loss's unscaled fast path and its power-of-two-scaled fallback
    # must round alike (then they agree bit for bit in range).
    def diff_plus(self, x: Array, y: Array, c: Any) -> Array:
        """``x - y + c`` (``c`` a number or an array broadcasting to it)."""
        d = x - y
        return d if isinstance(c, (int, float)) and c == 0 else d + c

    def norm2(self, x: Array, axis: int, value: Array | None = None) -> Array:
        """``sqrt(sum(x**2))`` over ``axis`` (dropped); gradient 0 at a zero vector,
        as ``torch.linalg.vector_norm``'s (the double ``where``). ``value``: this
        norm, already computed from the same ``x``; a backend may return it
        (with the same gradient) instead of recomputing it."""
        xp = self.xp
        ss = xp.sum(x * x, axis=axis)
        nz = ss > 0
        return xp.where(nz, xp.sqrt(xp.where(nz, ss, 1.0)), 0.0)

    def norm2_diff(
        self,
        x: Array,
        y: Array,
        c: Any,
        axis: int,
        value: Array | None = None,
        scale: Array | None = None,
    ) -> Array:
        """``norm2(diff_plus(x, y, c), axis, value)``: one hook, so a backend
        that is given ``value`` may save ``x`` and ``y`` for the backward pass
        instead of their difference. ``scale`` (broadcasting to ``x``): the
        norm of ``x k - y k + c k`` instead (``k`` a power of two: exact)."""
        if scale is not None:
            x, y, c = x * scale, y * scale, c * scale
        return self.norm2(self.diff_plus(x, y, c), axis, value=value)

    def abs0(self, x: Array) -> Array:
        """``|x|`` whose gradient at ``x = 0`` is 0 on every framework (jax's
        ``abs``: 1 there): ``x * sign(x)`` where there is autodiff."""
        xp = self.xp
        return x * xp.sign(x) if self.has_autodiff else xp.abs(x)

    # -------------------------------------------------------------- autodiff
    def stop_gradient(self, x: Array) -> Array:
        """Identity whose gradient is zero. Without autodiff: the identity."""
        return x

    def custom_vjp(self, fun: Callable, bwd: Callable) -> Callable:
        """Attach an analytic backward pass to ``fun``.

        ``fun(*arrays) -> (out, residuals)``; ``bwd(residuals, g) -> tuple`` of
        gradients, one per array argument (``None`` for no gradient). Returns a
        callable ``f(*arrays) -> out``. Without autodiff the value is all that
        matters, so the generic hook simply drops the residuals.
        """

        def call(*arrays):
            return fun(*arrays)[0]

        return call

    def grad_of(self, fn: Callable, x: Array) -> tuple[Array, Array]:
        """Return ``(y, dy/dx)`` of a critic, differentiable itself (for penalties)."""
        raise TypeError(
            f"the {self.name!r} namespace has no automatic differentiation: "
            "gradient penalties need torch or jax arrays"
        )

    # ------------------------------------------------------------ primitives
    def softplus(self, x: Array) -> Array:
        """``log(1 + exp(x))``, stable for any magnitude."""
        xp = self.xp
        return xp.logaddexp(xp.zeros_like(x), x)

    def log_sigmoid(self, x: Array) -> Array:
        """``log(sigmoid(x)) = -softplus(-x)``."""
        return -self.softplus(-x)

    def sigmoid(self, x: Array) -> Array:
        """Logistic function, finite gradient for any magnitude."""
        return self.xp.exp(self.log_sigmoid(x))

    def logsumexp(self, x: Array, axis: int = -1, keepdims: bool = False) -> Array:
        """``log(sum(exp(x), axis))`` shifted by the (finite) maximum."""
        xp = self.xp
        m = xp.max(x, axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0.0)
        m = self.stop_gradient(m)
        out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            out = xp.squeeze(out, axis=axis)
        return out

    def log_softmax(self, x: Array, axis: int = -1) -> Array:
        """``x - logsumexp(x, axis)``, as ``z - log(sum(exp(z)))`` with ``z = x - max``.

        Subtracting the maximum first keeps the digits of large logits: with
        ``x = [1e30, 1e30]`` the ``logsumexp`` form gives ``1e30 - (1e30 + log 2) = 0``
        (``log 2`` is lost next to 1e30), this form ``-log 2``, as the native kernels.
        """
        xp = self.xp
        m = xp.max(x, axis=axis, keepdims=True)
        z = x - self.stop_gradient(xp.where(xp.isfinite(m), m, 0.0))
        return z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))

    def softmax(self, x: Array, axis: int = -1) -> Array:
        """``exp(log_softmax(x))``."""
        xp = self.xp
        e = xp.exp(x - self.stop_gradient(xp.max(x, axis=axis, keepdims=True)))
        return e / xp.sum(e, axis=axis, keepdims=True)

    def device(self, x: Array) -> Any:
        """``x``'s device, or None for a namespace without devices."""
        import array_api_compat as compat

        try:
            return compat.device(x)
        except Exception:  # noqa: BLE001 - a namespace without devices
            return None

    def arange(self, n: int, like: Array, dtype: Any = None) -> Array:
        """``0 .. n - 1`` on ``like``'s device (the default dtype unless given)."""
        dev = self.device(like)
        kw = {} if dev is None else {"device": dev}
        return self.xp.arange(n, dtype=dtype, **kw)

    def min_scalar(self, a: Array, s: float) -> Array:
        """``min(a, s)`` for a Python scalar ``s``, for functions whose value and
        gradient do not depend on the tie ``a == s`` (huber, smooth L1)."""
        return self.xp.where(a < s, a, s)  # not minimum(a, scalar): a graph break in compat torch

    def sigmoid_clipped(self, x: Array, low: float, high: float) -> Array:
        """``sigmoid(clip(x, low, high))``, for bounds past which the sigmoid is
        flat (the value of ``sigmoid(x)`` to its last subnormal): no gradient
        outside ``[low, high]``. Where a compiler fuses selects
        (:meth:`fuses_selects`), the sigmoid of ``x`` itself with that gradient
        mask: then it is the one sigmoid that a loss's other terms (the
        derivative of :meth:`bce_with_logits`) compute too."""
        if not self.fuses_selects():
            return self.sigmoid(self.clip_scalar(x, low, high))
        s = self.sigmoid(x)
        return self.xp.where((x >= low) & (x <= high), s, self.stop_gradient(s))

    def clip_scalar(self, a: Array, low: float, high: float) -> Array:
        """``a`` clipped to ``[low, high]`` (Python scalars); the gradient is 0 outside,
        and a NaN gradient arriving there is dropped (a select, not a product)."""
        xp = self.xp
        return xp.where(a < low, low, xp.where(a > high, high, a))

    def value_range(self, x: Array) -> tuple[Array, Array]:
        """``(min(x), max(x))`` of a non-empty array, for value checks: reductions
        without temporaries (``any(x < lo | x > hi)`` makes four passes). Read
        outside any autodiff graph (the results are converted to Python numbers)."""
        x = self.stop_gradient(x)
        return self.xp.min(x), self.xp.max(x)

    def one_hot(self, indices: Array, num_classes: int, axis: int, dtype: Any) -> Array:
        """0/1 array of ``dtype``: ``indices`` compared with ``0 .. num_classes - 1``
        along a new ``axis`` (non-negative); an index outside the range gives a zero row."""
        xp = self.xp
        shape = [1] * (indices.ndim + 1)
        shape[axis] = num_classes
        classes = xp.reshape(self.arange(num_classes, indices, indices.dtype), tuple(shape))
        return xp.astype(xp.expand_dims(indices, axis=axis) == classes, dtype)

    def bce_with_logits(
        self,
        x: Array,
        y: Array,
        pos_weight: Array | None = None,
        weight: Array | None = None,
    ) -> Array:
        """Elementwise ``-w (pw y log s(x) + (1 - y) log(1 - s(x)))`` (torch's formula)."""
        sp = self.softplus(-x)  # -log sigmoid(x)
        if pos_weight is None:
            loss = (1.0 - y) * x + sp
        else:
            loss = (1.0 - y) * x + (1.0 + (pos_weight - 1.0) * y) * sp
        return loss if weight is None else loss * weight

    def scan(self, step: Callable, carry: Any, xs: Any) -> Any:
        """The final carry of ``carry = step(carry, x)`` over the leading axis of
        ``xs`` (an array or a tuple of arrays sliced together): a Python loop here,
        ``jax.lax.scan`` under JAX (one traced step under ``jax.jit``)."""
        seq = xs if isinstance(xs, tuple) else (xs,)
        for t in range(seq[0].shape[0]):
            item = tuple(a[t, ...] for a in seq)
            carry = step(carry, item if isinstance(xs, tuple) else item[0])
        return carry

    def scan_stack(self, step: Callable, carry: Any, xs: Any, reverse: bool = False) -> Any:
        """:meth:`scan` with an output per step: ``carry, y = step(carry, x)``;
        returns ``(final carry, ys)``, the ``y`` stacked on a new leading axis (in
        ``xs``'s order, also when ``reverse`` runs the steps from the last)."""
        seq = xs if isinstance(xs, tuple) else (xs,)
        n = seq[0].shape[0]
        ys = [None] * n
        for t in reversed(range(n)) if reverse else range(n):
            item = tuple(a[t, ...] for a in seq)
            carry, ys[t] = step(carry, item if isinstance(xs, tuple) else item[0])
        return carry, self.xp.stack(ys, axis=0)

    def take_classes(self, x: Array, idx: Array) -> Array:
        """``out[..., n, l] = x[..., n, idx[n, l]]``: per row ``n`` of ``x``'s last two
        axes, the entries at a row of class indices (CTC's emissions: ``x`` is
        ``(T, N, C)``, ``idx`` ``(N, L)``). Gathered, or selected by class where the
        namespace has no ``take_along_axis`` (Dask)."""
        xp = self.xp
        shape = tuple(x.shape[:-1]) + (idx.shape[-1],)
        if hasattr(xp, "take_along_axis"):
            if idx.dtype != xp.int64:
                idx = xp.astype(idx, xp.int64)
            return xp.take_along_axis(x, xp.broadcast_to(idx, shape), axis=-1)
        classes = xp.arange(x.shape[-1], dtype=idx.dtype)
        hit = xp.expand_dims(idx, axis=-1) == classes  # (N, L, C)
        return xp.sum(xp.where(hit, xp.expand_dims(x, axis=-2), 0.0), axis=-1)

    # ------------------------------------------------------- sorting (Lovasz losses)
    def take_along_last(self, x: Array, idx: Array) -> Array:
        """``take_along_axis(x, idx, axis=-1)``; a flat ``take`` where the namespace has
        no ``take_along_axis`` (Dask)."""
        xp = self.xp
        if hasattr(xp, "take_along_axis"):
            return xp.take_along_axis(x, idx, axis=-1)
        shape = tuple(x.shape)
        n = shape[-1]
        rows = math.prod(shape[:-1])
        base = xp.reshape(xp.arange(rows, dtype=idx.dtype) * n, shape[:-1] + (1,))
        flat = xp.reshape(idx + base, (-1,))
        return xp.reshape(xp.take(xp.reshape(x, (-1,)), flat, axis=0), shape)

    def sort_descending(self, x: Array) -> tuple[Array, Array]:
        """``(values, indices)`` of ``x`` sorted in decreasing order along the last
        axis (``values`` differentiable; the order among equal values unspecified,
        the same on a backend's native and generic paths): ``argsort`` and a gather;
        torch's ``sort`` returns both at once."""
        perm = self.xp.argsort(self.stop_gradient(x), axis=-1, descending=True, stable=False)
        return self.take_along_last(x, perm), perm

    def max_pool(self, x: Array, window: tuple[int, ...], axes: tuple[int, ...]) -> Array:
        """Sliding-window maximum over ``axes`` (odd ``window`` sizes, stride 1, "same"
        output shape, padding with ``-inf``): a box maximum is the maximum over each
        axis in turn, of ``window[i]`` shifted slices (min pooling is ``-max_pool(-x)``)."""
        xp = self.xp
        for w, ax in zip(window, axes):
            h = w // 2
            if h == 0:
                continue
            n = x.shape[ax]
            idx = [slice(None)] * x.ndim
            idx[ax] = slice(0, 1)
            pad = xp.full_like(x[tuple(idx)], -math.inf)  # same device and dtype as x
            xpad = xp.concat([pad] * h + [x] + [pad] * h, axis=ax)
            out = None
            for k in range(w):
                idx[ax] = slice(k, k + n)
                s = xpad[tuple(idx)]
                out = s if out is None else xp.maximum(out, s)
            x = out
        return x

    # ------------------------------------------ separable window filter (image losses)
    def window_filter(
        self, x: Array, kernel: tuple[float, ...], axes: tuple[int, ...], padding: str = "valid"
    ) -> Array:
        """Correlate ``x`` with the 1-D ``kernel`` (Python floats) along each of ``axes``
        in turn: ``out[i] = sum_k kernel[k] * x[i + k]`` (a separable filter).

        ``padding``: ``"valid"`` (each axis shrinks by ``len(kernel) - 1``), ``"zeros"``
        or ``"reflect"`` (``(len(kernel) - 1) // 2`` entries each side: the size is kept
        for odd kernels; ``"reflect"`` mirrors without repeating the edge, as NumPy's and
        torch's ``"reflect"``, and needs more entries than that). The definition: sums of
        shifted slices; torch and jax run one native 1-D convolution per axis.
        """
        K = len(kernel)
        for ax in axes:
            x = self._window_pad(x, ax, (K - 1) // 2, padding)
            n = x.shape[ax] - K + 1
            idx = [slice(None)] * x.ndim
            out = None
            for k, w in enumerate(kernel):
                idx[ax] = slice(k, k + n)
                term = x[tuple(idx)]
                term = term if w == 1.0 else term * w
                out = term if out is None else out + term
            x = out
        return x

    def _window_pad(self, x: Array, ax: int, p: int, padding: str) -> Array:
        if padding == "valid" or p == 0:
            return x
        xp = self.xp
        n = x.shape[ax]
        idx = [slice(None)] * x.ndim
        if padding == "zeros":
            idx[ax] = slice(0, 1)
            z = xp.zeros_like(x[tuple(idx)])
            return xp.concat([z] * p + [x] + [z] * p, axis=ax)
        idx[ax] = slice(1, p + 1)
        left = xp.flip(x[tuple(idx)], axis=ax)
        idx[ax] = slice(n - p - 1, n - 1)
        right = xp.flip(x[tuple(idx)], axis=ax)
        return xp.concat([left, x, right], axis=ax)

    # ------------------------------------------------- resizing (deep supervision)
    def resize(
        self, x: Array, shape: tuple[int, ...], axes: tuple[int, ...], method: str = "nearest"
    ) -> Array:
        """``x`` resized to ``shape`` along ``axes`` (one size per axis), half-pixel centres.

        ``"nearest"``: output ``i`` takes input ``floor((i + 0.5) * n_in / n_out)``
        (torch's ``"nearest-exact"``, jax's ``"nearest"``; any dtype): a strided
        slice for an integer down-sampling factor, an index gather otherwise.
        ``"linear"``: (multi)linear interpolation at ``(i + 0.5) * n_in / n_out - 0.5``
        clamped to ``[0, n_in - 1]`` (torch's ``align_corners=False``, no antialias;
        floating ``x``). Axes keep their order; the definition, applied per axis.
        """
        xp = self.xp
        for ax, n_out in zip(axes, shape):
            n_in = x.shape[ax]
            if n_in == n_out:
                continue
            idx = [slice(None)] * x.ndim
            scale = n_in / n_out
            if method == "nearest":
                if n_in % n_out == 0:
                    f = n_in // n_out
                    idx[ax] = slice(f // 2, None, f)
                    x = x[tuple(idx)]
                    continue
                src = [min(int((i + 0.5) * scale), n_in - 1) for i in range(n_out)]
                x = xp.take(x, xp.asarray(src, device=self.device(x)), axis=ax)
                continue
            pos = [max((i + 0.5) * scale - 0.5, 0.0) for i in range(n_out)]
            i0 = [min(int(p), n_in - 1) for p in pos]
            i1 = [min(i + 1, n_in - 1) for i in i0]
            lam = [p - i for p, i in zip(pos, i0)]
            dev = self.device(x)
            bshape = [1] * x.ndim
            bshape[ax] = n_out
            w1 = xp.reshape(xp.asarray(lam, dtype=x.dtype, device=dev), tuple(bshape))
            w0 = xp.reshape(
                xp.asarray([1.0 - v for v in lam], dtype=x.dtype, device=dev), tuple(bshape)
            )
            a = xp.take(x, xp.asarray(i0, device=dev), axis=ax)
            b = xp.take(x, xp.asarray(i1, device=dev), axis=ax)
            x = a * w0 + b * w1
        return x

    # -------------------------------------------------- fused whole-loss kernels
    # A framework may compute a whole loss in one native call where, for the
    # plain case (no mask, weight or other option), it is the same function as
    # the array-API definition. ``None`` means "not applicable here": the loss
    # then runs its definition. The callers pass only the plain case; these
    # hooks check dtypes/shapes cheaply and decline anything unusual, which the
    # definition then validates (and names) as usual.
    def cross_entropy_native(
        self, x: Array, target: Array, axis: int, reduction: str, valid: Array | None = None
    ) -> Array | None:
        """Softmax cross entropy of logits ``x`` and class indices ``target``, or None.

        With ``valid`` (a boolean array broadcastable to ``target``; the caller
        passes ``reduction="none"``) the loss is exactly 0 outside ``valid``,
        whatever ``target`` and ``x`` hold there: ``x`` is *not* filled by the
        caller, and a NaN or inf in it outside ``valid`` must reach neither the
        value nor the gradient (the hook fills it, or shows it needs no fill).
        """
        return None

    def bce_with_logits_native(self, x: Array, y: Array, reduction: str) -> Array | None:
        """Reduced binary cross entropy on logits, or None."""
        return None

    def regression_native(
        self, kernel: str, x: Array, y: Array, params: tuple, reduction: str
    ) -> Array | None:
        """An elementwise regression loss in one kernel, or None.

        ``kernel`` is ``"mse"``, ``"l1"``, ``"huber"`` (``params = (delta,)``)
        or ``"smooth_l1"`` (``params = (beta,)``); ``reduction`` may be
        ``"none"`` (the masked and weighted calls reduce it themselves).
        """
        return None

    def ctc_native(
        self,
        log_probs: Array,
        targets: Array,
        input_lengths: Array,
        target_lengths: Array,
        blank: int,
    ) -> Array | None:
        """Per-sequence CTC negative log-likelihood ``(N,)`` (``+inf`` where impossible,
        the exact gradient), or None."""
        return None

    def nll_native(
        self, x: Array, target: Array, axis: int, class_weight: Array | None, reduction: str
    ) -> Array | None:
        """``nll_loss`` of log-probabilities ``x`` and class indices, or None."""
        return None

    def kl_div_native(
        self, x: Array, target: Array, axis: int, log_target: bool, reduction: str
    ) -> Array | None:
        """``kl_divergence`` of log-probabilities ``x`` (rows on ``axis``), or None."""
        return None

    def poisson_nll_native(self, x: Array, y: Array, full: bool, reduction: str) -> Array | None:
        """``poisson_nll_loss`` of log-rates ``x`` and counts ``y``, or None."""
        return None

    def gaussian_nll_native(
        self, x: Array, y: Array, var: Array, full: bool, eps: float, reduction: str
    ) -> Array | None:
        """``gaussian_nll_loss`` with ``var`` of the input's shape, or None."""
        return None

    def multi_margin_native(
        self,
        x: Array,
        target: Array,
        axis: int,
        p: int,
        margin: float,
        class_weight: Array | None,
        reduction: str,
    ) -> Array | None:
        """Weston-Watkins ``multiclass_hinge_loss`` of scores and class indices, or None."""
        return None


class NoAutodiffBackend(Backend):
    """Namespaces without automatic differentiation (NumPy, array-api-strict, Dask, CuPy)."""
