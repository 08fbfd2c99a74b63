"""Which extractor reads a file, by its suffix: Python (`pith._extract._python`, the stdlib
``ast``) or TypeScript/JavaScript (`pith._extract._typescript`, tree-sitter). Both produce the
same `FileFacts`; everything after extraction is shared.

The tree-sitter extractor is imported on the first script file met, so a Python-only codebase
never loads it (`tests/test_startup.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import attrs

from .._models import FileFacts, ImportFact
from ._python import ImportResolver, parse_source
from ._ts_imports import SCRIPT_SUFFIXES, TsResolver

__all__ = ["SCRIPT_SUFFIXES", "Resolvers", "is_script", "is_source", "parse_file"]


def is_script(path: str) -> bool:
    """Whether ``path`` is a TypeScript or JavaScript file."""
    return path.endswith(SCRIPT_SUFFIXES)


def is_source(path: str) -> bool:
    """Whether pith extracts ``path``: a Python, TypeScript or JavaScript file."""
    return path.endswith((".py", *SCRIPT_SUFFIXES))


class Resolvers:
    """The import resolvers of one extraction: Python's, and (built on first use) the
    scripts'."""

    def __init__(self, file_ids: Iterable[str], root: Path) -> None:
        self.file_ids = list(file_ids)
        self.root = root
        self.python = ImportResolver(self.file_ids, root.name)
        self._scripts: TsResolver | None = None

    @property
    def scripts(self) -> TsResolver:
        if self._scripts is None:
            self._scripts = TsResolver(self.file_ids, self.root)
        return self._scripts

    def config_fingerprint(self) -> str:
        """A digest of the configuration files script imports resolve through (see
        `TsResolver.config_fingerprint`); "" when the project holds no script file, so that a
        Python-only extraction reads none of them."""
        if not any(is_script(f) for f in self.file_ids):
            return ""
        return self.scripts.config_fingerprint()

    def resolve(self, importer: str, imports: Iterable[ImportFact]) -> tuple[ImportFact, ...]:
        """``imports`` of file ``importer`` with ``resolved`` set, as its extractor does."""
        if not is_script(importer):
            return self.python.resolve(importer, imports)
        scripts = self.scripts
        return tuple(attrs.evolve(i, resolved=scripts.resolve(importer, i.module)) for i in imports)


def parse_file(path: str, data: bytes, resolvers: Resolvers | None) -> FileFacts:
    """The facts of one file's bytes, by the extractor its suffix picks."""
    if is_script(path):
        from ._typescript import parse_script  # tree-sitter: only when a script is met

        return parse_script(path, data, None if resolvers is None else resolvers.scripts)
    return parse_source(path, data, None if resolvers is None else resolvers.python)
