"""The docs and the --help texts say what the code does (issue 21, point 7)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import pith
from pith._cli import cli
from pith._config import DEFAULT_BASE_URL, DEFAULT_MODEL

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"


def help_text(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # wrapped lines joined


def test_the_files_the_code_cites_exist() -> None:
    cited = {
        (source.relative_to(ROOT), name)
        for source in (ROOT / "pith").rglob("*.py")
        # A doc is cited as docs/NAME.md or by an upper-case name (ARCHITECTURE.md); other
        # names are pages export writes (index.md, C.f.md) or READMEs extract reads.
        for name in re.findall(r"\b(?:docs/[\w-]+|[A-Z][A-Z_]+)\.md\b", source.read_text("utf-8"))
        if name != "README.md"
    }
    assert cited
    for source, name in sorted(cited):
        assert (ROOT / name).is_file(), f"{source} cites {name}"


def test_generate_help_names_the_key_the_endpoint_and_the_real_defaults() -> None:
    text = help_text("generate")
    for name in ("PITH_API_KEY", "OPENROUTER_API_KEY", "PITH_BASE_URL", "PITH_MODEL"):
        assert name in text
    assert DEFAULT_MODEL in text
    assert DEFAULT_BASE_URL in text


def test_serve_help_and_the_readme_list_every_endpoint_and_tool() -> None:
    serve = (ROOT / "pith" / "_wiki" / "_serve.py").read_text(encoding="utf-8")
    routes = [
        (route[1], method[1] if (method := re.search(r'methods=\["(\w+)"\]', line)) else "")
        for line in serve.splitlines()
        if (route := re.search(r'Route\("(/[^"{]*)', line))
    ]
    assert ("/health", "") in routes
    text = help_text("serve")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for route, method in routes:
        assert f"{method or 'GET'} {route}" in text, route
        assert route == "/" or f"`{route}" in readme or f"`{method} {route}" in readme, route
    assert "?format=md" in text
    assert "--generate-missing, which writes" in text
    mcp = (ROOT / "pith" / "_wiki" / "_mcp.py").read_text(encoding="utf-8")
    tools = re.findall(r"@server\.tool\(\)\s+async def (\w+)", mcp)
    assert "callers" in tools
    for tool in tools:
        assert f"`{tool}`" in readme, tool


def test_the_data_dir_help_says_where_the_store_is_found() -> None:
    for args in ((), ("status",), ("mcp",)):
        text = help_text(*args)
        assert "as before the command" not in text
        assert "nearest .pith" in text


def test_no_doc_gives_serve_a_concurrency_flag() -> None:
    serve_options = {opt for param in cli.commands["serve"].params for opt in param.opts}
    assert "-c" not in serve_options
    text = (DOCS / "agents.md").read_text(encoding="utf-8")
    assert "`-c`/`PITH_CONCURRENCY`" not in text
    assert "serve -c" not in text


def test_embedding_names_all_of_the_public_api_and_every_generate_option() -> None:
    text = (DOCS / "embedding.md").read_text(encoding="utf-8")
    for name in pith.__all__:
        assert f"`{name}" in text or f"pith.{name}" in text, name
    for option in ("concurrency", "limiter", "node_ids", "force", "on_progress", "adaptive"):
        assert f"`{option}`" in text, option


def test_the_limiter_example_of_configuration_runs() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert "async with limiter" not in text
    example = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "limiter" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "configuration.md", "exec"), {})
    assert '"ceiling": 20' in out.getvalue().replace("'", '"')


@pytest.mark.parametrize(
    ("doc", "wrong"),
    [
        ("configuration.md", "in flight is halved"),
        ("configuration.md", "503 with Retry-After        | waited out, see below | `rate_limit`"),
        ("limiter.md", "then call `run`"),
        ("../README.md", "Both read the store only; the config snippets"),
        ("agents.md", "Both read the store only (it is opened read-only"),
    ],
)
def test_claims_the_code_contradicts_are_gone(doc: str, wrong: str) -> None:
    assert wrong not in (DOCS / doc).read_text(encoding="utf-8")


def test_every_status_and_report_key_is_documented() -> None:
    text = " ".join((DOCS / "usage.md").read_text(encoding="utf-8").split())
    for key in ("needs_build", "orphaned_prose", "next_generate", "data_dir", "retries"):
        assert f'"{key}"' in text or f"`{key}`" in text, key
