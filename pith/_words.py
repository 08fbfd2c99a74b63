"""Counted nouns for what pith prints: ``1 node``, ``2 nodes``."""

from __future__ import annotations

__all__ = ["count"]


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` and the noun that agrees with it: ``count(1, "node")`` is ``1 node``,
    ``count(2, "node")`` ``2 nodes``; ``plural`` when adding an s is wrong. Thousands are
    grouped (``1,791 nodes``)."""
    noun = singular if number == 1 else plural or f"{singular}s"
    return f"{number:,} {noun}"
