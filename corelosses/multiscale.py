"""Multi-scale wrappers: deep supervision over a list of predictions at several scales.

:func:`deep_supervision` turns any ``(input, target)`` loss into one over the
outputs of a deeply supervised network (U-Net decoders, nnU-Net, MONAI's
``DynUNet``): each prediction is compared with the target resized to its
spatial size (the backend hook ``be.resize``: a strided slice or a gather,
``F.interpolate`` on torch, ``jax.image.resize`` on jax) and the weighted
losses are summed. It is a function of a function, so it is not a catalog entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["deep_supervision"]

_MODES = ("exp", "same", "two")
_RESIZE = ("nearest", "linear")


def _mode_weights(mode: str, levels: int) -> list[float]:
    if mode == "same":
        return [1.0] * levels
    if mode == "two":
        return [1.0] + [0.5] * (levels - 1)
    return [max(0.5**i, 0.0625) for i in range(levels)]  # "exp", floored at 1/16 (MONAI)


def deep_supervision(
    loss_fn: Callable[..., Array],
    /,
    *,
    weights: Sequence[float] | None = None,
    weight_mode: str = "exp",
    resize: str = "nearest",
    spatial_dims: int | None = None,
) -> Callable[..., Array]:
    r"""A loss over a list of predictions at several scales (deep supervision).

    The returned function ``loss(inputs, target, /, **kwargs)`` computes

    .. math::
        \ell = \sum_i w_i \, \mathrm{loss\_fn}(x_i,\ \mathrm{resize}(y, \mathrm{size}(x_i)))

    where the target is resized (only where its size differs) to the trailing
    ``spatial_dims`` sizes of each prediction ``x_i``; ``kwargs`` go to
    ``loss_fn`` unchanged (arrays in them are not resized: pass a mask only
    when every prediction has the target's size). A single array instead of a
    list gives ``loss_fn(inputs, target, **kwargs)``. This is MONAI's
    ``DeepSupervisionLoss(loss, weight_mode, weights)``: the same weights and
    the same ``"nearest-exact"`` resizing.

    Parameters
    ----------
    loss_fn : callable
        Any ``(input, target, **kwargs)`` loss, e.g. ``corelosses.dice_loss``;
        it should reduce to a scalar (or every level must give the same shape).
    weights : sequence of float, optional
        One weight per level (finite, >= 0); extra ones are ignored. Too few
        raise a ``ValueError`` at the call (MONAI silently falls back to
        ``weight_mode``).
    weight_mode : {"exp", "same", "two"}
        Weights when ``weights`` is None: ``"exp"``: ``max(2^{-i}, 1/16)``
        (1, 0.5, 0.25, 0.125, 0.0625, 0.0625, ...), ``"same"``: all 1,
        ``"two"``: 1 then 0.5 for every lower level. Not normalised (MONAI).
    resize : {"nearest", "linear"}
        ``"nearest"``: output pixel ``i`` takes input pixel
        ``floor((i + 0.5) n_in / n_out)`` (torch's ``"nearest-exact"``, MONAI's
        choice; any dtype, class indices included); ``"linear"``: half-pixel
        (multi)linear interpolation without antialiasing (floating targets).
    spatial_dims : int, optional
        The number of trailing spatial axes; default ``input.ndim - 2`` for each
        prediction (channels-first ``(N, C, *spatial)``). The target's trailing
        axes are resized, so a class-index target ``(N, *spatial)`` works too.

    Returns
    -------
    callable
        ``loss(inputs, target, /, **kwargs)`` with ``inputs`` a list or tuple of
        predictions (the first usually at full resolution).

    References
    ----------
    Lee et al. 2015, Deeply-Supervised Nets; Isensee et al. 2021, nnU-Net;
    MONAI ``DeepSupervisionLoss``.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> from corelosses.multiscale import deep_supervision
    >>> y = np.zeros((1, 1, 4, 4)); y[..., :2, :] = 1.0
    >>> preds = [np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2))]
    >>> loss = deep_supervision(cl.mse_loss)  # weights 1 and 0.5
    >>> float(loss(preds, y))  # 0.5 + 0.5 * 0.5
    0.75
    """
    fname = "deep_supervision"
    if not callable(loss_fn):
        raise TypeError(f"{fname}: 'loss_fn' must be callable, got {type(loss_fn).__name__}")
    c.check_choice(fname, "weight_mode", weight_mode, _MODES)
    c.check_choice(fname, "resize", resize, _RESIZE)
    if spatial_dims is not None:
        if isinstance(spatial_dims, bool) or not isinstance(spatial_dims, int):
            raise TypeError(f"{fname}: 'spatial_dims' must be an int, got {spatial_dims!r}")
        if spatial_dims < 1:
            raise ValueError(f"{fname}: 'spatial_dims' must be >= 1, got {spatial_dims}")
    if weights is not None:
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
            raise TypeError(f"{fname}: 'weights' must be a sequence of numbers, got {weights!r}")
        for w in weights:
            c.check_number(fname, "weights", w, low=0, finite=True)
        weights = [float(w) for w in weights]
    name = getattr(loss_fn, "__name__", type(loss_fn).__name__)

    def level_weights(levels: int) -> list[float]:
        if weights is None:
            return _mode_weights(weight_mode, levels)
        if len(weights) < levels:
            raise ValueError(
                f"{fname}: 'weights' has {len(weights)} entries for {levels} predictions"
            )
        return list(weights[:levels])

    def loss(inputs: Any, target: Array, /, **kwargs: Any) -> Array:
        if not isinstance(inputs, (list, tuple)):
            return loss_fn(inputs, target, **kwargs)
        if len(inputs) == 0:
            raise ValueError(f"{fname}: 'inputs' must hold at least one prediction, got none")
        be = c.backend_of(*inputs, target)
        xp = be.xp
        ws = level_weights(len(inputs))
        total = None
        for i, x in enumerate(inputs):
            k = x.ndim - 2 if spatial_dims is None else spatial_dims
            if k < 1 or k > x.ndim or k > target.ndim:
                raise ValueError(
                    f"{fname}: prediction {i} of shape {tuple(x.shape)} and 'target' of shape "
                    f"{tuple(target.shape)} have no {k} trailing spatial axes"
                )
            size = tuple(x.shape[x.ndim - k :])
            t = target
            if tuple(target.shape[target.ndim - k :]) != size:
                if resize == "linear" and not xp.isdtype(target.dtype, "real floating"):
                    raise TypeError(
                        f"{fname}: resize='linear' needs a floating 'target', got dtype "
                        f"{target.dtype} (use resize='nearest' for labels)"
                    )
                if any(n == 0 for n in size) and math.prod(target.shape) != 0:
                    raise ValueError(f"{fname}: prediction {i} has an empty spatial size {size}")
                axes = tuple(range(target.ndim - k, target.ndim))
                t = be.resize(target, size, axes, method=resize)
            term = loss_fn(x, t, **kwargs)
            if ws[i] != 1.0:
                term = term * ws[i]
            total = term if total is None else total + term
        return total

    loss.__name__ = f"deep_supervision_{name}"
    loss.__qualname__ = loss.__name__
    loss.__doc__ = (
        f"Deep supervision of ``{name}`` (see :func:`corelosses.multiscale.deep_supervision`)."
    )
    return loss


register(
    "transforms",
    "sum_i w_i loss(x_i, resize(y, size(x_i))) (Lee et al. 2015; MONAI DeepSupervisionLoss)",
    peers=("monai.losses.DeepSupervisionLoss",),
    kind="transform",
    grad_argnums=(),
)(deep_supervision)
