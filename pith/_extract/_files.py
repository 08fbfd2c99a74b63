"""Which files of a codebase pith reads, and the ``[tool.pith]`` table of the codebase itself.

Inside a git work tree the candidates are what ``git ls-files --cached --others
--exclude-standard`` lists (tracked or trackable, .gitignore respected); elsewhere a directory
walk that skips VCS, virtualenv, cache and build directories and the data dir. Either way only
``*.py`` files are kept, then the ``--include``/``--exclude`` globs apply.

A symlink is followed only when it stays inside the tree; a loop, a dangling link or a link out
of the tree becomes a candidate with its ``problem`` set, never an error. Only regular files are
ever opened: a named pipe, socket or device (or a link to one) gets a ``problem`` too, so that
extraction never blocks on it. A file name that is not UTF-8 cannot be a node id: it is listed in
``Discovery.rejected`` with its reason (its name shown with ``\\xNN`` escapes), and so is a
directory that cannot be listed.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import subprocess
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from .._config import ConfigWarning, read_tool_table
from .._errors import ConfigError

__all__ = [
    "README_NAMES",
    "SKIP_DIRS",
    "Candidate",
    "Discovery",
    "discover",
    "matches",
    "printable",
    "read_regular_file",
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
    # What cannot become a node at all (a file name that is not UTF-8, a directory that cannot
    # be listed): its printable path and the reason.
    rejected: tuple[Candidate, ...] = ()


def read_regular_file(path: str | os.PathLike[str], limit: int = -1) -> bytes:
    """The bytes of ``path`` (up to ``limit``), if it is a regular file; OSError otherwise.

    Opened non-blocking and checked after opening, so a file swapped for a named pipe after
    discovery fails at once instead of blocking forever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{_kind(mode)}, not a regular file")
        return f.read(limit)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"


def _type_problem(full: str) -> str | None:
    """Why ``full`` (links followed) must not be opened: it is not a regular file."""
    try:
        mode = os.stat(full).st_mode
    except OSError:
        return None  # gone or a bad link: reported elsewhere
    if stat.S_ISREG(mode):
        return None
    return f"{_kind(mode)}, not a regular file; not read"


def printable(name: str) -> str:
    """A file name as text that can be printed and stored: bytes that are not UTF-8 (held as
    surrogate escapes) shown as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def matches(path: str, glob: str) -> bool:
    """fnmatch on the whole relative path (``*`` also crosses ``/``); a glob without ``/`` also
    matches the file name alone, so ``test_*.py`` matches ``a/b/test_x.py``."""
    if fnmatch.fnmatchcase(path, glob):
        return True
    return "/" not in glob and fnmatch.fnmatchcase(path.rpartition("/")[2], glob)


def read_target_config(root: Path) -> dict[str, Any]:
    """The ``[tool.pith]`` table of ``root/pyproject.toml``; {} when absent. A pyproject that
    cannot be parsed is ignored with a `ConfigWarning` (a broken file in the codebase being
    read must not stop extraction, nor go unsaid); a bad ``[tool.pith]`` is a `ConfigError`."""
    path = root / "pyproject.toml"
    try:
        return read_tool_table(path)
    except ConfigError as exc:
        if "[tool.pith]" in str(exc):
            raise
        warnings.warn(
            ConfigWarning(f"{exc}; its [tool.pith] (globs, thresholds) is ignored"), stacklevel=2
        )
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


_GIT_UNREADABLE = re.compile(r"^warning: could not open directory '(.*)': (.*)$", re.MULTILINE)


def _git_files(root: Path, unreadable: list[Candidate]) -> tuple[list[str], set[str]]:
    """The files git tracks or would track (not ignored), and which of them it tracks."""
    result = subprocess.run(
        ["git", "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    entries = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    for directory, reason in _GIT_UNREADABLE.findall(result.stderr.decode("utf-8", "replace")):
        unreadable.append(_unreadable_dir(directory.rstrip("/"), reason))
    # Each entry is "<tag> <path>"; "?" tags an untracked file. --cached lists a conflicted
    # file once per stage: keep each path once, in order.
    names = list(dict.fromkeys(e[2:] for e in entries if len(e) > 2))
    tracked = {e[2:] for e in entries if len(e) > 2 and e[0] != "?"}
    return names, tracked


def _unreadable_dir(path: str, reason: str) -> Candidate:
    reason = f"unreadable directory: {reason}; not read"
    return Candidate(path=printable(path) + "/", problem=reason)


def _walk_files(root: Path, data_dir: Path | None, unreadable: list[Candidate]) -> list[str]:
    skip_real = {os.path.realpath(data_dir)} if data_dir is not None else set()
    out: list[str] = []

    def on_error(exc: OSError) -> None:
        where = os.path.relpath(exc.filename or root, root).replace(os.sep, "/")
        unreadable.append(_unreadable_dir(where, exc.strerror or str(exc)))

    for directory, dirs, files in os.walk(root, onerror=on_error):
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
    rejected: list[Candidate] = []
    tracked: set[str] = set()
    if in_git:
        names, tracked = _git_files(root, rejected)
    else:
        names = _walk_files(root, data_dir, rejected)
    root_real = os.path.realpath(root)
    data_prefix = None
    if data_dir is not None:
        data_real = os.path.realpath(data_dir)
        if os.path.commonpath([root_real, data_real]) == root_real and data_real != root_real:
            data_prefix = os.path.relpath(data_real, root_real).replace(os.sep, "/") + "/"
    files: list[Candidate] = []
    readmes: list[str] = []
    for name in names:
        parts = name.split("/")
        # Tool and build directories are skipped unless git tracks the file: what a project
        # commits (pip's `operations/build/`) is its code.
        if name not in tracked and any(
            p in SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1]
        ):
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
        if not _is_utf8(name):
            if os.path.lexists(full):
                reason = "the file name is not UTF-8 (rename it to extract it); not read"
                rejected.append(Candidate(path=printable(name), problem=reason))
            continue
        problem = _link_problem(root_real, full) if os.path.islink(full) else None
        if problem is None:
            if not os.path.lexists(full):
                continue  # tracked by git but deleted from the work tree: gone
            problem = _type_problem(full)
        files.append(Candidate(path=name, problem=problem))
    files.sort(key=lambda c: c.path)
    return Discovery(
        files=tuple(files),
        readmes=tuple(sorted(r for r in readmes if _is_utf8(r))),
        in_git=in_git,
        rejected=tuple(sorted(rejected, key=lambda c: c.path)),
    )
