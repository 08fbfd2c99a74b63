"""The reading commands and `pith serve` on a data dir nobody may write (issue 14, point 7).

Permissions do not bind root, so when the tests run as root the commands run as the unprivileged
user ``nobody`` (uid 65534, through util-linux ``setpriv``); the test first checks that this user
really cannot write there."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sample_project import built_store, downgrade_to_schema_3

NOBODY = 65534


@pytest.fixture(params=["current", "schema 3"])
def read_only_data(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A built store in a data dir nobody may write: of the current schema, or of schema 3,
    which cannot be migrated there and is read as it is."""
    # Not under tmp_path: pytest makes its base directory 0700, which ``nobody`` cannot enter.
    top = Path(tempfile.mkdtemp(prefix="pith-ro-"))
    try:
        top.chmod(0o755)
        built_store(top).close()
        data = top / "data"
        if request.param == "schema 3":
            downgrade_to_schema_3(data / "pith.db")
        (data / "pith.db").chmod(0o444)
        data.chmod(0o555)
        yield data
    finally:
        (top / "data").chmod(0o755)
        shutil.rmtree(top)


def as_reader(*command: str) -> tuple[list[str], dict[str, Any]]:
    """The command line and Popen arguments that run ``command`` as a user the permissions
    bind."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    options: dict[str, Any] = {"env": clean, "cwd": "/", "text": True}
    if os.geteuid() != 0:
        return list(command), options
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be made to bind")
    drop = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return [*drop, *command], options


def test_the_premise_nobody_can_write_there(read_only_data: Path) -> None:
    command, options = as_reader(sys.executable, "-c", f"open({str(read_only_data / 'x')!r}, 'w')")
    attempt = subprocess.run(command, capture_output=True, **options)
    assert attempt.returncode != 0
    assert "PermissionError" in attempt.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["list", "--json"],
        ["show", "pkg/core.py:connect"],
        ["context", "app.py"],
        ["search", "connect"],
        ["ask", "open a connection"],
        ["impact", "pkg/core.py"],
    ],
)
def test_reading_commands_work(read_only_data: Path, args: list[str]) -> None:
    before = sorted(os.listdir(read_only_data))
    command, options = as_reader(
        sys.executable, "-m", "pith", "--data-dir", str(read_only_data), *args
    )
    result = subprocess.run(command, capture_output=True, **options)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout
    assert sorted(os.listdir(read_only_data)) == before  # no -wal, no -shm, nothing


def test_callers_of_a_store_older_than_its_references_say_what_to_do(
    read_only_data: Path, request: pytest.FixtureRequest
) -> None:
    command, options = as_reader(
        sys.executable, "-m", "pith", "--data-dir", str(read_only_data), "callers", "connect"
    )
    result = subprocess.run(command, capture_output=True, **options)
    if request.node.callspec.params["read_only_data"] == "current":
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        assert "pkg/core.py:connect" in result.stdout
        return
    # Read as it is where it cannot be migrated: no references to list, and no "did you mean"
    # naming the very id asked for.
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("pith: error: this store (schema 3) predates the references")
    assert len(result.stderr.splitlines()) == 1


def test_serve_answers_and_stops(read_only_data: Path) -> None:
    command, options = as_reader(
        sys.executable, "-m", "pith", "--data-dir", str(read_only_data), "serve", "--port", "0"
    )
    process = subprocess.Popen(command, stderr=subprocess.PIPE, **options)
    assert process.stderr is not None
    with process.stderr:
        first = process.stderr.readline()
        try:
            assert first.startswith("pith: serving http://127.0.0.1:"), first
            url = first.split()[-1]
            with httpx.Client(base_url=url) as http:
                assert http.get("/health").status_code == 200
                context = http.get("/context", params={"files": "app.py"}).json()
                assert [f["id"] for f in context["files"]] == ["app.py"]
        finally:
            process.send_signal(signal.SIGINT)
            rest = process.stderr.read()
    assert process.wait(timeout=30) == 130, rest
    assert "readonly" not in rest
