"""Regression tests for the generator review of issue 20 (faults 1-9 and 11), on Trio's mock
clock with the fake endpoint in memory. Each failed on the generator before v2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from fakellm import FakeLLM
from mockclock import client_for, inline, run
from projects import write_tree
from sample_project import built_store

from pith._build import build
from pith._extract import extract
from pith._generate import Generation
from pith._generate._adaptive import AdaptiveConcurrency
from pith._generate._engine import only_cancels
from pith._generate._leases import Leases
from pith._generate._limiter import FifoCapacityLimiter
from pith._generate._prompt_builder import PromptBuilder
from pith._generate._prose import FactIndex, parse_prose
from pith._generate._report import GenerationReport
from pith._generate._selection import FORCE_PENDING, select_nodes
from pith._models import Node, NodeType
from pith._store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with built_store(tmp_path) as store:
        yield store


# 1. A shared limiter widened between construction and run() does not hang the run.
async def test_a_limiter_widened_before_run_does_not_hang(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    limiter = FifoCapacityLimiter(1)
    fake = FakeLLM(latency=1.0)
    async with client_for(fake) as client:
        generation = Generation(store=store, client=client, limiter=limiter)._use_runner(inline)
        limiter.total_tokens = 8  # e.g. reset after an earlier run's adaptation left it at 1
        with trio.fail_after(3600):
            report = await generation.run(select_nodes(store))
    assert len(report.generated) == len(store.nodes())


# 2. A store that turns read-only after the first commit: the run ends with its report.
async def test_a_store_turning_read_only_mid_run_still_returns_the_report(
    autojump_clock: trio.testing.MockClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store.save_prose_many

    def save_then_turn_read_only(self: Store, items: Any) -> list[Exception | None]:
        saved = original(self, items)
        # Every later write of this connection fails as on a read-only medium.
        self._db.execute("PRAGMA query_only = ON")
        return saved

    monkeypatch.setattr(Store, "save_prose_many", save_then_turn_read_only)
    fake = FakeLLM(latency=1.0)
    report = await run(store, fake, concurrency=2)
    assert len(report.generated) == 1
    assert report.halted_by is not None
    assert "cannot save prose" in report.halted_by
    assert report.finished_at is not None
    json.dumps(report.to_json())  # the report can be written


# 3. Parsing a large reply is linear: a bounded number of decode attempts, whatever the braces.
def test_a_reply_full_of_braces_is_parsed_with_bounded_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = 0
    original = json.JSONDecoder.raw_decode

    def counting(self: json.JSONDecoder, s: str, idx: int = 0) -> Any:
        nonlocal attempts
        attempts += 1
        return original(self, s, idx)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counting)
    node = Node(id="m.py", type=NodeType.FILE, name="m.py", path="m.py", source_hash="h")
    text = "{ x\n" * 20_000 + json.dumps({"summary": "S.", "purpose": "P."})
    with pytest.raises(Exception, match="JSON"):
        parse_prose(text, node=node, model="m")
    # json.loads calls raw_decode once for the whole text; then a bounded number of tries.
    assert attempts <= 100


# 4. Adaptation is an overlay of the run: a shared limiter gets its size back.
async def test_a_shared_limiter_is_restored_after_the_run_adapted_it(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    limiter = FifoCapacityLimiter(8)
    fake = FakeLLM(latency=1.0, capacity=2)
    report = await run(store, fake, limiter=limiter)
    assert len(report.generated) == len(store.nodes())
    assert report.admission is not None
    assert report.admission.lowest < 8
    assert limiter.total_tokens == 8


async def test_concurrent_runs_on_one_limiter_share_their_pauses(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    limiter = FifoCapacityLimiter(4)
    fake = FakeLLM(latency=1.0, capacity=2, retry_after=5.0)
    reports: list[GenerationReport] = []
    with built_store(tmp_path / "a") as one, built_store(tmp_path / "b") as two:

        async def one_run(store: Store) -> None:
            reports.append(await run(store, fake, limiter=limiter))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(one_run, one)
            nursery.start_soon(one_run, two)
    first, second = reports
    assert first.admission is second.admission  # one admission for one limiter
    assert limiter.total_tokens == 4
    assert all(len(r.generated) == len(r.results) for r in reports)


# 5. A refused call gives its slot back and waits its turn again: refusals fall with the limit.
async def test_refused_calls_do_not_resend_from_their_slots(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM(latency=1.0, capacity=1)
    report = await run(store, fake, concurrency=8)
    assert len(report.generated) == len(store.nodes())
    # One round of refusals at 8, then (after the cut to 4, 2, 1) a few while probing.
    assert fake.refused <= 8 + 4 + 2 + len(store.nodes()) // 4, fake.refused


# 6. A reply to a call sent before a cut does not count towards raising the new limit.
async def test_replies_from_before_a_cut_do_not_raise_the_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = FifoCapacityLimiter(8)
    control = AdaptiveConcurrency(limiter=limiter, probe_rounds=1)
    old_rounds = [await control.admit() for _ in range(8)]
    control.refused(old_rounds[0], retry_after=None)
    assert limiter.total_tokens == 4
    for round_ in old_rounds[1:]:  # seven replies to calls sent under the old limit of 8
        control.succeeded(round_)
    assert limiter.total_tokens == 4


# 7. After a run-wide error, no more prompts are built and no more leases claimed.
async def test_a_halted_run_builds_and_claims_no_more(
    autojump_clock: trio.testing.MockClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    claimed: list[str] = []
    original_prompt, original_claim = PromptBuilder.prompt, Leases.claim

    def prompt(self: PromptBuilder, node: Node) -> Any:
        built.append(node.id)
        return original_prompt(self, node)

    def claim(self: Leases, node_id: str, *args: Any) -> Any:
        claimed.append(node_id)
        return original_claim(self, node_id, *args)

    monkeypatch.setattr(PromptBuilder, "prompt", prompt)
    monkeypatch.setattr(Leases, "claim", claim)
    fake = FakeLLM(latency=1.0)
    fake.script("*", fail_status=401, fail_times=99)
    report = await run(store, fake, concurrency=2)
    assert report.halted_by is not None
    total = len(store.nodes())
    assert total >= 13
    # The batch in flight (two) and the two batches prepared behind it; not the rest.
    assert len(built) <= 6, built
    assert len(claimed) <= 6, claimed


# 8. The facts a reply is checked against are indexed once per file, off the event loop.
async def test_the_fact_index_is_built_once_per_file(
    autojump_clock: trio.testing.MockClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = FactIndex.of.__func__  # type: ignore[attr-defined]

    def of(cls: type[FactIndex], facts: Any, code: str = "") -> FactIndex:
        built.append(facts.path)
        return original(cls, facts, code)  # type: ignore[no-any-return]

    monkeypatch.setattr(FactIndex, "of", classmethod(of))
    report = await run(store, FakeLLM(), concurrency=2)
    assert len(report.generated) == len(store.nodes())
    assert len(built) == len(set(built)), built


# 9. Only the summaries a module prompt reads are kept for the run.
async def test_only_summaries_module_prompts_read_are_kept(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM()
    async with client_for(fake) as client:
        generation = Generation(store=store, client=client, concurrency=2)._use_runner(inline)
        await generation.run(select_nodes(store))
        kept = set(generation._prompts.summaries)
    functions = {n.id for n in store.nodes(NodeType.FUNCTION)}
    assert functions
    assert not kept & functions


# 11. The --force marker is cleared by a finished run; a Generation runs once.
async def test_a_finished_force_run_clears_its_marker(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    await run(store, FakeLLM(), force=True)
    assert store.get_meta(FORCE_PENDING) is None


async def test_a_generation_runs_once(autojump_clock: trio.testing.MockClock, store: Store) -> None:
    async with client_for(FakeLLM()) as client:
        generation = Generation(store=store, client=client)._use_runner(inline)
        await generation.run(select_nodes(store))
        with pytest.raises(RuntimeError, match="once"):
            await generation.run(select_nodes(store))


def test_a_bug_arriving_with_a_ctrl_c_is_not_called_an_interrupt() -> None:
    bug = ZeroDivisionError("a bug")
    assert only_cancels(KeyboardInterrupt())
    assert only_cancels(BaseExceptionGroup("", [KeyboardInterrupt(), KeyboardInterrupt()]))
    assert not only_cancels(BaseExceptionGroup("", [KeyboardInterrupt(), bug]))
    assert not only_cancels(BaseExceptionGroup("", [BaseExceptionGroup("", [bug])]))
    assert not only_cancels(bug)


def test_the_public_api_exports_what_it_returns_and_takes_and_is_typed() -> None:
    import importlib.resources

    import pith

    for name in [
        "Usage",
        "Completion",
        "NodeError",
        "ConcurrencyChange",
        "FifoCapacityLimiterStatistics",
        "StoreWriteError",
        "AdaptiveConcurrency",
    ]:
        assert name in pith.__all__
        assert getattr(pith, name).__name__ == name
    assert importlib.resources.files("pith").joinpath("py.typed").is_file()


class CountingDict(dict[str, tuple[str, ...]]):
    """A dict that counts lookups of its items."""

    lookups = 0

    def get(self, key: str, default: Any = None) -> Any:
        CountingDict.lookups += 1
        return super().get(key, default)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        CountingDict.lookups += 1
        return super().__getitem__(key)


# 9. Phase two counts readiness per parent; it does not rescan every waiting module.
async def test_phase_two_does_not_rescan_waiting_modules(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    files = {f"p{i}/__init__.py": "" for i in range(40)}
    files |= {f"p{i}/inner/__init__.py": "" for i in range(40)}
    root = write_tree(tmp_path / "project", files)
    with Store.open(tmp_path / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        selection = select_nodes(store)
        assert len(selection.phase_two) >= 80
        counted = attrs.evolve(selection, submodules=CountingDict(selection.submodules))
        CountingDict.lookups = 0
        async with client_for(FakeLLM(latency=1.0)) as client:
            generation = Generation(store=store, client=client, concurrency=1)._use_runner(inline)
            report = await generation.run(counted)
    assert len(report.generated) == len(report.results)
    # Each module is looked up a bounded number of times, not once per completion.
    assert CountingDict.lookups <= 2 * len(selection.phase_two), CountingDict.lookups


# Saves: the replies that arrive while a save is under way are committed together (one commit
# for them all), and none is reported generated before the commit that holds it.
async def test_replies_arriving_during_a_save_are_committed_together(
    autojump_clock: trio.testing.MockClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[str]] = []
    original = Store.save_prose_many

    def recording(self: Store, items: Any) -> list[Exception | None]:
        batches.append([node_id for node_id, _ in items])
        return original(self, items)

    monkeypatch.setattr(Store, "save_prose_many", recording)

    async def a_trip_takes_time(fn: Any) -> Any:
        await trio.sleep(0.1)  # as a worker thread's trip does
        return fn()

    reported_before_saved: list[str] = []

    def on_progress(update: Any) -> None:
        if update.result.outcome.value == "generated" and store.prose(update.result.id) is None:
            reported_before_saved.append(update.result.id)

    fake = FakeLLM(latency=1.0)
    async with client_for(fake) as client:
        generation = Generation(
            store=store, client=client, concurrency=4, on_progress=on_progress
        )._use_runner(a_trip_takes_time)
        with trio.fail_after(3600):
            report = await generation.run(select_nodes(store))
    assert len(report.generated) == len(store.nodes())
    generated = sorted(result.id for result in report.generated)
    assert sorted(node_id for batch in batches for node_id in batch) == generated
    assert max(map(len, batches)) > 1
    assert len(batches) < len(generated)
    assert reported_before_saved == []
