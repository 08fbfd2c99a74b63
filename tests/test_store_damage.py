"""A damaged database gives one line `pith: error: ...` naming the file and the fix, exit 1, no
traceback: each damage made on a real SQLite file, the real command line in a subprocess."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from projects import clean_env, run_pith
from sample_project import write_project

from pith._store import SCHEMA_VERSION


@pytest.fixture
def built(tmp_path: Path) -> Path:
    env = clean_env() | {"PITH_DATA_DIR": str(tmp_path / "data")}
    write_project(tmp_path / "project")
    assert run_pith("extract", "project", cwd=tmp_path, env=env).returncode == 0
    assert run_pith("build", cwd=tmp_path, env=env).returncode == 0
    return tmp_path / "data" / "pith.db"


def sql(db: Path, *statements: str) -> None:
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


def damage_pages(db: Path) -> None:
    sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # every page after the first
    db.write_bytes(bytes(data))


def tables_gone(db: Path) -> None:
    db.unlink()
    sql(db, f"PRAGMA user_version={SCHEMA_VERSION}")


def prose_not_json(db: Path) -> None:
    sql(db, "INSERT INTO prose SELECT id, source_hash, 'not json {' FROM nodes WHERE id='app.py'")


def metadata_malformed(db: Path) -> None:
    sql(db, "UPDATE nodes SET metadata = '{\"lines\": ' WHERE id = 'app.py'")


@pytest.mark.parametrize(
    ("damage", "command"),
    [
        (damage_pages, ("list",)),
        (damage_pages, ("status",)),
        (tables_gone, ("status",)),
        (tables_gone, ("list",)),
        (prose_not_json, ("show", "app.py")),
        (prose_not_json, ("list",)),
        (metadata_malformed, ("show", "app.py")),
        (metadata_malformed, ("context", "app.py")),
    ],
)
def test_damage_is_one_line_naming_the_file_and_the_fix(
    built: Path, damage: Callable[[Path], None], command: tuple[str, ...]
) -> None:
    damage(built)
    env = clean_env() | {"PITH_DATA_DIR": str(built.parent)}
    result = run_pith(*command, cwd=built.parent.parent, env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pith: error: "), lines[0]
    assert str(built) in lines[0] or str(built.parent) in lines[0], lines[0]
    assert "pith extract" in lines[0], lines[0]
