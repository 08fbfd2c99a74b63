"""The SQLite store: facts, the node graph and prose, in one file under the data dir."""

from ._connection import (
    CHILDREN_CHANGED,
    SCHEMA_VERSION,
    Definition,
    FileOutline,
    Store,
    facts_json,
    git_json,
    name_words,
    open_store,
    outline_json,
)

__all__ = [
    "CHILDREN_CHANGED",
    "SCHEMA_VERSION",
    "Definition",
    "FileOutline",
    "Store",
    "facts_json",
    "git_json",
    "name_words",
    "open_store",
    "outline_json",
]
