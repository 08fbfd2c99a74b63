"""`pith mcp`: the read layer as an MCP server on stdio, for coding agents (the official SDK).

Tools: ``context(files)``, ``node(id)``, ``search(query, limit)``, ``impact(id)``,
``callers(id)``; each returns
the Markdown rendering of `WikiReader`'s answer (bounded, see `pith._read.MARKDOWN_BUDGET`). An
unknown id is a tool error naming the closest ids. The store is opened read-only and read in
worker threads; the SDK runs on Trio through anyio.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import trio

from ._config import Settings
from ._errors import PithError
from ._read import MAX_SEARCH_LIMIT, WikiReader, hits_markdown
from ._store import open_store

__all__ = ["serve_stdio"]

T = TypeVar("T")

INSTRUCTIONS = (
    "pith's wiki of this codebase: prose for every file, package and important function (what "
    "it is, why it exists, what bites). Before changing files, call `context` with their paths; "
    "`search` finds nodes and symbols by words; `node` reads one by id (`.` for the overview, "
    "a path like `pkg/mod.py`, a package directory like `pkg`, `pkg/mod.py:Class.method` or "
    "`pkg/mod.py:CONSTANT`, or a bare name); `callers` lists who uses a symbol, with file and "
    "line; `impact` lists what imports it."
)


def serve_stdio(settings: Settings) -> None:
    """Serve MCP on stdin/stdout until the client closes them."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    store = open_store(settings, require="built", read_only=True)
    reader = WikiReader(store)
    server = MCPServer("pith", instructions=INSTRUCTIONS)

    async def read(fn: Callable[[], T]) -> T:
        try:
            return await trio.to_thread.run_sync(fn)
        except PithError as exc:  # an unknown id: the agent's mistake, said in one line
            raise ToolError(str(exc)) from None

    @server.tool()
    async def context(files: list[str]) -> str:
        """What to read before changing these files (paths relative to the project root): their
        prose, their functions', their packages', their imports and importers, their tests."""
        answer = await read(functools.partial(reader.context, files))
        return answer.to_markdown()

    @server.tool()
    async def node(id: str) -> str:
        """One node of the wiki by id: `pkg/mod.py`, `pkg`, `.` or `pkg/mod.py:Class.method`."""
        page = await read(functools.partial(reader.node, id))
        return page.to_markdown()

    @server.tool()
    async def search(query: str, limit: int = 10) -> str:
        """Nodes whose id, name, docstring or prose match the query's words, best first."""
        limit = max(1, min(limit, MAX_SEARCH_LIMIT))
        hits = await read(functools.partial(reader.search, query, limit))
        return hits_markdown(query, hits)

    @server.tool()
    async def impact(id: str) -> str:
        """The files that import this node's file, directly or not, nearest first, and their
        tests: what a change to it can break."""
        answer = await read(functools.partial(reader.impact, id))
        return answer.to_markdown()

    @server.tool()
    async def callers(id: str) -> str:
        """Who uses this symbol (id like `pkg/mod.py:Class.method`, or a bare name like
        `send`) or file: each use's file, line, enclosing function and text; the tests that
        use it apart, with the pytest command that runs them."""
        answer = await read(functools.partial(reader.callers, id))
        return answer.to_markdown()

    try:
        trio.run(server.run_stdio_async)
    finally:
        store.close()
