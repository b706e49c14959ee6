"""The public authoring kit: write a loss the way the built-in ones are written.

Everything a corelosses loss is made of, under stable public names. The
built-in families are written with these same objects (``corelosses._core``
and ``corelosses._class_common`` hold them; this module is their public face,
not a second implementation), so a third-party loss gets exactly the
conventions of the catalog: the backend of the arrays, the prologues, masks
with the double-``where`` NaN-safety rule, reductions, option checks and the
backend primitives.

A loss in five lines::

    from corelosses import extend as ce

    @ce.register("regression", "squared log error", example=my_example)
    def squared_log_error(input, target, /, *, weight=None, mask=None, reduction="mean"):
        be, xp, x, y, w, valid = ce.pair_setup(
            "squared_log_error", input, target, weight=weight, mask=mask, reduction=reduction
        )
        d = xp.log1p(x) - xp.log1p(y)
        return ce.reduce(be, d * d, reduction, weight=w, valid=valid)

Then test it on every installed backend with :mod:`corelosses.testing`.

The backend primitives are methods of the :class:`Backend` that the
prologues return (``be.softplus``, ``be.log_sigmoid``, ``be.sigmoid``,
``be.logsumexp``, ``be.log_softmax``, ``be.softmax``, ``be.one_hot``,
``be.stop_gradient``, ``be.custom_vjp``, ``be.grad_of``, ``be.min_scalar``,
``be.clip_scalar``, ``be.abs0``, ``be.value_range``, ``be.concrete``, ``be.is_half``): each
is the pure array-API definition, replaced by a native kernel only where the
framework has one computing the same function.

Versioning: :data:`KIT_VERSION` is ``(major, minor)``. A name documented here
is removed or changes meaning only with a new major version; a new name is a
new minor version.
"""

from __future__ import annotations

from ._class_common import _class_prologue as _class_prologue
from ._core import (
    and_masks,
    as_mask,
    cast_to,
    check_broadcastable,
    check_choice,
    check_class_indices,
    check_number,
    check_reduction,
    check_same_shape,
    check_unit_interval,
    class_count,
    floating,
    ignore_value_mask,
    mask_and_weight,
    nan_out_of_range,
    normalize_axis,
    pair_setup,
    reduce,
    sanitize,
    sanitize_along,
)
from ._registry import BACKENDS, LossInfo, catalog, get, register
from .adapters import Backend, NoAutodiffBackend, backend_of, native, set_native

KIT_VERSION = (1, 1)  # 1.1: be.abs0

__all__ = [
    "KIT_VERSION",
    # the catalog
    "register",
    "catalog",
    "get",
    "LossInfo",
    "BACKENDS",
    # backends
    "Backend",
    "NoAutodiffBackend",
    "backend_of",
    "native",
    "set_native",
    # prologues
    "pair_setup",
    "class_setup",
    # masks, weights, ignore values and the double-where
    "as_mask",
    "mask_and_weight",
    "and_masks",
    "ignore_value_mask",
    "sanitize",
    "sanitize_along",
    "nan_out_of_range",
    # reduction
    "reduce",
    # dtypes
    "floating",
    "cast_to",
    # option and input checks (each names the argument in its error)
    "check_reduction",
    "check_choice",
    "check_number",
    "check_same_shape",
    "check_broadcastable",
    "check_unit_interval",
    "check_class_indices",
    "class_count",
    "normalize_axis",
]


def class_setup(
    fname: str,
    input,
    target,
    /,
    *,
    axis: int = -1,
    ignore_index: int | None = None,
    mask=None,
    weight=None,
    reduction: str = "mean",
    input_name: str = "input",
    one_hot: bool = True,
):
    """Prologue of the losses over a class axis (the target half of ``cross_entropy``'s).

    Accepts class-index targets (the input's shape without ``axis``) or
    probability targets (the input's shape), checks them (indices in range
    where the values can be read without a trace; probabilities in [0, 1]),
    applies ``ignore_index`` and ``mask`` (one entry per sample) and sanitizes
    the masked samples' inputs (the first ``where`` of the NaN-safety rule).

    Returns
    -------
    tuple
        ``(be, xp, x, y, indices, valid, weight, ax, cshape, C)``: the backend,
        its namespace, the input in its compute dtype, the target as a one-hot
        or probability array of the input's shape (``None`` for class indices
        with ``one_hot=False``), the class indices (or ``None``), the validity
        mask per sample (or ``None``), the weight cast to the compute dtype,
        the normalised class axis, the shape that broadcasts a per-class vector
        along it, and the number of classes.

    Examples
    --------
    >>> import numpy as np
    >>> from corelosses import extend as ce
    >>> be, xp, x, y, idx, valid, w, ax, cshape, C = ce.class_setup(
    ...     "demo", np.zeros((2, 3)), np.array([0, 2])
    ... )
    >>> y.tolist(), ax, C
    ([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], 1, 3)
    """
    return _class_prologue(
        fname, input, target, axis, ignore_index, mask, weight, reduction, input_name, one_hot
    )
