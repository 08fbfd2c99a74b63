"""A small project with packages three levels deep, extracted and built into a real store.

Used by the generator's tests: the graph comes from the real `extract` and `build`, not from
hand-made nodes.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

from pith._build import build
from pith._extract import extract
from pith._store import Store

FILES = {
    "app.py": """
        '''The entry point.'''
        from pkg.core import connect
        from pkg.sub.deep.leaf import walk

        def main():
            return walk(connect("x"))
        """,
    "pkg/__init__.py": """
        '''The top package.'''
        from .core import connect
        __all__ = ["connect"]
        """,
    "pkg/core.py": """
        '''Connections.'''
        TIMEOUT = 30

        def connect(url, retries=3):
            '''Open a connection.'''
            if not url:
                raise ValueError("no url")
            return url
        """,
    "pkg/util.py": """
        from .core import connect

        def helper():
            return connect("y")
        """,
    "pkg/sub/__init__.py": "",
    "pkg/sub/mid.py": """
        from ..core import connect

        def middle():
            return connect("z")
        """,
    "pkg/sub/deep/__init__.py": "",
    "pkg/sub/deep/leaf.py": """
        def walk(node):
            '''Walk the tree.'''
            return node
        """,
    "pkg/sub/deep/more.py": """
        def more():
            return 1
        """,
}


def write_project(root: Path, files: dict[str, str] = FILES) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def built_store(tmp_path: Path) -> Store:
    """A store holding the sample project, extracted and built."""
    root = write_project(tmp_path / "project")
    store = Store.open(tmp_path / "data" / "pith.db")
    extract(root, store, workers=1)
    build(store)
    return store


def downgrade_to_schema_3(db_path: Path) -> None:
    """Make the store at ``db_path`` what pith wrote before schema 4: a search index with
    neither stemming nor CamelCase parts."""
    connection = sqlite3.connect(db_path)
    connection.executescript(
        "DROP TABLE search;"
        "CREATE VIRTUAL TABLE search USING fts5(id, name, docstring, prose);"
        "INSERT INTO search (rowid, id, name, docstring, prose)"
        " SELECT rowid, id, name, '', '' FROM nodes;"
        "PRAGMA user_version = 3;"
    )
    connection.close()
