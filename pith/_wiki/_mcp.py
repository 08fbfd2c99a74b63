"""`pith mcp`: the read layer as an MCP server on stdio, for coding agents (the official SDK).

Tools: ``context(files, budget)``, ``node(id)``, ``search(query, limit)``,
``ask(question, budget)``, ``impact(id, budget)``, ``callers(id)``; each returns the Markdown
rendering of `WikiReader`'s answer (bounded, see `pith._wiki._read.MARKDOWN_BUDGET`, or to the
budget in tokens). An
unknown id, an argument past its bound (`pith._wiki._limits`) or a missing store is a tool error of
one line. The store is opened read-only on the first call that finds it (a server started
before ``pith extract`` and ``pith build`` works once they have run) and read in worker
threads; the SDK runs on Trio through anyio.

The wire is pith's own (`_StdioWire`), not the SDK's stdio transport: a message is one line of
at most `MAX_MESSAGE_BYTES` (a longer one is answered with an error and skipped, never held in
memory whole), and a line that is not JSON, or not a JSON-RPC message, is answered with the
JSON-RPC error for it (the SDK would drop it silently). The server ends when stdin closes, or on
SIGINT or SIGTERM (through `trio.open_signal_receiver`: no KeyboardInterrupt in a task).
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import trio

from .._config import Settings
from .._errors import PithError
from .._store import Store, open_store
from ._limits import DEFAULT_BUDGET, MAX_MESSAGE_BYTES, check_budget
from ._read import WikiReader, hits_markdown

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from ._read import Context, Impact

__all__ = ["serve_stdio"]

T = TypeVar("T")

INSTRUCTIONS = (
    "pith's wiki of this codebase: prose for every file, package and important function (what "
    "it is, why it exists, what bites). Before changing files, call `context` with their paths; "
    "`ask` answers a task in English with what to read, within a token budget; "
    "`search` finds nodes and symbols by words; `node` reads one by id (`.` for the overview, "
    "a path like `pkg/mod.py`, a package directory like `pkg`, `pkg/mod.py:Class.method` or "
    "`pkg/mod.py:CONSTANT`, or a bare name); `callers` lists who uses a symbol, with file and "
    "line; `impact` lists what imports it."
)

# JSON-RPC 2.0's error codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600

# The id of a message too long to parse, when the client wrote it first (or after "jsonrpc"), as
# the SDKs do: then its request is answered rather than left waiting.
_LEADING_ID = re.compile(
    rb'^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")'
)


@attrs.define(eq=False)
class _Wiki:
    """The store, opened by the first call that finds it; each call that does not gets the
    one-line reason."""

    settings: Settings
    store: Store | None = None
    _lock: trio.Lock = attrs.Factory(trio.Lock)

    async def read(self, question: Callable[[WikiReader], T]) -> T:
        from mcp.server.mcpserver.exceptions import ToolError

        try:
            async with self._lock:
                if self.store is None:
                    self.store = await trio.to_thread.run_sync(
                        functools.partial(
                            open_store, self.settings, require="built", read_only=True
                        )
                    )
            reader = WikiReader(self.store)
            return await trio.to_thread.run_sync(question, reader)
        except PithError as exc:  # the agent's mistake or a missing store, said in one line
            raise ToolError(str(exc)) from None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _server(wiki: _Wiki) -> MCPServer:
    from mcp.server.mcpserver import MCPServer

    # WARNING: the SDK logs every failed call at INFO, arguments included, to stderr, which a
    # client may not read (a full pipe would stop the server).
    server = MCPServer("pith", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    async def context(files: list[str], budget: int = DEFAULT_BUDGET) -> str:
        """What to read before changing these files (paths relative to the project root): their
        prose, their functions', their tests, imports, packages and importers (in that order of
        value), within `budget` tokens (200 to 50000, default 4000)."""
        return await wiki.read(lambda reader: _within(reader.context(files), budget))

    @server.tool()
    async def node(id: str) -> str:
        """One node of the wiki by id: `pkg/mod.py`, `pkg`, `.` or `pkg/mod.py:Class.method`."""
        page = await wiki.read(lambda reader: reader.node(id))
        return page.to_markdown()

    @server.tool()
    async def search(query: str, limit: int = 10) -> str:
        """Nodes whose id, name, docstring or prose match the query's words, best first
        (limit: 1 to 100)."""
        hits = await wiki.read(lambda reader: reader.search(query, limit))
        return hits_markdown(query, hits)

    @server.tool()
    async def ask(question: str, budget: int = DEFAULT_BUDGET) -> str:
        """What to read for a task in English ("redirects drop the Authorization header"): the
        files and symbols that matter, why, `file:line`, signatures, their tests and importers,
        packed to `budget` tokens (200 to 50000, default 4000)."""
        briefing = await wiki.read(lambda reader: reader.ask(question, budget))
        return briefing.markdown

    @server.tool()
    async def impact(id: str, budget: int = DEFAULT_BUDGET) -> str:
        """What a change to this file, package, function or symbol (`pkg/mod.py:Class.method`,
        a bare name) can break: the files that import its file, directly or not, nearest first
        (those that use its names first, with where), and their tests; within `budget` tokens
        (default 4000)."""
        return await wiki.read(lambda reader: _within(reader.impact(id), budget))

    @server.tool()
    async def callers(id: str) -> str:
        """Who uses this symbol (id like `pkg/mod.py:Class.method`, or a bare name like
        `send`) or file: each use's file, line, enclosing function and text; production code,
        tests (with the command that runs them), and examples and docs apart."""
        answer = await wiki.read(lambda reader: reader.callers(id))
        return answer.to_markdown()

    return server


def _within(answer: Context | Impact, budget: int) -> str:
    """``answer``'s Markdown within ``budget`` tokens, checked as the CLI and HTTP check it."""
    return answer.to_markdown(check_budget(budget))


@attrs.define(eq=False)
class _StdioWire:
    """JSON-RPC over two file descriptors, one message a line, bounded (module docstring)."""

    read_fd: int
    write_fd: int
    # Set when the client closed its end of stdout: nothing can be answered any more.
    gone: trio.Event = attrs.Factory(trio.Event)
    _write_lock: trio.Lock = attrs.Factory(trio.Lock)

    async def lines(self) -> AsyncIterator[bytes]:
        """Each line read, without its newline, until the input ends. A line over
        `MAX_MESSAGE_BYTES` is answered with an error (`_answer_too_long`) and dropped as it
        comes: memory holds at most one bound's worth of it."""
        pending = bytearray()
        skipping = False  # inside a line too long: drop bytes up to its end
        while True:
            chunk = await trio.to_thread.run_sync(
                os.read, self.read_fd, 1 << 16, abandon_on_cancel=True
            )
            if not chunk:
                break
            start = 0
            while start <= len(chunk):
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end < 0 else chunk[start:end]
                if not skipping:
                    pending += piece
                    if len(pending) > MAX_MESSAGE_BYTES:
                        await self._answer_too_long(bytes(pending[:512]))
                        pending.clear()
                        skipping = True
                if end < 0:
                    break
                if not skipping:
                    yield bytes(pending)
                pending.clear()
                skipping = False
                start = end + 1
        if pending and not skipping:
            yield bytes(pending)

    async def write(self, data: bytes) -> None:
        """Write ``data`` whole (one message: writers never interleave); when the client has
        closed its end, set `gone` instead."""
        async with self._write_lock:
            view = memoryview(data)
            while view and not self.gone.is_set():
                try:
                    # Abandoned on cancel: a client that stops reading must not keep us alive.
                    written = await trio.to_thread.run_sync(
                        os.write, self.write_fd, view, abandon_on_cancel=True
                    )
                except OSError:  # EPIPE: nobody is listening
                    self.gone.set()
                    return
                view = view[written:]

    async def answer_error(self, request_id: object, code: int, message: str) -> None:
        reply = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
        await self.write(json.dumps(reply).encode() + b"\n")

    async def _answer_too_long(self, head: bytes) -> None:
        found = _LEADING_ID.match(head)
        request_id = json.loads(found.group(1)) if found else None
        await self.answer_error(
            request_id, INVALID_REQUEST, f"message over {MAX_MESSAGE_BYTES:,} bytes; not read"
        )

    async def answer_malformed(self, line: bytes) -> None:
        """The error reply to a line that is not a JSON-RPC message."""
        try:
            data = json.loads(line)
        except ValueError:
            await self.answer_error(None, PARSE_ERROR, "not JSON: one JSON-RPC message a line")
            return
        request_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(request_id, bool) or not isinstance(request_id, int | str):
            request_id = None
        await self.answer_error(request_id, INVALID_REQUEST, "not a JSON-RPC 2.0 message")


async def _serve(server: MCPServer, wire: _StdioWire) -> None:
    """Serve MCP over ``wire`` until its input ends or its output is closed."""
    import anyio
    import mcp_types
    import pydantic
    from mcp.shared.message import SessionMessage

    to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    server_writes, from_server = anyio.create_memory_object_stream[SessionMessage](0)

    async def read() -> None:
        async with to_server:
            async for line in wire.lines():
                if not line.strip():
                    continue
                try:
                    message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except pydantic.ValidationError:
                    await wire.answer_malformed(line)
                    continue
                await to_server.send(SessionMessage(message))

    async def write() -> None:
        async with from_server:
            async for session_message in from_server:
                data = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await wire.write(data.encode() + b"\n")

    async def until_gone() -> None:
        await wire.gone.wait()
        nursery.cancel_scope.cancel()

    lowlevel: Any = server._lowlevel_server  # the SDK's own `run_stdio_async` runs it so
    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        nursery.start_soon(write)
        nursery.start_soon(until_gone)
        await lowlevel.run(server_reads, server_writes, lowlevel.create_initialization_options())
        nursery.cancel_scope.cancel()  # input ended and every answer is out


def serve_stdio(settings: Settings) -> int:
    """Serve MCP on stdin/stdout until stdin closes (return 0) or SIGINT or SIGTERM (return its
    number). While serving, fd 0 reads the null device and fd 1 writes to stderr, so that
    nothing else reads the client's messages or writes into the answers."""
    wiki = _Wiki(settings)
    server = _server(wiki)
    wire = _StdioWire(read_fd=os.dup(0), write_fd=os.dup(1))
    null = os.open(os.devnull, os.O_RDONLY)
    saved = os.dup(0), os.dup(1)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)

    async def main() -> int:
        stopped_by = 0
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:

                async def watch() -> None:
                    nonlocal stopped_by
                    async for signum in signals:
                        stopped_by = signum
                        nursery.cancel_scope.cancel()

                async def run() -> None:
                    await _serve(server, wire)
                    nursery.cancel_scope.cancel()

                nursery.start_soon(watch)
                nursery.start_soon(run)
        return stopped_by

    try:
        return trio.run(main)
    finally:
        os.dup2(saved[0], 0)
        os.dup2(saved[1], 1)
        # Not wire.read_fd: a worker thread may still be blocked reading it.
        for fd in (*saved, wire.write_fd):
            os.close(fd)
        wiki.close()
