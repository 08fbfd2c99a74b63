"""`pith mcp`: the read layer as an MCP server on stdio, for coding agents (the official SDK).

Tools: ``context(files)``, ``node(id)``, ``search(query, limit)``, ``ask(question, budget)``,
``impact(id)``; each returns
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
from ._limits import DEFAULT_BUDGET, check_budget, check_files, check_limit
from ._read import WikiReader, hits_markdown
from ._store import open_store

__all__ = ["serve_stdio"]

T = TypeVar("T")

INSTRUCTIONS = (
    "pith's wiki of this codebase: prose for every file, package and important function (what "
    "it is, why it exists, what bites). Before changing files, call `context` with their paths; "
    "`ask` answers a task in English with what to read, within a token budget; "
    "`search` finds nodes by words; `node` reads one node by id (a path like `pkg/mod.py`, a "
    "package directory like `pkg`, or `pkg/mod.py:Class.method`); `impact` lists what imports it."
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
    async def context(files: list[str], budget: int = DEFAULT_BUDGET) -> str:
        """What to read before changing these files (paths relative to the project root): their
        prose, their functions', their tests, imports, packages and importers (in that order of
        value), within `budget` tokens (default 4000)."""
        try:
            check_files(len(dict.fromkeys(files)))  # the same bounds as the CLI's and HTTP's
            check_budget(budget)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        answer = await read(functools.partial(reader.context, files))
        return answer.to_markdown(budget)

    @server.tool()
    async def node(id: str) -> str:
        """One node of the wiki by id: `pkg/mod.py`, `pkg`, `.` or `pkg/mod.py:Class.method`."""
        page = await read(functools.partial(reader.node, id))
        return page.to_markdown()

    @server.tool()
    async def search(query: str, limit: int = 10) -> str:
        """Nodes whose id, name, docstring or prose match the query's words, best first."""
        try:
            check_limit(limit)  # the same range as the CLI's and HTTP's, refused the same way
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        hits = await read(functools.partial(reader.search, query, limit))
        return hits_markdown(query, hits)

    @server.tool()
    async def ask(question: str, budget: int = DEFAULT_BUDGET) -> str:
        """What to read for a task in English ("redirects drop the Authorization header"): the
        files and symbols that matter, why, `file:line`, signatures, their tests and importers,
        packed to `budget` tokens (default 4000)."""
        try:
            check_budget(budget)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        briefing = await read(functools.partial(reader.ask, question, budget))
        return briefing.markdown

    @server.tool()
    async def impact(id: str, budget: int = DEFAULT_BUDGET) -> str:
        """The files that import this node's file, directly or not, nearest first, and their
        tests: what a change to it can break; within `budget` tokens (default 4000)."""
        try:
            check_budget(budget)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        answer = await read(functools.partial(reader.impact, id))
        return answer.to_markdown(budget)

    try:
        trio.run(server.run_stdio_async)
    finally:
        store.close()
