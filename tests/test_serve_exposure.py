"""What `pith serve` exposes and to whom (issue 23, point 3; issue 21's `GET /` and `--help`;
issue 20's signals): a real server process on 127.0.0.1, real HTTP requests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio
from fakellm import FakeLLM
from mockclock import client_for, generate_inline
from sample_project import built_store
from starlette.routing import Route
from test_serve import start, stop

from pith._generate import FifoCapacityLimiter
from pith._store import Store
from pith._wiki._serve import FAILURE_COOLDOWN, MissingProse, create_app


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    built_store(tmp_path).close()  # the sample project, built into tmp_path/data, no prose
    return tmp_path / "data"


def test_only_loopback_and_allowed_hosts_are_answered(data_dir: Path) -> None:
    process, url = start(data_dir, "--allow-host", "wiki.lan")
    port = url.rpartition(":")[2]
    try:
        with httpx.Client(base_url=url) as http:
            for host in ("attacker.example", f"attacker.example:{port}", "10.0.0.1", "wiki.lan.x"):
                refused = http.get("/health", headers={"Host": host})
                assert refused.status_code == 403, host
                assert "--allow-host" in refused.json()["error"]
                assert http.get("/node/app.py", headers={"Host": host}).status_code == 403
            for host in (
                f"localhost:{port}",
                f"127.0.0.1:{port}",
                "[::1]",
                "wiki.lan",
                "WIKI.LAN:1",
            ):
                assert http.get("/health", headers={"Host": host}).status_code == 200, host
    finally:
        stop(process)


def test_a_browser_request_from_another_site_is_refused(data_dir: Path) -> None:
    # A page of another site cannot read the answer, but its request alone could spend a call.
    process, url = start(data_dir, "--allow-host", "wiki.lan")
    try:
        with httpx.Client(base_url=url) as http:
            for headers in (
                {"Origin": "http://attacker.example"},
                {"Origin": "https://attacker.example:8443"},
                {"Sec-Fetch-Site": "cross-site"},
            ):
                refused = http.get("/node/app.py", headers=headers)
                assert refused.status_code == 403, headers
                assert "another site" in refused.json()["error"]
            for headers in (
                {"Origin": "http://localhost:3000"},
                {"Origin": "http://wiki.lan"},
                {"Sec-Fetch-Site": "same-origin"},
                {"Sec-Fetch-Site": "none"},
            ):
                assert http.get("/node/app.py", headers=headers).status_code == 200, headers
    finally:
        stop(process)


def test_no_answer_holds_an_absolute_path(data_dir: Path, tmp_path: Path) -> None:
    process, url = start(data_dir)
    try:
        with httpx.Client(base_url=url) as http:
            health = http.get("/health").json()
            assert health["project"] == "project"
            answers = [
                http.get(path, params=params).text
                for path, params in [
                    ("/health", {}),
                    ("/health", {"format": "md"}),
                    ("/", {}),
                    ("/node/.", {}),
                    ("/node/app.py", {"format": "md"}),
                    ("/context", {"files": "app.py"}),
                    ("/impact/pkg/core.py", {}),
                    ("/search", {"q": "connect"}),
                    ("/node/nope.py", {}),
                ]
            ]
    finally:
        stop(process)
    for text in answers:
        assert str(tmp_path) not in text


def test_a_non_loopback_address_is_said_in_one_warning(data_dir: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    command = ["serve", "--host", "0.0.0.0", "--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "pith", "--data-dir", str(data_dir), *command],
        stderr=subprocess.PIPE,
        text=True,
        env=clean,
    )
    assert process.stderr is not None
    warning = process.stderr.readline()  # before "serving": read before any request
    try:
        assert warning.startswith("pith: warning: listening on 0.0.0.0, not a loopback address"), (
            warning
        )
        assert process.stderr.readline().startswith("pith: serving http://0.0.0.0:")
    finally:
        code, rest = stop(process)
    assert code == 130, rest


def test_loopback_is_served_without_a_warning(data_dir: Path) -> None:
    process, _ = start(data_dir)  # asserts the first line is "serving"
    _, rest = stop(process)
    assert "warning" not in rest


def test_the_root_lists_the_endpoints(data_dir: Path) -> None:
    process, url = start(data_dir)
    try:
        with httpx.Client(base_url=url) as http:
            index = http.get("/")
            markdown = http.get("/", params={"format": "md"})
    finally:
        stop(process)
    assert index.status_code == 200
    paths = [e["path"] for e in index.json()["endpoints"]]
    assert {"/node/{node_id}", "/context", "/impact/{node_id}", "/search", "/health"} <= set(paths)
    assert all(e["about"] for e in index.json()["endpoints"])
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "`GET /health`" in markdown.text


def test_help_lists_every_endpoint_and_the_markdown_format(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pith", "serve", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    with contextlib.closing(Store.open(data_dir / "pith.db")) as store:
        routes = [r for r in create_app(store).routes if isinstance(r, Route)]
    assert len(routes) >= 6
    for route in routes:  # "/node/{node_id:path}" is said "GET /node/ID"
        method = "POST" if "POST" in (route.methods or ()) else "GET"
        assert f"{method} {route.path.partition('{')[0]}" in result.stdout, route.path
    for word in ("/health", "?format=md", "--allow-host", "--generate-budget"):
        assert word in result.stdout, word


def test_bad_and_oversized_parameters_are_400_with_the_bound(data_dir: Path) -> None:
    process, url = start(data_dir)
    try:
        with httpx.Client(base_url=url) as http:
            long_query = http.get("/search", params={"q": "connect " + "a" * 2000})
            long_id = http.get("/node/" + "x" * 9000)
            limit = http.get("/search", params={"q": "connect", "limit": "1000"})
            files = http.get("/context", params={"files": ",".join(["a.py"] * 51)})
    finally:
        stop(process)
    assert long_query.status_code == 400
    assert "1,000 characters" in long_query.json()["error"]
    assert long_id.status_code == 400
    assert "x" * 100 not in long_id.text  # the input is not repeated back
    assert limit.status_code == 400
    assert files.status_code == 400


def test_sigterm_stops_it_with_143(data_dir: Path) -> None:
    process, url = start(data_dir)
    assert httpx.get(f"{url}/health").status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.stderr is not None
    with process.stderr:
        rest = process.stderr.read()
    assert process.wait(timeout=30) == 143, rest
    assert "Traceback" not in rest


def test_a_node_that_fails_is_paid_for_once_not_per_request(data_dir: Path) -> None:
    fake = FakeLLM()
    fake.script("pkg/util.py", invalid_times=10**6)  # never valid
    with fake.serve() as base_url:
        process, url = start(data_dir, "--generate-missing", env={"PITH_BASE_URL": base_url})
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                first = http.get("/node/pkg/util.py")
                paid = len(fake.calls_for("pkg/util.py"))
                for _ in range(19):
                    again = http.get("/node/pkg/util.py")
                    assert again.status_code == 200
                    assert again.json()["prose"] is None
        finally:
            _, rest = stop(process)
    assert first.status_code == 200
    assert paid >= 1
    assert len(fake.calls_for("pkg/util.py")) == paid, rest


def test_the_budget_bounds_the_calls_of_the_process(data_dir: Path) -> None:
    fake = FakeLLM()
    with fake.serve() as base_url:
        process, url = start(
            data_dir,
            "--generate-missing",
            "--generate-budget",
            "1",
            env={"PITH_BASE_URL": base_url},
        )
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                assert http.get("/node/pkg/util.py").json()["prose"] is not None
                assert http.get("/node/app.py").json()["prose"] is None
                assert http.get("/node/pkg/core.py").json()["prose"] is None
        finally:
            _, rest = stop(process)
    assert [c.node_id for c in fake.calls] == ["pkg/util.py"]
    assert rest.count("budget of 1 LLM calls is spent") == 1, rest


@contextlib.asynccontextmanager
async def missing_prose(
    tmp_path: Path, budget: int = 100
) -> AsyncIterator[tuple[MissingProse, FakeLLM]]:
    """`MissingProse` over the sample project on the fake, whose `pkg/util.py` always fails,
    with the store's calls inline (the mock clock)."""
    fake = FakeLLM()
    fake.script("pkg/util.py", invalid_times=10**6)
    with contextlib.closing(built_store(tmp_path)) as store:
        async with client_for(fake) as client:
            missing = MissingProse(
                store=store,
                client=client,
                limiter=FifoCapacityLimiter(2),
                budget=budget,
                generate=generate_inline,
            )
            yield missing, fake


async def test_a_failed_node_is_tried_again_after_the_cool_down(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with missing_prose(tmp_path) as (missing, fake):
        await missing.ensure("pkg/util.py")
        paid = len(fake.calls)
        assert paid >= 1
        assert missing.calls == paid
        await trio.sleep(FAILURE_COOLDOWN - 1)
        await missing.ensure("pkg/util.py")
        assert len(fake.calls) == paid  # still cooling down
        await trio.sleep(2)
        await missing.ensure("pkg/util.py")
        assert len(fake.calls) == 2 * paid


async def test_the_budget_counts_every_call(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with missing_prose(tmp_path, budget=1) as (missing, fake):
        await missing.ensure("pkg/util.py")  # one failed node: its calls count
        with pytest.warns(UserWarning, match="budget of 1 LLM calls is spent"):
            await missing.ensure("app.py")
        assert {c.node_id for c in fake.calls} == {"pkg/util.py"}
        assert missing.store.prose("app.py") is None
