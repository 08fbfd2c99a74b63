"""A file's retrieval words (`pith._models.SearchTerms`), from its facts and its source text."""

from __future__ import annotations

from collections.abc import Iterator

from .._models import ClassFacts, FileFacts, FunctionFacts, SearchTerms
from .._tokens import bounded_words

__all__ = ["search_terms"]

BODY_CHARS = 40_000  # of words from one file's source: its vocabulary, not all of it


def search_terms(facts: FileFacts, text: str) -> SearchTerms:
    """What `pith ask` ranks ``facts``' file by; ``text`` is its source."""
    definitions = list(_definitions([*facts.functions, *facts.classes]))
    names = bounded_words((d.qualname for d in definitions), repeat=2, limit=8_000)
    described = [facts.docstring or "", *facts.exports]
    for d in definitions:
        described += [d.docstring or "", *d.decorators]
        if isinstance(d, FunctionFacts):
            described.append(d.signature)
        else:
            described += d.bases
    described += [k.text for k in facts.key_statements]
    defines = dict.fromkeys(d.name.strip("_").lower() for d in definitions)
    return SearchTerms(
        defines=" ".join(n for n in defines if n),
        names=names,
        text=bounded_words(described, repeat=3, limit=16_000),
        body=bounded_words([text], repeat=3, limit=BODY_CHARS),
    )


def _definitions(
    definitions: list[FunctionFacts | ClassFacts],
) -> Iterator[FunctionFacts | ClassFacts]:
    for definition in definitions:
        yield definition
        if isinstance(definition, ClassFacts):
            yield from _definitions(list(definition.methods))
