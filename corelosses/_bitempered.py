"""Bi-tempered logistic loss (Amid et al. 2019); filled in by issue 4."""

from __future__ import annotations

__all__ = ["tempered_softmax", "bi_tempered_logistic_loss", "bi_tempered_binary_logistic_loss"]


def tempered_softmax(input, /, *, t, num_iters=5, axis=-1):
    raise NotImplementedError


def bi_tempered_logistic_loss(input, target, /, *, t1, t2, label_smoothing=0.0, num_iters=5, axis=-1,
                              weight=None, mask=None, reduction="mean"):
    raise NotImplementedError


def bi_tempered_binary_logistic_loss(input, target, /, *, t1, t2, label_smoothing=0.0, num_iters=5,
                                     weight=None, mask=None, reduction="mean"):
    raise NotImplementedError
