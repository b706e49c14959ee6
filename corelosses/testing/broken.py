"""Deliberately wrong losses: each breaks one rule the kit checks (its tests and docs use them).

Written with public names only (:mod:`corelosses.extend`), like a third party's.
``good_loss`` is right; each other one is ``good_loss`` with one mistake:

- ``wrong_on_torch``: a different value on one backend;
- ``nan_grad_under_mask``: the mask applied with one ``where`` after the formula (no
  double ``where``): the value is right, but a NaN under the mask reaches the gradient;
- ``graph_break``: a Python ``float`` of a tensor inside (``torch.compile`` breaks
  the graph there);
- ``half_stays_half``: computes and returns float16 for float16 inputs.
"""

from __future__ import annotations

from .. import extend as ce


def good_loss(input, target, /, *, weight=None, mask=None, reduction="mean"):
    """``(x - y)**2 / 2``, elementwise, with every convention of the catalog."""
    be, xp, x, y, w, valid = ce.pair_setup(
        "good_loss", input, target, weight=weight, mask=mask, reduction=reduction
    )
    return ce.reduce(be, 0.5 * (x - y) ** 2, reduction, weight=w, valid=valid)


def wrong_on_torch(input, target, /, *, weight=None, mask=None, reduction="mean"):
    be, xp, x, y, w, valid = ce.pair_setup(
        "wrong_on_torch", input, target, weight=weight, mask=mask, reduction=reduction
    )
    scale = 0.501 if be.name == "torch" else 0.5  # the mistake
    return ce.reduce(be, scale * (x - y) ** 2, reduction, weight=w, valid=valid)


def nan_grad_under_mask(input, target, /, *, mask=None, reduction="mean"):
    ce.check_reduction("nan_grad_under_mask", reduction)
    be = ce.backend_of(input, target, mask)
    xp = be.xp
    loss = 0.5 * (input - target) ** 2
    if mask is None:
        return ce.reduce(be, loss, reduction)
    m = xp.asarray(mask)
    # the mistake: one where, after the formula; the value is right, but the
    # gradient of the discarded branch (NaN there) is 0 * NaN = NaN
    loss = xp.where(m, loss, 0.0)
    if reduction == "none":
        return loss
    total = xp.sum(loss)
    count = xp.sum(xp.astype(m, loss.dtype))
    return total if reduction == "sum" else total / xp.maximum(count, 1.0)


def graph_break(input, target, /, *, weight=None, mask=None, reduction="mean"):
    be, xp, x, y, w, valid = ce.pair_setup(
        "graph_break", input, target, weight=weight, mask=mask, reduction=reduction
    )
    if float(xp.max(xp.abs(x))) > 1e30:  # the mistake: a Python number of a traced value
        raise ValueError("graph_break: input too large")
    return ce.reduce(be, 0.5 * (x - y) ** 2, reduction, weight=w, valid=valid)


def half_stays_half(input, target, /, *, reduction="mean"):
    ce.check_reduction("half_stays_half", reduction)
    be = ce.backend_of(input, target)
    xp = be.xp
    loss = 0.5 * (input - xp.astype(target, input.dtype)) ** 2  # the mistake: no float32
    return ce.reduce(be, loss, reduction)
