"""Shape- and topology-aware segmentation losses: Lovasz (softmax, hinge), Hausdorff distance transform, soft clDice."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import _core as c
from . import _skeleton as sk
from ._registry import register
from ._segment_common import _activate, _check_activation, _layout

Array = Any

__all__ = ["lovasz_softmax_loss", "lovasz_hinge_loss", "hausdorff_dt_loss", "soft_cldice_loss"]


# ------------------------------------------------------------------ examples
def _ex_lovasz_softmax(rng):
    x = rng.normal(size=(2, 3, 5, 6)) * 2
    y = rng.integers(0, 3, size=(2, 5, 6))
    y[1] = rng.integers(0, 2, size=(5, 6))  # class 2 absent from the second image
    return (x, y), {"per_image": True}


def _ex_lovasz_hinge(rng):
    x = rng.normal(size=(2, 5, 6)) * 2
    y = (rng.uniform(size=(2, 5, 6)) > 0.5).astype("float64")
    return (x, y), {}


def _ex_hausdorff(rng):
    x = rng.normal(size=(2, 3, 6, 6)) * 2
    y = rng.integers(0, 3, size=(2, 6, 6))
    onehot = (y[:, None] == [[[0]], [[1]], [[2]]]).astype("float64")
    return (x, onehot), {"activation": "softmax"}


def _ex_cldice(rng):
    x = rng.normal(size=(2, 2, 5, 5)) * 2
    y = (rng.uniform(size=(2, 2, 5, 5)) > 0.5).astype("float64")
    return (x, y), {"iterations": 1}


# ------------------------------------------------------------ Lovasz softmax
@register(
    "segmentation",
    "Berman, Rannen Triki, Blaschko 2018, The Lovasz-Softmax loss (authors' lovasz_softmax)",
    peers=(
        "kornia.losses.lovasz_softmax_loss",
        "segmentation_models_pytorch.losses.LovaszLoss(mode='multiclass')",
    ),
    example=_ex_lovasz_softmax,
)
def lovasz_softmax_loss(
    input: Array,
    target: Array,
    /,
    *,
    channel_axis: int = 1,
    classes: str | Sequence[int] = "present",
    ignore_index: int | None = None,
    activation: str | None = "softmax",
    per_image: bool = False,
    reduction: str = "mean",
    mask: Array | None = None,
) -> Array:
    r"""Lovasz-Softmax loss: the convex surrogate of the mean Jaccard (IoU) loss.

    For each class ``k`` with errors ``e_i = |y_{k,i} - p_{k,i}|`` sorted in
    decreasing order ``e_(1) >= e_(2) >= ...``:

    .. math::
        \ell_k = \sum_i e_{(i)}\, g_i, \qquad
        g_i = J_i - J_{i-1}, \quad
        J_i = 1 - \frac{|F_k| - |F_k \cap \{(1..i)\}|}{|F_k| + |\{(1..i)\} \setminus F_k|}

    (the Lovasz extension of the Jaccard loss ``J``, ``F_k`` the pixels of class
    ``k``), averaged over the classes: ``"present"`` (those found in the
    target, as the authors and smp; ``0`` when there is none), ``"all"`` or
    a sequence of class indices. ``per_image=False`` (authors', smp's
    default) pools every pixel of the batch into one ranking and gives one
    value (``reduction="none"``: a 0-d array); ``per_image=True`` gives one
    loss per image, ``(N,)``, averaged by ``"mean"``.

    The permutation and the ``g`` weights carry no gradient, the sorted
    errors do (the authors' code). The sort is an ``argsort`` along the
    pixels plus ``take_along_axis`` (a flat ``take`` on Dask), the ``J``
    terms a ``cumulative_sum``; ``jax.jit`` and ``torch.compile(fullgraph=True)``
    trace it.

    kornia's ``lovasz_softmax_loss(x, y)`` is ``classes="all", per_image=True``;
    smp's ``LovaszLoss("multiclass")`` is the default (``per_image=False``,
    ``classes="present"``), and its ``ignore_index`` is ours.

    Parameters
    ----------
    input : array
        Logits (or probabilities with ``activation=None``), ``(N, C, *spatial)``
        with classes on ``channel_axis``.
    target : array
        Class indices, the input's shape without ``channel_axis``.
    channel_axis : int
        The class axis.
    classes : {"present", "all"} or sequence of int
        The classes averaged.
    ignore_index : int, optional
        Target value of pixels that do not count (removed from every ranking).
    activation : {"softmax", None}
        ``None``: ``input`` holds probabilities.
    per_image : bool
        One ranking per image instead of one for the batch.
    reduction : {"mean", "sum", "none"}
        Over the images (``per_image=True``); the single value otherwise.
    mask : array, optional
        A pixel mask of the target's shape (masked pixels leave the rankings,
        as ``ignore_index``; an image without any pixel left is left out of the
        mean, where the authors' code counts it as 0: multiply by the
        fraction of images left to get theirs), or a mask of the unreduced
        loss (``(N,)`` with ``per_image=True``).

    References
    ----------
    Berman, Rannen Triki, Blaschko 2018, The Lovasz-Softmax loss: a tractable
    surrogate for the optimization of the intersection-over-union measure in
    neural networks (CVPR).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> y = np.array([[[0, 1, 1, 0]]])                      # (1, 1, 4) indices
    >>> good = np.where(y[:, None] == np.arange(2)[None, :, None, None], 4.0, -4.0)
    >>> round(float(cl.lovasz_softmax_loss(good, y)), 6)
    0.000335
    >>> round(float(cl.lovasz_softmax_loss(-good, y)), 6)
    0.999665
    """
    fname = "lovasz_softmax_loss"
    c.check_reduction(fname, reduction)
    c.check_choice(fname, "activation", activation, ("softmax", None))
    if not isinstance(per_image, bool):
        raise TypeError(f"{fname}: 'per_image' must be a bool, got {per_image!r}")
    be = c.backend_of(input, target, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    ax, _ = _layout(fname, x, channel_axis)
    num_classes = c.class_count(fname, x, ax)
    _check_activation(fname, activation, num_classes)
    if ignore_index is not None and not xp.isdtype(target.dtype, "integral"):
        raise ValueError(
            f"{fname}: 'ignore_index' needs class-index targets (integers), "
            f"got a target of dtype {target.dtype}"
        )
    pshape = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])
    if tuple(target.shape) != pshape:
        raise ValueError(
            f"{fname}: 'target' must hold class indices of shape {pshape} (the input's "
            f"shape without channel_axis), got {tuple(target.shape)}"
        )
    c.check_class_indices(be, target, num_classes, fname, ignore_index)
    if isinstance(classes, str):
        c.check_choice(fname, "classes", classes, ("present", "all"))
        sel = None
    else:
        sel = tuple(classes)
        if (
            not sel
            or any(isinstance(k, bool) or not isinstance(k, int) for k in sel)
            or any(not 0 <= k < num_classes for k in sel)
            or len(set(sel)) != len(sel)
        ):
            raise ValueError(
                f"{fname}: 'classes' must be 'present', 'all' or distinct class indices "
                f"in [0, {num_classes}), got {classes!r}"
            )
    n = x.shape[0]
    rows_valid = None
    if mask is not None and mask.ndim < 2:
        rows_valid = sk.loss_level_mask(be, mask, (n,) if per_image else (), fname)
    pix = sk.pixel_valid(be, mask, target, ignore_index, fname)
    if pix is not None:
        x = xp.where(xp.expand_dims(pix, axis=ax), x, 0.0)
    x = sk.rows_guard(xp, x, rows_valid, per_image)
    p = _activate(be, x, activation, ax, fname)
    t = target if pix is None else xp.where(pix, target, 0)
    fg = be.one_hot(t, num_classes, ax, x.dtype)
    fg = c.nan_out_of_range(be, fg, t, num_classes, ax, pix)
    err = xp.abs(fg - p)
    if pix is not None:
        keep = xp.expand_dims(pix, axis=ax)
        err = xp.where(keep, err, 0.0)
        fg = xp.where(keep, fg, 0.0)
    # (N, C, P) per image, or (1, C, N * P) for the batch
    npix = math.prod(pshape[1:])
    if n * npix == 0:  # nothing to rank (Dask cannot reshape empty chunks)
        return sk.finish_rows(
            be, sk.empty_rows(xp, err, per_image), reduction, per_image, None, rows_valid
        )
    err = xp.reshape(c.moveaxis(xp, err, ax, 1), (n, num_classes, npix))
    fg = xp.reshape(c.moveaxis(xp, fg, ax, 1), (n, num_classes, npix))
    if not per_image:
        err = xp.reshape(c.moveaxis(xp, err, 1, 0), (1, num_classes, n * npix))
        fg = xp.reshape(c.moveaxis(xp, fg, 1, 0), (1, num_classes, n * npix))
    per_class = sk.lovasz_rows(be, err, fg)  # (R, C)
    if sel is not None:
        w = xp.asarray(
            [1.0 if k in sel else 0.0 for k in range(num_classes)],
            dtype=x.dtype,
            device=be.device(x),
        )
        loss = xp.sum(per_class * w, axis=1) / len(sel)
    elif classes == "all":
        loss = xp.mean(per_class, axis=1)
    else:
        # not "<= 0": a NaN row (a bad index under jax.jit) counts and stays NaN
        present = xp.logical_not(xp.sum(fg, axis=-1) <= 0)
        cnt = xp.sum(xp.astype(present, x.dtype), axis=1)
        loss = xp.sum(xp.where(present, per_class, 0.0), axis=1) / xp.where(cnt > 0, cnt, 1.0)
    return sk.finish_rows(be, loss, reduction, per_image, pix, rows_valid)


# -------------------------------------------------------------- Lovasz hinge
@register(
    "segmentation",
    "Berman, Rannen Triki, Blaschko 2018, The Lovasz-Softmax loss (authors' lovasz_hinge)",
    peers=(
        "kornia.losses.lovasz_hinge_loss",
        "segmentation_models_pytorch.losses.LovaszLoss(mode='binary')",
    ),
    example=_ex_lovasz_hinge,
)
def lovasz_hinge_loss(
    input: Array,
    target: Array,
    /,
    *,
    per_image: bool = True,
    ignore_index: float | None = None,
    reduction: str = "mean",
    mask: Array | None = None,
) -> Array:
    r"""Lovasz hinge loss: the binary Jaccard surrogate on hinge errors.

    With signs ``s_i = 2 y_i - 1`` and hinge errors ``e_i = max(0, 1 - s_i x_i)``
    sorted in decreasing order, the loss is ``sum_i e_(i) g_i`` with the
    Lovasz weights ``g`` of the foreground ``y = 1`` (see
    :func:`lovasz_softmax_loss`). Every axis but the batch (axis 0) is
    flattened: ``(N, H, W)`` and ``(N, 1, H, W)`` are the same.
    ``per_image=True`` (the authors' default, kornia) ranks each image
    alone, ``(N,)``; ``per_image=False`` (smp's ``LovaszLoss("binary")``
    default) ranks the whole batch at once (one value). An image without
    foreground scores its largest hinge error (its Jaccard loss is 1 as soon
    as one pixel is predicted positive).

    Parameters
    ----------
    input : array
        Logits, ``(N, ...)``.
    target : array
        Binary labels (0/1, bool), the input's shape.
    per_image : bool
        One ranking per image.
    ignore_index : number, optional
        Target value of pixels that do not count (e.g. 255).
    reduction : {"mean", "sum", "none"}
        Over the images (``per_image=True``); the single value otherwise.
    mask : array, optional
        A pixel mask of the input's shape (rank >= 2; masked pixels leave the
        ranking), or a mask of the unreduced loss (``(N,)`` with
        ``per_image=True``).

    References
    ----------
    Berman, Rannen Triki, Blaschko 2018, The Lovasz-Softmax loss (CVPR);
    Yu, Blaschko 2015, Learning submodular losses with the Lovasz hinge.

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> y = np.array([[0.0, 1.0, 1.0, 0.0]])
    >>> float(cl.lovasz_hinge_loss(np.array([[-2.0, 2.0, 2.0, -2.0]]), y))
    0.0
    >>> float(cl.lovasz_hinge_loss(np.array([[-2.0, 0.5, 2.0, -2.0]]), y))
    0.25
    """
    fname = "lovasz_hinge_loss"
    c.check_reduction(fname, reduction)
    if not isinstance(per_image, bool):
        raise TypeError(f"{fname}: 'per_image' must be a bool, got {per_image!r}")
    be = c.backend_of(input, target, mask)
    xp = be.xp
    x = c.floating(be, input, fname)
    if x.ndim < 2:
        raise ValueError(
            f"{fname}: 'input' must have a batch axis and at least one more, "
            f"got shape {tuple(x.shape)}"
        )
    c.check_same_shape(fname, x, target)
    if not xp.isdtype(target.dtype, ("bool", "integral", "real floating")):
        raise TypeError(f"{fname}: 'target' must be binary labels, got dtype {target.dtype}")
    n = x.shape[0]
    rows_valid = None
    if mask is not None and mask.ndim < 2:
        rows_valid = sk.loss_level_mask(be, mask, (n,) if per_image else (), fname)
    pix = sk.pixel_valid(be, mask, target, ignore_index, fname)
    y = c.cast_to(be, target, x.dtype)
    if pix is not None:
        y = xp.where(pix, y, 0.0)
    if be.concrete(y) and math.prod(y.shape) > 0:
        if bool(xp.any(xp.logical_and(y != 0, y != 1))):
            raise ValueError(
                f"{fname}: 'target' must hold binary labels 0/1"
                + ("" if ignore_index is None else f" (or ignore_index={ignore_index})")
            )
    if pix is not None:
        x = xp.where(pix, x, 0.0)
    x = sk.rows_guard(xp, x, rows_valid, per_image)
    err = sk.relu(xp, 1.0 - x * (2.0 * y - 1.0))
    if pix is not None:
        err = xp.where(pix, err, 0.0)
    if math.prod(x.shape) == 0:  # nothing to rank (Dask cannot reshape empty chunks)
        return sk.finish_rows(
            be, sk.empty_rows(xp, err, per_image), reduction, per_image, None, rows_valid
        )
    rows = n if per_image else 1
    npix = math.prod(x.shape) // rows
    loss = sk.lovasz_rows(be, xp.reshape(err, (rows, npix)), xp.reshape(y, (rows, npix)))
    return sk.finish_rows(be, loss, reduction, per_image, pix, rows_valid)


# ---------------------------------------------------------------- Hausdorff DT
@register(
    "segmentation",
    "Karimi, Salcudean 2019, Reducing the Hausdorff distance in medical image segmentation",
    peers=("monai.losses.HausdorffDTLoss",),
    example=_ex_hausdorff,
    compile=False,  # the exact distance transform runs outside the traced graph
)
def hausdorff_dt_loss(
    input: Array,
    target: Array,
    /,
    *,
    alpha: float = 2.0,
    include_background: bool = False,
    activation: str | None = "sigmoid",
    channel_axis: int = 1,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Hausdorff distance loss on distance transforms (Karimi & Salcudean's HD-DT).

    .. math::
        \ell_{n,k} = \frac{1}{|\Omega|} \sum_{i \in \Omega}
            (p_{n,k,i} - y_{n,k,i})^2 \, (d^p_{n,k,i}{}^\alpha + d^y_{n,k,i}{}^\alpha)

    per sample ``n`` and class ``k``, with ``p = activation(input)`` and
    ``d^p`` (``d^y``) the distance field of the binary map ``p > 0.5``
    (``y > 0.5``): at each background pixel the Euclidean distance (in
    pixels) to the nearest foreground pixel, at each foreground pixel that to
    the nearest background pixel, and 0 everywhere for an empty or a full
    map (MONAI's ``distance_field``). The fields carry no gradient; the loss
    weighs squared errors by how far they lie from both boundaries.
    ``"mean"`` averages over samples and classes: MONAI's
    ``HausdorffDTLoss(alpha, include_background, sigmoid=..., softmax=...)``
    (whose default, no activation, is ``activation=None``), with
    ``reduction="none"`` of shape ``(N, K)`` instead of ``(N, K, 1, 1)``.

    The exact distance transform (:func:`scipy.ndimage.distance_transform_edt`,
    CuPy's on CUDA) runs outside the traced region: through NumPy for torch,
    through :func:`jax.pure_callback` under ``jax.jit`` (traces), lazily per
    block on Dask; under ``torch.compile`` it is a graph break.

    Parameters
    ----------
    input : array
        Logits (probabilities with ``activation=None``), ``(N, C, *spatial)``.
    target : array
        One-hot (binary) maps of the input's shape; soft targets are
        thresholded at 0.5 for their distance field only.
    alpha : float
        The distance exponent (``> 0``).
    include_background : bool
        Keep channel 0; ignored for a single channel (as MONAI).
    activation : {"sigmoid", "softmax", None}
        Applied over ``channel_axis`` before the background is dropped.
    channel_axis : int
        The class axis.
    mask : array, optional
        Pixel mask (rank >= 3; the mean runs over the unmasked pixels, the
        masked ones count as background in both distance fields), or a mask
        of the ``(N, K)`` loss.
    reduction : {"mean", "sum", "none"}
        As for every loss.

    References
    ----------
    Karimi, Salcudean 2019, Reducing the Hausdorff distance in medical image
    segmentation with convolutional neural networks (IEEE TMI 39(2)).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> y = np.zeros((1, 1, 1, 6)); y[..., 2:4] = 1
    >>> float(cl.hausdorff_dt_loss(np.where(y > 0, 1.0, 0.0), y, activation=None))
    0.0
    >>> p = np.zeros((1, 1, 1, 6)); p[..., 3:5] = 1
    >>> round(float(cl.hausdorff_dt_loss(p, y, activation=None)), 6)
    0.666667
    """
    fname = "hausdorff_dt_loss"
    c.check_reduction(fname, reduction)
    c.check_number(fname, "alpha", alpha, low=0.0, low_open=True, finite=True)
    be, p, t, pix, lv = sk.region_setup(
        fname, input, target, activation, channel_axis, include_background, mask, True
    )
    xp = be.xp
    spatial = tuple(range(2, p.ndim))
    dp = sk.distance_field(be, p > 0.5, spatial, p.dtype)
    dy = sk.distance_field(be, t > 0.5, spatial, p.dtype)
    dist = dp**alpha + dy**alpha
    loss, has = sk.mean_over(xp, (p - t) ** 2 * dist, pix, spatial)
    return c.reduce(be, loss, reduction, valid=c.and_masks(xp, lv, has))


# ------------------------------------------------------------------ soft clDice
@register(
    "segmentation",
    "Shit et al. 2021, clDice - a novel topology-preserving loss for tubular structures",
    peers=("monai.losses.SoftclDiceLoss",),
    example=_ex_cldice,
    coupled=True,  # the soft skeleton reads each pixel's neighbours
)
def soft_cldice_loss(
    input: Array,
    target: Array,
    /,
    *,
    iterations: int = 3,
    smooth: float = 1.0,
    eps: float = 1e-4,
    include_background: bool = True,
    activation: str | None = "sigmoid",
    channel_axis: int = 1,
    mask: Array | None = None,
    reduction: str = "mean",
) -> Array:
    r"""Soft clDice: the harmonic mean of topology precision and sensitivity.

    With ``S(.)`` the soft skeleton (``iterations`` rounds of soft erosion,
    a min pool over a 3-wide cross, and soft opening, as MONAI's ``soft_skel``),
    sums over the channels and pixels of each sample:

    .. math::
        T_\text{prec} = \frac{\sum S(p)\, y + s}{\sum S(p) + s}, \quad
        T_\text{sens} = \frac{\sum S(y)\, p + s}{\sum S(y) + s}, \quad
        \ell_n = 1 - \frac{2\, T_\text{prec} T_\text{sens}}{T_\text{prec} + T_\text{sens} + \epsilon}

    one loss per sample, ``(N,)``: MONAI's ``SoftclDiceLoss(iter_=iterations,
    smooth_nr=smooth, smooth_dr=smooth, smooth=eps, include_background, ...)``
    (the authors' code is ``eps=0``). A zero denominator (``smooth=0`` and an
    empty skeleton) gives that ratio 1, and a zero harmonic denominator a
    loss of 1, never NaN. Pooling runs through the backends' max pool
    (``-inf`` padding, so the border is neither eroded nor dilated from
    outside); any number of spatial axes.

    Parameters
    ----------
    input : array
        Logits (probabilities with ``activation=None``), ``(N, C, *spatial)``.
    target : array
        Binary (one-hot) maps of the input's shape.
    iterations : int
        Skeletonization rounds (``>= 0``).
    smooth : float
        Added to the numerators and denominators of both ratios (``>= 0``).
    eps : float
        Added to the harmonic mean's denominator (``>= 0``).
    include_background : bool
        Keep channel 0 (ignored for a single channel).
    activation : {"sigmoid", "softmax", None}
        MONAI's ``sigmoid=True`` / ``softmax=True`` / neither.
    channel_axis : int
        The class axis.
    mask : array, optional
        Pixel mask (rank >= 3; masked pixels count as background in both
        skeletons and leave the sums), or a mask of the ``(N,)`` loss.
    reduction : {"mean", "sum", "none"}
        As for every loss.

    References
    ----------
    Shit, Paetzold, Sekuboyina, et al. 2021, clDice - a novel topology-preserving
    loss function for tubular structure segmentation (CVPR).

    Examples
    --------
    >>> import numpy as np, corelosses as cl
    >>> y = np.zeros((1, 1, 5, 5)); y[..., 2, :] = 1     # a horizontal line
    >>> round(float(cl.soft_cldice_loss(y, y, activation=None)), 6)
    5e-05
    >>> round(float(cl.soft_cldice_loss(y.transpose(0, 1, 3, 2), y, activation=None)), 6)
    0.666717
    """
    fname = "soft_cldice_loss"
    c.check_reduction(fname, reduction)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"{fname}: 'iterations' must be an int >= 0, got {iterations!r}")
    c.check_number(fname, "smooth", smooth, low=0.0, finite=True)
    c.check_number(fname, "eps", eps, low=0.0, finite=True)
    be, p, t, pix, lv = sk.region_setup(
        fname, input, target, activation, channel_axis, include_background, mask, False
    )
    xp = be.xp
    axes = tuple(range(2, p.ndim))
    if pix is not None:
        t = xp.where(pix, t, 0.0)
    skel_p = sk.soft_skeleton(be, p, iterations, axes)
    skel_t = be.stop_gradient(sk.soft_skeleton(be, t, iterations, axes))
    red = tuple(range(1, p.ndim))

    def ratio(num, den):
        bad = den == 0
        return xp.where(bad, 1.0, num / xp.where(bad, 1.0, den))

    tprec = ratio(xp.sum(skel_p * t, axis=red) + smooth, xp.sum(skel_p, axis=red) + smooth)
    tsens = ratio(xp.sum(skel_t * p, axis=red) + smooth, xp.sum(skel_t, axis=red) + smooth)
    hden = tprec + tsens + eps
    zero = hden == 0  # both ratios 0 (smooth=0, eps=0): harmonic mean 0
    loss = 1.0 - xp.where(zero, 0.0, 2.0 * tprec * tsens / xp.where(zero, 1.0, hden))
    valid = lv
    if pix is not None:
        has = xp.any(pix, axis=red)
        valid = has
    return c.reduce(be, loss, reduction, valid=valid)
