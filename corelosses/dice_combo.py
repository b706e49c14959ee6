r"""Soft Jaccard and the combined region + pixel losses: dice + cross entropy, dice + focal.

``jaccard_loss`` is :func:`corelosses.dice.dice_loss` with ``jaccard=True``.
``dice_ce_loss`` and ``dice_focal_loss`` are MONAI's ``DiceCELoss`` and
``DiceFocalLoss``: ``lambda_dice`` times the dice loss plus ``lambda_ce``
(``lambda_focal``) times a pixel loss computed by
:func:`corelosses.cross_entropy` / :func:`corelosses.binary_cross_entropy`,
:func:`corelosses.focal_loss` or :func:`corelosses.softmax_focal_loss`.

Layout and targets are the dice family's (:mod:`corelosses.segmentation`):
``(N, C, *spatial)`` logits, class indices (the input's shape without the
channel axis; MONAI's ``to_onehot_y=True``) or one-hot/probability maps of
the input's shape. The pixel term always reads the *logits* (MONAI's rule),
whatever ``activation`` the dice term uses.

Reductions: ``"mean"`` is MONAI's ``"mean"`` (the dice mean plus the pixel
mean, each over its own entries); ``"sum"`` is MONAI's ``"sum"``; ``"none"``
returns each sample's share of ``"sum"``, shape ``(N,)``, so ``"sum"`` is
the sum of ``"none"`` (``"mean"`` is not its mean). ``mask`` is a per-sample
mask ``(N,)`` or a pixel mask of the input's shape without the channel
axis; it applies to both terms, NaN-safe.
"""

from __future__ import annotations

import math
from typing import Any

from . import _core as c
from ._registry import register
from ._segment_common import _layout, _onehot_ignore, _take_classes
from .classification import binary_cross_entropy, cross_entropy
from .dice import Activation, dice_loss
from .focal import focal_loss, softmax_focal_loss

Array = Any

__all__ = ["jaccard_loss", "dice_ce_loss", "dice_focal_loss"]


# ------------------------------------------------------------------ examples
def _ex_jaccard(rng):
    x = rng.normal(size=(2, 3, 4, 5)) * 2
    y = rng.integers(0, 3, size=(2, 4, 5))
    return (x, y), {"smooth": 0.5}


def _ex_dice_ce(rng):
    x = rng.normal(size=(2, 3, 4, 5)) * 2
    y = rng.integers(0, 3, size=(2, 4, 5))
    return (x, y), {"class_weight": rng.uniform(0.5, 2.0, size=(3,)), "lambda_ce": 0.5}


def _ex_dice_focal(rng):
    x = rng.normal(size=(2, 3, 4, 5)) * 2
    y = rng.integers(0, 3, size=(2, 4, 5))
    return (x, y), {"gamma": 1.5, "alpha": 0.25, "include_background": False}


# ------------------------------------------------------------------- helpers
def _weights(fname, **lams):
    for name, v in lams.items():
        c.check_number(fname, name, v, low=0, finite=True)


def _masks(be, fname, mask, x, ax, n_spatial):
    """(dice mask, pixel-term mask without channel axis) from a per-sample or pixel mask."""
    if mask is None:
        return None, None
    xp = be.xp
    pshape = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])
    if mask.ndim == 1 and x.ndim > 2:
        m = c.as_mask(be, mask, (x.shape[0],), fname)
        return xp.reshape(m, (x.shape[0], 1)), xp.reshape(m, (x.shape[0],) + (1,) * n_spatial)
    if mask.ndim == x.ndim - 1:
        m = c.as_mask(be, mask, pshape, fname)
        return xp.expand_dims(m, axis=ax), m
    raise ValueError(
        f"{fname}: 'mask' must be a per-sample mask ({x.shape[0]},) or a pixel mask of "
        f"shape {pshape} (the input's shape without channel_axis {ax}), got "
        f"{tuple(mask.shape)}"
    )


def _targets(be, fname, x, target, ax, ignore_index):
    """One-hot/probability target of ``x``'s shape (float), and the pixels kept by
    ``ignore_index`` (no channel axis) or None."""
    xp = be.xp
    C = x.shape[ax]
    if tuple(target.shape) == tuple(x.shape):
        y = c.cast_to(be, target, x.dtype)
        keep = None
        if ignore_index is not None:
            keep = xp.squeeze(_onehot_ignore(xp, y, ignore_index, ax, C), axis=ax)
        return y, keep
    keep = None if ignore_index is None else target != ignore_index
    if C == 1:
        return xp.astype(xp.expand_dims(target == 1, axis=ax), x.dtype), keep
    return be.one_hot(target, C, ax, x.dtype), keep


def _combine(be, reduction, lam_a, a_none, a_mean, lam_b, b_none, b_mean):
    xp = be.xp
    if reduction == "mean":
        return lam_a * a_mean + lam_b * b_mean
    if reduction == "sum":  # a_none is (1,) with batch=True
        return lam_a * xp.sum(a_none) + lam_b * xp.sum(b_none)
    return lam_a * a_none + lam_b * b_none


def _per_sample(xp, loss, axes):
    return xp.sum(loss, axis=axes) if axes else loss


_COMBO_DOC = """
    activation : {"softmax", "sigmoid", None} or callable
        The dice term's activation (MONAI's ``softmax=True`` /
        ``sigmoid=True`` / ``other_act``); the pixel term reads the logits.
    channel_axis, smooth, smooth_nr, smooth_dr, include_background, squared_pred, jaccard, batch
        The dice term's options (:func:`corelosses.dice_loss`). MONAI's
        default smoothing is ``smooth=1e-5``, ours 1.
    class_weight : array, optional
        One weight per class, ``(C,)`` (MONAI's ``weight``), for both terms;
        the dice term drops class 0's with ``include_background=False`` and,
        as MONAI, ignores it for a single channel (where it is the binary
        cross entropy's ``pos_weight``).
    ignore_index : int, optional
        Pixels left out of both terms (class-index targets, or one-hot
        targets by MONAI's rule; see :func:`corelosses.dice_loss`).
    mask : array, optional
        Per-sample ``(N,)`` or pixel mask (the input's shape without the
        channel axis), for both terms.
    reduction : {"mean", "sum", "none"}
        MONAI's ``"mean"`` and ``"sum"``; ``"none"``: each sample's share of
        ``"sum"``, shape ``(N,)`` (not with ``batch=True``)."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("    {combo}", _COMBO_DOC.strip("\n"))
    return fn


def _check_cw(be, fname, class_weight, C):
    if class_weight is None:
        return
    if tuple(getattr(class_weight, "shape", ())) != (C,):
        raise ValueError(
            f"{fname}: 'class_weight' must be an array of shape ({C},) (one per class), got "
            f"{class_weight!r}"
        )


def _dice_part(fname, input, target, ax, reduction, batch, dmask, class_weight, ib, **kw):
    """(per-sample dice summed over the classes, or None; the dice mean, or None)."""
    if reduction == "none" and batch:
        raise ValueError(f"{fname}: reduction='none' needs batch=False (a loss per sample)")
    cw = class_weight
    if input.shape[ax] == 1:
        cw = None  # MONAI: no class weight in the dice term of a single channel
    elif cw is not None and not ib:
        cw = _take_classes(cw, 0, 1)  # MONAI: weight[1:] for the dice term
    d = dice_loss(
        input,
        target,
        channel_axis=ax,
        batch=batch,
        mask=dmask,
        class_weight=cw,
        include_background=ib,
        reduction="mean" if reduction == "mean" else "none",
        **kw,
    )
    if reduction == "mean":
        return None, d
    return c.backend_of(d).xp.sum(d, axis=1), None


# ---------------------------------------------------------------- the losses
@register(
    "segmentation",
    "Jaccard 1912; soft IoU as segmentation_models_pytorch JaccardLoss, MONAI DiceLoss(jaccard=True)",
    peers=(
        "monai.losses.DiceLoss(jaccard=True)",
        "segmentation_models_pytorch.losses.JaccardLoss",
    ),
    example=_ex_jaccard,
    onehot_ignore_index=True,  # MONAI: ignore_index also on one-hot targets
)
def jaccard_loss(
    input: Array,
    target: Array,
    /,
    *,
    activation: Activation = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    include_background: bool = True,
    squared_pred: bool = False,
    soft_label: bool = False,
    class_weight: float | Array | None = None,
    batch: bool = False,
    average: str | None = None,
    check_range: bool = True,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Soft Jaccard (IoU) loss per sample and class: ``dice_loss(..., jaccard=True)``.

    .. math::
        \ell_{n,c} = 1 - \frac{I_{n,c} + s_{nr}}{|p_{n,c}| + |y_{n,c}| - I_{n,c} + s_{dr}}

    with ``I = sum_i p_i y_i`` and every option of :func:`corelosses.dice_loss`
    (``squared_pred``: ``|p| = sum p**2``; ``soft_label``: MONAI's soft
    intersection). smp's ``JaccardLoss(mode, smooth=s)`` is this ratio with
    ``s`` in numerator and denominator (smp sums over the batch, ``batch=True``,
    and zeroes the loss of classes absent from the target). MONAI's
    ``DiceLoss(jaccard=True, smooth_nr=a, smooth_dr=b)`` writes
    ``(2 I + a) / (2 (|p| + |y| - I) + b)``: ours with ``smooth_nr=a / 2,
    smooth_dr=b / 2``. An empty class predicted empty gives 0.

    Parameters
    ----------
    input, target, activation, channel_axis, smooth, smooth_nr, smooth_dr
        As for :func:`corelosses.dice_loss`.
    include_background, squared_pred, soft_label, class_weight, batch, average
        As for :func:`corelosses.dice_loss`.
    check_range, ignore_index, mask, reduction
        As for :func:`corelosses.dice_loss`.

    Returns
    -------
    array
        Scalar, or the ``(N, C)`` loss for ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np
    >>> from corelosses.dice_combo import jaccard_loss
    >>> p = np.array([[[[0.9, 0.1], [0.8, 0.0]]]])  # (N=1, C=1, 2, 2)
    >>> y = np.array([[[1, 0], [1, 0]]])
    >>> round(float(jaccard_loss(p, y, activation=None)), 6)
    0.129032
    """
    return dice_loss(
        input,
        target,
        activation=activation,
        channel_axis=channel_axis,
        smooth=smooth,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        include_background=include_background,
        squared_pred=squared_pred,
        jaccard=True,
        soft_label=soft_label,
        class_weight=class_weight,
        batch=batch,
        average=average,
        check_range=check_range,
        ignore_index=ignore_index,
        mask=mask,
        reduction=reduction,
    )


def _prologue(fname, input, target, channel_axis, reduction, mask, ignore_index):
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, target, mask)
    x = c.floating(be, input, fname)
    ax, spatial = _layout(fname, x, channel_axis)
    c.class_count(fname, x, ax)
    dmask, pmask = _masks(be, fname, mask, x, ax, len(spatial))
    return be, be.xp, x, ax, spatial, dmask, pmask


@register(
    "segmentation",
    "MONAI DiceCELoss: lambda_dice * dice + lambda_ce * cross entropy (Isensee et al. 2021, nnU-Net)",
    peers=("monai.losses.DiceCELoss",),
    example=_ex_dice_ce,
    mean="weighted",  # "mean" adds the two terms' means, not the mean of "none"
    mean_of_none=False,
    onehot_ignore_index=True,  # MONAI: ignore_index also on one-hot targets
)
@_doc
def dice_ce_loss(
    input: Array,
    target: Array,
    /,
    *,
    activation: Activation = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    include_background: bool = True,
    squared_pred: bool = False,
    jaccard: bool = False,
    batch: bool = False,
    class_weight: Array | None = None,
    lambda_dice: float = 1.0,
    lambda_ce: float = 1.0,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Dice plus cross entropy, MONAI's ``DiceCELoss``.

    .. math::
        \ell = \lambda_{dice}\, \mathrm{dice}(a(x), y) + \lambda_{ce}\, \mathrm{CE}(x, y)

    The cross entropy is :func:`corelosses.cross_entropy` over the classes
    on ``channel_axis`` (class weights, ``label_smoothing``; PyTorch's
    ``"mean"``, divided by the targets' summed weights) for ``C > 1``, and
    :func:`corelosses.binary_cross_entropy` with ``pos_weight=class_weight``
    for one channel (no label smoothing there, as MONAI), on the logits, with
    every class (``include_background`` is the dice term's only). Equal to
    MONAI's ``DiceCELoss(to_onehot_y=True, softmax=True, smooth_nr=s,
    smooth_dr=s, ...)`` for class indices (``to_onehot_y=False`` for one-hot
    targets).

    Parameters
    ----------
    input : array
        Logits, ``(N, C, *spatial)``.
    target : array
        Class indices or one-hot/probability maps (see the module).
    {combo}
    lambda_dice, lambda_ce : float
        The terms' weights, ``>= 0``.
    label_smoothing : float
        The cross entropy's, in [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from corelosses.dice_combo import dice_ce_loss
    >>> x = np.array([[[[2.0, -1.0]], [[-1.0, 1.0]]]])  # (1, 2, 1, 2)
    >>> y = np.array([[[0, 1]]])
    >>> round(float(dice_ce_loss(x, y, smooth=1e-5)), 6)
    0.171179
    """
    fname = "dice_ce_loss"
    _weights(fname, lambda_dice=lambda_dice, lambda_ce=lambda_ce)
    be, xp, x, ax, spatial, dmask, pmask = _prologue(
        fname, input, target, channel_axis, reduction, mask, ignore_index
    )
    _check_cw(be, fname, class_weight, x.shape[ax])
    d_none, d_mean = _dice_part(
        fname,
        input,
        target,
        ax,
        reduction,
        batch,
        dmask,
        class_weight,
        include_background,
        activation=activation,
        smooth=smooth,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        squared_pred=squared_pred,
        jaccard=jaccard,
        ignore_index=ignore_index,
    )
    C = x.shape[ax]
    red = "mean" if reduction == "mean" else "none"
    if C == 1:
        y, keep = _targets(be, fname, x, target, ax, ignore_index)
        m = c.and_masks(xp, keep, pmask)
        pw = None if class_weight is None else xp.reshape(class_weight, (1,) * x.ndim)
        ce = binary_cross_entropy(
            x,
            y,
            pos_weight=pw,
            mask=None if m is None else xp.expand_dims(m, axis=ax),
            reduction=red,
        )
        axes = tuple(range(1, x.ndim))
    else:
        t, m, onehot = target, pmask, tuple(target.shape) == tuple(x.shape)
        if onehot:
            t, keep = _targets(be, fname, x, target, ax, ignore_index)
            m = c.and_masks(xp, keep, pmask)
        ce = cross_entropy(
            x,
            t,
            axis=ax,
            class_weight=class_weight,
            label_smoothing=label_smoothing,
            ignore_index=None if onehot else ignore_index,
            mask=m,
            reduction=red,
        )
        axes = tuple(range(1, x.ndim - 1))
    c_none = None if red == "mean" else _per_sample(xp, ce, axes)
    return _combine(be, reduction, lambda_dice, d_none, d_mean, lambda_ce, c_none, ce)


@register(
    "segmentation",
    "MONAI DiceFocalLoss: lambda_dice * dice + lambda_focal * focal (Lin et al. 2017)",
    peers=("monai.losses.DiceFocalLoss",),
    example=_ex_dice_focal,
    mean="weighted",  # "mean" adds the two terms' means, not the mean of "none"
    mean_of_none=False,
    onehot_ignore_index=True,  # MONAI: ignore_index also on one-hot targets
)
@_doc
def dice_focal_loss(
    input: Array,
    target: Array,
    /,
    *,
    activation: Activation = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    include_background: bool = True,
    squared_pred: bool = False,
    jaccard: bool = False,
    batch: bool = False,
    gamma: float = 2.0,
    alpha: float | Array | None = None,
    focal: str = "sigmoid",
    class_weight: Array | None = None,
    lambda_dice: float = 1.0,
    lambda_focal: float = 1.0,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Dice plus focal loss, MONAI's ``DiceFocalLoss``.

    .. math::
        \ell = \lambda_{dice}\, \mathrm{dice}(a(x), y) + \lambda_{focal}\, \mathrm{FL}(x, y)

    The focal term (MONAI's ``FocalLoss``) is, with ``focal="sigmoid"`` (the
    default, as ``DiceFocalLoss``), :func:`corelosses.focal_loss` on every
    channel of the logits against the one-hot target (a scalar ``alpha`` as
    torchvision; a per-class ``alpha`` weighs the positives of class ``c``
    only, MONAI's rule), averaged over all entries; with ``focal="softmax"``
    (MONAI ``FocalLoss(use_softmax=True)``), :func:`corelosses.softmax_focal_loss`
    over the kept classes divided by their number (MONAI averages over the
    classes too; its scalar ``alpha`` weighs class 0 by ``1 - alpha``, the
    others by ``alpha``, and is dropped without the background).
    ``include_background=False`` drops class 0 from both terms (before the
    focal softmax, as MONAI); ``class_weight`` multiplies each class's focal
    entries (and the dice loss). MONAI's ``"sum"`` of the focal term averages
    over the pixels first: so does ours. Equal to MONAI's
    ``DiceFocalLoss(to_onehot_y=True, softmax=True, smooth_nr=s,
    smooth_dr=s, ...)`` for class indices.

    Parameters
    ----------
    input : array
        Logits, ``(N, C, *spatial)``.
    target : array
        Class indices or one-hot/0-1 maps (see the module).
    {combo}
    gamma : float
        The focusing exponent, ``>= 0``.
    alpha : float or array, optional
        In [0, 1]: a scalar, or one per class in the focal term (``(C - 1,)``
        without the background).
    focal : {"sigmoid", "softmax"}
        The focal term's form.
    lambda_dice, lambda_focal : float
        The terms' weights, ``>= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from corelosses.dice_combo import dice_focal_loss
    >>> x = np.array([[[[2.0, -1.0]], [[-1.0, 1.0]]]])  # (1, 2, 1, 2)
    >>> y = np.array([[[0, 1]]])
    >>> round(float(dice_focal_loss(x, y, smooth=1e-5)), 6)
    0.100866
    """
    fname = "dice_focal_loss"
    _weights(fname, lambda_dice=lambda_dice, lambda_focal=lambda_focal)
    c.check_number(fname, "gamma", gamma, low=0, finite=True)
    c.check_choice(fname, "focal", focal, ("sigmoid", "softmax"))
    be, xp, x, ax, spatial, dmask, pmask = _prologue(
        fname, input, target, channel_axis, reduction, mask, ignore_index
    )
    _check_cw(be, fname, class_weight, x.shape[ax])
    d_none, d_mean = _dice_part(
        fname,
        input,
        target,
        ax,
        reduction,
        batch,
        dmask,
        class_weight,
        include_background,
        activation=activation,
        smooth=smooth,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        squared_pred=squared_pred,
        jaccard=jaccard,
        ignore_index=ignore_index,
    )
    C = x.shape[ax]
    y, keep = _targets(be, fname, x, target, ax, ignore_index)
    m = c.and_masks(xp, keep, pmask)
    drop = 0 if include_background or C == 1 else 1
    xs, ys = (_take_classes(x, ax, 1), _take_classes(y, ax, 1)) if drop else (x, y)
    kept = C - drop
    cw = None if class_weight is None else c.cast_to(be, class_weight, x.dtype)
    if cw is not None and drop:
        cw = _take_classes(cw, 0, 1)
    lay = [1] * x.ndim
    lay[ax] = kept
    alpha_vec = alpha is not None and not isinstance(alpha, (int, float))
    if alpha_vec:
        alpha_shape = tuple(getattr(alpha, "shape", ()))
        if alpha_shape != (kept,):
            raise ValueError(
                f"{fname}: 'alpha' must be a number or have shape ({kept},), got {alpha_shape}"
            )
    if focal == "sigmoid":
        fm = None if m is None else xp.broadcast_to(xp.expand_dims(m, axis=ax), xs.shape)
        w = None if cw is None else xp.broadcast_to(xp.reshape(cw, tuple(lay)), xs.shape)
        fl = focal_loss(
            xs,
            ys,
            gamma=gamma,
            alpha=None if alpha_vec else alpha,
            pos_weight=alpha if alpha_vec else None,
            class_axis=ax,
            weight=w,
            mask=fm,
            reduction="none",
        )
        fl = xp.sum(fl, axis=ax)  # per pixel, summed over the classes
    else:
        a = alpha
        if alpha is not None and not alpha_vec:
            c.check_number(fname, "alpha", alpha, low=0, high=1)
            if drop:
                a = None  # MONAI drops a scalar alpha without the background
            else:
                first = be.arange(C, x, x.dtype) == 0
                a = xp.where(first, 1.0 - alpha, float(alpha))
        if cw is not None:  # a per-class factor of the summand, as softmax_focal_loss's alpha
            a = cw if a is None else c.cast_to(be, a, x.dtype) * cw
        fl = softmax_focal_loss(xs, ys, gamma=gamma, alpha=a, axis=ax, mask=m, reduction="none")
    # fl: per pixel (N, *spatial), summed over the classes; MONAI averages over classes too
    fl = fl / kept
    if reduction == "mean":
        if m is None:
            f_mean = xp.sum(fl) / max(math.prod(fl.shape), 1)  # an empty batch: 0
        else:
            cnt = xp.sum(xp.astype(xp.broadcast_to(m, fl.shape), fl.dtype))
            f_mean = xp.sum(fl) / xp.where(cnt > 0, cnt, 1.0)
        return lambda_dice * d_mean + lambda_focal * f_mean
    axes = tuple(range(1, fl.ndim))
    # MONAI's "sum": each (sample, class) averaged over its pixels, then added up
    if m is None:
        f_none = xp.sum(fl, axis=axes) / max(math.prod(fl.shape[1:]), 1) * kept
    else:
        cnt = xp.sum(xp.astype(xp.broadcast_to(m, fl.shape), fl.dtype), axis=axes)
        f_none = xp.sum(fl, axis=axes) / xp.where(cnt > 0, cnt, 1.0) * kept
    return _combine(be, reduction, lambda_dice, d_none, None, lambda_focal, f_none, None)
