"""`extract` on hostile trees: named pipes, device files, names that are not UTF-8 and
directories that cannot be listed, inside a git work tree and outside one, through the real
command line in a subprocess (a hang fails on the subprocess timeout instead of blocking)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from projects import clean_env, commit_all, git, run_pith, write_tree

from pith._extract import extract
from pith._extract._files import FileTooLarge, hash_regular_file, read_regular_file
from pith._extract._python import MAX_FILE_BYTES, content_hash
from pith._store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


def pith(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_pith("--data-dir", str(cwd / "data"), *args, cwd=cwd, env=clean_env())


def make_tree(root: Path, in_git: bool) -> Path:
    write_tree(root, {"ok.py": "def f():\n    return 1\n", "pkg/mod.py": "X = 1\n"})
    if in_git:
        git(root, "init", "-q")
        os.symlink("pipe_target", root / "linked.py")  # tracked link, to a pipe made later
        commit_all(root, "init", author="Ada Lovelace")
    os.mkfifo(root / "pipe_target")
    os.mkfifo(root / "pipe.py")
    if not in_git:
        os.symlink("pipe_target", root / "linked.py")
    return root


@pytest.mark.parametrize("in_git", [True, False], ids=["git", "walk"])
def test_named_pipes_are_skipped_not_opened(tmp_path, in_git):
    root = make_tree(tmp_path / "tree", in_git)
    result = pith(tmp_path, "extract", str(root))
    assert result.returncode == 0, result.stderr
    assert "skipped linked.py: a named pipe, not a regular file; not read" in result.stdout
    if not in_git:  # git does not list an untracked pipe at all
        assert "skipped pipe.py: a named pipe, not a regular file; not read" in result.stdout
    with Store.open(tmp_path / "data" / "pith.db") as store:
        assert store.file_facts("ok.py").functions[0].name == "f"
        assert "linked.py" in store.file_problems()
    # A second run is quiet about nothing new and still does not block.
    again = pith(tmp_path, "extract", str(root))
    assert again.returncode == 0, again.stderr


def test_a_device_file_is_skipped(tmp_path):
    root = write_tree(tmp_path / "tree", {"ok.py": "A = 1\n"})
    os.symlink("/dev/zero", root / "zero.py")  # reading it would never end
    result = pith(tmp_path, "extract", str(root))
    assert result.returncode == 0, result.stderr
    # /dev/zero is outside the tree: either reason keeps it unread.
    assert "skipped zero.py: " in result.stdout
    with Store.open(tmp_path / "data" / "pith.db") as store:
        assert "zero.py" in store.file_problems()


def test_read_regular_file_refuses_a_pipe_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "p.py")
    with pytest.raises(OSError, match="a named pipe, not a regular file"):
        read_regular_file(tmp_path / "p.py")
    (tmp_path / "f.py").write_bytes(b"abc")
    assert read_regular_file(tmp_path / "f.py") == b"abc"
    assert read_regular_file(tmp_path / "f.py", 2) == b"ab"


@pytest.mark.parametrize("in_git", [True, False], ids=["git", "walk"])
def test_a_file_name_that_is_not_utf8_is_skipped_with_its_reason(tmp_path, in_git):
    root = write_tree(tmp_path / "tree", {"ok.py": "A = 1\n"})
    bad = os.path.join(os.fsencode(root), b"bad\xffname.py")
    with open(bad, "wb") as f:
        f.write(b"B = 2\n")
    if in_git:
        git(root, "init", "-q")
        commit_all(root, "init", author="Ada Lovelace")
    result = pith(tmp_path, "extract", str(root))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert r"skipped bad\xffname.py: the file name is not UTF-8" in result.stdout
    with Store.open(tmp_path / "data" / "pith.db") as store:
        assert store.file_hashes().keys() == {"ok.py"}
    built = pith(tmp_path, "build")
    assert built.returncode == 0, built.stderr


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
@pytest.mark.parametrize("in_git", [True, False], ids=["git", "walk"])
def test_an_unreadable_directory_is_listed_as_skipped(tmp_path, in_git):
    root = write_tree(tmp_path / "tree", {"ok.py": "A = 1\n", "locked/inner.py": "B = 1\n"})
    if in_git:
        git(root, "init", "-q")
    os.chmod(root / "locked", 0)
    try:
        result = pith(tmp_path, "extract", str(root))
    finally:
        os.chmod(root / "locked", 0o755)
    assert result.returncode == 0, result.stderr
    assert "skipped locked/: unreadable directory: Permission denied; not read" in result.stdout


def test_an_unlistable_directory_is_listed_as_skipped_even_for_root(tmp_path, monkeypatch):
    # chmod 0 does not stop root (who runs some CI): make listing the directory fail instead.
    root = write_tree(tmp_path / "tree", {"ok.py": "A = 1\n", "locked/inner.py": "B = 1\n"})
    real_scandir = os.scandir

    def scandir(path):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with Store.open(tmp_path / "data" / "pith.db") as store:
        summary = extract(root, store, workers=1)
        assert [(s.path, s.reason) for s in summary.skipped] == [
            ("locked/", "unreadable directory: Permission denied; not read")
        ]
        assert summary.files == 2
        assert store.file_hashes().keys() == {"ok.py"}


def test_a_tree_nested_thousands_deep_is_walked(tmp_path):
    # Outside git: the directory walk. 1,500 levels is past Python's recursion limit.
    root = write_tree(tmp_path / "tree", {"top.py": "A = 1\n"})
    deep = str(root)
    for _ in range(1500):
        deep = os.path.join(deep, "d")
        os.mkdir(deep)
    with open(os.path.join(deep, "bottom.py"), "w") as f:
        f.write("B = 2\n")
    try:
        with Store.open(tmp_path / "data" / "pith.db") as store:
            summary = extract(root, store, workers=1)
            assert not summary.in_git
            bottom = "d/" * 1500 + "bottom.py"
            assert store.file_hashes().keys() == {"top.py", bottom}
            assert summary.skipped == ()
    finally:  # pytest's own clean-up of tmp_path recurses, and would fail on this tree
        os.remove(os.path.join(deep, "bottom.py"))
        while deep != str(root):
            os.rmdir(deep)
            deep = os.path.dirname(deep)


def _limit_address_space() -> None:
    import resource

    limit = 1536 * 2**20  # far below the file: reading it whole fails at once
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits on a child")
def test_a_sparse_4_gb_file_is_skipped_unread(tmp_path):
    root = write_tree(tmp_path / "tree", {"ok.py": "A = 1\n"})
    with open(root / "huge.py", "wb") as f:
        f.truncate(4 * 2**30)  # sparse: no disk, but 4 GB to whoever reads it
    for _ in range(2):  # the second run compares what is stored
        result = subprocess.run(
            [sys.executable, "-m", "pith", "--data-dir", str(tmp_path / "data"), "extract", "."],
            cwd=root,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_limit_address_space,
        )
        assert result.returncode == 0, result.stderr
        assert "skipped huge.py: over 1 MB (4,294,967,296 bytes); not read" in result.stdout
    with Store.open(tmp_path / "data" / "pith.db") as store:
        assert store.file_facts("ok.py") is not None


def test_files_are_hashed_in_chunks_and_refused_over_the_cap(tmp_path):
    data = bytes(range(256)) * 1000
    (tmp_path / "f.py").write_bytes(data)
    assert hash_regular_file(tmp_path / "f.py") == content_hash(data)
    with pytest.raises(FileTooLarge, match=r"over 1 MB \(256,000 bytes\)"):
        hash_regular_file(tmp_path / "f.py", max_size=255_999)
    with pytest.raises(FileTooLarge):
        read_regular_file(tmp_path / "f.py", max_size=1000)
    assert read_regular_file(tmp_path / "f.py", max_size=256_000) == data


def test_a_file_grown_over_the_cap_since_the_last_run_is_refused(tmp_path):
    root = write_tree(tmp_path / "tree", {"ok.py": "A = 1\n", "grows.py": "B = 1\n"})
    with Store.open(tmp_path / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        with open(root / "grows.py", "ab") as f:
            f.truncate(MAX_FILE_BYTES + 10)
        summary = extract(root, store, workers=1)
        assert [(s.path, s.reason) for s in summary.skipped] == [
            ("grows.py", "over 1 MB (1,000,010 bytes); not read")
        ]
