"""Admission that follows what the provider allows: pauses on rate limits, and a concurrency that
shrinks when the provider refuses and grows back while it does not.

`AdaptiveConcurrency` sits between the calls and one endpoint. Every HTTP request waits in
`admit` first, and reports how it went (`succeeded` or `refused`). On a refusal (HTTP 429, or 503
with Retry-After):

- admission pauses for the whole run: no request is sent until the provider's Retry-After has
  passed (or, without one, a backoff that doubles while refusals keep coming, up to
  ``pause_max``);
- with a ``limiter`` and ``adapt``, the limiter's ``total_tokens`` is cut by ``decrease`` (never
  below 1), at most once per round: refusals of requests admitted before the last cut do not
  cut again, since they were sent under the old limit; a refusal right after a step up (one
  slot back, below) steps back down to the limit that had just had a clean round instead: the
  provider's limit was found, and halving from there would leave most of it unused;
- after a round of clean successes (as many as the current limit), one slot comes back, up to
  the ``ceiling`` (the limit the run started with); a step up to the limit that was last refused,
  or above it, waits for ``probe_rounds`` clean rounds instead, since every probe that finds the
  provider's limit again costs the whole run a pause.

Rate-limit waits are not failures: a request the provider refused is sent again after the pause,
and fails only when the provider has refused it for ``patience`` seconds in total. This works for
a cap on requests in flight and for a cap on requests per second alike, since the rate sent is the
concurrency over the latency.

A refused request gives its limiter slot back while it waits (`requeue`), and takes its turn
again behind the work queued meanwhile: after a cut, only as many requests as the new limit go out.

Adaptation is an overlay of the runs that use it (`overlay`): when the last of them ends, the
limiter is given back the size it had when the first began, so a shared limiter is never lowered
for good. It works on Trio's clock (mock clock in tests) and is shared by all calls of a run, or
of an application: pass one to `LLMClient.complete` (the generator does) with your own limiter,
or let runs over one limiter share one (`shared`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import attrs
import trio

from ._limiter import FifoCapacityLimiter

__all__ = ["AdaptiveConcurrency", "ConcurrencyChange"]


@attrs.frozen
class ConcurrencyChange:
    """One change of the limit: when (seconds since the first request), from, to, and why."""

    at: float
    old: int
    new: int
    reason: str


@attrs.define(eq=False)
class AdaptiveConcurrency:
    """See the module docstring. Without a ``limiter`` (or with ``adapt=False``) it only pauses."""

    limiter: FifoCapacityLimiter | None = None
    adapt: bool = True
    decrease: float = 0.5
    patience: float = 600.0  # seconds a request may be refused in total before it fails
    pause_initial: float = 1.0
    pause_max: float = 30.0
    probe_rounds: int = 8  # clean rounds before stepping up to the limit last refused, or above
    ceiling: int = attrs.field(init=False)
    lowest: int = attrs.field(init=False)
    refusals: int = attrs.field(init=False, default=0)
    changes: list[ConcurrencyChange] = attrs.field(init=False, factory=list)
    _started: float | None = attrs.field(init=False, default=None)
    _round: int = attrs.field(init=False, default=0)  # bumped by every cut
    _clean: int = attrs.field(init=False, default=0)  # successes since the last change
    _paused_until: float = attrs.field(init=False, default=-math.inf)
    _pauses_in_a_row: int = attrs.field(init=False, default=0)
    _refused_at: int | None = attrs.field(init=False, default=None)  # the limit last cut from
    # The limit that had a clean round before the last step up (None: the last change was a cut).
    _raised_from: int | None = attrs.field(init=False, default=None)
    _users: int = attrs.field(init=False, default=0)  # runs inside `overlay` now
    _set_to: int | None = attrs.field(init=False, default=None)  # the size this last set

    @classmethod
    def shared(cls, limiter: FifoCapacityLimiter, *, adapt: bool = True) -> AdaptiveConcurrency:
        """The one admission of ``limiter`` (per ``adapt``): runs over one limiter share their
        pauses and their adapted size."""
        # Kept on the limiter: the two refer to each other and are freed together.
        shared = limiter._admissions.get(adapt)
        if not isinstance(shared, cls):
            shared = limiter._admissions[adapt] = cls(limiter=limiter, adapt=adapt)
        return shared

    @contextlib.contextmanager
    def overlay(self) -> Iterator[None]:
        """For the span of a run: the first run in takes the limiter's size now as the
        ceiling; when the last one leaves, the limiter gets that size back, unless someone
        other than this admission resized it meanwhile."""
        if self._users == 0:
            self.ceiling = self.lowest = self.current
            self._set_to = None
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if (
                self._users == 0
                and self.limiter is not None
                and self._set_to is not None
                and self.limiter.total_tokens == self._set_to
            ):
                self.limiter.total_tokens = self.ceiling
                self._set_to = None

    async def requeue(self) -> None:
        """After a refusal: give back the limiter slot the calling work holds (if any), wait
        out the pause without it, then wait for a slot again behind the work queued meanwhile."""
        if self.limiter is None:
            await self.admit()
        else:
            await self.limiter.requeue(self.admit)

    def __attrs_post_init__(self) -> None:
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1, got {self.decrease}")
        if self.probe_rounds < 1:
            raise ValueError(f"probe_rounds must be at least 1, got {self.probe_rounds}")
        self.ceiling = self.lowest = self.current

    @property
    def current(self) -> int:
        """The limit now (0 without a limiter)."""
        return 0 if self.limiter is None else self.limiter.total_tokens

    @property
    def paused_for(self) -> float:
        """Seconds until admission resumes (0 when not paused)."""
        return max(0.0, self._paused_until - trio.current_time())

    async def admit(self) -> int:
        """Wait while admission is paused; return the round the request is admitted in (give it
        back to `succeeded` / `refused`)."""
        if self._started is None:
            self._started = trio.current_time()
        while True:
            # A deadline, not an event: the pause may be extended while we sleep; look again.
            resume_at = self._paused_until
            if resume_at <= trio.current_time():
                return self._round
            await trio.sleep_until(resume_at)

    def succeeded(self, round_: int) -> None:
        """A request admitted in ``round_`` got a reply. One sent before the last cut says
        nothing about the new limit: it does not count towards raising it."""
        self._pauses_in_a_row = 0
        if not self._adapting or round_ < self._round:
            return
        self._clean += 1
        if self.current >= self.ceiling:
            return
        rounds = 1
        if self._refused_at is not None and self.current + 1 >= self._refused_at:
            rounds = self.probe_rounds  # probing the provider's limit again: not too often
        if self._clean >= rounds * self.current:
            clean = self.current
            self._set(clean + 1, f"{self._clean} clean replies")
            self._raised_from = clean

    def refused(self, round_: int, retry_after: float | None) -> None:
        """A request admitted in ``round_`` was refused for the rate (``retry_after``: seconds
        the provider asked for, if it did)."""
        self.refusals += 1
        if retry_after is not None:
            pause = retry_after
            why = f"HTTP 429, Retry-After {retry_after:g} s"
        else:
            pause = min(self.pause_initial * 2**self._pauses_in_a_row, self.pause_max)
            why = "HTTP 429"
        self._pauses_in_a_row += 1
        self._paused_until = max(self._paused_until, trio.current_time() + pause)
        if self._adapting and round_ >= self._round:
            self._round += 1
            self._refused_at = self.current
            if self._raised_from is not None and self._raised_from < self.current:
                self._set(self._raised_from, f"{why}, right after a step up")
            else:
                self._set(max(1, math.floor(self.current * self.decrease)), why)
            self._raised_from = None

    @property
    def _adapting(self) -> bool:
        return self.adapt and self.limiter is not None

    def _set(self, new: int, reason: str) -> None:
        assert self.limiter is not None
        self._clean = 0
        if new == self.current:
            return
        started = trio.current_time() if self._started is None else self._started
        self.changes.append(
            ConcurrencyChange(
                at=round(trio.current_time() - started, 3),
                old=self.current,
                new=new,
                reason=reason,
            )
        )
        self.limiter.total_tokens = self._set_to = new
        self.lowest = min(self.lowest, new)

    def to_json(self) -> dict[str, object]:
        """The trace for the run's report."""
        return {
            "adaptive": self._adapting,
            "ceiling": self.ceiling,
            "lowest": self.lowest,
            "final": self.current,
            "rate_limited": self.refusals,
            "changes": [attrs.asdict(change) for change in self.changes],
        }
