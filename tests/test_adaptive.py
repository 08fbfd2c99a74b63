"""Adaptive admission: pauses, cuts, growth, no failed node under a steady rate limit; the
dead endpoint that fails fast. On Trio's mock clock, with the fake endpoint in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from fakellm import FakeLLM
from mockclock import client_for, generate_inline, run
from sample_project import built_store

from pith._generate._adaptive import AdaptiveConcurrency
from pith._generate._limiter import FifoCapacityLimiter
from pith._store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with built_store(tmp_path) as store:
        yield store


async def test_a_refusal_cuts_once_per_round_and_never_below_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = FifoCapacityLimiter(8)
    control = AdaptiveConcurrency(limiter=limiter)
    rounds = [await control.admit() for _ in range(8)]  # eight requests in flight
    for round_ in rounds:  # all of them refused: one cut, not eight
        control.refused(round_, retry_after=None)
    assert limiter.total_tokens == 4
    for _ in range(5):  # each refusal of a request admitted after the last cut cuts again
        control.refused(await control.admit(), retry_after=None)
    assert limiter.total_tokens == 1
    assert [c.new for c in control.changes] == [4, 2, 1]
    assert (control.ceiling, control.lowest, control.refusals) == (8, 1, 13)


async def test_clean_rounds_add_a_slot_back_up_to_the_ceiling(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = FifoCapacityLimiter(4)
    control = AdaptiveConcurrency(limiter=limiter, probe_rounds=1)
    control.refused(await control.admit(), retry_after=None)
    assert limiter.total_tokens == 2
    for _ in range(2 + 3 + 4 + 4):  # a round at 2, at 3, then two at the ceiling
        control.succeeded(await control.admit())
    assert limiter.total_tokens == 4
    assert [(c.old, c.new) for c in control.changes] == [(4, 2), (2, 3), (3, 4)]


async def test_a_step_back_up_to_the_refused_limit_waits_for_probe_rounds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = FifoCapacityLimiter(20)
    control = AdaptiveConcurrency(limiter=limiter, probe_rounds=3)
    for _ in range(20):  # a clean round at the ceiling changes nothing
        control.succeeded(await control.admit())
    control.refused(await control.admit(), retry_after=None)  # refused at 20
    control.refused(await control.admit(), retry_after=None)  # and at 10: cut to 5
    assert limiter.total_tokens == 5
    for expected in range(6, 10):  # 6..9 are below the limit refused: one round each
        for _ in range(expected - 1):
            control.succeeded(await control.admit())
        assert limiter.total_tokens == expected
    for _ in range(3 * 9 - 1):  # 10 was refused: probing it again takes three rounds
        control.succeeded(await control.admit())
    assert limiter.total_tokens == 9
    control.succeeded(await control.admit())
    assert limiter.total_tokens == 10
    for _ in range(3 * 10):  # above it too, until the next refusal says where the limit is
        control.succeeded(await control.admit())
    assert limiter.total_tokens == 11
    assert control.changes[-1].reason == "30 clean replies"
    with pytest.raises(ValueError, match="probe_rounds"):
        AdaptiveConcurrency(limiter=limiter, probe_rounds=0)


async def test_a_refusal_right_after_a_step_up_steps_back_down(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The provider's limit is found one slot above a clean round: back to that round's limit,
    not half of it; a refusal there (the limit fell) halves again."""
    limiter = FifoCapacityLimiter(20)
    control = AdaptiveConcurrency(limiter=limiter, probe_rounds=2)
    control.refused(await control.admit(), retry_after=None)  # 20 -> 10
    control.refused(await control.admit(), retry_after=None)  # 10 -> 5
    for expected in range(6, 9):
        for _ in range(expected - 1):
            control.succeeded(await control.admit())
        assert limiter.total_tokens == expected
    control.refused(await control.admit(), retry_after=None)  # refused at 8, clean at 7
    assert limiter.total_tokens == 7
    assert control.changes[-1].reason == "HTTP 429, right after a step up"
    for _ in range(2 * 7):  # 8 was refused: probed again after two clean rounds
        control.succeeded(await control.admit())
    assert limiter.total_tokens == 8
    control.refused(await control.admit(), retry_after=None)
    assert limiter.total_tokens == 7
    control.refused(await control.admit(), retry_after=None)  # refused at 7 too: it fell
    assert limiter.total_tokens == 3
    assert control.lowest == 3


async def test_retry_after_pauses_admission_for_everyone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    control = AdaptiveConcurrency()
    start = trio.current_time()
    control.refused(await control.admit(), retry_after=7.0)
    admitted: list[float] = []

    async def request() -> None:
        await control.admit()
        admitted.append(trio.current_time() - start)

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(request)
        await trio.sleep(3)
        control.refused(0, retry_after=9.0)  # the pause is extended while they wait
    assert admitted == [12.0, 12.0, 12.0]
    # Without Retry-After: 1 s, doubling while refusals keep coming; a success resets it.
    control.succeeded(await control.admit())
    control.refused(await control.admit(), retry_after=None)
    assert control.paused_for == 1.0
    await control.admit()
    control.refused(0, retry_after=None)
    assert control.paused_for == 2.0
    control.succeeded(await control.admit())
    control.refused(0, retry_after=None)
    assert control.paused_for == 1.0


@pytest.mark.parametrize(
    "limit", [{"capacity": 3}, {"per_second": 2}, {"capacity": 2, "retry_after": 0.5}]
)
async def test_a_steady_rate_limit_fails_no_node(
    autojump_clock: trio.testing.MockClock, store: Store, limit: dict[str, float]
) -> None:
    fake = FakeLLM(latency=1.0, **limit)  # type: ignore[arg-type]
    report = await run(store, fake, concurrency=8)
    assert report.failed == []
    assert len(report.generated) == len(store.nodes())
    assert fake.refused > 0
    trace = report.to_json()["concurrency_trace"]
    assert trace["ceiling"] == 8
    assert trace["lowest"] < 8
    assert trace["rate_limited"] == fake.refused
    assert all(c["reason"].startswith("HTTP 429") for c in trace["changes"] if c["new"] < c["old"])


async def test_fixed_concurrency_still_waits_rate_limits_out(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM(latency=1.0, capacity=3)
    report = await run(store, fake, concurrency=6, adaptive=False)
    assert report.failed == []
    assert report.to_json()["concurrency_trace"]["changes"] == []
    assert fake.refused > 0


async def test_fifo_order_is_kept_under_rate_limits(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM(latency=1.0, capacity=1, retry_after=0.5)
    report = await run(store, fake, concurrency=4)
    assert report.failed == []
    first_sent: dict[str | None, float] = {}
    for call in fake.calls:
        first_sent.setdefault(call.node_id, call.start)
    phase_one = sorted(n.id for n in store.nodes() if n.type != "module")
    starts = [first_sent[node_id] for node_id in phase_one]
    assert starts == sorted(starts)  # ties: sent together


async def test_a_dead_endpoint_fails_fast_whatever_the_node_count(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM()
    fake.script("*", fail_exception=httpx.ConnectError, fail_times=10**6)
    started = trio.current_time()
    async with client_for(fake) as client:
        report = await generate_inline(store, client, concurrency=4)
    assert trio.current_time() - started < 10
    assert report.halted_by is not None
    assert "cannot reach https://llm.example/v1" in report.halted_by
    assert len(fake.calls) <= 4 + 4  # a handful: the first round and one retry each
    assert report.not_attempted


async def test_a_blip_in_a_healthy_run_is_retried_per_node(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM(latency=1.0)
    for node_id in ("pkg/core.py", "pkg/util.py", "app.py"):
        fake.script(node_id, fail_exception=httpx.ConnectError, fail_times=2)
    report = await run(store, fake, concurrency=1)
    assert report.failed == []
    assert report.halted_by is None
