"""Counted nouns and capped lists for what pith prints: ``1 node``, ``2 nodes``, ``a, b and 3
more``."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["listed", "plural"]


def plural(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` and the noun that agrees with it: ``plural(1, "node")`` is ``1 node``,
    ``plural(2, "node")`` ``2 nodes``; ``plural`` when adding an s is wrong. Thousands are
    grouped (``1,791 nodes``)."""
    noun = singular if number == 1 else plural or f"{singular}s"
    return f"{number:,} {noun}"


def listed(items: Sequence[object], most: int) -> str:
    """The first ``most`` items, comma-separated, then how many more: ``Ada, Bob and 138
    more``; ``-`` for none."""
    if not items:
        return "-"
    shown = ", ".join(str(item) for item in items[:most])
    left = len(items) - most
    return f"{shown} and {left:,} more" if left > 0 else shown
