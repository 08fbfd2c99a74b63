"""Blocking calls (the store's) run off the event loop, many per trip to a worker thread.

A trip to a worker thread and back costs far more than a small SQLite read or commit: with twenty
calls in flight, two trips per node were most of the generator's CPU time. `BlockingBatcher`
runs every call submitted while one trip is under way together in the next trip.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import attrs
import trio

__all__ = ["BlockingBatcher", "RunBlocking"]

T = TypeVar("T")
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
