"""Symbols (every class, method, function and module constant) and the references between them.

Extract writes each file's symbols and raw uses with the file (`Facts.write_files`); build
resolves the uses into references (`replace_graph`); readers ask here. A store of an older
schema opened read-only has no such tables: it answers as if there were no symbols.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from .._models import SymbolKind
from ._schema import SYMBOLS_SCHEMA
from ._search import Search

__all__ = ["Reference", "Symbol", "SymbolStore"]


@attrs.frozen
class Symbol:
    """A symbol as stored: ``id`` is ``<file id>:<qualname>``."""

    id: str
    path: str
    qualname: str
    name: str
    kind: SymbolKind
    start_line: int
    end_line: int
    signature: str
    docstring: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "path": self.path,
            "name": self.qualname,
            "lines": [self.start_line, self.end_line],
            "signature": self.signature,
            "docstring": self.docstring,
        }


@attrs.frozen
class Reference:
    """One use of a symbol: in file ``path`` at ``line``, inside ``caller`` (a symbol id, or
    the file id at module level), the line's text."""

    target: str
    path: str
    line: int
    caller: str
    text: str


_SYMBOL_COLUMNS = "id, path, qualname, name, kind, start_line, end_line, signature, docstring"


_REFERENCE = "r.target, u.path, u.line, u.scope, u.text FROM refs r JOIN uses u ON u.id = r.use"


def _reference(row: tuple[Any, ...]) -> Reference:
    target, path, line, scope, text = row
    return Reference(target, path, line, f"{path}:{scope}" if scope else path, text)


def _symbol(row: tuple[Any, ...]) -> Symbol:
    id_, path, qualname, name, kind, start, end, signature, docstring = row
    return Symbol(id_, path, qualname, name, SymbolKind(kind), start, end, signature, docstring)


class SymbolStore(Search):
    @property
    def has_symbols(self) -> bool:
        return self.schema_version >= SYMBOLS_SCHEMA

    def symbol(self, id: str) -> Symbol | None:
        if not self.has_symbols:
            return None
        rows = self._query(f"SELECT {_SYMBOL_COLUMNS} FROM symbols WHERE id = ?", (id,))
        return _symbol(rows[0]) if rows else None

    def symbols_named(self, name: str, limit: int = 50) -> list[Symbol]:
        """The symbols whose name or qualified name is ``name`` (``send``, ``Client.send``),
        sorted by id."""
        if not self.has_symbols:
            return []
        last = name.rpartition(".")[2]
        rows = self._query(
            f"SELECT {_SYMBOL_COLUMNS} FROM symbols WHERE name = ? AND (qualname = ?"
            " OR qualname LIKE '%.' || ?) ORDER BY id LIMIT ?",
            (last, name, name, limit),
        )
        return [_symbol(row) for row in rows]

    def symbol_kinds(self, ids: Iterable[str]) -> dict[str, tuple[str, int]]:
        """Id -> (kind, first line) of the symbols among ``ids``."""
        wanted = list(dict.fromkeys(ids))
        if not self.has_symbols:
            return {}
        out: dict[str, tuple[str, int]] = {}
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT id, kind, start_line FROM symbols WHERE id IN ({marks})", chunk
            )
            out.update((str(i), (str(k), int(line))) for i, k, line in rows)
        return out

    def symbols_in(self, path: str) -> list[Symbol]:
        """The symbols of one file, in source order."""
        if not self.has_symbols:
            return []
        rows = self._query(
            f"SELECT {_SYMBOL_COLUMNS} FROM symbols WHERE path = ? ORDER BY start_line, id",
            (path,),
        )
        return [_symbol(row) for row in rows]

    def symbol_outlines(self) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
        """(file id, qualname, kind, bases) of every symbol: what build resolves uses against."""
        if not self.has_symbols:
            return []
        rows = self._query("SELECT path, qualname, kind, bases FROM symbols")
        return [(p, q, k, [(f, d) for f, d in json.loads(b)] if b else []) for p, q, k, b in rows]

    def uses_to_resolve(self) -> Iterator[tuple[int, str, int, str, str, str, int]]:
        """Every use that leads out of its file or to a base class's member, which build
        resolves (the others are resolved already): (id, file, line, scope, target file,
        dotted, member)."""
        if not self.has_symbols:
            return iter(())
        return iter(
            self._query(
                "SELECT id, path, line, scope, target, dotted, member FROM uses"
                " WHERE target != path OR member"
            )
        )

    def references_to(self, targets: Iterable[str], limit: int = 10_000) -> list[Reference]:
        """The references to any of ``targets`` (symbol ids), by file and line."""
        wanted = list(dict.fromkeys(targets))
        if not self.has_symbols or not wanted:
            return []
        out: list[Reference] = []
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT {_REFERENCE} WHERE r.target IN ({marks}) ORDER BY u.path, u.line LIMIT ?",
                [*chunk, limit],
            )
            out += [_reference(row) for row in rows]
        out.sort(key=lambda r: (r.path, r.line, r.target))
        return out[:limit]

    def references_in_file_to(self, prefix: str, limit: int = 10_000) -> list[Reference]:
        """The references to any symbol of file ``prefix`` (its file id)."""
        if not self.has_symbols:
            return []
        rows = self._query(
            f"SELECT {_REFERENCE} WHERE r.target >= ? AND r.target < ?"
            " ORDER BY u.path, u.line LIMIT ?",
            (f"{prefix}:", f"{prefix};", limit),
        )
        return [_reference(row) for row in rows]

    def references_within(self, id: str, limit: int = 10_000) -> list[Reference]:
        """The references to symbol ``id`` and to its members (a class's methods)."""
        if not self.has_symbols:
            return []
        rows = self._query(
            f"SELECT {_REFERENCE} WHERE r.target = ? OR (r.target >= ? AND r.target < ?)"
            " ORDER BY u.path, u.line LIMIT ?",
            (id, f"{id}.", f"{id}/", limit),
        )
        return [_reference(row) for row in rows]

    def reference_count(self, id: str) -> int:
        """How many references symbol ``id`` has."""
        if not self.has_symbols:
            return 0
        return int(self._query("SELECT count(*) FROM refs WHERE target = ?", (id,))[0][0])

    def reference_counts(self, ids: Iterable[str]) -> dict[str, int]:
        """Symbol id -> how many references it has, for those of ``ids`` that have any."""
        wanted = list(dict.fromkeys(ids))
        if not self.has_symbols or not wanted:
            return {}
        out: dict[str, int] = {}
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT target, count(*) FROM refs WHERE target IN ({marks}) GROUP BY target",
                chunk,
            )
            out.update((str(t), int(n)) for t, n in rows)
        return out

    def unresolved_uses(self, path: str) -> int:
        """How many uses of file ``path``'s names lead nowhere it defines (dynamic, or gone)."""
        if not self.has_symbols:
            return 0
        rows = self._query("SELECT uses FROM unresolved WHERE target = ?", (path,))
        return int(rows[0][0]) if rows else 0
