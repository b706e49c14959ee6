r"""The dice family: dice (and soft Jaccard), Tversky, focal Tversky, generalized dice.

Re-exported by :mod:`corelosses.segmentation` (and the top level), whose
module docstring gives the layout, target, smoothing and mask conventions.

Options shared with MONAI (``DiceLoss``, ``TverskyLoss``,
``GeneralizedDiceLoss``): ``include_background``, ``squared_pred``,
``jaccard``, ``soft_label``, ``smooth_nr`` / ``smooth_dr``, a per-class
``class_weight``, ``batch``, a callable ``activation`` (MONAI's
``other_act``) and ``ignore_index`` on one-hot targets; with kornia:
``average="micro" | "macro"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _core as c
from ._registry import register
from ._segment_common import (
    _class_weight,
    _counts,
    _macro,
    _power,
    _ratio,
    _region_setup,
    _smooths,
    _sums,
)

Array = Any
Activation = str | Callable[[Any], Any] | None

__all__ = ["dice_loss", "tversky_loss", "focal_tversky_loss", "generalized_dice_loss"]

_AVERAGES = (None, "micro", "macro")
_W_TYPES = ("square", "simple", "uniform")


# ------------------------------------------------------------------ examples
def _ex_dice(rng):
    x = rng.normal(size=(2, 3, 5, 6)) * 2
    y = rng.integers(0, 3, size=(2, 5, 6))
    y[0, 1, :3] = 255
    return (x, y), {"ignore_index": 255}


def _ex_tversky(rng):
    x = rng.normal(size=(2, 4, 5, 3)) * 2  # channels-last, multi-label
    y = (rng.uniform(size=(2, 4, 5, 3)) > 0.6).astype("float64")
    return (x, y), {"activation": "sigmoid", "channel_axis": -1, "alpha": 0.3, "beta": 0.7}


def _ex_focal_tversky(rng):
    x = rng.normal(size=(2, 3, 4, 5)) * 2
    y = rng.integers(0, 3, size=(2, 4, 5))
    return (x, y), {"alpha": 0.3, "beta": 0.7, "gamma": 0.75}


def _ex_gdl(rng):
    x = rng.normal(size=(3, 3, 5, 4)) * 2
    y = rng.integers(0, 2, size=(3, 5, 4))  # class 2 empty everywhere
    y[1, :2] = 2
    return (x, y), {}


_COMMON_DOC = """
    input : array
        Logits (``activation="softmax"`` or ``"sigmoid"``) or probabilities
        (``activation=None``), shape ``(N, C, *spatial)`` (classes on
        ``channel_axis``).
    target : array
        Class indices, the input's shape without ``channel_axis`` (0/1 labels
        when ``C == 1``), or one-hot/probability maps of the input's shape.
    activation : {"softmax", "sigmoid", None} or callable
        Softmax over the classes (mutually exclusive classes), sigmoid per
        channel (multi-label, or binary with one channel), none, or a
        function of the input array returning an array of its shape
        (MONAI's ``other_act``, e.g. ``torch.tanh``); its output is not
        checked.
    channel_axis : int
        The class axis: ``1`` (channels-first) or ``-1`` (channels-last).
    smooth : float
        Added to the numerator and the denominator (``>= 0``). With 0, a
        ``0 / 0`` (empty class, empty prediction) gives loss 0 and zero
        gradient, its limit as ``smooth -> 0``.
    smooth_nr, smooth_dr : float, optional
        Separate numerator and denominator smoothing (MONAI's); each
        defaults to ``smooth``. A ``0 / 0`` still gives ratio 1; ``x / 0``
        with ``smooth_nr > 0 = smooth_dr`` (an empty class) gives ratio 1
        too (MONAI: ``-inf`` loss).
    include_background : bool
        False leaves class 0 out of the loss (after the activation, so the
        softmax still sees it), as MONAI; ignored for a single channel.
        ``"none"`` then returns ``C - 1`` classes.
    soft_label : bool
        MONAI's soft-label intersection ``(|p| + |y| - |p - y|) / 2``
        (Wang et al. 2023), equal to ``sum p y`` for 0/1 targets and
        minimised by ``p = y`` for soft targets.
    batch : bool
        Sum the counts over the batch before the ratio (MONAI's ``batch``):
        the unreduced loss then has 1 in place of ``N``.
    check_range : bool
        With ``activation=None``, whether predictions outside [0, 1] raise
        ``ValueError``; False accepts any real prediction (MONAI never
        checks). The ratio and its gradient stay finite for any
        non-zero denominator.
    ignore_index : int, optional
        Class-index targets: pixels equal to it are left out of every sum.
        One-hot/probability targets (MONAI's rule): a class index in
        ``[0, C)`` leaves out the pixels where the target puts mass on that
        class (the class itself stays, empty: loss 0 with smoothing), any
        other value the pixels whose target is all zero.
    mask : array, optional
        Pixel mask (rank >= 3) or a mask of the unreduced loss (rank <= 2).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the loss per sample and class, shape ``(N, C)``."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("    {common}", _COMMON_DOC.strip("\n"))
    return fn


def _flags(fname, **flags):
    for name, v in flags.items():
        if not isinstance(v, bool):
            raise TypeError(f"{fname}: '{name}' must be a bool, got {v!r}")


def _reduce_weighted(be, loss, reduction, w, valid):
    """Multiply by the class weight (a number or ``(1, C')``) and reduce (MONAI's rule:
    ``"mean"`` divides by the number of entries, not by the weights)."""
    if isinstance(w, float):
        return c.reduce(be, loss * w, reduction, valid=valid)
    return c.reduce(be, loss, reduction, weight=w, valid=valid)


def _micro(xp, w, num, den):
    """Counts summed over the classes (weighted), per sample: kornia's ``"micro"``."""
    if w is not None:
        num, den = w * num, w * den
    return xp.sum(num, axis=1), xp.sum(den, axis=1)


# ---------------------------------------------------------------- the losses
@register(
    "segmentation",
    "Milletari et al. 2016 (V-Net); soft dice with smoothing as MONAI DiceLoss",
    peers=(
        "monai.losses.DiceLoss",
        "segmentation_models_pytorch.losses.DiceLoss",
        "kornia.losses.dice_loss (average=)",
    ),
    example=_ex_dice,
    onehot_ignore_index=True,  # MONAI: ignore_index also on one-hot targets
)
@_doc
def dice_loss(
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
    soft_label: bool = False,
    class_weight: float | Array | None = None,
    batch: bool = False,
    average: str | None = None,
    check_range: bool = True,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Soft dice loss, per sample and class (or soft Jaccard with ``jaccard=True``).

    .. math::
        \ell_{n,c} = 1 - \frac{2\, I_{n,c} + s_{nr}}{|p_{n,c}| + |y_{n,c}| + s_{dr}},
        \qquad \text{jaccard:}\quad
        \ell_{n,c} = 1 - \frac{I_{n,c} + s_{nr}}{|p_{n,c}| + |y_{n,c}| - I_{n,c} + s_{dr}}

    with ``p = activation(input)``, ``y`` the one-hot (or soft) target,
    ``I = sum_i p_i y_i``, ``|p| = sum_i p_i`` (``sum_i p_i**2`` with
    ``squared_pred``, likewise ``|y|``) and ``s_nr = s_dr = smooth`` by
    default: an empty class predicted empty gives 0, not NaN (the convention
    of MONAI, optax and the boundary-loss authors; Keras and kornia give 1).
    Equal to MONAI's ``DiceLoss(smooth_nr=s, smooth_dr=s)`` per sample and
    class, with the same ``include_background``, ``squared_pred``,
    ``soft_label``, ``batch`` and ``weight`` (our ``class_weight``, which
    multiplies the per-class loss; ``"mean"`` still divides by the number
    of entries). MONAI's ``jaccard=True`` writes the ratio as
    ``(2 I + s_nr) / (2 (|p| + |y| - I) + s_dr)``: it is ours with
    ``smooth_nr=s_nr / 2, smooth_dr=s_dr / 2`` (ours is smp's
    ``JaccardLoss`` smoothing).

    Parameters
    ----------
    {common}
    squared_pred : bool
        Squares in the denominator (MONAI, Milletari's form).
    jaccard : bool
        The soft Jaccard (IoU) loss instead: :func:`corelosses.dice_combo.jaccard_loss`.
    class_weight : float or array, optional
        One weight per class in the loss (``(C,)``, ``(C - 1,)`` without the
        background), ``>= 0``. (MONAI ignores its ``weight`` for a single
        channel; ours multiplies there too.)
    average : {None, "micro", "macro"}
        None: the loss per sample and class (MONAI). kornia's ``"micro"``:
        one ratio per sample, the (class-weighted) counts summed over the
        classes; ``"macro"``: the class-weighted mean of the per-class loss
        over the classes *present* in the sample's target (1, with zero
        gradient, for a sample with none). Both give a loss per sample,
        shape ``(N,)``, and a rank <= 2 mask broadcasts to it. kornia's
        ``dice_loss(x, y, average=a, eps=e)`` is ours with
        ``smooth_nr=0, smooth_dr=e, average=a``.

    Returns
    -------
    array
        Scalar, or the ``(N, C)`` loss (``(N,)`` with ``average``, ``1`` in
        place of ``N`` with ``batch``) for ``reduction="none"``.

    References
    ----------
    Milletari, Navab, Ahmadi 2016, V-Net: Fully Convolutional Neural Networks
    for Volumetric Medical Image Segmentation. Wang, Blaschko 2023, Dice
    Semimetric Losses: Optimizing the Dice Score with Soft Labels.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[[[0.9, 0.1], [0.8, 0.0]]]])  # (N=1, C=1, 2, 2)
    >>> y = np.array([[[1, 0], [1, 0]]])
    >>> round(float(cl.dice_loss(p, y, activation=None)), 6)
    0.083333
    >>> round(float(cl.dice_loss(p, y, activation=None, jaccard=True)), 6)
    0.129032
    >>> empty = np.zeros((1, 1, 2, 2))
    >>> float(cl.dice_loss(empty, empty, activation=None))
    0.0
    """
    fname = "dice_loss"
    snr, sdr = _smooths(fname, smooth, smooth_nr, smooth_dr)
    _flags(fname, squared_pred=squared_pred, jaccard=jaccard, soft_label=soft_label)
    c.check_choice(fname, "average", average, _AVERAGES)
    be, xp, p, y, spatial, valid, ax = _region_setup(
        fname,
        input,
        target,
        activation,
        channel_axis,
        ignore_index,
        mask,
        reduction,
        average is None,
        include_background=include_background,
        batch=batch,
        check_range=check_range,
    )
    w = _class_weight(be, fname, class_weight, p.shape[ax], p.dtype)
    inter, psum, ysum = _sums(xp, p, y, spatial, batch, squared_pred, soft_label)
    num, den = (inter, psum + ysum - inter) if jaccard else (2.0 * inter, psum + ysum)
    if average == "micro":
        num, den = _micro(xp, w, num, den)
        return c.reduce(be, 1.0 - _ratio(be, num + snr, den + sdr, 1.0), reduction, valid=valid)
    loss = 1.0 - _ratio(be, num + snr, den + sdr, 1.0)
    if average == "macro":
        return c.reduce(be, _macro(be, loss, ysum > 0, w), reduction, valid=valid)
    return _reduce_weighted(be, loss, reduction, w, valid)


@register(
    "segmentation",
    "Salehi, Erdogmus, Gholipour 2017, Tversky loss; MONAI TverskyLoss",
    peers=(
        "monai.losses.TverskyLoss",
        "segmentation_models_pytorch.losses.TverskyLoss",
        "kornia.losses.tversky_loss (average='macro')",
    ),
    example=_ex_tversky,
    onehot_ignore_index=True,  # MONAI: ignore_index also on one-hot targets
)
@_doc
def tversky_loss(
    input: Array,
    target: Array,
    /,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    activation: Activation = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    include_background: bool = True,
    soft_label: bool = False,
    class_weight: float | Array | None = None,
    batch: bool = False,
    average: str | None = None,
    check_range: bool = True,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Tversky loss, per sample and class: dice with separate FP and FN weights.

    .. math::
        \ell_{n,c} = 1 - \frac{TP + s_{nr}}{TP + \alpha\, FP + \beta\, FN + s_{dr}}

    ``alpha`` weighs false positives, ``beta`` false negatives (Salehi et
    al., MONAI); ``beta > alpha`` favours recall. With ``alpha = beta = 0.5``
    it equals :func:`dice_loss` with ``smooth = 2 s``. Equal to MONAI's
    ``TverskyLoss(smooth_nr=s, smooth_dr=s)`` with the same
    ``include_background``, ``soft_label`` (``TP`` the soft intersection,
    ``FP = |p| - TP``, ``FN = |y| - TP``) and ``batch``. kornia's
    ``tversky_loss(x, y, alpha, beta, eps=e)`` averages over the classes
    present in each sample: ours with ``smooth_nr=0, smooth_dr=e,
    average="macro"``.

    Parameters
    ----------
    alpha, beta : float
        Weights (``>= 0``) of the false positives and false negatives.
    {common}
    class_weight : float or array, optional
        One weight per class in the loss, multiplying it (``>= 0``).
    average : {None, "micro", "macro"}
        As in :func:`dice_loss`: per class (None), counts summed over the
        classes, or the mean over the classes present in the target
        (kornia's ``tversky_loss``).

    References
    ----------
    Salehi, Erdogmus, Gholipour 2017, Tversky loss function for image
    segmentation using 3D fully convolutional deep networks.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[[[0.9, 0.1], [0.8, 0.0]]]])
    >>> y = np.array([[[1, 0], [1, 0]]])
    >>> round(float(cl.tversky_loss(p, y, activation=None, alpha=0.3, beta=0.7)), 6)
    0.081633
    """
    fname = "tversky_loss"
    c.check_number(fname, "alpha", alpha, low=0, finite=True)
    c.check_number(fname, "beta", beta, low=0, finite=True)
    snr, sdr = _smooths(fname, smooth, smooth_nr, smooth_dr)
    _flags(fname, soft_label=soft_label)
    c.check_choice(fname, "average", average, _AVERAGES)
    be, xp, p, y, spatial, valid, ax = _region_setup(
        fname,
        input,
        target,
        activation,
        channel_axis,
        ignore_index,
        mask,
        reduction,
        average is None,
        include_background=include_background,
        batch=batch,
        check_range=check_range,
    )
    w = _class_weight(be, fname, class_weight, p.shape[ax], p.dtype)
    tp, fp, fn = _counts(xp, p, y, spatial, batch, soft_label)
    den = tp + alpha * fp + beta * fn
    if average == "micro":
        num, den = _micro(xp, w, tp, den)
        return c.reduce(be, 1.0 - _ratio(be, num + snr, den + sdr, 1.0), reduction, valid=valid)
    loss = 1.0 - _ratio(be, tp + snr, den + sdr, 1.0)
    if average == "macro":
        return c.reduce(be, _macro(be, loss, (tp + fn) > 0, w), reduction, valid=valid)
    return _reduce_weighted(be, loss, reduction, w, valid)


@register(
    "segmentation",
    "Abraham & Khan 2019, A novel focal Tversky loss function ... (exponent gamma = 1/gamma_paper)",
    peers=("segmentation_models_pytorch.losses.TverskyLoss (gamma applied after the mean)",),
    example=_ex_focal_tversky,
    onehot_ignore_index=True,  # MONAI: ignore_index also on one-hot targets
)
@_doc
def focal_tversky_loss(
    input: Array,
    target: Array,
    /,
    *,
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 0.75,
    activation: Activation = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    include_background: bool = True,
    soft_label: bool = False,
    class_weight: float | Array | None = None,
    batch: bool = False,
    check_range: bool = True,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Focal Tversky loss: the Tversky loss per sample and class to the power gamma.

    .. math::
        \ell_{n,c} = \left(1 - \frac{TP + s_{nr}}{TP + \alpha\, FP + \beta\, FN + s_{dr}}\right)^\gamma

    The exponent is applied per sample and class, before the reduction (and
    before ``class_weight``). Abraham & Khan write ``(1 - TI)^{1/\gamma}``
    with their ``\gamma = 4/3`` and put their ``\alpha = 0.7`` on the false
    negatives: the defaults here (``alpha=0.3`` on FP, ``beta=0.7`` on FN,
    ``gamma=0.75``) are that setting in the Tversky-loss convention.
    ``gamma = 1`` is :func:`tversky_loss`. For ``gamma < 1`` the gradient
    grows as the loss goes to 0; at exactly 0 it is 0, never NaN, and so it
    is where the loss before the power is below the smallest normal number
    (``1 - TI`` rounds to 1 there and the slope is not representable; the
    value stays exact). A negative base (``smooth_nr > smooth_dr``, or
    predictions outside [0, 1]) gives 0 for a non-integer ``gamma``.

    Parameters
    ----------
    alpha, beta : float
        Weights (``>= 0``) of the false positives and false negatives.
    gamma : float
        Exponent (``> 0``).
    {common}
    class_weight : float or array, optional
        One weight per class in the loss, multiplying it (``>= 0``).

    References
    ----------
    Abraham, Khan 2019, A Novel Focal Tversky Loss Function with Improved
    Attention U-Net for Lesion Segmentation.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[[[0.9, 0.1], [0.8, 0.0]]]])
    >>> y = np.array([[[1, 0], [1, 0]]])
    >>> round(float(cl.focal_tversky_loss(p, y, activation=None)), 6)
    0.152721
    """
    fname = "focal_tversky_loss"
    c.check_number(fname, "alpha", alpha, low=0, finite=True)
    c.check_number(fname, "beta", beta, low=0, finite=True)
    c.check_number(fname, "gamma", gamma, low=0, low_open=True, finite=True)
    snr, sdr = _smooths(fname, smooth, smooth_nr, smooth_dr)
    _flags(fname, soft_label=soft_label)
    be, xp, p, y, spatial, valid, ax = _region_setup(
        fname,
        input,
        target,
        activation,
        channel_axis,
        ignore_index,
        mask,
        reduction,
        include_background=include_background,
        batch=batch,
        check_range=check_range,
    )
    w = _class_weight(be, fname, class_weight, p.shape[ax], p.dtype)
    tp, fp, fn = _counts(xp, p, y, spatial, batch, soft_label)
    err = alpha * fp + beta * fn
    u = _ratio(be, err + (sdr - snr), tp + err + sdr, 0.0)  # = 1 - TI
    loss = _power(be, u, gamma)
    return _reduce_weighted(be, loss, reduction, w, valid)


@register(
    "segmentation",
    "Sudre et al. 2017, Generalised Dice overlap; empty-class weights as MONAI GeneralizedDiceLoss",
    peers=("monai.losses.GeneralizedDiceLoss",),
    example=_ex_gdl,
    onehot_ignore_index=True,  # MONAI: ignore_index also on one-hot targets
)
@_doc
def generalized_dice_loss(
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
    w_type: str = "square",
    normalize_weights: bool = True,
    soft_label: bool = False,
    batch: bool = False,
    check_range: bool = True,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Generalized dice loss (Sudre et al. 2017), per sample.

    .. math::
        \ell_n = 1 - \frac{2 \sum_c w_{n,c} I_{n,c} + s_{nr}}
                          {\sum_c w_{n,c} \left(|p_{n,c}| + |y_{n,c}|\right) + s_{dr}},
        \qquad w_{n,c} \propto \frac{1}{|y_{n,c}|^2}

    (``w_type="square"``; ``"simple"`` is ``1 / |y|``, ``"uniform"`` 1.)
    Empty classes (``|y| = 0``, an infinite weight) get the largest finite
    weight of the sample, MONAI's convention (not the authors' ``+1e-10``,
    which lets an empty class swamp the others). With
    ``normalize_weights=True`` (the default) the weights are then normalised
    to sum to 1 over the classes (a sample with every class empty weighs
    them equally), which leaves Sudre's ratio unchanged at ``smooth = 0``
    and puts ``smooth`` on the scale of pixels, as in :func:`dice_loss`
    (with raw ``1/|y|^2`` weights a smoothing of 1 would swamp the ratio).
    ``normalize_weights=False`` keeps the raw weights, MONAI's form: then
    ours equals MONAI's ``GeneralizedDiceLoss(smooth_nr=s_nr,
    smooth_dr=s_dr)`` for every smoothing (with the default, only at
    ``smooth = 0``; e.g. 0.41666 against MONAI's 0.41660 on its own test
    case with ``smooth = 1e-5``). The weights are constants (no gradient).
    ``batch=True`` sums the counts, and computes the weights, over the
    whole batch (MONAI): the unreduced loss has shape ``(1,)``.

    Parameters
    ----------
    {common}
    w_type : {"square", "simple", "uniform"}
        The class weight from the target volume (MONAI's ``w_type``).
    normalize_weights : bool
        Normalise the weights to sum to 1 before adding the smoothing.

    Returns
    -------
    array
        Scalar, or the loss per sample, shape ``(N,)``, for
        ``reduction="none"`` (a mask of rank <= 2 broadcasts to ``(N,)``).

    References
    ----------
    Sudre, Li, Vercauteren, Ourselin, Cardoso 2017, Generalised Dice overlap
    as a deep learning loss function for highly unbalanced segmentations.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> logits = np.array([[[[2.0, -1.0, 1.0]], [[-2.0, 1.0, -1.0]]]])  # (1, 2, 1, 3)
    >>> y = np.array([[[0, 1, 0]]])
    >>> round(float(cl.generalized_dice_loss(logits, y)), 6)
    0.075171
    """
    fname = "generalized_dice_loss"
    snr, sdr = _smooths(fname, smooth, smooth_nr, smooth_dr)
    c.check_choice(fname, "w_type", w_type, _W_TYPES)
    _flags(fname, normalize_weights=normalize_weights, soft_label=soft_label)
    be, xp, p, y, spatial, valid, ax = _region_setup(
        fname,
        input,
        target,
        activation,
        channel_axis,
        ignore_index,
        mask,
        reduction,
        per_class=False,
        include_background=include_background,
        batch=batch,
        check_range=check_range,
    )
    num_classes = p.shape[ax]
    inter, psum, g = _sums(xp, p, y, spatial, batch, soft=soft_label)  # (N, C)
    total = psum + g
    present = g > 0
    g_safe = xp.where(present, g, 1.0)
    if w_type == "uniform":
        w = xp.ones_like(g_safe)
    else:
        w = 1.0 / (g_safe * g_safe) if w_type == "square" else 1.0 / g_safe
        w = xp.where(present, w, 0.0)
        w = xp.where(present, w, xp.max(w, axis=1, keepdims=True))
    if normalize_weights:
        wsum = xp.sum(w, axis=1, keepdims=True)
        w = xp.where(wsum > 0, w / xp.where(wsum > 0, wsum, 1.0), 1.0 / num_classes)
    w = be.stop_gradient(w)
    num = 2.0 * xp.sum(w * inter, axis=1) + snr
    den = xp.sum(w * total, axis=1) + sdr
    loss = 1.0 - _ratio(be, num, den, 1.0)
    return c.reduce(be, loss, reduction, valid=valid)
