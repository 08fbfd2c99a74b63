"""Blocking calls (the store's) run off the event loop, many per trip to a worker thread.

A trip to a worker thread and back costs far more than a small SQLite read or commit: with twenty
calls in flight, two trips per node were most of the generator's CPU time. `BlockingBatcher`
runs every call submitted while one trip is under way together in the next trip. `Coalescer`
goes further for work that is cheaper together (saves: one commit for many): every value
submitted while one call runs goes, with the others, into the next call.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import attrs
import trio

__all__ = ["BlockingBatcher", "Coalescer", "RunBlocking"]

T = TypeVar("T")
V = TypeVar("V")
# Runs a blocking callable off the event loop (e.g. `trio.to_thread.run_sync`).
RunBlocking = Callable[[Callable[[], T]], Awaitable[T]]


@attrs.define(eq=False)
class _Call(Generic[T]):
    fn: Callable[[], T]
    done: trio.Event = attrs.Factory(trio.Event)
    ran: bool = False
    value: T | None = None
    error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # delivered to the caller, in its own task
            self.error = exc
        self.ran = True

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # None only when T admits it


def _run_all(batch: list[_Call[Any]]) -> None:
    for call in batch:
        call.run()


@attrs.define
class BlockingBatcher:
    """Run blocking calls in order, off the event loop, batched.

    Guarantees: every submitted call runs exactly once, in submission order, even when the task
    that submitted it is cancelled while it waits, and even when `serve` is cancelled (it runs
    what was submitted before it returns), so a write handed to it is never dropped. Its result
    or exception is delivered to the task that submitted it. Batching needs `serve` running in
    a nursery; without it, each call takes its own trip.
    """

    run_blocking: RunBlocking[Any] = trio.to_thread.run_sync
    _pending: list[_Call[Any]] = attrs.Factory(list)
    _has_work: trio.Event = attrs.Factory(trio.Event)
    _serving: bool = False

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the next batch and return its result (or raise its exception).

        When `serve` is not running, ``fn`` runs on its own trip.
        """
        if not self._serving:
            result: T = await self.run_blocking(fn)
            return result
        call = _Call(fn)
        self._pending.append(call)
        self._has_work.set()
        await call.done.wait()
        return call.unwrap()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run batches until cancelled; then run what is still pending, and return.

        Use ``await nursery.start(batcher.serve)``: once it returns, calls are batched.
        """
        self._serving = True
        task_status.started()
        try:
            while True:
                await self._has_work.wait()
                await self._run_pending()
        finally:
            # From here on, new calls run on their own trips; those already handed over run now.
            self._serving = False
            await self._run_pending()

    async def _run_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            self._has_work = trio.Event()
            try:
                # Once taken from the queue, a batch runs whole: a cancel waits for the next
                # checkpoint (where `serve` then runs what is left).
                with trio.CancelScope(shield=True):
                    await self.run_blocking(functools.partial(_run_all, batch))
            finally:
                for call in batch:
                    if not call.ran:  # the trip to the thread itself failed
                        call.error = RuntimeError("the blocking call never ran")
                    call.done.set()


@attrs.define(eq=False)
class _Entry(Generic[V, T]):
    value: V
    result: T | None = None
    error: BaseException | None = None  # what the call raised (a bug: `run_many` must not)
    done: bool = False


@attrs.define(eq=False)
class Coalescer(Generic[V, T]):
    """Run ``run_many(values)`` for values that many tasks submit one by one: every value
    submitted while a call runs goes into the next call, together with the others.

    Guarantees: each submitted value goes into exactly one call, even when the task that
    submitted it is cancelled while it waits; a call, once begun, runs to its end whatever is
    cancelled meanwhile (it is shielded), and the task that began it runs the calls for what was
    submitted meanwhile before it returns. A submitter gets its value's result, in the order
    ``run_many`` returns them (one per value). ``run_many`` should not raise (a failure is a
    result): if it does, every submitter of that call gets the exception.
    """

    run_many: Callable[[list[V]], Awaitable[list[T]]]
    _pending: list[_Entry[V, T]] = attrs.Factory(list)
    _running: bool = False
    _ran: trio.Event = attrs.Factory(trio.Event)

    async def run(self, value: V) -> T:
        """``value``'s result, from the next call of ``run_many``."""
        entry: _Entry[V, T] = _Entry(value)
        self._pending.append(entry)
        while not entry.done:
            if self._running:
                # Cancelled here, the value still goes into the next call.
                await self._ran.wait()
            else:
                await self._run_pending()
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]  # None only when T admits it

    async def _run_pending(self) -> None:
        self._running = True
        try:
            with trio.CancelScope(shield=True):
                while self._pending:
                    batch, self._pending = self._pending, []
                    try:
                        results = await self.run_many([entry.value for entry in batch])
                        for entry, result in zip(batch, results, strict=True):
                            entry.result = result
                    except BaseException as exc:
                        for entry in batch:
                            entry.error = exc
                        raise
                    finally:
                        for entry in batch:
                            entry.done = True
                        ran, self._ran = self._ran, trio.Event()
                        ran.set()
        finally:
            self._running = False
