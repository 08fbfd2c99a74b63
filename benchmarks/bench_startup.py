"""How fast the command line starts, against the interpreter alone, and a warm rerun of
extract + build as a user runs it.

Read commands are what agents call in loops, so their start is measured against a bare
interpreter start (``python -c pass``) in the same run, interleaved with it so that the load of
the machine weighs on both; each figure is the best of ``--runs`` wall times (bounded), printed
with the best CPU time (user + system) of the process, which a loaded machine disturbs less:

- ``pith --version``: <= 2x the bare start;
- ``pith status``, ``list``, ``show FILE``, ``search WORD``, ``context FILE`` on a built store of a
  mid-size package (httpx, a dependency: 23 files, 91 nodes): <= 2.5x;
- ``pith extract PATH && pith build`` as two processes on PATH: warm rerun (nothing changed)
  <= 10% of cold, process starts included.

It runs the ``pith`` script installed next to this interpreter, as a user or an agent does (else
``python -m pith``), and exits 1 when a figure is over its bound.

Usage: python benchmarks/bench_startup.py [PATH] [--runs N] [--startup-only]
(PATH: default the stdlib)
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import httpx

VERSION_BOUND = 2.0  # x the bare interpreter
READ_BOUND = 2.5  # x the bare interpreter
WARM_BOUND = 0.10  # x cold

_SCRIPT = Path(sys.executable).with_name("pith")
PITH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "pith"]
BARE = [sys.executable, "-c", "pass"]
CLICK = [sys.executable, "-c", "import click"]


def pith(data_dir: Path, *args: str) -> float:
    return _wall([*PITH, "--data-dir", str(data_dir), "-q", *args])


def _wall(command: list[str]) -> float:
    return _start(command)[0]


def _start(command: list[str]) -> tuple[float, float]:
    """The wall time of ``command``, and the CPU time (user + system) its process used: on a
    loaded machine the CPU time still says what the start costs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def startup_ratios(data_dir: Path, runs: int) -> bool:
    """Print each read command's best start against the bare interpreter's; True if all are
    within their bounds."""
    commands: list[tuple[list[str], float]] = [
        (["--version"], VERSION_BOUND),
        (["--data-dir", str(data_dir), "status"], READ_BOUND),
        (["--data-dir", str(data_dir), "list"], READ_BOUND),
        (["--data-dir", str(data_dir), "show", "_client.py"], READ_BOUND),
        (["--data-dir", str(data_dir), "search", "redirect"], READ_BOUND),
        (["--data-dir", str(data_dir), "context", "_client.py"], READ_BOUND),
    ]
    programs = [("python -c pass", BARE), ("python -c import click", CLICK)]
    programs += [
        (
            "pith " + " ".join(a for a in args if a not in (str(data_dir), "--data-dir")),
            [*PITH, *args],
        )
        for args, _bound in commands
    ]
    wall = [float("inf")] * len(programs)
    cpu = [float("inf")] * len(programs)
    for _ in range(runs):  # interleaved: a busy moment slows the bare start as much
        for i, (_label, command) in enumerate(programs):
            seconds, used = _start(command)
            wall[i], cpu[i] = min(wall[i], seconds), min(cpu[i], used)
    print(f"{'':<28} {'wall':>8}  {'x bare':>6}   {'cpu':>8}  {'x bare':>6}")
    ok = True
    bounds = [None, None, *(bound for _args, bound in commands)]
    for (label, _command), seconds, used, bound in zip(programs, wall, cpu, bounds, strict=True):
        ratio = seconds / wall[0]
        figures = (
            f"{label:<28} {seconds * 1000:5.1f} ms  {ratio:5.2f}x   "
            f"{used * 1000:5.1f} ms  {used / cpu[0]:5.2f}x"
        )
        if bound is None:
            note = "the interpreter alone" if label.endswith("pass") else "click alone"
            print(f"{figures}  ({note})")
            continue
        ok = ok and ratio <= bound
        print(f"{figures}  (wall bound <= {bound}x)  {'OK' if ratio <= bound else 'OVER'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    parser.add_argument("--runs", type=int, default=10, help="best of N (default 10)")
    parser.add_argument(
        "--startup-only", action="store_true", help="measure the starts, not extract + build"
    )
    options = parser.parse_args()
    root = Path(options.path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        reading = Path(tmp) / "httpx"
        pith(reading, "extract", str(Path(httpx.__file__).parent))
        pith(reading, "build")
        fast = startup_ratios(reading, options.runs)
        if options.startup_only:
            sys.exit(0 if fast else 1)
        data_dir = Path(tmp) / "big"
        cold = pith(data_dir, "extract", str(root)) + pith(data_dir, "build")
        warm = pith(data_dir, "extract", str(root)) + pith(data_dir, "build")
    ratio = warm / cold
    print(f"cold extract + build (2 processes): {cold:6.2f} s   on {root}")
    print(f"warm extract + build (2 processes): {warm:6.2f} s")
    print(
        f"warm / cold = {ratio:.1%}  (bound <= {WARM_BOUND:.0%})  "
        f"{'OK' if ratio <= WARM_BOUND else 'OVER'}"
    )
    if not fast or ratio > WARM_BOUND:
        sys.exit(1)


if __name__ == "__main__":
    main()
