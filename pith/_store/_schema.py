"""The store's schema: its tables, their version, and the migration of an older store.

``PRAGMA user_version`` holds the version. `migrate` brings a store of an older version up to
date in one transaction (new tables created, indexes rebuilt where their content changed); a
store of a newer version is refused by the caller. The search index (FTS5) is one row per node,
its rowid the node's: `REINDEX` rewrites it after a build, a prose write updates its row. The
retrieval index keeps a file's prose words in a table of their own (`retrieval_prose`), so that
a prose write tokenizes the prose alone, not the file's whole text again.
"""

from __future__ import annotations

import re
import sqlite3

from .._tokens import words

__all__ = [
    "LOOKUP_INDEXES",
    "PROSE_TEXT",
    "READABLE_SCHEMAS",
    "REFS_INDEX",
    "REINDEX",
    "RETRIEVAL_PROSE",
    "RETRIEVAL_REINDEX",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SYMBOLS_SCHEMA",
    "migrate",
    "name_words",
    "register_functions",
]

# 2: the full-text search index; 3: runs and node leases (pith._leases); 4: search stems words
# and splits CamelCase names; 5: symbols, their uses and references, and their search index;
# 6: the retrieval index (`retrieval`, one row per file); 7: its prose words in a table of their
# own (`retrieval_prose`).
SCHEMA_VERSION = 7
SYMBOLS_SCHEMA = 5  # the first version with the symbol tables
READABLE_SCHEMAS = (3, SCHEMA_VERSION)  # read as they are where they cannot be migrated

# The indexes of the symbol and use tables, by name: a first extract fills the empty tables
# without them and makes them once at the end (`pith._store._facts.Facts.write_files`), which
# costs a third of keeping them up to date row by row.
LOOKUP_INDEXES = {
    "symbols_path": "CREATE INDEX IF NOT EXISTS symbols_path ON symbols (path)",
    "symbols_name": "CREATE INDEX IF NOT EXISTS symbols_name ON symbols (name)",
    "uses_path": "CREATE INDEX IF NOT EXISTS uses_path ON uses (path)",
}
# The index of the references, which every build rewrites whole: made again after the rows.
REFS_INDEX = "CREATE INDEX IF NOT EXISTS refs_target ON refs (target)"

SCHEMA = f"""
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
-- One row per file node, rowid = the node's rowid, in `pith._tokens` tokens (normalized in
-- Python, so the tokenizer only splits at spaces): what `pith ask` ranks files by. Rewritten
-- by every build.
CREATE VIRTUAL TABLE IF NOT EXISTS retrieval
    USING fts5(path, defines, names, text, body, history,
               tokenize = "unicode61 tokenchars '_'");
-- The prose words of each file node that has prose, rowid = the node's rowid, in the same
-- tokens: ranked with `retrieval`. Rewritten by every build, a row by every prose write of its
-- file (a table of its own: rewriting a `retrieval` row tokenized the file's whole text twice).
CREATE VIRTUAL TABLE IF NOT EXISTS retrieval_prose
    USING fts5(prose, tokenize = "unicode61 tokenchars '_'");
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
-- Every class, method, function and module constant of every file (pith._models.SymbolFacts),
-- written by extract with its file; `bases`: JSON [[file, dotted], ...] or NULL.
CREATE TABLE IF NOT EXISTS symbols (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, qualname TEXT NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    signature TEXT NOT NULL, docstring TEXT, bases TEXT
);
{LOOKUP_INDEXES["symbols_path"]};
{LOOKUP_INDEXES["symbols_name"]};
-- Each file's uses of project names as the file alone tells (pith._models.UseFacts), written
-- by extract with its file; an id is never reused, so a reference to a use replaced since the
-- last build names no use.
CREATE TABLE IF NOT EXISTS uses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL, line INTEGER NOT NULL, scope TEXT NOT NULL, target TEXT NOT NULL,
    dotted TEXT NOT NULL, member INTEGER NOT NULL, text TEXT NOT NULL
);
{LOOKUP_INDEXES["uses_path"]};
-- The uses resolved to the symbol they reach (re-exports followed), rewritten by every build.
CREATE TABLE IF NOT EXISTS refs (target TEXT NOT NULL, use INTEGER NOT NULL);
{REFS_INDEX};
-- Per file: uses of its names that lead nowhere it defines (dynamic, or gone): counted only.
CREATE TABLE IF NOT EXISTS unresolved (target TEXT PRIMARY KEY, uses INTEGER NOT NULL);
"""

# The searchable text of a prose row ``p``: summary, purpose and gotchas.
PROSE_TEXT = """
    coalesce(json_extract(p.prose, '$.summary'), '') || ' ' ||
    coalesce(json_extract(p.prose, '$.purpose'), '') || ' ' ||
    coalesce((SELECT group_concat(json_extract(g.value, '$.warning'), ' ')
              FROM json_each(p.prose, '$.gotchas') g), '')
"""
# The docstring of node ``n``: its file's, its package's __init__.py's, or its symbol's (an
# index lookup: reading it out of the file's facts JSON cost a whole file's parse per node).
DOCSTRING = """
    CASE n.type
    WHEN 'file' THEN (SELECT json_extract(f.facts, '$.docstring') FROM files f WHERE f.path = n.id)
    WHEN 'module' THEN (
        SELECT json_extract(f.facts, '$.docstring') FROM files f
        WHERE f.path IN (
            SELECT CASE n.id WHEN '.' THEN '' ELSE n.id || '/' END || m.name
            FROM (SELECT '__init__.py' AS name UNION ALL SELECT 'index.ts'
                  UNION ALL SELECT 'index.tsx' UNION ALL SELECT 'index.js'
                  UNION ALL SELECT 'index.mjs') m)
        ORDER BY f.path LIMIT 1)
    ELSE (SELECT s.docstring FROM symbols s WHERE s.id = n.id)
    END
"""
# The retrieval prose row of the file node ``n`` (none for a node without prose): the build
# writes every file's, a prose write its file's.
RETRIEVAL_PROSE = f"""
SELECT n.rowid, pith_words({PROSE_TEXT}) FROM nodes n JOIN prose p ON p.node_id = n.id
WHERE n.type = 'file'
"""
RETRIEVAL_REINDEX = f"""
DELETE FROM retrieval;
INSERT INTO retrieval (rowid, path, defines, names, text, body, history)
SELECT n.rowid, pith_words(n.id), json_extract(f.facts, '$.terms.defines'),
       json_extract(f.facts, '$.terms.names'),
       json_extract(f.facts, '$.terms.text'), json_extract(f.facts, '$.terms.body'),
       pith_words(coalesce(json_extract(f.git, '$.recent_subjects'), ''))
FROM nodes n JOIN files f ON f.path = n.id WHERE n.type = 'file';
DELETE FROM retrieval_prose;
INSERT INTO retrieval_prose (rowid, prose) {RETRIEVAL_PROSE};
"""
REINDEX = f"""
DELETE FROM search;
INSERT INTO search (rowid, id, name, docstring, prose)
SELECT n.rowid, n.id, pith_name_words(n.name), {DOCSTRING},
       (SELECT {PROSE_TEXT} FROM prose p WHERE p.node_id = n.id)
FROM nodes n;
{RETRIEVAL_REINDEX}
"""


def register_functions(connection: sqlite3.Connection) -> None:
    """The SQL functions the schema's statements call (`REINDEX` calls ``pith_name_words`` and
    ``pith_words``)."""
    connection.create_function("pith_name_words", 1, name_words, deterministic=True)
    connection.create_function("pith_words", 1, _sql_words, deterministic=True)


def _sql_words(text: str | None) -> str:
    return " ".join(words(text)) if text else ""


def migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring a store at schema ``version`` (0: new) to `SCHEMA_VERSION`, in one transaction."""
    if version >= SCHEMA_VERSION:
        return
    # A store of an older schema gets the new tables, and its search index rebuilt.
    old_index = "DROP TABLE IF EXISTS search;" if 1 <= version < 4 else ""
    if version == 6:  # its retrieval index held the prose too: made again without it
        old_index = "DROP TABLE IF EXISTS retrieval;"
    reindex = REINDEX if 1 <= version < 4 else RETRIEVAL_REINDEX if version >= 4 else ""
    connection.executescript(
        f"BEGIN IMMEDIATE; {old_index} {SCHEMA}; {reindex}"
        f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
    )


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
