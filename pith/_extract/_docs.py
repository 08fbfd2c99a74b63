"""READMEs, one per directory, bounded in size."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .._models import Readme
from ._files import README_NAMES, read_regular_file

__all__ = ["README_CHARS", "read_readmes"]

README_CHARS = 8000


def read_readmes(root: Path, paths: Iterable[str]) -> list[Readme]:
    """The README of each directory among ``paths`` (file ids of README files); when a
    directory has several, the first of `README_NAMES` wins. Unreadable ones are left out;
    bytes that are not UTF-8 are replaced."""
    best: dict[str, str] = {}
    for path in paths:
        directory, _, name = path.rpartition("/")
        current = best.get(directory)
        if current is None or README_NAMES.index(name) < README_NAMES.index(current):
            best[directory] = name
    readmes: list[Readme] = []
    for directory, name in sorted(best.items()):
        full = root / directory / name
        try:
            if not full.resolve().is_relative_to(root.resolve()):
                continue  # a link out of the tree
            data = read_regular_file(full, README_CHARS * 4)
        except OSError:
            continue
        text = data.decode("utf-8", "replace")
        if len(text) > README_CHARS:
            text = text[: README_CHARS - 1] + "…"
        readmes.append(Readme(directory=directory, name=name, text=text))
    return readmes
