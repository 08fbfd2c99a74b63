"""What pith prints stays short and right on real projects (issue 21, point 6): author lists are
capped, a log gets a progress line every few seconds, the 404 fix names the endpoint, counts
agree with their nouns, an empty file has no line range."""

from __future__ import annotations

import io
import json
from pathlib import Path

import rich.console
from fakellm import FakeLLM
from projects import clean_env, commit_all, git, run_pith, write_tree
from sample_project import write_project

from pith._cli._console import PLAIN_SECONDS, GenerateProgress
from pith._generate._report import NodeResult, Outcome, ProgressUpdate
from pith._models import NodeType

AUTHORS = [f"Author {chr(ord('A') + i)}" for i in range(12)]


def test_a_page_names_the_first_authors_and_counts_the_rest(run, cwd: Path) -> None:
    root = write_tree(cwd / "proj", {"mod.py": "x = 0\n"})
    git(root, "init", "-q")
    for number, author in enumerate(AUTHORS):
        (root / "mod.py").write_text(f"x = {number}\n")
        commit_all(root, f"change {number}", author=author)
    assert run("extract", str(root))[0] == 0
    assert run("build")[0] == 0
    code, page, _ = run("show", "mod.py")
    assert code == 0
    authors = next(line for line in page.splitlines() if line.startswith("- **authors**"))
    assert authors == "- **authors**: " + ", ".join(sorted(AUTHORS)[:5]) + " and 7 more"
    data = json.loads(run("show", "mod.py", "--json")[1])
    assert sorted(data["metadata"]["authors"]) == sorted(AUTHORS)  # the data keeps them all


def update(done: int, total: int) -> ProgressUpdate:
    result = NodeResult(id=f"n{done}.py", type=NodeType.FILE, phase=1, outcome=Outcome.GENERATED)
    return ProgressUpdate(result=result, done=done, total=total, failed=0, concurrency=5)


def test_a_log_gets_a_progress_line_every_few_seconds_not_every_few_nodes() -> None:
    out = io.StringIO()
    console = rich.console.Console(file=out, force_terminal=False, width=200)
    now = [0.0]
    total = 400
    with GenerateProgress(total, verbosity=0, console=console, clock=lambda: now[0]) as bar:
        for done in range(1, total + 1):
            now[0] += 0.0625  # 16 nodes a second (exact in binary): 25 s in all
            bar.update(update(done, total))
    lines = out.getvalue().splitlines()
    # One line per PLAIN_SECONDS of the run, and the last one.
    assert len(lines) == 25 / PLAIN_SECONDS
    assert lines[0] == "Progress: 80/400 nodes, 0 failed, concurrency 5"
    assert lines[-1] == "Progress: 400/400 nodes, 0 failed, concurrency 5"


def test_the_404_fix_names_the_endpoint_and_the_model(tmp_path: Path) -> None:
    write_project(tmp_path / "project")
    fake = FakeLLM()
    fake.script(fail_status=404, fail_times=1000, fail_message="not found")
    with fake.serve() as base_url:
        env = clean_env() | {"PITH_DATA_DIR": str(tmp_path / "data"), "PITH_BASE_URL": base_url}
        assert run_pith("extract", "project", cwd=tmp_path, env=env).returncode == 0
        result = run_pith("generate", "-m", "some/model", cwd=tmp_path, env=env)
    assert result.returncode == 1
    fix = next(line for line in result.stderr.splitlines() if line.startswith("  fix:"))
    assert fix == (
        "  fix: check -m/--model (or PITH_MODEL) and --base-url (or PITH_BASE_URL): "
        f"{base_url} answered 404 for the model 'some/model'"
    )


def test_one_of_a_thing_is_said_in_the_singular(run, cwd: Path) -> None:
    root = write_tree(cwd / "proj", {"one.py": "'''One line.'''\n", "empty.py": ""})
    assert run("extract", str(root))[0] == 0
    out = run("build")[1]
    # The root (the overview) is a module of its own.
    assert out.startswith("Built: 2 files, 1 module, 0 functions, 2 edges; 0 nodes removed;")
    (root / "empty.py").unlink()
    assert run("extract", str(root))[0] == 0
    out = run("build")[1]
    assert out.startswith("Built: 1 file, 1 module, 0 functions, 1 edge; 1 node removed;")
    assert "nodes: 1 file, 1 module, 0 functions" in run("status")[1]
    assert "next:  pith generate (2 nodes)" in run("status")[1]
    out = run("generate", "--estimate")[1]
    assert out.startswith("nodes to generate: 2 (1 file or function, 1 module)\n")
    assert "\n(line 1)\n" in run("context", "one.py")[1]


def test_an_empty_file_has_no_line_range(run, cwd: Path) -> None:
    root = write_tree(cwd / "proj", {"empty.py": "", "full.py": "x = 1\ny = 2\n"})
    run("extract", str(root))
    run("build")
    code, out, _ = run("context", "empty.py", "full.py")
    assert code == 0
    assert "lines 1-0" not in out
    assert "(lines 1-2)" in out
    data = json.loads(run("context", "empty.py", "--json")[1])
    assert "lines" not in data["files"][0]["source"]
