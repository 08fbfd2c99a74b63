"""Git history per file and per directory, from ONE ``git log`` pass over the repository."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import attrs

from .._models import GitFacts
from ._languages import is_source

__all__ = ["CO_CHANGED", "RECENT_SUBJECTS", "git_history"]

RECENT_SUBJECTS = 5
CO_CHANGED = 5  # partners kept per file
CO_CHANGED_MIN = 2  # commits together: once is chance
TOGETHER_FILES = 8  # source files in a commit, at most, for its files to count as changed together
TOGETHER_COMMITS = 5_000  # newest such commits read for it: recent coupling, bounded memory
_RECORD = "\x1e"
_FIELD = "\x1f"


@attrs.define
class _Tally:
    commits: int = 0
    first: str | None = None
    last: str | None = None
    authors: Counter[str] = attrs.Factory(Counter)
    subjects: list[str] = attrs.Factory(list)
    together: Counter[str] = attrs.Factory(Counter)

    def add(self, date: str, author: str, subject: str) -> None:
        # git log lists newest first: the first commit seen is the last one made.
        self.commits += 1
        if self.last is None:
            self.last = date
        self.first = date
        self.authors[author] += 1
        if len(self.subjects) < RECENT_SUBJECTS:
            self.subjects.append(subject)

    def facts(self) -> GitFacts:
        authors = sorted(self.authors.items(), key=lambda a: (-a[1], a[0]))
        partners = sorted(
            ((path, n) for path, n in self.together.items() if n >= CO_CHANGED_MIN),
            key=lambda p: (-p[1], p[0]),
        )
        return GitFacts(
            commits=self.commits,
            first_commit=self.first,
            last_commit=self.last,
            authors=tuple(name for name, _ in authors),
            recent_subjects=tuple(self.subjects),
            co_changed=tuple(partners[:CO_CHANGED]),
        )


def git_history(root: Path) -> tuple[dict[str, GitFacts], dict[str, GitFacts]]:
    """(file id -> history, directory -> history of its source files) for every source file
    below ``root`` that git has seen, paths relative to ``root``; the root directory is "".

    Empty dicts when git fails (e.g. a repository with no commits yet)."""
    try:
        result = subprocess.run(
            [
                "git",
                "-c",
                "core.quotepath=off",
                "log",
                "--no-renames",
                "--relative",
                "--name-only",
                f"--format={_RECORD}%aI{_FIELD}%an{_FIELD}%s",
                "--",
                ".",
            ],
            cwd=root,
            capture_output=True,
            check=False,
        )
    except OSError:
        return {}, {}
    if result.returncode != 0:
        return {}, {}
    files: dict[str, _Tally] = {}
    dirs: dict[str, _Tally] = {}
    text = result.stdout.decode("utf-8", "replace")
    together_commits = 0
    for record in text.split(_RECORD):
        if not record:
            continue
        header, _, names = record.partition("\n")
        date, author, subject = ([*header.split(_FIELD), "", "", ""])[:3]
        touched_dirs: set[str] = set()
        sources = list(dict.fromkeys(name for name in names.split("\n") if is_source(name)))
        for name in sources:
            files.setdefault(name, _Tally()).add(date, author, subject)
            directory = name
            while directory:
                directory = directory.rpartition("/")[0]
                touched_dirs.add(directory)
        # A commit of a few files changed them together; a sweep over many says nothing.
        if 2 <= len(sources) <= TOGETHER_FILES and together_commits < TOGETHER_COMMITS:
            together_commits += 1
            for name in sources:
                files[name].together.update(other for other in sources if other != name)
        for directory in touched_dirs:
            dirs.setdefault(directory, _Tally()).add(date, author, subject)
    return (
        {name: tally.facts() for name, tally in files.items()},
        {name: tally.facts() for name, tally in dirs.items()},
    )
