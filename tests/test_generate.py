"""The two-phase generator, against a fake OpenAI-compatible endpoint on Trio's mock clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import trio
from fakellm import Call, FakeLLM
from mockclock import client_for, generate_inline, inline, run
from projects import write_tree
from sample_project import built_store

from pith._build import build
from pith._cli._console import estimate_lines
from pith._config import Settings
from pith._errors import UsageError
from pith._extract import extract
from pith._generate._engine import Generation, _generate, generate
from pith._generate._estimate import estimate
from pith._generate._limiter import FifoCapacityLimiter
from pith._generate._report import PHASE_MODULES, PHASE_NODES, Outcome, ProgressUpdate
from pith._generate._selection import select_nodes
from pith._llm import AuthError, LLMClient, ServerError
from pith._models import EdgeType, NodeType
from pith._store import Store

MODULES = (".", "pkg", "pkg/sub", "pkg/sub/deep")  # the root, the overview, too
T = TypeVar("T")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with built_store(tmp_path) as store:
        yield store


def node_calls(fake: FakeLLM, store: Store, node_type: NodeType) -> list[Call]:
    ids = {node.id for node in store.nodes(node_type)}
    return [call for call in fake.calls if call.node_id in ids]


def prompt_of(call: Call) -> str:
    return "\n".join(str(message["content"]) for message in call.messages)


async def test_generates_every_node_once_and_commits_it(
    store: Store, autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0)
    report = await run(store, fake, concurrency=3)

    all_ids = {node.id for node in store.nodes()}
    assert {r.id for r in report.generated} == all_ids
    assert sorted(call.node_id for call in fake.calls) == sorted(all_ids)
    for node_id in all_ids:
        prose = store.prose(node_id)
        assert prose is not None
        assert prose.summary == f"Summary of {node_id}."
        assert prose.model == "test-model"
    assert report.errors is None
    report.raise_for_errors()  # nothing to raise
    assert report.usage.prompt_tokens > 0
    assert store.prose_counts() == {"current": len(all_ids), "stale": 0, "missing": 0}


@pytest.mark.parametrize("concurrency", [1, 2, 4])
async def test_concurrency_never_exceeds_the_limit_and_reaches_it(
    store: Store, autojump_clock: object, concurrency: int
) -> None:
    fake = FakeLLM(latency=1.0)
    await run(store, fake, concurrency=concurrency)
    assert fake.max_in_flight == concurrency


async def run_on_a_slow_store(store: Store, fake: FakeLLM) -> None:
    """Generate at concurrency 2 where every trip to the store's thread takes 0.4 s."""

    async def slow_store(fn: Callable[[], T]) -> T:
        await trio.sleep(0.4)
        return fn()

    async with client_for(fake) as client:
        await _generate(
            store,
            client,
            concurrency=2,
            limiter=None,
            node_ids=(),
            force=False,
            on_progress=None,
            run_blocking=slow_store,
        )


def back_to_back(calls: list[Call]) -> bool:
    """Whether every call after the first two started the moment another ended."""
    calls = sorted(calls, key=lambda call: call.start)
    ends = {call.end for call in calls}
    return all(call.start in ends for call in calls[2:])


async def test_a_slot_goes_from_one_call_straight_to_the_next_however_slow_the_store(
    store: Store, autojump_clock: object
) -> None:
    # Prompts and leases are made ready ahead, so a limiter slot is held for the call alone.
    fake = FakeLLM(latency=1.0)
    await run_on_a_slow_store(store, fake)
    calls = node_calls(fake, store, NodeType.FILE) + node_calls(fake, store, NodeType.FUNCTION)
    assert back_to_back(calls), [(c.start, c.end) for c in calls]


async def test_packages_ready_together_hold_their_slots_for_the_call_alone(
    tmp_path: Path, autojump_clock: object
) -> None:
    siblings = [f"p{i}" for i in range(6)]
    project = write_tree(tmp_path / "project", {f"{p}/__init__.py": "" for p in siblings})
    fake = FakeLLM(latency=1.0)
    with Store.open(tmp_path / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        await run_on_a_slow_store(store, fake)
    calls = [call for call in fake.calls if call.node_id in siblings]
    assert len(calls) == len(siblings)
    assert back_to_back(calls), [(c.start, c.end) for c in calls]


async def test_modules_start_after_every_phase_one_call_ended(
    store: Store, autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0)
    # Uneven latencies so that a careless scheduler would overlap the phases.
    fake.script("app.py", latency=7.0)
    report = await run(store, fake, concurrency=4)

    phase_one = [c for c in fake.calls if c.node_id not in MODULES]
    modules = [c for c in fake.calls if c.node_id in MODULES]
    assert len(modules) == len(MODULES)
    assert min(c.start for c in modules) >= max(c.end for c in phase_one)
    assert {r.phase for r in report.results.values() if r.id in MODULES} == {PHASE_MODULES}
    assert {r.phase for r in report.results.values() if r.id not in MODULES} == {PHASE_NODES}


async def test_sub_packages_are_written_before_their_parents(
    store: Store, autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0)
    # Capacity to spare: only the bottom-up rule keeps a parent waiting.
    await run(store, fake, concurrency=10)
    (deep,) = fake.calls_for("pkg/sub/deep")
    (sub,) = fake.calls_for("pkg/sub")
    (pkg,) = fake.calls_for("pkg")
    assert deep.end <= sub.start
    assert sub.end <= pkg.start


async def test_every_module_prompt_holds_its_childrens_summaries(
    store: Store, autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0)
    await run(store, fake, concurrency=3)
    for module in MODULES:
        (call,) = fake.calls_for(module)
        prompt = prompt_of(call)
        children = [edge.target for edge in store.edges(module, EdgeType.CONTAINS)]
        assert children
        for child in children:
            assert f"Summary of {child}." in prompt, (module, child)


async def test_module_prompt_takes_unchanged_childrens_summaries_from_the_store(
    store: Store, autojump_clock: object
) -> None:
    await run(store, FakeLLM(latency=1.0), concurrency=3)
    fake = FakeLLM(latency=1.0)
    # Regenerating only the module: its children's summaries come from the store.
    await run(store, fake, node_ids=["pkg/sub"])
    (call,) = fake.calls
    assert "Summary of pkg/sub/mid.py." in prompt_of(call)
    assert "Summary of pkg/sub/deep." in prompt_of(call)


async def test_a_package_is_rewritten_only_when_one_of_its_children_is(
    store: Store, autojump_clock: object
) -> None:
    leaf, packages = "pkg/sub/deep/leaf.py", [".", "pkg", "pkg/sub", "pkg/sub/deep"]
    failing = FakeLLM(latency=1.0)
    failing.script(leaf, fail_status=500, fail_times=99)
    await run(store, failing, concurrency=3)
    # The rerun chooses the leaf and, in case it changes, the packages above it...
    selection = select_nodes(store)
    assert set(selection.if_children_change) == set(packages)
    cost = estimate(store, selection, "test-model")
    settings = Settings(data_dir=store.db_path.parent)
    (count, *_) = estimate_lines(cost, settings, selection, list_nodes=False)
    assert count.endswith("4 modules, 4 of them only if something below is written)")
    still_failing = FakeLLM(latency=1.0)
    still_failing.script(leaf, fail_status=500, fail_times=99)
    report = await run(store, still_failing, concurrency=3)
    # ...but when it fails again, their prompts would be what their prose was written from.
    assert {call.node_id for call in still_failing.calls} == {leaf}
    assert sorted(r.id for r in report.of(Outcome.UNCHANGED)) == packages
    assert report.to_json()["totals"]["unchanged"] == 4
    # Once it is written, so are they, bottom-up, with its summary.
    fixed = FakeLLM(latency=1.0)
    report = await run(store, fixed, concurrency=3)
    assert [call.node_id for call in fixed.calls] == [leaf, *reversed(packages)]
    assert f"Summary of {leaf}." in prompt_of(fixed.calls_for("pkg/sub/deep")[0])
    assert store.prose_counts()["current"] == len(store.nodes())


async def test_failing_nodes_leave_the_others_generated_and_are_all_reported(
    store: Store, autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0)
    fake.script("pkg/core.py", fail_status=503, fail_times=99)
    fake.script("pkg/sub/deep/leaf.py", fail_status=500, fail_times=99)
    fake.script("pkg/util.py", invalid_times=99)
    report = await run(store, fake, concurrency=3)

    failed = {r.id for r in report.failed}
    assert failed == {"pkg/core.py", "pkg/sub/deep/leaf.py", "pkg/util.py"}
    assert {r.id for r in report.generated} == {n.id for n in store.nodes()} - failed
    assert report.not_attempted == []
    kinds = {r.id: r.error.kind for r in report.failed if r.error}
    assert kinds == {
        "pkg/core.py": "server",
        "pkg/sub/deep/leaf.py": "server",
        "pkg/util.py": "invalid_reply",
    }
    assert report.results["pkg/core.py"].attempts == 3  # the retry policy ran out
    # A failing child does not hold its package back: every module was still written.
    assert all(report.results[m].outcome is Outcome.GENERATED for m in MODULES)
    assert "(no summary)" in prompt_of(fake.calls_for("pkg/sub/deep")[0])

    group = report.errors
    assert isinstance(group, ExceptionGroup)
    assert len(group.exceptions) == 3
    notes = [" ".join(getattr(exc, "__notes__", [])) for exc in group.exceptions]
    assert any("'pkg/core.py'" in note and "phase 1" in note for note in notes)
    with pytest.raises(ExceptionGroup) as caught:
        report.raise_for_errors()
    matched, rest = caught.value.split(ServerError)
    assert matched is not None
    assert len(matched.exceptions) == 2
    assert rest is not None  # the invalid reply


async def test_a_401_stops_admission_after_the_calls_in_flight(
    store: Store, autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0, api_key="sk-the-right-key")  # the client sends another key
    report = await run(store, fake, concurrency=2)

    # The first two calls were in flight together; nothing was admitted after they failed.
    assert len(fake.calls) == 2
    assert {call.status for call in fake.calls} == {401}
    assert len(report.failed) == 2
    assert all(isinstance(exc, AuthError) for exc in report.exceptions)
    assert len(report.not_attempted) == len(store.nodes()) - 2
    assert report.halted_by is not None
    assert "sk-test-secret" not in report.halted_by
    assert store.prose_counts()["current"] == 0


async def test_cancelling_keeps_finished_prose_and_a_rerun_finishes_the_rest(
    store: Store, autojump_clock: object
) -> None:
    fake = FakeLLM(latency=1.0)
    with trio.CancelScope() as cancel_scope:

        def cancel_after_four(update: ProgressUpdate) -> None:
            if update.done == 4:
                cancel_scope.cancel()  # like Ctrl-C: calls in flight are cut off

        async with client_for(fake) as client:
            generation = Generation(
                store=store,
                client=client,
                concurrency=2,
                on_progress=cancel_after_four,
            )._use_runner(inline)
            await generation.run(select_nodes(store))
    report = generation.report
    assert report.cancelled
    finished = {r.id for r in report.generated}
    assert len(finished) == 4
    assert len(report.not_attempted) == len(store.nodes()) - 4
    for node_id in finished:
        assert store.prose(node_id) is not None
    assert store.prose_counts()["current"] == 4

    rerun = FakeLLM(latency=1.0)
    report = await run(store, rerun, concurrency=2)
    all_ids = {node.id for node in store.nodes()}
    assert {call.node_id for call in rerun.calls} == all_ids - finished
    assert len(rerun.calls) == len(all_ids - finished)
    assert store.prose_counts()["current"] == len(all_ids)


async def test_a_rerun_with_nothing_changed_makes_no_call(
    store: Store, autojump_clock: object
) -> None:
    await run(store, FakeLLM(latency=1.0))
    fake = FakeLLM(latency=1.0)
    report = await run(store, fake)
    assert fake.calls == []
    assert report.results == {}


async def test_force_rewrites_everything_and_node_selects_exactly(
    store: Store, autojump_clock: object
) -> None:
    await run(store, FakeLLM(latency=1.0))

    forced = FakeLLM(latency=1.0)
    await run(store, forced, force=True)
    assert len(forced.calls) == len(store.nodes())

    chosen = FakeLLM(latency=1.0)
    await run(store, chosen, node_ids=["pkg/core.py", "pkg/core.py:connect"])
    assert sorted(call.node_id for call in chosen.calls) == ["pkg/core.py", "pkg/core.py:connect"]


def test_select_nodes_rejects_an_unknown_id_with_suggestions(store: Store) -> None:
    with pytest.raises(UsageError, match=r"pkg/core\.py"):
        select_nodes(store, node_ids=["pkg/cor.py"])


def test_select_nodes_orders_modules_deepest_first(store: Store) -> None:
    selection = select_nodes(store)
    assert [node.id for node in selection.phase_two] == ["pkg/sub/deep", "pkg/sub", "pkg", "."]
    assert selection.submodules == {
        ".": ("pkg",),
        "pkg": ("pkg/sub",),
        "pkg/sub": ("pkg/sub/deep",),
    }
    assert all(node.type is not NodeType.MODULE for node in selection.phase_one)


async def test_progress_is_reported_for_every_node(store: Store, autojump_clock: object) -> None:
    fake = FakeLLM(latency=1.0)
    fake.script("app.py", fail_status=400, fail_times=1)
    updates: list[ProgressUpdate] = []
    await run(store, fake, concurrency=3, on_progress=updates.append)
    total = len(store.nodes())
    assert [u.done for u in updates] == list(range(1, total + 1))
    assert {u.total for u in updates} == {total}
    assert updates[-1].failed == 1


async def test_a_shared_limiter_bounds_pith_together_with_the_application(
    store: Store, autojump_clock: object
) -> None:
    limiter = FifoCapacityLimiter(3)
    fake = FakeLLM(latency=1.0)
    pith_done = trio.Event()
    application_holds_a_slot = trio.Event()

    async def application_work() -> None:
        application_holds_a_slot.set()
        await pith_done.wait()

    async with trio.open_nursery() as nursery:
        # The application holds one slot for the whole run: pith gets the other two.
        limiter.start_soon(nursery, application_work)
        await application_holds_a_slot.wait()
        async with client_for(fake) as client:
            report = await generate_inline(store, client, limiter=limiter)
        pith_done.set()
    assert fake.max_in_flight == 2
    assert len(report.generated) == len(store.nodes())


async def test_report_json_has_the_contract_fields(store: Store, autojump_clock: object) -> None:
    fake = FakeLLM(latency=1.0)
    fake.script("app.py", fail_status=404, fail_times=1)
    report = await run(store, fake, concurrency=1)
    data = report.to_json()
    assert data["model"] == "test-model"
    assert data["base_url"] == "https://llm.example/v1"
    assert data["concurrency"] == 1
    entry = next(n for n in data["nodes"] if n["id"] == "app.py")
    assert entry["outcome"] == "failed"
    assert entry["error"]["kind"] == "model_not_found"
    assert set(entry) >= {
        "id",
        "phase",
        "outcome",
        "attempts",
        "prompt_tokens",
        "completion_tokens",
        "error",
    }
    assert data["totals"]["failed"] == 1
    assert data["totals"]["not_attempted"] == len(store.nodes()) - 1


async def test_transport_errors_that_are_not_llm_errors_are_reported_as_other(
    store: Store, autojump_clock: object
) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("the transport itself broke")

    async with LLMClient(
        base_url="http://127.0.0.1:9/v1", model="m", transport=httpx.MockTransport(explode)
    ) as client:
        report = await generate(store, client, node_ids=["app.py"])
    (result,) = report.failed
    assert result.error is not None
    assert result.error.kind == "other"
    assert "RuntimeError" in result.error.message


async def test_the_default_worker_thread_path_on_the_real_clock(store: Store) -> None:
    """No mock clock here: the store's calls go to a real worker thread, batched."""
    fake = FakeLLM(latency=0.0)
    async with client_for(fake) as client:
        report = await generate(store, client, concurrency=4)
    assert len(report.generated) == len(store.nodes())
    assert store.prose_counts()["current"] == len(store.nodes())


async def test_report_and_store_agree_after_a_cancel_on_the_real_clock(store: Store) -> None:
    fake = FakeLLM(latency=0.0)
    with trio.CancelScope() as cancel_scope:

        def cancel_after_five(update: ProgressUpdate) -> None:
            if update.done == 5:
                cancel_scope.cancel()

        async with client_for(fake) as client:
            generation = Generation(
                store=store, client=client, concurrency=4, on_progress=cancel_after_five
            )
            await generation.run(select_nodes(store))
    generated = {r.id for r in generation.report.generated}
    assert len(generated) >= 5
    # Every reply counted as generated is committed, and nothing else is.
    assert {n.id for n in store.nodes() if store.prose(n.id) is not None} == generated
