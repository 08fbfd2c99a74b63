"""Helpers that write small codebases (and git histories) into a temporary directory.

Not a conftest: tests import what they use, so every fixture project is visible in the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

from pith._build import build
from pith._extract import ExtractSummary, extract
from pith._store import Store

# Nested packages, relative and absolute imports, a test file, a README: a healthy project.
HEALTHY: dict[str, str | bytes] = {
    "README.md": "# demo\n\nThe demo project.\n",
    "pyproject.toml": "[project]\nname = 'demo'\n",
    "app.py": """
        '''Entry point.'''
        import sys
        from pkg.core import connect, Client
        from pkg.sub import leaf

        def main():
            return leaf.walk(connect("x"))
        """,
    "pkg/__init__.py": """
        '''The package.'''
        from .core import connect
        __all__ = ["connect"]
        """,
    "pkg/README.md": "# pkg\n\nCore of the demo.\n",
    "pkg/core.py": """
        '''Connections.'''
        import os.path
        TIMEOUT = 30
        BASE_URL = "https://example.com/api"
        MAX_RETRIES = 3
        _private = 1

        def connect(url: str, retries: int = 3, *, timeout: float = 5.0) -> str:
            '''Open a connection.'''
            if not url or url == "-":
                raise ValueError("no url")
            return url

        class Client:
            '''A client.'''

            def send(self, request):
                response = request()
                if response.status_code == 404:
                    return None
                return response

            async def close(self):
                pass

        def _helper():
            return 1
        """,
    "pkg/util.py": """
        from .core import connect, Client

        def helper():
            return connect("y")
        """,
    "pkg/sub/__init__.py": "",
    "pkg/sub/leaf.py": """
        from ..core import connect
        from . import sibling

        def walk(node):
            '''Walk the tree.'''
            return node
        """,
    "pkg/sub/sibling.py": "X = 1\n",
    "tests/test_core.py": """
        from pkg.core import connect

        def test_connect():
            assert connect("a") == "a"
        """,
}


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (path -> text, dedented, or raw bytes) below ``root``; return ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def git(root: Path, *args: str, author: str = "Ada Lovelace", date: str | None = None) -> str:
    """Run git in ``root`` as ``author`` (an isolated config: no user settings apply)."""
    email = author.lower().replace(" ", ".") + "@example.com"
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
    }
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def commit_all(root: Path, message: str, *, author: str, date: str | None = None) -> None:
    git(root, "add", "-A", author=author)
    git(root, "commit", "-q", "-m", message, author=author, date=date)


def extract_and_build(
    root: Path, db: Path, **extract_options: object
) -> tuple[Store, ExtractSummary]:
    """Extract ``root`` into a store at ``db`` (single process) and build; the caller closes."""
    store = Store.open(db)
    summary = extract(root, store, workers=1, **extract_options)  # type: ignore[arg-type]
    build(store)
    return store, summary


def run_pith(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess (a hang fails on the timeout)."""
    return subprocess.run(
        [sys.executable, "-m", "pith", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def clean_env() -> dict[str, str]:
    """This process's environment without any PITH_* or OPENROUTER_* variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
