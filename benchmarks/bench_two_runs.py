"""Two `pith generate` processes at once on one store: calls, duplicates and wall time.

The venv's installed `trio` package (about 560 nodes) is copied into a temporary git repository,
extracted and built; then two `pith generate -c C` processes start together on that store
against tests/fakellm.py's real server on 127.0.0.1 answering after a fixed latency L. Then, on a
fresh copy of the store, one process alone, for reference. Bound: no node is called twice (the
runs all live, so no lease expires; the script exits 1 otherwise). The pair's wall time is
printed next to the single run's: sharing the work, the pair should take about as long, not
twice as long.

    python benchmarks/bench_two_runs.py [--latency 0.05] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from fakellm import FakeLLM
from test_leases_cli import pith  # the real command in a subprocess


def wait(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate(timeout=900)
    if process.returncode != 0:
        raise SystemExit(f"pith failed ({process.returncode}): {err}")


def generate_at_once(
    runs: int, data_dir: Path, cwd: Path, latency: float, concurrency: int
) -> tuple[float, Counter[str | None], list[dict[str, object]]]:
    fake = FakeLLM(latency=latency)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    with fake.serve() as base_url:
        env |= {"PITH_DATA_DIR": str(data_dir), "PITH_BASE_URL": base_url}
        start = time.perf_counter()
        processes = [
            pith("-q", "generate", f"-c{concurrency}", f"--report=run{i}.json", env=env, cwd=cwd)
            for i in range(runs)
        ]
        for process in processes:
            wait(process)
        seconds = time.perf_counter() - start
    reports = [json.loads((cwd / f"run{i}.json").read_text())["totals"] for i in range(runs)]
    return seconds, Counter(call.node_id for call in fake.calls), reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        repo = work / "repo"
        shutil.copytree(Path(trio.__file__).parent, repo / "trio")
        git = ["git", "-c", "user.name=b", "-c", "user.email=b@b", "-C", str(repo)]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "trio"], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
        built = work / "built"
        env["PITH_DATA_DIR"] = str(built)
        wait(pith("-q", "extract", str(repo), env=env, cwd=work))
        wait(pith("-q", "build", env=env, cwd=work))

        for name in ("alone", "pair"):
            shutil.copytree(built, work / name)
        alone, alone_calls, _ = generate_at_once(
            1, work / "alone", work, args.latency, args.concurrency
        )
        pair, calls, reports = generate_at_once(
            2, work / "pair", work, args.latency, args.concurrency
        )

    nodes = len(alone_calls)
    duplicates = sum(n - 1 for n in calls.values())
    print(f"trio package: {nodes} nodes; latency {args.latency} s, -c {args.concurrency}")
    print(f"one run:  {sum(alone_calls.values())} calls, {alone:.2f} s wall")
    print(
        f"two runs: {sum(calls.values())} calls for {len(calls)} nodes, duplicates {duplicates}"
        f" (bound 0), {pair:.2f} s wall (one run: {alone:.2f} s; ratio {pair / alone:.2f})"
    )
    for i, totals in enumerate(reports):
        print(
            f"  run {i}: generated {totals['generated']},"
            f" written by the other {totals['written_by_another_run']},"
            f" failed {totals['failed']}"
        )
    if duplicates:
        raise SystemExit("a node was paid for twice")


if __name__ == "__main__":
    main()
