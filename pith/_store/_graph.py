"""The node graph: nodes and edges, replaced whole by every build."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from .._models import Edge, EdgeType, Node, NodeType
from ._connection import Connection
from ._schema import REFS_INDEX, REINDEX, SYMBOLS_SCHEMA

__all__ = ["Graph"]


class Graph(Connection):
    def nodes(self, type: NodeType | None = None) -> list[Node]:
        """Every node, or every node of one type, sorted by id."""
        if type is None:
            rows = self._query("SELECT * FROM nodes ORDER BY id")
        else:
            rows = self._query("SELECT * FROM nodes WHERE type = ? ORDER BY id", (str(type),))
        with self._decoding("node"):
            return [_node_from_row(row) for row in rows]

    def node_index(self, type: NodeType | None = None) -> list[tuple[str, NodeType, str]]:
        """``(id, type, path)`` of every node (or every node of one type), sorted by id: what
        ``nodes`` gives without parsing each node's metadata (a listing of thousands)."""
        if type is None:
            rows = self._query("SELECT id, type, path FROM nodes ORDER BY id")
        else:
            rows = self._query(
                "SELECT id, type, path FROM nodes WHERE type = ? ORDER BY id", (str(type),)
            )
        return [(id_, NodeType(type_), path) for id_, type_, path in rows]

    def node(self, id: str) -> Node | None:
        rows = self._query("SELECT * FROM nodes WHERE id = ?", (id,))
        with self._decoding("node"):
            return _node_from_row(rows[0]) if rows else None

    def node_ids(self) -> list[str]:
        return [row[0] for row in self._query("SELECT id FROM nodes ORDER BY id")]

    def node_counts(self) -> dict[NodeType, int]:
        """Number of nodes per type, every type present (0 when none)."""
        counts = dict.fromkeys(NodeType, 0)
        for type_, count in self._query("SELECT type, count(*) FROM nodes GROUP BY type"):
            counts[NodeType(type_)] = count
        return counts

    def edge_count(self) -> int:
        return int(self._query("SELECT count(*) FROM edges")[0][0])

    def edges(self, source: str | None = None, type: EdgeType | None = None) -> list[Edge]:
        """Edges from ``source`` (all when None), optionally of one type; sorted."""
        sql = "SELECT source, target, type FROM edges"
        clauses, params = [], []
        if source is not None:
            clauses.append("source = ?")
            params.append(source)
        if type is not None:
            clauses.append("type = ?")
            params.append(str(type))
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY source, type, target"
        return [Edge(s, t, EdgeType(k)) for s, t, k in self._query(sql, params)]

    def edges_to(self, target: str, type: EdgeType | None = None) -> list[Edge]:
        """Edges into ``target``, optionally of one type; sorted."""
        sql = "SELECT source, target, type FROM edges WHERE target = ?"
        params = [target]
        if type is not None:
            sql += " AND type = ?"
            params.append(str(type))
        sql += " ORDER BY source, type"
        return [Edge(s, t, EdgeType(k)) for s, t, k in self._query(sql, params)]

    def replace_graph(
        self,
        nodes: Iterable[Node],
        edges: Iterable[Edge],
        meta: Mapping[str, str] | None = None,
        *,
        references: Iterable[tuple[str, int]] = (),
        unresolved: Mapping[str, int] | None = None,
    ) -> None:
        """In one transaction: replace every node and edge, the references ``(target symbol
        id, use id)`` of the uses `uses_to_resolve` gave (the others are resolved already)
        and the per-file counts of unresolved uses; drop the prose of
        nodes that are gone (prose of surviving nodes is kept; its staleness follows from the
        hashes), and set ``meta``."""
        with self.transaction() as db:
            if self.schema_version >= SYMBOLS_SCHEMA:
                db.execute("DROP INDEX IF EXISTS refs_target")  # made again after the rows
                db.execute("DELETE FROM refs")
                db.execute("DELETE FROM unresolved")
                # A use in its own file (not through a base class) names its symbol already.
                db.execute(
                    "INSERT INTO refs SELECT target || ':' || dotted, id FROM uses"
                    " WHERE target = path AND NOT member"
                )
                db.executemany("INSERT INTO refs VALUES (?, ?)", references)
                db.execute(REFS_INDEX)
                db.executemany("INSERT INTO unresolved VALUES (?, ?)", (unresolved or {}).items())
            db.execute("DELETE FROM nodes")
            db.execute("DELETE FROM edges")
            db.executemany(
                "INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (
                        n.id,
                        str(n.type),
                        n.path,
                        n.name,
                        n.source_hash,
                        json.dumps(n.metadata, ensure_ascii=False, separators=(",", ":")),
                    )
                    for n in nodes
                ),
            )
            db.executemany(
                "INSERT OR IGNORE INTO edges VALUES (?, ?, ?)",
                ((e.source, e.target, str(e.type)) for e in edges),
            )
            # The prose of nodes that are gone is kept (it was paid for): a node that comes back
            # with the same source gets it back for free. `prune_prose` deletes it.
            for statement in REINDEX.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", (meta or {}).items())

    def suggest_ids(self, id: str, n: int = 5) -> list[str]:
        """The ids closest to ``id`` (for a mistyped ``pith show``), best first."""
        import difflib  # for a mistyped id only: read commands start without it

        ids = self.node_ids()
        close = difflib.get_close_matches(id, ids, n=n, cutoff=0.5)
        if len(close) < n:
            # A bare name ("send") should find "pkg/client.py:Client.send".
            tail = [i for i in ids if i.endswith((f"/{id}", f":{id}", f".{id}")) or id in i]
            close += [i for i in tail if i not in close][: n - len(close)]
        return close

    def briefs(self, ids: Iterable[str]) -> dict[str, tuple[str, str | None, bool]]:
        """Id -> (type, summary or None, stale) for the nodes among ``ids`` that exist."""
        rows = self._query_in(
            "SELECT n.id, n.type, json_extract(p.prose, '$.summary'),"
            " p.source_hash IS NOT NULL AND p.source_hash != n.source_hash"
            " FROM nodes n LEFT JOIN prose p ON p.node_id = n.id WHERE n.id IN ({marks})",
            ids,
        )
        return {i: (str(t), s, bool(stale)) for i, t, s, stale in rows}


def _node_from_row(row: tuple[str, str, str, str, str, str]) -> Node:
    id_, type_, path, name, source_hash, metadata = row
    return Node(
        id=id_,
        type=NodeType(type_),
        path=path,
        name=name,
        source_hash=source_hash,
        metadata=json.loads(metadata),
    )
