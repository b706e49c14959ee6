"""Shape- and topology-aware segmentation losses: Lovasz (softmax, hinge), Hausdorff distance transform, soft clDice."""

from __future__ import annotations

__all__: list[str] = []
