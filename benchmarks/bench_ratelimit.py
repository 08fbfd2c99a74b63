"""`pith generate` against a real HTTP server on 127.0.0.1: makespan next to the ideal, with no
limit, under a cap on requests in flight and under a cap on requests per second; and how fast
a closed port ends a run.

The server is tests/fakellm.py's real-server mode (TCP_NODELAY set, as real servers do), latency
L per accepted call, 429 with Retry-After at once beyond its cap. The ideal makespan is that of
`bench_generate` at the concurrency the server really allows: C for no cap, the cap for an
in-flight cap, floor(rate x L) for a rate cap.

    python benchmarks/bench_ratelimit.py [--latency 0.1] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import math
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio
from stamina.instrumentation import set_on_retry_hooks

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from bench_generate import clear_prose, ideal_makespan, write_project
from fakellm import FakeLLM

from pith import Store
from pith._build import build
from pith._extract import extract
from pith._generate import generate
from pith._generate._selection import select_nodes
from pith._llm import LLMClient

UNLIMITED_BOUND = 1.08
LIMITED_BOUND = 1.25


def floor_makespan(base_url: str, calls: int, concurrency: int) -> float:
    """Seconds a minimal Trio + httpx loop takes for ``calls`` requests at ``concurrency``
    against the same server: what this machine allows, next to which pith's figure is read (on
    a loaded machine both exceed the ideal)."""
    body = {"model": "bench", "messages": [{"role": "user", "content": "node_id: a.py"}]}

    async def main() -> None:
        limits = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            limiter = trio.CapacityLimiter(concurrency)

            async def one() -> None:
                async with limiter:
                    (await http.post(f"{base_url}/chat/completions", json=body)).raise_for_status()

            async with trio.open_nursery() as nursery:
                for _ in range(calls):
                    nursery.start_soon(one)

    started = time.perf_counter()
    trio.run(main)
    return time.perf_counter() - started


def run(store: Store, base_url: str, concurrency: int) -> tuple[float, dict[str, object]]:
    async def main() -> dict[str, object]:
        async with LLMClient(base_url=base_url, model="bench") as client:
            report = await generate(store, client, concurrency=concurrency)
        data = report.to_json()
        return {"failed": len(report.failed), **data}

    started = time.perf_counter()
    result = trio.run(main)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.100)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    latency, concurrency = args.latency, args.concurrency
    set_on_retry_hooks([])  # stamina's retry logging would drown the figures
    workdir = Path(tempfile.mkdtemp(prefix="pith-bench-ratelimit-"))
    try:
        write_project(workdir / "project")
        with Store.open(workdir / "pith.db") as store:
            extract(workdir / "project", store)
            build(store)
            selection = select_nodes(store)
            print(
                f"bench_ratelimit: {len(selection)} nodes, L = {latency * 1000:.0f} ms, "
                f"C = {concurrency}, real server on 127.0.0.1"
            )
            calls = 1000
            with FakeLLM(latency=latency).serve() as base_url:
                wall = floor_makespan(base_url, calls, concurrency)
            ideal = calls / concurrency * latency
            print(
                f"  minimal Trio+httpx loop, {calls} calls at c={concurrency}: {wall:.2f} s = "
                f"{wall / ideal:.2f}x ideal {ideal:.2f} s (this machine's floor for the ratios)"
            )
            cases = [
                ("no limit", {}, concurrency, UNLIMITED_BOUND),
                ("cap of 8 in flight", {"capacity": 8}, 8, LIMITED_BOUND),
                ("cap of 50 req/s", {"per_second": 50}, math.floor(50 * latency), LIMITED_BOUND),
            ]
            for name, limit, allowed, bound in cases:
                clear_prose(store)
                fake = FakeLLM(latency=latency, retry_after=0.1, **limit)  # type: ignore[arg-type]
                with fake.serve() as base_url:
                    wall, report = run(store, base_url, concurrency)
                ideal = ideal_makespan(selection, allowed, latency)
                trace = report["concurrency_trace"]
                assert isinstance(trace, dict)
                ratio = wall / ideal
                print(
                    f"  {name:<20} {wall:7.2f} s = {ratio:5.2f}x ideal {ideal:6.2f} s at "
                    f"c={allowed} (bound <= {bound}x) {'OK' if ratio <= bound else 'OVER'}; "
                    f"failed {report['failed']}, 429s {trace['rate_limited']}, "
                    f"concurrency lowest {trace['lowest']} final {trace['final']}"
                )
            clear_prose(store)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            wall, report = run(store, f"http://127.0.0.1:{port}/v1", concurrency)
            print(
                f"  closed port          {wall:7.2f} s to stop ({len(selection)} nodes selected; "
                f"bound <= 10 s) {'OK' if wall <= 10 else 'OVER'}; halted by: "
                f"{report['halted_by']}"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
