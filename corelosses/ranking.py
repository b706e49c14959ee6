"""Softmax losses over scores: listwise ranking softmax and margin softmax (ArcFace, CosFace, SphereFace)."""

from __future__ import annotations

__all__: list[str] = []
