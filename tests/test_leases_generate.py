"""The generator's leases: two runs on one store send each node once; a dead run's nodes are
taken over; a node whose source changed during its call is saved stale. On Trio's mock clock,
each run with its own connection to the same real SQLite file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import trio
from fakellm import FakeLLM
from mockclock import client_for, inline
from sample_project import built_store

from pith._generate import Generation
from pith._generate._leases import Leases
from pith._generate._report import GenerationReport, Outcome
from pith._generate._selection import select_nodes
from pith._store import Store

TTL = 30.0


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    with built_store(tmp_path) as first, Store.open(first.db_path) as second:
        yield first, second


def leases(store: Store, **options: object) -> Leases:
    return Leases(store=store, ttl=TTL, clock=trio.current_time, **options)  # type: ignore[arg-type]


async def a_run(store: Store, fake: FakeLLM, **options: object) -> GenerationReport:
    async with client_for(fake) as client:
        generation = Generation(
            store=store,
            client=client,
            concurrency=2,
            leases=leases(store),
            **options,  # type: ignore[arg-type]
        )._use_runner(inline)
        return await generation.run(select_nodes(store))


async def test_two_runs_at_once_send_each_node_once_and_write_every_node(
    stores: tuple[Store, Store], autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0)
    reports: list[GenerationReport] = []

    async def one(store: Store) -> None:
        reports.append(await a_run(store, fake))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(one, stores[0])
        nursery.start_soon(one, stores[1])

    ids = {node.id for node in stores[0].nodes()}
    assert Counter(call.node_id for call in fake.calls) == dict.fromkeys(ids, 1)
    for node_id in ids:
        outcomes = sorted(str(report.results[node_id].outcome) for report in reports)
        assert outcomes == ["generated", "written-by-another-run"]
    assert all(len(report.generated) > 0 for report in reports)  # the work was shared
    assert stores[1].prose_counts() == {"current": len(ids), "stale": 0, "missing": 0}
    # Modules waited for children written by the other run: every summary is in their prompts.
    for call in fake.calls:
        node = stores[0].node(call.node_id or "")
        assert node is not None
        if node.type == "module":
            for edge in stores[0].edges(node.id):
                if edge.type == "contains":
                    assert f"Summary of {edge.target}." in str(call.messages)
    assert reports[0].to_json()["totals"]["written_by_another_run"] == len(
        reports[0].of(Outcome.WRITTEN_ELSEWHERE)
    )
    assert stores[0]._query("SELECT count(*) FROM leases") == [(0,)]
    assert stores[0]._query("SELECT count(*) FROM runs") == [(0,)]


async def test_a_dead_runs_node_is_taken_over_when_its_lease_expires(
    stores: tuple[Store, Store], autojump_clock: object
) -> None:
    dead = leases(stores[1], owner="dead", check_pids=False)
    dead.start(selected=1)
    dead.claim("pkg/core.py", "any", select_nodes(stores[1]).made_at)  # then it dies
    fake = FakeLLM(latency=1.0)
    start = trio.current_time()
    report = await a_run(stores[0], fake)

    assert {str(r.outcome) for r in report.results.values()} == {"generated"}
    (call,) = fake.calls_for("pkg/core.py")
    assert call.start - start >= TTL  # not before the dead run's lease expired
    assert stores[0].prose_counts()["missing"] == 0


async def test_a_node_whose_source_changed_during_its_call_is_saved_stale(
    stores: tuple[Store, Store], autojump_clock: object
) -> None:
    store = stores[0]
    fake = FakeLLM(latency=1.0)
    fake.script("pkg/core.py", latency=10.0)

    async def rebuild_meanwhile() -> None:
        await trio.sleep(5.0)  # the call about pkg/core.py is in flight
        nodes = [
            attrs.evolve(n, source_hash="changed") if n.id == "pkg/core.py" else n
            for n in stores[1].nodes()
        ]
        stores[1].replace_graph(nodes, stores[1].edges())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(rebuild_meanwhile)
        report = await a_run(store, fake)

    assert report.results["pkg/core.py"].outcome is Outcome.GENERATED
    assert store.briefs(["pkg/core.py"])["pkg/core.py"][2] is True  # stale
    assert store.prose_counts()["stale"] == 1
