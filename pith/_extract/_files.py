"""Which files of a codebase pith reads, and the ``[tool.pith]`` table of the codebase itself.

Inside a git work tree the candidates are what ``git ls-files --cached --others
--exclude-standard`` lists (tracked or trackable, .gitignore respected); elsewhere a directory
walk that skips VCS, virtualenv, cache and build directories (``node_modules``, ``dist``,
``.next``, ...) and the data dir; inside git those directories are skipped too unless git tracks
the file. Either way only source files are kept (``*.py``, and the TypeScript/JavaScript suffixes
of `pith._extract._languages`), then the ``--include``/``--exclude`` globs apply. A minified
bundle (``*.min.js``) or a declaration file generated beside its JavaScript (``a.d.ts`` next to
``a.js``) is kept with its ``problem`` said, never read.

A symlink is followed only when it stays inside the tree; a loop, a dangling link or a link out
of the tree becomes a candidate with its ``problem`` set, never an error. Only regular files are
ever opened: a named pipe, socket or device (or a link to one) gets a ``problem`` too, so that
extraction never blocks on it, and so does a file over `MAX_FILE_BYTES`, from its size alone:
none of it is read (a sparse 4 GB ``.py`` costs a ``stat``). A file name that is not UTF-8
cannot be a node id: it is listed in ``Discovery.rejected`` with its reason (its name shown
with ``\\xNN`` escapes), and so is a directory that cannot be listed. The directory walk is
iterative: no depth of nesting reaches Python's recursion limit.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import os
import re
import stat
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import attrs

from .._config import read_target_config
from ._languages import is_script, is_source
from ._python import MAX_FILE_BYTES

__all__ = [
    "README_NAMES",
    "SKIP_DIRS",
    "Candidate",
    "Discovery",
    "FileTooLarge",
    "discover",
    "hash_regular_file",
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
        "bower_components",
        "site-packages",
        # JavaScript build output and tool caches
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        ".output",
        ".parcel-cache",
        ".vercel",
        ".docusaurus",
        ".yarn",
        "storybook-static",
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


class FileTooLarge(OSError):
    """A file over the size cap: nothing of it was read."""

    def __init__(self, size: int) -> None:
        super().__init__(errno.EFBIG, too_large(size))
        self.size = size


def too_large(size: int) -> str:
    """The problem of a file of ``size`` bytes over `MAX_FILE_BYTES`."""
    return f"over 1 MB ({size:,} bytes); not read"


@contextlib.contextmanager
def _open_regular(path: str | os.PathLike[str], max_size: int | None) -> Iterator[BinaryIO]:
    """``path`` open for reading, if it is a regular file of at most ``max_size`` bytes (by its
    size when opened); OSError (`FileTooLarge`) otherwise.

    Opened non-blocking and checked after opening, so a file swapped for a named pipe after
    discovery fails at once instead of blocking forever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, f"{_kind(status.st_mode)}, not a regular file")
        if max_size is not None and status.st_size > max_size:
            raise FileTooLarge(status.st_size)
        yield f


def read_regular_file(
    path: str | os.PathLike[str], limit: int = -1, *, max_size: int | None = None
) -> bytes:
    """The bytes of ``path`` (up to ``limit``), if it is a regular file; OSError otherwise.

    ``max_size``: a larger file is `FileTooLarge` before any byte is read, and at most
    ``max_size + 1`` bytes are read of a file that grows meanwhile. See `_open_regular`."""
    with _open_regular(path, max_size) as f:
        if max_size is not None and not 0 <= limit <= max_size:
            limit = max_size + 1
        return f.read(limit)


def hash_regular_file(path: str | os.PathLike[str], max_size: int = MAX_FILE_BYTES) -> str:
    """The sha256 (hex) of ``path``'s bytes, read in small chunks (memory does not grow with
    the file); `FileTooLarge` before any read when it holds more than ``max_size`` bytes, or as
    soon as it does while being read. OSError as `read_regular_file`."""
    digest = hashlib.sha256()
    read = 0
    with _open_regular(path, max_size) as f:
        while chunk := f.read(1 << 16):
            read += len(chunk)
            if read > max_size:
                raise FileTooLarge(read)
            digest.update(chunk)
    return digest.hexdigest()


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


def _file_problem(full: str) -> str | None:
    """Why ``full`` (links followed) must not be opened: it is not a regular file, or it is over
    the size cap (known from its size: nothing of it is read)."""
    try:
        status = os.stat(full)
    except OSError:
        return None  # gone or a bad link: reported elsewhere
    if not stat.S_ISREG(status.st_mode):
        return f"{_kind(status.st_mode)}, not a regular file; not read"
    if status.st_size > MAX_FILE_BYTES:
        return too_large(status.st_size)
    return None


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
    """Every file under ``root`` (relative, ``/``-separated), skipped directories left out.

    Iterative, with a stack of directories still to list: a tree nested thousands deep costs
    memory for the stack, never Python's recursion limit. Links to directories are not
    followed (as `os.walk` does not)."""
    skip_real = {os.path.realpath(data_dir)} if data_dir is not None else set()
    out: list[str] = []
    pending = [""]  # directories to list, relative to root ("" is root itself)
    while pending:
        relative = pending.pop()
        directory = os.path.join(root, relative) if relative else os.fspath(root)
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as exc:
            where = relative or "."
            unreadable.append(_unreadable_dir(where, exc.strerror or str(exc)))
            continue
        prefix = relative + "/" if relative else ""
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                out.append(prefix + entry.name)
                continue
            name = entry.name
            if (
                entry.is_symlink()
                or name in SKIP_DIRS
                or name.endswith(".egg-info")
                or os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))
                or (skip_real and os.path.realpath(entry.path) in skip_real)
            ):
                continue
            pending.append(prefix + name)
    return out


_MINIFIED_SUFFIXES = (".min.js", ".min.mjs", ".min.cjs", "-min.js", ".bundle.js", ".chunk.js")


def _script_problem(name: str, names: set[str]) -> str | None:
    """Why a TypeScript/JavaScript file is not read, from its name: a minified bundle, or a
    declaration file generated beside the JavaScript it describes."""
    if name.endswith(_MINIFIED_SUFFIXES):
        return "minified (by its name); not read"
    if name.endswith(".d.ts"):
        stem = name.removesuffix(".d.ts")
        if any(stem + suffix in names for suffix in (".js", ".mjs", ".cjs")):
            return "generated (a declaration file beside its JavaScript); not read"
    return None


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
    """The source files (and READMEs) of the codebase at ``root`` (an existing directory).

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
    known = set(names)
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
        if not is_source(name):
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
            problem = _file_problem(full)
            if problem is None and is_script(name):
                problem = _script_problem(name, known)
        files.append(Candidate(path=name, problem=problem))
    files.sort(key=lambda c: c.path)
    return Discovery(
        files=tuple(files),
        readmes=tuple(sorted(r for r in readmes if _is_utf8(r))),
        in_git=in_git,
        rejected=tuple(sorted(rejected, key=lambda c: c.path)),
    )
