"""Every bound on what one question to the wiki may ask, in one place: the CLI, `pith serve`
and `pith mcp` check the same numbers and refuse the same way (a value out of range is a
usage error naming the range, never silently clamped)."""

from __future__ import annotations

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_SEARCH_LIMIT",
    "MAX_BUDGET",
    "MAX_CONTEXT_FILES",
    "MAX_IMPACT_FILES",
    "MAX_SEARCH_LIMIT",
    "MIN_BUDGET",
    "check_budget",
    "check_files",
    "check_limit",
]

DEFAULT_SEARCH_LIMIT = 10
MAX_SEARCH_LIMIT = 100
MAX_CONTEXT_FILES = 50
MAX_IMPACT_FILES = 200
DEFAULT_BUDGET = 4_000  # tokens, counted as `pith generate --estimate` counts
MIN_BUDGET = 200
MAX_BUDGET = 50_000


def check_limit(limit: int) -> int:
    """``limit`` when it is a valid number of search results; ValueError naming the range."""
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
    return limit


def check_budget(budget: int) -> int:
    """``budget`` when it is a valid token budget; ValueError naming the range."""
    if not MIN_BUDGET <= budget <= MAX_BUDGET:
        raise ValueError(f"budget must be between {MIN_BUDGET} and {MAX_BUDGET} tokens")
    return budget


def check_files(count: int) -> int:
    """``count`` when that many files may be asked about at once; ValueError otherwise."""
    if not 1 <= count <= MAX_CONTEXT_FILES:
        raise ValueError(f"between 1 and {MAX_CONTEXT_FILES} files per request")
    return count
