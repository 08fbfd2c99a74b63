"""The client's connections are spread over several httpx clients (issue 20, -c 200): httpcore's
pool scans idle x all connections whenever a request comes or goes, so no client carries more
than `SHARD_CALLS` calls at once."""

from __future__ import annotations

import contextlib
import math

import httpx
import trio
from fakellm import FakeLLM

from pith._llm import LLMClient
from pith._llm._http import SHARD_CALLS

CALLS = 2 * SHARD_CALLS + 5


def test_no_client_carries_more_than_its_share_of_the_calls() -> None:
    fake = FakeLLM()
    with fake.serve() as base_url:
        client = LLMClient(base_url=base_url, model="m")
        pool = client._http
        connections: list[list[int]] = []

        async def main() -> None:
            held = 0
            all_held = trio.Event()

            async def one(i: int) -> None:
                nonlocal held
                with pool.lease() as http:
                    body = {
                        "model": "m",
                        "messages": [{"role": "user", "content": f"Node id: n{i}"}],
                    }
                    request = http.build_request("POST", f"{base_url}/chat/completions", json=body)
                    response = await http.send(request, stream=True)
                    try:
                        assert response.status_code == 200
                        held += 1
                        if held == CALLS:  # every call holds its connection now
                            connections.append(
                                [len(c._transport._pool.connections) for c in pool.clients]  # type: ignore[attr-defined]
                            )
                            all_held.set()
                        await all_held.wait()
                    finally:
                        await response.aclose()

            async with client, trio.open_nursery() as nursery:
                for i in range(CALLS):
                    nursery.start_soon(one, i)

        trio.run(main)
    [counts] = connections
    assert sum(counts) == CALLS
    assert max(counts) <= SHARD_CALLS, counts
    assert len(counts) == math.ceil(CALLS / SHARD_CALLS)


def test_a_transport_of_the_callers_own_is_one_client() -> None:
    client = LLMClient(
        base_url="http://llm.example/v1",
        model="m",
        transport=httpx.MockTransport(lambda request: httpx.Response(200)),
    )
    with contextlib.ExitStack() as leases:
        for _ in range(3 * SHARD_CALLS):
            leases.enter_context(client._http.lease())
        assert len(client._http.clients) == 1
