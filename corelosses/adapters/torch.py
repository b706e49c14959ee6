"""PyTorch backend: ``torch.nn.functional`` kernels, ``detach`` and autograd hooks.

Imported only once a torch tensor has been seen, so ``import corelosses``
never imports torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import _torch_ctc
from ._generic import Backend
from ._torch_ops import (
    _BIG,
    _BITS_OF,
    _CE_KERNEL,
    _NLL_KERNEL,
    _NO_INDEX,
    _PLAIN_DTYPES,
    _REDUCTION_ENUM,
    _REGRESSION_KERNELS,
    _bit_select,
    _BitSelect,
    _CustomVJP,
    _CustomVJPForward,
    _forward_ad,
    _func_grad,
    _Norm2Known,
    _vmapped,
)


class TorchBackend(Backend):
    name = "torch"
    has_autodiff = True

    def is_half(self, dtype):
        return dtype in (torch.float16, torch.bfloat16)

    def concrete(self, x):
        # Value checks only where they cost no device sync and break no graph.
        # Nor under torch.func.vmap, where a value is one per sample (torch.func.grad
        # alone reads them).
        return getattr(x, "is_cpu", False) and not torch.compiler.is_compiling() and not _vmapped()

    def abs0(self, x):
        return torch.abs(x)  # (its gradient at 0 is 0; compat's sign is not vmap-able)

    def min_scalar(self, a, s):
        # one kernel (compare + select are two in eager)
        return torch.clamp(a, max=s) if self.native else super().min_scalar(a, s)

    def clip_scalar(self, a, low, high):
        # one kernel; its backward is a select (a NaN outside the range is dropped)
        return torch.clamp(a, low, high) if self.native else super().clip_scalar(a, low, high)

    def value_range(self, x):
        # one pass; torch.amin on int64 CPU tensors is ~25x slower than amax.
        # Detached: the checks turn the results into Python numbers, which on a
        # tensor requiring grad warns ("Converting a tensor with requires_grad=True
        # to a scalar"), and a check has no gradient anyway.
        return torch.aminmax(x.detach() if x.requires_grad else x)

    def stop_gradient(self, x):
        return x.detach()

    def fuses_selects(self):
        return torch.compiler.is_compiling()  # inductor fuses it

    def count_true(self, valid):
        # inductor lowers count_nonzero to a compare and a second int64 conversion
        # per vector inside the fused loop (1.3x a masked MSE's); a bool sum is one
        if torch.compiler.is_compiling():
            return torch.sum(valid)
        return torch.count_nonzero(valid)

    def guards(self, x):
        return torch.compiler.is_compiling() or self.concrete(x)  # torch.cond when compiling

    def guarded(self, fast, slow, operands, parts=None):
        if not torch.compiler.is_compiling() or parts is None:
            return super().guarded(fast, slow, operands, parts)
        # the check from a detached fast pass; torch.cond, on detached operands
        # (not differentiated: its backward would compute every operand's
        # gradient), hands back those distances or the fallback's with its
        # scale; the loss is differentiated given them (norm2_diff's ``value``:
        # no second reduction, and one elementwise sweep backward, for the
        # gradients needed only). Two operands may not alias (torch.cond):
        # views past the first are copied.
        k = len(operands)
        ops = [o.detach() for o in operands]
        _, ok, saved = fast(*ops)
        seen = False
        for i, o in enumerate(operands):
            view = o._base is not None
            ops[i] = ops[i].clone() if view and seen else ops[i]
            seen = seen or view
        saved, scale = torch.cond(
            ok,
            lambda *a: (tuple(s.clone() for s in a[k:]), torch.ones_like(a[k])),
            lambda *a: parts(*a[:k]),
            (*ops, *saved),
        )
        return fast(*operands, saved=saved, scale=scale)[0]

    def where_valid(self, valid, x, fill=0.0):
        if (
            x.dtype not in _BITS_OF
            or x.ndim == 0  # (a 0-d integer view would not promote the int8 mask)
            or valid.ndim > x.ndim
            or fill != 0.0
            or not self.native
            or valid.dtype is not torch.bool
            or torch.compiler.is_compiling()  # inductor fuses the where
        ):
            return torch.where(valid, x, fill)
        # int8 -1 (every bit set, sign-extended by the AND) where valid, 0 elsewhere:
        # one byte per entry, as the mask itself
        bits = valid.view(torch.int8).neg()
        if torch.is_grad_enabled():  # (a torch.func transform's tensor too)
            return _BitSelect.apply(x, bits)
        return _bit_select(x, bits)

    def custom_vjp(self, fun, bwd):
        # One module-level Function; ``fun``/``bwd`` travel as non-tensor
        # arguments: a class built per call breaks dynamo's graph
        # (``__build_class__``). ``fun`` runs first, without a graph, and
        # ``_CustomVJP`` learns where each residual comes from (the output, an
        # input, or computed). Without any input needing a gradient the value
        # alone is computed (also the path dynamo can trace there).
        def call(*arrays):
            fwd = _forward_ad()  # (tangents may ride on tensors without requires_grad)
            if fwd or (
                torch.is_grad_enabled()
                and any(isinstance(a, torch.Tensor) and a.requires_grad for a in arrays)
            ):
                with torch.no_grad():
                    out, res = fun(*arrays)
                kinds = tuple(
                    -1 if r is out else next((i for i, a in enumerate(arrays) if r is a), None)
                    for r in res
                )
                fresh = [r for r, k in zip(res, kinds) if k is None]
                f = _CustomVJPForward if fwd else _CustomVJP  # (dynamo traces no jvp)
                return f.apply(fun, bwd, kinds, len(arrays), out, *arrays, *fresh)
            return fun(*arrays)[0]

        return call

    def grad_of(self, fn, x):
        if torch.compiler.is_compiling():
            # dynamo breaks the graph on torch.autograd.grad (unless the user sets
            # torch._dynamo.config.trace_autograd_ops); it traces torch.func.vjp.
            return _func_grad(fn, x)
        # create_graph: the gradient is itself differentiable (penalties train the critic);
        # enable_grad: works inside a caller's no_grad block too.
        with torch.enable_grad():
            x = x if x.requires_grad else x.detach().requires_grad_(True)
            y = fn(x)
            if not (isinstance(y, torch.Tensor) and y.requires_grad):
                return y, torch.zeros_like(x)  # critic constant in x: zero gradient
            (g,) = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=True)
        return y, torch.zeros_like(x) if g is None else g

    # Primitives used in both settings of ``native`` (see Backend.diff_plus/norm2).
    def diff_plus(self, x, y, c):
        # in place on the fresh difference: a second 4 MB result costs as much as
        # the subtraction (page faults); autograd allows it (sub saves no output)
        d = torch.sub(x, y)
        return d if isinstance(c, (int, float)) and c == 0 else d.add_(c)

    def norm2(self, x, axis, value=None):
        # one fused pass; its backward is 0 at a zero vector, as the generic one
        return torch.linalg.vector_norm(x, dim=axis)

    def norm2_diff(self, x, y, c, axis, value=None, scale=None):
        if value is not None and torch.compiler.is_compiling() and isinstance(c, (int, float)):
            return _Norm2Known.apply(x, y, c, value, axis, scale)
        return super().norm2_diff(x, y, c, axis, value, scale)

    # Native kernels: each computes the generic definition's function exactly.
    def softplus(self, x):
        if not self.native:
            return super().softplus(x)
        return -F.logsigmoid(-x)  # F.softplus switches to x past a threshold

    def log_sigmoid(self, x):
        return F.logsigmoid(x) if self.native else super().log_sigmoid(x)

    def sigmoid(self, x):
        return torch.sigmoid(x) if self.native else super().sigmoid(x)

    def logsumexp(self, x, axis=-1, keepdims=False):
        if not self.native:
            return super().logsumexp(x, axis=axis, keepdims=keepdims)
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)

    def log_softmax(self, x, axis=-1):
        return torch.log_softmax(x, dim=axis) if self.native else super().log_softmax(x, axis)

    def softmax(self, x, axis=-1):
        if not self.native:
            return super().softmax(x, axis)
        if torch.compiler.is_compiling() and x.numel() >= _BIG:
            # Past the last-level cache, inductor's graph for exp(z - logsumexp(z))
            # moves less memory in training than its softmax decomposition (it
            # recomputes instead of saving): dice_loss fwd+bwd at 16M elements 0.82x
            # MONAI instead of 1.09x; at 1M-4M the decomposition is faster (1.01-1.10x
            # against 1.2-1.4x); benchmarks/RESULTS.md. z = x - max keeps
            # logsumexp(z) in [0, log C]: no precision lost for large logits.
            z = x - x.detach().amax(dim=axis, keepdim=True)
            return torch.exp(z - torch.logsumexp(z, dim=axis, keepdim=True))
        return torch.softmax(x, dim=axis)

    def one_hot(self, indices, num_classes, axis, dtype):
        if not self.native:
            return super().one_hot(indices, num_classes, axis, dtype)
        shape = [1] * (indices.ndim + 1)
        shape[axis] = num_classes
        if not (torch.compiler.is_compiling() and dtype in _PLAIN_DTYPES and num_classes <= 2**24):
            classes = torch.arange(num_classes, dtype=indices.dtype, device=indices.device)
            hit = torch.unsqueeze(indices, axis) == classes.view(shape)
            # ATen converts uint8 to float ~1.6x faster than bool (same bytes, 0/1)
            return hit.view(torch.uint8).to(dtype)
        # Under torch.compile the partitioner saves a compare's boolean result for
        # the backward, and inductor's CPU code stores booleans at 8-10 ns per element
        # (dice_loss fwd+bwd 4x MONAI; benchmarks/RESULTS.md). The same 0/1 values by
        # arithmetic, which it saves as the target (one float per pixel) instead:
        # max(0, 1 - |t - c|) is 1 at t == c and 0 at any other integer, exactly, for
        # classes below 2**24 (an index past float32's integers rounds to >= 2**24).
        classes = torch.arange(num_classes, dtype=dtype, device=indices.device).view(shape)
        t = torch.unsqueeze(indices, axis).to(dtype)
        return torch.clamp(1.0 - torch.abs(t - classes), min=0.0)

    def bce_with_logits(self, x, y, pos_weight=None, weight=None):
        if not self.native or (
            torch.is_grad_enabled()
            and any(w is not None and w.requires_grad for w in (pos_weight, weight))
        ):
            # F.binary_cross_entropy_with_logits does not differentiate pos_weight or
            # weight (it raises for pos_weight): the definition does.
            return super().bce_with_logits(x, y, pos_weight, weight)
        return F.binary_cross_entropy_with_logits(
            x, y, weight=weight, pos_weight=pos_weight, reduction="none"
        )

    def max_pool(self, x, window, axes):
        # F.max_pool2d/3d over the trailing 2 or 3 axes of a 4-D/5-D floating tensor:
        # the same maximum with implicit -inf padding (odd windows, stride 1)
        d = len(axes)
        if (
            not self.native
            or d not in (2, 3)
            or x.ndim != d + 2
            or tuple(a % x.ndim for a in axes) != tuple(range(2, x.ndim))
            or any(w % 2 == 0 for w in window)
            or not x.is_floating_point()
        ):
            return super().max_pool(x, window, axes)
        pool = F.max_pool2d if d == 2 else F.max_pool3d
        return pool(x, tuple(window), stride=1, padding=tuple(w // 2 for w in window))

    def resize(self, x, shape, axes, method="nearest"):
        # F.interpolate on (N, C, *spatial) with the spatial axes trailing: "nearest-exact"
        # and align_corners=False linear are the definition's half-pixel rules
        k = len(axes)
        if (
            not self.native
            or not x.is_floating_point()
            or not 1 <= k <= 3
            or x.ndim != k + 2
            or tuple(a % x.ndim for a in axes) != tuple(range(2, x.ndim))
            or x.numel() == 0
        ):
            return super().resize(x, shape, axes, method)
        if method == "nearest":
            return F.interpolate(x, size=tuple(shape), mode="nearest-exact")
        mode = ("linear", "bilinear", "trilinear")[k - 1]
        return F.interpolate(x, size=tuple(shape), mode=mode, align_corners=False)

    def take_along_last(self, x, idx):
        # torch.gather: take_along_dim first wraps the indices (a remainder per entry)
        if x.ndim == 0:
            return super().take_along_last(x, idx)
        return torch.gather(x, -1, idx)

    def sort_descending(self, x):
        # one torch.sort: the values (differentiable) and the permutation together
        if x.ndim == 0:
            return super().sort_descending(x)
        values, perm = torch.sort(x, dim=-1, descending=True)
        return values, perm

    def window_filter(self, x, kernel, axes, padding="valid"):
        # depthwise convolutions: every row / image is its own channel (groups = rows),
        # the kernel one tap line per axis; the definition's sum of shifted slices (a
        # correlation), zero or reflect padding as conv padding / F.pad. (A batch of
        # single-channel rows, (rows, 1, length), takes torch's slow CPU path: ~10x.)
        if not self.native or not x.is_floating_point() or x.numel() == 0:
            return super().window_filter(x, kernel, axes, padding)
        K = len(kernel)
        w = torch.tensor(kernel, dtype=x.dtype, device=x.device)
        p = (K - 1) // 2 if padding != "valid" else 0
        d = len(axes)
        nd = x.ndim
        if (
            1 <= d <= 3
            and padding != "reflect"
            and sorted(a % nd for a in axes) == list(range(nd - d, nd))
        ):
            # the filtered axes trail: one conv{d}d per axis on the (1, rows, *spatial) view
            conv = (F.conv1d, F.conv2d, F.conv3d)[d - 1]
            lead = x.shape[: nd - d]
            rows = math.prod(lead)
            y = x.reshape(1, rows, *x.shape[nd - d :])
            for ax in axes:
                i = ax % nd - (nd - d)
                shape = [1] * d
                shape[i] = K
                pad = [0] * d
                pad[i] = p
                y = conv(y, w.view(1, 1, *shape).expand(rows, 1, *shape), padding=tuple(pad),
                         groups=rows)  # fmt: skip
            return y.reshape(*lead, *y.shape[2:])
        for ax in axes:
            y = x.movedim(ax, -1)
            lead = y.shape[:-1]
            rows = math.prod(lead)
            y = y.reshape(1, rows, y.shape[-1])
            if padding == "reflect" and p:
                y = F.pad(y, (p, p), mode="reflect")
            y = F.conv1d(y, w.view(1, 1, K).expand(rows, 1, K),
                         padding=p if padding == "zeros" else 0, groups=rows)  # fmt: skip
            x = y.reshape(*lead, y.shape[-1]).movedim(-1, ax)
        return x

    # Whole-loss kernels (see Backend.cross_entropy_native): plain cases only.
    def _plain(self, x, y):
        # float32/float64 pairs of the same dtype and shape, not empty (an empty
        # mean is 0 for corelosses, NaN for torch)
        if not (self.native and isinstance(y, torch.Tensor)):
            return False
        dt = x.dtype
        return (
            (dt is torch.float32 or dt is torch.float64)
            and y.dtype is dt
            and x.shape == y.shape
            and x.numel() > 0
        )

    def cross_entropy_native(self, x, target, axis, reduction, valid=None):
        # (each tensor attribute costs ~60 ns: this runs on every plain call)
        dt = x.dtype
        if not (
            self.native
            and (dt is torch.float32 or dt is torch.float64)
            and target.dtype is torch.int64
            and target.numel() > 0
        ):
            return None
        nd = x.ndim
        if nd > 1:
            if axis != 1 and axis != 1 - nd:
                if type(axis) is not int:
                    return None  # a tuple of class axes: the definition (no raise to
                    # catch, which would break a torch.compile graph)
                # classes on dim 1, the other dims in order; a bad axis raises
                x = torch.movedim(x, axis, 1)
        elif axis not in (0, -1):
            return None
        # A target of the wrong shape or an index out of range makes
        # F.cross_entropy raise; the caller then runs the definition, which
        # names the problem. No index is ignored (the int64 minimum is never a
        # class index), unlike F.cross_entropy's default of -100, except outside
        # ``valid``, where the kernel gives exactly 0.
        if valid is not None:
            # ``x`` is not filled outside ``valid`` (Backend.cross_entropy_native):
            # finite logits need no fill (an ignored row's gradient is exactly 0
            # through log_softmax's backward), which one read shows in eager (a
            # finite sum has no NaN or inf term: one vectorised pass, where
            # ``isfinite(x).all()`` is a scalar loop 50x slower); otherwise the
            # rows outside ``valid`` are filled with 0
            if target.shape != valid.shape:
                valid = torch.broadcast_to(valid, target.shape)
            if not (self.concrete(x) and math.isfinite(float(torch.sum(x.detach())))):
                x = self.where_valid(valid.unsqueeze(1) if nd > 1 else valid, x)
            target = torch.where(valid, target, _NO_INDEX)
        if _CE_KERNEL is not None:
            # the ATen op F.cross_entropy itself calls, without its Python wrapper
            # (0.33 us of a ~4 us call at 64 elements; RESULTS.md "Floors");
            # dynamo traces it as it traces F.cross_entropy (no graph break, tested)
            return _CE_KERNEL(x, target, None, _REDUCTION_ENUM[reduction], _NO_INDEX, 0.0)
        return F.cross_entropy(x, target, ignore_index=_NO_INDEX, reduction=reduction)

    def bce_with_logits_native(self, x, y, reduction):
        if not self._plain(x, y):
            return None
        # the ATen op F.binary_cross_entropy_with_logits calls, without its Python
        # wrapper (shapes are equal here: _plain); as F.cross_entropy's, above
        return torch.binary_cross_entropy_with_logits(x, y, None, None, _REDUCTION_ENUM[reduction])

    def regression_native(self, kernel, x, y, params, reduction):
        if not self._plain(x, y):
            return None
        # ATen's ops, as torch.nn.functional calls them once it has broadcast the
        # two (equal) shapes; F.* where an op is missing in this torch
        op = _REGRESSION_KERNELS.get(kernel)
        if op is None or (kernel == "huber" and _forward_ad()):
            return None  # (huber_loss_backward has no forward mode: jacfwd(jacrev), hessian)
        return op(x, y, _REDUCTION_ENUM[reduction], *params)

    def ctc_native(self, log_probs, targets, input_lengths, target_lengths, blank):
        # ATen's kernel (corelosses.adapters._torch_ctc): eagerly on concrete CPU
        # arrays, and under torch.compile inside a custom operator (the kernel's
        # output shape depends on the targets' values: dynamo would break there)
        x = log_probs
        if not (self.native and _torch_ctc.supported(x)):
            return None
        if torch.compiler.is_compiling():
            return _torch_ctc.traced(x, targets, input_lengths, target_lengths, blank)
        if not self.concrete(x):
            return None
        return _torch_ctc.eager(x, targets, input_lengths, target_lengths, blank)

    # The divergences and likelihoods below reduce with a scale (no intermediate
    # overflow; corelosses._class_common._reduce_scaled) or guard their inputs,
    # where ATen's kernels sum plainly: there, wherever ATen's reduced value is
    # finite it is the definition's (and so is its gradient), and a non-finite one
    # sends the call to the definition. Reading that value is free only in eager
    # CPU code (``concrete``): elsewhere these decline unless nothing is read.
    def _finite(self, out):
        if out.ndim == 0:
            return math.isfinite(out.detach().item())
        return bool(torch.isfinite(out.detach()).all())

    def nll_native(self, x, target, axis, class_weight, reduction):
        dt = x.dtype
        if not (
            self.native
            and (dt is torch.float32 or dt is torch.float64)
            and target.dtype is torch.int64
            and target.numel() > 0
            and type(axis) is int
            and -x.ndim <= axis < x.ndim
        ):
            return None
        check = reduction != "none"  # one value per sample, -w x_t: nothing summed
        cw = class_weight
        # Unreadable (torch.compile, GPU): the plain mean as sum(-x_t / N), whose
        # partial sums never exceed the largest |x_t| (the definition's scaled
        # mean, no check needed); "sum" and class weights only where readable
        unread = check and not self.concrete(x)
        if unread and (reduction != "mean" or cw is not None):
            return None
        if cw is not None and not (
            isinstance(cw, torch.Tensor)
            and cw.dtype is dt
            and cw.ndim == 1
            and cw.shape[0] == x.shape[axis]
            and not (cw.requires_grad and torch.is_grad_enabled())  # ATen: no d/dw
        ):
            return None
        nd = x.ndim
        if nd > 1 and axis != 1 and axis != 1 - nd:
            x = torch.movedim(x, axis, 1)
        elif nd == 1 and axis not in (0, -1):
            return None
        if not check or unread:
            try:  # a bad index or shape raises: the definition names it
                rows = _NLL_KERNEL(x, target, None if unread else cw, 0, _NO_INDEX)
            except (IndexError, RuntimeError, ValueError):
                return None
            return torch.sum(rows / rows.numel()) if unread else rows
        # Readable: x_t gathered (ATen's nll kernel without reduction is ~2x slower),
        # rows -w x_t >= 0 (log-probabilities) sum without cancellation, so any
        # order gives the definition's number; a negative row (not a
        # log-probability) or a non-finite result goes to the definition
        if tuple(target.shape) != (x.shape[:1] + x.shape[2:] if nd > 1 else ()):
            return None
        try:  # an index out of range raises
            xt = torch.gather(x, min(nd - 1, 1), target.unsqueeze(min(nd - 1, 1)))
        except (IndexError, RuntimeError):
            return None
        if cw is None:
            # -sum(x_t) is sum(-x_t) bit for bit (negation is exact and rounding
            # symmetric), without the negated copy
            if not float(torch.amax(xt.detach())) <= 0:  # (NaN too)
                return None
            out = -(xt.sum() if reduction == "sum" else xt.mean())
            return out if self._finite(out) else None  # (overflow: the scaled mean)
        rows = -(cw.index_select(0, target.reshape(-1)).view(xt.shape) * xt)
        if not float(torch.amin(rows.detach())) >= 0:  # (NaN too)
            return None
        if reduction == "sum":
            out = rows.sum()
        else:  # PyTorch's rule: sum(w_t x_t) / sum(w_t)
            out = rows.sum() / cw.index_select(0, target.reshape(-1)).sum()
        # NaN where every target's weight is 0 (the definition gives 0)
        return out if self._finite(out) else None

    def kl_div_native(self, x, target, axis, log_target, reduction):
        if not (
            self._plain(x, target)
            and x.ndim > 0
            and self.concrete(x)
            # d/dt of ATen's xlogy(t, t) is NaN at t = 0; the definition's is 0
            and not (target.requires_grad and torch.is_grad_enabled())
        ):
            return None
        if not (type(axis) is int and -x.ndim <= axis < x.ndim):
            return None
        # log-probabilities only (x <= 0: every term t (log t - x) >= t log t >= -1/e,
        # no cancellation in any summation order); one read of x, ~2% of the kernel
        if not float(torch.amax(x.detach())) <= 0.0:
            return None
        try:
            n = x.shape[axis]
            if reduction == "none":
                out = torch.kl_div(x, target, 0, log_target=log_target).sum(dim=axis)
            else:
                out = torch.kl_div(x, target, 2, log_target=log_target)
                if reduction == "mean":
                    out = out / (x.numel() // n)
        except (IndexError, RuntimeError, TypeError):
            return None
        # t = 0 with log p = -inf is NaN in ATen (0 * -inf), 0 in the definition
        return out if self._finite(out) else None

    def poisson_nll_native(self, x, y, full, reduction):
        # exp(x) - y x (+ Stirling's term where y > 1): the definition's function,
        # summed plainly by both; ATen's Stirling term has d/dy NaN at y = 0
        if not self._plain(x, y) or (full and y.requires_grad and torch.is_grad_enabled()):
            return None
        return torch.poisson_nll_loss(x, y, True, full, 1e-8, _REDUCTION_ENUM[reduction])

    def gaussian_nll_native(self, x, y, var, full, eps, reduction):
        # F.gaussian_nll_loss squares x - y (inf where the definition's half
        # residual is finite) and reads var for its sign (a sync): eager CPU only
        if not (
            self._plain(x, y)
            and isinstance(var, torch.Tensor)
            and var.dtype is x.dtype
            and var.shape == x.shape
            and self.concrete(x)
        ):
            return None
        try:
            out = F.gaussian_nll_loss(x, y, var, full=full, eps=eps, reduction=reduction)
        except ValueError:  # a negative variance: the definition names it
            return None
        return out if self._finite(out) else None

    def multi_margin_native(self, x, target, axis, p, margin, class_weight, reduction):
        # ATen sums each row's terms undivided (the definition divides each by C
        # first): a non-finite value goes to the definition, read in eager CPU code
        dt = x.dtype
        if not (
            self.native
            and (dt is torch.float32 or dt is torch.float64)
            and target.dtype is torch.int64
            and x.numel() > 0
            and type(axis) is int
            and -x.ndim <= axis < x.ndim
            and self.concrete(x)
        ):
            return None
        C = x.shape[axis]
        lead = x.shape[:axis] + x.shape[axis + 1 :] if axis >= 0 else None
        if lead is None:
            a = axis + x.ndim
            lead = x.shape[:a] + x.shape[a + 1 :]
        cw = class_weight
        if target.shape != lead or (
            cw is not None
            and not (
                isinstance(cw, torch.Tensor)
                and cw.dtype is dt
                and cw.shape == (C,)
                and not (cw.requires_grad and torch.is_grad_enabled())
            )
        ):
            return None
        x2 = torch.movedim(x, axis, -1).reshape(-1, C)
        try:  # an index out of range raises: the definition names it
            out = torch._C._nn.multi_margin_loss(
                x2, target.reshape(-1), p, margin, cw, _REDUCTION_ENUM[reduction]
            )
        except (IndexError, RuntimeError, ValueError):
            return None
        if reduction == "none":
            out = out.reshape(lead)
        return out if self._finite(out) else None


def make(xp):
    return TorchBackend(xp)
