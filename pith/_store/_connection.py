"""The connection to the store's SQLite file: opening, migrating, locking, transactions, meta.

Guarantees:

- One ``sqlite3`` connection in WAL mode, so readers (``pith show``) can read while a run writes.
- Every method is blocking and thread-safe (one lock around the connection), so async code may
  call any of them through ``trio.to_thread.run_sync`` from worker threads.
- Every JSON column goes through ``pith._models.converter``.
- The schema is versioned (see `pith._store._schema`); a database from a newer pith is refused.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .._config import prepare_data_dir
from .._errors import PithError, StoreWriteError, UsageError
from .._models import converter
from ._schema import READABLE_SCHEMAS, SCHEMA_VERSION, migrate, register_functions

__all__ = ["Connection", "dumps"]

_META_ROOT = "root"


def dumps(value: Any) -> str:
    return json.dumps(converter.unstructure(value), ensure_ascii=False, separators=(",", ":"))


class Connection:
    """The store's connection and its plumbing; `pith._store.Store` adds the tables' methods."""

    def __init__(self, connection: sqlite3.Connection, db_path: Path) -> None:
        self._db = connection
        self._lock = threading.Lock()
        self.db_path = db_path
        # Redacted from every prose written (the API key; `open_store` sets it from settings).
        self.secrets: tuple[str, ...] = ()
        # A store that could not be migrated (read-only) is read as it is: without the tables
        # a later schema added.
        self.schema_version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        # Ctrl-C during a long statement (a large build's index) stops it: Python runs signal
        # handlers only between its own instructions, and this handler is some, every so
        # often inside the statement; the KeyboardInterrupt it gets aborts the statement,
        # which says "interrupted" (turned back into KeyboardInterrupt above).
        connection.set_progress_handler(_let_signals_in, _PROGRESS_STEPS)

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, db_path: Path, *, read_only: bool = False) -> Self:
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
            register_functions(connection)
            migrate(connection, version)
        except sqlite3.Error as exc:
            connection.close()
            if isinstance(exc, sqlite3.OperationalError) and not _is_damage(exc):
                # Full, read-only, locked: the store is fine, and its prose was paid for.
                raise PithError(
                    f"cannot use the database {db_path}: {exc}; check the space left on the"
                    " disk and the permissions of the data dir (nothing in it was changed)"
                ) from None
            raise PithError(
                f"cannot use the database {db_path}: {exc}; if it is damaged, delete it and"
                " rerun `pith extract PATH` and `pith build`"
            ) from None
        except BaseException:
            connection.close()
            raise
        return cls(connection, db_path)

    @classmethod
    def _open_read_only(cls, db_path: Path) -> Self:
        if not db_path.is_file():
            raise UsageError(f"no pith database at {db_path}: run `pith extract PATH` first")
        try:
            connection = _connect_read_only(db_path, immutable=False)
        except sqlite3.OperationalError as exc:
            # A WAL database in a directory we cannot write (a read-only mount, permissions, a
            # full disk) cannot get its -shm file: SQLite says "readonly", "unable to open" or
            # "disk I/O error". With no -wal file, or an empty one, every committed page is in
            # the file, and no writer can change it: a writer needs the -shm file that could
            # not be had here. Read it as immutable.
            wal = db_path.with_name(db_path.name + "-wal")
            if _size(wal) > 0:
                raise PithError(
                    f"cannot read the database {db_path}: {exc}; its write-ahead log {wal.name}"
                    " cannot be read where the data dir is not writable: open it once with"
                    " pith where it is (any command), then read it here"
                ) from None
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
            if not READABLE_SCHEMAS[0] <= version < SCHEMA_VERSION:
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
                if _is_interrupt(exc):
                    raise KeyboardInterrupt from None
                if not _is_damage(exc):
                    raise
                raise self._damaged(str(exc)) from None
            except sqlite3.DatabaseError as exc:  # damaged pages, not a database at all
                raise self._damaged(str(exc)) from None

    def _query_in(self, sql: str, ids: Iterable[str]) -> list[Any]:
        """The rows of ``sql`` for the distinct ``ids``, whose ``{marks}`` stands for the
        placeholders of an ``IN ({marks})``; run in chunks (SQLite's bound-parameter limit)."""
        wanted = list(dict.fromkeys(ids))
        rows: list[Any] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows += self._query(sql.format(marks=",".join("?" * len(chunk))), chunk)
        return rows

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
        """Hold the lock and one write transaction; commit on success, roll back on error.
        The error raised is the one that happened (a full disk, a failed COMMIT), never the
        rollback's own: SQLite may already have rolled the transaction back itself."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and _is_interrupt(exc):
                    raise KeyboardInterrupt from None
                raise

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


_PROGRESS_STEPS = 200_000  # SQLite instructions between two chances for a signal


def _let_signals_in() -> int:
    return 0


def _is_interrupt(exc: sqlite3.OperationalError) -> bool:
    return str(exc) == "interrupted"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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


def _is_damage(exc: sqlite3.OperationalError) -> bool:
    """Whether an operational error says the file is not the database pith wrote (a table or
    column missing, a corrupt image), rather than that it is busy, read-only or full."""
    message = str(exc)
    return message.startswith(("no such table", "no such column")) or "malformed" in message
