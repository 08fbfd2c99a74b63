"""How fast the command line starts, and a warm rerun of extract + build as a user runs it.

Prints each figure next to its bound:

- ``pith --version``, ``--help``, ``status``, ``list``, ``show`` on a built store: best of 5 wall
  times, each <= 0.15 s;
- ``pith extract PATH && pith build`` as two processes on the stdlib: warm rerun (nothing
  changed) <= 10% of cold, process starts included.

Usage: python benchmarks/bench_startup.py [PATH]   (PATH: default the stdlib)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

START_BOUND = 0.15  # seconds
WARM_BOUND = 0.10  # x cold


def pith(data_dir: Path, *args: str) -> float:
    return _wall([sys.executable, "-m", "pith", "--data-dir", str(data_dir), "-q", *args])


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    root = Path(parser.parse_args().path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        cold = pith(data_dir, "extract", str(root)) + pith(data_dir, "build")
        warm = pith(data_dir, "extract", str(root)) + pith(data_dir, "build")
        any_file = "os.py" if (root / "os.py").exists() else "."
        # The interpreter alone, for scale: on a loaded machine every figure below grows with it.
        bare = min(_wall([sys.executable, "-c", "pass"]) for _ in range(5))
        print(f"{'python -c pass':<24} {bare:6.3f} s  (the interpreter alone, for scale)")
        for args in (["--version"], ["--help"], ["status"], ["list"], ["show", any_file]):
            best = min(pith(data_dir, *args) for _ in range(5))
            ok = best <= START_BOUND
            label = "pith " + " ".join(args)
            print(
                f"{label:<24} {best:6.3f} s  (bound <= {START_BOUND} s)  {'OK' if ok else 'OVER'}"
            )
    ratio = warm / cold
    print(f"cold extract + build (2 processes): {cold:6.2f} s   on {root}")
    print(f"warm extract + build (2 processes): {warm:6.2f} s")
    print(
        f"warm / cold = {ratio:.1%}  (bound <= {WARM_BOUND:.0%})  "
        f"{'OK' if ratio <= WARM_BOUND else 'OVER'}"
    )


if __name__ == "__main__":
    main()
