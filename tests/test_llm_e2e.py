"""End to end over real sockets: the client against a fake OpenAI-compatible server on 127.0.0.1.

Real clock, small latencies; no timing is asserted, only what happened.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from fakellm import FakeLLM

from pith import AuthError, LLMConnectionError, LLMTimeoutError, Settings
from pith._generate._prompts import file_prompt
from pith._generate._prose import parse_prose
from pith._llm import LLMClient
from pith._models import FileFacts, Node, NodeType

KEY = "sk-e2e-secret-key-0123456789"
NODE = Node(id="pkg/a.py", type=NodeType.FILE, path="pkg/a.py", name="a.py", source_hash="h1")
FACTS = FileFacts(path="pkg/a.py", content_hash="h1", lines=3, docstring="Module a.")


@pytest.fixture
def fake() -> FakeLLM:
    return FakeLLM(api_key=KEY)


@pytest.fixture
def base_url(fake: FakeLLM) -> Iterator[str]:
    with fake.serve() as url:
        yield url


def client_for(base_url: str, **kwargs: object) -> LLMClient:
    options: dict[str, object] = {
        "base_url": base_url,
        "model": "fake/model",
        "api_key": KEY,
        "backoff_initial": 0.01,
        "backoff_jitter": 0.0,
    }
    options.update(kwargs)
    return LLMClient(**options)  # type: ignore[arg-type]


async def test_a_file_prompt_becomes_prose_over_http(fake: FakeLLM, base_url: str) -> None:
    parse = functools.partial(parse_prose, node=NODE, model="fake/model", facts=FACTS)
    async with client_for(base_url) as client:
        result = await client.complete(file_prompt(NODE, FACTS, None), parse)
    assert result.value.summary == "Summary of pkg/a.py."
    assert result.value.source_hash == "h1"
    assert result.attempts == 1
    assert result.usage.prompt_tokens > 0
    [call] = fake.calls
    assert call.node_id == "pkg/a.py"
    assert call.headers["authorization"] == f"Bearer {KEY}"
    assert call.body["response_format"] == {"type": "json_object"}


async def test_from_settings_talks_to_a_local_server_without_a_key(tmp_path: Path) -> None:
    fake = FakeLLM()
    with fake.serve() as url:
        settings = Settings(data_dir=tmp_path, base_url=url, model="llama3")
        async with LLMClient.from_settings(settings) as client:
            result = await client.complete(
                file_prompt(NODE, FACTS, None),
                functools.partial(parse_prose, node=NODE, model=client.model),
            )
    assert result.value.model == "llama3"
    assert "authorization" not in fake.calls[0].headers


async def test_calls_overlap_up_to_the_pool_size(fake: FakeLLM, base_url: str) -> None:
    fake.latency = 0.3
    nodes = [f"pkg/m{i}.py" for i in range(5)]

    async def one(node_id: str, client: LLMClient) -> None:
        messages = [{"role": "user", "content": f"Node id: {node_id}\nJSON please"}]
        await client.complete(messages, lambda text: text)

    async with client_for(base_url, max_connections=5) as client, trio.open_nursery() as nursery:
        for node_id in nodes:
            nursery.start_soon(one, node_id, client)
    assert sorted(call.node_id or "" for call in fake.calls) == nodes
    assert fake.max_in_flight == 5


async def test_server_errors_and_dropped_connections_are_retried(
    fake: FakeLLM, base_url: str
) -> None:
    fake.script("pkg/a.py", fail_status=503, fail_times=1, fail_headers={"Retry-After": "0"})
    fake.script("pkg/b.py", fail_exception=httpx.RemoteProtocolError, fail_times=1)
    async with client_for(base_url) as client:
        for node_id in ["pkg/a.py", "pkg/b.py"]:
            messages = [{"role": "user", "content": f"Node id: {node_id}\nJSON please"}]
            result = await client.complete(messages, lambda text: text)
            assert result.attempts == 2
    assert [call.status for call in fake.calls] == [503, 200, 0, 200]


async def test_a_connection_dropped_every_time_fails(fake: FakeLLM, base_url: str) -> None:
    fake.script("*", fail_exception=httpx.RemoteProtocolError, fail_times=99)
    async with client_for(base_url, attempts=2) as client:
        with pytest.raises(LLMConnectionError) as caught:
            await client.complete([{"role": "user", "content": "Node id: x"}], str)
    assert caught.value.attempts == 2


async def test_a_slow_server_times_out(fake: FakeLLM, base_url: str) -> None:
    fake.latency = 1.0
    async with client_for(base_url, timeout=0.1, attempts=1) as client:
        with pytest.raises(LLMTimeoutError) as caught:
            await client.complete([{"role": "user", "content": "Node id: x"}], str)
    assert caught.value.kind == "timeout"


async def test_a_wrong_key_is_an_auth_error_that_does_not_show_the_key(base_url: str) -> None:
    wrong = "sk-wrong-key-9876543210"
    async with client_for(base_url, api_key=wrong) as client:
        with pytest.raises(AuthError) as caught:
            await client.complete([{"role": "user", "content": "Node id: x"}], str)
    assert caught.value.attempts == 1
    assert wrong not in str(caught.value)
    assert wrong not in repr(caught.value)
