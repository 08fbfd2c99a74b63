"""The retrieval tokens extract stores are those of their plain definition.

`pith._tokens.words` and `bounded_words` split runs of identifier characters (not tokens), cache
each run's words and skip the occurrences that can no longer add a word (for extract's speed);
these tests hold them to the straightforward reading of their docstrings, written out here, on
real source text and on generated text.
"""

from __future__ import annotations

import re
import sysconfig
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pith._tokens import STOP_WORDS, _runs, _split, bounded_words, stem, words

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")  # the module docstring's tokens
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")  # snake, Camel, digits


def plain_split(run: bytes) -> tuple[str, ...]:
    """The module docstring's words of one run of identifier characters: each token whole
    (lowercased, unless it is a stop word), then its stemmed parts, split at underscores and
    CamelCase."""
    out: list[str] = []
    for token in _TOKEN.findall(run.decode("ascii")):
        pieces = [p for p in token.split("_") if p]
        parts = [part for piece in pieces for part in _PARTS.findall(piece)]
        whole = token.strip("_").lower()
        if len(parts) > 1:
            if whole and whole not in STOP_WORDS:
                out.append(whole)
            out += [stem(p.lower()) for p in parts if len(p) > 1 and p.lower() not in STOP_WORDS]
        elif len(whole) > 1 and whole not in STOP_WORDS:
            out.append(stem(whole))
    return tuple(out)


def plain_words(text: str) -> list[str]:
    """Each token's words (`_split` of the token alone), in order."""
    return [word for token in _TOKEN.findall(text) for word in _split(token.encode())]


def plain_bounded_words(texts: list[str], repeat: int, limit: int) -> str:
    counts: Counter[str] = Counter()
    kept: list[str] = []
    size = 0
    for text in texts:
        for token in plain_words(text):
            counts[token] += 1
            if counts[token] > repeat:
                continue
            size += len(token) + 1
            if size > limit:
                return " ".join(kept)
            kept.append(token)
    return " ".join(kept)


def test_digits_then_letters_are_two_tokens() -> None:
    text = "2to3 9_x x9 __init__ 3.14 404NotFound"
    assert words(text) == plain_words(text)
    assert words("2to3 404NotFound") == ["to3", "404", "notfound", "found"]


_ALPHABET = st.sampled_from([*"aAbBzZ_09 .\n-é", "Http", "URL", "the", "self", "ing"])


@given(
    texts=st.lists(st.lists(_ALPHABET, max_size=60).map("".join), max_size=4),
    repeat=st.integers(1, 4),
    limit=st.integers(1, 200),
)
def test_bounded_words_is_its_definition(texts: list[str], repeat: int, limit: int) -> None:
    assert bounded_words(texts, repeat=repeat, limit=limit) == plain_bounded_words(
        texts, repeat, limit
    )
    for text in texts:
        assert words(text) == plain_words(text)
        for run in _runs(text):
            assert _split(run) == plain_split(run)


def test_bounded_words_on_real_source() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ("argparse.py", "http/client.py", "json/decoder.py", "unittest/mock.py"):
        text = (stdlib / name).read_text(encoding="utf-8")
        for run in set(_runs(text)):
            assert _split(run) == plain_split(run)
        for repeat, limit in ((3, 40_000), (2, 8_000), (1, 500), (3, 10**9)):
            assert bounded_words([text, text[:300]], repeat=repeat, limit=limit) == (
                plain_bounded_words([text, text[:300]], repeat, limit)
            )
