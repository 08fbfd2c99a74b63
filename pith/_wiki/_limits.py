"""The bounds of what one question to the wiki may ask, in one place for every way to ask it:
the command line (``show``, ``context``, ``impact``, ``search``, ``ask``), ``pith serve`` (each
parameter) and ``pith mcp`` (each tool argument, and each message on the wire).

Every check raises `UsageError` with one line that names the input and its bound, and never
repeats the input itself (it may be megabytes): the command line exits 2, ``serve`` answers 400
``{"error"}``, ``mcp`` answers a tool error. Nothing larger than a bound is looked up, scored or
logged.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import UsageError

__all__ = [
    "DEFAULT_BUDGET",
    "MAX_BUDGET",
    "MAX_CONTEXT_FILES",
    "MAX_ID_CHARS",
    "MAX_IMPACT_FILES",
    "MAX_MESSAGE_BYTES",
    "MAX_QUERY_CHARS",
    "MAX_QUESTION_CHARS",
    "MAX_SEARCH_LIMIT",
    "MIN_BUDGET",
    "check_budget",
    "check_files",
    "check_id",
    "check_limit",
    "check_query",
    "check_question",
]

# A node id or file path: the longest path a system takes (PATH_MAX, 4,096 bytes) and a
# qualified name after it. Real ids are a hundred characters or so.
MAX_ID_CHARS = 8_192
# A search query: search uses its first 16 words, and names are matched whole against it.
MAX_QUERY_CHARS = 1_000
# A question for `ask`: a task in a paragraph or two; its first 48 words are ranked by.
MAX_QUESTION_CHARS = 4_000
MAX_CONTEXT_FILES = 50  # files in one context question
MAX_SEARCH_LIMIT = 100  # results of one search
MAX_IMPACT_FILES = 200  # importers listed by one impact answer
# Tokens of one answer (`context`, `impact`, `ask`), counted as `pith generate --estimate`
# counts (characters / 4).
DEFAULT_BUDGET = 4_000
MIN_BUDGET = 200
MAX_BUDGET = 50_000
# One MCP message (a JSON-RPC line): room for the largest valid question with its JSON quoting.
MAX_MESSAGE_BYTES = 1_000_000


def check_id(value: str, what: str = "id") -> str:
    """``value`` if it may be a node id or file path; `UsageError` otherwise."""
    if len(value) > MAX_ID_CHARS:
        raise UsageError(f"{what} is longer than {MAX_ID_CHARS:,} characters; no node has one")
    if "\0" in value:
        raise UsageError(f"{what} holds a NUL character; no node has one")
    return value


def check_query(value: str) -> str:
    """``value`` if it may be a search query; `UsageError` otherwise."""
    if len(value) > MAX_QUERY_CHARS:
        raise UsageError(
            f"the query is longer than {MAX_QUERY_CHARS:,} characters; search uses its first "
            "16 words: shorten it"
        )
    return value


def check_question(value: str) -> str:
    """``value`` if it may be a question for ``ask``; `UsageError` otherwise."""
    if len(value) > MAX_QUESTION_CHARS:
        raise UsageError(
            f"the question is longer than {MAX_QUESTION_CHARS:,} characters; ask uses its first "
            "48 words: shorten it"
        )
    return value


def check_limit(value: int) -> int:
    """``value`` if it is a valid number of search results; `UsageError` otherwise."""
    if not 1 <= value <= MAX_SEARCH_LIMIT:
        raise UsageError(f"the limit must be between 1 and {MAX_SEARCH_LIMIT}")
    return value


def check_files(files: Sequence[str]) -> list[str]:
    """``files`` as a list, if it is a valid context question; `UsageError` otherwise."""
    if not files:
        raise UsageError("give at least one file")
    if len(files) > MAX_CONTEXT_FILES:
        raise UsageError(
            f"at most {MAX_CONTEXT_FILES} files per question ({len(files)} given); ask in parts"
        )
    for given in files:
        check_id(given, "a file path")
    return list(files)


def check_budget(value: int) -> int:
    """``value`` if it is a valid token budget (`context`, `impact`, `ask`); `UsageError`
    otherwise."""
    if not MIN_BUDGET <= value <= MAX_BUDGET:
        raise UsageError(f"the budget must be between {MIN_BUDGET} and {MAX_BUDGET:,} tokens")
    return value
