"""What a generator run did, node by node: the report, its JSON, and the progress updates."""

from __future__ import annotations

import datetime as dt
import enum
import json
from pathlib import Path
from typing import Any

import attrs

from .._llm._errors import LLMError, Usage
from .._models import NodeType
from ._adaptive import AdaptiveConcurrency

__all__ = [
    "PHASE_MODULES",
    "PHASE_NODES",
    "GenerationReport",
    "NodeError",
    "NodeResult",
    "Outcome",
    "ProgressUpdate",
]

PHASE_NODES = 1  # files and functions
PHASE_MODULES = 2  # modules, bottom-up


class Outcome(enum.StrEnum):
    GENERATED = "generated"
    FAILED = "failed"
    NOT_ATTEMPTED = "not-attempted"
    # Another run (another process on the same store) wrote it while this one waited.
    WRITTEN_ELSEWHERE = "written-by-another-run"
    # A current package chosen in case its children changed; none did, so it was not sent.
    UNCHANGED = "unchanged"


@attrs.frozen
class NodeError:
    """Why a node failed: ``kind`` is the LLM error's kind ("rate_limit", "auth", ...) or
    "other"; ``message`` is one line, free of secrets."""

    kind: str
    message: str

    @classmethod
    def from_exception(cls, exc: Exception) -> NodeError:
        if isinstance(exc, LLMError):
            return cls(exc.kind, str(exc))
        return cls("other", f"{type(exc).__name__}: {exc}")


# Shared by every node not yet answered (a `Usage` is frozen): a run of 100,000 nodes makes one.
_NO_USAGE = Usage()


@attrs.define
class NodeResult:
    """What happened to one selected node; filled in as the run goes."""

    id: str
    type: NodeType
    phase: int
    outcome: Outcome = Outcome.NOT_ATTEMPTED
    attempts: int = 0
    usage: Usage = _NO_USAGE
    error: NodeError | None = None


@attrs.frozen
class ProgressUpdate:
    """Sent to the progress callback each time a node is finished with, whatever its outcome."""

    result: NodeResult
    done: int
    total: int
    failed: int
    concurrency: int  # the limit now (it adapts to the provider's rate limits)


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
    admission: AdaptiveConcurrency | None = None  # pauses and limit changes of the run

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
        """Write `to_json` to ``path``: indented, one line per node (a report of 100,000 nodes
        is written by the C encoder in a fraction of the time an indented one takes)."""
        document = self.to_json()
        nodes, totals = document.pop("nodes"), document.pop("totals")
        lines = ",\n".join(f"    {json.dumps(node)}" for node in nodes)
        text = (
            f"{json.dumps(document, indent=2)[:-2]},\n"
            + (f'  "nodes": [\n{lines}\n  ],\n' if nodes else '  "nodes": [],\n')
            + f'  "totals": {json.dumps(totals, indent=2).replace(chr(10), chr(10) + "  ")}\n}}\n'
        )
        path.write_text(text, encoding="utf-8")

    def to_json(self) -> dict[str, Any]:
        """The ``--report`` document (its shape: docs/usage.md, "The report")."""
        usage = self.usage
        return {
            "model": self.model,
            "base_url": self.base_url,
            "concurrency": self.concurrency,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "cancelled": self.cancelled,
            "halted_by": self.halted_by,
            "concurrency_trace": None if self.admission is None else self.admission.to_json(),
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
                "written_by_another_run": len(self.of(Outcome.WRITTEN_ELSEWHERE)),
                "unchanged": len(self.of(Outcome.UNCHANGED)),
                # HTTP requests beyond the first per node: retries and re-asks
                "retries": sum(max(r.attempts - 1, 0) for r in self.results.values()),
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cost": usage.cost,
                "seconds": round(self.seconds, 3),
            },
        }
