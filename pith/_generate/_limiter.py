"""A capacity limiter that starts work in the order it was submitted.

``trio.CapacityLimiter`` bounds how much work runs at once, but Trio deliberately randomizes the
order in which newly spawned or newly woken tasks run, so work spawned as ``a, b, c`` may begin as
``c, a, b``. :class:`FifoCapacityLimiter` fixes the order at submission: every piece of work takes
a ticket in a queue when it is submitted, and only the ticket at the front of the queue may take a
token from the wrapped ``trio.CapacityLimiter``. The front ticket hands the turn to the next one
in the same scheduler step in which its own work begins, and the next one can only run in a later
step, so work begins strictly in submission order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar, TypeVarTuple, Unpack

import attrs
import trio

__all__ = ["FifoCapacityLimiter", "FifoCapacityLimiterStatistics"]

T = TypeVar("T")
PosArgsT = TypeVarTuple("PosArgsT")


@attrs.frozen
class FifoCapacityLimiterStatistics:
    """A snapshot of a :class:`FifoCapacityLimiter`, for progress displays and debugging.

    ``borrowed_tokens`` may exceed ``total_tokens`` for a while after the capacity was lowered:
    running work is never interrupted, new work waits until it is back under the limit.
    """

    total_tokens: int
    borrowed_tokens: int
    tasks_waiting: int  # submitted work that has not started yet


@attrs.define(eq=False)  # identity equality: a ticket is the borrower of its token
class _Ticket:
    """One submitted piece of work, from submission until it holds a token."""

    limiter: FifoCapacityLimiter
    # The task parked until this ticket reaches the front of the queue; None when not parked.
    task: trio.lowlevel.Task | None = None
    # Set when the work was cancelled while queued: the ticket stays in the queue (removing it
    # from the middle of a deque is O(n)) and is skipped when it reaches the front.
    abandoned: bool = False

    def abort(self, _raise_cancel: object) -> trio.lowlevel.Abort:
        # Called by Trio when the parked task is cancelled: it was never at the front of the
        # queue (it is rescheduled the moment it gets there), so it holds no token.
        self.task = None
        self.abandoned = True
        self.limiter._waiting -= 1
        return trio.lowlevel.Abort.SUCCEEDED


@attrs.define(eq=False)
class _Holding:
    """A running task and the ticket it holds its token by (None while it requeues)."""

    task: trio.lowlevel.Task
    ticket: _Ticket | None


def _checked_total_tokens(total_tokens: object) -> int:
    # bool is an int subclass, but FifoCapacityLimiter(True) is surely a mistake.
    if not isinstance(total_tokens, int) or isinstance(total_tokens, bool):
        raise TypeError(
            f"total_tokens must be an int >= 1, got {type(total_tokens).__name__} "
            f"{total_tokens!r}; pass a whole number of concurrent tasks"
        )
    if total_tokens < 1:
        raise ValueError(
            f"total_tokens must be >= 1, got {total_tokens}; pass at least 1 concurrent task"
        )
    return total_tokens


class FifoCapacityLimiter:
    """Run at most ``total_tokens`` pieces of work at once, starting them in submission order.

    Submit work with :meth:`start_soon` (into a nursery) or :meth:`run` (awaited by the caller);
    both share one queue, so work from either begins in the order it was submitted.

    Guarantees:

    - At most ``total_tokens`` pieces of work run at once.
    - Work begins (its first step runs) in the order it was submitted.
    - Work that finishes, raises or is cancelled gives its slot back; the queue keeps moving.
      Whether an exception cancels sibling work is up to the nursery it runs in: the limiter
      neither catches nor suppresses it.
    - Cancelling queued work (cancelling its nursery, or the task awaiting :meth:`run`) removes it
      from the queue without ever starting it and without holding a slot.
    - ``total_tokens`` may be changed at any time: growing it admits waiting work at once;
      shrinking it lets running work finish and admits nothing new until under the new limit.
    - Running work may step out of the line (:meth:`requeue`): it gives its slot back, and waits
      for one again behind the work submitted meanwhile.

    A limiter is used from one Trio run at a time, and is not thread-safe (like Trio's own).
    """

    def __init__(self, total_tokens: int) -> None:
        self._limiter = trio.CapacityLimiter(_checked_total_tokens(total_tokens))
        # Tickets in submission order. Only the front ticket may take a token.
        self._queue: deque[_Ticket] = deque()
        self._waiting = 0  # tickets in the queue that are not abandoned
        # The ticket each running task holds its token by (replaced by `requeue`).
        self._holders: dict[trio.lowlevel.Task, _Holding] = {}
        # The admission shared by runs over this limiter (`AdaptiveConcurrency.shared`).
        self._admissions: dict[bool, object] = {}

    def __repr__(self) -> str:
        return (
            f"<FifoCapacityLimiter {self.borrowed_tokens}/{self.total_tokens} "
            f"with {self._waiting} waiting>"
        )

    @property
    def total_tokens(self) -> int:
        """How many pieces of work may run at once. Settable at any time (an int >= 1)."""
        return int(self._limiter.total_tokens)

    @total_tokens.setter
    def total_tokens(self, new_total_tokens: int) -> None:
        # The wrapped limiter wakes the front ticket if it is waiting for a token.
        self._limiter.total_tokens = _checked_total_tokens(new_total_tokens)

    @property
    def borrowed_tokens(self) -> int:
        """How many pieces of work are running now."""
        return self._limiter.borrowed_tokens

    @property
    def available_tokens(self) -> int:
        """How many more pieces of work could start now (0 while over a lowered limit)."""
        return max(0, int(self._limiter.available_tokens))

    def statistics(self) -> FifoCapacityLimiterStatistics:
        """Return a snapshot of the capacity, the running work and the queued work."""
        return FifoCapacityLimiterStatistics(
            total_tokens=self.total_tokens,
            borrowed_tokens=self.borrowed_tokens,
            tasks_waiting=self._waiting,
        )

    def start_soon(
        self,
        nursery: trio.Nursery,
        async_fn: Callable[[Unpack[PosArgsT]], Awaitable[object]],
        *args: *PosArgsT,
    ) -> None:
        """Submit ``async_fn(*args)`` to run in ``nursery`` once a slot is free and all earlier
        submissions have started.

        The work's place in the queue is fixed by this call. A task is spawned in ``nursery``
        now and waits there, so the nursery stays open until the work is done, and cancelling
        the nursery cancels the queued work. Exceptions propagate to ``nursery`` as usual.
        """
        ticket = self._submit()
        try:
            nursery.start_soon(self._run_ticket, ticket, async_fn, args, name=async_fn)
        except BaseException:  # e.g. the nursery is closed: the ticket must not block the queue
            self._withdraw(ticket)
            raise

    async def run(
        self, async_fn: Callable[[Unpack[PosArgsT]], Awaitable[T]], *args: *PosArgsT
    ) -> T:
        """Wait for a slot, behind all earlier submissions, then run ``async_fn(*args)`` in the
        calling task and return its result (or raise its exception). The slot is given back
        when it returns, raises or is cancelled.

        This is a cancellation point; it yields to the scheduler only if it has to wait (the
        work itself is expected to checkpoint). Do not call it from work that already holds a
        slot of the same limiter: with every slot so held, it would wait forever.
        """
        ticket = self._submit()
        await self._acquire(ticket)
        holding = self._hold(ticket)
        try:
            return await async_fn(*args)
        finally:
            self._let_go(holding)

    async def requeue(self, wait: Callable[[], Awaitable[object]] | None = None) -> None:
        """Give back the slot the calling work holds, ``await wait()`` without it, then wait
        for a slot again behind every submission made meanwhile (this is the work's new place
        in the queue). Called from work that holds no slot of this limiter, it only waits.

        Cancelled while waiting for its new slot, the work holds none; the slot it gives back
        is never given back twice.
        """
        holding = self._holders.get(trio.lowlevel.current_task())
        if holding is None or holding.ticket is None:
            if wait is not None:
                await wait()
            else:
                await trio.lowlevel.checkpoint()
            return
        self._limiter.release_on_behalf_of(holding.ticket)
        holding.ticket = None
        if wait is not None:
            await wait()
        ticket = self._submit()
        await self._acquire(ticket)
        holding.ticket = ticket

    async def _run_ticket(
        self,
        ticket: _Ticket,
        async_fn: Callable[[Unpack[PosArgsT]], Awaitable[object]],
        args: tuple[*PosArgsT],
    ) -> None:
        await self._acquire(ticket)
        holding = self._hold(ticket)
        try:
            await async_fn(*args)
        finally:
            self._let_go(holding)

    def _hold(self, ticket: _Ticket) -> _Holding:
        holding = _Holding(trio.lowlevel.current_task(), ticket)
        self._holders[holding.task] = holding
        return holding

    def _let_go(self, holding: _Holding) -> None:
        del self._holders[holding.task]
        if holding.ticket is not None:
            self._limiter.release_on_behalf_of(holding.ticket)

    def _submit(self) -> _Ticket:
        ticket = _Ticket(self)
        self._queue.append(ticket)
        self._waiting += 1
        return ticket

    async def _acquire(self, ticket: _Ticket) -> None:
        """Wait until ``ticket`` is at the front of the queue and holds a token, then hand the
        turn to the next ticket. On return the caller must begin its work in this same step."""
        if self._queue[0] is not ticket:
            ticket.task = trio.lowlevel.current_task()
            # Rescheduled by _pass_turn when this ticket reaches the front; a cancellation
            # before that goes through ticket.abort and raises Cancelled here.
            await trio.lowlevel.wait_task_rescheduled(ticket.abort)
        # This ticket is at the front: nobody else may take a token until it passes the turn.
        try:
            await trio.lowlevel.checkpoint_if_cancelled()  # cancelled work never starts
            try:
                # Taking a free token directly saves the scheduler round trip that
                # CapacityLimiter.acquire_on_behalf_of makes even when a token is free.
                self._limiter.acquire_on_behalf_of_nowait(ticket)
            except trio.WouldBlock:
                # Woken when a token is released or total_tokens grows; Cancelled otherwise.
                await self._limiter.acquire_on_behalf_of(ticket)
                # A slot freed by failing work is handed over before the failure cancels this
                # work's nursery; work cancelled while being woken must still not start.
                try:
                    await trio.lowlevel.checkpoint_if_cancelled()
                except BaseException:
                    self._limiter.release_on_behalf_of(ticket)
                    raise
        finally:
            self._waiting -= 1
            self._queue.popleft()
            self._pass_turn()

    def _withdraw(self, ticket: _Ticket) -> None:
        """Take back a ticket whose task was never spawned."""
        self._waiting -= 1
        if self._queue[0] is ticket:
            self._queue.popleft()
            self._pass_turn()
        else:
            ticket.abandoned = True

    def _pass_turn(self) -> None:
        """Let the first live ticket of the queue take a token (wake it if it is parked)."""
        queue = self._queue
        while queue and queue[0].abandoned:
            queue.popleft()
        if queue and (task := queue[0].task) is not None:
            queue[0].task = None
            trio.lowlevel.reschedule(task)
