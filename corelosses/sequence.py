"""Sequence losses: connectionist temporal classification (CTC).

- :func:`ctc_loss`: the negative log-likelihood of a label sequence summed
  over every alignment (Graves et al. 2006), ``torch.nn.functional.ctc_loss``'s
  layout and reduction, ``optax.ctc_loss`` and Keras ``CTC`` values.

The definition is the log-space forward (alpha) recursion, written with
array-API calls and run over time by :meth:`Backend.scan` (a Python loop;
``jax.lax.scan`` under JAX, so it traces under ``jax.jit``). Its gradient is
the beta (backward) recursion, one more scan (:meth:`Backend.custom_vjp`: on
JAX, autodiff through the forward scan keeps every step's intermediates and
took 5x the forward's time). PyTorch on float32/float64 CPU arrays uses ATen's
CTC kernel where it computes the same function (value and gradient), eagerly
and, inside a custom operator, under ``torch.compile``
(:mod:`corelosses.adapters._torch_ctc`).
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["ctc_loss"]

_NEG = -math.inf


# ------------------------------------------------------------------ helpers
def _lse3(be, xp, a, b, d):
    """``log(exp(a) + exp(b) + exp(d))`` elementwise, NaN-free in value and gradient.

    The shift ``m`` is the (stop-gradient) maximum; where it is not finite
    (every term ``-inf``: no path; or a ``+inf`` term) the result is ``m``
    itself with a zero gradient, and the terms are replaced by 0 first (the
    double-``where``), so ``-inf - -inf`` never happens.
    """
    m = be.stop_gradient(xp.maximum(xp.maximum(a, b), d))
    ok = xp.isfinite(m)
    mf = xp.where(ok, m, 0.0)
    s = (
        xp.exp(xp.where(ok, a, 0.0) - mf)
        + xp.exp(xp.where(ok, b, 0.0) - mf)
        + xp.exp(xp.where(ok, d, 0.0) - mf)
    )
    return xp.where(ok, xp.log(s) + mf, m)  # s >= 1 where ok: log is safe


def _lse_rows(be, xp, a):
    """``logsumexp`` over axis 1 with the same NaN-free rule as :func:`_lse3`."""
    m = be.stop_gradient(xp.max(a, axis=1, keepdims=True))
    ok = xp.isfinite(m)
    mf = xp.where(ok, m, 0.0)
    s = xp.sum(xp.exp(xp.where(ok, a, 0.0) - mf), axis=1, keepdims=True)
    return xp.squeeze(xp.where(ok, xp.log(s) + mf, m), axis=1)


def _int_array(be, xp, v, like, fname, argname):
    """An integer array (Python sequences of ints accepted, as in PyTorch)."""
    if not hasattr(v, "dtype"):
        if isinstance(v, (list, tuple)) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in v
        ):
            dev = be.device(like)
            v = xp.asarray(v, **({} if dev is None else {"device": dev}))
        else:
            raise TypeError(
                f"{fname}: '{argname}' must be an integer array, got {type(v).__name__}"
            )
    if not xp.isdtype(v.dtype, "integral"):
        raise TypeError(f"{fname}: '{argname}' must hold integers, got dtype {v.dtype}")
    return v


def _check_range(be, v, lo, hi, fname, argname, what):
    if be.concrete(v) and math.prod(v.shape) > 0:
        vmin, vmax = be.value_range(v)
        if int(vmin) < lo or int(vmax) > hi:
            raise ValueError(f"{fname}: '{argname}' must be {what}, got values in [{vmin}, {vmax}]")


def _padded(be, xp, targets, target_lengths, N, fname):
    """``(N, S)`` padded targets from padded or concatenated (1-D) ones.

    Concatenated targets (PyTorch's other layout) are gathered into ``(N, S)``
    with ``S`` the concatenation's length (a static shape: no data-dependent
    maximum), so the cost grows with the whole batch's label count.
    """
    if targets.ndim == 2:
        if targets.shape[0] != N:
            raise ValueError(
                f"{fname}: padded 'targets' must have shape (N, S) with N={N}, "
                f"got {tuple(targets.shape)}"
            )
        return targets
    if targets.ndim != 1:
        raise ValueError(
            f"{fname}: 'targets' must be padded (N, S) or concatenated (sum of "
            f"target_lengths,), got shape {tuple(targets.shape)}"
        )
    total = targets.shape[0]
    if be.concrete(target_lengths) and N > 0:
        if int(xp.sum(target_lengths)) > total:
            raise ValueError(
                f"{fname}: concatenated 'targets' hold {total} labels, fewer than "
                f"the sum of target_lengths ({int(xp.sum(target_lengths))})"
            )
    if total == 0:
        return xp.reshape(targets, (N, 0))
    start = xp.cumulative_sum(target_lengths) - target_lengths  # (N,)
    j = be.arange(total, targets, target_lengths.dtype)
    idx = xp.expand_dims(start, axis=1) + xp.expand_dims(j, axis=0)  # (N, total)
    idx = xp.where(idx < total, idx, 0)
    return xp.reshape(xp.take(targets, xp.reshape(idx, (-1,)), axis=0), (N, total))


def _ctc_nll(be, xp, x, tg, il, tl, blank, C):
    """Per-sequence negative log-likelihood ``(N,)`` by the forward recursion."""
    if x.shape[1] == 0:  # (Dask cannot take a maximum over an empty batch)
        return xp.sum(x, axis=(0, 2)) * 0.0
    e, _, fun, bwd, bad = _ctc_recursion(be, xp, x, tg, il, tl, blank, C)
    nll = be.custom_vjp(fun, bwd)(e)
    if bad is not None and be.nan_bad_indices and not be.concrete(tg):
        nll = xp.where(bad, math.nan, nll)  # jax's convention for unchecked bad labels
    return nll


def _ctc_nll_and_jacobian(be, xp, x, tg, il, tl, blank, C):
    """``(nll, d nll / d e, ext)``: the recursion and its own backward pass run
    directly, no autodiff (the body of the torch adapter's custom operator, where
    autograd is off). ``e[t, n, s] = x[t, n, ext[n, s]]``, ``ext`` the extended
    labels ``(N, 2 S + 1)``; the Jacobian is ``(T, N, 2 S + 1)``, row ``n`` of the
    gradient of ``nll[n]``."""
    e, ext, fun, bwd, _ = _ctc_recursion(be, xp, x, tg, il, tl, blank, C)
    nll, res = fun(e)
    (je,) = bwd(res, xp.ones_like(nll))
    return nll, je, ext


def _ctc_recursion(be, xp, x, tg, il, tl, blank, C):
    """``(e, ext, fun, bwd, bad)``: the emissions ``e`` of the extended labels
    ``ext``, the forward recursion ``fun(e) -> (nll, residuals)`` and its backward
    pass ``bwd(residuals, g) -> (d/de,)`` (:meth:`Backend.custom_vjp`'s pair), and
    the sequences with labels out of range (None without labels)."""
    T, N, _ = x.shape
    S = tg.shape[1]
    L = 2 * S + 1
    dt = x.dtype
    jpos = be.arange(S, tg, tg.dtype)
    real = xp.expand_dims(jpos, axis=0) < xp.expand_dims(xp.astype(tl, tg.dtype), axis=1)
    inside = (tg >= 0) & (tg < C)
    bad = xp.any(real & ~inside, axis=1) if S else None
    tg = xp.where(real & inside, tg, blank)  # padding is never read; keep it in range
    # the extended sequence: blank, l1, blank, l2, ..., blank
    ext = xp.full((N, 1), blank, dtype=tg.dtype, device=be.device(tg))
    if S:
        blanks = xp.full((N, S), blank, dtype=tg.dtype, device=be.device(tg))
        ext = xp.concat([xp.reshape(xp.stack([blanks, tg], axis=2), (N, 2 * S)), ext], axis=1)
    skip = ext != blank
    if L > 2:
        prev2 = xp.concat([ext[:, :2], ext[:, :-2]], axis=1)
        skip = skip & (ext != prev2)
        skip = skip & (xp.expand_dims(be.arange(L, ext), axis=0) >= 2)
    e = be.take_classes(x, ext)  # (T, N, L)
    active = xp.expand_dims(be.arange(T, il, il.dtype), axis=1) < xp.expand_dims(il, axis=0)
    active = xp.expand_dims(active, axis=2)  # (T, N, 1)
    dev = be.device(x)
    pad = xp.full((N, 2), _NEG, dtype=dt, device=dev)
    sidx = xp.expand_dims(be.arange(L, x), axis=0)  # (1, L)
    alpha0 = xp.where(sidx == 0, xp.zeros((N, L), dtype=dt, device=dev), _NEG)

    last = xp.expand_dims(2 * xp.astype(tl, sidx.dtype), axis=1)  # index of the final blank
    sel = (sidx == last) | (sidx == last - 1)

    def step(alpha, inp):
        et, at = inp
        a1 = xp.concat([pad[:, :1], alpha], axis=1)[:, :L]
        a2 = xp.where(skip, xp.concat([pad, alpha], axis=1)[:, :L], _NEG)
        return xp.where(at, _lse3(be, xp, alpha, a1, a2) + et, alpha)

    def fun(e):
        if not be.has_autodiff:  # the value alone
            alpha = be.scan(step, alpha0, (e, active))
            return -_lse_rows(be, xp, xp.where(sel, alpha, _NEG)), ()
        alpha, alphas = be.scan_stack(lambda a, inp: (step(a, inp),) * 2, alpha0, (e, active))
        nll = -_lse_rows(be, xp, xp.where(sel, alpha, _NEG))
        return nll, (e, alphas, nll)

    # the backward pass: s -> s + 2 is allowed where the skip into s + 2 is
    skip_from = None
    if L > 2:
        no = xp.zeros((N, 2), dtype=xp.bool, device=be.device(skip))
        skip_from = xp.concat([skip[:, 2:], no], axis=1)

    def bwd(res, g):
        """The beta (backward) recursion: ``d nll / d e[t, n, s] = -exp(alpha[t] + beta[t]
        - log p)[n, s]``, ``alpha[t]`` the forward variable at step ``t`` (with its
        emission), ``beta[t]`` the log-sum over the path suffixes after it (Graves et
        al. 2006, eq. 16); 0 where there is no path (``log p = -inf``) and at steps
        past the input length. One scan back over time, as the forward one."""
        e, alphas, nll = res
        logp = -nll
        ok = xp.isfinite(logp)
        lp = xp.reshape(xp.where(ok, logp, 0.0), (1, N, 1))

        def bstep(beta, inp):
            et, at, alpha_t = inp
            post = xp.where(at & xp.reshape(ok, (N, 1)), alpha_t + beta, _NEG)
            eb = et + beta
            b1 = xp.concat([eb[:, 1:], pad[:, :1]], axis=1)
            b2 = pad[:, :1]  # (broadcast: no skip into a sequence of at most 2)
            if skip_from is not None:
                b2 = xp.where(skip_from, xp.concat([eb[:, 2:], pad], axis=1), _NEG)
            return xp.where(at, _lse3(be, xp, eb, b1, b2), beta), post

        beta0 = xp.where(sel, xp.zeros((N, L), dtype=dt, device=dev), _NEG)
        _, post = be.scan_stack(bstep, beta0, (e, active, alphas), reverse=True)
        return (-xp.reshape(g, (1, N, 1)) * xp.exp(post - lp),)

    return e, ext, fun, bwd, bad


def _ex_ctc(rng):
    import numpy as np

    T, N, C = 6, 4, 4
    z = rng.normal(size=(T, N, C)) * 1.5
    lp = z - z.max(-1, keepdims=True)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    # a repeated label (2 2), padding past the lengths, an empty target
    targets = np.array([[1, 2, 2], [3, 1, 1], [2, 3, 1], [1, 1, 1]])
    il = np.array([6, 5, 4, 3])
    tl = np.array([3, 2, 1, 0])
    return (lp, targets, il, tl), {}


# ------------------------------------------------------------------- losses
@register(
    "sequence",
    "Graves et al. 2006; torch.nn.functional.ctc_loss, optax.ctc_loss, keras.losses.CTC",
    peers=("torch.nn.functional.ctc_loss", "optax.ctc_loss", "keras.losses.CTC"),
    example=_ex_ctc,
    mean_of_none=False,  # "mean" divides each sequence by its target length (torch's)
    batch_axis=1,  # log_probs is time-major (T, N, C)
)
def ctc_loss(
    log_probs: Array,
    targets: Array,
    input_lengths: Array,
    target_lengths: Array,
    /,
    *,
    blank: int = 0,
    zero_infinity: bool = False,
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Connectionist temporal classification loss, ``F.ctc_loss``'s layout.

    For sequence ``n`` with log-probabilities ``x[t, n, :]`` over its first
    ``T_n`` steps and labels ``l = (l_1, ..., l_{S_n})``,

    .. math::
        \ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(l)} \prod_{t < T_n} p_t(\pi_t)

    where :math:`\mathcal{B}` removes repeats, then blanks, from an alignment
    :math:`\pi`. It is computed by the forward recursion in log space over the
    extended sequence ``l' = (blank, l_1, blank, ..., l_{S_n}, blank)``:
    ``alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2)) + x[t, l'_s]``,
    the ``s - 2`` term only where ``l'_s`` is not blank and differs from
    ``l'_{s-2}`` (so a repeated label ``a a`` needs a blank between), and
    ``\ell_n = -logsumexp(alpha_{T_n-1}(2 S_n), alpha_{T_n-1}(2 S_n - 1))``.
    ``log_probs`` is not normalised here (any log-scores give the same
    recursion), and the gradient is the exact derivative of this function
    (PyTorch's kernel returns ``exp(x) - posterior``, correct only after a
    ``log_softmax``; here it is ``-posterior``, also on the native path).

    An impossible alignment (``S_n`` plus the repeats exceeds ``T_n``, or
    ``-inf`` log-probabilities on every path) gives ``+inf`` with a zero,
    NaN-free gradient; ``zero_infinity=True`` gives 0 instead (as PyTorch,
    whose gradient there is NaN without ``zero_infinity``). An empty target
    (``S_n = 0``) is the all-blank alignment.

    ``"mean"`` divides each loss by its target length (at least 1), then
    averages over the (unmasked) sequences: ``F.ctc_loss``'s ``"mean"``;
    ``"sum"`` sums the raw losses. Peers' numbers:

    - optax (batch-major, paddings 1.0 on padded steps):
      ``optax.ctc_loss(jnp.swapaxes(log_probs, 0, 1), (t >= input_lengths[:, None]) * 1.0,
      targets, (s >= target_lengths[:, None]) * 1.0, blank_id=blank)``
      is ``ctc_loss(..., reduction="none")`` (``t``, ``s``: time and label
      positions; optax normalises its logits, so pass log-probabilities).
    - Keras 3 ``keras.losses.CTC()(y_true, y_pred)``: ``y_pred`` are batch-major
      ``(N, T, C)`` logits (Keras applies the log-softmax), class 0 is the
      blank and the padding of ``y_true`` (labels must be non-zero), every
      input length is ``T``; its value is the batch mean of
      ``ctc_loss(swapaxes(log_softmax(y_pred), 0, 1), y_true, [T] * N,
      count_nonzero(y_true, axis=1), reduction="none")``.
    - optax and Keras stand ``-1e5`` for ``log 0``: an impossible alignment
      gives them a large finite loss, ``+inf`` here (or 0 with ``zero_infinity``).

    On torch (CPU, float32/float64) ATen's CTC kernel computes it, eagerly and
    under ``torch.compile``: there inside a custom operator
    (``corelosses::ctc_nll_*``), since the kernel's output shape depends on the
    targets' values and ``F.ctc_loss`` breaks dynamo's graph; the operator has
    static shapes, so the loss compiles with ``fullgraph=True``. Where ATen
    would not compute this function (scores above 0 or below ``-1e30``,
    ``-inf``), the recursion runs instead.

    Parameters
    ----------
    log_probs : array
        ``(T, N, C)`` time-major log-probabilities (float; float16/bfloat16
        computed in float32).
    targets : array
        Integer labels, padded ``(N, S)`` (entries past ``target_lengths``
        are ignored) or concatenated ``(sum(target_lengths),)`` as PyTorch
        accepts; labels in ``[0, C)`` other than ``blank``.
    input_lengths, target_lengths : array
        ``(N,)`` integers (Python lists of ints accepted): ``0 <= T_n <= T``,
        ``0 <= S_n <= S``.
    blank : int
        The blank class, in ``[0, C)``.
    zero_infinity : bool
        Replace infinite losses (and their gradients) by 0.
    weight : array, optional
        One weight per sequence, ``(N,)``, multiplying its (length-divided) loss.
    mask : array, optional
        ``(N,)`` boolean: False sequences are excluded (NaN-safe).
    reduction : {"mean", "sum", "none"}
        See above.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-sequence losses for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> lp = np.log(np.full((2, 1, 2), 0.5))  # T=2, one sequence, classes {blank, a}
    >>> # alignments of "a": (a, a), (a, blank), (blank, a): probability 3/4
    >>> float(cl.ctc_loss(lp, np.array([[1]]), np.array([2]), np.array([1]), reduction="sum"))
    0.2876820724517809
    """
    fname = "ctc_loss"
    c.check_reduction(fname, reduction)
    if not isinstance(zero_infinity, bool):
        raise TypeError(f"{fname}: 'zero_infinity' must be a bool, got {zero_infinity!r}")
    be = c.backend_of(log_probs, targets, weight, mask)
    xp = be.xp
    x = c.floating(be, log_probs, fname, "log_probs")
    if x.ndim != 3:
        raise ValueError(f"{fname}: 'log_probs' must be (T, N, C), got shape {tuple(x.shape)}")
    T, N, C = x.shape
    if isinstance(blank, bool) or not isinstance(blank, int):
        raise TypeError(f"{fname}: 'blank' must be an int, got {blank!r}")
    if not 0 <= blank < C:
        raise ValueError(f"{fname}: 'blank'={blank} is out of range for C={C} classes")
    tg = _int_array(be, xp, targets, x, fname, "targets")
    il = _int_array(be, xp, input_lengths, x, fname, "input_lengths")
    tl = _int_array(be, xp, target_lengths, x, fname, "target_lengths")
    for name, v in (("input_lengths", il), ("target_lengths", tl)):
        if tuple(v.shape) != (N,):
            raise ValueError(f"{fname}: '{name}' must have shape ({N},), got {tuple(v.shape)}")
    _check_range(be, il, 0, T, fname, "input_lengths", f"in [0, T={T}]")
    tg = _padded(be, xp, tg, tl, N, fname)
    S = tg.shape[1]
    _check_range(
        be, tl, 0, S, fname, "target_lengths", f"in [0, S={S}] (the padded 'targets' length)"
    )
    if be.concrete(tg) and math.prod(tg.shape) > 0:
        real = xp.expand_dims(be.arange(S, tg, tg.dtype), 0) < xp.expand_dims(
            xp.astype(tl, tg.dtype), 1
        )
        _check_range(be, xp.where(real, tg, blank), 0, C - 1, fname, "targets", f"in [0, {C})")
        if bool(xp.any(real & (tg == blank))):
            raise ValueError(f"{fname}: 'targets' must not contain the blank label {blank}")
    valid, weight = c.mask_and_weight(be, mask, weight, (N,), x.dtype, fname)

    nll = None
    if valid is None and weight is None:
        nll = be.ctc_native(x, tg, il, tl, blank)
    if nll is None:
        if valid is not None:
            x = xp.where(xp.expand_dims(xp.expand_dims(valid, 0), 2), x, 0.0)
        nll = _ctc_nll(be, xp, x, tg, il, tl, blank, C)
    if zero_infinity:
        nll = xp.where(nll == math.inf, 0.0, nll)
    if reduction == "mean":
        nll = nll / xp.astype(xp.where(tl > 1, tl, 1), x.dtype)
    return c.reduce(be, nll, reduction, weight=weight, valid=valid)
