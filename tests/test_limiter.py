"""FifoCapacityLimiter: the limit, the start order, errors, resizing and cancellation.

Everything runs on Trio's MockClock with autojump (the `autojump_clock` fixture or an explicit
MockClock for hypothesis), so sleeps cost no real time. Trio randomizes the order of each
scheduler batch with `trio._core._run._r`; the FIFO tests reseed it to try many orders.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Trio's scheduler randomness. With hypothesis installed (it is, for these tests) Trio fully
# shuffles each batch with it; otherwise it reverses each batch half of the time.
from trio._core._run import _r as trio_scheduler_random

import pith
from pith import FifoCapacityLimiter

DOC = Path(__file__).parent.parent / "docs" / "limiter.md"
WATCHDOG_SECONDS = 1_000_000


@attrs.define
class Recorder:
    """Watches work run under a limiter: start order, concurrency, and the limit at each start."""

    limiter: FifoCapacityLimiter
    started: list[Any] = attrs.Factory(list)
    finished: list[Any] = attrs.Factory(list)
    running: int = 0
    max_running: int = 0

    async def work(self, item: Any, seconds: float = 1, fail: bool = False) -> Any:
        self.started.append(item)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        # The token is taken in the step the work begins, so the two counts always agree.
        assert self.running == self.limiter.borrowed_tokens
        assert self.running <= self.limiter.total_tokens
        try:
            await trio.sleep(seconds)
            if fail:
                raise ValueError(f"item {item} failed")
            return item
        finally:
            self.running -= 1
            self.finished.append(item)


def assert_idle(limiter: FifoCapacityLimiter) -> None:
    """No slot is held and nothing is queued: nothing leaked."""
    stats = limiter.statistics()
    assert stats.borrowed_tokens == 0
    assert stats.tasks_waiting == 0
    assert limiter.available_tokens == limiter.total_tokens
    assert not limiter._queue


@pytest.fixture
async def watchdog(autojump_clock: trio.testing.MockClock) -> AsyncIterator[None]:
    """Make a test whose work stalls fail instead of hanging. (pytest-trio only picks up a clock
    that the test itself takes, so async tests take both `autojump_clock` and this.)

    A stall blocks every task with no deadline but the watchdog's, so the clock jumps to it.
    """

    async def watchdog() -> None:
        await trio.sleep(WATCHDOG_SECONDS)
        raise AssertionError(f"stalled: still running after {WATCHDOG_SECONDS} (mock) seconds")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watchdog)
        yield
        nursery.cancel_scope.cancel()


@pytest.fixture
def scheduler_seed() -> Iterator[None]:
    """Restore Trio's scheduler randomness after a test that seeded it."""
    state = trio_scheduler_random.getstate()
    yield
    trio_scheduler_random.setstate(state)


async def start_caller(
    nursery: trio.Nursery, limiter: FifoCapacityLimiter, recorder: Recorder, item: Any, *args: Any
) -> trio.CancelScope:
    """Spawn a task that calls limiter.run(recorder.work, item, *args); return its cancel scope.

    nursery.start returns only after the task has called run() (started() does not yield, so
    the task submits in the same step), so callers submit in the order of start_caller calls.
    """

    async def caller(*, task_status: trio.TaskStatus[trio.CancelScope]) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            result = await limiter.run(recorder.work, item, *args)
            assert result == item

    scope: trio.CancelScope = await nursery.start(caller)
    return scope


# --- the limit -----------------------------------------------------------------------------------


async def test_limit_is_respected_and_reached(
    autojump_clock: trio.testing.MockClock, watchdog: None
) -> None:
    limiter = FifoCapacityLimiter(3)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        for i in range(20):
            limiter.start_soon(nursery, recorder.work, i, 1 + i % 4)
        await trio.testing.wait_all_tasks_blocked()
        assert limiter.borrowed_tokens == 3
        assert limiter.available_tokens == 0
        assert limiter.statistics().tasks_waiting == 17
    assert recorder.max_running == 3
    assert sorted(recorder.finished) == list(range(20))
    assert_idle(limiter)


async def test_capacity_one_is_sequential(
    autojump_clock: trio.testing.MockClock, watchdog: None
) -> None:
    limiter = FifoCapacityLimiter(1)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        for i in range(10):
            limiter.start_soon(nursery, recorder.work, i, 10 - i)
    assert recorder.max_running == 1
    assert recorder.started == list(range(10))
    assert recorder.finished == list(range(10))  # each finished before the next began
    assert trio.current_time() == sum(range(1, 11))
    assert_idle(limiter)


async def test_capacity_above_the_work_runs_everything_at_once(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(50)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        for i in range(10):
            limiter.start_soon(nursery, recorder.work, i, 5)
    assert recorder.max_running == 10
    assert recorder.started == list(range(10))
    assert trio.current_time() == 5
    assert_idle(limiter)


# --- order ---------------------------------------------------------------------------------------


async def run_and_record_start_order(
    make_limiter: Any, seed: int, items: int = 200, capacity: int = 3
) -> list[int]:
    """Submit `items` pieces of work with random durations; return the order they started in."""
    trio_scheduler_random.seed(seed)
    durations = random.Random(seed)
    started: list[int] = []

    async def work(i: int, seconds: float) -> None:
        started.append(i)
        await trio.sleep(seconds)

    submit = make_limiter(capacity)
    async with trio.open_nursery() as nursery:
        for i in range(items):
            submit(nursery, work, i, durations.choice([0, 0.5, 1, 2]))
    assert sorted(started) == list(range(items))
    return started


def fifo_submit(capacity: int) -> Any:
    return FifoCapacityLimiter(capacity).start_soon


def bare_submit(capacity: int) -> Any:
    limiter = trio.CapacityLimiter(capacity)

    async def limited(fn: Any, *args: Any) -> None:
        async with limiter:
            await fn(*args)

    def submit(nursery: trio.Nursery, fn: Any, *args: Any) -> None:
        nursery.start_soon(limited, fn, *args)

    return submit


@pytest.mark.usefixtures("scheduler_seed")
async def test_start_soon_starts_in_submission_order(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    for seed in range(40):
        assert await run_and_record_start_order(fifo_submit, seed) == list(range(200)), seed


@pytest.mark.usefixtures("scheduler_seed")
async def test_a_bare_capacity_limiter_does_not_keep_the_order(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    # The control for the test above: under the same seeds, Trio's randomized scheduling really
    # does reorder work spawned into a plain CapacityLimiter, so the FIFO test can fail.
    orders = [await run_and_record_start_order(bare_submit, seed) for seed in range(5)]
    assert all(order != list(range(200)) for order in orders)


@pytest.mark.usefixtures("scheduler_seed")
async def test_run_callers_start_in_call_order(
    autojump_clock: trio.testing.MockClock, watchdog: None
) -> None:
    for seed in range(10):
        trio_scheduler_random.seed(seed)
        limiter = FifoCapacityLimiter(3)
        recorder = Recorder(limiter)
        async with trio.open_nursery() as nursery:
            for i in range(60):
                await start_caller(nursery, limiter, recorder, i, 1 + i % 3)
        assert recorder.started == list(range(60)), seed
        assert recorder.max_running == 3
        assert_idle(limiter)


@pytest.mark.usefixtures("scheduler_seed")
async def test_run_and_start_soon_share_one_queue(
    autojump_clock: trio.testing.MockClock, watchdog: None
) -> None:
    for seed in range(10):
        trio_scheduler_random.seed(seed)
        limiter = FifoCapacityLimiter(2)
        recorder = Recorder(limiter)
        async with trio.open_nursery() as nursery:
            for i in range(60):
                if i % 3 == 0:
                    await start_caller(nursery, limiter, recorder, i, i % 2)
                else:
                    limiter.start_soon(nursery, recorder.work, i, i % 4)
        assert recorder.started == list(range(60)), seed
        assert_idle(limiter)


async def test_run_returns_the_result(
    autojump_clock: trio.testing.MockClock, watchdog: None
) -> None:
    limiter = FifoCapacityLimiter(1)

    async def add(a: int, b: int) -> int:
        await trio.sleep(1)
        return a + b

    assert await limiter.run(add, 2, 3) == 5
    assert_idle(limiter)


# --- errors --------------------------------------------------------------------------------------


async def test_run_errors_release_the_slot_and_the_queue_moves_on(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(2)
    recorder = Recorder(limiter)
    outcomes: dict[int, str] = {}

    async def caller(i: int, *, task_status: trio.TaskStatus[None]) -> None:
        task_status.started()
        try:
            await limiter.run(recorder.work, i, 1, i % 3 == 0)
        except ValueError as exc:
            outcomes[i] = str(exc)
        else:
            outcomes[i] = "ok"

    async with trio.open_nursery() as nursery:
        for i in range(30):
            await nursery.start(caller, i)
    assert recorder.started == list(range(30))
    assert outcomes == {i: f"item {i} failed" if i % 3 == 0 else "ok" for i in range(30)}
    assert trio.current_time() == 15  # 30 one-second items, two at a time: failures cost no extra
    assert_idle(limiter)


async def test_start_soon_errors_reach_the_nursery_and_leak_nothing(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    # The nursery decides what an error does: a plain nursery cancels the siblings, running and
    # queued alike. Either way no slot is left behind and the limiter keeps working.
    limiter = FifoCapacityLimiter(2)
    recorder = Recorder(limiter)
    with pytest.RaisesGroup(pytest.RaisesExc(ValueError, match="item 3 failed")):
        async with trio.open_nursery() as nursery:
            for i in range(10):
                # item 3 fails half-way through item 2, which is cancelled while running
                limiter.start_soon(nursery, recorder.work, i, 0.5 if i == 3 else 1, i == 3)
    assert recorder.started == [0, 1, 2, 3]  # 4..9 were cancelled while queued
    assert_idle(limiter)

    async with trio.open_nursery() as nursery:
        for i in range(10, 14):
            limiter.start_soon(nursery, recorder.work, i)
    assert recorder.started[4:] == [10, 11, 12, 13]
    assert_idle(limiter)


async def test_work_that_handles_its_errors_all_completes(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    # The generator's pattern: each piece of work catches its own Exception, so a failure
    # cancels nothing and every item runs.
    limiter = FifoCapacityLimiter(3)
    recorder = Recorder(limiter)
    failures: list[int] = []

    async def guarded(i: int) -> None:
        try:
            await recorder.work(i, 1 + i % 2, i % 4 == 1)
        except ValueError:
            failures.append(i)

    async with trio.open_nursery() as nursery:
        for i in range(40):
            limiter.start_soon(nursery, guarded, i)
    assert recorder.started == list(range(40))
    assert sorted(recorder.finished) == list(range(40))
    assert failures == [i for i in range(40) if i % 4 == 1]
    assert_idle(limiter)


# --- resizing ------------------------------------------------------------------------------------


async def test_growing_admits_waiting_work_at_once(
    autojump_clock: trio.testing.MockClock, watchdog: None
) -> None:
    limiter = FifoCapacityLimiter(2)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        for i in range(10):
            limiter.start_soon(nursery, recorder.work, i, 100)
        await trio.sleep(1)
        assert recorder.running == 2
        limiter.total_tokens = 5
        await trio.testing.wait_all_tasks_blocked()
        assert trio.current_time() == 1  # nothing had to finish first
        assert recorder.running == 5
        assert limiter.borrowed_tokens == 5
        assert limiter.statistics().tasks_waiting == 5
    assert recorder.started == list(range(10))
    assert recorder.max_running == 5
    assert_idle(limiter)


async def test_shrinking_lets_running_work_finish_and_admits_nothing_over_the_limit(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(4)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        for i in range(4):
            limiter.start_soon(nursery, recorder.work, i, 10 * (i + 1))  # end at 10, 20, 30, 40
        for i in range(4, 8):
            limiter.start_soon(nursery, recorder.work, i, 100)
        await trio.sleep(5)
        limiter.total_tokens = 2
        assert limiter.available_tokens == 0
        assert limiter.borrowed_tokens == 4  # nothing was interrupted
        await trio.sleep(10)  # t=15: item 0 done, 3 still running, 2 > limit: nothing new
        assert recorder.running == 3
        assert recorder.started == [0, 1, 2, 3]
        await trio.sleep(10)  # t=25: item 1 done too, 2 running == limit: still nothing new
        assert recorder.running == 2
        assert recorder.started == [0, 1, 2, 3]
        await trio.sleep(10)  # t=35: item 2 done, under the limit: item 4 admitted
        assert recorder.started == [0, 1, 2, 3, 4]
        assert recorder.running == 2
    assert recorder.started == list(range(8))
    assert_idle(limiter)


# --- cancellation --------------------------------------------------------------------------------


async def test_cancelling_a_queued_run_never_starts_it(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(1)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        scopes = [await start_caller(nursery, limiter, recorder, i, 10) for i in range(5)]
        await trio.sleep(1)
        assert limiter.statistics().tasks_waiting == 4
        scopes[2].cancel()  # queued in the middle
        scopes[1].cancel()  # queued at the front, parked for the token
        await trio.testing.wait_all_tasks_blocked()
        assert limiter.statistics().tasks_waiting == 2
        assert limiter.borrowed_tokens == 1
    assert recorder.started == [0, 3, 4]
    assert trio.current_time() == 30
    assert_idle(limiter)


async def test_cancelling_a_nursery_of_queued_work_leaks_nothing(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(2)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as outer:
        # Work for two nurseries interleaved in one queue; the second nursery is cancelled.
        async with trio.open_nursery() as doomed:
            for i in range(10):
                target = doomed if i % 2 else outer
                limiter.start_soon(target, recorder.work, i, 10)
            await trio.sleep(1)
            assert recorder.started == [0, 1]
            doomed.cancel_scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert limiter.statistics().tasks_waiting == 3  # 4, 6, 8
        assert recorder.started == [0, 1, 2]  # item 2 took the slot of item 1 at once
        assert recorder.running == 2
        assert limiter.borrowed_tokens == 2
    assert recorder.started == [0, 1, 2, 4, 6, 8]
    assert_idle(limiter)


async def test_cancelling_running_work_releases_its_slot(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(1)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        first = await start_caller(nursery, limiter, recorder, 0, 1000)
        await start_caller(nursery, limiter, recorder, 1, 1)
        await trio.sleep(5)
        first.cancel()
    assert recorder.started == [0, 1]
    assert trio.current_time() == 6
    assert_idle(limiter)


async def test_work_submitted_into_a_cancelled_nursery_never_starts(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(3)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as nursery:
        nursery.cancel_scope.cancel()
        for i in range(5):
            limiter.start_soon(nursery, recorder.work, i)
    assert recorder.started == []
    assert_idle(limiter)


async def test_start_soon_into_a_closed_nursery_raises_and_keeps_the_queue_moving(
    autojump_clock: trio.testing.MockClock,
    watchdog: None,
) -> None:
    limiter = FifoCapacityLimiter(1)
    recorder = Recorder(limiter)
    async with trio.open_nursery() as closed:
        pass
    async with trio.open_nursery() as nursery:
        limiter.start_soon(nursery, recorder.work, 0)
        with pytest.raises(RuntimeError, match="closed"):
            limiter.start_soon(closed, recorder.work, "never")
        limiter.start_soon(nursery, recorder.work, 1)
    with pytest.raises(RuntimeError, match="closed"):  # this time at the front of the queue
        limiter.start_soon(closed, recorder.work, "never")
    assert await limiter.run(recorder.work, 2) == 2
    assert recorder.started == [0, 1, 2]
    assert_idle(limiter)


# --- bad capacities ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, -100])
def test_capacity_below_one_is_a_value_error(bad: int) -> None:
    with pytest.raises(ValueError, match=rf"total_tokens must be >= 1, got {bad}"):
        FifoCapacityLimiter(bad)
    limiter = FifoCapacityLimiter(3)
    with pytest.raises(ValueError, match="total_tokens must be >= 1"):
        limiter.total_tokens = bad
    assert limiter.total_tokens == 3


@pytest.mark.parametrize("bad", [1.5, 2.0, math.inf, "3", None, True])
def test_capacity_that_is_not_an_int_is_a_type_error(bad: object) -> None:
    pattern = re.escape(f"total_tokens must be an int >= 1, got {type(bad).__name__} {bad!r}")
    with pytest.raises(TypeError, match=pattern):
        FifoCapacityLimiter(bad)  # type: ignore[arg-type]
    limiter = FifoCapacityLimiter(3)
    with pytest.raises(TypeError, match=pattern):
        limiter.total_tokens = bad  # type: ignore[assignment]
    assert limiter.total_tokens == 3


def test_exported_from_pith() -> None:
    assert pith.FifoCapacityLimiter is FifoCapacityLimiter
    assert "FifoCapacityLimiter" in pith.__all__
    assert repr(FifoCapacityLimiter(4)) == "<FifoCapacityLimiter 0/4 with 0 waiting>"


# --- random schedules ----------------------------------------------------------------------------

# One step of a schedule, done by the driver in order:
#   ("start", group, seconds)   limiter.start_soon into nursery `group`
#   ("run", seconds, fail)      a task calls limiter.run (and catches the failure, if any)
#   ("cancel", k)               cancel the k-th run caller so far (queued, running or finished)
#   ("cancel_group", group)     cancel nursery `group` and all work in it
#   ("resize", n)               limiter.total_tokens = n
#   ("sleep", seconds)          let time pass
seconds = st.sampled_from([0, 0, 1, 2, 5])
steps = st.one_of(
    st.tuples(st.just("start"), st.integers(0, 2), seconds),
    st.tuples(st.just("run"), seconds, st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("cancel_group"), st.integers(0, 2)),
    st.tuples(st.just("resize"), st.integers(1, 5)),
    st.tuples(st.just("sleep"), st.sampled_from([0, 1, 3])),
)


@settings(
    max_examples=300,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(capacity=st.integers(1, 4), schedule=st.lists(steps, max_size=40))
def test_random_schedules_keep_the_limit_the_order_and_every_slot(
    capacity: int, schedule: list[tuple[Any, ...]]
) -> None:
    # Trio's scheduler is seeded by hypothesis here, so each example is one reproducible order.
    trio.run(check_schedule, capacity, schedule, clock=trio.testing.MockClock(autojump_threshold=0))


async def check_schedule(capacity: int, schedule: list[tuple[Any, ...]]) -> None:
    limiter = FifoCapacityLimiter(capacity)
    recorder = Recorder(limiter)
    submitted: list[int] = []  # item ids in submission order
    cancelled_before_start: set[int] = set()
    groups: list[trio.Nursery] = []
    group_of: dict[int, int] = {}
    callers: list[tuple[int, trio.CancelScope]] = []
    submissions_done = trio.Event()

    async def group(*, task_status: trio.TaskStatus[trio.Nursery]) -> None:
        async with trio.open_nursery() as nursery:
            task_status.started(nursery)
            await submissions_done.wait()

    async def caller(item: int, seconds: float, fail: bool, *, task_status: Any) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            try:
                assert await limiter.run(recorder.work, item, seconds, fail) == item
            except ValueError:
                assert fail

    def check_work_conserving() -> None:
        # Called when every task is blocked: if work is queued, it is only for want of a slot.
        if limiter.statistics().tasks_waiting:
            assert limiter.borrowed_tokens >= limiter.total_tokens

    # A stalled queue blocks everything, so the mock clock jumps to this deadline.
    with trio.move_on_after(WATCHDOG_SECONDS) as stall:
        async with trio.open_nursery() as outer:
            for _ in range(3):
                groups.append(await outer.start(group))
            for item, step in enumerate(schedule):
                match step:
                    case ("start", g, secs):
                        if groups[g].cancel_scope.cancel_called:
                            cancelled_before_start.add(item)
                        try:
                            limiter.start_soon(groups[g], recorder.work, item, secs)
                        except RuntimeError:  # the group was cancelled and has closed
                            assert groups[g].cancel_scope.cancel_called
                        else:
                            submitted.append(item)
                            group_of[item] = g
                    case ("run", secs, fail):
                        scope = await outer.start(caller, item, secs, fail)
                        submitted.append(item)
                        callers.append((item, scope))
                    case ("cancel", k) if k < len(callers):
                        target, scope = callers[k]
                        if target not in recorder.started:
                            cancelled_before_start.add(target)
                        scope.cancel()
                    case ("cancel_group", g):
                        groups[g].cancel_scope.cancel()
                        cancelled_before_start.update(
                            i for i, gi in group_of.items() if gi == g and i not in recorder.started
                        )
                    case ("resize", n):
                        limiter.total_tokens = n
                    case ("sleep", secs):
                        await trio.sleep(secs)
                await trio.testing.wait_all_tasks_blocked()
                check_work_conserving()
            submissions_done.set()
    assert not stall.cancelled_caught, "the queue stalled"

    position = {item: n for n, item in enumerate(submitted)}
    assert [position[i] for i in recorder.started] == sorted(position[i] for i in recorder.started)
    assert set(recorder.started) == set(submitted) - cancelled_before_start
    assert len(recorder.started) == len(set(recorder.started))
    assert_idle(limiter)


# --- the doc's example ---------------------------------------------------------------------------


def test_the_docs_example_runs_and_prints_what_the_doc_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    output = re.search(r"```text\n(.*?)```", text, re.DOTALL)
    assert code is not None, f"{DOC} has no ```python block"
    assert output is not None, f"{DOC} has no ```text block with the example's output"
    namespace: dict[str, Any] = {"__name__": "limiter_doc_example"}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)

    async def main() -> None:
        with trio.fail_after(WATCHDOG_SECONDS):
            await namespace["main"]()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert capsys.readouterr().out == output.group(1)


async def test_requeue_gives_the_slot_to_the_next_in_line_and_queues_behind_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = FifoCapacityLimiter(1)
    order: list[str] = []

    async def first() -> None:
        order.append("first starts")
        await limiter.requeue()  # gives the one slot to `second`, then waits behind it
        order.append("first again")
        assert limiter.borrowed_tokens == 1

    async def second() -> None:
        order.append("second")
        await trio.sleep(1)

    async with trio.open_nursery() as nursery:
        limiter.start_soon(nursery, first)
        limiter.start_soon(nursery, second)
    assert order == ["first starts", "second", "first again"]
    assert limiter.borrowed_tokens == 0


async def test_work_cancelled_while_requeued_holds_no_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = FifoCapacityLimiter(1)

    async def hog() -> None:
        await trio.sleep(10)

    async def requeuer() -> None:
        await limiter.requeue()

    async with trio.open_nursery() as nursery:
        limiter.start_soon(nursery, requeuer)
        limiter.start_soon(nursery, hog)
        await trio.sleep(1)  # requeuer gave its slot to hog and waits behind it
        nursery.cancel_scope.cancel()
    assert limiter.borrowed_tokens == 0
    assert limiter.statistics().tasks_waiting == 0
    await limiter.run(trio.sleep, 0)  # the limiter still works
