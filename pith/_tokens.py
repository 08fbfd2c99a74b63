"""Tokens for retrieval: one normalization for the index (extract, build) and for questions.

`words` guarantees that a question and the code it is about meet on the same tokens:

- an identifier is kept whole, lowercased (``raise_for_status``, ``functionauth``), and its
  parts are added (``raise``, ``status``; ``function``, ``auth``): snake_case, CamelCase,
  dotted names and digits all split;
- each part is folded by a light, predictable stemmer (plurals, ``-es`` after ``x``, ``ch``,
  ``sh`` and ``ss``, ``-ing``, ``-ed`` and the consonant they double, a final ``e``:
  "redirects", "redirected" and "redirect" meet, so do "fixes" and "fix", "popped" and
  "pop"; "authorization" stays itself, unlike Porter's "author");
- English stop words and one-letter words are dropped.

Tokens hold only ``[a-z0-9_]``: safe inside a quoted FTS5 string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["STOP_WORDS", "bounded_words", "stem", "words"]

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_STOP = """a an and are as at be but by can do does for from has have how i if in into is it its
    not of on or so such than that the their them then there these they this to was we were
    what when where which while who why will with would you your self cls none true false
    should could must already also just using been being because whether however here"""
STOP_WORDS = frozenset(_STOP.split())


def stem(word: str) -> str:
    """``word`` (lowercase) with a plural, ``-ing``/``-ed`` and a final ``e`` folded away."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes")):
        word = word[:-2]  # "fixes", "matches", "pushes" meet "fix", "match", "push"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) > 4:
        word = _undouble(word[:-2])
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    """A stem that doubled its last consonant for ``-ing``/``-ed`` (``popp``, ``mapp``,
    ``committ``) as its word is written (``pop``, ``map``, ``commit``); a double l, s, z or f
    is the word's own (``call``, ``pass``, ``buzz``, ``stuff``), as is a double vowel (``see``),
    and so is any double of a three-letter word (``add``, ``err``)."""
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _KEPT_DOUBLES:
        return word[:-1]
    return word


_KEPT_DOUBLES = frozenset("lszfaeiouy")


def words(text: str) -> list[str]:
    """The retrieval tokens of ``text``, in order (see the module docstring)."""
    out: list[str] = []
    cache = _SPLIT
    for run in _runs(text):
        split = cache.get(run)
        if split is None:
            split = _split(run)
        out += split
    return out


# A run of ASCII letters, digits and underscores is one `_TOKEN` (``raise_for_status``), or two
# when it starts with digits (``2to3``: ``2``, ``to3``). Runs are found by turning every other
# byte of the UTF-8 text into a space and splitting: twice as fast as a regular expression.
_IDENTIFIER_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_RUN_BYTES = bytes(c if c in _IDENTIFIER_BYTES else 0x20 for c in range(256))
# Run -> its retrieval tokens: the same identifiers recur across a codebase's files, and
# splitting and stemming one costs a hundred times a lookup. Bounded by clearing.
_SPLIT: dict[bytes, tuple[str, ...]] = {}
_SPLIT_MAX = 200_000
# Part of a token (as written) -> its word, or None: see `_part_word`.
_PART_WORD: dict[str, str | None] = {}
_DIGITS = b"0123456789"


def _runs(text: str) -> list[bytes]:
    """The runs of identifier characters of ``text``, in order."""
    return text.encode("utf-8", "surrogatepass").translate(_RUN_BYTES).split()


def _split(run: bytes) -> tuple[str, ...]:
    """The retrieval tokens of one run (see `_runs`), cached in `_SPLIT`."""
    text = run.decode("ascii")
    # A run is one token unless it starts with digits; `_PARTS` never matches across an
    # underscore, so the parts of a token are those of its pieces between underscores.
    tokens = _TOKEN.findall(text) if run[0] in _DIGITS else (text,)
    out: list[str] = []
    words = _PART_WORD
    for token in tokens:
        parts = _PARTS.findall(token)
        whole = token.strip("_").lower()
        if len(parts) > 1:
            if whole and whole not in STOP_WORDS:
                out.append(whole)
            for part in parts:
                word = words[part] if part in words else _part_word(part)
                if word is not None:
                    out.append(word)
        elif len(whole) > 1 and whole not in STOP_WORDS:
            out.append(stem(whole))
    if len(_SPLIT) >= _SPLIT_MAX:
        _SPLIT.clear()
    split = _SPLIT[run] = tuple(out)
    return split


def _part_word(part: str) -> str | None:
    """The word one part of a token gives (None for a stop word or a single letter), cached in
    `_PART_WORD`: the parts of identifiers recur even more than identifiers."""
    lower = part.lower()
    word = None if len(part) <= 1 or lower in STOP_WORDS else stem(lower)
    if len(_PART_WORD) >= _SPLIT_MAX:
        _PART_WORD.clear()
    _PART_WORD[part] = word
    return word


def bounded_words(texts: Iterable[str], *, repeat: int = 3, limit: int = 40_000) -> str:
    """The tokens of ``texts`` as one space-separated string, each token at most ``repeat``
    times (term frequency saturates anyway) and at most ``limit`` characters in all."""
    counts: dict[str, int] = {}
    # A run seen `repeat` times has given each of its tokens `repeat` times already: the rest
    # of its occurrences add nothing, and are not looked at again.
    seen: dict[bytes, int] = {}
    kept: list[str] = []
    keep = kept.append
    size = 0
    cache = _SPLIT
    for text in texts:
        for run in _runs(text):
            times = seen.get(run, 0)
            if times >= repeat:
                continue
            seen[run] = times + 1
            split = cache.get(run)
            if split is None:
                split = _split(run)
            for word in split:
                count = counts.get(word, 0) + 1
                counts[word] = count
                if count <= repeat:
                    size += len(word) + 1
                    if size > limit:
                        return " ".join(kept)
                    keep(word)
    return " ".join(kept)
