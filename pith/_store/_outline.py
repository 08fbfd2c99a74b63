"""How a file's facts are stored: the full facts (JSON), and the small outline `build` reads."""

from __future__ import annotations

import json

import attrs

from .._models import ClassFacts, FileFacts, FunctionFacts, GitFacts, converter
from .._roles import language_of
from ._connection import dumps

__all__ = [
    "LARGE_CLASS_LINES",
    "Definition",
    "FileOutline",
    "SymbolRow",
    "UseRow",
    "facts_json",
    "file_facts_from_row",
    "git_json",
    "outline_json",
    "symbol_rows",
    "use_rows",
]


LARGE_CLASS_LINES = 1000  # a public class this long: its long or complex methods get nodes
_SCRIPTS = frozenset({"TypeScript", "JavaScript"})
# What a file's facts hold that is stored elsewhere than their JSON.
_ELSEWHERE = ("git", "symbols", "uses", "bindings", "star_imports")

SymbolRow = tuple[str, str, str, str, str, int, int, str, str | None, str | None]
UseRow = tuple[str, int, str, str, str, int, str]


def facts_json(facts: FileFacts) -> str:
    """The JSON stored for a file's facts: everything but ``git`` (kept in its own column) and
    the symbols, uses and bindings (in tables and the outline)."""
    # Emptied first: unstructuring a file's thousands of uses only to drop them cost more
    # than the rest of its facts.
    emptied = attrs.evolve(facts, git=None, symbols=(), uses=(), bindings=(), star_imports=())
    data = converter.unstructure(emptied)
    for key in _ELSEWHERE:
        del data[key]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@attrs.frozen
class Definition:
    """A public top-level function or class, as `build` sees it."""

    name: str
    qualname: str
    kind: str  # "function" | "class" | "method" (of a class of `LARGE_CLASS_LINES` or more)
    start_line: int
    end_line: int
    complexity: int
    source_hash: str
    # A TypeScript/JavaScript `export`: its declared public API (Python's: always False)
    exported: bool = False


@attrs.frozen
class FileOutline:
    """What `build` needs of a file's facts. Stored in its own small JSON column, because
    decoding every file's full facts (docstrings, snippets, methods) would cost a large build
    more than all the rest of it."""

    path: str
    content_hash: str
    lines: int = 0
    complexity: int = 0  # sum over its top-level functions and classes
    problem: str | None = None
    # (resolved file id, imported names) of each import that resolved to a project file
    imports: list[tuple[str, list[str]]] = attrs.Factory(list)
    definitions: list[Definition] = attrs.Factory(list)
    git: GitFacts | None = None
    # (local name, file id, dotted name) of each import binding a project name; the files
    # `from x import *` reads (see `pith._models.FileFacts`)
    bindings: list[tuple[str, str, str]] = attrs.Factory(list)
    star_imports: list[str] = attrs.Factory(list)

    @classmethod
    def from_facts(cls, facts: FileFacts) -> FileOutline:
        every: list[FunctionFacts | ClassFacts] = [*facts.functions, *facts.classes]
        public = [d for d in every if not d.name.startswith("_")]
        exports = frozenset(facts.exports) if language_of(facts.path) in _SCRIPTS else frozenset()
        definitions = [
            Definition(
                name=d.name,
                qualname=d.qualname,
                kind="class" if isinstance(d, ClassFacts) else "function",
                start_line=d.start_line,
                end_line=d.end_line,
                complexity=d.complexity,
                source_hash=d.source_hash,
                exported=d.name in exports,
            )
            for d in public
        ]
        # The methods of a large class may get nodes of their own (see `pith._build`): a
        # class of thousands of lines is not summed up by one page.
        definitions += [
            Definition(
                name=m.name,
                qualname=m.qualname,
                kind="method",
                start_line=m.start_line,
                end_line=m.end_line,
                complexity=m.complexity,
                source_hash=m.source_hash,
            )
            for c in public
            if isinstance(c, ClassFacts) and c.end_line - c.start_line + 1 >= LARGE_CLASS_LINES
            for m in c.methods
            if not m.name.startswith("_") or m.name in ("__init__", "__call__")
        ]
        return cls(
            path=facts.path,
            content_hash=facts.content_hash,
            lines=facts.lines,
            complexity=sum(f.complexity for f in facts.functions)
            + sum(c.complexity for c in facts.classes),
            problem=facts.problem,
            imports=[(i.resolved, list(i.names)) for i in facts.imports if i.resolved],
            definitions=definitions,
            git=facts.git,
            bindings=[tuple(b) for b in facts.bindings],  # type: ignore[misc]
            star_imports=list(facts.star_imports),
        )


def outline_json(facts: FileFacts) -> str:
    """The JSON stored as a file's outline (without ``git``, kept in its own column)."""
    data = converter.unstructure(FileOutline.from_facts(facts))
    del data["git"]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def symbol_rows(facts: FileFacts) -> list[SymbolRow]:
    """The rows of the ``symbols`` table for a file's symbols."""
    return [
        (
            f"{facts.path}:{s.qualname}",
            facts.path,
            s.qualname,
            s.name,
            str(s.kind),
            s.start_line,
            s.end_line,
            s.signature,
            s.docstring,
            json.dumps(s.bases) if s.bases else None,
        )
        for s in facts.symbols
    ]


def use_rows(facts: FileFacts) -> list[UseRow]:
    """The rows of the ``uses`` table for a file's uses."""
    return [
        (facts.path, u.line, u.scope, u.target, u.dotted, int(u.member), u.text) for u in facts.uses
    ]


def git_json(git: GitFacts | None) -> str | None:
    return None if git is None else dumps(git)


def file_facts_from_row(facts: str, git: str | None) -> FileFacts:
    data = json.loads(facts)
    data["git"] = None if git is None else json.loads(git)
    return converter.structure(data, FileFacts)
