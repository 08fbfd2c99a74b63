"""TypeScript/JavaScript extraction cost per file, next to the Python extractor's per file.

One process (``workers=1``), CPU time (steadier than wall time on a shared machine), cold
store. Prints:

- the script extract's CPU per file on PATH, and its ratio to a bare tree-sitter parse of the
  same files (read included): bound `SCRIPT_BOUND`;
- the Python extract's CPU per file on the standard library's ``asyncio``, ``email``, ``http``,
  ``json``, ``logging`` and ``unittest`` packages, and its ratio to a bare ``ast.parse``, for
  comparison (bounded in bench_extract.py).

Exits 1 when the script ratio is over its bound.

Usage: python benchmarks/bench_extract_scripts.py PATH   (a TypeScript/JavaScript tree, e.g. a
cloned repository or an unpacked npm package)
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import resource
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path

from pith._extract import discover, extract
from pith._store import Store

# x a bare tree-sitter parse: the query, the walk of declarations, uses and resolution on top
# of it; measured 6.0x-7.0x on typeorm (3,583 files) on a loaded 2-core machine (8x-11x while
# the scripts were chosen by one include glob per file: discovery then cost files x files)
SCRIPT_BOUND = 10.0
PYTHON_PACKAGES = ("asyncio", "email", "http", "json", "logging", "unittest")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def bare_tree_sitter(root: Path, paths: list[str]) -> float:
    from pith._extract._typescript import _grammar

    started = cpu_seconds()
    for path in paths:
        with contextlib.suppress(OSError):
            _grammar(path).parser.parse((root / path).read_bytes())
    return cpu_seconds() - started


def bare_ast(root: Path, paths: list[str]) -> float:
    started = cpu_seconds()
    for path in paths:
        with warnings.catch_warnings(), contextlib.suppress(OSError, SyntaxError, ValueError):
            warnings.simplefilter("ignore")
            ast.parse((root / path).read_bytes())
    return cpu_seconds() - started


def lines_of(root: Path, paths: list[str]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += (root / path).read_bytes().count(b"\n")
    return total


def extract_cpu(
    root: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as data, Store.open(Path(data) / "pith.db") as store:
        started = cpu_seconds()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary = extract(root, store, workers=1, include=include, exclude=exclude)
        return cpu_seconds() - started, summary.parsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a TypeScript/JavaScript tree")
    args = parser.parse_args()
    root = Path(args.path).resolve()
    if not root.is_dir():
        print(f"{root} is not a directory; pass a TypeScript/JavaScript tree", file=sys.stderr)
        sys.exit(2)
    scripts = [
        c.path for c in discover(root).files if c.problem is None and not c.path.endswith(".py")
    ]
    if not scripts:
        print(f"no TypeScript/JavaScript file under {root}", file=sys.stderr)
        sys.exit(2)
    bare = bare_tree_sitter(root, scripts)  # also loads the grammars before timing extract
    # The scripts alone: one glob (a glob per file would cost files x files matches)
    script_cpu, script_files = extract_cpu(root, exclude=("*.py",))
    ratio = script_cpu / bare if bare else float("inf")

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    globs = tuple(f"{name}/*" for name in PYTHON_PACKAGES)
    python_paths = [c.path for c in discover(stdlib, include=globs).files if c.problem is None]
    python_bare = bare_ast(stdlib, python_paths)
    python_cpu, python_files = extract_cpu(stdlib, include=globs)

    per_script = 1000 * script_cpu / max(1, script_files)
    per_python = 1000 * python_cpu / max(1, python_files)
    script_kloc = lines_of(root, scripts) / 1000
    python_kloc = lines_of(stdlib, python_paths) / 1000
    print(
        f"scripts: {script_files} files ({script_kloc:,.0f}k lines), {per_script:.2f} ms CPU "
        f"per file, {1000 * script_cpu / script_kloc:.1f} ms per 1k lines; "
        f"{ratio:.2f}x a bare tree-sitter parse (bound {SCRIPT_BOUND}x)"
    )
    print(
        f"python:  {python_files} files ({python_kloc:,.0f}k lines), {per_python:.2f} ms CPU "
        f"per file, {1000 * python_cpu / python_kloc:.1f} ms per 1k lines; "
        f"{python_cpu / python_bare:.2f}x a bare ast.parse"
    )
    print(f"scripts / python per file: {per_script / per_python:.2f}x")
    if ratio > SCRIPT_BOUND:
        sys.exit(1)


if __name__ == "__main__":
    main()
