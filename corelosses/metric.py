"""Metric-learning losses over a batch of embeddings and labels: NT-Xent, supervised contrastive, contrastive, circle, multi-similarity."""

from __future__ import annotations

__all__: list[str] = []
