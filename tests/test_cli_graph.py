"""The command line of extract, build, status, list and show: exit codes, output, JSON shapes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from projects import HEALTHY, write_tree

from pith._models import Gotcha, Prose
from pith._store import Store


@pytest.fixture
def project(cwd):
    return write_tree(cwd / "proj", {**HEALTHY, "pkg/broken.py": "def (\n"})


@pytest.fixture
def built(run, project):
    assert run("extract", str(project))[0] == 0
    assert run("build")[0] == 0
    return project


def test_extract_and_build_print_summaries(run, project):
    code, out, _err = run("extract", str(project))
    assert code == 0
    assert "9 source files" in out
    assert "8 parsed" in out
    assert "1 skipped" in out
    assert "skipped pkg/broken.py: syntax error at line 1" in out
    code, out, _ = run("build")
    assert code == 0
    assert out.startswith("Built: 9 files, 3 modules, 2 functions")
    code, out, _ = run("extract", str(project))
    assert "0 parsed, 8 unchanged, 1 skipped" in out
    assert run("build")[1].startswith("Unchanged: 9 files")


def test_quiet_says_nothing(run, project):
    assert run("-q", "extract", str(project)) == (0, "", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("extract",), "Missing argument 'PATH'"),
        (("extract", "no/such/dir"), "does not exist"),
        (("extract", "proj/app.py"), "not a directory"),
        (("build",), "run `pith extract PATH` first"),
        (("list",), "run `pith extract PATH` first"),
        (("show", "x"), "run `pith extract PATH` first"),
        (("list", "--type", "class"), "Invalid value for '--type'"),
    ],
)
def test_usage_errors_exit_2(run, project, args, message):
    code, out, err = run(*args)
    assert code == 2
    assert out == ""
    assert message in err


def test_a_bad_path_creates_no_database(run, cwd):
    assert run("extract", "missing")[0] == 2
    assert not (cwd / "data").exists()


def test_list_and_show_before_build(run, project):
    run("extract", str(project))
    code, _, err = run("show", "app.py")
    assert code == 2
    assert "run `pith build` first" in err


def test_status_json(run, project, cwd):
    code, out, _ = run("status", "--json")
    assert code == 0
    assert json.loads(out) == {
        "data_dir": None,
        "root": None,
        "nodes": {"file": 0, "module": 0, "function": 0},
        "prose": {"current": 0, "stale": 0, "missing": 0},
        "needs_build": False,
        "orphaned_prose": 0,
        "runs": [],
        "next_generate": None,
    }
    run("extract", str(project))
    assert json.loads(run("status", "--json")[1])["needs_build"] is True
    run("build")
    assert json.loads(run("status", "--json")[1]) == {
        "data_dir": str(cwd / "data"),
        "root": str(project.resolve()),
        "nodes": {"file": 9, "module": 3, "function": 2},
        "prose": {"current": 0, "stale": 0, "missing": 14},
        "needs_build": False,
        "orphaned_prose": 0,
        "runs": [],
        "next_generate": {
            "nodes": 13,
            "if_children_change": 0,
            "forced_since": None,
            "force_remaining": 0,
            "left_out": 1,  # tests/test_core.py: tests get prose when asked for
        },
    }
    code, out, _ = run("status")
    assert "14 missing" in out
    assert "pith generate" in out


def test_list(run, built, cwd):
    with Store.open(cwd / "data" / "pith.db") as store:
        store.save_prose("pkg/core.py", prose("not the current hash"))
    code, out, _ = run("list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert len(rows) == 14
    by_id = {r["id"]: r for r in rows}
    assert by_id["pkg/core.py"] == {
        "id": "pkg/core.py",
        "type": "file",
        "path": "pkg/core.py",
        "summary": "Opens connections.",
        "stale": True,
    }
    assert by_id["app.py"]["summary"] is None
    assert by_id["app.py"]["stale"] is False
    modules = json.loads(run("list", "--type", "module", "--json")[1])
    assert [(m["id"], m["type"]) for m in modules] == [
        (".", "module"),
        ("pkg", "module"),
        ("pkg/sub", "module"),
    ]
    text = run("list", "--type", "function")[1]
    assert text == "function pkg/core.py:Client\nfunction pkg/core.py:connect\n"


def prose(source_hash: str) -> Prose:
    return Prose(
        summary="Opens connections.",
        purpose="Holds connect and Client.",
        gotchas=(Gotcha(warning="TIMEOUT is 30 s", location="line 3", evidence="TIMEOUT = 30"),),
        key_exports=("connect", "Client"),
        generated_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        model="test/model",
        source_hash=source_hash,
    )


def test_show_json(run, built, cwd):
    code, out, _ = run("show", "pkg/core.py", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"id", "type", "path", "name", "metadata", "edges", "prose", "source"}
    assert (data["id"], data["type"], data["path"], data["name"]) == (
        "pkg/core.py",
        "file",
        "pkg/core.py",
        "core.py",
    )
    assert data["prose"] is None
    assert {"type": "contains", "target": "pkg/core.py:connect"} in data["edges"]
    assert {"type": "testFile", "target": "tests/test_core.py"} in data["edges"]
    assert data["metadata"]["fan_in"] == 5

    with Store.open(cwd / "data" / "pith.db") as store:
        store.save_prose("pkg/core.py", prose(store.node("pkg/core.py").source_hash))
    data = json.loads(run("show", "pkg/core.py", "--json")[1])
    assert data["prose"]["summary"] == "Opens connections."
    assert data["prose"]["gotchas"] == [
        {
            "warning": "TIMEOUT is 30 s",
            "location": "line 3",
            "evidence": "TIMEOUT = 30",
            "confidence": "medium",
        }
    ]
    assert data["prose"]["generated_at"] == "2024-01-02T03:04:05+00:00"
    assert data["prose"]["model"] == "test/model"
    assert data["prose"]["stale"] is False


def test_show_markdown_when_piped(run, built, cwd):
    with Store.open(cwd / "data" / "pith.db") as store:
        store.save_prose("pkg/core.py", prose("old"))
    code, out, _ = run("show", "pkg/core.py")
    assert code == 0
    assert out.startswith("# `pkg/core.py`\n")
    assert "**Stale**" in out
    assert "## Gotchas\n\n- TIMEOUT is 30 s (line 3) -- `TIMEOUT = 30`" in out
    assert "- contains `pkg/core.py:Client`" in out
    assert "*No prose yet" in run("show", "pkg")[1]
    assert "README: `README.md`" in run("show", "pkg")[1]
    assert "Exports: `TIMEOUT`, `BASE_URL`, `MAX_RETRIES`, `connect`, `Client`" in out
    assert "- line 3 (timeout): `TIMEOUT = 30`" in out


def test_show_a_function_shows_its_signature(run, built):
    code, out, _ = run("show", "pkg/core.py:connect")
    assert code == 0
    assert "def connect(url: str, retries: int = 3, *, timeout: float = 5.0) -> str" in out
    assert "Open a connection." in out
    assert '(raise): `raise ValueError("no url")`' in out
    assert "TIMEOUT = 30" not in out  # a module constant, outside the function
    assert "Methods: `send`, `close`" in run("show", "pkg/core.py:Client")[1]


def test_show_unknown_id_exits_1_with_suggestions(run, built):
    code, out, err = run("show", "pkg/cor.py")
    assert code == 1
    assert out == ""
    assert "no node 'pkg/cor.py'" in err
    assert "did you mean: pkg/core.py" in err
    assert err.count("\n") == 1  # one line


def test_the_real_entry_point(cwd, project):
    """One real process, to check the exit code as a shell sees it."""
    command = [sys.executable, "-m", "pith", "--data-dir", str(cwd / "data")]
    result = subprocess.run([*command, "build"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"pith: error: no pith database in {cwd / 'data'} (--data-dir): run `pith extract PATH` "
        "first\n"
    )
    result = subprocess.run(
        [*command, "extract", str(project)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "8 parsed" in result.stdout


def test_show_json_has_what_the_page_has_and_ids_are_normalised(run, project):
    run("extract", str(project))
    run("build")
    code, out, _ = run("show", "./pkg/core.py:Client", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["id"] == "pkg/core.py:Client"
    assert data["source"]["signature"].startswith("class Client")
    assert data["source"]["methods"] == ["send", "close"]
    _, page, _ = run("show", "pkg/core.py")
    assert "None" not in page
