"""What the store keeps of a model's prose: bounded in size, with the API key taken out.

Every prose write goes through `clean_prose` (in `Store.save_prose`), so neither a provider that
quotes the ``Authorization`` header back nor a model that rambles can put a key or megabytes into
the database, `pith list`, `pith show` or the search index.

Redaction: each secret is replaced by ``[redacted]`` wherever it appears, also when broken up by
whitespace (spaces, newlines, tabs) and when only a part of it appears: any run of
`MIN_CHUNK` or more of its characters in order (whitespace between them ignored); and so are its
encoded forms (`secret_forms`: base64 at any alignment, standard or URL-safe, hex, reversed).
A key shorter than `MIN_SECRET_CHARS` is too short to be a secret, and would be found inside
ordinary words: `secret_problem` says so, and the client refuses it before any call.
`secret_pattern` is the same rule as one regular expression, for the raw text of a reply (cheap
even on megabytes of it; whitespace written as a JSON escape counts as whitespace there).

Caps (each cut text ends with `TRUNCATED`): `SHORT_CHARS` for ``summary`` and ``purpose``,
`LONG_CHARS` for ``quick_start`` and ``data_flow``, `ITEM_CHARS` per list item and gotcha text,
`MAX_ITEMS` items per list, `MAX_GOTCHAS` gotchas.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Iterable

import attrs

from .._models import Gotcha, Prose

__all__ = [
    "ITEM_CHARS",
    "LONG_CHARS",
    "MAX_GOTCHAS",
    "MAX_ITEMS",
    "MIN_CHUNK",
    "MIN_SECRET_CHARS",
    "REDACTED",
    "SHORT_CHARS",
    "TRUNCATED",
    "clean_prose",
    "redact",
    "secret_forms",
    "secret_pattern",
    "secret_problem",
]

SHORT_CHARS = 2_000
LONG_CHARS = 8_000
ITEM_CHARS = 1_000
MAX_ITEMS = 50
MAX_GOTCHAS = 30
MIN_CHUNK = 8
# Provider keys are 40 to 100+ characters; one under this could be an ordinary word.
MIN_SECRET_CHARS = 12
REDACTED = "[redacted]"
TRUNCATED = "… [truncated]"

_WHITESPACE = re.compile(r"\s+")


def clean_prose(prose: Prose, secrets: Iterable[str] = ()) -> Prose:
    """``prose`` with every text capped and every secret redacted (see the module docstring)."""
    texts: list[str] = []

    def cap(value: str, limit: int) -> str:
        texts.append(_cap(value, limit))
        return texts[-1]

    # Cap first (bounded work), then redact: a cut cannot leave a long readable chunk.
    capped = _map_texts(prose, cap)
    # A model's prose almost never quotes the key: one quick test over all its texts says so
    # (a piece across two texts may pass it; `redact` then finds nothing).
    dense = "".join("".join(texts).split())
    keys = tuple(s for s in secrets if (key := "".join(s.split())) and _finder(key).may_hold(dense))
    if not keys:
        return capped
    return _map_texts(capped, lambda value, _: redact(value, keys))


def _map_texts(prose: Prose, change: Callable[[str, int], str]) -> Prose:
    """``prose`` with ``change(text, its cap)`` applied to each of its texts (lists and gotchas
    cut to their caps)."""

    def items(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(change(v, ITEM_CHARS) for v in values[:MAX_ITEMS])

    return attrs.evolve(
        prose,
        summary=change(prose.summary, SHORT_CHARS),
        purpose=change(prose.purpose, SHORT_CHARS),
        gotchas=tuple(
            Gotcha(
                warning=change(g.warning, ITEM_CHARS),
                location=change(g.location, ITEM_CHARS),
                evidence=change(g.evidence, ITEM_CHARS),
                confidence=g.confidence[:16],
            )
            for g in prose.gotchas[:MAX_GOTCHAS]
        ),
        key_exports=items(prose.key_exports),
        patterns=items(prose.patterns),
        key_files=items(prose.key_files),
        public_api=items(prose.public_api),
        quick_start=None if prose.quick_start is None else change(prose.quick_start, LONG_CHARS),
        data_flow=None if prose.data_flow is None else change(prose.data_flow, LONG_CHARS),
        model=change(prose.model, ITEM_CHARS),
    )


def _cap(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: limit - len(TRUNCATED)] + TRUNCATED


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot be kept out of text without cutting ordinary words (too short),
    or None when it can."""
    key = _WHITESPACE.sub("", secret)
    if len(key) < MIN_SECRET_CHARS:
        return (
            f"the API key is {len(key)} characters long, too short to be a secret (at least "
            f"{MIN_SECRET_CHARS}): pith could not keep it out of what it stores without also "
            "cutting ordinary words"
        )
    return None


def secret_forms(secret: str) -> tuple[str, ...]:
    """The encoded forms of ``secret`` as they appear inside longer text: the part of its
    base64 that does not depend on what comes before or after it (at each of the three
    alignments, standard and URL-safe), its hex (lower and upper case), and its reverse."""
    key = _WHITESPACE.sub("", secret).encode()
    forms: set[str] = {key.hex(), key.hex().upper(), key.decode()[::-1]}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + key + b"\0\0").decode()
        # Characters that mix in bits of the text around it are left out at both ends.
        inner = encoded[(offset * 4 + 2) // 3 : (offset + len(key)) * 4 // 3]
        if len(inner) >= MIN_CHUNK:
            forms |= {inner, inner.replace("+", "-").replace("/", "_")}
    return tuple(sorted(forms))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret, whole, split by whitespace or in chunks of `MIN_CHUNK` or
    more characters, replaced by `REDACTED`; and each of its `secret_forms` the same way."""
    for secret in secrets:
        key = _WHITESPACE.sub("", secret)
        if not key:
            continue
        finder = _finder(key)
        # Most texts hold no piece of any form: a quick test of the text without its
        # whitespace says so (`_redact_one` changes a text only where it holds a piece).
        if not finder.may_hold("".join(text.split())):
            continue
        for form in finder.forms:
            text = _redact_one(text, form)
    return text


@attrs.frozen
class _Finder:
    """The forms `redact` takes out for one key (itself and its `secret_forms`), and a quick
    test for whether a text (without its whitespace) holds any piece `_redact_one` looks for
    in them."""

    forms: tuple[str, ...]
    pieces: re.Pattern[str]
    # Every 6 characters in a row of some piece, when every piece has 8 or more: a piece found
    # in a text then covers one of the text's 6-character runs that start at a multiple of 3.
    grams: frozenset[str] | None

    def may_hold(self, dense: str) -> bool:
        """False when ``dense`` holds no piece (True: it does)."""
        if self.grams is not None and self.grams.isdisjoint(_ALIGNED_RUNS.findall(dense)):
            return False  # the common case, at a fraction of the cost of the search below
        return self.pieces.search(dense) is not None


_ALIGNED_RUNS = re.compile("(?s)(?=(......))...")


@functools.lru_cache(maxsize=8)
def _finder(key: str) -> _Finder:
    """Made once per key: every prose written in a run is cleaned of the same key."""
    forms = (key, *secret_forms(key))
    pieces = {piece for form in forms for piece in _pieces(form)}
    grams = None
    if min(map(len, pieces)) >= 8:
        grams = frozenset(p[i : i + 6] for p in pieces for i in range(len(p) - 5))
    return _Finder(forms, re.compile("|".join(map(re.escape, sorted(pieces)))), grams)


def _pieces(key: str) -> list[str]:
    """The runs of ``key`` `_redact_one` redacts: each of `MIN_CHUNK` characters, or the whole
    of a shorter one."""
    if len(key) < MIN_CHUNK:
        return [key]
    return [key[start : start + MIN_CHUNK] for start in range(len(key) - MIN_CHUNK + 1)]


def secret_pattern(secret: str) -> re.Pattern[str]:
    """Matches ``secret`` whole with whitespace (or a JSON escape of it) anywhere inside, any
    run of `MIN_CHUNK` of its characters, and its `secret_forms` whole."""
    key = _WHITESPACE.sub("", secret)
    spaced = r"(?:\s|\\[nrt])*".join(map(re.escape, key))
    forms = [re.escape(form) for form in secret_forms(key)]
    if len(key) < MIN_CHUNK:
        return re.compile("|".join([spaced, *forms]))
    chunks = {key[i : i + MIN_CHUNK] for i in range(len(key) - MIN_CHUNK + 1)}
    return re.compile("|".join([spaced, *forms, *map(re.escape, sorted(chunks))]))


def _redact_one(text: str, key: str) -> str:
    # The text without whitespace, and where each of its characters was in the text.
    positions = [i for i, c in enumerate(text) if not c.isspace()]
    dense = "".join(text[i] for i in positions)
    covered = [False] * len(dense)
    for piece in _pieces(key):
        found = dense.find(piece)
        while found != -1:
            for i in range(found, found + len(piece)):
                covered[i] = True
            found = dense.find(piece, found + 1)
    if not any(covered):
        return text
    out: list[str] = []
    last = 0
    i = 0
    while i < len(dense):
        if not covered[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(dense) and covered[j + 1]:
            j += 1
        out.append(text[last : positions[i]])
        out.append(REDACTED)
        last = positions[j] + 1
        i = j + 1
    out.append(text[last:])
    return "".join(out)
