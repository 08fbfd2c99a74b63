"""What a path is for: source code, a test, or an example (docs, tutorials, demos).

One rule for every reader of it: generation writes prose for source by default, test lists hold
tests only, ranking puts source first. Decided from the path alone, so it costs nothing and
every part of pith agrees.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "LEFT_OUT",
    "LEFT_OUT_PLURAL",
    "SCRIPT_SUFFIXES",
    "WORKSPACE_DIRS",
    "Role",
    "is_development_script",
    "is_runnable_test",
    "language_of",
    "left_out_group",
    "role_of",
    "script_test_command",
    "script_test_stem",
    "source_first",
]

# The suffixes of the files the TypeScript/JavaScript extractor reads (`pith._extract`).
SCRIPT_SUFFIXES = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_SCRIPT_TEST = re.compile(r"^(.+?)\.(?:test|spec|e2e|test-d)\.[cm]?[jt]sx?$")


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


def language_of(path: str) -> str:
    """The language of a source file, by its suffix: "Python", "TypeScript" or "JavaScript";
    "" for anything else (a directory)."""
    if path.endswith(".py"):
        return "Python"
    if path.endswith((".ts", ".tsx", ".mts", ".cts")):
        return "TypeScript"
    if path.endswith((".js", ".jsx", ".mjs", ".cjs")):
        return "JavaScript"
    return ""


def script_test_stem(name: str) -> str | None:
    """``a`` of a TypeScript/JavaScript test file named ``a.test.ts`` / ``a.spec.tsx`` /
    ``a.test-d.ts`` (any script suffix); None for any other name."""
    if not name.endswith(SCRIPT_SUFFIXES):
        return None
    match = _SCRIPT_TEST.match(name)
    return match.group(1) if match else None


def role_of(path: str) -> Role:
    """The role of a file or directory, by its path relative to the root (posix).

    A test: under a ``tests``/``test``/``__tests__`` directory, or named ``test_*.py``,
    ``*_test.py``, ``conftest.py``, or ``*.test.ts`` / ``*.spec.js`` (any TypeScript or
    JavaScript suffix). An example: under ``examples``, ``docs``, ``docs_src``, ``tutorial`` and
    the like. Everything else is source (``click/testing.py`` too: a module *for* testing).
    """
    parts = PurePosixPath(path).parts
    if not parts or path == ".":
        return Role.SOURCE
    *dirs, name = parts
    stem = name.removesuffix(".py")
    is_python = name.endswith(".py")
    is_file = is_python or name.endswith(SCRIPT_SUFFIXES)
    if is_python and (stem.startswith("test_") or stem.endswith("_test") or stem == "conftest"):
        return Role.TEST
    if not is_python and is_file and script_test_stem(name) is not None:
        return Role.TEST
    folders = {d.lower() for d in (dirs if is_file else parts)}
    if folders & _TEST_DIRS:
        return Role.TEST
    if folders & _EXAMPLE_DIRS:
        return Role.EXAMPLE
    return Role.SOURCE


def is_runnable_test(path: str) -> bool:
    """A test file a runner runs: a test (`role_of`) named as pytest collects one
    (``test_*.py``, ``*_test.py``; Django's ``tests.py``; a ``conftest.py``, which runs with its
    directory's tests), or ``*.test.ts`` / ``*.spec.js`` (any script suffix); not a helper,
    fixture or entity under a tests directory."""
    name = PurePosixPath(path).name
    if name.endswith(".py"):
        stem = name[:-3]
        named = stem.startswith("test_") or stem.endswith("_test") or stem in ("tests", "conftest")
    else:
        named = script_test_stem(name) is not None
    return named and role_of(path) is Role.TEST


_ROLE_ORDER = {Role.SOURCE: 0, Role.TEST: 2, Role.EXAMPLE: 4}


def source_first(path: str) -> tuple[int, str]:
    """A sort key: the code the project ships, then its development scripts, its tests, the
    tests of its docs and examples (fastapi's ``docs_src/**/test_main.py``), and its examples
    and docs, each by path (what a change reaches first is the code it ships)."""
    role = role_of(path)
    if role is Role.SOURCE:
        return (1 if is_development_script(path) else 0), path
    if role is Role.TEST and role_of(path.rpartition("/")[0]) is Role.EXAMPLE:
        return 3, path
    return _ROLE_ORDER[role], path


def left_out_group(path: str) -> str:
    """Where a test, example or development script lies, as `generate` counts what it leaves
    out and says how to ask for it: its outermost tests or examples directory
    (``tests/``, ``packages/zod/src/v4/classic/tests/``), its tooling directory (``scripts/``,
    ``packages/bench/``), else its own directory (``pkg/`` for ``pkg/test_x.py``), each with a
    final "/"; a file at the top is its own name (``setup.py``)."""
    parts = PurePosixPath(path).parts
    is_file = bool(language_of(path))
    dirs = parts[:-1] if is_file else parts
    if is_development_script(path):
        workspace = len(dirs) > 1 and dirs[0].lower() in WORKSPACE_DIRS
        dirs = dirs[: 2 if workspace else 1]
    else:
        for index, folder in enumerate(dirs):
            if folder.lower() in _TEST_DIRS or folder.lower() in _EXAMPLE_DIRS:
                dirs = dirs[: index + 1]
                break
    return "/".join(dirs) + "/" if dirs else path


# What generation leaves out by default (tests, examples, scripts), as status and the estimate
# name it.
LEFT_OUT = "test, example or script node"
LEFT_OUT_PLURAL = "test, example and script nodes"

# A project's own development tooling, at its top: not the code it ships.
_TOOLING_DIRS = frozenset(
    {"scripts", "script", "tools", "tool", "benchmarks", "benchmark", "bench", "ci", ".github"}
)
_TOOLING_FILES = frozenset({"setup.py", "noxfile.py", "tasks.py", "fabfile.py", "pdm_build.py"})
# A monorepo's folders of workspace packages: one of those may be tooling (zod's
# `packages/bench/`).
WORKSPACE_DIRS = frozenset({"packages", "apps", "libs"})


@functools.lru_cache(maxsize=65_536)
def is_development_script(path: str) -> bool:
    """A project's own development scripts (its top directory ``scripts/``, ``tools/``,
    ``benchmarks/`` and what is in it, or such a workspace package of a monorepo,
    ``packages/bench/``; ``setup.py``, ``noxfile.py``): source by `role_of`, but not the code
    the project ships, so ranking puts them after it and generation writes their prose only
    when asked for."""
    first, _, rest = path.partition("/")
    if first.lower() in WORKSPACE_DIRS:
        first = rest.partition("/")[0]  # `packages/bench` itself too
    return first.lower() in _TOOLING_DIRS or path in _TOOLING_FILES


# The test runners a package.json names, and how each runs one file.
_RUNNERS = (
    ("vitest", "npx vitest run {file}"),
    ("jest", "npx jest {file}"),
    ("mocha", "npx mocha {file}"),
    ("ava", "npx ava {file}"),
    ("node --test", "node --test {file}"),
    ("bun test", "bun test {file}"),
    ("deno test", "deno test {file}"),
)
_MANIFEST_BYTES = 1_000_000


def script_test_command(root: str | None, test_file: str) -> str:
    """The shell command that runs TypeScript/JavaScript test file ``test_file`` (a path
    relative to ``root``), told from the nearest ``package.json`` above it: the runner its
    ``test`` script (else its dev dependencies) names, run on the file from that package's
    directory; ``npm test`` there when no runner is named. Reads only package.json files."""
    directory = test_file.rpartition("/")[0]
    while True:
        manifest = _manifest(root, directory)
        if manifest is not None or not directory:
            break
        directory = directory.rpartition("/")[0]
    relative = test_file[len(directory) + 1 :] if directory else test_file
    prefix = f"cd {directory} && " if directory else ""
    if manifest is None:
        return f"npx vitest run {relative}"  # no package.json: the most common runner
    scripts = manifest.get("scripts")
    test_script = scripts.get("test") if isinstance(scripts, dict) else None
    named = test_script if isinstance(test_script, str) else ""
    dependencies = {
        name
        for key in ("devDependencies", "dependencies")
        if isinstance(manifest.get(key), dict)
        for name in manifest[key]
    }
    for word, command in _RUNNERS:
        if word in named or (not named and word in dependencies):
            return prefix + command.format(file=relative)
    return f"{prefix}npm test" if named else prefix + f"npx vitest run {relative}"


def _manifest(root: str | None, directory: str) -> dict[str, Any] | None:
    if root is None:
        return None
    path = Path(root, directory, "package.json")
    try:
        if path.stat().st_size > _MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
