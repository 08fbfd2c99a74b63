"""Untrusted text made inert in Markdown: what a codebase or a model wrote can't become markup.

File names, docstrings, commit data and prose come from code pith's user may not have written,
and from a model that may have read an injection. In a page they must read as text: no raw HTML
(``<img onerror=...>``, ``<script>``), no link or image (``[x](javascript:...)``), no heading or
rule injected by a newline, no way out of a code span or fence. Every piece of such text goes
into a page through one of these functions; the page's own structure is written around them.
"""

from __future__ import annotations

import re
import urllib.parse

__all__ = ["code", "fence", "line", "target", "text"]

_BACKTICKS = re.compile(r"`+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
# Inline code spans: a run of backticks, then the shortest text up to the same run.
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
# Characters that start markup outside code: escaped with a backslash (CommonMark renders
# ``\<`` as ``<``, and ``\\`` as ``\`` so an escape can't be undone by a planted backslash).
_SPECIAL = re.compile(r"([\\<>\[\]])")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A heading (``# x``), or a line that underlines the one before into a heading (``===``, ``---``).
_BLOCK_START = re.compile(r"^(\s*)(#|[=-]+\s*$)")


def _longest_run(value: str) -> int:
    return max((len(m) for m in _BACKTICKS.findall(value)), default=0)


def code(value: object) -> str:
    """``value`` as one inline code span on one line, whatever backticks it holds."""
    flat = _CONTROL.sub(" ", str(value))
    ticks = "`" * (_longest_run(flat) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def fence(value: str, language: str = "") -> list[str]:
    """``value`` as a fenced code block (its lines), with a fence longer than any it holds."""
    ticks = "`" * max(3, _longest_run(value) + 1)
    return [f"{ticks}{language}", *value.splitlines(), ticks]


def _escape_outside_code(segment: str) -> str:
    out, last = [], 0
    for match in _CODE_SPAN.finditer(segment):
        out.append(_SPECIAL.sub(r"\\\1", segment[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_SPECIAL.sub(r"\\\1", segment[last:]))
    return "".join(out)


def line(value: object) -> str:
    """``value`` as inert text on one line (a name, a path, a one-line field): control
    characters and newlines become spaces, markup is escaped, nothing makes a heading."""
    flat = _CONTROL.sub(" ", str(value)).strip()
    escaped = _escape_outside_code(flat)
    return _BLOCK_START.sub(r"\1\\\2", escaped, count=1)


def text(value: str) -> str:
    """``value`` as inert Markdown text over several lines: paragraphs and code (spans and
    fenced blocks) and lists are kept, markup outside code is escaped, no line makes a heading,
    and a fence left open is closed."""
    out: list[str] = []
    open_fence: str | None = None
    for raw in value.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", raw)
        fence_match = _FENCE.match(stripped)
        if open_fence is not None:
            out.append(stripped)
            if fence_match and fence_match.group(1).startswith(open_fence):
                open_fence = None
            continue
        if fence_match:
            open_fence = fence_match.group(1)
            out.append(stripped)
            continue
        escaped = _escape_outside_code(stripped)
        out.append(_BLOCK_START.sub(r"\1\\\2", escaped, count=1))
    if open_fence is not None:
        out.append(open_fence)
    return "\n".join(out)


def target(path: str) -> str:
    """A relative link target for a page path: nothing in it can end the link or add a scheme."""
    quoted = urllib.parse.quote(path, safe="/~._-")
    return quoted if not quoted.startswith("/") else "." + quoted
