"""`extract` on fixture projects: which files, bad input, incremental reruns, git history."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from projects import HEALTHY, commit_all, git, write_tree

from pith._errors import UsageError
from pith._extract import _run, extract
from pith._store import Store


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data" / "pith.db") as store:
        yield store


@pytest.fixture
def project(tmp_path):
    return write_tree(tmp_path / "proj", HEALTHY)


def ids(store):
    return sorted(store.file_hashes())


def test_healthy_project(project, store):
    summary = extract(project, store, workers=1)
    assert summary.root == str(project.resolve())
    assert store.root == str(project.resolve())
    assert summary.parsed == summary.files == 8
    assert summary.skipped == ()
    assert not summary.in_git
    core = store.file_facts("pkg/core.py")
    assert core is not None
    assert [f.name for f in core.functions] == ["connect", "_helper"]
    assert core.git is None
    leaf = store.file_facts("pkg/sub/leaf.py")
    assert [(i.names, i.resolved) for i in leaf.imports] == [
        (("connect",), "pkg/core.py"),
        (("sibling",), "pkg/sub/sibling.py"),
    ]
    app = store.file_facts("app.py")
    assert {i.module: i.resolved for i in app.imports} == {
        "sys": None,
        "pkg.core": "pkg/core.py",
        "pkg.sub": "pkg/sub/leaf.py",
    }
    assert store.readme("").text.startswith("# demo")
    assert store.readme(".").name == "README.md"
    assert store.readme("pkg").text.startswith("# pkg")
    assert store.readme("pkg/sub") is None


def test_walk_skips_tool_directories_and_the_data_dir(project, tmp_path):
    write_tree(
        project,
        {
            ".venv/lib/site.py": "x = 1\n",
            "env2/pyvenv.cfg": "home = /usr\n",
            "env2/lib/mod.py": "x = 1\n",
            "pkg/__pycache__/core.py": "x = 1\n",
            "build/lib/pkg/core.py": "x = 1\n",
            "node_modules/x/y.py": "x = 1\n",
            ".tox/py/z.py": "x = 1\n",
            "mydata/pith_stuff.py": "x = 1\n",
            "notes.txt": "not python\n",
        },
    )
    with Store.open(tmp_path / "db" / "pith.db") as store:
        extract(project, store, workers=1, data_dir=project / "mydata")
        assert ids(store) == sorted(k for k in HEALTHY if k.endswith(".py"))


def test_bad_input_never_stops_extraction(project, store, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    write_tree(
        project,
        {
            "bad/syntax.py": "def f(:\n",
            "bad/latin.py": b"x = '\xe9t\xe9'\n",
            "bad/binary.py": b"\x7fELF\x02\x01\x00\x00",
            "bad/empty.py": "",
            "bad/huge.py": "x = 1\n" * 200_000,
        },
    )
    os.symlink("loop_b.py", project / "bad" / "loop_a.py")
    os.symlink("loop_a.py", project / "bad" / "loop_b.py")
    os.symlink(outside, project / "bad" / "escape.py")
    os.symlink("nowhere.py", project / "bad" / "dangling.py")
    os.symlink("../pkg/core.py", project / "bad" / "inside.py")
    os.symlink("..", project / "bad" / "up")  # a directory loop: never followed

    summary = extract(project, store, workers=1)

    reasons = {s.path: s.reason for s in summary.skipped}
    assert set(reasons) == {
        "bad/syntax.py",
        "bad/latin.py",
        "bad/binary.py",
        "bad/huge.py",
        "bad/loop_a.py",
        "bad/loop_b.py",
        "bad/escape.py",
        "bad/dangling.py",
    }
    assert "syntax error" in reasons["bad/syntax.py"]
    assert "bytes invalid in utf-8" in reasons["bad/latin.py"]
    assert "NUL" in reasons["bad/binary.py"]
    assert "over 1 MB" in reasons["bad/huge.py"]
    assert "symlink loop" in reasons["bad/loop_a.py"]
    assert "leaves the tree" in reasons["bad/escape.py"]
    assert "dangling" in reasons["bad/dangling.py"]
    # Every one of them still has facts (and so a node after build), with the problem recorded.
    for path, reason in reasons.items():
        assert store.file_facts(path).problem == reason
    assert store.file_facts("bad/empty.py").problem is None
    inside = store.file_facts("bad/inside.py")
    assert inside.problem is None
    assert inside.content_hash == store.file_facts("pkg/core.py").content_hash
    assert "SECRET" not in str(store.file_facts("bad/escape.py"))

    again = extract(project, store, workers=1)
    assert not again.changed  # problems that stay the same are no change
    assert again.skipped == summary.skipped


def test_unreadable_file(project, store, monkeypatch):
    locked = project / "locked.py"
    locked.write_text("x = 1\n")
    real_read = _run.read_regular_file

    def read_regular_file(path: Path, **options: int) -> bytes:
        if Path(path).name == "locked.py":  # chmod 0 would not stop root, who runs some CI
            raise PermissionError(13, "Permission denied")
        return real_read(path, **options)

    monkeypatch.setattr(_run, "read_regular_file", read_regular_file)
    summary = extract(project, store, workers=1)
    assert [(s.path, s.reason) for s in summary.skipped] == [
        ("locked.py", "unreadable: Permission denied; not read")
    ]
    assert store.file_facts("locked.py").content_hash == ""


def test_missing_path_or_not_a_directory(tmp_path, store):
    with pytest.raises(UsageError, match="does not exist"):
        extract(tmp_path / "nope", store)
    (tmp_path / "file.py").write_text("")
    with pytest.raises(UsageError, match="not a directory"):
        extract(tmp_path / "file.py", store)


def test_rerun_parses_only_what_changed(project, store):
    first = extract(project, store, workers=1)
    assert first.changed
    again = extract(project, store, workers=1)
    assert (again.parsed, again.unchanged, again.deleted) == (0, 8, 0)
    assert not again.changed

    (project / "pkg" / "util.py").write_text("def helper():\n    return 2\n")
    (project / "app.py").unlink()
    changed = extract(project, store, workers=1)
    assert (changed.parsed, changed.unchanged, changed.deleted) == (1, 6, 1)
    assert store.file_facts("app.py") is None
    assert store.file_facts("pkg/util.py").imports == ()

    forced = extract(project, store, workers=1, force=True)
    assert (forced.parsed, forced.unchanged) == (7, 0)


def test_a_new_file_re_resolves_the_imports_of_unchanged_files(project, store):
    write_tree(project, {"uses.py": "from pkg import extra\n"})
    extract(project, store, workers=1)
    assert store.file_facts("uses.py").imports[0].resolved == "pkg/__init__.py"
    write_tree(project, {"pkg/extra.py": "X = 1\n"})
    summary = extract(project, store, workers=1)
    assert summary.parsed == 1
    assert store.file_facts("uses.py").imports[0].resolved == "pkg/extra.py"
    (project / "pkg" / "extra.py").unlink()
    extract(project, store, workers=1)
    assert store.file_facts("uses.py").imports[0].resolved == "pkg/__init__.py"


def test_include_and_exclude_globs(project, store):
    extract(project, store, workers=1, exclude=["tests/*", "sibling.py"])
    assert "tests/test_core.py" not in ids(store)
    assert "pkg/sub/sibling.py" not in ids(store)
    assert "pkg/core.py" in ids(store)
    extract(project, store, workers=1, include=["pkg/*"], exclude=["*/sub/*"])
    assert ids(store) == ["pkg/__init__.py", "pkg/core.py", "pkg/util.py"]


def test_globs_from_the_codebases_pyproject(project, store):
    (project / "pyproject.toml").write_text('[tool.pith]\nexclude = ["tests/*", "app.py"]\n')
    extract(project, store, workers=1)
    assert "app.py" not in ids(store)
    assert "tests/test_core.py" not in ids(store)
    # A flag wins over the table.
    extract(project, store, workers=1, exclude=["pkg/util.py"])
    assert "app.py" in ids(store)
    assert "pkg/util.py" not in ids(store)


def test_process_pool_gives_the_same_facts(tmp_path):
    files = {
        f"pkg/m{i:03}.py": f"from . import m{(i + 1) % 200:03}\nX{i} = {i}\n" for i in range(200)
    }
    files["pkg/__init__.py"] = ""
    files["pkg/bad.py"] = "def (\n"
    root = write_tree(tmp_path / "big", files)
    with Store.open(tmp_path / "a.db") as one, Store.open(tmp_path / "b.db") as pool:
        extract(root, one, workers=1)
        summary = extract(root, pool, workers=2)
        assert summary.parsed == 201
        assert [s.path for s in summary.skipped] == ["pkg/bad.py"]
        assert one.all_file_facts() == pool.all_file_facts()
        assert pool.file_facts("pkg/m007.py").imports[0].resolved == "pkg/m008.py"


def die(paths):
    os._exit(1)  # a worker killed mid-run, as the OOM killer would


def test_a_dying_worker_loses_nothing(tmp_path, monkeypatch):
    files = {f"m{i:03}.py": f"X{i} = {i}\n" for i in range(160)}
    root = write_tree(tmp_path / "p", files)
    monkeypatch.setattr(_run, "_parse_chunk", die)
    with Store.open(tmp_path / "a.db") as store:
        summary = extract(root, store, workers=2)
        assert summary.parsed == 160
        assert store.file_facts("m042.py").exports == ("X42",)


# --- git ---------------------------------------------------------------------------------------


@pytest.fixture
def repo(project):
    git(project, "init", "-q")
    (project / ".gitignore").write_text("ignored/\n")
    commit_all(project, "Initial import", author="Ada Lovelace", date="2024-01-02T10:00:00+00:00")
    with (project / "pkg" / "core.py").open("a") as f:
        f.write("\nEXTRA = 2\n")
    commit_all(project, "Add EXTRA", author="Grace Hopper", date="2024-03-04T10:00:00+00:00")
    with (project / "pkg" / "core.py").open("a") as f:
        f.write("\nMORE = 3\n")
    commit_all(project, "Add MORE", author="Grace Hopper", date="2024-05-06T10:00:00+00:00")
    write_tree(project, {"ignored/gen.py": "x = 1\n", "untracked.py": "y = 2\n"})
    return project


def test_git_files_and_history(repo, store):
    summary = extract(repo, store, workers=1)
    assert summary.in_git
    assert "ignored/gen.py" not in ids(store)
    assert "untracked.py" in ids(store)  # trackable: not ignored
    core = store.file_facts("pkg/core.py").git
    assert core.commits == 3
    assert core.authors == ("Grace Hopper", "Ada Lovelace")
    assert core.recent_subjects == ("Add MORE", "Add EXTRA", "Initial import")
    assert core.first_commit.startswith("2024-01-02")
    assert core.last_commit.startswith("2024-05-06")
    assert store.file_facts("app.py").git.commits == 1
    assert store.file_facts("untracked.py").git is None
    dirs = store.dir_git()
    assert dirs[""].commits == 3
    assert dirs["pkg"].authors == ("Grace Hopper", "Ada Lovelace")
    assert dirs["pkg/sub"].commits == 1


def test_files_committed_together_are_each_others_co_changed(repo, store):
    def change(*paths: str) -> None:
        for path in paths:
            with (repo / path).open("a") as f:
                f.write("\nCHANGED = 1\n")

    for n in range(2):  # with the initial import, three commits together
        change("pkg/core.py", "app.py")
        commit_all(repo, f"Together {n}", author="Ada Lovelace")
    # A sweep over more than eight source files says nothing of what goes together, twice.
    sweep = [f"gen/m{i}.py" for i in range(7)]
    for n in range(2):
        write_tree(repo, dict.fromkeys(sweep, f"X = {n}\n"))
        change("pkg/core.py", "app.py")
        commit_all(repo, f"Sweep {n}", author="Ada Lovelace")
    extract(repo, store, workers=1)
    assert store.file_facts("pkg/core.py").git.co_changed == (("app.py", 3),)
    assert store.file_facts("app.py").git.co_changed == (("pkg/core.py", 3),)
    assert store.file_facts("gen/m0.py").git.co_changed == ()
    # Read back as the ranking reads it: commits, and partners that are files of the project.
    assert store.co_changed(["pkg/core.py"]) == {"pkg/core.py": (7, [("app.py", 3)])}


def test_git_history_of_a_subdirectory_is_relative_to_it(repo, store):
    extract(repo / "pkg", store, workers=1)
    assert store.file_facts("core.py").git.commits == 3
    assert store.file_facts("sub/leaf.py").git.commits == 1


def test_one_git_log_pass_and_ls_files(repo, store, monkeypatch):
    calls = []
    real_run = subprocess.run

    def spy(args, *rest, **kwargs):
        calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    extract(repo, store, workers=1)
    git_commands = [next(a for a in c[1:] if not a.startswith("-") and "=" not in a) for c in calls]
    assert git_commands.count("log") == 1
    assert git_commands.count("ls-files") == 1
    (ls_files,) = [c for c in calls if "ls-files" in c]
    assert {"--cached", "--others", "--exclude-standard"} <= set(ls_files)


def test_new_commit_refreshes_history_without_reparsing(repo, store):
    extract(repo, store, workers=1)
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty", author="Linus")
    with (repo / "app.py").open("a") as f:
        f.write("\n")
    commit_all(repo, "Touch app", author="Linus Torvalds")
    summary = extract(repo, store, workers=1)
    assert summary.parsed == 1
    assert store.file_facts("app.py").git.authors[0] in {"Linus Torvalds", "Ada Lovelace"}
    assert store.file_facts("app.py").git.commits == 2
    assert store.file_facts("app.py").git.recent_subjects[0] == "Touch app"


def test_a_repository_without_commits(project, store):
    git(project, "init", "-q")
    summary = extract(project, store, workers=1)
    assert summary.in_git
    assert summary.parsed == 8
    assert store.file_facts("app.py").git is None
    assert store.dir_git() == {}


def test_a_directory_git_ignores_is_walked(tmp_path, store):
    outer = tmp_path / "outer"
    write_tree(outer, {".gitignore": "versions/\n", "a.py": "x = 1\n"})
    git(outer, "init", "-q")
    inner = write_tree(outer / "versions" / "lib", {"mod.py": "y = 1\n", "pkg/__init__.py": ""})
    summary = extract(inner, store, workers=1)
    assert not summary.in_git
    assert ids(store) == ["mod.py", "pkg/__init__.py"]


def test_root_moves_to_another_codebase_only_when_asked(project, tmp_path, store):
    extract(project, store, workers=1)
    other = write_tree(tmp_path / "other", {"only.py": "x = 1\n"})
    with pytest.raises(UsageError, match=r"holds the extraction of .*--retarget"):
        extract(other, store, workers=1)
    assert len(ids(store)) == 8
    summary = extract(other, store, workers=1, retarget=True)
    assert summary.deleted == 8
    assert ids(store) == ["only.py"]
    assert store.root == str(Path(other).resolve())


def test_a_glob_that_matches_nothing_changes_nothing(project, store):
    extract(project, store, workers=1)
    with pytest.raises(UsageError, match=r"no source file matched .*--allow-empty"):
        extract(project, store, include=["src/*"], workers=1)
    assert len(ids(store)) == 8
    assert extract(project, store, include=["src/*"], allow_empty=True, workers=1).deleted == 8


def test_tracked_files_in_build_directories_are_read_untracked_ones_not(tmp_path, store):
    root = write_tree(
        tmp_path / "repo",
        {"pkg/__init__.py": "", "pkg/operations/build/wheel.py": "x = 1\n"},
    )
    git(root, "init", "-q")
    commit_all(root, "first", author="A <a@example.com>")
    write_tree(root, {"build/lib/pkg/__init__.py": "", ".venv/lib/site.py": ""})
    extract(root, store, workers=1)
    assert ids(store) == ["pkg/__init__.py", "pkg/operations/build/wheel.py"]
