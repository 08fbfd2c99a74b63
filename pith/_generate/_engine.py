"""The generator: prose for every selected node, in two phases under one FIFO capacity limit.

Phase one writes files and functions; phase two writes modules, each after its sub-modules of the
same run, so that a package's prompt holds its children's fresh summaries. Every node's failure is
its own: it is recorded with the node, never cancels a sibling, and all of them come back together
as one `ExceptionGroup`. Each node's prose is committed the moment it arrives.

How work reaches the limiter: one producer per phase prepares a bounded batch (prompts and lease
claims, one trip to the store's thread), submits it to the limiter in order, and prepares the next
batch only when fewer than two batches of its own submissions are still waiting for a slot. Nothing
is allocated per node before its batch, a slot is held for the call alone, and the producer never
waits for anything only its own output would free.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio

from .._errors import StoreWriteError, release_frames
from .._llm._client import LLMClient
from .._llm._errors import LLMError
from .._models import Node, NodeType, Prose
from .._store import Store
from ._adaptive import AdaptiveConcurrency
from ._blocking import BlockingBatcher, Coalescer, RunBlocking
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
from ._selection import FORCE_PENDING, NodeList, Selection, select_nodes

__all__ = ["Generation", "generate", "only_cancels"]

_log = logging.getLogger("pith")

# The most prompts prepared in one trip to the store's thread (a batch is the limiter's size).
MAX_BATCH = 256

_Prepared = tuple[Prompt, Claim] | Exception


@attrs.define(kw_only=True, eq=False)
class Generation:
    """One run of the generator over a `Selection`.

    Create it, ``await generation.run(selection)`` (once); ``generation.report`` is true at every
    moment, including after the run was cancelled. Pass a shared ``limiter`` to bound pith's
    calls together with other work of your application; otherwise one of ``concurrency`` slots is
    made (giving both is an error: they could disagree). Runs that share a limiter share its
    admission (pauses on rate limits, and the adapted size), unless you pass an ``admission`` of
    your own; adaptation is an overlay of the runs: when the last of them ends, the limiter is
    given back the size it had when the first began (unless someone else resized it meanwhile).

    Guarantees: work starts in selection order in both phases (a module when its sub-modules of
    this run are done, without holding a slot meanwhile); a node's failure is recorded in the
    report and never cancels another node; a run-wide error (bad key, no credits, unknown model,
    a store that cannot be written) stops every call not yet sent, and no prompt is built or node
    claimed after it; every reply that arrives is committed, even while the run is being
    cancelled; a store that fails mid-run ends the run with its report, never with the store's
    exception.
    """

    store: Store
    client: LLMClient
    concurrency: int | None = None
    _given_limiter: FifoCapacityLimiter | None = attrs.field(default=None, alias="limiter")
    on_progress: Callable[[ProgressUpdate], None] | None = None
    # Adapt the limiter's size to the provider's rate limits (pauses happen either way).
    adaptive: bool = True
    _given_admission: AdaptiveConcurrency | None = attrs.field(default=None, alias="admission")
    # This run's claims on nodes, shared through the store with other runs (other processes
    # included): a node another live run has claimed is not sent by this one.
    leases: Leases = attrs.field(
        default=attrs.Factory(lambda self: Leases(store=self.store), takes_self=True)
    )
    # How often a node held by another run is looked at again (seconds).
    recheck_interval: float = 1.0
    # Runs the store's blocking calls, batched (see `_use_runner`).
    _run_blocking: RunBlocking[Any] = attrs.field(init=False, default=trio.to_thread.run_sync)
    limiter: FifoCapacityLimiter = attrs.field(init=False)
    admission: AdaptiveConcurrency = attrs.field(init=False)
    report: GenerationReport = attrs.field(init=False)
    _prompts: PromptBuilder = attrs.field(init=False)
    _blocking: BlockingBatcher = attrs.field(init=False)
    _saves: Coalescer[tuple[str, Prose], Exception | None] = attrs.field(init=False)
    _commits: trio.Nursery = attrs.field(init=False)
    _ran: bool = attrs.field(init=False, default=False)
    _done: int = attrs.field(init=False, default=0)
    _halt: Exception | None = attrs.field(init=False, default=None)
    _callback_failed: bool = attrs.field(init=False, default=False)
    _lease_failed: bool = attrs.field(init=False, default=False)
    # This run's submissions still waiting for a slot, and the event that says one started.
    _queued: int = attrs.field(init=False, default=0)
    _room: trio.Event = attrs.field(init=False, factory=trio.Event)
    # Whose summaries a module prompt of this run reads: only those are kept in memory.
    _keep_summaries: bool = attrs.field(init=False, default=False)
    # Phase two: modules finished (replied, failed or skipped), and the event that says so.
    _module_finished: trio.Event = attrs.field(init=False, factory=trio.Event)
    _finished_modules: list[str] = attrs.field(init=False, factory=list)
    # Prose written from the same source after this is another run's work, not to be redone.
    _selected_at: dt.datetime = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if self._given_limiter is None:
            self.limiter = FifoCapacityLimiter(5 if self.concurrency is None else self.concurrency)
        elif self.concurrency is not None:
            raise ValueError("pass concurrency or a limiter, not both: they could disagree")
        else:
            self.limiter = self._given_limiter
        if self._given_admission is not None:
            self.admission = self._given_admission
        elif self._given_limiter is not None:
            self.admission = AdaptiveConcurrency.shared(self.limiter, adapt=self.adaptive)
        else:
            self.admission = AdaptiveConcurrency(limiter=self.limiter, adapt=self.adaptive)
        self._prompts = PromptBuilder(self.store)
        self._blocking = BlockingBatcher(self._run_blocking)
        self._saves = Coalescer(self._save_many)
        self.report = GenerationReport(
            model=self.client.model,
            base_url=self.client.base_url,
            concurrency=self.limiter.total_tokens,
            started_at=dt.datetime.now(dt.UTC),
            admission=self.admission,
        )

    def _use_runner(self, run_blocking: RunBlocking[Any]) -> Generation:
        """Run the store's blocking calls with ``run_blocking`` instead of worker threads: tests
        on Trio's mock clock run them inline, where a wait for a thread would look idle and make
        the clock jump. Private: not part of the documented API."""
        self._run_blocking = run_blocking
        self._blocking = BlockingBatcher(run_blocking)
        return self

    async def run(self, selection: Selection) -> GenerationReport:
        """Write every node of ``selection``; return the report (failures are in it, not raised).

        Cancellation stops in-flight calls and keeps every prose already committed. A
        `Generation` runs once: `RuntimeError` on a second call.
        """
        if self._ran:
            raise RuntimeError("a Generation runs once; make a new one for another run")
        self._ran = True
        self.report.started_at = dt.datetime.now(dt.UTC)
        self.report.concurrency = self.limiter.total_tokens
        self._selected_at = min(selection.made_at, self.report.started_at)
        results = self.report.results
        for node_id, node_type in selection.phase_one.heads():
            results[node_id] = NodeResult(node_id, node_type, PHASE_NODES)
        for node_id, node_type in selection.phase_two.heads():
            results[node_id] = NodeResult(node_id, node_type, PHASE_MODULES)
        self._keep_summaries = bool(selection.phase_two)
        # A reply that cannot be saved is paid for in vain: no call before a write goes through.
        await self._run_blocking(self.store.check_writable)
        if selection.forced_since is not None:
            # Recorded so that `pith generate` continues this --force if it is interrupted.
            await self._run_blocking(
                functools.partial(self.store.set_meta, {FORCE_PENDING: selection.forced_since})
            )
        registered = False
        try:
            with self.admission.overlay():
                async with trio.open_nursery() as services:
                    await services.start(self._blocking.serve)
                    try:
                        await self._blocking.run(
                            functools.partial(self.leases.start, len(selection))
                        )
                        registered = True
                    except Exception as exc:
                        self._store_failed(exc, "register this run")
                    services.start_soon(self._heartbeat)
                    async with trio.open_nursery() as self._commits:
                        async with trio.open_nursery() as nursery:
                            await self._phase_one(nursery, selection.phase_one)
                        async with trio.open_nursery() as nursery:
                            await self._phase_two(nursery, selection)
                    if selection.forced_since is not None and self._complete():
                        await self._guarded(
                            functools.partial(self.store.delete_meta, FORCE_PENDING)
                        )
                    services.cancel_scope.cancel()
        except BaseException as exc:
            # Only a cancel (Ctrl-C, a cancel scope) makes a run "cancelled"; a bug arriving
            # together with one stays a bug.
            if only_cancels(exc):
                self.report.cancelled = True
            raise
        finally:
            self.report.finished_at = dt.datetime.now(dt.UTC)
            if registered:
                with trio.CancelScope(shield=True):
                    await self._guarded(self.leases.finish)
        return self.report

    def _complete(self) -> bool:
        """Whether every node of the run is written (or needed no writing)."""
        return self._halt is None and not any(
            r.outcome in (Outcome.FAILED, Outcome.NOT_ATTEMPTED)
            for r in self.report.results.values()
        )

    # --- producers ---------------------------------------------------------------------------

    def _batch_size(self) -> int:
        return max(1, min(self.limiter.total_tokens, MAX_BATCH))

    async def _room_for(self, size: int) -> None:
        """Wait until fewer than ``size`` of this run's submissions wait for a slot."""
        while self._queued >= size:
            self._room = trio.Event()
            await self._room.wait()

    async def _phase_one(self, nursery: trio.Nursery, nodes: NodeList) -> None:
        """Prepare phase one a batch at a time, submitting each batch in order (a batch's
        nodes are made from the selection's compact list only then)."""
        start = 0
        while start < len(nodes) and self._halt is None:
            size = self._batch_size()
            await self._room_for(2 * size)
            if self._halt is not None:
                return
            batch = [nodes[i] for i in range(start, min(start + size, len(nodes)))]
            start += size
            prepared = await self._blocking.run(functools.partial(self._prepare_all, batch))
            for node, value in zip(batch, prepared, strict=True):
                self._dispatch(nursery, node, PHASE_NODES, value)

    async def _phase_two(self, nursery: trio.Nursery, selection: Selection) -> None:
        """Submit each module once its sub-modules of this run are finished, in the order they
        became ready (selection order among those ready together), a batch at a time.
        Readiness is counted, never rescanned: each finished module costs its parents' count."""
        order = {node_id: i for i, node_id in enumerate(selection.phase_two.ids)}
        nodes = selection.phase_two
        waiting_on: dict[str, int] = {}
        parents: dict[str, list[str]] = {}
        for module, submodules in selection.submodules.items():
            if module not in order:
                continue
            inside = [child for child in submodules if child in order]
            waiting_on[module] = len(inside)
            for child in inside:
                parents.setdefault(child, []).append(module)
        ready = collections.deque(i for i, node in enumerate(nodes) if not waiting_on.get(node.id))
        remaining = len(nodes)
        while remaining and self._halt is None:
            became_ready = []
            for module in self._finished_modules:
                remaining -= 1
                for parent in parents.get(module, ()):
                    waiting_on[parent] -= 1
                    if not waiting_on[parent]:
                        became_ready.append(order[parent])
            self._finished_modules.clear()
            ready.extend(sorted(became_ready))
            if not ready:
                if remaining:
                    self._module_finished = trio.Event()
                    await self._module_finished.wait()
                continue
            size = self._batch_size()
            await self._room_for(2 * size)
            if self._halt is not None:
                return
            to_send: list[Node] = []
            while ready and len(to_send) < size:
                node = nodes[ready.popleft()]
                children = selection.if_children_change.get(node.id)
                if children is not None and not any(map(self._changed, children)):
                    # Its prompt would be the one its current prose was written from.
                    result = self.report.results[node.id]
                    result.outcome = Outcome.UNCHANGED
                    self._count(result)
                    self._module_done(node.id)
                else:
                    to_send.append(node)
            if to_send:
                # Their children are written: prepare them all in one trip, before they wait
                # for a slot, so that a slot is held for the call alone (as in phase one).
                prepared = await self._blocking.run(functools.partial(self._prepare_all, to_send))
                for node, value in zip(to_send, prepared, strict=True):
                    self._dispatch(nursery, node, PHASE_MODULES, value)

    def _dispatch(self, nursery: trio.Nursery, node: Node, phase: int, value: _Prepared) -> None:
        """Hand one prepared node on: to the limiter (claimed), to a waiter (held by another
        run), or straight to the report (written elsewhere, or its preparation failed)."""
        result = self.report.results[node.id]
        if isinstance(value, Exception):
            if isinstance(value, StoreWriteError):
                self._store_failed(value.__cause__ or value, "claim a node")
            self._fail(result, phase, value)
            self._finished(node, phase)
            return
        prompt, claim = value
        if claim is Claim.DONE:
            result.outcome = Outcome.WRITTEN_ELSEWHERE
            self._count(result)
            self._finished(node, phase)
        elif claim is Claim.HELD:
            nursery.start_soon(self._await_other_run, nursery, node, phase)
        else:
            self._queued += 1
            self.limiter.start_soon(nursery, self._call, node, phase, prompt)

    def _changed(self, node_id: str) -> bool:
        """Whether ``node_id`` got new prose during this run (its summary may have changed)."""
        return (
            node_id in self._prompts.summaries
            or self.report.results[node_id].outcome is Outcome.WRITTEN_ELSEWHERE
        )

    def _finished(self, node: Node, phase: int) -> None:
        if phase == PHASE_MODULES:
            self._module_done(node.id)

    def _module_done(self, node_id: str) -> None:
        self._finished_modules.append(node_id)
        self._module_finished.set()

    # --- one node ----------------------------------------------------------------------------

    async def _call(self, node: Node, phase: int, prompt: Prompt) -> None:
        """Ask for one node's prose (holding a limiter slot), then hand it to be committed."""
        self._queued -= 1
        self._room.set()
        result = self.report.results[node.id]
        try:
            # Checked when its turn comes: a run-wide error may have come while it waited.
            if self._halt is not None:
                self._commits.start_soon(self._release, node.id)
                return
            parse = functools.partial(
                parse_prose, node=node, model=self.client.model, index=prompt.index
            )
            completion = await self.client.complete(
                prompt.messages, parse, admission=self.admission
            )
        except Exception as exc:
            self._fail(result, phase, exc)
            self._commits.start_soon(self._release, node.id)
            self._finished(node, phase)
            return
        result.attempts, result.usage = completion.attempts, completion.usage
        if self._keep_summaries and node.type is not NodeType.FUNCTION:
            # Module prompts read this run's summaries from memory; the commit need not have
            # happened yet. A function's summary is read by no prompt.
            self._prompts.summaries[node.id] = completion.value.summary
        self._commits.start_soon(self._commit, node, phase, completion.value)
        self._finished(node, phase)

    async def _await_other_run(self, nursery: trio.Nursery, node: Node, phase: int) -> None:
        """Wait, without a limiter slot, until the run holding ``node`` has written it (the
        node is then "written by another run") or has let it go (then this run sends it)."""
        result = self.report.results[node.id]
        while True:
            await trio.sleep(self.recheck_interval)
            if self._halt is not None:
                self._finished(node, phase)
                return
            try:
                held = await self._blocking.run(functools.partial(self.leases.holder, node.id))
            except Exception as exc:
                self._fail(result, phase, exc)
                self._finished(node, phase)
                return
            if held is None:
                # Written (the claim then says so) or abandoned (the claim takes it over).
                value = await self._blocking.run(functools.partial(self._prepare_one, node))
                if isinstance(value, Exception) or value[1] is not Claim.HELD:
                    self._dispatch(nursery, node, phase, value)
                    return

    async def _release(self, node_id: str) -> None:
        with trio.CancelScope(shield=True):
            await self._guarded(functools.partial(self.leases.release, node_id))

    def _prepare_all(self, nodes: Sequence[Node]) -> list[_Prepared]:
        """Prompts for ``nodes``, then their claims in one transaction (blocking: the store's
        thread). A node whose prompt cannot be built is not claimed; claims that cannot be
        written fail every node of the batch with a `StoreWriteError` (the run then halts)."""
        prompts: list[Prompt | Exception] = []
        for node in nodes:
            try:
                prompts.append(self._prompts.prompt(node))
            except Exception as exc:  # the node's own failure
                prompts.append(exc)
        wanted = [
            (node.id, node.source_hash)
            for node, prompt in zip(nodes, prompts, strict=True)
            if not isinstance(prompt, Exception)
        ]
        try:
            claims = iter(self.leases.claim_all(wanted, self._selected_at))
        except Exception as exc:
            failure = StoreWriteError(f"cannot claim nodes in {self.store.db_path}: {exc}")
            failure.__cause__ = exc
            return [failure] * len(nodes)
        return [
            prompt if isinstance(prompt, Exception) else (prompt, next(claims))
            for prompt in prompts
        ]

    def _prepare_one(self, node: Node) -> _Prepared:
        return self._prepare_all([node])[0]

    async def _commit(self, node: Node, phase: int, prose: Prose) -> None:
        result = self.report.results[node.id]
        # A reply that was paid for is saved even when the run is being cancelled. It is saved
        # with those that arrived while the last save was under way: one commit for them all,
        # and none of them is counted as generated before that commit.
        with trio.CancelScope(shield=True):
            error = await self._saves.run((node.id, prose))
        if error is not None:
            self._store_failed(error, "save prose")
            self._fail(result, phase, error)
            await self._release(node.id)
            return
        result.outcome = Outcome.GENERATED
        self._count(result)

    async def _save_many(self, items: list[tuple[str, Prose]]) -> list[Exception | None]:
        return await self._blocking.run(functools.partial(self._save_all, items))

    def _save_all(self, items: Sequence[tuple[str, Prose]]) -> list[Exception | None]:
        """Save ``items`` in one transaction, then give their nodes' leases back in the same
        trip (a lease that cannot be given back expires: that costs no node). Blocking; never
        raises: each node's failure is in its place (a store that refuses the write fails every
        node, each with an error of its own)."""
        try:
            errors = self.store.save_prose_many(items)
        except Exception as exc:
            return [exc, *(copy.copy(exc) for _ in items[1:])]
        try:
            self.leases.release_all(
                [
                    node_id
                    for (node_id, _), error in zip(items, errors, strict=True)
                    if error is None
                ]
            )
        except Exception:
            self._lease_write_failed()
        return errors

    def _store_failed(self, exc: BaseException, doing: str) -> None:
        """The store refuses writes (disk full, read-only): every further reply would be paid
        for and lost. Admit no more."""
        if self._halt is None:
            self._halt = StoreWriteError(f"cannot {doing} in {self.store.db_path}: {exc}")
            self.report.halted_by = (
                f"cannot save prose to {self.store.db_path}: {exc}; stopped sending. Check "
                "the space left on the disk and the permissions of the data dir, then rerun"
            )

    async def _guarded(self, fn: Callable[[], object]) -> None:
        """A lease or bookkeeping write whose failure costs no node: a lease not written
        expires on its own. Logged once per run."""
        try:
            await self._blocking.run(fn)
        except Exception:
            self._lease_write_failed()

    def _lease_write_failed(self) -> None:
        if not self._lease_failed:
            self._lease_failed = True
            _log.warning("a lease write to the store failed; leases expire", exc_info=True)

    async def _heartbeat(self) -> None:
        """Renew this run's leases three times per lease time, while the run lives."""
        while True:
            await trio.sleep(self.leases.ttl / 3)
            await self._guarded(self.leases.heartbeat)

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


def only_cancels(exc: BaseException) -> bool:
    """Whether ``exc`` is a cancel (Ctrl-C, a cancel scope) and nothing else: a group that also
    holds another error is that error's, not an interrupt."""
    if isinstance(exc, BaseExceptionGroup):
        rest = exc.split((trio.Cancelled, KeyboardInterrupt))[1]
        return rest is None
    return isinstance(exc, trio.Cancelled | KeyboardInterrupt)


async def generate(
    store: Store,
    client: LLMClient,
    *,
    concurrency: int | None = None,
    limiter: FifoCapacityLimiter | None = None,
    admission: AdaptiveConcurrency | None = None,
    node_ids: Sequence[str] = (),
    force: bool = False,
    on_progress: Callable[[ProgressUpdate], None] | None = None,
    adaptive: bool = True,
) -> GenerationReport:
    """Write prose for the nodes whose prose is missing or stale (``force``: all; ``node_ids``:
    those) and return the report. ``concurrency`` (default 5) or a shared ``limiter`` bounds the
    calls in flight; ``adaptive`` lowers that bound on rate limits and raises it back as calls
    succeed, for the run only; ``admission``: one `AdaptiveConcurrency` to share between runs
    (see `Generation`). Node failures do not raise: see `GenerationReport.errors` and
    `GenerationReport.raise_for_errors`. Never prints; never calls `trio.run`; the store's
    blocking work runs in worker threads.
    """
    return await _generate(
        store,
        client,
        concurrency=concurrency,
        limiter=limiter,
        admission=admission,
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
    admission: AdaptiveConcurrency | None = None,
    adaptive: bool = True,
    run_blocking: RunBlocking[Any] = trio.to_thread.run_sync,
) -> GenerationReport:
    """`generate`, with the seam tests use to keep blocking work inline on the mock clock."""
    generation = Generation(
        store=store,
        client=client,
        concurrency=concurrency,
        limiter=limiter,
        admission=admission,
        on_progress=on_progress,
        adaptive=adaptive,
    )._use_runner(run_blocking)
    selection = await run_blocking(
        functools.partial(select_nodes, store, node_ids=node_ids, force=force)
    )
    return await generation.run(selection)
