"""pith's own CPU per LLM call next to a bare Trio + httpx loop, and `pith generate`'s makespan
next to the ideal, against the fake endpoint in a process of its own.

The workload is the trio package as installed (a real codebase; about 300 nodes in scope): it
is copied, extracted and built, then `pith generate --force -c C` runs in a child process
against the fake server (latency L). CPU is read with getrusage inside that child around the
command alone (imports excluded, as for the bare loop); the whole process's CPU is printed too.
The bare loop sends the same calls: each of pith's prompts (built again with pith's prompt
builder before its clock starts), with the same headers, so the same bytes go out and the same
replies come back, at the same concurrency; it decodes each reply's JSON.

Bounds: pith's CPU per call <= 1.5x the bare loop's; makespan <= 1.10x the ideal at C; against
a server that refuses past 8 calls in flight, <= 1.25x the ideal at 8. ``--profile`` prints the
top entries of a profile of pith's run (where the CPU goes), for the event loop's thread and for
the store's (its prompts, claims and saves), each thread's own CPU. Also printed: pith's LLM
client alone on the bare loop's calls (what of pith's CPU is the client's, what the
generator's), and the fake server's own CPU per call (the instrument's cost, in its own process).

    python benchmarks/bench_cpu.py [--latency 0.1] [--concurrency 20] [--profile]
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
from collections import Counter
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).parent))
from fakeserver import built_project, server_process

CPU_BOUND = 1.5
# What `--profile` shows, in its order: each thread's own CPU.
_THREADS = ("the event loop's thread", "the store's thread (prompts, claims, saves)")
MAKESPAN_BOUND = 1.10
CAPPED_BOUND = 1.25

# Runs `pith generate` in this child, timing the command alone (the imports are done first).
_PITH_CHILD = """
import json, resource, sys, time
import httpx, rich, trio, pith._cli, pith._generate._engine, pith._llm._client
from pith._cli import main

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

profile = sys.argv[1]
args = sys.argv[2:]
if profile:
    import cProfile, functools
    from pith._generate._engine import Generation
    # Each thread's own CPU (not wall time: the machine may be loaded; not the process's: the
    # other thread's work would be charged to whatever this one was doing meanwhile).
    profiler = cProfile.Profile(time.thread_time)
    # The store's thread: the batches of prompts and claims, and of saves (one at a time).
    store_thread = cProfile.Profile(time.thread_time)

    def on_store_thread(method):
        @functools.wraps(method)
        def profiled(*args, **kwargs):
            return store_thread.runcall(method, *args, **kwargs)
        return profiled

    Generation._prepare_all = on_store_thread(Generation._prepare_all)
    Generation._save_all = on_store_thread(Generation._save_all)
wall, started = time.perf_counter(), cpu()
try:
    if profile:
        profiler.runcall(main, args)
    else:
        main(args)
except SystemExit as exit:
    assert not exit.code, exit.code
cpu_s, wall_s = cpu() - started, time.perf_counter() - wall
if profile:
    import pstats
    with open(profile, "w") as out:
        for profiled in (profiler, store_thread):
            pstats.Stats(profiled, stream=out).sort_stats("tottime").print_stats(25)
print(json.dumps({"cpu": cpu_s, "wall": wall_s}))
"""

# A loop over the very messages pith sent (its prompts, read from a file before the clock starts),
# at the same concurrency, timed around ``main`` alone; ``sys.argv[4]``: JSON for ``main``.
_LOOP = """
import json, resource, sys, time
import httpx, trio
{imports}

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

base_url, concurrency = sys.argv[1], int(sys.argv[2])
with open(sys.argv[3]) as prompts:
    calls = json.load(prompts)
given = json.loads(sys.argv[4])
{main}
wall, started = time.perf_counter(), cpu()
trio.run(main)
print(json.dumps({{"cpu": cpu() - started, "wall": time.perf_counter() - wall}}))
"""

# The bare loop: a limiter, an httpx client, one POST per call with the same headers as pith's
# (``given``), the reply's JSON decoded.
_BARE_CHILD = _LOOP.format(
    imports="",
    main="""
async def main():
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=given) as http:
        limiter = trio.CapacityLimiter(concurrency)

        async def one(messages):
            body = {"model": "bench", "messages": messages, "temperature": 0.3,
                    "max_tokens": 1500, "response_format": {"type": "json_object"}}
            async with limiter:
                response = await http.post(f"{base_url}/chat/completions", json=body)
            response.raise_for_status()
            json.loads(response.json()["choices"][0]["message"]["content"])

        async with trio.open_nursery() as nursery:
            for messages in calls:
                nursery.start_soon(one, messages)
""",
)

# pith's LLM client alone on the same calls (same limiter, no store, no generator; ``given``: the
# key): what of pith's CPU is its client's, and what the generator's.
_CLIENT_CHILD = _LOOP.format(
    imports="from pith._llm._client import LLMClient",
    main="""
async def main():
    async with LLMClient(base_url=base_url, model="bench", api_key=given) as client:
        limiter = trio.CapacityLimiter(concurrency)

        async def one(messages):
            async with limiter:
                await client.complete(messages, json.loads)

        async with trio.open_nursery() as nursery:
            for messages in calls:
                nursery.start_soon(one, messages)
""",
)

# The prompts pith sends for the nodes of a run, in its order, for the bare loop; and what
# building them and saving their prose costs, timed alone (pith's own work per node).
_PROMPTS_CHILD = """
import json, sys, time
from pathlib import Path
from pith import Store
from pith._generate._prompt_builder import PromptBuilder
from pith._llm._client import REFERER
report, out, key = json.loads(Path(sys.argv[1]).read_text()), sys.argv[2], sys.argv[3]
with Store.open(Path(sys.argv[4])) as store:
    builder = PromptBuilder(store)
    nodes = {node.id: node for node in store.nodes()}
    ids = [entry["id"] for entry in report["nodes"]]
    started = time.process_time()
    # The children's summaries are in the store now: module prompts are as pith sent them.
    prompts = [builder.prompt(nodes[node_id]).messages for node_id in ids]
    prompt_cpu = time.process_time() - started
    written = [(node_id, store.prose(node_id)) for node_id in ids]
    # Saved as a run saves them: those that arrive while a save is under way, together (here
    # a concurrency's worth at a time).
    batch = int(sys.argv[5])
    started = time.process_time()
    for start in range(0, len(written), batch):
        store.save_prose_many(written[start : start + batch])
    save_cpu = time.process_time() - started
Path(out).write_text(json.dumps(prompts))
headers = {"HTTP-Referer": REFERER, "X-Title": "pith", "Accept-Encoding": "gzip, deflate",
           "Authorization": f"Bearer {key}"}
per_node = {"prompt": prompt_cpu / len(ids), "save": save_cpu / len(ids)}
print(json.dumps({"headers": headers, **per_node}))
"""


def child(code: str, args: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Run a child; its own figures, plus the whole process's CPU (``process_cpu``)."""
    out = cwd / "child.out"
    with out.open("w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args], env=env, cwd=cwd, stdout=stdout
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, out.read_text()
    figures: dict[str, float] = json.loads(out.read_text().splitlines()[-1])
    figures["process_cpu"] = usage.ru_utime + usage.ru_stime
    return figures


def ideal_makespan(phase_one: int, modules: list[str], concurrency: int, latency: float) -> float:
    """Phase one at full concurrency, then each package level after the one below it."""
    levels = Counter(-1 if m == "." else m.count("/") for m in modules)
    rounds = math.ceil(phase_one / concurrency)
    rounds += sum(math.ceil(count / concurrency) for count in levels.values())
    return rounds * latency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    latency, concurrency = args.latency, args.concurrency
    failed = False
    workdir = Path(tempfile.mkdtemp(prefix="pith-bench-cpu-"))
    try:
        project = workdir / "project"
        shutil.copytree(Path(trio.__file__).parent, project / "trio")
        env = built_project(workdir, project, "cpu")
        report_path = workdir / "run.json"
        generate = ["-q", "generate", "--force", "-c", str(concurrency)]
        generate += ["--report", str(report_path)]

        runs = []
        with server_process(latency=latency) as server:
            env["PITH_BASE_URL"] = server.base_url
            for _ in range(2):  # the better of two: a loaded machine only adds
                runs.append(child(_PITH_CHILD, ["", *generate], env, workdir))
            report = json.loads(report_path.read_text())
            nodes = report["nodes"]
            calls = sum(node["attempts"] for node in nodes)
            prompts = workdir / "prompts.json"
            own_args = [env["PITH_API_KEY"], str(workdir / "data" / "pith.db"), str(concurrency)]
            own = subprocess.run(
                [sys.executable, "-c", _PROMPTS_CHILD, str(report_path), str(prompts), *own_args],
                env=env,
                cwd=workdir,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            own_work = json.loads(own.splitlines()[-1])
            loop_args = [server.base_url, str(concurrency), str(prompts)]
            bare = [
                child(_BARE_CHILD, [*loop_args, json.dumps(own_work["headers"])], env, workdir)
                for _ in range(2)
            ]
            client_alone = [
                child(_CLIENT_CHILD, [*loop_args, json.dumps(env["PITH_API_KEY"])], env, workdir)
                for _ in range(2)
            ]
            if args.profile:
                profile = workdir / "profile.txt"
                child(_PITH_CHILD, [str(profile), *generate], env, workdir)
        served = server.stats["calls"]
        server_ms = server.stats["cpu"] / served * 1000
        pith_run = min(runs, key=lambda r: r["cpu"])
        bare_run = min(bare, key=lambda r: r["cpu"])
        pith_ms = pith_run["cpu"] / calls * 1000
        bare_ms = bare_run["cpu"] / len(nodes) * 1000
        ratio = pith_ms / bare_ms
        failed |= ratio > CPU_BOUND
        print(
            f"bench_cpu: the trio package, {len(nodes)} nodes, {calls} calls, "
            f"L = {latency * 1000:.0f} ms, C = {concurrency}, server in its own process; load "
            f"average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (wall figures grow with it)"
        )
        print(
            f"  CPU per call: pith {pith_ms:.2f} ms (whole process "
            f"{pith_run['process_cpu'] / calls * 1000:.2f} ms, imports and build check included),"
            f" bare Trio+httpx loop {bare_ms:.2f} ms: {ratio:.2f}x "
            f"(bound <= {CPU_BOUND}x) {'OK' if ratio <= CPU_BOUND else 'OVER'}"
        )
        client_ms = min(r["cpu"] for r in client_alone) / len(nodes) * 1000
        print(
            f"  pith's LLM client alone on the bare loop's calls (no store, no generator): "
            f"{client_ms:.2f} ms per call; the fake server: {server_ms:.2f} ms of CPU per call "
            f"({served} calls), in its own process"
        )
        prompt_ms, save_ms = own_work["prompt"] * 1000, own_work["save"] * 1000
        print(
            f"  where pith's {pith_ms - bare_ms:.2f} ms above the bare loop go, per node: its "
            f"prompt {prompt_ms:.2f} ms and saving its prose {save_ms:.2f} ms ({concurrency} at a"
            " time; timed alone, on the store's thread in a run), the rest "
            f"{pith_ms - bare_ms - prompt_ms - save_ms:.2f}"
            " ms (the run's bookkeeping, claims, the parse of the reply, GIL hand-offs)"
        )
        phase_one = sum(1 for node in nodes if node["phase"] == 1)
        modules = [node["id"] for node in nodes if node["phase"] == 2]
        ideal = ideal_makespan(phase_one, modules, concurrency, latency)
        best = min(r["wall"] for r in runs)
        bare_ideal = math.ceil(len(nodes) / concurrency) * latency
        bare_wall = min(r["wall"] for r in bare)
        failed |= best / ideal > MAKESPAN_BOUND
        print(
            f"  makespan at c={concurrency}: {best:.2f} s = {best / ideal:.2f}x ideal "
            f"{ideal:.2f} s (bound <= {MAKESPAN_BOUND}x) "
            f"{'OK' if best / ideal <= MAKESPAN_BOUND else 'OVER'}; the bare loop: "
            f"{bare_wall:.2f} s = {bare_wall / bare_ideal:.2f}x its ideal {bare_ideal:.2f} s"
        )
        with server_process(latency=latency, capacity=8, retry_after=0.1) as server:
            env["PITH_BASE_URL"] = server.base_url
            capped = child(_PITH_CHILD, ["", *generate], env, workdir)
        capped_ideal = ideal_makespan(phase_one, modules, 8, latency)
        capped_ratio = capped["wall"] / capped_ideal
        failed |= capped_ratio > CAPPED_BOUND
        trace = json.loads(report_path.read_text())["concurrency_trace"]
        print(
            f"  server refusing past 8 in flight: {capped['wall']:.2f} s = {capped_ratio:.2f}x "
            f"ideal {capped_ideal:.2f} s at c=8 (bound <= {CAPPED_BOUND}x) "
            f"{'OK' if capped_ratio <= CAPPED_BOUND else 'OVER'}; {server.stats.get('refused')} "
            f"refusals, concurrency lowest {trace['lowest']}, final {trace['final']}"
        )
        if args.profile:
            lines = profile.read_text().splitlines()
            starts = [i for i, line in enumerate(lines) if "ncalls" in line]
            for thread, start in zip(_THREADS, starts, strict=True):
                total = next(line for line in reversed(lines[:start]) if "function calls" in line)
                print(
                    f"  profile of pith's run, {thread} (top entries by own time; {total.strip()}):"
                )
                for line in lines[start : start + 26]:
                    print(f"    {line}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
