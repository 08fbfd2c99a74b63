"""Which files of a codebase pith reads, and the ``[tool.pith]`` table of the codebase itself.

Inside a git work tree the candidates are what ``git ls-files --cached --others
--exclude-standard`` lists (tracked or trackable, .gitignore respected); elsewhere a directory
walk that skips VCS, virtualenv, cache and build directories and the data dir. Either way only
``*.py`` files are kept, then the ``--include``/``--exclude`` globs apply.

A symlink is followed only when it stays inside the tree; a loop, a dangling link or a link out
of the tree becomes a candidate with its ``problem`` set, never an error.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._config import read_tool_table
from .._errors import ConfigError

__all__ = [
    "README_NAMES",
    "SKIP_DIRS",
    "Candidate",
    "Discovery",
    "discover",
    "matches",
    "read_target_config",
]

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".env",
        "__pycache__",
        "build",
        "dist",
        ".tox",
        ".nox",
        "node_modules",
        "site-packages",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".pith",
    }
)
# Preferred first when a directory has several.
README_NAMES = ("README.md", "README.rst", "README.txt", "README")


@attrs.frozen
class Candidate:
    """A file to extract: its id (posix path relative to the root) and, if it cannot be read
    safely, why."""

    path: str
    problem: str | None = None


@attrs.frozen
class Discovery:
    files: tuple[Candidate, ...]
    readmes: tuple[str, ...]  # file ids of README files, any directory
    in_git: bool
    # Files left out entirely, with why: names that cannot be stored (not valid UTF-8).
    unnamed: tuple[tuple[str, str], ...] = ()


def matches(path: str, glob: str) -> bool:
    """fnmatch on the whole relative path (``*`` also crosses ``/``); a glob without ``/`` also
    matches the file name alone, so ``test_*.py`` matches ``a/b/test_x.py``."""
    if fnmatch.fnmatchcase(path, glob):
        return True
    return "/" not in glob and fnmatch.fnmatchcase(path.rpartition("/")[2], glob)


def read_target_config(root: Path) -> dict[str, Any]:
    """The ``[tool.pith]`` table of ``root/pyproject.toml``; {} when absent or unreadable (a
    broken pyproject of the codebase being read must not stop extraction)."""
    try:
        return read_tool_table(root / "pyproject.toml")
    except ConfigError:
        return {}


def git_work_tree(root: Path) -> bool:
    """Whether ``root`` lies inside a git work tree (and git is installed), and is not ignored
    by it (an ignored directory, like pyenv's ``versions``, is read as if git were absent)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or result.stdout.strip() != "true":
            return False
        ignored = subprocess.run(["git", "check-ignore", "-q", "."], cwd=root, check=False)
    except OSError:
        return False
    return ignored.returncode != 0


def _git_files(root: Path) -> list[str]:
    result = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    names = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    # --cached lists a conflicted file once per stage: keep each path once, in order.
    return list(dict.fromkeys(n for n in names if n))


def _walk_files(root: Path, data_dir: Path | None) -> list[str]:
    skip_real = {os.path.realpath(data_dir)} if data_dir is not None else set()
    out: list[str] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and not os.path.exists(os.path.join(directory, d, "pyvenv.cfg"))
            and os.path.realpath(os.path.join(directory, d)) not in skip_real
        )
        relative = os.path.relpath(directory, root).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        out.extend(prefix + f for f in files)
    return out


def _link_problem(root_real: str, full: str) -> str | None:
    """Why a symlinked file must not be read, or None when it is safe."""
    try:
        os.stat(full)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop; not read"
        return "dangling symlink; not read"
    target = os.path.realpath(full)
    if os.path.commonpath([root_real, target]) != root_real:
        return f"symlink leaves the tree (to {target}); not read"
    return None


def discover(
    root: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    data_dir: Path | None = None,
) -> Discovery:
    """The Python files (and READMEs) of the codebase at ``root`` (an existing directory).

    ``include``: when given, a file must match one of them; ``exclude``: a file matching any is
    dropped. Both are `matches` globs on the path relative to ``root``.
    """
    in_git = git_work_tree(root)
    names = _git_files(root) if in_git else _walk_files(root, data_dir)
    root_real = os.path.realpath(root)
    data_prefix = None
    if data_dir is not None:
        data_real = os.path.realpath(data_dir)
        if os.path.commonpath([root_real, data_real]) == root_real and data_real != root_real:
            data_prefix = os.path.relpath(data_real, root_real).replace(os.sep, "/") + "/"
    files: list[Candidate] = []
    readmes: list[str] = []
    unnamed: list[tuple[str, str]] = []
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            # An id is stored and shown as text; this name is bytes that are not UTF-8.
            shown = os.fsencode(name).decode("utf-8", "backslashreplace")
            unnamed.append((shown, "file name is not valid UTF-8; not read (rename it)"))
            continue
        parts = name.split("/")
        if any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
            continue
        if data_prefix is not None and name.startswith(data_prefix):
            continue
        if parts[-1] in README_NAMES:
            readmes.append(name)
            continue
        if not name.endswith(".py"):
            continue
        if include and not any(matches(name, g) for g in include):
            continue
        if any(matches(name, g) for g in exclude):
            continue
        full = os.path.join(root, name)
        problem = _link_problem(root_real, full) if os.path.islink(full) else None
        if problem is None and not os.path.lexists(full):
            continue  # tracked by git but deleted from the work tree: gone
        if problem is None:
            problem = _kind_problem(full)
        files.append(Candidate(path=name, problem=problem))
    files.sort(key=lambda c: c.path)
    return Discovery(
        files=tuple(files),
        readmes=tuple(sorted(readmes)),
        in_git=in_git,
        unnamed=tuple(sorted(unnamed)),
    )


def _kind_problem(full: str) -> str | None:
    """Why a path that is not a regular file must not be opened (a named pipe would block the
    read forever, a device never ends), or None for a regular file."""
    try:
        mode = os.stat(full).st_mode
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}; not read"
    if stat.S_ISREG(mode):
        return None
    kinds = {
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
        stat.S_ISDIR: "a directory",
    }
    kind = next((name for test, name in kinds.items() if test(mode)), "not a regular file")
    return f"{kind}, not a regular file; not read"
