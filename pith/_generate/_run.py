"""The generator run from synchronous code (the command line): starts Trio, owns the client."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Callable

import httpx
import trio
from stamina.instrumentation import RetryDetails, RetryHook, set_on_retry_hooks

from .._config import Settings
from .._errors import PithError
from .._llm._client import LLMClient
from .._store import Store
from ._engine import Generation, only_cancels
from ._report import GenerationReport, ProgressUpdate
from ._selection import Selection

__all__ = ["GenerationInterrupted", "run_generation"]


class GenerationInterrupted(PithError):
    """Ctrl-C (or SIGTERM: ``terminated``) stopped a `run_generation`; every prose finished
    before it is saved, and ``report`` says which."""

    def __init__(self, report: GenerationReport, *, terminated: bool = False) -> None:
        what = "interrupted by SIGTERM" if terminated else "interrupted"
        super().__init__(f"{what}: finished prose is saved; run `pith generate` to continue")
        self.report = report
        self.terminated = terminated


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
    endpoint of ``settings``. Ctrl-C raises `GenerationInterrupted` carrying the report, and so
    does SIGTERM (``terminated``), which arrives through Trio's signal receiver: it stops the
    run even where SIGINT is ignored (a run started in the background by a script or an agent's
    shell). Trio applications call `generate` or `Generation` instead.

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

    terminated = False

    async def main() -> GenerationReport:
        nonlocal terminated
        async with client, _sigterms() as sigterms, trio.open_nursery() as nursery:
            with trio.CancelScope() as run_scope:

                async def stop_on_sigterm() -> None:
                    nonlocal terminated
                    async for _ in sigterms:
                        terminated = True
                        run_scope.cancel()  # as Ctrl-C: calls stop, finished prose is kept
                        return

                nursery.start_soon(stop_on_sigterm)
                await generation.run(selection)
            nursery.cancel_scope.cancel()
        if terminated:
            raise GenerationInterrupted(generation.report, terminated=True)
        return generation.report

    try:
        return trio.run(main)
    except (KeyboardInterrupt, BaseExceptionGroup) as exc:
        # Trio delivers Ctrl-C into whichever task is running, so it may come back wrapped in
        # the nurseries' exception groups.
        # A bug that arrived together with Ctrl-C is the bug's: it is not called an interrupt.
        if isinstance(exc, BaseExceptionGroup) and not only_cancels(exc):
            raise
        raise GenerationInterrupted(generation.report) from None


@contextlib.asynccontextmanager
async def _sigterms() -> AsyncIterator[AsyncIterator[int]]:
    """SIGTERMs as they arrive (none off the main thread, where signals cannot be caught)."""
    if threading.current_thread() is not threading.main_thread():
        yield _NoSignals()
        return
    with trio.open_signal_receiver(signal.SIGTERM) as received:
        yield received


class _NoSignals:
    """An iterator of signals that never come."""

    def __aiter__(self) -> _NoSignals:
        return self

    async def __anext__(self) -> int:
        await trio.sleep_forever()
        raise StopAsyncIteration  # pragma: no cover


def _retry_hook(on_retry: Callable[[str], None]) -> RetryHook:
    def hook(details: RetryDetails) -> None:
        on_retry(
            f"retry {details.retry_num} in {details.wait_for:.1f} s after: {details.caused_by}"
        )

    return hook
