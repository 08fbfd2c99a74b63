"""Searching the full-text index (see `pith._store._schema`) for a person's or agent's words."""

from __future__ import annotations

import re

from ._connection import Connection

__all__ = ["Search"]

_MAX_QUERY_TERMS = 16
_MAX_QUERY_CHARS = 500


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
