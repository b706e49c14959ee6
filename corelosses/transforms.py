"""Transforms (see ../shared/API.md); filled in by its issue."""

from __future__ import annotations

from ._bitempered import tempered_softmax

__all__: list[str] = ["tempered_softmax"]
