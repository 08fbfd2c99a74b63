"""The client's connections are spread over several httpx clients (issue 20, -c 200): httpcore's
pool scans idle x all connections whenever a request comes or goes, so no client carries more
than `SHARD_CALLS` calls at once; and each client's pool is a `LinearPool` (that scan made
linear)."""

from __future__ import annotations

import ast
import contextlib
import inspect
import textwrap

import httpcore
import httpx
import pytest
import trio
from fakellm import FakeLLM

from pith._llm import LLMClient
from pith._llm._http import SHARD_CALLS, LinearPool

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
    assert len(counts) == 3


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


def _step(source: str) -> list[str]:
    """The statements of a method's body, comments and docstring left out."""
    definition = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(definition, ast.FunctionDef)
    body = definition.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.dump(statement) for statement in body]


def test_the_linear_pool_is_httpcores_step_but_for_the_length() -> None:
    """`LinearPool` repeats httpcore's bookkeeping step: if the installed httpcore changes it,
    this fails (then follow httpcore, or let httpx use its own pool)."""
    ours = inspect.getsource(LinearPool._assign_requests_to_connections)
    fix = "len(self._connections) > self._max_keepalive_connections"
    assert fix in ours
    ours = ours.replace(
        fix,
        "len([connection.is_idle() for connection in self._connections])"
        " > self._max_keepalive_connections",
    )
    upstream = inspect.getsource(httpcore.AsyncConnectionPool._assign_requests_to_connections)
    assert _step(ours) == _step(upstream)


def test_a_request_costs_steps_linear_in_the_idle_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every connection of a client idle, one more request asks each connection whether
    it is idle a few times, not once per connection for each idle one (httpcore's own pool:
    idle x all, 560 asks here)."""
    asked = 0
    is_idle = httpcore.AsyncHTTPConnection.is_idle

    def counted(self: httpcore.AsyncHTTPConnection) -> bool:
        nonlocal asked
        asked += 1
        return is_idle(self)

    fake = FakeLLM()
    with fake.serve() as base_url:
        client = LLMClient(base_url=base_url, model="m")
        http = client._http.clients[0]
        body = {"model": "m", "messages": [{"role": "user", "content": "Node id: n"}]}

        async def main() -> None:
            nonlocal asked
            async with client:
                all_sent = trio.Event()
                sent = 0

                async def held() -> None:  # each its own connection, all open together
                    nonlocal sent
                    request = http.build_request("POST", f"{base_url}/chat/completions", json=body)
                    response = await http.send(request, stream=True)
                    sent += 1
                    if sent == SHARD_CALLS:
                        all_sent.set()
                    await all_sent.wait()
                    await response.aread()  # read whole: its connection stays, idle
                    await response.aclose()

                async with trio.open_nursery() as nursery:
                    for _ in range(SHARD_CALLS):
                        nursery.start_soon(held)
                pool = http._transport._pool  # type: ignore[attr-defined]
                assert len(pool.connections) == SHARD_CALLS
                assert all(connection.is_idle() for connection in pool.connections)
                monkeypatch.setattr(httpcore.AsyncHTTPConnection, "is_idle", counted)
                asked = 0
                response = await http.post(f"{base_url}/chat/completions", json=body)
                assert response.status_code == 200

        trio.run(main)
    assert asked <= 6 * SHARD_CALLS, asked
