"""`pith build` of one file whose functions are all imported elsewhere (issue 23, point 5).

A file of N functions, every one imported by name and called by two other files, so that
every one is a function node and has two references. Before, the search index read the file's
facts once per function node (2,000: 7.5 s; 8,000: 127 s; 20,000: not done in 600 s).

Prints the build time next to its bound and exits 1 when over it.

Usage: python benchmarks/bench_build.py [--functions N]   (default 20,000; bound 30 s)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from pith._build import build
from pith._extract import extract
from pith._store import Store

BOUND = 30.0  # seconds, for the default size


def write_project(root: Path, functions: int) -> None:
    root.mkdir()
    (root / "lib.py").write_text(
        "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(functions))
    )
    names = [f"f{i}" for i in range(functions)]
    for user in ("a", "b"):
        imports = "".join(f"from lib import {name}\n" for name in names)
        calls = "".join(f"    {name}(1)\n" for name in names)
        (root / f"use_{user}.py").write_text(f"{imports}def main():\n{calls}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        write_project(root, args.functions)
        with Store.open(Path(tmp) / "pith.db") as store:
            started = time.perf_counter()
            extract(root, store, workers=1)
            extracted = time.perf_counter() - started
            started = time.perf_counter()
            summary = build(store)
            built = time.perf_counter() - started
            references = len(store.references_in_file_to("lib.py", 10 * args.functions))
    print(f"{args.functions:,} functions imported from one file, called by 2 files")
    print(f"extract: {extracted:6.2f} s")
    print(
        f"build:   {built:6.2f} s  ({sum(summary.nodes.values()):,} nodes, "
        f"{references:,} references)  (bound <= {BOUND:.0f} s)  "
        f"{'OK' if built <= BOUND else 'OVER'}"
    )
    if built > BOUND:
        sys.exit(1)


if __name__ == "__main__":
    main()
