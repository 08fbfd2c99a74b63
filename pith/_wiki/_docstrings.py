"""What a docstring says first: its opening paragraph, without a reStructuredText title."""

from __future__ import annotations

import re

__all__ = ["first_paragraph", "first_sentence"]

# A reStructuredText title's under- or overline: one punctuation character, three times or more.
_ADORNMENT = re.compile(r"([=\-~^\"'`#*+:._])\1{2,}")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")


def first_paragraph(text: str | None, *, one_line: bool = True) -> str:
    """The first paragraph of ``text`` (a docstring) that is more than a title: requests'
    ``"requests.exceptions\\n~~~~~~~~~~~~~~~~~~~\\n\\nThis module contains ..."`` opens with
    "This module contains ...". On one line, its whitespace folded, unless ``one_line`` is
    False (its lines as written, stripped); "" for no text."""
    for paragraph in _PARAGRAPHS.split(text.strip()) if text else ():
        lines = paragraph.strip().splitlines()
        # A title's lines are the ones down to its underline, in the paragraph's first three.
        underlines = [i for i, line in enumerate(lines[:3]) if _ADORNMENT.fullmatch(line.strip())]
        if underlines:
            lines = lines[underlines[-1] + 1 :]
        if not lines:
            continue
        if one_line:
            return " ".join(" ".join(lines).split())
        return "\n".join(line.strip() for line in lines)
    return ""


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of `first_paragraph` of ``text``, at most ``limit`` characters."""
    paragraph = first_paragraph(text)
    end = paragraph.find(". ")
    sentence = paragraph[: end + 1] if end > 0 else paragraph
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"
