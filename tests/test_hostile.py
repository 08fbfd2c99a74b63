"""Hostile replies: the key is never stored, prose is bounded, memory does not grow with the
failures (issue 14). On Trio's mock clock with the fake endpoint in memory."""

from __future__ import annotations

import gc
import json
import sqlite3
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from fakellm import FakeLLM, node_id_of
from mockclock import client_for, generate_inline, run
from sample_project import built_store

from pith._errors import StoreWriteError
from pith._llm._http import MAX_REPLY_BYTES
from pith._llm._redact import ITEM_CHARS, MAX_GOTCHAS, MAX_ITEMS, SHORT_CHARS, TRUNCATED
from pith._store import Store

KEY = "sk-or-v1-0123456789abcdef0123456789abcdefXYZ"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with built_store(tmp_path) as store:
        yield store


async def test_the_key_is_never_stored_whole_split_or_in_part(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    quoted = [
        f"Authorization: Bearer {KEY}",
        KEY[:20] + "\n" + KEY[20:],
        " ".join(KEY),
        KEY[5:25],
    ]
    fake = FakeLLM()
    fake.script(
        "*",
        prose={
            "summary": f"It sends {quoted[0]}.",
            "purpose": f"{quoted[1]} and {quoted[2]}",
            "gotchas": [{"warning": f"the key piece {quoted[3]}", "evidence": KEY}],
        },
    )
    async with client_for(fake, api_key=KEY) as client:
        report = await generate_inline(store, client)
    assert len(report.generated) == len(store.nodes())
    store.close()
    stored = b"".join(p.read_bytes() for p in store.db_path.parent.iterdir())
    for piece in (KEY, KEY[:20], KEY[20:], KEY[5:25], " ".join(KEY)):
        assert piece.encode() not in stored, piece
    assert b"[redacted]" in stored


async def test_prose_is_bounded_whatever_the_model_sends(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM()
    fake.script(
        "*",
        prose={
            "summary": "s" * 5_000_000,
            "purpose": "p",
            "gotchas": [{"warning": "w" * 10_000}] * 100,
            "key_exports": ["e" * 10_000] * 100,
        },
    )
    await run(store, fake)
    prose = store.prose("app.py")
    assert prose is not None
    assert len(prose.summary) == SHORT_CHARS
    assert prose.summary.endswith(TRUNCATED)
    assert (len(prose.gotchas), len(prose.key_exports)) == (MAX_GOTCHAS, MAX_ITEMS)
    assert max(len(g.warning) for g in prose.gotchas) == ITEM_CHARS


HTML = b"<html>" + b"x" * 2_000_000 + b"</html>"


async def traced_memory(store: Store, failing: int, *, how: str) -> tuple[int, int, int]:
    """(memory still held after the run, peak during it, failed nodes) of a run where
    ``failing`` nodes get 2 MB on every try: of prose that is not JSON (``how="content"``),
    or a body that is not JSON at all (``how="body"``).

    The garbage collector is off while the run goes: a failure whose memory only it could free
    (a reference cycle) then shows in the peak, as it would on a busy run before it ran.
    """
    fake = FakeLLM()
    content = "x" * 2_000_000  # one string, made before tracing starts
    phase_one = sorted(node.id for node in store.nodes() if node.type != "module")
    failing_ids = set(phase_one[:failing])  # the first two run at the same time
    for node_id in failing_ids:
        fake.script(node_id, invalid_times=99, invalid_content=content)

    async def answer(request: httpx.Request) -> httpx.Response:
        if how == "body" and node_id_of(json.loads(request.content)["messages"]) in failing_ids:
            return httpx.Response(200, content=HTML, headers={"content-type": "text/html"})
        return await fake.handler(request)

    client = client_for(fake, transport=httpx.MockTransport(answer))
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        async with client:
            report = await generate_inline(store, client, concurrency=2, force=True)
        fake.calls.clear()  # the requests it recorded are the test's, not the run's
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    return held, peak, len(report.failed)


@pytest.mark.parametrize("how", ["content", "body"])
async def test_memory_does_not_grow_with_failures(
    autojump_clock: trio.testing.MockClock, store: Store, how: str
) -> None:
    few_held, few_peak, few = await traced_memory(store, 2, how=how)
    many_held, many_peak, many = await traced_memory(store, 10, how=how)
    assert (few, many) == (2, 10)
    # Nothing of a failed node's replies is kept: what a run holds does not grow with them...
    assert many_held < few_held + 500_000, (few_held, many_held)
    # ...and its peak is what two calls in flight need, for 5x the failures.
    assert many_peak < few_peak + 1_000_000, (few_peak, many_peak)


# A stream left partway: httpx's nested generators under the one pith closes are finalized by
# Trio, which says so with a ResourceWarning (ignored outside tests, as Python does by default).
@pytest.mark.filterwarnings("ignore:Async generator .* was garbage collected:ResourceWarning")
async def test_a_reply_too_large_is_not_read_to_the_end(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM()
    fake.script("app.py", invalid_times=99, invalid_content="y" * (MAX_REPLY_BYTES + 10))
    report = await run(store, fake, node_ids=["app.py"])
    gc.collect()  # the generators are finalized now, under this test's warning filter
    (failed,) = report.failed
    assert failed.error is not None
    assert "over 8 MB" in failed.error.message


async def test_a_store_that_cannot_be_written_costs_no_call(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    read_only = Store.open(store.db_path, read_only=True)
    fake = FakeLLM()
    try:
        with pytest.raises(StoreWriteError, match="nothing was sent"):
            await run(read_only, fake)
    finally:
        read_only.close()
    assert fake.calls == []


async def test_the_first_failed_commit_stops_the_run(
    autojump_clock: trio.testing.MockClock, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved: list[str] = []
    original = Store.save_prose_many

    def disk_fills_up(self: Store, items: Any) -> list[Exception | None]:
        if len(saved) >= 2:
            raise sqlite3.OperationalError("database or disk is full")
        saved.extend(node_id for node_id, _ in items)
        return original(self, items)

    monkeypatch.setattr(Store, "save_prose_many", disk_fills_up)
    fake = FakeLLM(latency=1.0)
    report = await run(store, fake, concurrency=2)
    assert report.halted_by is not None
    assert "cannot save prose" in report.halted_by
    # Two saved; then the two whose commits failed, and the (at most two) calls that had
    # started when the first failure came back; no more.
    assert len(fake.calls) <= 2 + 2 + 2
    assert len(report.not_attempted) >= len(store.nodes()) - 6


async def test_a_retry_after_beyond_the_cap_stops_the_run_and_says_so(
    autojump_clock: trio.testing.MockClock, store: Store
) -> None:
    fake = FakeLLM()
    fake.script("*", fail_status=429, fail_times=99, fail_headers={"Retry-After": "3600"})
    started = trio.current_time()
    report = await run(store, fake, concurrency=2)
    assert trio.current_time() - started < 60
    assert report.halted_by is not None
    assert "asks to wait 3600 s" in report.halted_by
    assert len(fake.calls) <= 2
