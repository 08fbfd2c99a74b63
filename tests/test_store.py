"""The SQLite store: schema, prerequisites, prose round trips, thread safety."""

from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import threading

import pytest
import trio
from sample_project import downgrade_to_schema_3

from pith._config import Settings
from pith._errors import PithError, UsageError
from pith._models import Edge, EdgeType, Gotcha, Node, NodeType, Prose
from pith._store import SCHEMA_VERSION, Store, open_store


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "d" / "pith.db") as store:
        yield store


def graph(store):
    nodes = [
        Node("pkg", NodeType.MODULE, "pkg", "pkg", "h-pkg", {"lines": 3}),
        Node("pkg/a.py", NodeType.FILE, "pkg/a.py", "a.py", "h-a", {"lines": 1}),
        Node("pkg/b.py", NodeType.FILE, "pkg/b.py", "b.py", "h-b"),
        Node("pkg/a.py:Client.send", NodeType.FUNCTION, "pkg/a.py", "Client.send", "h-f"),
    ]
    edges = [
        Edge("pkg", "pkg/a.py", EdgeType.CONTAINS),
        Edge("pkg", "pkg/b.py", EdgeType.CONTAINS),
        Edge("pkg/a.py", "pkg/a.py:Client.send", EdgeType.CONTAINS),
        Edge("pkg/b.py", "pkg/a.py", EdgeType.IMPORTS),
        Edge("pkg/a.py", "pkg/b.py", EdgeType.IMPORTED_BY),
    ]
    store.replace_graph(nodes, edges, meta={"built_at": "now"})
    return nodes, edges


def a_prose(source_hash="h-a", summary="About a.") -> Prose:
    return Prose(
        summary=summary,
        purpose="Does a.",
        gotchas=(Gotcha(warning="Careful", location="line 3", evidence="X = 1"),),
        key_exports=("A",),
        generated_at=dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        model="test/model",
        source_hash=source_hash,
    )


def test_open_creates_a_wal_database_with_a_schema_version(tmp_path):
    path = tmp_path / "deep" / "er" / "pith.db"
    with Store.open(path) as store:
        assert store.root is None
        assert not store.is_extracted
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()
    with Store.open(path) as again:  # reopening keeps working
        assert again.nodes() == []


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "pith.db"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(PithError, match="newer pith"):
        Store.open(path)


def test_open_store_requires_each_stage(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(UsageError, match=r"run `pith extract PATH` first"):
        open_store(settings, require="extracted")
    assert not settings.db_path.exists()  # refusing creates nothing
    with open_store(settings) as store:
        store.set_meta({"root": "/somewhere"})
    with pytest.raises(UsageError, match=r"run `pith build` first"):
        open_store(settings, require="built")
    with open_store(settings, require="extracted") as store:
        graph(store)
    with open_store(settings, require="built") as store:
        assert store.root == "/somewhere"


def test_graph_queries(store):
    nodes, _ = graph(store)
    assert store.nodes() == sorted(nodes, key=lambda n: n.id)
    assert [n.id for n in store.nodes(NodeType.FILE)] == ["pkg/a.py", "pkg/b.py"]
    assert store.node("pkg/a.py") == nodes[1]
    assert store.node("nope") is None
    assert [e.target for e in store.edges("pkg", EdgeType.CONTAINS)] == ["pkg/a.py", "pkg/b.py"]
    assert [e.type for e in store.edges("pkg/a.py")] == [EdgeType.CONTAINS, EdgeType.IMPORTED_BY]
    assert len(store.edges(type=EdgeType.CONTAINS)) == 3
    assert store.edges_to("pkg/a.py") == [
        Edge("pkg", "pkg/a.py", EdgeType.CONTAINS),
        Edge("pkg/b.py", "pkg/a.py", EdgeType.IMPORTS),
    ]
    assert store.edges_to("pkg/a.py", EdgeType.IMPORTS) == [
        Edge("pkg/b.py", "pkg/a.py", EdgeType.IMPORTS)
    ]
    assert store.node_counts() == {NodeType.FILE: 2, NodeType.MODULE: 1, NodeType.FUNCTION: 1}


def test_prose_round_trip_and_staleness(store):
    graph(store)
    assert store.prose("pkg/a.py") is None
    store.save_prose("pkg/a.py", a_prose())
    assert store.prose("pkg/a.py") == a_prose()
    store.save_prose("pkg/b.py", a_prose(source_hash="old"))
    assert store.prose_source_hashes() == {"pkg/a.py": "h-a", "pkg/b.py": "old"}
    assert store.prose_counts() == {"current": 1, "stale": 1, "missing": 2}
    assert store.prose_summaries() == {
        "pkg/a.py": ("About a.", False),
        "pkg/b.py": ("About a.", True),
    }
    store.save_prose("pkg/a.py", a_prose(summary="Rewritten."))
    assert store.prose("pkg/a.py").summary == "Rewritten."


def test_saving_many_proses_is_one_commit_and_a_bad_one_costs_only_itself(store):
    graph(store)
    commits = []
    store._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    unfit = a_prose(summary=None)  # a prose that cannot be made ready for the store
    errors = store.save_prose_many(
        [("pkg/a.py", a_prose()), ("pkg/b.py", unfit), ("pkg", a_prose(source_hash="h-pkg"))]
    )
    store._db.set_trace_callback(None)
    assert commits == ["COMMIT"]
    assert errors[0] is None
    assert isinstance(errors[1], TypeError)
    assert errors[2] is None
    assert store.prose_source_hashes() == {"pkg/a.py": "h-a", "pkg": "h-pkg"}


def test_saving_many_proses_that_the_store_refuses_saves_none(store):
    graph(store)
    store._db.execute("PRAGMA query_only = ON")  # every write fails, as on a read-only medium
    with pytest.raises(sqlite3.OperationalError):
        store.save_prose_many([("pkg/a.py", a_prose()), ("pkg/b.py", a_prose())])
    store._db.execute("PRAGMA query_only = OFF")
    assert store.prose_source_hashes() == {}
    store.save_prose_many([("pkg/a.py", a_prose())])  # the failed transaction left nothing open
    assert store.prose("pkg/a.py") == a_prose()


def test_replace_graph_keeps_all_prose_until_pruned(store):
    nodes, edges = graph(store)
    store.save_prose("pkg/a.py", a_prose())
    store.save_prose("pkg/b.py", a_prose())
    store.replace_graph([n for n in nodes if n.id != "pkg/b.py"], edges[:1])
    assert store.prose("pkg/a.py") == a_prose()
    assert store.prose("pkg/b.py") == a_prose()  # paid for: kept, out of the counts
    assert store.orphaned_prose() == 1
    assert store.edges() == edges[:1]
    assert store.prune_prose() == 1
    assert store.prose("pkg/b.py") is None


def test_a_failed_transaction_changes_nothing(store):
    graph(store)

    def fail_midway() -> None:
        with store.transaction() as db:
            db.execute("DELETE FROM nodes")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert len(store.nodes()) == 4


def test_suggest_ids(store):
    graph(store)
    assert store.suggest_ids("pkg/a.pyy")[0] == "pkg/a.py"
    assert "pkg/a.py:Client.send" in store.suggest_ids("Client.send")
    assert store.suggest_ids("zzzzzzzzzzzz") == []
    assert len(store.suggest_ids("pkg", n=2)) <= 2


async def test_many_threads_write_and_read_at_once(store):
    graph(store)
    ids = [f"n{i}" for i in range(40)]

    async def write_then_read(node_id: str) -> None:
        await trio.to_thread.run_sync(store.save_prose, node_id, a_prose(source_hash=node_id))
        assert (await trio.to_thread.run_sync(store.prose, node_id)).source_hash == node_id
        await trio.to_thread.run_sync(store.nodes)

    async with trio.open_nursery() as nursery:
        for node_id in ids:
            nursery.start_soon(write_then_read, node_id)
    assert set(store.prose_source_hashes()) == set(ids)


def test_a_second_connection_reads_while_the_first_writes(tmp_path):
    path = tmp_path / "pith.db"
    with Store.open(path) as writer, Store.open(path) as reader:
        graph(writer)
        with writer.transaction() as db:
            db.execute("DELETE FROM nodes WHERE id = 'pkg'")
            # WAL: the reader sees the last committed state, without waiting.
            assert len(reader.nodes()) == 4
        assert len(reader.nodes()) == 3


def handler_graph(store):
    node = Node(
        "web.py:HTTPRedirectHandler", NodeType.FUNCTION, "web.py", "HTTPRedirectHandler", "h"
    )
    file = Node("web.py", NodeType.FILE, "web.py", "web.py", "h-web")
    store.replace_graph([file, node], [Edge("web.py", node.id, EdgeType.CONTAINS)])


@pytest.mark.parametrize("query", ["redirect handler", "redirects handling", "HTTPRedirectHandler"])
def test_search_finds_camelcase_parts_and_other_word_forms(store, query):
    handler_graph(store)
    assert [hit[0] for hit in store.search(query)] == ["web.py:HTTPRedirectHandler"]


def test_a_schema_3_search_index_is_rebuilt_on_open(tmp_path):
    path = tmp_path / "pith.db"
    with Store.open(path) as store:
        handler_graph(store)
    downgrade_to_schema_3(path)
    connection = sqlite3.connect(path)
    # As schema 3 indexed it: the name is one word.
    assert (
        connection.execute("SELECT id FROM search WHERE search MATCH 'redirect'").fetchall() == []
    )
    connection.close()
    with Store.open(path) as store:
        assert [hit[0] for hit in store.search("redirect handler")] == [
            "web.py:HTTPRedirectHandler"
        ]
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()


def test_a_full_disk_is_reported_as_itself_and_the_store_stays_usable(store):
    # A full disk (here: the database may not grow) makes SQLite roll the transaction back
    # itself; the error raised is the full disk, not "cannot rollback".
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        store.set_meta({str(i): "x" * 1000 for i in range(2000)})
    assert store.get_meta("0") is None
    store._db.execute("PRAGMA max_page_count = 1073741823")
    store.set_meta({"after": "yes"})
    assert store.get_meta("after") == "yes"


def test_ctrl_c_stops_a_long_statement_as_an_interrupt(store):
    # Ctrl-C arrives while SQLite runs one long statement (as a large build's indexing did for
    # minutes): the statement stops there, and the interrupt is a KeyboardInterrupt.
    started = threading.Event()
    store._db.create_function("started", 0, lambda: started.set() or 1)
    main = threading.get_ident()

    def interrupt() -> None:
        started.wait()
        signal.pthread_kill(main, signal.SIGINT)

    helper = threading.Thread(target=interrupt)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            store._query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                " WHERE x < 100000000) SELECT count(CASE WHEN x = 1 THEN started() END) FROM c"
            )
    finally:
        helper.join()
    # Raised from the aborted statement, not after it ran to its end.
    assert isinstance(caught.value.__context__, sqlite3.OperationalError)
    assert str(caught.value.__context__) == "interrupted"


def test_lookup_indexes_after_a_first_extract_a_rerun_and_builds(tmp_path):
    """A first extract fills the symbol and use tables without their indexes and makes them at
    the end; a rerun that replaces some files' rows keeps them (it deletes through them)."""
    from projects import write_tree

    from pith._build import build
    from pith._extract import extract
    from pith._store._schema import LOOKUP_INDEXES

    root = tmp_path / "proj"
    write_tree(root, {"pkg/__init__.py": "from .a import f\n", "pkg/a.py": "def f():\n    f()\n"})

    def indexes(store):
        marks = ",".join("?" * len(LOOKUP_INDEXES))
        return dict(
            store._query(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ({marks})",
                list(LOOKUP_INDEXES),
            )
        )

    with Store.open(tmp_path / "d" / "pith.db") as store:
        made = indexes(store)
        assert set(made) == set(LOOKUP_INDEXES)
        extract(root, store)
        assert indexes(store) == made
        uses = store._query("SELECT path, line, dotted FROM uses ORDER BY id")
        assert ("pkg/a.py", 2, "f") in uses
        (root / "pkg" / "a.py").write_text("def f():\n    pass\n\n\ndef g():\n    f()\n")
        extract(root, store)
        assert indexes(store) == made
        assert store._query("SELECT line FROM uses WHERE path = 'pkg/a.py'") == [(6,)]
        plan = store._query("EXPLAIN QUERY PLAN SELECT * FROM uses WHERE path = 'pkg/a.py'")
        assert "uses_path" in str(plan)
        # A build rewrites the references whole, and their index after them.
        for _ in range(2):
            build(store, force=True)
            plan = store._query("EXPLAIN QUERY PLAN SELECT * FROM refs WHERE target = 'x'")
            assert "refs_target" in str(plan)
            assert store._query("SELECT target FROM refs") == [("pkg/a.py:f",)]
