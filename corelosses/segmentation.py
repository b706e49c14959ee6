r"""Segmentation losses: dice, Tversky, focal Tversky, generalized dice, boundary, gradient.

Layout: batch on axis 0, classes on ``channel_axis`` (``1``, PyTorch's
``(N, C, *spatial)``, by default; ``-1`` for channels-last), at least one
spatial axis (2D, 3D, ...).

Targets are either class indices (the input's shape without the channel
axis; integers) or one-hot / probability maps (the input's shape). With a
single channel (binary segmentation with ``activation="sigmoid"``) class
indices are 0/1 labels of the foreground. Indices are one-hot encoded by
comparison, never by indexing, so an ``ignore_index`` such as 255 or -100
is never used as an index.

Region losses (dice, Tversky, focal Tversky) are computed per sample and per
class from the soft counts over the spatial axes,

.. math::
    TP = \sum_i p_i y_i, \quad FP = \sum_i p_i (1 - y_i), \quad FN = \sum_i (1 - p_i) y_i,

and ``reduction="none"`` returns that ``(N, C)`` array; ``"mean"`` averages
it (every class of every sample counts once), ``"sum"`` adds it up. The
smoothing term ``smooth`` is added to the numerator *and* the denominator,
so a class absent from the target and from the prediction has loss exactly
0 (never NaN), and a perfect prediction of a present class has loss 0 up to
the smoothing (exactly 0 for a hard one-hot prediction).

``smooth=0`` is allowed. A ratio ``0 / 0`` (a class empty in the target and
in the prediction, e.g. probabilities that underflow to 0, or a sample whose
pixels are all masked) is then given its limit as ``smooth -> 0``: ratio 1,
loss 0 (a perfect match of two empty maps, as for ``smooth > 0``), with zero
gradient; it is not excluded from the mean. (kornia averages over the classes
present in the target instead and puts its epsilon in the denominator only;
``mask=`` a ``(N, C)`` array of the present classes gives its average; MONAI
returns NaN there.) An absent class with any predicted mass has loss 1 at
``smooth=0``. Gradients stay finite for any denominator: where it is below
the smallest normal number, or exactly 0, the gradient is 0.

Masks: ``ignore_index`` (class-index targets) and a ``mask`` of rank >= 3
exclude *pixels* from every sum: a pixel mask has the input's rank (channel
axis of size 1 or ``C``) or the input's rank minus one (no channel axis).
A ``mask`` of rank <= 2 broadcasts to the unreduced loss (``(N, C)``, or
``(N,)`` for :func:`generalized_dice_loss`) and excludes those entries;
``"mean"`` then divides by the number of unmasked entries. NaN or inf in
the input under either kind of mask reaches neither the value nor the
gradient.
"""

from __future__ import annotations

from typing import Any

from . import _core as c
from ._registry import register
from ._segment_common import (
    _activate,
    _check_activation,
    _guard_loss_mask,
    _layout,
    _loss_layout,
    _split_mask,
)

Array = Any

__all__ = [
    "dice_loss",
    "tversky_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "signed_distance_map",
    "boundary_loss",
    "gradient_loss",
]


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


# -------------------------------------------------------------- the prologue
def _region_setup(
    fname, input, target, activation, channel_axis, ignore_index, mask, reduction, per_class=True
):
    """Shared prologue: probabilities ``p`` and one-hot/soft targets ``y``, both zero at
    excluded pixels, the spatial axes and the loss-level validity."""
    c.check_reduction(fname, reduction)
    be = c.backend_of(input, target, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    ax, spatial = _layout(fname, x, channel_axis)
    num_classes = c.class_count(fname, x, ax)
    _check_activation(fname, activation, num_classes)
    pshape = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])
    pix_valid = None
    if tuple(target.shape) == tuple(x.shape):
        if ignore_index is not None:
            raise ValueError(
                f"{fname}: 'ignore_index' needs class-index targets of shape {pshape}, got "
                f"a one-hot/probability target of the input's shape {tuple(x.shape)}; "
                "use mask= instead"
            )
        if xp.isdtype(target.dtype, "real floating"):
            c.check_unit_interval(be, target, fname, "target")
        y = c.cast_to(be, target, x.dtype)
    elif tuple(target.shape) == pshape:
        c.check_class_indices(be, target, max(num_classes, 2), fname, ignore_index)
        if num_classes == 1:  # binary labels of the one (foreground) channel
            y = xp.astype(xp.expand_dims(target == 1, axis=ax), x.dtype)
        else:
            y = be.one_hot(target, num_classes, ax, x.dtype)
        known = None if ignore_index is None else target != ignore_index
        # under jax.jit, an index outside [0, C) gives NaN (cross_entropy's rule)
        y = c.nan_out_of_range(be, y, target, max(num_classes, 2), ax, known)
        if known is not None:
            pix_valid = xp.expand_dims(known, axis=ax)
    else:
        if target.ndim == x.ndim and all(
            target.shape[i] == x.shape[i] for i in range(x.ndim) if i != ax
        ):
            raise ValueError(
                f"{fname}: 'target' has {target.shape[ax]} classes on channel_axis {ax}, "
                f"the input has {num_classes} (input {tuple(x.shape)}, target "
                f"{tuple(target.shape)})"
            )
        raise ValueError(
            f"{fname}: 'target' must hold class indices of shape {pshape} (the input's "
            f"shape without channel_axis {ax}) or one-hot/probabilities of the input's "
            f"shape {tuple(x.shape)}, got {tuple(target.shape)}"
        )
    n = x.shape[0]
    loss_shape = (n, num_classes) if per_class else (n,)
    pmask, loss_valid = _split_mask(be, mask, x, ax, loss_shape, fname)
    pix_valid = c.and_masks(xp, pix_valid, pmask)
    if pix_valid is not None:
        x = xp.where(pix_valid, x, 0.0)
        y = xp.where(pix_valid, y, 0.0)
    x = _guard_loss_mask(xp, x, loss_valid, loss_shape, ax, activation == "softmax")
    if loss_valid is not None:
        lv = xp.reshape(xp.broadcast_to(loss_valid, loss_shape), _loss_layout(x, ax, per_class))
        y = xp.where(lv, y, 0.0)
    p = _activate(be, x, activation, ax, fname)
    if pix_valid is not None:
        p = xp.where(pix_valid, p, 0.0)
    return be, xp, p, y, spatial, loss_valid


def _counts(xp, p, y, spatial):
    """Soft TP, FP, FN per sample and class, shape (N, C)."""
    tp = xp.sum(p * y, axis=spatial)
    fp = xp.sum(p * (1.0 - y), axis=spatial)
    fn = xp.sum((1.0 - p) * y, axis=spatial)
    return tp, fp, fn


def _ratio(be, num, den, empty):
    """``num / den`` for ``0 <= num <= den``, with ``empty`` where ``den == 0`` (a
    ``0 / 0``) and a finite gradient everywhere.

    The value is the plain quotient, detached; the gradient,
    ``(d num - (num / den) d den) / den``, comes from a term that is exactly 0 in
    the forward pass and divides by the detached denominator only once. So an
    unselected ``0 / 0`` reaches neither the value nor the gradient (the double
    ``where``, also under a mask), and the backward pass never forms ``den ** 2``
    (JAX's derivative of a quotient), which overflows for a tiny ``den`` (an
    absent class with ``smooth=0`` and confident logits) into ``0 * inf = NaN``.
    Below the smallest normal number, where ``1 / den`` itself overflows (and XLA
    flushes to zero), the value is exact and the gradient 0, as at ``den == 0``.
    A NaN denominator gives NaN.
    """
    xp = be.xp
    ok = den >= float(xp.finfo(den.dtype).smallest_normal)
    zero = den == 0
    value = xp.where(zero, empty, be.stop_gradient(num / xp.where(zero, 1.0, den)))
    safe = xp.where(ok, den, 1.0)
    t = (num - xp.where(ok, value, 0.0) * safe) / be.stop_gradient(safe)  # ~0
    return value + xp.where(ok, t - be.stop_gradient(t), 0.0)


def _power(be, u, gamma):
    """``u ** gamma`` for ``u >= 0`` with a finite gradient for every ``u``.

    For ``gamma < 1`` the slope ``gamma u**(gamma - 1)`` is infinite at 0 and
    overflows below the smallest normal number (where ``1 - u`` already rounds to
    1): there the value is exact and the gradient 0, as at ``u = 0``.
    """
    xp = be.xp
    if gamma == 1:
        return u
    if float(gamma).is_integer():
        return u ** int(gamma)
    pos = u > 0
    tiny = float(xp.finfo(u.dtype).smallest_normal)
    normal = u >= tiny
    value = xp.exp(gamma * xp.log(xp.where(pos, u, 1.0)))
    if gamma < 1:
        value = xp.where(normal, value, be.stop_gradient(value))
    return xp.where(pos, value, 0.0 * u)  # 0, or NaN for NaN (a bad index under jit)


_COMMON_DOC = """
    input : array
        Logits (``activation="softmax"`` or ``"sigmoid"``) or probabilities
        (``activation=None``), shape ``(N, C, *spatial)`` (classes on
        ``channel_axis``).
    target : array
        Class indices, the input's shape without ``channel_axis`` (0/1 labels
        when ``C == 1``), or one-hot/probability maps of the input's shape.
    activation : {"softmax", "sigmoid", None}
        Softmax over the classes (mutually exclusive classes), sigmoid per
        channel (multi-label, or binary with one channel), or none.
    channel_axis : int
        The class axis: ``1`` (channels-first) or ``-1`` (channels-last).
    smooth : float
        Added to the numerator and the denominator (``>= 0``). With 0, a
        ``0 / 0`` (empty class, empty prediction) gives loss 0 and zero
        gradient, its limit as ``smooth -> 0``.
    ignore_index : int, optional
        Pixels whose class index equals it are left out of every sum.
    mask : array, optional
        Pixel mask (rank >= 3) or a mask of the unreduced loss (rank <= 2).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the loss per sample and class, shape ``(N, C)``."""


def _doc(fn):
    fn.__doc__ = fn.__doc__.replace("    {common}", _COMMON_DOC.strip("\n"))
    return fn


# ---------------------------------------------------------------- the losses
@register(
    "segmentation",
    "Milletari et al. 2016 (V-Net); soft dice with smoothing as MONAI DiceLoss",
    peers=("monai.losses.DiceLoss", "segmentation_models_pytorch.losses.DiceLoss"),
    example=_ex_dice,
)
@_doc
def dice_loss(
    input: Array,
    target: Array,
    /,
    *,
    activation: str | None = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Soft dice loss, per sample and class.

    .. math::
        \ell_{n,c} = 1 - \frac{2\, TP_{n,c} + s}{\sum_i p_{n,c,i} + \sum_i y_{n,c,i} + s}

    with ``p = activation(input)``, ``y`` the one-hot (or soft) target and
    ``s = smooth`` in numerator and denominator: an empty class predicted
    empty gives 0, not NaN (the convention of MONAI, optax and the
    boundary-loss authors; Keras and kornia give 1). Equal to MONAI's
    ``DiceLoss(smooth_nr=s, smooth_dr=s)`` per sample and class.

    Parameters
    ----------
    {common}

    Returns
    -------
    array
        Scalar, or the ``(N, C)`` loss for ``reduction="none"``.

    References
    ----------
    Milletari, Navab, Ahmadi 2016, V-Net: Fully Convolutional Neural Networks
    for Volumetric Medical Image Segmentation.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> p = np.array([[[[0.9, 0.1], [0.8, 0.0]]]])  # (N=1, C=1, 2, 2)
    >>> y = np.array([[[1, 0], [1, 0]]])
    >>> round(float(cl.dice_loss(p, y, activation=None)), 6)
    0.083333
    >>> empty = np.zeros((1, 1, 2, 2))
    >>> float(cl.dice_loss(empty, empty, activation=None))
    0.0
    """
    fname = "dice_loss"
    c.check_number(fname, "smooth", smooth, low=0)
    be, xp, p, y, spatial, valid = _region_setup(
        fname, input, target, activation, channel_axis, ignore_index, mask, reduction
    )
    inter = xp.sum(p * y, axis=spatial)
    total = xp.sum(p, axis=spatial) + xp.sum(y, axis=spatial)
    loss = 1.0 - _ratio(be, 2.0 * inter + smooth, total + smooth, 1.0)
    return c.reduce(be, loss, reduction, valid=valid)


@register(
    "segmentation",
    "Salehi, Erdogmus, Gholipour 2017, Tversky loss; MONAI TverskyLoss",
    peers=("monai.losses.TverskyLoss", "segmentation_models_pytorch.losses.TverskyLoss"),
    example=_ex_tversky,
)
@_doc
def tversky_loss(
    input: Array,
    target: Array,
    /,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    activation: str | None = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Tversky loss, per sample and class: dice with separate FP and FN weights.

    .. math::
        \ell_{n,c} = 1 - \frac{TP + s}{TP + \alpha\, FP + \beta\, FN + s}

    ``alpha`` weighs false positives, ``beta`` false negatives (Salehi et
    al., MONAI); ``beta > alpha`` favours recall. With ``alpha = beta = 0.5``
    it equals :func:`dice_loss` with ``smooth = 2 s``. Equal to MONAI's
    ``TverskyLoss(smooth_nr=s, smooth_dr=s)``.

    Parameters
    ----------
    alpha, beta : float
        Weights (``>= 0``) of the false positives and false negatives.
    {common}

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
    c.check_number(fname, "alpha", alpha, low=0)
    c.check_number(fname, "beta", beta, low=0)
    c.check_number(fname, "smooth", smooth, low=0)
    be, xp, p, y, spatial, valid = _region_setup(
        fname, input, target, activation, channel_axis, ignore_index, mask, reduction
    )
    tp, fp, fn = _counts(xp, p, y, spatial)
    loss = 1.0 - _ratio(be, tp + smooth, tp + alpha * fp + beta * fn + smooth, 1.0)
    return c.reduce(be, loss, reduction, valid=valid)


@register(
    "segmentation",
    "Abraham & Khan 2019, A novel focal Tversky loss function ... (exponent gamma = 1/gamma_paper)",
    peers=("segmentation_models_pytorch.losses.TverskyLoss (gamma applied after the mean)",),
    example=_ex_focal_tversky,
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
    activation: str | None = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Focal Tversky loss: the Tversky loss per sample and class to the power gamma.

    .. math::
        \ell_{n,c} = \left(1 - \frac{TP + s}{TP + \alpha\, FP + \beta\, FN + s}\right)^\gamma

    The exponent is applied per sample and class, before the reduction.
    Abraham & Khan write ``(1 - TI)^{1/\gamma}`` with their ``\gamma = 4/3``
    and put their ``\alpha = 0.7`` on the false negatives: the defaults here
    (``alpha=0.3`` on FP, ``beta=0.7`` on FN, ``gamma=0.75``) are that
    setting in the Tversky-loss convention. ``gamma = 1`` is
    :func:`tversky_loss`. For ``gamma < 1`` the gradient grows as the loss
    goes to 0; at exactly 0 it is 0, never NaN, and so it is where the loss
    before the power is below the smallest normal number (``1 - TI`` rounds
    to 1 there and the slope is not representable; the value stays exact).

    Parameters
    ----------
    alpha, beta : float
        Weights (``>= 0``) of the false positives and false negatives.
    gamma : float
        Exponent (``> 0``).
    {common}

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
    c.check_number(fname, "alpha", alpha, low=0)
    c.check_number(fname, "beta", beta, low=0)
    c.check_number(fname, "gamma", gamma, low=0, low_open=True)
    c.check_number(fname, "smooth", smooth, low=0)
    be, xp, p, y, spatial, valid = _region_setup(
        fname, input, target, activation, channel_axis, ignore_index, mask, reduction
    )
    tp, fp, fn = _counts(xp, p, y, spatial)
    err = alpha * fp + beta * fn
    u = _ratio(be, err, tp + err + smooth, 0.0)  # = 1 - TI
    loss = _power(be, u, gamma)
    return c.reduce(be, loss, reduction, valid=valid)


@register(
    "segmentation",
    "Sudre et al. 2017, Generalised Dice overlap; empty-class weights as MONAI GeneralizedDiceLoss",
    peers=("monai.losses.GeneralizedDiceLoss",),
    example=_ex_gdl,
)
@_doc
def generalized_dice_loss(
    input: Array,
    target: Array,
    /,
    *,
    activation: str | None = "softmax",
    channel_axis: int = 1,
    smooth: float = 1.0,
    ignore_index: int | None = None,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Generalized dice loss (Sudre et al. 2017), per sample.

    .. math::
        \ell_n = 1 - \frac{2 \sum_c w_{n,c} TP_{n,c} + s}
                          {\sum_c w_{n,c} \left(\sum_i p_{n,c,i} + \sum_i y_{n,c,i}\right) + s},
        \qquad w_{n,c} \propto \frac{1}{\left(\sum_i y_{n,c,i}\right)^2}

    Empty classes (``sum_i y = 0``, an infinite weight) get the largest
    finite weight of the sample, MONAI's convention (not the authors'
    ``+1e-10``, which lets an empty class swamp the others); a sample with
    every class empty weighs the classes equally. The weights are then
    normalised to sum to 1 over the classes, which leaves Sudre's ratio
    unchanged at ``smooth = 0`` and puts ``smooth`` on the scale of pixels,
    as in :func:`dice_loss` (with raw ``1/g^2`` weights a smoothing of 1
    would swamp the ratio). They are constants (no gradient). With
    ``smooth = 0`` it equals MONAI's ``GeneralizedDiceLoss(smooth_nr=0,
    smooth_dr=0)``.

    Parameters
    ----------
    {common}

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
    c.check_number(fname, "smooth", smooth, low=0)
    be, xp, p, y, spatial, valid = _region_setup(
        fname,
        input,
        target,
        activation,
        channel_axis,
        ignore_index,
        mask,
        reduction,
        per_class=False,
    )
    num_classes = p.shape[c.normalize_axis(fname, "channel_axis", channel_axis, p.ndim)]
    inter = xp.sum(p * y, axis=spatial)  # (N, C)
    g = xp.sum(y, axis=spatial)
    total = xp.sum(p, axis=spatial) + g
    present = g > 0
    g_safe = xp.where(present, g, 1.0)
    w = xp.where(present, 1.0 / (g_safe * g_safe), 0.0)
    w = xp.where(present, w, xp.max(w, axis=1, keepdims=True))
    wsum = xp.sum(w, axis=1, keepdims=True)
    w = xp.where(wsum > 0, w / xp.where(wsum > 0, wsum, 1.0), 1.0 / num_classes)
    w = be.stop_gradient(w)
    num = 2.0 * xp.sum(w * inter, axis=1) + smooth
    den = xp.sum(w * total, axis=1) + smooth
    loss = 1.0 - _ratio(be, num, den, 1.0)
    return c.reduce(be, loss, reduction, valid=valid)


# boundary, distance and gradient losses live in corelosses.boundary
from .boundary import boundary_loss, gradient_loss, signed_distance_map  # noqa: E402
