"""`pith mcp` on a hostile or careless client (issue 23, point 10; issue 21's missing store;
issue 20's signals): the real command in a subprocess, spoken to line by line."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import trio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from sample_project import built_store


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}


class Client:
    """JSON-RPC by hand: what a careless or hostile client would send."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self.stdin: IO[bytes] = process.stdin
        self.stdout: IO[bytes] = process.stdout  # read unbuffered, through `select`
        self.pending = b""

    def send(self, message: dict[str, Any] | bytes) -> None:
        line = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.stdin.write(line + b"\n")
        self.stdin.flush()

    def receive(self) -> dict[str, Any]:
        """The next message; a failure, not a hang, when none comes within 30 s."""
        deadline = time.monotonic() + 30
        while b"\n" not in self.pending:
            assert len(self.pending) < 100_000, "an answer this long repeats its input"
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.stdout], [], [], max(remaining, 0))
            assert ready, "no answer within 30 s"
            chunk = os.read(self.stdout.fileno(), 1 << 16)
            assert chunk, "the server closed stdout"
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return json.loads(line)  # type: ignore[no-any-return]

    def initialize(self) -> None:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "test", "version": "1"},
                },
            }
        )
        assert self.receive()["id"] == 0
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, request_id: int, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        params = {"name": tool, "arguments": arguments}
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        return self.receive()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    built_store(tmp_path).close()
    return tmp_path / "data"


@pytest.fixture
def client(data_dir: Path, tmp_path: Path) -> Iterator[Client]:
    # stderr to a file: a client that does not read it must not stop the server.
    with open(tmp_path / "stderr", "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "pith", "--data-dir", str(data_dir), "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=clean_env(),
        )
    try:
        yield Client(process)
    finally:
        process.kill()
        process.wait(timeout=30)
        for stream in (process.stdin, process.stdout):
            assert stream is not None
            stream.close()


def test_every_malformed_message_gets_an_error(client: Client) -> None:
    client.initialize()
    malformed: list[tuple[bytes, object, int]] = [
        (b"not json", None, -32700),
        (b"\xff\xfe", None, -32700),
        (b'{"jsonrpc": "2.0", "id": 7}', 7, -32600),
        (b'{"jsonrpc": "2.0", "id": "x", "method": "tools/call", "params": 3}', "x", -32600),
        (b"[1, 2]", None, -32600),
        (b'{"jsonrpc": "1.0", "id": 8, "method": "tools/list"}', 8, -32600),
    ]
    for line, request_id, code in malformed:
        client.send(line)
        reply = client.receive()
        assert (reply["id"], reply["error"]["code"]) == (request_id, code), line
    # And the server still answers.
    client.send({"jsonrpc": "2.0", "id": 9, "method": "tools/list"})
    assert client.receive()["id"] == 9


def test_a_message_over_the_bound_is_refused_unread(client: Client, tmp_path: Path) -> None:
    client.initialize()
    reply = client.call(1, "node", {"id": "x" * 5_000_000})
    assert reply["id"] == 1
    assert reply["error"]["code"] == -32600
    assert "1,000,000 bytes" in reply["error"]["message"]
    text = client.call(2, "node", {"id": "pkg/core.py"})["result"]["content"][0]["text"]
    assert text.startswith("# `pkg/core.py`")
    assert (tmp_path / "stderr").stat().st_size < 10_000


@pytest.mark.parametrize(
    ("tool", "arguments", "bound"),
    [
        ("node", {"id": "x" * 9_000}, "8,192 characters"),
        ("impact", {"id": "x" * 9_000}, "8,192 characters"),
        ("search", {"query": "connect " + "a" * 50_000}, "1,000 characters"),
        ("search", {"query": "connect", "limit": 1000}, "between 1 and 100"),
        ("context", {"files": ["a.py"] * 51}, "at most 50 files"),
        ("context", {"files": ["x" * 9_000]}, "8,192 characters"),
    ],
)
def test_arguments_over_their_bound_are_one_line_errors(
    client: Client, tmp_path: Path, tool: str, arguments: dict[str, Any], bound: str
) -> None:
    client.initialize()
    result = client.call(1, tool, arguments)["result"]
    assert result["isError"]
    text = result["content"][0]["text"]
    assert bound in text
    assert len(text) < 300
    assert (tmp_path / "stderr").stat().st_size < 10_000


async def test_without_a_store_it_starts_and_each_tool_says_what_to_run(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "pith", "--data-dir", str(tmp_path / "data"), "mcp"],
        env=clean_env(),
    )
    with trio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for tool, arguments in [
                ("node", {"id": "app.py"}),
                ("context", {"files": ["app.py"]}),
                ("search", {"query": "connect"}),
                ("impact", {"id": "app.py"}),
            ]:
                result = await session.call_tool(tool, arguments)
                assert result.is_error
                text = result.content[0].text  # type: ignore[union-attr]
                assert "run `pith extract PATH` first" in text, text
                assert "\n" not in text
            # Built meanwhile: the next call finds it.
            built_store(tmp_path).close()
            result = await session.call_tool("node", {"id": "app.py"})
            assert not result.is_error


def finish(process: subprocess.Popen[bytes]) -> bytes:
    """Kill ``process`` if it still runs; what it wrote on stderr."""
    process.kill()
    process.wait(timeout=30)
    assert process.stderr is not None
    err = process.stderr.read()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return err


def start(data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pith", "--data-dir", str(data_dir), "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )


@pytest.mark.parametrize(("how", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_it_while_stdin_is_open(data_dir: Path, how: int, code: int) -> None:
    process = start(data_dir)
    client = Client(process)
    client.initialize()  # serving: stdin open, nothing more to read
    process.send_signal(how)
    try:
        assert process.wait(timeout=30) == code
    finally:
        err = finish(process)
    assert b"Traceback" not in err


def test_it_exits_when_stdin_closes(data_dir: Path) -> None:
    process = start(data_dir)
    client = Client(process)
    client.initialize()
    client.stdin.close()
    try:
        assert process.wait(timeout=30) == 0
    finally:
        finish(process)


def test_a_client_that_closes_stdout_ends_it_quietly(data_dir: Path) -> None:
    process = start(data_dir)
    client = Client(process)
    client.initialize()
    client.stdout.close()
    client.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})  # its answer: EPIPE
    try:
        assert process.wait(timeout=30) == 0
    finally:
        err = finish(process)
    assert err == b""
