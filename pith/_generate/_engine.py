"""The generator: prose for every selected node, in two phases under one FIFO capacity limit.

Phase one writes files and functions; phase two writes modules, each after its sub-modules of the
same run, so that a package's prompt holds its children's fresh summaries. Every node's failure is
its own: it is recorded with the node, never cancels a sibling, and all of them come back together
as one `ExceptionGroup`. Each node's prose is committed the moment it arrives.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio

from .._errors import release_frames
from .._llm._client import LLMClient
from .._llm._errors import LLMError
from .._models import Node, Prose
from .._store import Store
from ._adaptive import AdaptiveConcurrency
from ._blocking import BlockingBatcher, RunBlocking
from ._leases import Claim, Leases
from ._limiter import FifoCapacityLimiter
from ._prompt_builder import Prompt, PromptBuilder
from ._prose import parse_prose
from ._report import (
    PHASE_MODULES,
    PHASE_NODES,
    GenerationReport,
    NodeError,
    NodeResult,
    Outcome,
    ProgressUpdate,
)
from ._selection import FORCE_PENDING, Selection, select_nodes

__all__ = ["Generation", "generate"]

_log = logging.getLogger("pith")


@attrs.define(eq=False)
class _Prepared:
    """A node made ready ahead of its turn: its prompt and its lease's claim, or why it could
    not be."""

    _ready: trio.Event = attrs.Factory(trio.Event)
    _value: tuple[Prompt, Claim] | Exception | None = None

    def set(self, value: tuple[Prompt, Claim] | Exception) -> None:
        self._value = value
        self._ready.set()

    @property
    def is_set(self) -> bool:
        return self._ready.is_set()

    async def get(self) -> tuple[Prompt, Claim]:
        await self._ready.wait()
        assert self._value is not None
        if isinstance(self._value, Exception):
            raise self._value
        return self._value


@attrs.define(kw_only=True, eq=False)
class Generation:
    """One run of the generator over a `Selection`.

    Create it, ``await generation.run(selection)``; ``generation.report`` is true at every moment,
    including after the run was cancelled. Pass a shared ``limiter`` to bound pith's calls
    together with other work of your application; otherwise one of ``concurrency`` slots is made
    (giving both is an error: they could disagree). Guarantees: work starts in selection order in
    both phases (a module when its sub-modules of this run are done, without holding a slot
    meanwhile); a node's failure is recorded in the report and never cancels another node; a
    run-wide error (bad key, no credits, unknown model) stops every call not yet sent; every
    reply that arrives is committed, even while the run is being cancelled.
    """

    store: Store
    client: LLMClient
    concurrency: int | None = None
    _given_limiter: FifoCapacityLimiter | None = attrs.field(default=None, alias="limiter")
    on_progress: Callable[[ProgressUpdate], None] | None = None
    # Adapt the limiter's size to the provider's rate limits (pauses happen either way).
    adaptive: bool = True
    # This run's claims on nodes, shared through the store with other runs (other processes
    # included): a node another live run has claimed is not sent by this one. None: a fresh
    # owner with the default lease time.
    leases: Leases = attrs.field(
        default=attrs.Factory(lambda self: Leases(store=self.store), takes_self=True)
    )
    # How often a node held by another run is looked at again (seconds).
    recheck_interval: float = 1.0
    # Runs the store's blocking calls, batched; tests on Trio's mock clock pass an inline runner
    # so that thread waits do not look idle. Not part of the documented signature.
    _run_blocking: RunBlocking[Any] = attrs.field(
        default=trio.to_thread.run_sync, alias="_run_blocking"
    )
    limiter: FifoCapacityLimiter = attrs.field(init=False)
    admission: AdaptiveConcurrency = attrs.field(init=False)
    report: GenerationReport = attrs.field(init=False)
    _prompts: PromptBuilder = attrs.field(init=False)
    _blocking: BlockingBatcher = attrs.field(init=False)
    _commits: trio.Nursery = attrs.field(init=False)
    _prepared: dict[str, _Prepared] = attrs.field(init=False, factory=dict)
    _modules_prepared: dict[str, tuple[Prompt, Claim] | Exception] = attrs.field(
        init=False, factory=dict
    )
    _ahead: trio.Semaphore = attrs.field(init=False)
    _done: int = attrs.field(init=False, default=0)
    _halt: Exception | None = attrs.field(init=False, default=None)
    _callback_failed: bool = attrs.field(init=False, default=False)
    _modules_done: set[str] = attrs.field(init=False, factory=set)
    # Prose written from the same source after this is another run's work, not to be redone.
    _selected_at: dt.datetime = attrs.field(init=False)
    _module_finished: trio.Event = attrs.field(init=False, factory=trio.Event)

    def __attrs_post_init__(self) -> None:
        if self._given_limiter is None:
            self.limiter = FifoCapacityLimiter(5 if self.concurrency is None else self.concurrency)
        elif self.concurrency is not None:
            raise ValueError("pass concurrency or a limiter, not both: they could disagree")
        else:
            self.limiter = self._given_limiter
        self.admission = AdaptiveConcurrency(limiter=self.limiter, adapt=self.adaptive)
        self._prompts = PromptBuilder(self.store)
        self._blocking = BlockingBatcher(self._run_blocking)
        self._ahead = trio.Semaphore(2 * self.limiter.total_tokens)
        self.report = GenerationReport(
            model=self.client.model,
            base_url=self.client.base_url,
            concurrency=self.limiter.total_tokens,
            started_at=dt.datetime.now(dt.UTC),
            admission=self.admission,
        )

    async def run(self, selection: Selection) -> GenerationReport:
        """Write every node of ``selection``; return the report (failures are in it, not raised).

        Cancellation stops in-flight calls and keeps every prose already committed.
        """
        self.report.started_at = dt.datetime.now(dt.UTC)
        self._selected_at = min(selection.made_at, self.report.started_at)
        for node in selection.phase_one:
            self.report.results[node.id] = NodeResult(node.id, node.type, PHASE_NODES)
        for node in selection.phase_two:
            self.report.results[node.id] = NodeResult(node.id, node.type, PHASE_MODULES)
        # A reply that cannot be saved is paid for in vain: no call before a write goes through.
        await self._run_blocking(self.store.check_writable)
        if selection.forced_since is not None:
            # Recorded so that `pith generate` continues this --force if it is interrupted.
            await self._run_blocking(
                functools.partial(self.store.set_meta, {FORCE_PENDING: selection.forced_since})
            )
        try:
            async with trio.open_nursery() as services:
                await services.start(self._blocking.serve)
                await self._blocking.run(functools.partial(self.leases.start, len(selection)))
                services.start_soon(self._heartbeat)
                # Phase one's prompts are built and leases claimed ahead, in order, a batch per
                # trip to the store's thread, and commits run after the slot is given back: a
                # slot is held while the LLM works, not while the store does.
                self._prepared = {node.id: _Prepared() for node in selection.phase_one}
                services.start_soon(
                    self._prepare_ahead, selection.phase_one, list(self._prepared.values())
                )
                async with trio.open_nursery() as self._commits:
                    async with trio.open_nursery() as nursery:
                        for node in selection.phase_one:
                            self.limiter.start_soon(
                                nursery, self._write, node, PHASE_NODES, nursery
                            )
                    async with trio.open_nursery() as nursery:
                        await self._submit_modules(nursery, selection)
                services.cancel_scope.cancel()
        except BaseException as exc:
            # Only a cancel (Ctrl-C, a cancel scope) makes a run "cancelled"; anything else
            # escaping here is a bug and stays one.
            if _is_cancel(exc):
                self.report.cancelled = True
            raise
        finally:
            self.report.finished_at = dt.datetime.now(dt.UTC)
            with trio.CancelScope(shield=True):
                await self._blocking.run(self.leases.finish)
        return self.report

    async def _heartbeat(self) -> None:
        """Renew this run's leases three times per lease time, while the run lives."""
        while True:
            await trio.sleep(self.leases.ttl / 3)
            await self._blocking.run(self.leases.heartbeat)

    async def _submit_modules(self, nursery: trio.Nursery, selection: Selection) -> None:
        """Submit each module to the limiter once its sub-modules of this run are finished:
        one task submits, in `Selection.phase_two` order among those ready, so phase two keeps
        FIFO order as phase one does."""
        waiting = list(selection.phase_two)
        while waiting:
            ready = [
                node
                for node in waiting
                if all(c in self._modules_done for c in selection.submodules.get(node.id, ()))
            ]
            to_send = []
            for node in ready:
                children = selection.if_children_change.get(node.id)
                if children is not None and not any(map(self._changed, children)):
                    # Its prompt would be the one its current prose was written from.
                    result = self.report.results[node.id]
                    result.outcome = Outcome.UNCHANGED
                    self._count(result)
                    self._module_done(node.id)
                else:
                    to_send.append(node)
            if to_send and self._halt is None:
                # Their children are written: prepare them all in one trip, before they wait
                # for a slot, so that a slot is held for the call alone (as in phase one).
                built = await self._blocking.run(functools.partial(self._prepare_all, to_send))
                self._modules_prepared.update(zip((n.id for n in to_send), built, strict=True))
            for node in to_send:
                self.limiter.start_soon(nursery, self._write_module, node, nursery)
            waiting = [node for node in waiting if node not in ready]
            if waiting:
                await self._module_finished.wait()
                self._module_finished = trio.Event()

    def _changed(self, node_id: str) -> bool:
        """Whether ``node_id`` got new prose during this run (its summary may have changed)."""
        return (
            node_id in self._prompts.summaries
            or self.report.results[node_id].outcome is Outcome.WRITTEN_ELSEWHERE
        )

    async def _write_module(self, node: Node, nursery: trio.Nursery) -> None:
        handed_off = False
        try:
            handed_off = not await self._write(node, PHASE_MODULES, nursery)
        finally:
            if not handed_off:
                self._module_done(node.id)

    def _module_done(self, node_id: str) -> None:
        self._modules_done.add(node_id)
        self._module_finished.set()

    async def _write(self, node: Node, phase: int, nursery: trio.Nursery) -> bool:
        """Ask for one node's prose (holding a limiter slot), then hand it to be committed.

        Returns False when another run holds the node: a task in ``nursery`` then waits for it
        (without a slot) and finishes the node."""
        result = self.report.results[node.id]
        try:
            prompt, claim = await self._prepared_or_now(node)
            # Checked right before the call: a run-wide error may have come while the prompt
            # was being built.
            if self._halt is not None:
                self._count(result)
                return True
            if claim is Claim.DONE:
                self._written_elsewhere(node, result)
                return True
            if claim is Claim.HELD:
                nursery.start_soon(self._await_other_run, node, phase, nursery)
                return False
            parse = functools.partial(
                parse_prose,
                node=node,
                model=self.client.model,
                facts=prompt.facts,
                code=prompt.code,
            )
            completion = await self.client.complete(
                prompt.messages, parse, admission=self.admission
            )
        except Exception as exc:
            self._fail(result, phase, exc)
            self._commits.start_soon(self._release, node.id)
            return True
        result.attempts, result.usage = completion.attempts, completion.usage
        # Parents read this run's summaries from memory; the commit need not have happened yet.
        self._prompts.summaries[node.id] = completion.value.summary
        self._commits.start_soon(self._commit, node, phase, completion.value)
        return True

    async def _await_other_run(self, node: Node, phase: int, nursery: trio.Nursery) -> None:
        """Wait, without a limiter slot, until the run holding ``node`` has written it (the
        node is then "written by another run") or has let it go (then this run sends it)."""
        result = self.report.results[node.id]
        while True:
            await trio.sleep(self.recheck_interval)
            if self._halt is not None:
                self._count(result)
                break
            held = await self._blocking.run(functools.partial(self.leases.holder, node.id))
            if held is None:
                # Written (the claim then says so) or abandoned (the claim takes it over).
                write = self._write if phase == PHASE_NODES else self._write_module_by_other
                self.limiter.start_soon(nursery, write, node, phase, nursery)
                return
        if phase == PHASE_MODULES:
            self._module_done(node.id)

    async def _write_module_by_other(self, node: Node, _phase: int, nursery: trio.Nursery) -> None:
        await self._write_module(node, nursery)

    def _written_elsewhere(self, node: Node, result: NodeResult) -> None:
        result.outcome = Outcome.WRITTEN_ELSEWHERE
        self._count(result)

    async def _release(self, node_id: str) -> None:
        with trio.CancelScope(shield=True):
            await self._blocking.run(functools.partial(self.leases.release, node_id))

    async def _prepared_or_now(self, node: Node) -> tuple[Prompt, Claim]:
        """The node's prompt and claim: made ahead (the usual case, so that a limiter slot is
        held only for the call), else now."""
        if (ready := self._modules_prepared.pop(node.id, None)) is not None:
            if isinstance(ready, Exception):
                raise ready
            return ready
        prepared = self._prepared.pop(node.id, None)
        if prepared is None:
            return await self._blocking.run(functools.partial(self._prepare, node))
        try:
            return await prepared.get()
        finally:
            # Built (or failed to build): its permit goes back, whatever happens next.
            if prepared.is_set:
                self._ahead.release()

    async def _prepare_ahead(self, nodes: Sequence[Node], prepared: Sequence[_Prepared]) -> None:
        """Prepare ``nodes`` in order (prompt and claim, one trip to the store's thread for a
        batch of them), at most ``_ahead`` of them waiting unused."""
        batch_size = self.limiter.total_tokens
        for start in range(0, len(nodes), batch_size):
            batch = nodes[start : start + batch_size]
            waiting = prepared[start : start + batch_size]
            for _ in batch:
                await self._ahead.acquire()
            built = await self._blocking.run(functools.partial(self._prepare_all, batch))
            for slot, value in zip(waiting, built, strict=True):
                slot.set(value)

    def _prepare_all(self, nodes: Sequence[Node]) -> list[tuple[Prompt, Claim] | Exception]:
        prepared: list[tuple[Prompt, Claim] | Exception] = []
        for node in nodes:
            try:
                prepared.append(self._prepare(node))
            except Exception as exc:  # the node's own failure, reported by its own task
                prepared.append(exc)
        return prepared

    def _prepare(self, node: Node) -> tuple[Prompt, Claim]:
        """Build ``node``'s prompt, then claim its lease (blocking: the store's thread)."""
        prompt = self._prompts.prompt(node)
        return prompt, self.leases.claim(node.id, node.source_hash, self._selected_at)

    async def _commit(self, node: Node, phase: int, prose: Prose) -> None:
        result = self.report.results[node.id]
        try:
            # A reply that was paid for is saved even when the run is being cancelled.
            with trio.CancelScope(shield=True):
                await self._blocking.run(functools.partial(self._save_and_release, node.id, prose))
        except Exception as exc:
            if self._halt is None:
                # The store refuses writes (disk full, read-only): every further reply would be
                # paid for and lost. Admit no more.
                self._halt = exc
                self.report.halted_by = (
                    f"cannot save prose to {self.store.db_path}: {exc}; stopped sending. Check "
                    "the space left on the disk and the permissions of the data dir, then rerun"
                )
            self._fail(result, phase, exc)
            return
        result.outcome = Outcome.GENERATED
        self._count(result)

    def _save_and_release(self, node_id: str, prose: Prose) -> None:
        try:
            self.store.save_prose(node_id, prose)
        finally:
            self.leases.release(node_id)

    def _fail(self, result: NodeResult, phase: int, exc: Exception) -> None:
        exc.add_note(f"while writing {result.type} node {result.id!r} (phase {phase})")
        result.outcome = Outcome.FAILED
        result.error = NodeError.from_exception(exc)
        self.report.exceptions.append(exc)
        if not isinstance(exc, LLMError):
            self._count(result)
            return
        # An expected failure says it all in its message; its traceback and chained errors
        # would keep reply bodies alive until the run ends, for every failed node.
        release_frames(exc)
        exc.__traceback__ = exc.__context__ = exc.__cause__ = None
        result.attempts, result.usage = exc.attempts, exc.usage
        if exc.run_wide and self._halt is None:
            # Every further call would fail the same way: admit no more.
            self._halt = exc
            self.report.halted_by = result.error.message
        self._count(result)

    def _count(self, result: NodeResult) -> None:
        self._done += 1
        if self.on_progress is None:
            return
        update = ProgressUpdate(
            result=result,
            done=self._done,
            total=len(self.report.results),
            failed=len(self.report.exceptions),
            concurrency=self.limiter.total_tokens,
        )
        try:
            self.on_progress(update)
        except Exception:
            # The caller's display is not worth a node: say so once, keep going.
            if not self._callback_failed:
                self._callback_failed = True
                _log.warning("the progress callback raised; the run goes on", exc_info=True)


def _is_cancel(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup((trio.Cancelled, KeyboardInterrupt)) is not None
    return isinstance(exc, trio.Cancelled | KeyboardInterrupt)


async def generate(
    store: Store,
    client: LLMClient,
    *,
    concurrency: int | None = None,
    limiter: FifoCapacityLimiter | None = None,
    node_ids: Sequence[str] = (),
    force: bool = False,
    on_progress: Callable[[ProgressUpdate], None] | None = None,
    adaptive: bool = True,
) -> GenerationReport:
    """Write prose for the nodes whose prose is missing or stale (``force``: all; ``node_ids``:
    those) and return the report. ``concurrency`` (default 5) or a shared ``limiter`` bounds the
    calls in flight; ``adaptive`` lowers that bound on rate limits and raises it back as calls
    succeed (see `Generation`). Node failures do not raise: see `GenerationReport.errors` and
    `GenerationReport.raise_for_errors`. Never prints; never calls `trio.run`; the store's
    blocking work runs in worker threads.
    """
    return await _generate(
        store,
        client,
        concurrency=concurrency,
        limiter=limiter,
        node_ids=node_ids,
        force=force,
        on_progress=on_progress,
        adaptive=adaptive,
    )


async def _generate(
    store: Store,
    client: LLMClient,
    *,
    concurrency: int | None,
    limiter: FifoCapacityLimiter | None,
    node_ids: Sequence[str],
    force: bool,
    on_progress: Callable[[ProgressUpdate], None] | None,
    adaptive: bool = True,
    run_blocking: RunBlocking[Any] = trio.to_thread.run_sync,
) -> GenerationReport:
    """`generate`, with the seam tests use to keep blocking work inline on the mock clock."""
    generation = Generation(
        store=store,
        client=client,
        concurrency=concurrency,
        limiter=limiter,
        on_progress=on_progress,
        adaptive=adaptive,
        _run_blocking=run_blocking,
    )
    selection = await run_blocking(
        functools.partial(select_nodes, store, node_ids=node_ids, force=force)
    )
    return await generation.run(selection)
