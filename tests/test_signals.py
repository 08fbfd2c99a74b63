"""Ctrl-C at the edges of a command: while it starts, and again while a stopped run reports.

Real signals to real subprocesses; the report goes into a named pipe that the test reads, so
the test, not a timer, decides when the writer is blocked mid-report.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakellm import FakeLLM
from projects import clean_env, run_pith

STILL_WRITING = "still writing the report"


def test_ctrl_c_while_the_command_line_is_imported_is_one_line(tmp_path: Path) -> None:
    # What the `pith` script runs, with a real SIGINT arriving while click is imported.
    script = """
import builtins, os, signal
real_import = builtins.__import__
def importing(name, *args, **kwargs):
    if name == "click":
        os.kill(os.getpid(), signal.SIGINT)
    return real_import(name, *args, **kwargs)
builtins.__import__ = importing
from pith.__main__ import main
main()
"""
    result = subprocess.run(
        [sys.executable, "-c", script, "status"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 130
    assert result.stderr == "pith: interrupted\n"


@pytest.fixture
def many_nodes(tmp_path: Path) -> Path:
    """A project with enough nodes that the report (~250 bytes a node) overfills a pipe's
    64 KiB buffer: the writer then blocks until the test reads."""
    env = clean_env() | {"PITH_DATA_DIR": str(tmp_path / "data")}
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 1\n")
    for i in range(200):
        (project / f"m{i}.py").write_text(
            f'"""Module {i}."""\n\ndef f{i}(x):\n    return x + {i}\n\n'
            f"def g{i}(x):\n    return f{i}(x) * 2\n"
        )
    assert run_pith("extract", "project", cwd=tmp_path, env=env).returncode == 0
    assert run_pith("build", cwd=tmp_path, env=env).returncode == 0
    return tmp_path


@pytest.fixture
def stopped_run(many_nodes: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A `pith generate` stopped by Ctrl-C after its first node, now blocked writing its
    report into a pipe nobody has read yet; and the pipe's read end."""
    env = clean_env() | {
        "PITH_DATA_DIR": str(many_nodes / "data"),
        "PITH_API_KEY": "sk-signals-test-key",
    }
    report = many_nodes / "run.json"
    os.mkfifo(report)
    # Open before the writer so that its open() does not block; nothing is read until the test
    # says so.
    pipe = os.open(report, os.O_RDONLY | os.O_NONBLOCK)
    fake = FakeLLM(latency=0.2)
    with fake.serve() as base_url:
        command = [sys.executable, "-m", "pith", "-v", "generate", "-c", "1"]
        with subprocess.Popen(
            [*command, "--report", str(report)],
            cwd=many_nodes,
            env=env | {"PITH_BASE_URL": base_url},
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stderr is not None
            for line in process.stderr:
                if " generated" in line:
                    process.send_signal(signal.SIGINT)
                    break
            # Readable once the report has started; it cannot finish while the pipe is full.
            assert select.select([pipe], [], [], 60)[0], "the report was never started"
            try:
                yield process, pipe
            finally:
                process.kill()
                os.close(pipe)


def interrupt_again(process: subprocess.Popen[str]) -> str:
    """Ctrl-C once more; what the process says until it acknowledges (or, unfixed, dies)."""
    assert process.stderr is not None
    process.send_signal(signal.SIGINT)
    said = ""
    for line in process.stderr:
        said += line
        if STILL_WRITING in line:
            break
    return said


def read_all(pipe: int) -> str:
    os.set_blocking(pipe, True)
    chunks = []
    while chunk := os.read(pipe, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_a_second_ctrl_c_still_writes_the_report(
    stopped_run: tuple[subprocess.Popen[str], int],
) -> None:
    process, pipe = stopped_run
    said = interrupt_again(process)
    report = json.loads(read_all(pipe))  # whole: the second Ctrl-C did not cut it short
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert STILL_WRITING in said
    assert report["cancelled"] is True
    assert report["totals"]["generated"] >= 1
    assert len(report["nodes"]) > 400
    assert "interrupted" in rest
    assert "Traceback" not in said + rest


def test_a_third_ctrl_c_quits_without_the_report(
    stopped_run: tuple[subprocess.Popen[str], int],
) -> None:
    process, pipe = stopped_run
    assert process.stderr is not None
    said = interrupt_again(process)
    process.send_signal(signal.SIGINT)
    said += process.stderr.read()  # the process ends without anyone reading the report
    assert process.wait(timeout=60) == 130
    assert "interrupted" in said
    assert "Traceback" not in said
    with pytest.raises(json.JSONDecodeError):
        json.loads(read_all(pipe))


def test_sigterm_stops_a_background_generate_that_ignores_sigint(many_nodes: Path) -> None:
    """Started by a script or an agent's shell, a run ignores SIGINT; `kill` still stops it:
    exit 143, the report written, finished prose kept (issue 20, point 12)."""
    env = clean_env() | {
        "PITH_DATA_DIR": str(many_nodes / "data"),
        "PITH_API_KEY": "sk-signals-test-key",
    }
    report = many_nodes / "run.json"
    fake = FakeLLM(latency=0.2)
    with (
        fake.serve() as base_url,
        subprocess.Popen(
            [sys.executable, "-m", "pith", "-v", "generate", "-c", "1", "--report", str(report)],
            cwd=many_nodes,
            env=env | {"PITH_BASE_URL": base_url},
            stderr=subprocess.PIPE,
            text=True,
            # What a shell does for a job started with `&`: SIGINT ignored, inherited by exec.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        ) as process,
    ):
        assert process.stderr is not None
        for line in process.stderr:
            if " generated" in line:
                process.send_signal(signal.SIGTERM)
                break
        rest = process.stderr.read()
        code = process.wait(timeout=60)
    assert code == 143, rest
    assert "interrupted by SIGTERM" in rest
    assert "Traceback" not in rest
    written = json.loads(report.read_text())
    assert written["cancelled"] is True
    assert 1 <= written["totals"]["generated"] < len(written["nodes"])
    assert len(fake.calls) < len(written["nodes"])
