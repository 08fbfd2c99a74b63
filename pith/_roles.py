"""What a path is for: source code, a test, or an example (docs, tutorials, demos).

One rule for every reader of it: generation writes prose for source by default, test lists hold
tests only, ranking puts source first. Decided from the path alone, so it costs nothing and
every part of pith agrees.
"""

from __future__ import annotations

import enum
from pathlib import PurePosixPath

__all__ = ["Role", "role_of"]


class Role(enum.Enum):
    SOURCE = "source"
    TEST = "test"
    EXAMPLE = "example"


# Directory names whose whole tree is tests, or examples and documentation code.
_TEST_DIRS = frozenset({"tests", "test", "__tests__"})
_EXAMPLE_DIRS = frozenset(
    {
        "docs",
        "doc",
        "docs_src",
        "docs-src",
        "documentation",
        "examples",
        "example",
        "tutorial",
        "tutorials",
        "demo",
        "demos",
        "samples",
        "sample",
        "cookbook",
    }
)


def role_of(path: str) -> Role:
    """The role of a file or directory, by its path relative to the root (posix).

    A test: under a ``tests``/``test`` directory, or named ``test_*.py``, ``*_test.py`` or
    ``conftest.py``. An example: under ``examples``, ``docs``, ``docs_src``, ``tutorial`` and
    the like. Everything else is source (``click/testing.py`` too: a module *for* testing).
    """
    parts = PurePosixPath(path).parts
    if not parts or path == ".":
        return Role.SOURCE
    *dirs, name = parts
    stem = name.removesuffix(".py")
    is_file = name.endswith(".py")
    if is_file and (stem.startswith("test_") or stem.endswith("_test") or stem == "conftest"):
        return Role.TEST
    folders = {d.lower() for d in (dirs if is_file else parts)}
    if folders & _TEST_DIRS:
        return Role.TEST
    if folders & _EXAMPLE_DIRS:
        return Role.EXAMPLE
    return Role.SOURCE
