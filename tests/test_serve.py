"""`pith serve` as a user runs it: a real server process on 127.0.0.1, real HTTP requests."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakellm import FakeLLM
from sample_project import built_store

from pith._store import Store


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    built_store(tmp_path).close()  # the sample project, built into tmp_path/data, no prose
    return tmp_path / "data"


def start(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "pith", "--data-dir", str(data_dir), "serve", "--port", "0", *args],
        stderr=subprocess.PIPE,
        text=True,
        env=clean | (env or {}),
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first.startswith("pith: serving http://127.0.0.1:"), first
    return process, first.split()[-1]


@pytest.fixture
def server(data_dir: Path) -> Iterator[str]:
    process, url = start(data_dir)
    try:
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C: the exit code and the rest of stderr."""
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    with process.stderr:
        rest = process.stderr.read()
    return process.wait(timeout=30), rest


def test_every_endpoint(server: str) -> None:
    with httpx.Client(base_url=server) as http:
        assert http.get("/health").json()["nodes"]["file"] == 9
        node = http.get("/node/pkg/core.py:connect").json()
        assert node["id"] == "pkg/core.py:connect"
        assert node["prose"] is None
        page = http.get("/node/pkg/sub", params={"format": "md"})
        assert page.headers["content-type"].startswith("text/markdown")
        assert page.text.startswith("# `pkg/sub`")
        context = http.get("/context", params={"files": "app.py,./pkg/util.py,nope.py"}).json()
        assert [f["id"] for f in context["files"]] == ["app.py", "pkg/util.py"]
        assert context["unknown"] == ["nope.py"]
        impact = http.get("/impact/pkg/core.py").json()
        assert {f["id"] for f in impact["files"] if f["depth"] == 1} >= {"pkg/__init__.py"}
        hits = http.get("/search", params={"q": "connect", "limit": 3}).json()
        assert hits[0]["id"] == "pkg/core.py:connect"


def test_unknown_ids_bad_parameters_and_paths_that_try_to_leave(server: str) -> None:
    with httpx.Client(base_url=server) as http:
        missing = http.get("/node/pkg/cor.py")
        assert missing.status_code == 404
        assert "pkg/core.py" in missing.json()["suggestions"]
        for path in ("/node/..%2F..%2Fetc%2Fpasswd", "/node/%2Fetc%2Fpasswd", "/impact/../../x"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert "root:" not in response.text
        assert http.get("/search", params={"q": "x", "limit": "0"}).status_code == 400
        assert http.get("/search", params={"q": "x" * 5000}).status_code == 400
        assert http.get("/context").status_code == 400
        files = ",".join(f"f{i}.py" for i in range(51))
        assert http.get("/context", params={"files": files}).status_code == 400


def test_ctrl_c_stops_it_with_130(data_dir: Path) -> None:
    process, url = start(data_dir)
    assert httpx.get(f"{url}/health").status_code == 200
    code, rest = stop(process)
    assert code == 130
    assert "Traceback" not in rest


def test_generate_missing_calls_once_however_many_ask(data_dir: Path) -> None:
    fake = FakeLLM(latency=0.5)
    with fake.serve() as base_url:
        process, url = start(data_dir, "--generate-missing", env={"PITH_BASE_URL": base_url})
        try:

            def ask(_: int) -> dict[str, object]:
                response = httpx.get(f"{url}/node/pkg/util.py", timeout=30)
                response.raise_for_status()
                return response.json()  # type: ignore[no-any-return]

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(ask, range(8)))
        finally:
            stop(process)
    assert len(fake.calls_for("pkg/util.py")) == 1
    assert all(a["prose"]["summary"] == "Summary of pkg/util.py." for a in answers)  # type: ignore[index]
    with Store.open(data_dir / "pith.db") as store:
        assert store.prose("pkg/util.py") is not None


@pytest.mark.parametrize("where", ["busy port", "unknown host"])
def test_a_place_it_cannot_listen_is_one_line(data_dir: Path, where: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        if where == "busy port":
            args = ["--port", str(busy.getsockname()[1])]
        else:
            args = ["--host", "no-such-host.invalid", "--port", "0"]
        result = subprocess.run(
            [sys.executable, "-m", "pith", "--data-dir", str(data_dir), "serve", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.startswith("pith: error: cannot listen on "), result.stderr
    assert result.stderr.count("\n") == 1
    assert "--port" in result.stderr
