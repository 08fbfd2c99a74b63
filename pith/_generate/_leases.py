"""Runs that share a store cooperate through it: a node is claimed (leased) before its call.

Every generator run registers itself in the ``runs`` table (owner id, pid, host, start, heartbeat)
and, right before it calls the endpoint for a node, takes a lease on that node in one
``BEGIN IMMEDIATE`` transaction. Guarantees:

- At most one live run holds a node's lease at a time; a run that finds a node leased by another
  live run does not send it (`Claim.HELD`), and one that finds the node already written from the
  same source since it started does not send it either (`Claim.DONE`).
- A lease lasts ``ttl`` seconds and is renewed by its owner's `heartbeat` while the run is alive.
  When the owner dies (SIGKILL included) its leases expire and are taken over; on the same host a
  dead owner's pid frees its leases at once. Nothing stays stranded.
- Time is read from ``clock`` (wall time by default: leases are shared between processes), so
  tests drive expiry without sleeping.

Every method is blocking (SQLite): async code calls them off the event loop.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence

import attrs

from .._store import Store

__all__ = ["DEFAULT_TTL", "Claim", "Leases", "RunInfo", "runs_in_progress"]

DEFAULT_TTL = 60.0  # seconds a lease lives without a heartbeat


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this run holds the lease now: send the call
    HELD = "held"  # another live run holds it: do not send; wait and ask again
    DONE = "done"  # written from this source since this run started, by another run


@attrs.frozen
class RunInfo:
    """A run in progress, as `status` shows it."""

    owner: str
    pid: int
    host: str
    started: dt.datetime
    heartbeat: dt.datetime
    selected: int
    claimed: int  # nodes it holds a live lease on now

    def to_json(self) -> dict[str, object]:
        return {
            "owner": self.owner,
            "pid": self.pid,
            "host": self.host,
            "started": self.started.isoformat(),
            "heartbeat": self.heartbeat.isoformat(),
            "selected": self.selected,
            "claimed": self.claimed,
        }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@attrs.define(kw_only=True)
class Leases:
    """One run's leases on ``store``. Call `start` once, `claim` before each node's call,
    `release` after it, `heartbeat` every ``ttl / 3`` seconds, and `finish` at the end."""

    store: Store
    ttl: float = DEFAULT_TTL
    clock: Callable[[], float] = time.time
    owner: str = attrs.Factory(lambda: uuid.uuid4().hex[:12])
    pid: int = attrs.Factory(os.getpid)
    host: str = attrs.Factory(socket.gethostname)
    # Whether a pid on this host may be checked for liveness (tests of expiry turn it off).
    check_pids: bool = True

    def start(self, selected: int) -> None:
        """Register this run (and clear runs whose heartbeat has expired)."""
        now = self.clock()
        with self.store.transaction() as db:
            self._forget_dead(db, now)
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                (self.owner, self.pid, self.host, now, now, selected),
            )

    def claim(self, node_id: str, source_hash: str, since: dt.datetime) -> Claim:
        """Take the lease on ``node_id`` unless another live run holds it, or the node's prose
        was written from ``source_hash`` at or after ``since`` (then it is `Claim.DONE`)."""
        return self.claim_all([(node_id, source_hash)], since)[0]

    def claim_all(self, nodes: Sequence[tuple[str, str]], since: dt.datetime) -> list[Claim]:
        """`claim` for each ``(node_id, source_hash)`` of ``nodes``, in one transaction."""
        now = self.clock()
        with self.store.transaction() as db:
            return [
                self._claim(db, node_id, source_hash, since, now) for node_id, source_hash in nodes
            ]

    def _claim(
        self, db: sqlite3.Connection, node_id: str, source_hash: str, since: dt.datetime, now: float
    ) -> Claim:
        row = db.execute(
            "SELECT source_hash, json_extract(prose, '$.generated_at') FROM prose"
            " WHERE node_id = ?",
            (node_id,),
        ).fetchone()
        if row is not None and row[0] == source_hash and row[1] is not None:
            written = dt.datetime.fromisoformat(row[1])
            if written.tzinfo is None:
                written = written.replace(tzinfo=dt.UTC)
            if written >= since:
                return Claim.DONE
        held = db.execute(
            "SELECT l.owner, l.expires, r.pid, r.host FROM leases l"
            " LEFT JOIN runs r ON r.owner = l.owner WHERE l.node_id = ?",
            (node_id,),
        ).fetchone()
        if held is not None and held[0] != self.owner and self._alive(now, *held[1:]):
            return Claim.HELD
        db.execute(
            "INSERT OR REPLACE INTO leases VALUES (?, ?, ?)",
            (node_id, self.owner, now + self.ttl),
        )
        return Claim.CLAIMED

    def release(self, node_id: str) -> None:
        """Give the lease on ``node_id`` back (if this run holds it)."""
        self.release_all([node_id])

    def release_all(self, node_ids: Sequence[str]) -> None:
        """`release` for each of ``node_ids``, in one transaction."""
        with self.store.transaction() as db:
            db.executemany(
                "DELETE FROM leases WHERE node_id = ? AND owner = ?",
                ((node_id, self.owner) for node_id in node_ids),
            )

    def holder(self, node_id: str) -> str | None:
        """The owner of the live lease on ``node_id``, or None when nobody live holds it."""
        now = self.clock()
        rows = self.store._query(
            "SELECT l.owner, l.expires, r.pid, r.host FROM leases l"
            " LEFT JOIN runs r ON r.owner = l.owner WHERE l.node_id = ?",
            (node_id,),
        )
        if rows and self._alive(now, *rows[0][1:]):
            return str(rows[0][0])
        return None

    def heartbeat(self) -> None:
        """Renew this run and every lease it holds for another ``ttl`` seconds."""
        now = self.clock()
        with self.store.transaction() as db:
            db.execute("UPDATE runs SET heartbeat = ? WHERE owner = ?", (now, self.owner))
            db.execute(
                "UPDATE leases SET expires = ? WHERE owner = ?", (now + self.ttl, self.owner)
            )

    def finish(self) -> None:
        """Give back every lease of this run and unregister it."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM leases WHERE owner = ?", (self.owner,))
            db.execute("DELETE FROM runs WHERE owner = ?", (self.owner,))

    def _alive(self, now: float, expires: float, pid: int | None, host: str | None) -> bool:
        if expires <= now or pid is None:  # expired, or its run is gone
            return False
        return not (self.check_pids and host == self.host and not _pid_alive(pid))

    def _forget_dead(self, db: sqlite3.Connection, now: float) -> None:
        dead = [
            owner
            for owner, pid, host, heartbeat in db.execute(
                "SELECT owner, pid, host, heartbeat FROM runs"
            ).fetchall()
            if not self._alive(now, heartbeat + self.ttl, pid, host)
        ]
        db.executemany("DELETE FROM leases WHERE owner = ?", ((o,) for o in dead))
        db.executemany("DELETE FROM runs WHERE owner = ?", ((o,) for o in dead))


def runs_in_progress(
    store: Store, *, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.time
) -> list[RunInfo]:
    """The runs whose heartbeat is younger than ``ttl`` (and, on this host, whose process is
    alive), oldest first, with the number of live leases each holds. Reads only."""
    now = clock()
    here = socket.gethostname()
    rows = store._query(
        "SELECT r.owner, r.pid, r.host, r.started, r.heartbeat, r.selected,"
        " (SELECT count(*) FROM leases l WHERE l.owner = r.owner AND l.expires > ?)"
        " FROM runs r WHERE r.heartbeat > ? ORDER BY r.started, r.owner",
        (now, now - ttl),
    )
    return [
        RunInfo(
            owner=owner,
            pid=pid,
            host=host,
            started=dt.datetime.fromtimestamp(started, dt.UTC),
            heartbeat=dt.datetime.fromtimestamp(heartbeat, dt.UTC),
            selected=selected,
            claimed=claimed,
        )
        for owner, pid, host, started, heartbeat, selected, claimed in rows
        if host != here or _pid_alive(pid)
    ]
