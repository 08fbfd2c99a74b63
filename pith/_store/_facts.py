"""The extracted facts: files (facts, outline, git history), directories' git history, READMEs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping

from .._models import FileFacts, GitFacts, Readme, converter
from ._connection import Connection, dumps
from ._outline import FileOutline, SymbolRow, UseRow, file_facts_from_row
from ._schema import LOOKUP_INDEXES, SYMBOLS_SCHEMA

__all__ = ["Facts"]


class Facts(Connection):
    def file_hashes(self) -> dict[str, str]:
        """File id -> content hash of every extracted file."""
        return dict(self._query("SELECT path, content_hash FROM files"))

    def file_git_json(self) -> dict[str, str | None]:
        """File id -> the stored git JSON text, to rewrite only what changed."""
        return dict(self._query("SELECT path, git FROM files"))

    def file_problems(self) -> dict[str, str]:
        """File id -> why it was not parsed, for every file with a problem."""
        # From the outline, which holds the same problem: reading it out of the facts parsed
        # every file's whole facts JSON, twice per extract, half of a rerun with nothing to do.
        return dict(
            self._query(
                "SELECT path, json_extract(outline, '$.problem') FROM files"
                " WHERE json_extract(outline, '$.problem') IS NOT NULL"
            )
        )

    def file_facts(self, path: str) -> FileFacts | None:
        """The facts of one file, git history included, or None for an unknown path."""
        rows = self._query("SELECT facts, git FROM files WHERE path = ?", (path,))
        if not rows:
            return None
        with self._decoding("file"):
            return file_facts_from_row(rows[0][0], rows[0][1])

    def all_file_facts(self) -> list[FileFacts]:
        """The facts of every file, sorted by path."""
        rows = self._query("SELECT facts, git FROM files ORDER BY path")
        with self._decoding("file"):
            return [file_facts_from_row(facts, git) for facts, git in rows]

    def file_outlines(self) -> list[FileOutline]:
        """The outline of every file (git history included), sorted by path: what `build`
        needs, without decoding every docstring and snippet."""
        rows = self._query("SELECT outline, git FROM files ORDER BY path")
        outlines = []
        with self._decoding("file outline"):
            for outline, git in rows:
                data = json.loads(outline)
                data["git"] = None if git is None else json.loads(git)
                outlines.append(converter.structure(data, FileOutline))
        return outlines

    def dir_git(self) -> dict[str, GitFacts]:
        """Directory ("" for the root) -> git history of everything below it."""
        rows = self._query("SELECT directory, git FROM dir_git")
        with self._decoding("git history"):
            return {d: converter.structure(json.loads(g), GitFacts) for d, g in rows}

    def readme(self, directory: str) -> Readme | None:
        """The README of a directory ("" or "." for the root), or None."""
        directory = "" if directory == "." else directory
        rows = self._query("SELECT name, text FROM readmes WHERE directory = ?", (directory,))
        if not rows:
            return None
        return Readme(directory=directory, name=rows[0][0], text=rows[0][1])

    def readmes(self) -> list[Readme]:
        rows = self._query("SELECT directory, name, text FROM readmes ORDER BY directory")
        return [Readme(directory=d, name=n, text=t) for d, n, t in rows]

    def write_files(
        self,
        upserts: Iterable[tuple[str, str, str, str]],
        deletes: Iterable[str] = (),
        *,
        symbols: Iterable[tuple[str, list[SymbolRow], list[UseRow]]] = (),
    ) -> None:
        """In one transaction: upsert ``(path, content_hash, facts_json(facts),
        outline_json(facts))`` rows (keeping their git column), replace the symbols and uses
        of each ``(path, symbol_rows(facts), use_rows(facts))`` in ``symbols``, and delete the
        files in ``deletes`` with their symbols and uses."""
        deletes = list(deletes)
        with self.transaction() as db:
            db.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in deletes))
            db.executemany(
                "INSERT INTO files (path, content_hash, facts, outline) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET content_hash = excluded.content_hash,"
                " facts = excluded.facts, outline = excluded.outline",
                upserts,
            )
            if self.schema_version < SYMBOLS_SCHEMA:
                return
            fresh = not deletes and not db.execute("SELECT 1 FROM symbols LIMIT 1").fetchall()
            if fresh:  # made once at the end: cheaper than row by row (same transaction)
                for name in LOOKUP_INDEXES:
                    db.execute(f"DROP INDEX IF EXISTS {name}")
            for path, symbol_list, use_list in symbols:
                if not fresh:
                    _delete_symbols(db, path)
                db.executemany(
                    "INSERT OR IGNORE INTO symbols VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    symbol_list,
                )
                db.executemany(
                    "INSERT INTO uses (path, line, scope, target, dotted, member, text)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    use_list,
                )
            for path in deletes:
                _delete_symbols(db, path)
            if fresh:
                for statement in LOOKUP_INDEXES.values():
                    db.execute(statement)

    def write_git(self, files: Mapping[str, str | None], dirs: Mapping[str, GitFacts]) -> None:
        """In one transaction: set the git JSON (``git_json``) of the given files, and replace
        the per-directory history."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE files SET git = ? WHERE path = ?", ((g, p) for p, g in files.items())
            )
            db.execute("DELETE FROM dir_git")
            db.executemany(
                "INSERT INTO dir_git VALUES (?, ?)", ((d, dumps(g)) for d, g in dirs.items())
            )

    def replace_readmes(self, readmes: Iterable[Readme]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM readmes")
            db.executemany(
                "INSERT INTO readmes VALUES (?, ?, ?)",
                ((r.directory, r.name, r.text) for r in readmes),
            )


def _delete_symbols(db: sqlite3.Connection, path: str) -> None:
    db.execute("DELETE FROM symbols WHERE path = ?", (path,))
    db.execute("DELETE FROM uses WHERE path = ?", (path,))
