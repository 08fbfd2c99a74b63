"""Extract + build of the CPython standard library, next to a bare ``ast.parse`` of the same files.

Prints each measured figure next to its bound:

- cold extract + build (empty database), CPU seconds of this process and its parser workers
  <= 18.6 s: before symbols and references it cost 12.4 s CPU on the 2-core machine pith is
  developed on, and they may cost at most 1.5x that (issue 18). CPU seconds swell on a loaded
  machine: the load average is printed next to the figure;
- cold extract + build wall time <= 2.2x the bare parse's (1.5x the 1.47x measured before);
- warm extract + build (no change since) <= 10% of cold.

Exits 1 when a figure is over its bound.

Usage: python benchmarks/bench_extract.py [--workers N] [PATH]   (PATH: default the stdlib)
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import resource
import sys
import sysconfig
import tempfile
import time
import warnings
from pathlib import Path

from pith._build import build
from pith._extract import discover, extract
from pith._store import Store

COLD_CPU_BOUND = 1.5 * 12.4  # s CPU: 1.5x the 12.4 s measured before symbols
COLD_BOUND = 2.2  # x bare parse: 1.5x the 1.47x measured before symbols
WARM_BOUND = 0.10  # x cold


def bare_parse(root: Path, paths: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    for path in paths:
        try:
            data = (root / path).read_bytes()
        except OSError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in old test files
            with contextlib.suppress(SyntaxError, ValueError):
                ast.parse(data)
    return time.perf_counter() - started, cpu_seconds() - cpu_started


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the parser workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def extract_and_build(root: Path, store: Store, workers: int | None) -> tuple[float, float, str]:
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = extract(root, store, workers=workers)
    built = build(store)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_started
    detail = (
        f"{cpu:.2f} s CPU; {summary.files} files: "
        f"{summary.parsed} parsed, {summary.unchanged} unchanged, {len(summary.skipped)} skipped; "
        f"{sum(built.nodes.values())} nodes, {built.edges} edges"
    )
    return seconds, cpu, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--workers", type=int, default=None, help="parser processes")
    args = parser.parse_args()
    root = Path(args.path).resolve()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        paths = [c.path for c in discover(root, data_dir=data_dir).files]
        print(f"codebase: {root} ({len(paths)} Python files)")
        bare, bare_cpu = bare_parse(root, paths)
        print(f"bare ast.parse, 1 process:        {bare:7.2f} s   ({bare_cpu:.2f} s CPU)")
        with Store.open(data_dir / "pith.db") as store:
            cold, cold_cpu, detail = extract_and_build(root, store, args.workers)
            print(f"cold extract + build:             {cold:7.2f} s   ({detail})")
            warm, _, detail = extract_and_build(root, store, args.workers)
            print(f"warm extract + build (no change): {warm:7.2f} s   ({detail})")
    load = os.getloadavg()[0]
    cold_ratio = cold / bare
    warm_ratio = warm / cold
    print(
        f"cold CPU          = {cold_cpu:.2f} s  (bound <= {COLD_CPU_BOUND:.1f} s)  "
        f"{'OK' if cold_cpu <= COLD_CPU_BOUND else 'OVER'}  [load average {load:.2f}]"
    )
    print(
        f"cold / bare parse = {cold_ratio:.2f}x  (bound <= {COLD_BOUND}x)  "
        f"{'OK' if cold_ratio <= COLD_BOUND else 'OVER'}"
    )
    print(
        f"warm / cold       = {warm_ratio:.1%}  (bound <= {WARM_BOUND:.0%})  "
        f"{'OK' if warm_ratio <= WARM_BOUND else 'OVER'}"
    )
    if cold_cpu > COLD_CPU_BOUND or cold_ratio > COLD_BOUND or warm_ratio > WARM_BOUND:
        sys.exit(1)


if __name__ == "__main__":
    main()
