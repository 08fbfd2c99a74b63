"""Searching the full-text index (see `pith._store._schema`) for a person's or agent's words."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from ._connection import Connection

__all__ = ["Search"]

_MAX_QUERY_TERMS = 16
_MAX_QUERY_CHARS = 500
_TOKEN = re.compile(r"[a-z0-9_]+")  # what `pith._tokens` produces: safe in a quoted FTS5 string


class Search(Connection):
    def search(self, query: str, limit: int = 10) -> list[tuple[str, str, float]]:
        """(id, type, score) of the nodes best matching ``query``'s words, best first: a word
        in the id or name weighs most, then docstrings, then prose. Any text is a valid query
        (its words are quoted, so no FTS syntax); each word also matches as a prefix. All
        words must match; when that finds nothing, any word may."""
        # A node named exactly as asked ("echo": `echo`, `Console.echo`) comes first.
        return self.ranked(
            "SELECT s.id, n.type, -bm25(search, 10.0, 8.0, 3.0, 1.0) AS score"
            " FROM search s JOIN nodes n ON n.rowid = s.rowid WHERE search MATCH ?1"
            " ORDER BY (lower(n.name) = ?2 OR lower(n.name) LIKE '%.' || ?2) DESC,"
            " score DESC, s.id LIMIT ?3",
            query,
            limit,
        )

    def ranked(self, sql: str, query: str, limit: int) -> list[tuple[str, str, float]]:
        """The rows ``(id, type, score)`` of a full-text ``sql`` whose ``?1`` is the match
        expression of ``query``'s words (all of them, else any), ``?2`` the query as a name in
        lower case and ``?3`` the limit."""
        words = re.findall(r"\w+", query[:_MAX_QUERY_CHARS])[:_MAX_QUERY_TERMS]
        if not words:
            return []
        # A whole word scores twice (it matches both), so "echo" finds `echo` before `echoing`.
        terms = [f'("{word}" OR "{word}"*)' for word in words]
        name = query.strip().lower()
        rows = self._query(sql, (" AND ".join(terms), name, limit))
        if not rows and len(terms) > 1:
            rows = self._query(sql, (" OR ".join(terms), name, limit))
        return [(str(i), str(t), round(float(score), 4)) for i, t, score in rows]

    def retrieve_each(
        self, terms: Sequence[str], weights: Sequence[float]
    ) -> tuple[int, dict[str, dict[str, float]]] | None:
        """(how many files the retrieval index holds, term -> {file id: its FTS5 bm25 score
        for that term alone}) for each of ``terms`` (`pith._tokens` tokens), ``weights`` per
        column (path, defines, names, text, body, history, prose). A file's score for a term
        is that of its text plus that of its prose (indexed apart, see `pith._store._schema`),
        and its score for all the terms at once is the sum of these, so a caller can weigh
        each term and see which terms a file matches. None when this store has no retrieval
        index (an older schema read where it cannot be migrated)."""
        *columns, prose_weight = (f"{float(w)!r}" for w in weights)
        sql = (
            f"SELECT n.id, -bm25(retrieval, {', '.join(columns)}) FROM retrieval r"
            " JOIN nodes n ON n.rowid = r.rowid WHERE retrieval MATCH ?"
        )
        prose_sql = (
            f"SELECT n.id, -bm25(retrieval_prose, {prose_weight}) FROM retrieval_prose r"
            " JOIN nodes n ON n.rowid = r.rowid WHERE retrieval_prose MATCH ?"
        )
        out: dict[str, dict[str, float]] = {}
        try:
            count = int(self._query("SELECT count(*) FROM retrieval_docsize")[0][0])
            for term in dict.fromkeys(t for t in terms if t and _TOKEN.fullmatch(t)):
                out[term] = {str(i): float(s) for i, s in self._query(sql, (f'"{term}"',))}
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        try:
            for term, scores in out.items():
                for i, s in self._query(prose_sql, (f'"{term}"',)):
                    scores[str(i)] = scores.get(str(i), 0.0) + float(s)
        except sqlite3.OperationalError as exc:
            # A store of schema 6 read where it cannot be migrated: its prose is in `retrieval`.
            if "no such table" not in str(exc):
                raise
        return count, out

    def symbol_openings(
        self, paths: Sequence[str], chars: int, containing: Sequence[str]
    ) -> list[tuple[str, str, str]]:
        """(path, qualname, the first ``chars`` characters of its docstring in lower case, or
        "") of the symbols in ``paths`` whose name or opening holds one of ``containing``
        (lowercase substrings); none in a store without the symbol tables."""
        safe = [t for t in dict.fromkeys(containing) if t and _TOKEN.fullmatch(t)]
        if not safe:
            return []
        # LIKE folds ASCII case without building a string per row (and its "_" matches any
        # character: a wider filter, never a narrower one).
        opening = f"substr(docstring, 1, {int(chars)})"
        wanted = " OR ".join(
            f"qualname LIKE '%{t}%' OR {opening} LIKE '%{t}%'" for t in safe
        )  # tokens are [a-z0-9_]: safe inside quotes
        sql = (
            f"SELECT path, qualname, lower(coalesce({opening}, '')) FROM symbols"
            " WHERE path IN ({marks}) AND (" + wanted + ")"
        )
        try:
            rows = self._query_in(sql, paths)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        return [(str(p), str(q), str(d)) for p, q, d in rows]

    def defining(self, names: Sequence[str]) -> dict[str, set[str]]:
        """Name -> the file ids that define a class, function or method of that name (lowercase,
        whole: ``raise_for_status``, ``functionauth``)."""
        out: dict[str, set[str]] = {}
        for name in dict.fromkeys(n for n in names if _TOKEN.fullmatch(n)):
            try:
                rows = self._query(
                    "SELECT n.id FROM retrieval r JOIN nodes n ON n.rowid = r.rowid"
                    " WHERE retrieval MATCH ? LIMIT 50",
                    (f'defines : "{name}"',),
                )
            except sqlite3.OperationalError:
                return {}
            out[name] = {str(row[0]) for row in rows}
        return out

    def retrieval_fields(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """File id -> (its definitions' names, its docstrings and signatures) as indexed."""
        try:
            rows = self._query_in(
                "SELECT n.id, r.names, r.text FROM retrieval r JOIN nodes n"
                " ON n.rowid = r.rowid WHERE n.id IN ({marks})",
                ids,
            )
        except sqlite3.OperationalError:
            return {}
        return {str(i): (str(a or ""), str(b or "")) for i, a, b in rows}

    def docstrings(self, ids: Sequence[str]) -> dict[str, str]:
        """Id -> the docstring of each of ``ids`` that has one: a node's (a package's is its
        ``__init__.py``'s) as indexed for search, a symbol's as extracted."""
        try:
            rows = self._query_in(
                "SELECT n.id, s.docstring FROM search s JOIN nodes n ON n.rowid = s.rowid"
                " WHERE n.id IN ({marks})",
                ids,
            )
        except sqlite3.OperationalError:  # an older store's search index
            rows = []
        found = {str(i): str(d) for i, d in rows if d}
        rest = [i for i in ids if i not in found and ":" in i]
        rows = self._query_in("SELECT id, docstring FROM symbols WHERE id IN ({marks})", rest)
        return found | {str(i): str(d) for i, d in rows if d}

    def co_changed(self, ids: Sequence[str]) -> dict[str, tuple[int, list[tuple[str, int]]]]:
        """File id -> (its commits, the files most often committed with it that are files of
        the project now: ``[(file id, commits together)]``, most first), for those of ``ids``
        with a git history (`GitFacts.co_changed`)."""
        rows = self._query_in(
            "SELECT path, json_extract(git, '$.commits'), json_extract(git, '$.co_changed')"
            " FROM files WHERE path IN ({marks}) AND git IS NOT NULL",
            ids,
        )
        found = {str(p): (int(c or 0), json.loads(t) if t else []) for p, c, t in rows}
        partners = {path for _, pairs in found.values() for path, _ in pairs}
        present = {
            str(r[0])
            for r in self._query_in("SELECT path FROM files WHERE path IN ({marks})", partners)
        }
        return {
            path: (commits, [(str(p), int(n)) for p, n in pairs if p in present])
            for path, (commits, pairs) in found.items()
        }

    def definitions_of(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """File id -> ``{"lines", "docstring", "functions", "classes"}`` as stored in its facts
        (plain JSON, methods inside their classes): what a briefing reads of many files,
        without decoding their whole facts."""
        rows = self._query_in(
            "SELECT path, json_extract(facts, '$.lines'), json_extract(facts, '$.docstring'),"
            " json_extract(facts, '$.functions'), json_extract(facts, '$.classes')"
            " FROM files WHERE path IN ({marks})",
            ids,
        )
        with self._decoding("facts"):
            return {
                str(path): {
                    "lines": int(lines or 0),
                    "docstring": docstring,
                    "functions": json.loads(functions or "[]"),
                    "classes": json.loads(classes or "[]"),
                }
                for path, lines, docstring, functions, classes in rows
            }
