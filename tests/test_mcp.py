"""`pith mcp` driven over stdio by the official MCP SDK's own client."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import trio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from sample_project import built_store


async def test_the_tools_over_stdio(tmp_path: Path) -> None:
    built_store(tmp_path).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "pith", "--data-dir", str(tmp_path / "data"), "mcp"],
        env=env,
    )
    with trio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            assert sorted(t.name for t in tools.tools) == [
                "ask",
                "callers",
                "context",
                "impact",
                "node",
                "search",
            ]

            async def call(name: str, arguments: dict[str, object]) -> tuple[str, bool]:
                result = await session.call_tool(name, arguments)
                return result.content[0].text, bool(result.is_error)  # type: ignore[union-attr]

            text, error = await call("context", {"files": ["app.py", "nope.py"]})
            assert not error
            assert text.startswith("# `app.py`")
            assert "`nope.py`" in text
            text, error = await call("node", {"id": "pkg/core.py:connect"})
            assert (error, text.splitlines()[0]) == (False, "# `pkg/core.py:connect`")
            text, error = await call("search", {"query": "connect", "limit": 2})
            assert "`pkg/core.py:connect`" in text
            text, error = await call("ask", {"question": "open a connection", "budget": 300})
            assert (error, text.splitlines()[0]) == (False, "# Ask: open a connection")
            assert "`pkg/core.py`" in text
            # The same limits as the CLI's and HTTP's: refused, never clamped.
            for name, arguments in (
                ("search", {"query": "connect", "limit": 0}),
                ("search", {"query": "connect", "limit": 101}),
                ("ask", {"question": "x", "budget": 10}),
                ("context", {"files": [f"f{i}.py" for i in range(51)]}),
                ("context", {"files": ["app.py"], "budget": 10}),
                ("impact", {"id": "app.py", "budget": 60_000}),
            ):
                text, error = await call(name, arguments)
                assert error, (name, arguments)
            text, error = await call("impact", {"id": "pkg/core.py"})
            assert "## Depth 1" in text
            text, error = await call("callers", {"id": "connect"})
            assert (error, text.splitlines()[0]) == (False, "# Callers of `pkg/core.py:connect`")
            assert "`app.py:" in text
            text, error = await call("node", {"id": "."})
            assert (error, text.splitlines()[0]) == (False, "# `.`")
            text, error = await call("node", {"id": "pkg/cor.py"})
            assert error
            assert "did you mean: pkg/core.py" in text
