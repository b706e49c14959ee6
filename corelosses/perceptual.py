r"""Perceptual (feature reconstruction) and style losses (Johnson et al. 2016).

Both compare two images through a feature extractor ``features``: any
callable mapping a batch to a sequence of feature arrays, one per layer (a
user's VGG in torch, a Flax/Equinox model in JAX, a function written in
array-API calls, ...). The loss is written in array-API calls on the
features, so it runs wherever the extractor does and differentiates with
that framework's autodiff. For a pretrained VGG16 in PyTorch see
:func:`corelosses.adapters.extras.torch_vgg.vgg16_features`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from . import _core as c
from ._registry import register

Array = Any

__all__ = ["perceptual_loss", "style_loss"]

DISTANCES = ("l2", "l1")


# ------------------------------------------------------------------ examples
def example_features(x: Array) -> list[Array]:
    """A tiny fixed feature extractor in array-API calls (catalog example and docs).

    For ``x`` of shape ``(N, C, H, W)``: layer 1 is ``tanh(x)``; layer 2 mixes
    the channels of every other column, ``tanh(sum_c x + x^2 / 2)``, of shape
    ``(N, C, H, ceil(W / 2))``.
    """
    import array_api_compat

    xp = array_api_compat.array_namespace(x)
    h = xp.tanh(x)
    s = x[..., ::2]
    return [h, xp.tanh(xp.sum(s, axis=1, keepdims=True) + 0.5 * s * s)]


def _ex(rng):
    x = rng.normal(size=(3, 2, 4, 5))
    y = rng.normal(size=(3, 2, 4, 5))
    return (x, y), {"features": example_features, "layer_weights": (1.0, 0.5)}


# ------------------------------------------------------------------ helpers
def _layers(fname: str, argname: str, out: Any) -> list[Array]:
    if hasattr(out, "shape") and hasattr(out, "dtype"):
        return [out]  # a single array is one layer
    if not isinstance(out, (list, tuple)):
        raise TypeError(
            f"{fname}: '{argname}' must return a sequence (list or tuple) of feature arrays, "
            f"got {type(out).__name__}"
        )
    if len(out) == 0:
        raise ValueError(f"{fname}: '{argname}' returned no feature arrays")
    return list(out)


def _weights(fname: str, layer_weights: Sequence[float] | float | None, n: int) -> list[float]:
    if layer_weights is None:
        return [1.0] * n
    if isinstance(layer_weights, numbers.Real):
        c.check_number(fname, "layer_weights", layer_weights, low=0)
        return [float(layer_weights)] * n
    lw = list(layer_weights)  # type: ignore[arg-type]  # a Real was handled above
    if len(lw) != n:
        raise ValueError(
            f"{fname}: 'layer_weights' must hold one weight per feature layer ({n}), got {len(lw)}"
        )
    for w in lw:
        c.check_number(fname, "layer_weights", w, low=0)
    return [float(w) for w in lw]


def _compare(
    fname: str,
    input: Array,
    target: Array,
    features: Callable,
    layer_weights: Sequence[float] | float | None,
    distance: str,
    weight: Array | None,
    mask: Array | None,
    reduction: str,
    transform: Callable | None,
) -> Array:
    c.check_reduction(fname, reduction)
    c.check_choice(fname, "distance", distance, DISTANCES)
    if not callable(features):
        raise TypeError(
            f"{fname}: 'features' must be a callable returning a sequence of arrays, "
            f"got {type(features).__name__}"
        )
    be = c.backend_of(input, target, weight, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    c.check_same_shape(fname, x, target)
    if not xp.isdtype(target.dtype, ("integral", "bool", "real floating")):
        raise TypeError(f"{fname}: 'target' must be a real array, got dtype {target.dtype}")
    # integer/bool targets (a uint8 image) are cast like every loss's: values unchanged
    y = c.cast_to(be, target, x.dtype)
    if x.ndim < 1:
        raise ValueError(f"{fname}: 'input' must have a batch axis, got shape {tuple(x.shape)}")
    n = x.shape[0]
    valid, weight = c.mask_and_weight(be, mask, weight, (n,), x.dtype, fname)
    if valid is not None:  # first where: masked samples never reach the extractor as NaN
        vx = xp.reshape(valid, (valid.shape[0] if valid.ndim else 1,) + (1,) * (x.ndim - 1))
        x = xp.where(vx, x, 0.0)
        y = xp.where(vx, y, 0.0)
    fx = _layers(fname, "features", features(x))
    fy = _layers(fname, "features", features(y))
    if len(fx) != len(fy):
        raise ValueError(
            f"{fname}: 'features' returned {len(fx)} layers for input, {len(fy)} for target"
        )
    lw = _weights(fname, layer_weights, len(fx))
    loss = None
    for i, (a, b, w) in enumerate(zip(fx, fy, lw, strict=True)):
        a = c.floating(be, a, fname, f"features(input)[{i}]")
        b = c.floating(be, b, fname, f"features(target)[{i}]")
        if tuple(a.shape) != tuple(b.shape) or a.ndim < 1 or a.shape[0] != n:
            raise ValueError(
                f"{fname}: feature layer {i} must have the same shape (N={n}, ...) for input "
                f"and target, got {tuple(a.shape)} and {tuple(b.shape)}"
            )
        if transform is not None:
            a, b = transform(fname, xp, a, i), transform(fname, xp, b, i)
        d = a - b
        d = d * d if distance == "l2" else xp.abs(d)
        per = d if d.ndim == 1 else xp.mean(d, axis=tuple(range(1, d.ndim)))
        term = per if w == 1.0 else w * per
        loss = term if loss is None else loss + term
    return c.reduce(be, loss, reduction, weight=weight, valid=valid)


def _gram(fname: str, xp: Any, f: Array, i: int) -> Array:
    if f.ndim < 2:
        raise ValueError(
            f"{fname}: feature layer {i} must be channels-first (N, C, ...) for a Gram "
            f"matrix, got shape {tuple(f.shape)}"
        )
    n, ch = f.shape[0], f.shape[1]
    m = 1
    for s in f.shape[2:]:
        m *= s
    f = xp.reshape(f, (n, ch, m))
    return xp.matmul(f, xp.matrix_transpose(f)) / float(ch * m)


_PARAMS = """
    Parameters
    ----------
    input, target : array
        Two batches of the same shape ``(N, ...)`` (e.g. images ``(N, 3, H, W)``).
        An integer or boolean ``target`` (a ``uint8`` image) is cast to the
        input's dtype, values unchanged (scale it to the input's range
        yourself), and ``features`` receives it cast.
    features : callable
        ``features(batch) -> sequence of arrays`` with a leading batch axis
        (a single array counts as one layer).
    layer_weights : float or sequence of float, optional
        One non-negative weight per layer (default 1 each).
    distance : {"l2", "l1"}
        Squared or absolute difference.
    weight : array, optional
        Per-sample weights, broadcastable to ``(N,)``.
    mask : array, optional
        Per-sample boolean or 0/1 mask of shape ``(N,)``; masked samples give
        exactly zero value and gradient, even when they hold NaN.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the per-sample loss ``(N,)``; ``"mean"`` its mean
        over the (unmasked) samples, ``"sum"`` its sum.

    Returns
    -------
    array
        Scalar, or ``(N,)`` for ``reduction="none"``.
"""


@register(
    "perceptual",
    "Johnson, Alahi, Fei-Fei 2016 (Perceptual losses for real-time style transfer), "
    "feature reconstruction loss",
    peers=("piq.ContentLoss", "torchmetrics LPIPS (learned weights; not the same)"),
    example=_ex,
    grad_argnums=(0, 1),
)
def perceptual_loss(
    input: Array,
    target: Array,
    /,
    *,
    features: Callable[[Array], Sequence[Array]],
    layer_weights: Sequence[float] | float | None = None,
    distance: str = "l2",
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Feature reconstruction (perceptual) loss.

    .. math::
        \ell_n = \sum_l w_l\, \operatorname{mean}_{j}\,
        \big|f_l(x)_{nj} - f_l(y)_{nj}\big|^p, \qquad p = 2\ (\texttt{l2}),\ 1\ (\texttt{l1})

    per sample ``n``, the mean running over every non-batch entry ``j`` of
    layer ``l``; ``"mean"`` averages over the samples, so it equals
    ``sum_l w_l mean(|f_l(x) - f_l(y)|**p)`` (Johnson et al. 2016 with the
    squared, size-normalised Euclidean distance). Gradients flow into both
    ``input`` and ``target`` and into the extractor's parameters, through
    the extractor's own framework.
    {params}
    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> from corelosses.perceptual import example_features
    >>> x = np.zeros((1, 2, 2, 2)); y = np.ones((1, 2, 2, 2))
    >>> round(float(cl.perceptual_loss(x, y, features=example_features)), 6)
    1.553433
    >>> round(float(cl.perceptual_loss(x, y, features=lambda a: [a], distance="l1")), 6)
    1.0
    """
    return _compare(
        "perceptual_loss",
        input,
        target,
        features,
        layer_weights,
        distance,
        weight,
        mask,
        reduction,
        None,
    )


@register(
    "perceptual",
    "Gatys et al. 2016; Johnson, Alahi, Fei-Fei 2016 (style reconstruction loss, Gram "
    "matrices normalised by C*H*W)",
    peers=("piq.StyleLoss",),
    example=_ex,
    grad_argnums=(0, 1),
)
def style_loss(
    input: Array,
    target: Array,
    /,
    *,
    features: Callable[[Array], Sequence[Array]],
    layer_weights: Sequence[float] | float | None = None,
    distance: str = "l2",
    weight: Array | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Style reconstruction loss: the perceptual loss on Gram matrices.

    For a channels-first feature map ``F`` of shape ``(N, C, H, W)`` (any
    number of trailing axes, flattened to ``M = H W``),

    .. math::
        G_{n,cc'} = \frac{1}{C H W} \sum_{m} F_{n,c,m} F_{n,c',m}, \qquad
        \ell_n = \sum_l w_l\, \operatorname{mean}_{c,c'}\,
        \big|G_l(x)_{n,cc'} - G_l(y)_{n,cc'}\big|^p

    (Johnson et al. 2016, section 3.2, whose loss is the squared Frobenius
    norm, i.e. ``C**2`` times this mean per layer: fold it into
    ``layer_weights`` if you need their scale.)
    {params}
    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> x = np.zeros((1, 1, 2, 2)); y = np.ones((1, 1, 2, 2))
    >>> float(cl.style_loss(x, y, features=lambda a: [a]))   # Gram 0 vs 4 / 4
    1.0
    """
    return _compare(
        "style_loss",
        input,
        target,
        features,
        layer_weights,
        distance,
        weight,
        mask,
        reduction,
        _gram,
    )


perceptual_loss.__doc__ = (perceptual_loss.__doc__ or "").replace("{params}", _PARAMS)
style_loss.__doc__ = (style_loss.__doc__ or "").replace("{params}", _PARAMS)
