"""Image losses: SSIM, MS-SSIM, PSNR, total variation."""

from __future__ import annotations

__all__: list[str] = []
