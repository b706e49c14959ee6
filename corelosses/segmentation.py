r"""Segmentation losses: dice, Tversky, focal Tversky, generalized dice, boundary, gradient.

The dice family lives in :mod:`corelosses.dice` (its options: MONAI's
``include_background``, ``squared_pred``, ``jaccard``, ``soft_label``,
``smooth_nr`` / ``smooth_dr``, ``class_weight``, ``batch``, a callable
``activation``, ``check_range``; generalized dice's ``w_type`` and
``normalize_weights``; kornia's ``average``); the combined losses
(``jaccard_loss``, ``dice_ce_loss``, ``dice_focal_loss``) in
:mod:`corelosses.dice_combo`. This module re-exports the dice family.

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

Masks: ``ignore_index`` (class-index targets, or one-hot targets by MONAI's
rule, see :func:`dice_loss`) and a ``mask`` of rank >= 3
exclude *pixels* from every sum: a pixel mask has the input's rank (channel
axis of size 1 or ``C``) or the input's rank minus one (no channel axis).
A ``mask`` of rank <= 2 broadcasts to the unreduced loss (``(N, C)``, or
``(N,)`` for :func:`generalized_dice_loss`) and excludes those entries;
``"mean"`` then divides by the number of unmasked entries. NaN or inf in
the input under either kind of mask reaches neither the value nor the
gradient.
"""

from __future__ import annotations

# the dice family lives in corelosses.dice; boundary, distance and gradient losses
# in corelosses.boundary
from .boundary import boundary_loss, gradient_loss, signed_distance_map
from .dice import dice_loss, focal_tversky_loss, generalized_dice_loss, tversky_loss

__all__ = [
    "dice_loss",
    "tversky_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "signed_distance_map",
    "boundary_loss",
    "gradient_loss",
]
