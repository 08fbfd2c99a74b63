"""Runs at once through the real command line: two `pith generate` processes on one store
against a real fake endpoint on 127.0.0.1 (the real clock), and `pith status` showing runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from fakellm import FakeLLM
from sample_project import write_project

from pith._generate._leases import Leases
from pith._store import Store


def pith(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pith", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> str:
    """Its stderr, once it exited 0."""
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return err


def built_project(tmp_path: Path) -> dict[str, str]:
    """Extract and build the sample project; the environment of the commands that follow."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    env["PITH_DATA_DIR"] = str(tmp_path / "data")
    write_project(tmp_path / "project")
    finished(pith("extract", "project", cwd=tmp_path, env=env))
    finished(pith("build", cwd=tmp_path, env=env))
    return env


def test_two_generate_processes_pay_for_each_node_once(tmp_path: Path) -> None:
    env = built_project(tmp_path)
    fake = FakeLLM(latency=0.3)
    with fake.serve() as base_url:
        env["PITH_BASE_URL"] = base_url
        runs = [
            pith("generate", "-c", "2", "--report", f"run{i}.json", cwd=tmp_path, env=env)
            for i in range(2)
        ]
        summaries = [finished(process) for process in runs]

    with Store.open(tmp_path / "data" / "pith.db") as store:
        ids = set(store.node_ids())
        assert store.prose_counts() == {"current": len(ids), "stale": 0, "missing": 0}
    # No lease expired (every run lived), so no node was paid for twice.
    assert Counter(call.node_id for call in fake.calls) == dict.fromkeys(ids, 1)
    reports = [json.loads((tmp_path / f"run{i}.json").read_text()) for i in range(2)]
    generated = [
        node["id"]
        for report in reports
        for node in report["nodes"]
        if node["outcome"] == "generated"
    ]
    assert sorted(generated) == sorted(ids)
    assert any(" written by another run, " in summary for summary in summaries)
    for report in reports:  # what a run did not write, the other did
        outcomes = {node["outcome"] for node in report["nodes"]}
        assert outcomes <= {"generated", "written-by-another-run"}
        assert (
            report["totals"]["generated"] + report["totals"]["written_by_another_run"]
            == (report["totals"]["selected"])
        )


def test_a_killed_runs_nodes_are_taken_over_and_only_its_calls_in_flight_paid_twice(
    tmp_path: Path,
) -> None:
    env = built_project(tmp_path)
    fake = FakeLLM(latency=0.5)
    with fake.serve() as base_url:
        env["PITH_BASE_URL"] = base_url
        first = pith("-v", "generate", "-c", "2", cwd=tmp_path, env=env)
        assert first.stderr is not None
        first.stderr.readline()  # its first node is written; two calls are in flight
        first.kill()  # SIGKILL: no cleanup, its leases stay in the store
        first.communicate()  # reaped: its pid is gone
        # On the same host, the dead pid frees its leases at once (no 60 s wait).
        with Store.open(tmp_path / "data" / "pith.db") as store:
            left = [node_id for (node_id,) in store._query("SELECT node_id FROM leases")]
            assert [Leases(store=store).holder(node_id) for node_id in left] == [None] * len(left)
        finished(pith("generate", "-c", "2", cwd=tmp_path, env=env))

    with Store.open(tmp_path / "data" / "pith.db") as store:
        ids = set(store.node_ids())
        assert store.prose_counts() == {"current": len(ids), "stale": 0, "missing": 0}
    # A request the kill cut off before its body arrived names no node, and was not paid for.
    calls = Counter(call.node_id for call in fake.calls if call.node_id is not None)
    assert set(calls) == ids
    # At most what the killed run had in flight: its 2 calls, and the replies it had received
    # but not yet committed (a commit follows right after its call gives the slot back).
    assert sum(n - 1 for n in calls.values()) <= 2 * 2


def test_status_shows_runs_in_progress(run, cwd: Path) -> None:
    with Store.open(cwd / "data" / "pith.db") as store:
        leases = Leases(store=store, owner="run-a")
        leases.start(selected=7)
        leases.claim("pkg/a.py", "h", dt.datetime.now(dt.UTC))
        code, out, _ = run("status", "--json")
        assert code == 0
        (shown,) = json.loads(out)["runs"]
        assert (shown["owner"], shown["pid"], shown["claimed"], shown["selected"]) == (
            "run-a",
            os.getpid(),
            1,
            7,
        )
        assert "run:   run-a" in run("status")[1]
        assert "1 node claimed of 7 selected" in run("status")[1]
        leases.finish()
    assert json.loads(run("status", "--json")[1])["runs"] == []
