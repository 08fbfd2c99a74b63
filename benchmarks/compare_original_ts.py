"""pith beside the TypeScript system it grew from, on that system's own repository.

Both run on one fresh clone of SOURCE (a checkout or a bare mirror of the original's
repository): pith's ``extract`` and ``build`` (library calls, a temporary store) and the
original's own ``extract`` and ``build`` (``node ORIGINAL_CLI``, a temporary data dir), or the
data dir of an earlier run of it (``--original-data``: the folder holding its ``nodes.json``
and ``extracted.json``). The figures come from what each wrote: the original's JSON collections,
pith's SQLite store. Prints one table; exits 1 when pith is behind on a row, 2 on bad usage.

Rows:

- files: file nodes.
- functions found: the original's extracted functions (ts-morph ``getFunctions()``: top-level
  declarations); pith's symbols of kind function (also arrow functions bound to ``const``,
  ``exports.f = ...``, ``X.prototype.f = ...``).
- methods found: the original's extracted class methods; pith's symbols of kind method.
- function nodes: nodes of their own (prose of their own); "source" counts those outside test
  and example trees, which pith's ``generate`` writes by default (the original writes all).
- modules: module nodes.
- import statements read; imports resolved to project files (statements, then distinct
  file-to-file edges).
- tests mapped: source files with a test file; functions and methods a test uses by reference.
- references: uses resolved to a definition, within a file and across files (the original
  records calls within a file only).

The original is built once with ``npm ci --ignore-scripts && npx tsup`` in a checkout of it
(its ``dist/cli/index.js`` is ORIGINAL_CLI); it needs Node.js 20+.

Usage: python benchmarks/compare_original_ts.py SOURCE (--original-cli PATH | --original-data DIR)
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from pith._build import build
from pith._extract import extract
from pith._roles import Role, role_of
from pith._store import Store

Row = tuple[str, int, int]


def _clone(source: Path, into: Path) -> Path:
    target = into / "src"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(source), str(target)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return target


def _run_original(cli: Path, tree: Path, data: Path) -> Path:
    """Run the original's extract and build on ``tree``; the folder of its collections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITH_")}
    env["PITH_DATA_DIR"] = str(data)
    for command in ("extract", "build"):
        args = ["node", str(cli), command] + (["."] if command == "extract" else [])
        done = subprocess.run(
            args, cwd=tree, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            raise SystemExit(f"the original's {command} failed: {done.stderr.strip()[-400:]}")
    return data / "pith"


def _load(folder: Path, name: str) -> list[dict[str, Any]]:
    data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return data if isinstance(data, list) else list(data.values())


def original_figures(folder: Path) -> dict[str, int]:
    """The original's figures, from its ``nodes`` and ``extracted`` collections."""
    nodes, extracted = _load(folder, "nodes"), _load(folder, "extracted")
    types = Counter(n["type"] for n in nodes)
    edges = [(n["id"], e["type"], e["target"]) for n in nodes for e in n.get("edges", ())]
    imports = [(source, target) for source, kind, target in edges if kind == "imports"]
    in_file = sum(
        len(f.get("calls") or ())
        for n in nodes
        if n["type"] == "file"
        for f in n.get("raw", {}).get("functions") or ()
    )
    cross_file = sum(
        len(f.get("crossFileCalls") or ())
        for n in nodes
        if n["type"] == "file"
        for f in n.get("raw", {}).get("functions") or ()
    )
    functions = [n for n in nodes if n["type"] == "function"]
    return {
        "files": types["file"],
        "functions found": sum(len(e.get("functions") or ()) for e in extracted),
        "methods found": sum(
            len(c.get("methods") or ()) for e in extracted for c in e.get("classes") or ()
        ),
        "function nodes": len(functions),
        "function nodes, source": len(functions),  # it writes prose for every node
        "method nodes": 0,  # it never makes a method a node
        "modules": types["module"],
        "import statements read": sum(len(e.get("imports") or ()) for e in extracted),
        "imports resolved (statements)": len(imports),
        "imports resolved (file edges)": len(set(imports)),
        "tests mapped (source files)": len({s for s, kind, _ in edges if kind == "testFile"}),
        "symbols a test uses": 0,  # no reference crosses a file
        "references in a file": in_file,  # its calls from one function to another
        "references across files": cross_file,
    }


def pith_figures(tree: Path, data: Path) -> dict[str, int]:
    """pith's figures, from an extract and build of ``tree`` into a store in ``data``."""
    with Store.open(data / "pith.db") as store:
        extract(tree, store, workers=1)
        build(store)
    db = sqlite3.connect(data / "pith.db")
    try:
        types = dict(db.execute("SELECT type, count(*) FROM nodes GROUP BY type").fetchall())
        kinds = dict(db.execute("SELECT kind, count(*) FROM symbols GROUP BY kind").fetchall())
        functions = db.execute(
            "SELECT path, json_extract(metadata, '$.kind') FROM nodes WHERE type = 'function'"
        ).fetchall()
        statements = resolved = 0
        for (facts,) in db.execute("SELECT facts FROM files"):
            imports = json.loads(facts)["imports"]
            statements += len(imports)
            resolved += sum(1 for i in imports if i.get("resolved"))
        edges = db.execute("SELECT source, target, type FROM edges").fetchall()
        references = db.execute(
            "SELECT u.path, r.target FROM refs r JOIN uses u ON u.id = r.use"
        ).fetchall()
    finally:
        db.close()
    tests = {s for s, t, kind in edges if kind == "testFile" and role_of(s) is not Role.TEST}
    in_file = sum(1 for path, target in references if target.partition(":")[0] == path)
    return {
        "files": types.get("file", 0),
        "functions found": kinds.get("function", 0),
        "methods found": kinds.get("method", 0),
        "function nodes": len(functions),
        "function nodes, source": sum(1 for p, _ in functions if role_of(p) is Role.SOURCE),
        "method nodes": sum(1 for _, kind in functions if kind == "method"),
        "modules": types.get("module", 0),
        "import statements read": statements,
        "imports resolved (statements)": resolved,
        "imports resolved (file edges)": sum(1 for _, _, kind in edges if kind == "imports"),
        "tests mapped (source files)": len(tests),
        "symbols a test uses": len(
            {target for path, target in references if role_of(path) is Role.TEST}
        ),
        "references in a file": in_file,
        "references across files": len(references) - in_file,
    }


def table(original: dict[str, int], pith: dict[str, int]) -> tuple[list[str], bool]:
    """The table's lines, and whether pith is behind on any row."""
    lines = [
        f"{'':32} {'original':>9} {'pith':>9}",
        f"{'-' * 32} {'-' * 9} {'-' * 9}",
    ]
    behind = False
    for key, theirs in original.items():
        ours = pith[key]
        verdict = "ahead" if ours > theirs else "same" if ours == theirs else "BEHIND"
        behind = behind or ours < theirs
        lines.append(f"{key:32} {theirs:>9,} {ours:>9,}  {verdict}")
    return lines, behind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the original's repository (checkout or mirror)")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--original-cli", type=Path, help="dist/cli/index.js of a built original")
    how.add_argument("--original-data", type=Path, help="its data dir's pith/ folder, from a run")
    args = parser.parse_args()
    if args.original_data is not None and not (args.original_data / "nodes.json").is_file():
        print(f"compare: no nodes.json in {args.original_data}", file=sys.stderr)
        return 2
    if args.original_cli is not None and not args.original_cli.is_file():
        print(
            f"compare: {args.original_cli} is not a file; build the original first "
            "(npm ci --ignore-scripts && npx tsup in its checkout)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="pith-compare-") as scratch:
        work = Path(scratch)
        tree = _clone(args.source, work)
        if args.original_cli is not None:
            folder = _run_original(args.original_cli.resolve(), tree, work / "original")
        else:
            folder = args.original_data
        theirs = original_figures(folder)
        (work / "pith").mkdir()
        ours = pith_figures(tree, work / "pith")
    head = subprocess.run(
        ["git", "-C", str(args.source), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"the original's repository at {head or '?'}: the original beside pith")
    lines, behind = table(theirs, ours)
    print("\n".join(lines))
    return 1 if behind else 0


if __name__ == "__main__":
    sys.exit(main())
