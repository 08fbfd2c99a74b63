"""`pith generate` end to end: the real command in a subprocess, a real fake endpoint on
127.0.0.1, the real SQLite file, the real clock."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakellm import FakeLLM
from projects import run_pith
from sample_project import write_project

NODE_COUNT = 14  # the sample project's nodes: 9 files, 1 function, 4 modules (the root too)


pith = run_pith


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    return clean | {"PITH_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def built(tmp_path: Path, env: dict[str, str]) -> Path:
    """The working directory of a user who extracted and built the sample project."""
    write_project(tmp_path / "project")
    assert pith("extract", "project", cwd=tmp_path, env=env).returncode == 0
    assert pith("build", cwd=tmp_path, env=env).returncode == 0
    return tmp_path


@pytest.fixture
def endpoint(env: dict[str, str]) -> Iterator[FakeLLM]:
    fake = FakeLLM(latency=0.01)
    with fake.serve() as base_url:
        env["PITH_BASE_URL"] = base_url
        yield fake


def status(cwd: Path, env: dict[str, str]) -> dict[str, object]:
    result = pith("status", "--json", cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_generate_writes_every_node_and_a_report(
    built: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    result = pith("generate", "-c", "3", "--report", "run.json", cwd=built, env=env)
    assert result.returncode == 0, result.stderr
    assert f"Done: {NODE_COUNT} generated, 0 failed, 0 not attempted" in result.stderr
    assert len(endpoint.calls) == NODE_COUNT
    assert endpoint.max_in_flight <= 3
    assert status(built, env)["prose"] == {"current": NODE_COUNT, "stale": 0, "missing": 0}

    report = json.loads((built / "run.json").read_text())
    assert report["concurrency"] == 3
    assert report["base_url"] == env["PITH_BASE_URL"]
    assert report["totals"]["generated"] == NODE_COUNT
    assert {n["outcome"] for n in report["nodes"]} == {"generated"}

    shown = json.loads(pith("show", "pkg/sub", "--json", cwd=built, env=env).stdout)
    assert shown["prose"]["summary"] == "Summary of pkg/sub."

    again = pith("generate", cwd=built, env=env)
    assert again.returncode == 0
    assert "nothing to generate" in again.stderr
    assert len(endpoint.calls) == NODE_COUNT  # no call was made for current prose


def test_failures_exit_1_grouped_by_kind_with_advice(
    built: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    endpoint.script("pkg/core.py", fail_status=400, fail_times=99)
    endpoint.script("app.py", invalid_times=99)
    result = pith("generate", "--report", "run.json", cwd=built, env=env)
    assert result.returncode == 1
    assert f"{NODE_COUNT - 2} generated, 2 failed" in result.stderr
    assert "rejected requests (1): pkg/core.py" in result.stderr
    assert "invalid replies (1): app.py" in result.stderr
    assert result.stderr.count("fix: ") == 2
    assert "Traceback" not in result.stderr
    report = json.loads((built / "run.json").read_text())
    failed = {n["id"]: n["error"]["kind"] for n in report["nodes"] if n["outcome"] == "failed"}
    assert failed == {"pkg/core.py": "bad_request", "app.py": "invalid_reply"}


def test_a_bad_key_stops_the_run_and_is_never_printed(
    built: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    endpoint.api_key = "sk-right"
    env["PITH_API_KEY"] = "sk-wrong-and-secret"
    result = pith("generate", "-c", "2", "--report", "run.json", cwd=built, env=env)
    assert result.returncode == 1
    assert "authentication (2)" in result.stderr
    assert "PITH_API_KEY" in result.stderr
    assert len(endpoint.calls) == 2
    report_text = (built / "run.json").read_text()
    for text in (result.stderr, result.stdout, report_text):
        assert "sk-wrong-and-secret" not in text
    assert json.loads(report_text)["totals"]["not_attempted"] == NODE_COUNT - 2


def test_ctrl_c_keeps_finished_prose_and_a_rerun_does_only_the_rest(
    built: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    endpoint.latency = 0.2
    finished = []
    with subprocess.Popen(
        [sys.executable, "-m", "pith", "-v", "generate", "-c", "1", "--report", "run.json"],
        cwd=built,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:  # one line per node with -v: wait for three of them
            if " generated" in line:
                finished.append(line.split()[1])
            if len(finished) == 3:
                process.send_signal(signal.SIGINT)
                break
        rest = process.stderr.read()
        assert process.wait(timeout=60) == 130, rest
    assert "interrupted" in rest
    assert "Traceback" not in rest

    report = json.loads((built / "run.json").read_text())
    assert report["cancelled"] is True
    generated = {n["id"] for n in report["nodes"] if n["outcome"] == "generated"}
    assert set(finished) <= generated
    assert status(built, env)["prose"]["current"] == len(generated)  # type: ignore[index]

    # By start time: the interrupted run's last call may still be recorded after it exited.
    rerun_started = time.monotonic()
    rerun = pith("generate", cwd=built, env=env)
    assert rerun.returncode == 0, rerun.stderr
    rerun_ids = [call.node_id for call in endpoint.calls if call.start >= rerun_started]
    assert len(rerun_ids) == NODE_COUNT - len(generated)
    assert not set(rerun_ids) & generated


def test_without_a_key_a_remote_endpoint_is_refused_but_estimates_work(
    built: Path, env: dict[str, str]
) -> None:
    result = pith("generate", cwd=built, env=env)
    assert result.returncode == 2
    assert "PITH_API_KEY" in result.stderr
    assert "OPENROUTER_API_KEY" in result.stderr

    estimate = pith("generate", "--estimate", cwd=built, env=env)
    assert estimate.returncode == 0, estimate.stderr
    assert f"nodes to generate: {NODE_COUNT}" in estimate.stdout
    assert "estimated cost: $" in estimate.stdout  # the default model has a list price

    dry = pith("generate", "--dry-run", "-m", "someone/private-model", cwd=built, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "estimated cost: unknown" in dry.stdout
    assert "... and 4 more" in dry.stdout


@pytest.mark.parametrize("value", ["0", "-3", "two", "1.5"])
def test_a_bad_concurrency_exits_2_naming_the_range(
    built: Path, env: dict[str, str], value: str
) -> None:
    result = pith("generate", "-c", value, cwd=built, env=env)
    assert result.returncode == 2
    assert "from 1 to 1000" in result.stderr


def test_generate_before_build_says_what_to_run_first(tmp_path: Path, env: dict[str, str]) -> None:
    result = pith("generate", "--estimate", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "pith extract PATH" in result.stderr
    assert "Traceback" not in result.stderr


def test_report_into_a_missing_directory_is_refused_before_any_call(
    built: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    result = pith("generate", "--report", "no/such/dir/run.json", cwd=built, env=env)
    assert result.returncode == 2
    assert "no/such/dir" in result.stderr
    assert endpoint.calls == []


def test_retries_never_reach_stdout_and_show_with_verbose(
    built: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    # structlog is installed in the test environment: stamina's default instrumentation would
    # print its retry_scheduled events to stdout, which is reserved for results.
    import structlog  # noqa: F401

    endpoint.script("app.py", fail_status=500, fail_times=1, fail_headers={"Retry-After": "0"})
    result = pith("-v", "generate", "--report", "run.json", cwd=built, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "retry 1 in 0.0 s after: " in result.stderr
    assert json.loads((built / "run.json").read_text())["totals"]["retries"] == 1


def test_importing_pith_leaves_stamina_alone() -> None:
    code = (
        "import logging, pith, pith._generate._engine, pith._llm._client\n"
        "print(logging.getLogger('stamina').handlers)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("adapt", [True, False])
def test_a_rate_limited_server_costs_no_node(
    built: Path, env: dict[str, str], endpoint: FakeLLM, adapt: bool
) -> None:
    endpoint.latency = 0.05
    endpoint.capacity = 2
    endpoint.retry_after = 0.1
    flags = [] if adapt else ["--no-adapt"]
    result = pith("generate", "-c", "6", *flags, "--report", "run.json", cwd=built, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads((built / "run.json").read_text())
    assert report["totals"]["failed"] == 0
    trace = report["concurrency_trace"]
    assert trace["rate_limited"] == endpoint.refused > 0
    assert (trace["adaptive"], trace["ceiling"]) == (adapt, 6)
    if adapt:
        assert trace["lowest"] < 6
    else:  # --no-adapt: the refusals are waited out at a fixed concurrency
        assert (trace["lowest"], trace["final"], trace["changes"]) == (6, 6, [])


def test_a_closed_port_fails_fast_with_one_line_naming_the_url(
    built: Path, env: dict[str, str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result = pith("generate", "--base-url", url, "--report", "run.json", cwd=built, env=env)
    assert result.returncode == 1
    assert f"cannot reach {url}" in result.stderr
    assert "check --base-url / PITH_BASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((built / "run.json").read_text())
    assert report["totals"]["not_attempted"] > 0


def test_sigterm_ends_like_ctrl_c_with_143(
    built: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    endpoint.latency = 0.2
    with subprocess.Popen(
        [sys.executable, "-m", "pith", "-v", "generate", "-c", "1", "--report", "run.json"],
        cwd=built,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:  # wait for the first node to be written
            if " generated" in line:
                process.send_signal(signal.SIGTERM)
                break
        rest = process.stderr.read()
        assert process.wait(timeout=60) == 143, rest
    assert "interrupted" in rest
    assert "Traceback" not in rest
    report = json.loads((built / "run.json").read_text())
    assert report["cancelled"] is True
    assert report["totals"]["generated"] >= 1
