"""How `pith generate` talks to a person: progress while it runs, a summary and advice after.

Everything here only formats; the numbers come from the generator's report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

import rich.console
import rich.progress

from .._config import Settings
from .._generate._estimate import COMPLETION_TOKENS_PER_NODE, Estimate
from .._generate._report import GenerationReport, Outcome, ProgressUpdate
from .._generate._selection import Selection
from .._roles import LEFT_OUT, LEFT_OUT_PLURAL
from .._words import plural

__all__ = [
    "SUGGESTIONS",
    "GenerateProgress",
    "estimate_lines",
    "failure_lines",
    "left_out_lines",
    "summary_line",
]

# Seconds between two `Progress:` lines when stderr is not a terminal (a CI log, a file): a
# run of a thousand nodes is a few dozen lines, not hundreds.
PLAIN_SECONDS = 5.0

# The kinds of failure a person sees, each with the one thing to do about it.
KIND_TITLES = {
    "rate_limit": "rate limited",
    "server": "server errors",
    "timeout": "timeouts",
    "network": "network errors",
    "unreachable": "endpoint unreachable",
    "retry_later": "asked to wait too long",
    "auth": "authentication",
    "quota": "out of credits",
    "model_not_found": "unknown model",
    "bad_request": "rejected requests",
    "invalid_reply": "invalid replies",
    "other": "other errors",
}
SUGGESTIONS = {
    "rate_limit": "the provider refused these for the whole patience (10 min): wait, then rerun",
    "retry_later": "the provider asked for a long pause: rerun after it; finished nodes are kept",
    "unreachable": "check --base-url / PITH_BASE_URL (scheme, host, port) and that the server "
    "is running",
    "server": "the provider is failing; rerun later: only unfinished nodes are sent again",
    "timeout": "raise --timeout or lower -c/--concurrency, then rerun",
    "network": "check --base-url / PITH_BASE_URL and your connection, then rerun",
    "auth": "check PITH_API_KEY (or OPENROUTER_API_KEY): the endpoint refused the key",
    "quota": "add credits with your provider, then rerun",
    # With the endpoint and the model of the run: see `failure_lines`.
    "model_not_found": "check -m/--model (or PITH_MODEL) and --base-url (or PITH_BASE_URL): "
    "{base_url} answered 404 for the model {model!r}",
    "bad_request": "the endpoint refused the request; try another model with -m",
    "invalid_reply": "the model did not answer with the JSON asked for; try a stronger model",
    "other": "rerun with -v; if it persists, report it with the file from --report",
}
_SHOWN_IDS = 5


class GenerateProgress:
    """Progress of one run on stderr: a rich bar on a terminal (done/total, failures, rate,
    ETA), else a ``Progress: n/N nodes`` line every `PLAIN_SECONDS` (by ``clock``) and one at
    the end; ``verbosity`` 1 adds a line per node, -1 shows nothing."""

    def retry(self, line: str) -> None:
        """A retry the client scheduled (shown with -v)."""
        self.console.print(f"  {line}", markup=False, highlight=False)

    def __init__(
        self,
        total: int,
        *,
        verbosity: int,
        console: rich.console.Console,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.verbosity = verbosity
        self.console = console
        self._bar: rich.progress.Progress | None = None
        self._task: rich.progress.TaskID | None = None
        self._clock = clock
        self._last_plain = clock()

    def __enter__(self) -> GenerateProgress:
        if self.verbosity >= 0 and self.console.is_terminal:
            self._bar = rich.progress.Progress(
                rich.progress.TextColumn("[bold]generate"),
                rich.progress.BarColumn(),
                rich.progress.MofNCompleteColumn(),
                rich.progress.TextColumn("{task.fields[failed]} failed"),
                rich.progress.TextColumn("c={task.fields[concurrency]}"),
                rich.progress.TextColumn("{task.fields[rate]}"),
                rich.progress.TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                "generate", total=self.total, failed=0, rate="", concurrency=""
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, update: ProgressUpdate) -> None:
        if self.verbosity > 0:
            result = update.result
            detail = f": {result.error.message}" if result.error else ""
            self.console.print(
                f"{update.done}/{update.total} {result.id} {result.outcome}{detail}",
                markup=False,
                highlight=False,
            )
        if self._bar is not None and self._task is not None:
            speed = self._bar.tasks[0].speed
            rate = f"{speed * 60:.0f} nodes/min" if speed else ""
            self._bar.update(
                self._task,
                completed=update.done,
                failed=update.failed,
                rate=rate,
                concurrency=update.concurrency,
            )
        elif self.verbosity == 0 and (
            self._clock() - self._last_plain >= PLAIN_SECONDS or update.done == update.total
        ):
            self._last_plain = self._clock()
            self.console.print(
                f"Progress: {update.done}/{plural(update.total, 'node')}, {update.failed} failed, "
                f"concurrency {update.concurrency}",
                markup=False,
                highlight=False,
            )


def summary_line(report: GenerationReport) -> str:
    usage = report.usage
    cost = "" if usage.cost is None else f", ${usage.cost:.4f}"
    state = "Interrupted" if report.cancelled else "Done"
    elsewhere = len(report.of(Outcome.WRITTEN_ELSEWHERE))
    by_other = f"{elsewhere} written by another run, " if elsewhere else ""
    unchanged = len(report.of(Outcome.UNCHANGED))
    kept = f"{unchanged} unchanged (no child changed), " if unchanged else ""
    return (
        f"{state}: {len(report.generated)} generated, {by_other}{kept}{len(report.failed)} failed, "
        f"{len(report.not_attempted)} not attempted in {report.seconds:.1f} s; "
        f"{usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion tokens{cost}"
    )


def failure_lines(report: GenerationReport) -> list[str]:
    """The failures grouped by kind: how many, which nodes, one example, what to do."""
    by_kind: dict[str, list[str]] = {}
    examples: dict[str, str] = {}
    for result in report.failed:
        kind = result.error.kind if result.error else "other"
        kind = kind if kind in SUGGESTIONS else "other"
        by_kind.setdefault(kind, []).append(result.id)
        if result.error:
            examples.setdefault(kind, result.error.message)
    lines = []
    for kind, ids in by_kind.items():
        shown = ", ".join(ids[:_SHOWN_IDS])
        more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
        lines.append(f"{KIND_TITLES[kind]} ({len(ids)}): {shown}{more}")
        if kind in examples:
            lines.append(f"  error: {examples[kind]}")
        lines.append(
            f"  fix: {SUGGESTIONS[kind].format(base_url=report.base_url, model=report.model)}"
        )
    if report.halted_by is not None:
        lines.append(
            f"stopped admitting nodes after a run-wide error; {len(report.not_attempted)} "
            "not attempted"
        )
    return lines


def left_out_lines(selection: Selection) -> list[str]:
    """What a run leaves out by default (tests, examples), and how to include it."""
    if not selection.left_out:
        return []
    shown = [f"{directory} {count:,}" for directory, count in selection.left_out[:5]]
    more = sum(count for _, count in selection.left_out[5:])
    if more:
        shown.append(f"{more:,} elsewhere")
    total = sum(count for _, count in selection.left_out)
    example = selection.left_out[0][0]
    glob = f"{example}*" if example.endswith("/") else example
    return [
        f"left out: {plural(total, LEFT_OUT, LEFT_OUT_PLURAL)} "
        f"({', '.join(shown)}); they get prose only when asked: --path '{glob}', or "
        f"[tool.pith] generate = ['{glob}']"
    ]


def estimate_lines(
    estimate: Estimate, settings: Settings, selection: Selection, *, list_nodes: bool
) -> list[str]:
    if estimate.cost is None:
        cost = "unknown (no list price for this model)"
    else:
        cost = f"${estimate.cost:.4f} (list price, {COMPLETION_TOKENS_PER_NODE} tokens per reply)"
    maybe = len(selection.if_children_change)
    only_if = f", {maybe} of them only if something below is written" if maybe else ""
    lines = [
        f"nodes to generate: {estimate.nodes:,} ("
        f"{plural(len(selection.phase_one), 'file or function', 'files and functions')}, "
        f"{plural(len(selection.phase_two), 'module')}{only_if})",
        f"estimated prompt tokens: {estimate.prompt_tokens:,}",
        f"estimated completion tokens: {estimate.completion_tokens:,}",
        f"estimated cost: {cost}",
        f"model: {estimate.model}",
        f"concurrency: {settings.concurrency}",
    ]
    if len(estimate.by_directory) > 1:
        lines.append("by directory:")
        width = max(len(d.directory) for d in estimate.by_directory)
        for share in estimate.by_directory:
            price = "" if share.cost is None else f", ${share.cost:.4f}"
            lines.append(
                f"  {share.directory:<{width}}  {plural(share.nodes, 'node')}, "
                f"{share.prompt_tokens:,} prompt tokens{price}"
            )
    lines += left_out_lines(selection)
    if list_nodes:
        nodes = [node.id for node in selection.nodes]
        lines.append(f"nodes ({len(nodes)}):")
        lines.extend(f"  {node_id}" for node_id in nodes[:10])
        if len(nodes) > 10:
            lines.append(f"  ... and {len(nodes) - 10} more")
    return lines
