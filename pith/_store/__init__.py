"""The SQLite store: facts, the node graph and prose, in one file under the data dir.

Guarantees:

- One ``sqlite3`` connection in WAL mode, so readers (``pith show``) can read while a run writes.
- Every method is blocking and thread-safe (one lock around the connection), so async code may
  call any of them through ``trio.to_thread.run_sync`` from worker threads.
- The schema is versioned with ``PRAGMA user_version``; a database from a newer pith is refused.
- Prose is keyed by node id and records the source hash it was written from; it survives a rebuild
  and is stale exactly when that hash differs from the node's current ``source_hash``.

Layout: `_connection` (opening, locking, transactions, meta), `_schema` (tables, migrations,
the search index's content), `_facts` and `_outline` (what extract writes), `_graph` (nodes
and edges), `_symbols` (symbols and references), `_prose`, `_search`; `_open` assembles `Store`.
"""

from ._open import Store, open_store
from ._outline import (
    LARGE_CLASS_LINES,
    Definition,
    FileOutline,
    SymbolRow,
    UseRow,
    facts_json,
    git_json,
    outline_json,
    symbol_rows,
    use_rows,
)
from ._prose import CHILDREN_CHANGED
from ._schema import SCHEMA_VERSION, name_words
from ._symbols import Reference, Symbol

__all__ = [
    "CHILDREN_CHANGED",
    "LARGE_CLASS_LINES",
    "SCHEMA_VERSION",
    "Definition",
    "FileOutline",
    "Reference",
    "Store",
    "Symbol",
    "SymbolRow",
    "UseRow",
    "facts_json",
    "git_json",
    "name_words",
    "open_store",
    "outline_json",
    "symbol_rows",
    "use_rows",
]
