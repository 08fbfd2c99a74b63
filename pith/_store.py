"""The SQLite store: facts, the node graph and prose, in one file under the data dir.

Guarantees:

- One ``sqlite3`` connection in WAL mode, so readers (``pith show``) can read while a run writes.
- Every method is blocking and thread-safe (one lock around the connection), so async code may
  call any of them through ``trio.to_thread.run_sync`` from worker threads.
- Every JSON column goes through ``pith._models.converter``.
- The schema is versioned with ``PRAGMA user_version``; a database from a newer pith is refused.
- Prose is keyed by node id and records the source hash it was written from; it survives a rebuild
  and is stale exactly when that hash differs from the node's current ``source_hash``.
"""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import attrs

from ._config import Settings, prepare_data_dir
from ._errors import PithError, StoreWriteError, UsageError
from ._models import (
    ClassFacts,
    Edge,
    EdgeType,
    FileFacts,
    FunctionFacts,
    GitFacts,
    Node,
    NodeType,
    Prose,
    Readme,
    converter,
)
from ._redact import SHORT_CHARS, clean_prose

__all__ = [
    "CHILDREN_CHANGED",
    "SCHEMA_VERSION",
    "Definition",
    "FileOutline",
    "Store",
    "facts_json",
    "git_json",
    "open_store",
    "outline_json",
]

# 2: the full-text search index; 3: runs and node leases (pith._leases); 4: search stems words
# and splits CamelCase names.
SCHEMA_VERSION = 4
_READABLE_SCHEMAS = (3, SCHEMA_VERSION)  # read as they are where they cannot be migrated

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    facts TEXT NOT NULL,         -- FileFacts without git, JSON
    outline TEXT NOT NULL,       -- FileOutline without git, JSON: what build reads
    git TEXT                     -- GitFacts JSON or NULL; refreshed every extract
);
CREATE TABLE IF NOT EXISTS dir_git (directory TEXT PRIMARY KEY, git TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS readmes (
    directory TEXT PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_type ON nodes (type, id);
CREATE TABLE IF NOT EXISTS edges (
    source TEXT NOT NULL, target TEXT NOT NULL, type TEXT NOT NULL,
    PRIMARY KEY (source, type, target)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_target ON edges (target, type);
CREATE TABLE IF NOT EXISTS prose (
    node_id TEXT PRIMARY KEY, source_hash TEXT NOT NULL, prose TEXT NOT NULL
);
-- One row per node, rowid = the node's rowid; rewritten by every build, its prose column by
-- every prose write. Words are stemmed ("handling" finds "handler" as a prefix), and a name
-- is indexed with its CamelCase parts (`pith_name_words`).
CREATE VIRTUAL TABLE IF NOT EXISTS search
    USING fts5(id, name, docstring, prose, tokenize = 'porter unicode61');
-- Generator runs in progress and the nodes they have claimed (see pith._leases); times are
-- seconds since the epoch.
CREATE TABLE IF NOT EXISTS runs (
    owner TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL,
    started REAL NOT NULL, heartbeat REAL NOT NULL, selected INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    node_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner);
"""

# The searchable text of a prose row ``p``: summary, purpose and gotchas.
_PROSE_TEXT = """
    coalesce(json_extract(p.prose, '$.summary'), '') || ' ' ||
    coalesce(json_extract(p.prose, '$.purpose'), '') || ' ' ||
    coalesce((SELECT group_concat(json_extract(g.value, '$.warning'), ' ')
              FROM json_each(p.prose, '$.gotchas') g), '')
"""
# The docstring of node ``n``: its file's, its definition's, or its package's __init__.py's.
_DOCSTRING = """
    CASE n.type
    WHEN 'file' THEN (SELECT json_extract(f.facts, '$.docstring') FROM files f WHERE f.path = n.id)
    WHEN 'module' THEN (
        SELECT json_extract(f.facts, '$.docstring') FROM files f
        WHERE f.path = CASE n.id WHEN '.' THEN '__init__.py' ELSE n.id || '/__init__.py' END)
    ELSE (
        SELECT json_extract(d.value, '$.docstring')
        FROM files f, json_each(f.facts, '$.functions') d
        WHERE f.path = n.path AND json_extract(d.value, '$.qualname') = n.name
        UNION ALL
        SELECT json_extract(d.value, '$.docstring')
        FROM files f, json_each(f.facts, '$.classes') d
        WHERE f.path = n.path AND json_extract(d.value, '$.qualname') = n.name
        LIMIT 1)
    END
"""
_REINDEX = f"""
DELETE FROM search;
INSERT INTO search (rowid, id, name, docstring, prose)
SELECT n.rowid, n.id, pith_name_words(n.name), {_DOCSTRING},
       (SELECT {_PROSE_TEXT} FROM prose p WHERE p.node_id = n.id)
FROM nodes n;
"""
_MAX_QUERY_TERMS = 16
_MAX_QUERY_CHARS = 500

_META_ROOT = "root"
# The source hash a module's prose gets when a child's prose changes: matches no node, so stale.
CHILDREN_CHANGED = "children-changed"


def _dumps(value: Any) -> str:
    return json.dumps(converter.unstructure(value), ensure_ascii=False, separators=(",", ":"))


class Store:
    """The pith database. Open with `Store.open`; use as a context manager or call `close`."""

    def __init__(self, connection: sqlite3.Connection, db_path: Path) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.db_path = db_path
        # Redacted from every prose written (the API key; `open_store` sets it from settings).
        self.secrets: tuple[str, ...] = ()

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, db_path: Path, *, read_only: bool = False) -> Store:
        """Open (creating the directory and database if needed) and migrate the schema.

        ``read_only``: open an existing database for reading only (SQLite refuses every write);
        it neither creates nor migrates anything, and reads safely while another process
        writes (WAL)."""
        if read_only:
            return cls._open_read_only(db_path)
        try:
            prepare_data_dir(db_path.parent)
            connection = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise PithError(f"cannot open the database {db_path}: {exc}") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=10000")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise PithError(
                    f"{db_path} was written by a newer pith (schema {version}); upgrade pith"
                )
            connection.create_function("pith_name_words", 1, name_words, deterministic=True)
            if version < SCHEMA_VERSION:
                # A store of an older schema gets the new tables, and its search index rebuilt.
                old_index = "DROP TABLE IF EXISTS search;" if 1 <= version < 4 else ""
                reindex = _REINDEX if 1 <= version < 4 else ""
                connection.executescript(
                    f"BEGIN IMMEDIATE; {old_index} {_SCHEMA}; {reindex}"
                    f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
                )
        except sqlite3.Error as exc:
            connection.close()
            raise PithError(
                f"cannot use the database {db_path}: {exc}; if it is damaged, delete it and"
                " rerun `pith extract PATH` and `pith build`"
            ) from None
        except BaseException:
            connection.close()
            raise
        return cls(connection, db_path)

    @classmethod
    def _open_read_only(cls, db_path: Path) -> Store:
        if not db_path.is_file():
            raise UsageError(f"no pith database at {db_path}: run `pith extract PATH` first")
        try:
            connection = _connect_read_only(db_path, immutable=False)
        except sqlite3.OperationalError as exc:
            # A WAL database in a directory we cannot write (a read-only mount or permissions)
            # cannot get its -shm file. With no -wal file there is no writer that could change
            # it under us (a writer needs both files in that directory): read it as immutable.
            wal = db_path.with_name(db_path.name + "-wal")
            if "readonly" not in str(exc) or wal.exists():
                raise PithError(f"cannot read the database {db_path}: {exc}") from None
            try:
                connection = _connect_read_only(db_path, immutable=True)
            except sqlite3.Error as again:
                raise PithError(f"cannot read the database {db_path}: {again}") from None
        except sqlite3.Error as exc:
            raise PithError(f"cannot read the database {db_path}: {exc}") from None
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return cls(connection, db_path)
        # An older schema is migrated once (that one open writes); a newer one is refused.
        try:
            migrated = cls.open(db_path)
        except PithError:
            if not _READABLE_SCHEMAS[0] <= version < SCHEMA_VERSION:
                connection.close()
                raise
            # Cannot be written (a read-only mount), but readable as it is: its search index
            # only lacks the stemming of schema 4.
            return cls(connection, db_path)
        connection.close()
        return migrated

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.db_path}>"

    # --- plumbing ----------------------------------------------------------------------------

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params)).fetchall()
            except sqlite3.OperationalError as exc:
                if not _is_damage(exc):
                    raise
                raise self._damaged(str(exc)) from None
            except sqlite3.DatabaseError as exc:  # damaged pages, not a database at all
                raise self._damaged(str(exc)) from None

    def _damaged(self, what: str) -> PithError:
        return PithError(
            f"the database {self.db_path} is damaged ({what}); delete it and rerun"
            " `pith extract PATH` and `pith build`"
        )

    @contextmanager
    def _decoding(self, what: str) -> Iterator[None]:
        """Turn a stored row that does not decode into the one-line damaged-database error."""
        try:
            yield
        except (ValueError, TypeError, KeyError, AttributeError, ExceptionGroup):
            raise self._damaged(f"a malformed {what} row") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one write transaction; commit on success, roll back on error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- meta --------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, values: Mapping[str, str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def delete_meta(self, key: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))

    @property
    def root(self) -> str | None:
        """The absolute path of the last extracted codebase, or None before any extraction."""
        return self.get_meta(_META_ROOT)

    @property
    def is_extracted(self) -> bool:
        return self.root is not None

    @property
    def is_built(self) -> bool:
        return self.get_meta("built_at") is not None

    # --- facts -------------------------------------------------------------------------------

    def file_hashes(self) -> dict[str, str]:
        """File id -> content hash of every extracted file."""
        return dict(self._query("SELECT path, content_hash FROM files"))

    def file_git_json(self) -> dict[str, str | None]:
        """File id -> the stored git JSON text, to rewrite only what changed."""
        return dict(self._query("SELECT path, git FROM files"))

    def file_problems(self) -> dict[str, str]:
        """File id -> why it was not parsed, for every file with a problem."""
        return dict(
            self._query(
                "SELECT path, json_extract(facts, '$.problem') FROM files"
                " WHERE json_extract(facts, '$.problem') IS NOT NULL"
            )
        )

    def file_facts(self, path: str) -> FileFacts | None:
        """The facts of one file, git history included, or None for an unknown path."""
        rows = self._query("SELECT facts, git FROM files WHERE path = ?", (path,))
        if not rows:
            return None
        with self._decoding("file"):
            return _file_facts_from_row(rows[0][0], rows[0][1])

    def all_file_facts(self) -> list[FileFacts]:
        """The facts of every file, sorted by path."""
        rows = self._query("SELECT facts, git FROM files ORDER BY path")
        with self._decoding("file"):
            return [_file_facts_from_row(facts, git) for facts, git in rows]

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
        self, upserts: Iterable[tuple[str, str, str, str]], deletes: Iterable[str] = ()
    ) -> None:
        """In one transaction: upsert ``(path, content_hash, facts_json(facts),
        outline_json(facts))`` rows (keeping their git column) and delete the files in
        ``deletes``."""
        with self.transaction() as db:
            db.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in deletes))
            db.executemany(
                "INSERT INTO files (path, content_hash, facts, outline) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET content_hash = excluded.content_hash,"
                " facts = excluded.facts, outline = excluded.outline",
                upserts,
            )

    def write_git(self, files: Mapping[str, str | None], dirs: Mapping[str, GitFacts]) -> None:
        """In one transaction: set the git JSON (``git_json``) of the given files, and replace
        the per-directory history."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE files SET git = ? WHERE path = ?", ((g, p) for p, g in files.items())
            )
            db.execute("DELETE FROM dir_git")
            db.executemany(
                "INSERT INTO dir_git VALUES (?, ?)", ((d, _dumps(g)) for d, g in dirs.items())
            )

    def replace_readmes(self, readmes: Iterable[Readme]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM readmes")
            db.executemany(
                "INSERT INTO readmes VALUES (?, ?, ?)",
                ((r.directory, r.name, r.text) for r in readmes),
            )

    # --- graph -------------------------------------------------------------------------------

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
        self, nodes: Iterable[Node], edges: Iterable[Edge], meta: Mapping[str, str] | None = None
    ) -> None:
        """In one transaction: replace every node and edge, drop the prose of nodes that are
        gone (prose of surviving nodes is kept; its staleness follows from the hashes), and
        set ``meta``."""
        with self.transaction() as db:
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
            for statement in _REINDEX.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", (meta or {}).items())

    def suggest_ids(self, id: str, n: int = 5) -> list[str]:
        """The ids closest to ``id`` (for a mistyped ``pith show``), best first."""
        ids = self.node_ids()
        close = difflib.get_close_matches(id, ids, n=n, cutoff=0.5)
        if len(close) < n:
            # A bare name ("send") should find "pkg/client.py:Client.send".
            tail = [i for i in ids if i.endswith((f"/{id}", f":{id}", f".{id}")) or id in i]
            close += [i for i in tail if i not in close][: n - len(close)]
        return close

    # --- prose -------------------------------------------------------------------------------

    def prose(self, node_id: str) -> Prose | None:
        rows = self._query("SELECT prose FROM prose WHERE node_id = ?", (node_id,))
        with self._decoding("prose"):
            return converter.structure(json.loads(rows[0][0]), Prose) if rows else None

    def save_prose(self, node_id: str, prose: Prose) -> None:
        """Store the prose of a node, committed at once (one transaction): bounded in size and
        with `secrets` redacted (`pith._redact.clean_prose`)."""
        prose = clean_prose(prose, self.secrets)
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO prose VALUES (?, ?, ?)",
                (node_id, prose.source_hash, _dumps(prose)),
            )
            # The package above was written from its children's summaries: one changed, so its
            # prose is stale now (it is rewritten after this child, bottom-up).
            db.execute(
                "UPDATE prose SET source_hash = ? WHERE node_id IN (SELECT e.source FROM edges e"
                " JOIN nodes n ON n.id = e.source"
                " WHERE e.target = ? AND e.type = 'contains' AND n.type = 'module')",
                (CHILDREN_CHANGED, node_id),
            )
            db.execute(
                f"UPDATE search SET prose = (SELECT {_PROSE_TEXT} FROM prose p"
                " WHERE p.node_id = ?) WHERE rowid = (SELECT rowid FROM nodes WHERE id = ?)",
                (node_id, node_id),
            )

    def search(self, query: str, limit: int = 10) -> list[tuple[str, str, float]]:
        """(id, type, score) of the nodes best matching ``query``'s words, best first: a word
        in the id or name weighs most, then docstrings, then prose. Any text is a valid query
        (its words are quoted, so no FTS syntax); each word also matches as a prefix. All
        words must match; when that finds nothing, any word may."""
        words = re.findall(r"\w+", query[:_MAX_QUERY_CHARS])[:_MAX_QUERY_TERMS]
        if not words:
            return []
        # A whole word scores twice (it matches both), so "echo" finds `echo` before `echoing`.
        terms = [f'("{word}" OR "{word}"*)' for word in words]
        # A node named exactly as asked ("echo": `echo`, `Console.echo`) comes first.
        sql = (
            "SELECT s.id, n.type, -bm25(search, 10.0, 8.0, 3.0, 1.0) AS score"
            " FROM search s JOIN nodes n ON n.rowid = s.rowid WHERE search MATCH ?1"
            " ORDER BY (lower(n.name) = ?2 OR lower(n.name) LIKE '%.' || ?2) DESC,"
            " score DESC, s.id LIMIT ?3"
        )
        name = query.strip().lower()
        rows = self._query(sql, (" AND ".join(terms), name, limit))
        if not rows and len(terms) > 1:
            rows = self._query(sql, (" OR ".join(terms), name, limit))
        return [(str(i), str(t), round(float(score), 4)) for i, t, score in rows]

    def briefs(self, ids: Iterable[str]) -> dict[str, tuple[str, str | None, bool]]:
        """Id -> (type, summary or None, stale) for the nodes among ``ids`` that exist."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, tuple[str, str | None, bool]] = {}
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                "SELECT n.id, n.type, json_extract(p.prose, '$.summary'),"
                " p.source_hash IS NOT NULL AND p.source_hash != n.source_hash"
                f" FROM nodes n LEFT JOIN prose p ON p.node_id = n.id WHERE n.id IN ({marks})",
                chunk,
            )
            out.update({i: (str(t), s, bool(stale)) for i, t, s, stale in rows})
        return out

    def check_writable(self) -> None:
        """Raise `StoreWriteError` unless a write transaction goes through now."""
        try:
            with self.transaction() as db:
                db.execute("DELETE FROM meta WHERE key = 'write-check'")
                db.execute("INSERT INTO meta VALUES ('write-check', '')")
                db.execute("DELETE FROM meta WHERE key = 'write-check'")
        except sqlite3.Error as exc:
            raise StoreWriteError(
                f"cannot write to {self.db_path} ({exc}): nothing was sent; check the space "
                "left on the disk and the permissions of the data dir"
            ) from None

    @property
    def needs_build(self) -> bool:
        """Whether the facts changed since the last build (an extract ran after it)."""
        built_from = self.get_meta("built_from")
        if built_from is None:
            return self.is_extracted
        return bool(json.loads(built_from).get("facts") != self.get_meta("facts_version"))

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


_NAME_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def name_words(name: str) -> str:
    """A node's name as the search index holds it: itself, then the parts of its CamelCase
    words, so "redirect handler" finds `HTTPRedirectHandler` (FTS5 splits only at
    punctuation: `parse_ns_headers` and `Console.echo` need no help)."""
    parts = [
        part
        for word in re.findall(r"[A-Za-z0-9]+", name)
        if len(split := _NAME_PARTS.findall(word)) > 1
        for part in split
    ]
    return " ".join([name, *parts])


def _connect_read_only(db_path: Path, *, immutable: bool) -> sqlite3.Connection:
    """A connection that SQLite refuses every write on; it has read the schema version."""
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    connection = sqlite3.connect(
        f"{db_path.resolve().as_uri()}?{flags}",
        uri=True,
        check_same_thread=False,
        isolation_level=None,
    )
    try:
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("PRAGMA user_version").fetchone()
    except BaseException:
        connection.close()
        raise
    return connection


def open_store(
    settings: Settings,
    *,
    require: Literal["extracted", "built"] | None = None,
    read_only: bool = False,
) -> Store:
    """Open the store of ``settings``; with ``require``, refuse (UsageError) when the stage is
    missing, telling the user the command that fixes it. ``read_only``: see `Store.open`."""
    if require is not None and not settings.db_path.exists():
        raise UsageError(settings.no_store_message())
    store = Store.open(settings.db_path, read_only=read_only)
    if settings.api_key:
        store.secrets = (settings.api_key,)
    try:
        if require is not None and not store.is_extracted:
            raise UsageError("nothing extracted yet: run `pith extract PATH` first")
        if require == "built" and not store.is_built:
            raise UsageError("no node graph yet: run `pith build` first")
    except BaseException:
        store.close()
        raise
    return store


def facts_json(facts: FileFacts) -> str:
    """The JSON stored for a file's facts: everything but ``git`` (kept in its own column)."""
    data = converter.unstructure(facts)
    del data["git"]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@attrs.frozen
class Definition:
    """A public top-level function or class, as `build` sees it."""

    name: str
    qualname: str
    kind: str  # "function" | "class"
    start_line: int
    end_line: int
    complexity: int
    source_hash: str


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

    @classmethod
    def from_facts(cls, facts: FileFacts) -> FileOutline:
        every: list[FunctionFacts | ClassFacts] = [*facts.functions, *facts.classes]
        public = [d for d in every if not d.name.startswith("_")]
        definitions = [
            Definition(
                name=d.name,
                qualname=d.qualname,
                kind="class" if isinstance(d, ClassFacts) else "function",
                start_line=d.start_line,
                end_line=d.end_line,
                complexity=d.complexity,
                source_hash=d.source_hash,
            )
            for d in public
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
        )


def outline_json(facts: FileFacts) -> str:
    """The JSON stored as a file's outline (without ``git``, kept in its own column)."""
    data = converter.unstructure(FileOutline.from_facts(facts))
    del data["git"]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def git_json(git: GitFacts | None) -> str | None:
    return None if git is None else _dumps(git)


def _is_damage(exc: sqlite3.OperationalError) -> bool:
    """Whether an operational error says the file is not the database pith wrote (a table or
    column missing, a corrupt image), rather than that it is busy, read-only or full."""
    message = str(exc)
    return message.startswith(("no such table", "no such column")) or "malformed" in message


def _file_facts_from_row(facts: str, git: str | None) -> FileFacts:
    data = json.loads(facts)
    data["git"] = None if git is None else json.loads(git)
    return converter.structure(data, FileFacts)


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
