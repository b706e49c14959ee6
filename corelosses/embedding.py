"""Embedding losses: cosine distance, cosine embedding, hinge embedding, margin ranking, triplet margin."""

from __future__ import annotations

__all__: list[str] = []
