"""The generator at scale: makespan of 20,000 nodes at -c 200 with 1 s latency (server in its own
process) next to the ideal, its peak RSS and selection time; and the memory a 100,000-node
selection costs while it is queued behind -c 5 (the replies not counted).

Bounds: makespan <= 1.10x the ideal; the queued selection <= 50 MB above the store's own (RSS
of a fresh process with the store open, against its RSS while the run waits).

On 2 cores the makespan step takes about 2.5 minutes at 20,000 nodes (the ideal is 100 s);
``--nodes 4000`` takes half a minute, ``--queued 0`` skips the memory step, ``--nodes 0`` the
makespan step.

    python benchmarks/bench_scale.py [--nodes 20000] [--concurrency 200] [--latency 1]
        [--queued 100000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fakeserver import built_project, server_process

from pith import Store, select_nodes
from pith._build import build
from pith._extract import extract

MAKESPAN_BOUND = 1.10
QUEUED_BOUND_MB = 50.0


def write_project(root: Path, files: int, functions: int) -> None:
    """``files`` modules of ``functions`` two-line functions each, in one package."""
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 1\n")
    (root / "pkg" / "__init__.py").write_text('"""A package."""\n')
    for i in range(files):
        source = "".join(f"def f{j}(x):\n    return x + {j}\n\n\n" for j in range(functions))
        (root / "pkg" / f"mod{i}.py").write_text(f'"""Module {i}."""\n\n\n{source}')


# The queued selection, measured in a process of its own: RSS with the store open, with the
# selection made, and while the run waits (its calls never answer), then its peak.
_QUEUED_CHILD = """
import json, os, sys, time
from pathlib import Path
import httpx, trio
from pith import Generation, LLMClient, Store, select_nodes

def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

with Store.open(Path(sys.argv[1])) as store:
    store.node_counts()
    store_mb = rss_mb()
    started = time.perf_counter()
    selection = select_nodes(store, force=True)
    selected_in = time.perf_counter() - started
    selected_mb = rss_mb()

    async def never(request):
        await trio.sleep_forever()

    async def main():
        client = LLMClient(
            base_url="http://llm.example/v1", model="bench", transport=httpx.MockTransport(never)
        )
        async with client:
            generation = Generation(store=store, client=client, concurrency=5)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(generation.run, selection)
                await trio.sleep(3)  # the producer has filled what it queues ahead by now
                queued = rss_mb()
                nursery.cancel_scope.cancel()
        return queued

    queued_mb = trio.run(main)
# The high-water mark of this process's own memory (ru_maxrss would also count the parent's
# RSS at fork: Linux keeps it across exec); the kernel updates it lazily.
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(json.dumps({"nodes": len(selection), "store": store_mb, "selected": selected_mb,
                  "selected_in": selected_in, "queued": queued_mb,
                  "peak": max(queued_mb, int(peak[0].split()[1]) / 1000)}))
"""


def queued_memory(workdir: Path, nodes: int) -> None:
    """RSS while ``nodes`` nodes wait behind -c 5 (the calls never answer during the test),
    in a fresh process: extraction and build leave nothing behind in it."""
    files = max(1, nodes // 1000)
    write_project(workdir / "queued", files, nodes // files - 1)
    with Store.open(workdir / "queued.db") as store:
        extract(workdir / "queued", store)
        build(store)
    out = subprocess.run(
        [sys.executable, "-c", _QUEUED_CHILD, str(workdir / "queued.db")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(out.splitlines()[-1])
    above = figures["queued"] - figures["store"]
    ok = above <= QUEUED_BOUND_MB
    print(
        f"  {figures['nodes']} nodes queued behind -c 5: RSS {figures['store']:.0f} MB with the "
        f"store open, {figures['selected']:.0f} MB with the selection made "
        f"({figures['selected_in']:.2f} s), {figures['queued']:.0f} MB while queued "
        f"(peak {figures['peak']:.0f} MB): {above:.1f} MB above the store's own "
        f"(bound <= {QUEUED_BOUND_MB:.0f} MB) {'OK' if ok else 'OVER'}"
    )
    if not ok:
        raise SystemExit(1)


# `pith generate` in a child: wall time of the command, and the selection's time alone.
_CHILD = """
import json, sys, time
import pith._cli, pith._generate._engine, pith._llm._client, trio, httpx, rich
from pith import Store, select_nodes
store = Store.open(__import__("pathlib").Path(sys.argv[1]))
started = time.perf_counter()
select_nodes(store, force=True)
selection = time.perf_counter() - started
store.close()
started = time.perf_counter()
try:
    pith._cli.main(sys.argv[2:])
except SystemExit as exit:
    assert not exit.code, exit.code
wall = time.perf_counter() - started
# Its own high-water mark (ru_maxrss would also count the parent's RSS at fork).
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
print(json.dumps({"wall": wall, "selection": selection, "peak": int(peak[0].split()[1]) / 1000}))
"""


def makespan(workdir: Path, nodes: int, concurrency: int, latency: float) -> None:
    files = max(1, nodes // 100)
    write_project(workdir / "project", files, nodes // files - 1)
    env = built_project(workdir, workdir / "project", "scale")
    with Store.open(workdir / "data" / "pith.db") as store:
        selection = select_nodes(store, force=True)
    levels = {node.id.count("/") for node in selection.phase_two}
    rounds = math.ceil(len(selection.phase_one) / concurrency) + sum(
        math.ceil(sum(1 for n in selection.phase_two if n.id.count("/") == level) / concurrency)
        for level in levels
    )
    ideal = rounds * latency
    report = workdir / "run.json"
    with server_process(latency=latency) as server, (workdir / "out.txt").open("w") as out:
        env["PITH_BASE_URL"] = server.base_url
        command = [sys.executable, "-c", _CHILD, str(workdir / "data" / "pith.db")]
        command += ["-q", "generate", "--force", "-c", str(concurrency), "--report", str(report)]
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, (workdir / "out.txt").read_text()
    figures = json.loads((workdir / "out.txt").read_text().splitlines()[-1])
    totals = json.loads(report.read_text())["totals"]
    ratio = figures["wall"] / ideal
    ok = ratio <= MAKESPAN_BOUND
    print(
        f"  {len(selection)} nodes at -c {concurrency}, L = {latency:g} s: {figures['wall']:.1f} s "
        f"= {ratio:.2f}x ideal {ideal:.0f} s (bound <= {MAKESPAN_BOUND}x) "
        f"{'OK' if ok else 'OVER'}; {totals['generated']} generated; peak RSS "
        f"{figures['peak']:.0f} MB; CPU {usage.ru_utime + usage.ru_stime:.1f} s; "
        f"selection {figures['selection']:.2f} s; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    if not ok:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--queued", type=int, default=100_000)
    args = parser.parse_args()
    print("bench_scale:")
    workdir = Path(tempfile.mkdtemp(prefix="pith-bench-scale-"))
    failed = False
    try:
        steps: list[Callable[[], None]] = []
        if args.nodes:  # --nodes 0: the queued memory alone
            steps.append(lambda: makespan(workdir, args.nodes, args.concurrency, args.latency))
        if args.queued:  # --queued 0: the makespan alone
            steps.insert(0, lambda: queued_memory(workdir, args.queued))
        for step in steps:
            try:
                step()
            except SystemExit:
                failed = True
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
