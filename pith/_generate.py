"""The generator: prose for every selected node, in two phases under one FIFO capacity limit.

Phase one writes files and functions; phase two writes modules, each after its sub-modules of the
same run, so that a package's prompt holds its children's fresh summaries. Every node's failure is
its own: it is recorded with the node, never cancels a sibling, and all of them come back together
as one `ExceptionGroup`. Each node's prose is committed the moment it arrives.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from ._blocking import BlockingBatcher, RunBlocking
from ._config import Settings
from ._errors import PithError, UsageError
from ._limiter import FifoCapacityLimiter
from ._llm import LLMClient, Usage
from ._models import ClassFacts, EdgeType, FileFacts, FunctionFacts, Node, NodeType, Prose
from ._prompts import ChildSummary, file_prompt, function_prompt, module_prompt
from ._prose import parse_prose
from ._store import Store

__all__ = [
    "PHASE_MODULES",
    "PHASE_NODES",
    "Generation",
    "GenerationInterrupted",
    "GenerationReport",
    "NodeError",
    "NodeResult",
    "Outcome",
    "ProgressUpdate",
    "PromptBuilder",
    "Selection",
    "generate",
    "run_generation",
    "select_nodes",
]

PHASE_NODES = 1  # files and functions
PHASE_MODULES = 2  # modules, bottom-up
_RECENT_FACTS = 64

Messages = list[dict[str, str]]
Prompt = tuple[Messages, FileFacts | None]  # the messages, and the facts to check the reply by


@attrs.define(eq=False)
class _Prepared:
    """A prompt being built ahead of its node's turn: the prompt, or why it could not be."""

    _ready: trio.Event = attrs.Factory(trio.Event)
    _prompt: Prompt | Exception | None = None

    def set(self, prompt: Prompt | Exception) -> None:
        self._prompt = prompt
        self._ready.set()

    async def get(self) -> Prompt:
        await self._ready.wait()
        assert self._prompt is not None
        if isinstance(self._prompt, Exception):
            raise self._prompt
        return self._prompt


class Outcome(enum.StrEnum):
    GENERATED = "generated"
    FAILED = "failed"
    NOT_ATTEMPTED = "not-attempted"


@attrs.frozen
class NodeError:
    """Why a node failed: ``kind`` is the LLM error's kind ("rate_limit", "auth", ...) or
    "other"; ``message`` is one line, free of secrets."""

    kind: str
    message: str

    @classmethod
    def from_exception(cls, exc: Exception) -> NodeError:
        kind = getattr(exc, "kind", None)
        if not isinstance(kind, str):
            return cls("other", f"{type(exc).__name__}: {exc}")
        return cls(kind, str(exc))


@attrs.define
class NodeResult:
    """What happened to one selected node; filled in as the run goes."""

    id: str
    type: NodeType
    phase: int
    outcome: Outcome = Outcome.NOT_ATTEMPTED
    attempts: int = 0
    usage: Usage = attrs.Factory(Usage)
    error: NodeError | None = None


@attrs.frozen
class ProgressUpdate:
    """Sent to the progress callback each time a node is finished with, whatever its outcome."""

    result: NodeResult
    done: int
    total: int
    failed: int


@attrs.define
class GenerationReport:
    """What a run did. It is filled in while the run goes, so it is also true after a cancel:
    nodes that finished say so, the others are "not-attempted"."""

    model: str
    base_url: str
    concurrency: int
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    results: dict[str, NodeResult] = attrs.Factory(dict)
    exceptions: list[Exception] = attrs.Factory(list)
    cancelled: bool = False
    halted_by: str | None = None  # the run-wide error that stopped admission, if any

    def of(self, outcome: Outcome) -> list[NodeResult]:
        return [r for r in self.results.values() if r.outcome is outcome]

    @property
    def generated(self) -> list[NodeResult]:
        return self.of(Outcome.GENERATED)

    @property
    def failed(self) -> list[NodeResult]:
        return self.of(Outcome.FAILED)

    @property
    def not_attempted(self) -> list[NodeResult]:
        return self.of(Outcome.NOT_ATTEMPTED)

    @property
    def usage(self) -> Usage:
        return sum((r.usage for r in self.results.values()), Usage())

    @property
    def seconds(self) -> float:
        end = self.finished_at or dt.datetime.now(dt.UTC)
        return (end - self.started_at).total_seconds()

    @property
    def errors(self) -> ExceptionGroup[Exception] | None:
        """Every node's error as one group (each carries a note naming its node), or None."""
        if not self.exceptions:
            return None
        return ExceptionGroup(
            f"{len(self.exceptions)} of {len(self.results)} nodes failed", self.exceptions
        )

    def raise_for_errors(self) -> None:
        """Raise `errors` if any node failed, so that callers can use ``except*``."""
        if (group := self.errors) is not None:
            raise group

    def write(self, path: Path) -> None:
        """Write `to_json` to ``path``."""
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def to_json(self) -> dict[str, Any]:
        """The ``--report`` document (see ARCHITECTURE.md)."""
        usage = self.usage
        return {
            "model": self.model,
            "base_url": self.base_url,
            "concurrency": self.concurrency,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "cancelled": self.cancelled,
            "halted_by": self.halted_by,
            "nodes": [
                {
                    "id": r.id,
                    "type": str(r.type),
                    "phase": r.phase,
                    "outcome": str(r.outcome),
                    "attempts": r.attempts,
                    "prompt_tokens": r.usage.prompt_tokens,
                    "completion_tokens": r.usage.completion_tokens,
                    "cost": r.usage.cost,
                    "error": None if r.error is None else attrs.asdict(r.error),
                }
                for r in self.results.values()
            ],
            "totals": {
                "selected": len(self.results),
                "generated": len(self.generated),
                "failed": len(self.failed),
                "not_attempted": len(self.not_attempted),
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cost": usage.cost,
                "seconds": round(self.seconds, 3),
            },
        }


@attrs.frozen
class Selection:
    """The nodes a run will write, split by phase; phase two is ordered deepest first."""

    phase_one: tuple[Node, ...]
    phase_two: tuple[Node, ...]
    # module id -> the ids of its sub-modules that are also in this selection
    submodules: dict[str, tuple[str, ...]]

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.phase_one + self.phase_two

    def __len__(self) -> int:
        return len(self.phase_one) + len(self.phase_two)


def select_nodes(store: Store, *, node_ids: Sequence[str] = (), force: bool = False) -> Selection:
    """Choose the nodes to write (blocking: reads the store).

    By default, the nodes whose prose is missing or stale. ``force``: every node. ``node_ids``:
    exactly those nodes, whether or not their prose is current (naming a node is asking for it);
    an unknown id raises `UsageError` with the closest ids.
    """
    nodes = store.nodes()
    if node_ids:
        by_id = {node.id: node for node in nodes}
        for node_id in node_ids:
            if node_id not in by_id:
                close = store.suggest_ids(node_id)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise UsageError(f"no node with id {node_id!r}{hint} (see `pith list`)")
        chosen = [by_id[node_id] for node_id in dict.fromkeys(node_ids)]
    elif force:
        chosen = nodes
    else:
        written_from = store.prose_source_hashes()
        chosen = [node for node in nodes if written_from.get(node.id) != node.source_hash]
    chosen.sort(key=lambda node: node.id)
    modules = [node for node in chosen if node.type is NodeType.MODULE]
    module_ids = {node.id for node in modules}
    submodules: dict[str, tuple[str, ...]] = {}
    if modules:
        for edge in store.edges(type=EdgeType.CONTAINS):
            if edge.source in module_ids and edge.target in module_ids:
                submodules[edge.source] = (*submodules.get(edge.source, ()), edge.target)
    return Selection(
        phase_one=tuple(node for node in chosen if node.type is not NodeType.MODULE),
        phase_two=tuple(sorted(modules, key=_depth_first)),
        submodules=submodules,
    )


def _depth_first(node: Node) -> tuple[int, str]:
    depth = -1 if node.id == "." else node.id.count("/")
    return (-depth, node.id)


@attrs.define
class Generation:
    """One run of the generator over a `Selection`.

    Create it, ``await generation.run(selection)``; ``generation.report`` is true at every moment,
    including after the run was cancelled. Pass a shared ``limiter`` to bound pith's calls
    together with other work of your application; otherwise one of ``concurrency`` is made.
    ``run_blocking`` runs the store's blocking calls, batched (default: in a worker thread, off
    the event loop); tests on Trio's mock clock pass an inline runner so that thread waits do not
    look idle.
    """

    store: Store
    client: LLMClient
    concurrency: int = 5
    on_progress: Callable[[ProgressUpdate], None] | None = None
    limiter: FifoCapacityLimiter = attrs.field(
        default=attrs.Factory(lambda self: FifoCapacityLimiter(self.concurrency), takes_self=True)
    )
    run_blocking: RunBlocking[Any] = trio.to_thread.run_sync
    report: GenerationReport = attrs.field(init=False)
    _prompts: PromptBuilder = attrs.field(init=False)
    _blocking: BlockingBatcher = attrs.field(init=False)
    _commits: trio.Nursery = attrs.field(init=False)
    _prepared: dict[str, _Prepared] = attrs.field(init=False, factory=dict)
    _ahead: trio.Semaphore = attrs.field(init=False)
    _done: int = attrs.field(init=False, default=0)
    _halt: Exception | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self._prompts = PromptBuilder(self.store)
        self._blocking = BlockingBatcher(self.run_blocking)
        self._ahead = trio.Semaphore(2 * self.limiter.total_tokens)
        self.report = GenerationReport(
            model=self.client.model,
            base_url=self.client.base_url,
            concurrency=self.limiter.total_tokens,
            started_at=dt.datetime.now(dt.UTC),
        )

    async def run(self, selection: Selection) -> GenerationReport:
        """Write every node of ``selection``; return the report (failures are in it, not raised).

        Cancellation stops in-flight calls and keeps every prose already committed.
        """
        self.report.started_at = dt.datetime.now(dt.UTC)
        for node in selection.phase_one:
            self.report.results[node.id] = NodeResult(node.id, node.type, PHASE_NODES)
        for node in selection.phase_two:
            self.report.results[node.id] = NodeResult(node.id, node.type, PHASE_MODULES)
        try:
            async with trio.open_nursery() as services:
                await services.start(self._blocking.serve)
                # Phase one's prompts are built ahead, in order, a batch per trip to the store's
                # thread, and commits run after the slot is given back: a slot is held while
                # the LLM works, not while the store does.
                self._prepared = {node.id: _Prepared() for node in selection.phase_one}
                services.start_soon(self._prepare_ahead, selection.phase_one)
                async with trio.open_nursery() as self._commits:
                    async with trio.open_nursery() as nursery:
                        for node in selection.phase_one:
                            self.limiter.start_soon(nursery, self._write, node, PHASE_NODES)
                    finished = {node.id: trio.Event() for node in selection.phase_two}
                    async with trio.open_nursery() as nursery:
                        for node in selection.phase_two:
                            children = selection.submodules.get(node.id, ())
                            waits_for = [finished[child] for child in children]
                            nursery.start_soon(
                                self._write_module, node, waits_for, finished[node.id]
                            )
                services.cancel_scope.cancel()
        except BaseException:
            self.report.cancelled = True
            raise
        finally:
            self.report.finished_at = dt.datetime.now(dt.UTC)
        return self.report

    async def _write_module(
        self, node: Node, waits_for: Iterable[trio.Event], finished: trio.Event
    ) -> None:
        # Waiting happens outside the limiter: a parent never holds a slot its children need.
        try:
            for child_finished in waits_for:
                await child_finished.wait()
            if self._halt is not None:
                self._count(self.report.results[node.id])
                return
            await self.limiter.run(self._write, node, PHASE_MODULES)
        finally:
            finished.set()

    async def _write(self, node: Node, phase: int) -> None:
        """Ask for one node's prose (holding a limiter slot), then hand it to be committed."""
        result = self.report.results[node.id]
        if self._halt is not None:
            self._count(result)
            return
        try:
            if node.id in self._prepared:
                messages, facts = await self._prepared[node.id].get()
                del self._prepared[node.id]  # the prompt is needed only this once
                self._ahead.release()
            else:
                messages, facts = await self._blocking.run(
                    functools.partial(self._prompts.messages, node)
                )
            parse = functools.partial(parse_prose, node=node, model=self.client.model, facts=facts)
            completion = await self.client.complete(messages, parse)
        except Exception as exc:
            self._fail(result, phase, exc)
            return
        result.attempts, result.usage = completion.attempts, completion.usage
        # Parents read this run's summaries from memory; the commit need not have happened yet.
        self._prompts.summaries[node.id] = completion.value.summary
        self._commits.start_soon(self._commit, node, phase, completion.value)

    async def _prepare_ahead(self, nodes: Sequence[Node]) -> None:
        """Build the prompts of ``nodes`` in order, at most ``_ahead`` of them waiting unused."""
        batch_size = self.limiter.total_tokens
        for start in range(0, len(nodes), batch_size):
            batch = nodes[start : start + batch_size]
            waiting = [self._prepared[node.id] for node in batch]
            for _ in batch:
                await self._ahead.acquire()
            built = await self._blocking.run(functools.partial(self._build_prompts, batch))
            for prepared, prompt in zip(waiting, built, strict=True):
                prepared.set(prompt)

    def _build_prompts(self, nodes: Sequence[Node]) -> list[Prompt | Exception]:
        prompts: list[Prompt | Exception] = []
        for node in nodes:
            try:
                prompts.append(self._prompts.messages(node))
            except Exception as exc:  # the node's own failure, reported by its own task
                prompts.append(exc)
        return prompts

    async def _commit(self, node: Node, phase: int, prose: Prose) -> None:
        result = self.report.results[node.id]
        try:
            # A reply that was paid for is saved even when the run is being cancelled.
            with trio.CancelScope(shield=True):
                await self._blocking.run(functools.partial(self.store.save_prose, node.id, prose))
        except Exception as exc:
            self._fail(result, phase, exc)
            return
        result.outcome = Outcome.GENERATED
        self._count(result)

    def _fail(self, result: NodeResult, phase: int, exc: Exception) -> None:
        exc.add_note(f"while writing {result.type} node {result.id!r} (phase {phase})")
        result.outcome = Outcome.FAILED
        result.error = NodeError.from_exception(exc)
        result.attempts = getattr(exc, "attempts", result.attempts)
        result.usage = getattr(exc, "usage", result.usage)
        self.report.exceptions.append(exc)
        if getattr(exc, "run_wide", False) and self._halt is None:
            # Every further call would fail the same way: admit no more.
            self._halt = exc
            self.report.halted_by = result.error.message
        self._count(result)

    def _count(self, result: NodeResult) -> None:
        self._done += 1
        if self.on_progress is not None:
            self.on_progress(
                ProgressUpdate(
                    result=result,
                    done=self._done,
                    total=len(self.report.results),
                    failed=len(self.report.exceptions),
                )
            )


@attrs.define
class PromptBuilder:
    """Builds the prompt of any node from the store (blocking: call it off the event loop).

    A module's child summaries come from ``summaries`` (this run's, newest) first, then from the
    store.
    """

    store: Store
    summaries: dict[str, str] = attrs.Factory(dict)
    _node_types: dict[str, NodeType] | None = None
    # The last few files' facts: a file's functions are selected right after the file (ids
    # sort together), so each file's facts are read and decoded once, not once per function.
    _recent_facts: dict[str, FileFacts] = attrs.Factory(dict)

    def messages(self, node: Node) -> Prompt:
        """The prompt for ``node`` and the facts its reply is checked against."""
        if node.type is NodeType.FILE:
            facts = self._file_facts(node.path)
            return file_prompt(node, facts, self.store.readme(_directory_of(node.path))), facts
        if node.type is NodeType.FUNCTION:
            file_id, _, qualname = node.id.rpartition(":")
            facts = self._file_facts(file_id)
            definition = _find_definition(facts, qualname)
            if definition is None:
                raise LookupError(f"{qualname} is no longer defined in {file_id}; run `pith build`")
            used_by = [e.target for e in self.store.edges(file_id, EdgeType.IMPORTED_BY)]
            return function_prompt(node, facts, definition, used_by), facts
        readme = self.store.readme("" if node.path == "." else node.path)
        return module_prompt(node, self._children(node), readme, self._public_api(node)), None

    def _file_facts(self, path: str) -> FileFacts:
        facts = self._recent_facts.get(path)
        if facts is None:
            facts = self.store.file_facts(path)
            if facts is None:
                raise LookupError(f"no extracted facts for {path}; run `pith extract` again")
            if len(self._recent_facts) >= _RECENT_FACTS:
                del self._recent_facts[next(iter(self._recent_facts))]
            self._recent_facts[path] = facts
        return facts

    def _children(self, node: Node) -> list[ChildSummary]:
        if self._node_types is None:
            self._node_types = {n.id: n.type for n in self.store.nodes()}
        children = []
        for edge in self.store.edges(node.id, EdgeType.CONTAINS):
            summary = self.summaries.get(edge.target)
            if summary is None and (prose := self.store.prose(edge.target)) is not None:
                summary = prose.summary
            child_type = self._node_types.get(edge.target, NodeType.FILE)
            children.append(ChildSummary(edge.target, child_type, summary))
        return children

    def _public_api(self, node: Node) -> list[str]:
        init = "__init__.py" if node.path == "." else f"{node.path}/__init__.py"
        facts = self.store.file_facts(init)
        return [] if facts is None else list(facts.exports)


def _directory_of(path: str) -> str:
    return path.rpartition("/")[0]


def _find_definition(facts: FileFacts, qualname: str) -> FunctionFacts | ClassFacts | None:
    definitions: list[FunctionFacts | ClassFacts] = [*facts.functions, *facts.classes]
    return next((d for d in definitions if d.qualname == qualname), None)


async def generate(
    store: Store,
    client: LLMClient,
    *,
    concurrency: int = 5,
    node_ids: Sequence[str] = (),
    force: bool = False,
    on_progress: Callable[[ProgressUpdate], None] | None = None,
    limiter: FifoCapacityLimiter | None = None,
    run_blocking: RunBlocking[Any] = trio.to_thread.run_sync,
) -> GenerationReport:
    """Write prose for the nodes whose prose is missing or stale (``force``: all; ``node_ids``:
    those) and return the report. Node failures do not raise: see `GenerationReport.errors` and
    `GenerationReport.raise_for_errors`. Never prints; never calls `trio.run`.
    """
    selection = await run_blocking(
        functools.partial(select_nodes, store, node_ids=node_ids, force=force)
    )
    generation = Generation(
        store,
        client,
        concurrency=concurrency,
        on_progress=on_progress,
        limiter=FifoCapacityLimiter(concurrency) if limiter is None else limiter,
        run_blocking=run_blocking,
    )
    return await generation.run(selection)


class GenerationInterrupted(PithError):
    """Ctrl-C stopped a `run_generation`; every prose finished before it is saved, and
    ``report`` says which."""

    def __init__(self, report: GenerationReport) -> None:
        super().__init__("interrupted: finished prose is saved; run `pith generate` to continue")
        self.report = report


def run_generation(
    store: Store,
    settings: Settings,
    selection: Selection,
    *,
    on_progress: Callable[[ProgressUpdate], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> GenerationReport:
    """Write ``selection`` from synchronous code (the command line): starts Trio, talks to the
    endpoint of ``settings``. Ctrl-C raises `GenerationInterrupted` carrying the report.
    Trio applications call `generate` or `Generation` instead.
    """
    client = LLMClient.from_settings(settings, transport=transport)
    generation = Generation(
        store, client, concurrency=settings.concurrency, on_progress=on_progress
    )

    async def main() -> GenerationReport:
        async with client:
            return await generation.run(selection)

    try:
        return trio.run(main)
    except (KeyboardInterrupt, BaseExceptionGroup) as exc:
        # Trio delivers Ctrl-C into whichever task is running, so it may come back wrapped in
        # the nurseries' exception groups.
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(KeyboardInterrupt) is None:
            raise
        raise GenerationInterrupted(generation.report) from None
