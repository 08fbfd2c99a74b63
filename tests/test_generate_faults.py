"""Regression tests for faults a review found in the generator (issue 9), on Trio's mock clock."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
from fakellm import FakeLLM
from mockclock import client_for, inline, run
from projects import write_tree
from sample_project import built_store
from trio._core._run import _r as trio_scheduler_random

from pith._build import build
from pith._extract import extract
from pith._generate import Generation
from pith._generate._blocking import BlockingBatcher
from pith._generate._limiter import FifoCapacityLimiter
from pith._generate._prompt_builder import PromptBuilder
from pith._generate._report import Outcome
from pith._generate._selection import select_nodes
from pith._models import Node, NodeType
from pith._store import Store

T = TypeVar("T")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with built_store(tmp_path) as store:
        yield store


def project_store(tmp_path: Path, files: dict[str, str]) -> Store:
    root = write_tree(tmp_path / "project", files)
    store = Store.open(tmp_path / "data" / "pith.db")
    extract(root, store, workers=1)
    build(store)
    return store


@pytest.fixture
def failing_prompts(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Node ids whose prompt cannot be built (as for a file deleted without `pith build`)."""
    failing: set[str] = set()
    original = PromptBuilder.prompt

    def prompt(self: PromptBuilder, node: Node) -> Any:
        if node.id in failing:
            raise LookupError(f"no extracted facts for {node.id}; run `pith extract` again")
        return original(self, node)

    monkeypatch.setattr(PromptBuilder, "prompt", prompt)
    return failing


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_prompt_failures_in_phase_one_give_back_their_permits(
    autojump_clock: trio.testing.MockClock,
    store: Store,
    failing_prompts: set[str],
    concurrency: int,
) -> None:
    phase_one = [n.id for n in store.nodes() if n.type is not NodeType.MODULE]
    failing_prompts.update(phase_one[:-1])  # far more than 2 x concurrency
    report = await run(store, FakeLLM(), concurrency=concurrency)
    assert {r.id for r in report.failed} == set(phase_one[:-1])
    assert len(report.generated) == len(store.nodes()) - len(phase_one) + 1
    assert all(r.error is not None and r.error.kind == "other" for r in report.failed)


async def test_prompt_failures_in_phase_two_cost_only_their_node(
    autojump_clock: trio.testing.MockClock, store: Store, failing_prompts: set[str]
) -> None:
    failing_prompts.update({"pkg/sub/deep", "pkg"})
    fake = FakeLLM()
    report = await run(store, fake, concurrency=1)
    assert {r.id for r in report.failed} == {"pkg/sub/deep", "pkg"}
    assert len(report.generated) == len(store.nodes()) - 2
    assert fake.calls_for("pkg/sub") != []


async def test_a_raising_progress_callback_costs_no_node(
    autojump_clock: trio.testing.MockClock, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    seen = []

    def broken(update: Any) -> None:
        seen.append(update.done)
        raise RuntimeError("the display broke")

    with caplog.at_level(logging.WARNING, logger="pith"):
        report = await run(store, FakeLLM(), concurrency=3, on_progress=broken)
    assert len(report.generated) == len(store.nodes())
    assert not report.cancelled
    assert len(seen) == len(store.nodes())  # still called: only its error is swallowed
    warnings = [r for r in caplog.records if "progress callback" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_cancel_is_what_makes_a_run_cancelled(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM(latency=1.0)
    async with client_for(fake) as client:
        generation = Generation(store=store, client=client, concurrency=2)._use_runner(inline)
        with trio.move_on_after(1.5):
            await generation.run(select_nodes(store))
    assert generation.report.cancelled
    assert len(generation.report.generated) == 2


async def test_no_call_after_a_run_wide_error_even_for_a_node_waiting_for_its_prompt(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = project_store(
        tmp_path,
        {"a/__init__.py": "", "b/__init__.py": "", "b/c/__init__.py": ""},
    )
    fake = FakeLLM()
    fake.script("a", fail_status=401, fail_times=9, latency=1.0)
    # `b` becomes ready at once (its sub-package b/c answers at once), then its prompt takes
    # 2 s to build: the 401 about `a` arrives meanwhile.
    original = BlockingBatcher.run

    async def slow_prompt_of_b(self: BlockingBatcher, fn: Callable[[], T]) -> T:
        # The prompt of `b` alone, or in a batch of modules prepared together.
        first = fn.args[0] if isinstance(fn, functools.partial) and fn.args else None
        nodes = first if isinstance(first, list) else [first]
        if any(getattr(node, "id", None) == "b" for node in nodes):
            await trio.sleep(2.0)
        return await original(self, fn)

    monkeypatch.setattr(BlockingBatcher, "run", slow_prompt_of_b)
    report = await run(store, fake, concurrency=3)
    assert report.halted_by is not None
    assert fake.calls_for("b") == []
    assert report.results["b"].outcome is Outcome.NOT_ATTEMPTED


SIBLINGS = [f"p{i}" for i in range(8)]


@pytest.fixture
def scheduler_seed() -> Iterator[None]:
    state = trio_scheduler_random.getstate()
    yield
    trio_scheduler_random.setstate(state)


@pytest.mark.usefixtures("scheduler_seed")
async def test_phase_two_starts_in_selection_order_across_scheduler_seeds(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    files = {f"{name}/__init__.py": f"'''Package {name}.'''\n" for name in SIBLINGS}
    files |= {"p3/inner/__init__.py": "", "p5/inner/__init__.py": ""}
    store = project_store(tmp_path, files)
    assert len(select_nodes(store).phase_two) == 11  # 8 siblings, 2 inner packages, the root
    # Submitted in selection order among the modules that are ready: every package without a
    # sub-package at once, p3 and p5 when their inner package is written, the root last.
    expected = ["p3/inner", "p5/inner", "p0", "p1", "p2", "p4", "p6", "p7", "p3", "p5", "."]
    for seed in range(12):
        trio_scheduler_random.seed(seed)
        fake = FakeLLM(latency=0.5)
        await run(store, fake, concurrency=1, force=True)
        modules = {n.id for n in store.nodes(NodeType.MODULE)}
        order = [call.node_id for call in fake.calls if call.node_id in modules]
        assert order == expected, seed


async def test_a_shared_limiter_resized_mid_run(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    limiter = FifoCapacityLimiter(1)
    fake = FakeLLM(latency=1.0)

    async def widen_then_narrow() -> None:
        await trio.sleep(2.5)
        limiter.total_tokens = 4
        await trio.sleep(2.0)
        limiter.total_tokens = 2

    async with trio.open_nursery() as nursery:
        nursery.start_soon(widen_then_narrow)
        report = await run(store, fake, limiter=limiter)
    assert len(report.generated) == len(store.nodes())
    assert fake.max_in_flight == 4
    with pytest.raises(ValueError, match="not both"):
        async with client_for(fake) as client:
            Generation(store=store, client=client, concurrency=3, limiter=limiter)


async def test_an_interrupted_force_run_is_continued_by_a_plain_run(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    await run(store, FakeLLM())  # everything written once
    fake = FakeLLM(latency=1.0)
    with trio.move_on_after(2.5):  # --force, cut off after two rounds of two
        await run(store, fake, concurrency=2, force=True)
    rewritten = {call.node_id for call in fake.calls if call.end < 2.5 + fake.calls[0].start}
    assert 0 < len(rewritten) < len(store.nodes())
    rest = FakeLLM()
    report = await run(store, rest)  # no --force: continues what the forced run left
    assert {c.node_id for c in rest.calls} == {n.id for n in store.nodes()} - rewritten
    assert len(report.failed) == 0
    again = FakeLLM()
    await run(store, again)  # and then the force is done
    assert again.calls == []
