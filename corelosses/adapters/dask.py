"""Dask backend: lazy, no autodiff, no value checks (they would compute)."""

from __future__ import annotations

import math

from ._generic import NoAutodiffBackend


class DaskBackend(NoAutodiffBackend):
    name = "dask"

    def concrete(self, x):
        return False

    # dask's ``max`` fails on a zero-size array even along a non-empty axis
    # (numpy's does not): an empty batch needs no max shift at all.
    def logsumexp(self, x, axis=-1, keepdims=False):
        if math.prod(x.shape) != 0:
            return super().logsumexp(x, axis=axis, keepdims=keepdims)
        xp = self.xp
        return xp.log(xp.sum(xp.exp(x), axis=axis, keepdims=keepdims))

    def log_softmax(self, x, axis=-1):
        if math.prod(x.shape) != 0:
            return super().log_softmax(x, axis=axis)
        return x - self.xp.log(self.xp.sum(self.xp.exp(x), axis=axis, keepdims=True))

    def softmax(self, x, axis=-1):
        if math.prod(x.shape) != 0:
            return super().softmax(x, axis=axis)
        e = self.xp.exp(x)
        return e / self.xp.sum(e, axis=axis, keepdims=True)

    # the generic window operations slice shifted copies along each filtered axis:
    # across chunk boundaries those slices fragment the chunks and the graph grows
    # with every shift, so the filtered axes are made one chunk each first
    def window_filter(self, x, kernel, axes, padding="valid"):
        return super().window_filter(x.rechunk({ax: -1 for ax in axes}), kernel, axes, padding)

    def max_pool(self, x, window, axes):
        return super().max_pool(x.rechunk({ax: -1 for ax in axes}), window, axes)


def make(xp):
    return DaskBackend(xp)
