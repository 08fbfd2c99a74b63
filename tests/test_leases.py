"""Node leases between runs on one store: claim, renew, expire, take over (pith._generate._leases).

Each run has its own connection to the same real SQLite file, as two processes would; time is
Trio's `MockClock`, jumped by hand, so expiry is tested without sleeping.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys

import pytest
import trio.testing

from pith._generate._leases import Claim, Leases, runs_in_progress
from pith._models import Node, NodeType, Prose
from pith._store import SCHEMA_VERSION, Store

TTL = 30.0
SINCE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    return trio.testing.MockClock()


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "pith.db"
    with Store.open(path) as store:
        store.replace_graph([Node("a.py", NodeType.FILE, "a.py", "a.py", "h-a")], [])
    return path


@pytest.fixture
def stores(db_path):
    first, second = Store.open(db_path), Store.open(db_path)
    yield first, second
    first.close()
    second.close()


def a_run(store, clock, owner, **options):
    leases = Leases(store=store, ttl=TTL, clock=clock.current_time, owner=owner, **options)
    leases.start(selected=1)
    return leases


def test_a_node_claimed_by_a_live_run_is_held_for_every_other(stores, clock):
    a, b = a_run(stores[0], clock, "A"), a_run(stores[1], clock, "B")
    assert a.claim("a.py", "h-a", SINCE) is Claim.CLAIMED
    assert b.claim("a.py", "h-a", SINCE) is Claim.HELD
    assert a.claim("a.py", "h-a", SINCE) is Claim.CLAIMED  # its own lease: claimed again
    assert b.holder("a.py") == "A"


def test_heartbeats_keep_a_lease_and_its_expiry_hands_it_over(stores, clock):
    a, b = a_run(stores[0], clock, "A"), a_run(stores[1], clock, "B")
    a.claim("a.py", "h-a", SINCE)
    for _ in range(10):  # five TTLs in all, renewed every half TTL
        clock.jump(TTL / 2)
        a.heartbeat()
        b.heartbeat()
        assert b.claim("a.py", "h-a", SINCE) is Claim.HELD
    clock.jump(TTL - 0.001)  # A stops beating (killed): not yet expired...
    assert b.claim("a.py", "h-a", SINCE) is Claim.HELD
    clock.jump(0.002)  # ...now it is: taken over
    assert b.holder("a.py") is None
    assert b.claim("a.py", "h-a", SINCE) is Claim.CLAIMED
    assert a.claim("a.py", "h-a", SINCE) is Claim.HELD  # A is back: B holds it now
    b.heartbeat()
    assert [
        run.owner for run in runs_in_progress(stores[0], ttl=TTL, clock=clock.current_time)
    ] == ["B"]


def test_a_released_or_finished_lease_is_free_at_once(stores, clock):
    a, b = a_run(stores[0], clock, "A"), a_run(stores[1], clock, "B")
    a.claim("a.py", "h-a", SINCE)
    a.release("a.py")
    assert b.claim("a.py", "h-a", SINCE) is Claim.CLAIMED
    b.finish()
    assert a.claim("a.py", "h-a", SINCE) is Claim.CLAIMED
    assert [r.owner for r in runs_in_progress(stores[1], ttl=TTL, clock=clock.current_time)] == [
        "A"
    ]


def test_a_dead_process_on_this_host_frees_its_leases_before_expiry(stores, clock):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    a = a_run(stores[0], clock, "A", pid=int(dead.stdout))
    b = a_run(stores[1], clock, "B")
    a.claim("a.py", "h-a", SINCE)
    assert b.claim("a.py", "h-a", SINCE) is Claim.CLAIMED
    # Without the pid check, only time frees it.
    c = a_run(stores[0], clock, "C", check_pids=False)
    assert c.claim("a.py", "h-a", SINCE) is Claim.HELD


def test_a_node_written_from_the_same_source_since_the_run_started_is_done(stores, clock):
    a, b = a_run(stores[0], clock, "A"), a_run(stores[1], clock, "B")
    a.claim("a.py", "h-a", SINCE)
    prose = Prose(
        summary="S.", purpose="P.", generated_at=SINCE + dt.timedelta(seconds=1), source_hash="h-a"
    )
    stores[0].save_prose("a.py", prose)
    a.release("a.py")
    assert b.claim("a.py", "h-a", SINCE) is Claim.DONE
    # Written before this run started, or from another source: this run writes it.
    assert b.claim("a.py", "h-a", SINCE + dt.timedelta(seconds=2)) is Claim.CLAIMED
    assert b.claim("a.py", "h-other", SINCE) is Claim.CLAIMED


def test_runs_in_progress_count_live_leases(stores, clock):
    a, b = a_run(stores[0], clock, "A"), a_run(stores[1], clock, "B")
    a.claim("a.py", "h-a", SINCE)
    a.claim("b.py", "h-b", SINCE)
    b.claim("c.py", "h-c", SINCE)
    runs = runs_in_progress(stores[0], ttl=TTL, clock=clock.current_time)
    assert [(r.owner, r.claimed, r.selected) for r in runs] == [("A", 2, 1), ("B", 1, 1)]
    assert runs[0].to_json()["claimed"] == 2
    clock.jump(TTL + 1)
    assert runs_in_progress(stores[0], ttl=TTL, clock=clock.current_time) == []
    # A new run clears the dead ones out of the tables.
    a_run(stores[1], clock, "C")
    assert stores[0]._query("SELECT owner FROM runs") == [("C",)]
    assert stores[0]._query("SELECT count(*) FROM leases") == [(0,)]


def test_a_schema_2_store_gains_the_lease_tables(tmp_path):
    path = tmp_path / "pith.db"
    Store.open(path).close()
    connection = sqlite3.connect(path)
    connection.executescript("DROP TABLE runs; DROP TABLE leases; PRAGMA user_version=2;")
    connection.close()
    with Store.open(path, read_only=True) as store:
        assert store._query("SELECT count(*) FROM runs") == [(0,)]
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()
