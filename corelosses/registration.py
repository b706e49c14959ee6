"""Registration losses and regularizers: local normalized cross-correlation, bending energy, diffusion."""

from __future__ import annotations

__all__: list[str] = []
