"""Running the generator on Trio's mock clock: the store's calls inline, a client on the fake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import trio
from fakellm import FakeLLM

from pith._generate._engine import _generate
from pith._generate._report import GenerationReport
from pith._llm import LLMClient
from pith._store import Store

T = TypeVar("T")


async def inline(fn: Callable[[], T]) -> T:
    """Run the store's calls on the event loop: under the mock clock, a wait for a worker
    thread would look like idleness and make the clock jump."""
    return fn()


def client_for(fake: FakeLLM, **options: object) -> LLMClient:
    defaults: dict[str, object] = {
        "backoff_initial": 1.0,
        "backoff_jitter": 0.0,
        "attempts": 3,
        "api_key": "sk-test-secret",
        "transport": fake.transport(),
    }
    return LLMClient(
        base_url="https://llm.example/v1",
        model="test-model",
        **(defaults | options),  # type: ignore[arg-type]
    )


async def generate_inline(store: Store, client: LLMClient, **options: Any) -> GenerationReport:
    """`generate` with the store's calls inline (see `inline`)."""
    defaults: dict[str, Any] = {
        "concurrency": None,
        "limiter": None,
        "node_ids": (),
        "force": False,
        "on_progress": None,
    }
    return await _generate(store, client, run_blocking=inline, **(defaults | options))


async def run(store: Store, fake: FakeLLM, **options: object) -> GenerationReport:
    """`generate` on ``fake``, inline; a hang shows as a failure (`trio.TooSlowError` after an
    hour of mock time), not as a stuck test."""
    with trio.fail_after(3600):
        async with client_for(fake) as client:
            return await generate_inline(store, client, **options)
