"""The generator run from synchronous code (the command line): starts Trio, owns the client."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import trio
from stamina.instrumentation import RetryDetails, RetryHook, set_on_retry_hooks

from .._config import Settings
from .._errors import PithError
from .._llm._client import LLMClient
from .._store import Store
from ._engine import Generation
from ._report import GenerationReport, ProgressUpdate
from ._selection import Selection

__all__ = ["GenerationInterrupted", "run_generation"]


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
    on_retry: Callable[[str], None] | None = None,
    adaptive: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> GenerationReport:
    """Write ``selection`` from synchronous code (the command line): starts Trio, talks to the
    endpoint of ``settings``. Ctrl-C raises `GenerationInterrupted` carrying the report.
    Trio applications call `generate` or `Generation` instead.

    The process is the command line's, so this sets stamina's process-wide retry hooks (the
    library never does): a scheduled retry reaches the user only as a line to ``on_retry``,
    never through stamina's default logging (which, with structlog installed, prints to stdout).
    """
    set_on_retry_hooks([] if on_retry is None else [_retry_hook(on_retry)])
    client = LLMClient.from_settings(settings, transport=transport)
    generation = Generation(
        store=store,
        client=client,
        concurrency=settings.concurrency,
        on_progress=on_progress,
        adaptive=adaptive,
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


def _retry_hook(on_retry: Callable[[str], None]) -> RetryHook:
    def hook(details: RetryDetails) -> None:
        on_retry(
            f"retry {details.retry_num} in {details.wait_for:.1f} s after: {details.caused_by}"
        )

    return hook
