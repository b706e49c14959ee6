"""Layout, mask and activation helpers shared by :mod:`corelosses.segmentation`
and :mod:`corelosses.boundary` (private)."""

from __future__ import annotations

from typing import Any

from . import _core as c

Array = Any

_ACTIVATIONS = ("softmax", "sigmoid", None)


def _layout(fname: str, x: Array, channel_axis: int) -> tuple[int, tuple[int, ...]]:
    """Normalised channel axis and the spatial axes."""
    if x.ndim < 3:
        raise ValueError(
            f"{fname}: 'input' must have a batch axis, a channel axis and at least one "
            f"spatial axis (rank >= 3), got shape {tuple(x.shape)}"
        )
    ax = c.normalize_axis(fname, "channel_axis", channel_axis, x.ndim)
    if ax == 0:
        raise ValueError(
            f"{fname}: 'channel_axis' must not be the batch axis 0, got {channel_axis!r}"
        )
    spatial = tuple(i for i in range(1, x.ndim) if i != ax)
    return ax, spatial


def _loss_layout(x: Array, ax: int, per_class: bool) -> tuple[int, ...]:
    """Shape that puts an (N, C) (or (N,)) array on the input's axes."""
    shape = [1] * x.ndim
    shape[0] = x.shape[0]
    if per_class:
        shape[ax] = x.shape[ax]
    return tuple(shape)


def _pixel_mask(be, mask, x, ax, fname):
    """A rank >= 3 mask as a boolean array of the input's rank (or None)."""
    xp = be.xp
    if mask.ndim == x.ndim - 1:
        pshape = tuple(x.shape[:ax]) + tuple(x.shape[ax + 1 :])
        return xp.expand_dims(c.as_mask(be, mask, pshape, fname), axis=ax)
    if mask.ndim == x.ndim:
        return c.as_mask(be, mask, x.shape, fname)
    raise ValueError(
        f"{fname}: 'mask' must be a pixel mask of rank {x.ndim - 1} or {x.ndim} "
        f"(input shape {tuple(x.shape)}) or broadcast to the unreduced loss (rank <= 2), "
        f"got shape {tuple(mask.shape)}"
    )


def _split_mask(be, mask, x, ax, loss_shape, fname):
    """(pixel_valid, loss_valid): a mask of rank >= 3 is per pixel, else per loss entry."""
    if mask is None:
        return None, None
    if mask.ndim >= 3:
        return _pixel_mask(be, mask, x, ax, fname), None
    return None, c.as_mask(be, mask, loss_shape, fname)


def _guard_loss_mask(xp, x, loss_valid, loss_shape, ax, softmax):
    """First ``where`` for a loss-level mask: zero the inputs feeding only masked entries.

    ``loss_shape`` is ``(N, C)`` (per class, ``C`` the input's classes) or ``(N,)``.
    """
    if loss_valid is None:
        return x
    lv = xp.broadcast_to(loss_valid, loss_shape)
    per_class = len(loss_shape) == 2
    if per_class and softmax:
        # softmax couples the classes: only a sample with every entry masked is cut off
        lv = xp.any(lv, axis=1)
        per_class = False
    return xp.where(xp.reshape(lv, _loss_layout(x, ax, per_class)), x, 0.0)


def _activate(be, x, activation, ax, fname):
    if activation == "softmax":
        return be.softmax(x, axis=ax)
    if activation == "sigmoid":
        return be.sigmoid(x)
    c.check_unit_interval(be, x, fname)
    return x


def _check_activation(fname, activation, num_classes):
    c.check_choice(fname, "activation", activation, _ACTIVATIONS)
    if activation == "softmax" and num_classes < 2:
        raise ValueError(
            f"{fname}: activation='softmax' needs at least 2 classes on 'channel_axis', "
            f"got {num_classes}; use activation='sigmoid' for a single channel"
        )
