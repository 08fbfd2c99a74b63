"""`pith status` tells what the next `pith generate` sends (issue 21, point 4): the count
`--dry-run` gives, unfinished `--force` runs included. The real command line, a real fake
endpoint on 127.0.0.1, the real SQLite file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakellm import FakeLLM
from projects import clean_env, run_pith
from sample_project import write_project

NODE_COUNT = 14  # the sample project's nodes (the root too)


@pytest.fixture
def endpoint() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
def env(tmp_path: Path, endpoint: FakeLLM) -> Iterator[dict[str, str]]:
    with endpoint.serve() as base_url:
        yield clean_env() | {"PITH_DATA_DIR": str(tmp_path / "data"), "PITH_BASE_URL": base_url}


def pith(*args: str, cwd: Path, env: dict[str, str]) -> str:
    return run_pith(*args, cwd=cwd, env=env).stdout


def dry_run_count(cwd: Path, env: dict[str, str]) -> int:
    out = pith("generate", "--dry-run", cwd=cwd, env=env)
    match = re.search(r"^nodes to generate: ([\d,]+)", out)
    assert match is not None
    return int(match[1].replace(",", ""))


def test_status_counts_what_a_forced_run_left_to_do(
    tmp_path: Path, env: dict[str, str], endpoint: FakeLLM
) -> None:
    write_project(tmp_path / "project")
    pith("extract", "project", cwd=tmp_path, env=env)
    pith("build", cwd=tmp_path, env=env)
    status = json.loads(pith("status", "--json", cwd=tmp_path, env=env))
    assert status["next_generate"] == {
        "nodes": NODE_COUNT,
        "if_children_change": 0,
        "forced_since": None,
        "force_remaining": 0,
        "left_out": 0,
    }
    assert run_pith("generate", cwd=tmp_path, env=env).returncode == 0
    assert (
        json.loads(pith("status", "--json", cwd=tmp_path, env=env))["next_generate"]["nodes"] == 0
    )
    assert "next:" not in pith("status", cwd=tmp_path, env=env)

    # A forced run that writes nothing: the endpoint does not know the model.
    endpoint.script(fail_status=404, fail_times=NODE_COUNT, fail_message="no such model")
    forced = run_pith("generate", "--force", cwd=tmp_path, env=env)
    assert forced.returncode == 1
    assert "unknown model" in forced.stderr
    status = json.loads(pith("status", "--json", cwd=tmp_path, env=env))
    assert status["prose"] == {"current": NODE_COUNT, "stale": 0, "missing": 0}
    pending = status["next_generate"]
    assert pending["nodes"] == dry_run_count(tmp_path, env) == NODE_COUNT
    assert pending["force_remaining"] == NODE_COUNT
    assert pending["forced_since"] is not None
    text = pith("status", cwd=tmp_path, env=env)
    assert f"did not finish: {NODE_COUNT} nodes still to rewrite" in text
    assert text.splitlines()[-1] == f"next:  pith generate ({NODE_COUNT} nodes)"
