"""Hostile replies cost memory bounded by pith's caps, never by their content (issue 23, point 4).

How much memory a whole run takes is measured in benchmarks/bench_hostile_replies.py; here, what
each kind of reply leaves behind.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trio
from fakellm import FakeLLM
from mockclock import run
from sample_project import built_store

from pith._generate._prose import parse_prose
from pith._llm import InvalidReplyError, LLMClient
from pith._llm._redact import SHORT_CHARS
from pith._models import Node, NodeType
from pith._store import Store

NODE = Node(id="m.py", type=NodeType.FILE, name="m.py", path="m.py", source_hash="h")
MESSAGES = [{"role": "user", "content": "Node id: m.py"}]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with built_store(tmp_path) as store:
        yield store


def test_a_huge_summary_is_capped_when_parsed() -> None:
    text = json.dumps({"summary": "word " * 1_000_000, "purpose": "P.", "patterns": ["x" * 10**6]})
    prose = parse_prose(text, node=NODE, model="m")
    assert len(prose.summary) <= SHORT_CHARS
    assert all(len(item) <= 1_000 for item in prose.patterns)


@pytest.mark.parametrize(
    "content",
    [
        "[" * 1_000_000,  # not even JSON: the decoder recurses until it gives up
        '{"summary": ' + "[" * 100_000 + "]" * 100_000 + ', "purpose": "p"}',
    ],
    ids=["brackets", "nested-value"],
)
async def test_deeply_nested_content_is_an_invalid_reply_without_frames(
    autojump_clock: trio.testing.MockClock, store: Store, content: str
) -> None:
    fake = FakeLLM()
    fake.script("*", invalid_times=99, invalid_content=content)
    report = await run(store, fake, node_ids=["app.py"])
    (result,) = report.failed
    assert result.error is not None
    assert result.error.kind == "invalid_reply"
    assert len(result.error.message) < 1_000
    (error,) = report.exceptions
    assert error.__traceback__ is None
    assert error.__context__ is None


def replying(body: bytes, headers: dict[str, str]) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        async def raw() -> AsyncIterator[bytes]:
            yield body  # one chunk, as a fast network delivers a small compressed body

        return httpx.Response(200, headers=headers, content=raw())

    return httpx.MockTransport(handler)


async def test_a_deeply_nested_body_is_an_invalid_reply() -> None:
    transport = replying(b"[" * 1_000_000, {"content-type": "application/json"})
    async with LLMClient(
        base_url="http://llm.example/v1", model="m", transport=transport, reasks=0
    ) as client:
        with pytest.raises(InvalidReplyError, match=r"not JSON|RecursionError"):
            await client.complete(MESSAGES, str)


# httpx streams a body through nested async generators; a body refused before its end leaves the
# inner ones to the collector, which (freed mid-run here, by reference count) Trio warns about.
UNFINISHED_STREAM = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@UNFINISHED_STREAM
async def test_a_gzip_bomb_is_cut_at_the_cap_inside_its_chunk() -> None:
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # 200 MB in ~200 kB
    assert len(bomb) < 1_000_000
    transport = replying(bomb, {"content-type": "application/json", "content-encoding": "gzip"})
    async with LLMClient(
        base_url="http://llm.example/v1", model="m", transport=transport, reasks=0
    ) as client:
        tracemalloc.start()
        try:
            with pytest.raises(InvalidReplyError, match="over 8 MB"):
                await client.complete(MESSAGES, str)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 40_000_000, peak


async def test_gzip_and_deflate_replies_are_read() -> None:
    reply = {"choices": [{"message": {"content": "hello"}}]}
    body = json.dumps(reply).encode()
    for encoding, data in [("gzip", gzip.compress(body)), ("identity", body)]:
        transport = replying(data, {"content-encoding": encoding})
        async with LLMClient(base_url="http://llm.example/v1", model="m", transport=transport) as c:
            assert (await c.complete(MESSAGES, str)).value == "hello"


@UNFINISHED_STREAM
async def test_an_encoding_pith_never_asked_for_is_refused() -> None:
    transport = replying(b"\x00\x01", {"content-encoding": "br"})
    async with LLMClient(
        base_url="http://llm.example/v1", model="m", transport=transport, reasks=0
    ) as client:
        with pytest.raises(InvalidReplyError, match="Content-Encoding 'br'"):
            await client.complete(MESSAGES, str)
