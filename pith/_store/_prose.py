"""Prose: one row per node id, with the source hash it was written from.

Prose survives a rebuild and is stale exactly when that hash differs from the node's current
``source_hash``; the prose of a removed node is kept (it was paid for) until `prune_prose`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from .._llm._redact import SHORT_CHARS, clean_prose
from .._models import Prose, converter
from ._connection import Connection, dumps
from ._schema import PROSE_TEXT, RETRIEVAL_PROSE

__all__ = ["CHILDREN_CHANGED", "ProseStore"]

# The source hash a module's prose gets when a child's prose changes: matches no node, so stale.
CHILDREN_CHANGED = "children-changed"


class ProseStore(Connection):
    def prose(self, node_id: str) -> Prose | None:
        rows = self._query("SELECT prose FROM prose WHERE node_id = ?", (node_id,))
        with self._decoding("prose"):
            return converter.structure(json.loads(rows[0][0]), Prose) if rows else None

    def save_prose(self, node_id: str, prose: Prose) -> None:
        """Store the prose of a node, committed at once (one transaction): bounded in size and
        with `secrets` redacted (`pith._redact.clean_prose`)."""
        error = self.save_prose_many([(node_id, prose)])[0]
        if error is not None:
            raise error

    def save_prose_many(self, items: Sequence[tuple[str, Prose]]) -> list[Exception | None]:
        """Store the prose of several nodes, as `save_prose` stores each, in one transaction
        (its commit costs more than the writes of a few nodes): each is saved once the call
        returns. A prose that cannot be made ready for the store (its error is in the list, in
        its place; None for each one saved) costs only itself; a write the store refuses (a
        full disk, a read-only file) raises, and none of ``items`` is saved."""
        ready: list[tuple[str, str, str] | Exception] = []
        for node_id, prose in items:
            try:
                cleaned = clean_prose(prose, self.secrets)
                ready.append((node_id, cleaned.source_hash, dumps(cleaned)))
            except Exception as exc:  # that prose's own failure, not the store's
                ready.append(exc)
        with self.transaction() as db:
            for row in ready:
                if not isinstance(row, Exception):
                    self._write_prose(db, *row)
        return [row if isinstance(row, Exception) else None for row in ready]

    @staticmethod
    def _write_prose(db: sqlite3.Connection, node_id: str, source_hash: str, prose: str) -> None:
        db.execute("INSERT OR REPLACE INTO prose VALUES (?, ?, ?)", (node_id, source_hash, prose))
        # The package above was written from its children's summaries: one changed, so its
        # prose is stale now (it is rewritten after this child, bottom-up).
        db.execute(
            "UPDATE prose SET source_hash = ? WHERE node_id IN (SELECT e.source FROM edges e"
            " JOIN nodes n ON n.id = e.source"
            " WHERE e.target = ? AND e.type = 'contains' AND n.type = 'module')",
            (CHILDREN_CHANGED, node_id),
        )
        db.execute(
            f"UPDATE search SET prose = (SELECT {PROSE_TEXT} FROM prose p"
            " WHERE p.node_id = ?) WHERE rowid = (SELECT rowid FROM nodes WHERE id = ?)",
            (node_id, node_id),
        )
        # A file's prose words have a retrieval table of their own: only they are tokenized.
        db.execute(
            f"INSERT OR REPLACE INTO retrieval_prose (rowid, prose) {RETRIEVAL_PROSE} AND n.id = ?",
            (node_id,),
        )

    def contained_summaries(self, node_id: str) -> list[tuple[str, str | None, str | None]]:
        """(id, node type or None, summary or None) of each node that ``node_id`` contains,
        by id: what a package's prompt lists, in one query (its summary read out of the prose
        JSON, not the whole prose decoded)."""
        rows = self._query(
            "SELECT e.target, n.type, json_extract(p.prose, '$.summary') FROM edges e"
            " LEFT JOIN nodes n ON n.id = e.target LEFT JOIN prose p ON p.node_id = e.target"
            " WHERE e.source = ? AND e.type = 'contains' ORDER BY e.target",
            (node_id,),
        )
        return [(str(i), t, None if s is None else str(s)) for i, t, s in rows]

    def prose_written_before(self, when: str) -> set[str]:
        """Ids whose prose was generated before ``when`` (ISO 8601, UTC)."""
        rows = self._query(
            "SELECT node_id FROM prose WHERE json_extract(prose, '$.generated_at') < ?", (when,)
        )
        return {str(row[0]) for row in rows}

    def orphaned_prose(self) -> int:
        """How many prose rows belong to no node (kept until `prune_prose`)."""
        return int(
            self._query("SELECT count(*) FROM prose WHERE node_id NOT IN (SELECT id FROM nodes)")[
                0
            ][0]
        )

    def prune_prose(self) -> int:
        """Delete the prose of nodes that no longer exist; return how many were deleted."""
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM prose WHERE node_id NOT IN (SELECT id FROM nodes)")
            return cursor.rowcount

    def prose_source_hashes(self) -> dict[str, str]:
        """Node id -> the source hash its prose was written from (stale iff != node's)."""
        return dict(self._query("SELECT node_id, source_hash FROM prose"))

    def prose_summaries(self) -> dict[str, tuple[str, bool]]:
        """Node id -> (summary, stale) for every node that has prose."""
        rows = self._query(
            "SELECT p.node_id, p.prose, p.source_hash != n.source_hash"
            " FROM prose p JOIN nodes n ON n.id = p.node_id"
        )
        with self._decoding("prose"):
            return {
                i: (str(json.loads(p).get("summary", ""))[:SHORT_CHARS], bool(s))
                for i, p, s in rows
            }

    def prose_counts(self) -> dict[str, int]:
        """{"current": n, "stale": n, "missing": n} over the current nodes."""
        (current, stale, missing) = self._query(
            "SELECT"
            " coalesce(sum(p.source_hash = n.source_hash), 0),"
            " coalesce(sum(p.source_hash != n.source_hash), 0),"
            " coalesce(sum(p.node_id IS NULL), 0)"
            " FROM nodes n LEFT JOIN prose p ON p.node_id = n.id"
        )[0]
        return {"current": current, "stale": stale, "missing": missing}
