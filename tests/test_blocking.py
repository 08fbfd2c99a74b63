"""BlockingBatcher: blocking calls run off the event loop, in order, many per trip, none dropped."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
import trio

from pith._generate._blocking import BlockingBatcher, Coalescer

T = TypeVar("T")


class CountingTrips:
    """A `run_blocking` that runs in a real worker thread and counts the trips."""

    def __init__(self) -> None:
        self.trips = 0
        self.threads: set[int] = set()

    async def __call__(self, fn: Callable[[], T]) -> T:
        self.trips += 1
        return await trio.to_thread.run_sync(self._in_thread, fn)

    def _in_thread(self, fn: Callable[[], T]) -> T:
        self.threads.add(threading.get_ident())
        return fn()


async def test_calls_submitted_together_share_a_trip_and_keep_their_order() -> None:
    trips = CountingTrips()
    batcher = BlockingBatcher(trips)
    submitted: list[int] = []
    ran: list[int] = []
    results: dict[int, int] = {}

    async def call(i: int) -> None:
        submitted.append(i)  # no checkpoint between this and the submission inside run()
        results[i] = await batcher.run(lambda: (ran.append(i), i * i)[1])

    async with trio.open_nursery() as services:
        await services.start(batcher.serve)
        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(call, i)
        services.cancel_scope.cancel()

    assert ran == submitted
    assert results == {i: i * i for i in range(50)}
    assert trips.trips < 50  # batched: far fewer trips than calls
    assert threading.get_ident() not in trips.threads  # never on the event loop's thread


async def test_each_caller_gets_its_own_exception() -> None:
    batcher = BlockingBatcher()
    outcomes: dict[str, object] = {}

    def fail() -> int:
        raise LookupError("no such thing")

    async def call(name: str, fn: Callable[[], int]) -> None:
        try:
            outcomes[name] = await batcher.run(fn)
        except LookupError as exc:
            outcomes[name] = exc

    async with trio.open_nursery() as services:
        await services.start(batcher.serve)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(call, "bad", fail)
            nursery.start_soon(call, "good", lambda: 7)
        services.cancel_scope.cancel()

    assert outcomes["good"] == 7
    assert isinstance(outcomes["bad"], LookupError)


async def test_a_call_runs_even_when_its_caller_is_cancelled_while_waiting() -> None:
    batcher = BlockingBatcher()
    release = threading.Event()
    ran: list[str] = []

    def slow() -> None:
        release.wait()  # holds the trip until the caller below has been cancelled
        ran.append("slow")

    async with trio.open_nursery() as services:
        await services.start(batcher.serve)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(batcher.run, slow)
            await trio.testing.wait_all_tasks_blocked()
            with trio.CancelScope() as scope:
                scope.cancel()
                await batcher.run(lambda: ran.append("write"))  # queued behind `slow`
            release.set()
        services.cancel_scope.cancel()

    assert ran == ["slow", "write"]


async def test_calls_pending_when_serve_stops_still_run_and_later_calls_run_alone() -> None:
    trips = CountingTrips()
    batcher = BlockingBatcher(trips)
    release = threading.Event()
    ran: list[str] = []

    async with trio.open_nursery() as nursery:
        services = trio.CancelScope()

        async def serve() -> None:
            with services:
                await batcher.serve()

        nursery.start_soon(serve)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(batcher.run, release.wait)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(batcher.run, lambda: ran.append("pending"))
        await trio.testing.wait_all_tasks_blocked()
        services.cancel()  # while `release.wait` holds the trip and a call is pending
        release.set()
    assert ran == ["pending"]

    assert await batcher.run(lambda: "alone") == "alone"  # no serve: its own trip


async def test_without_serve_each_call_takes_its_own_trip() -> None:
    trips = CountingTrips()
    batcher = BlockingBatcher(trips)
    assert await batcher.run(lambda: 1) == 1
    assert await batcher.run(lambda: 2) == 2
    assert trips.trips == 2


async def test_an_exception_escaping_the_trip_fails_the_calls_of_that_batch() -> None:
    async def broken(fn: Callable[[], T]) -> T:
        raise OSError("no thread for you")

    batcher = BlockingBatcher(broken)
    with pytest.raises(OSError, match="no thread"):
        await batcher.run(lambda: 1)


# --- Coalescer: what is submitted while a call runs goes into the next call, together ----------


class Recorder:
    """A ``run_many`` that takes a step of the (mock) clock per call and records its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.fail = fail

    async def __call__(self, values: list[int]) -> list[int]:
        self.calls.append(values)
        await trio.sleep(1)
        if self.fail:
            raise RuntimeError("a bug in run_many")
        return [value * 10 for value in values]


async def test_values_submitted_while_a_call_runs_go_into_the_next_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    coalescer = Coalescer(recorder)
    results: dict[int, int] = {}

    async def submit(value: int, after: float) -> None:
        await trio.sleep(after)
        results[value] = await coalescer.run(value)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(submit, 0, 0)
        for value in range(1, 6):  # all while the first call runs
            nursery.start_soon(submit, value, 0.5)
        nursery.start_soon(submit, 6, 5)  # long after: a call of its own
    assert sorted(map(sorted, recorder.calls)) == [[0], [1, 2, 3, 4, 5], [6]]
    assert results == {value: value * 10 for value in range(7)}


async def test_a_submitter_cancelled_while_waiting_still_has_its_value_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    coalescer = Coalescer(recorder)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(coalescer.run, 0)
        await trio.sleep(0.5)
        with trio.move_on_after(0.1):
            await coalescer.run(1)  # cancelled while the first call runs
    assert recorder.calls == [[0], [1]]


async def test_a_call_that_raises_reaches_every_submitter_of_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    coalescer = Coalescer(Recorder(fail=True))
    failures: list[BaseException] = []

    async def submit(value: int) -> None:
        try:
            await coalescer.run(value)
        except RuntimeError as exc:
            failures.append(exc)

    with trio.fail_after(60):  # nobody waits forever for a call that failed
        async with trio.open_nursery() as nursery:
            for value in range(3):
                nursery.start_soon(submit, value)
    assert len(failures) == 3
