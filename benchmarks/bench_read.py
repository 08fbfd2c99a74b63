"""Reading the wiki of the CPython standard library: `context` and `search` latency through the
library and through `pith serve`, and `serve` answering while `generate --force` writes.

The stdlib is extracted and built into a temporary store and every node gets fake prose (saved
directly: no LLM). Figures are printed next to their targets:

- context for 5 files, p50 (target <= 20 ms) and p99, library and HTTP;
- search p50, library and HTTP;
- ask (a task in English, a 4,000-token briefing) p50, library and HTTP `POST /query`
  (target <= 150 ms);
- 200 concurrent HTTP requests while `pith generate --force` rewrites prose through a fake
  endpoint on 127.0.0.1: how many were answered, how many failed (target: all, none).

    python benchmarks/bench_read.py [PATH]   (PATH: default the stdlib)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from fakellm import FakeLLM

from pith._build import build
from pith._extract import extract
from pith._models import Gotcha, NodeType, Prose
from pith._store import Store
from pith._wiki._read import WikiReader

CONTEXT_P50_TARGET = 0.020
QUERIES = ["http client", "parse", "thread lock", "json decode", "socket timeout", "path"]
ASK_P50_TARGET = 0.150
QUESTIONS = [
    "redirects drop the Authorization header",
    "add a per-request retry option",
    "how does asyncio schedule callbacks",
    "email header folding is wrong for long lines",
    "json decode errors should say the line and column",
    "thread lock",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fill_prose(store: Store) -> None:
    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for node in store.nodes():
        store.save_prose(
            node.id,
            Prose(
                summary=f"What {node.id} does, in one sentence of about this length.",
                purpose="Why it exists: " + "a reason, " * 20,
                gotchas=(Gotcha(warning="Something that bites. " * 5, location="line 1"),),
                generated_at=when,
                model="fake",
                source_hash=node.source_hash,
            ),
        )


def rewritten(data: Path) -> int:
    """How many nodes have prose written by `generate` (not the benchmark's fake prose)."""
    with sqlite3.connect(f"{(data / 'pith.db').resolve().as_uri()}?mode=ro", uri=True) as db:
        query = "SELECT count(*) FROM prose WHERE json_extract(prose, '$.model') != 'fake'"
        count: int = db.execute(query).fetchone()[0]
    return count


OVER: list[str] = []


def report(name: str, seconds: list[float], target: float | None = None) -> None:
    p50, p99 = percentile(seconds, 0.5), percentile(seconds, 0.99)
    if target is not None and p50 > target:
        OVER.append(name)
    bound = ""
    if target is not None:
        bound = f"  (target p50 <= {target * 1000:.0f} ms) {'OK' if p50 <= target else 'OVER'}"
    print(f"  {name:<28} p50 {p50 * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms{bound}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=sysconfig.get_paths()["stdlib"])
    root = Path(parser.parse_args().path).resolve()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with Store.open(data / "pith.db") as store:
            extract(root, store)
            build(store)
            fill_prose(store)
            files = [n.id for n in store.nodes(NodeType.FILE)]
            print(f"bench_read: {root}, {len(store.nodes())} nodes, {len(files)} files")
            reader = WikiReader(store)
            asks = [rng.sample(files, 5) for _ in range(200)]
            timings = []
            for ask in asks:
                started = time.perf_counter()
                reader.context(ask).to_markdown()
                timings.append(time.perf_counter() - started)
            report("library context, 5 files", timings, CONTEXT_P50_TARGET)
            timings = []
            for query in QUERIES * 20:
                started = time.perf_counter()
                reader.search(query)
                timings.append(time.perf_counter() - started)
            report("library search", timings)
            timings = []
            for question in QUESTIONS * 5:
                started = time.perf_counter()
                reader.ask(question)
                timings.append(time.perf_counter() - started)
            report("library ask", timings, ASK_P50_TARGET)

        env = {k: v for k, v in os.environ.items() if not k.startswith("PITH_")}
        command = [sys.executable, "-m", "pith", "--data-dir", str(data)]
        server = subprocess.Popen(
            [*command, "serve", "--port", "0"], stderr=subprocess.PIPE, text=True, env=env
        )
        assert server.stderr is not None
        url = server.stderr.readline().split()[-1]
        try:
            with httpx.Client(base_url=url) as http:
                timings = []
                for ask in asks:
                    started = time.perf_counter()
                    http.get("/context", params={"files": ",".join(ask)}).raise_for_status()
                    timings.append(time.perf_counter() - started)
                report("HTTP context, 5 files", timings, CONTEXT_P50_TARGET)
                timings = []
                for query in QUERIES * 20:
                    started = time.perf_counter()
                    http.get("/search", params={"q": query}).raise_for_status()
                    timings.append(time.perf_counter() - started)
                report("HTTP search", timings)
                timings = []
                for question in QUESTIONS * 5:
                    started = time.perf_counter()
                    http.post("/query", json={"question": question}).raise_for_status()
                    timings.append(time.perf_counter() - started)
                report("HTTP ask (POST /query)", timings, ASK_P50_TARGET)

            fake = FakeLLM(latency=0.05)
            with fake.serve() as base_url:
                writer = subprocess.Popen(
                    [*command, "-q", "generate", "--force", "-c", "8"],
                    env=env | {"PITH_BASE_URL": base_url},
                )

                def ask(i: int) -> int:
                    path = (
                        f"/node/{rng.choice(files)}"
                        if i % 2
                        else f"/context?files={','.join(asks[i % len(asks)])}"
                    )
                    return httpx.get(url + path, timeout=60).status_code

                # Start once the writer is committing prose, so the requests meet real writes.
                deadline = time.monotonic() + 120
                while rewritten(data) == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                before = rewritten(data)
                with concurrent.futures.ThreadPoolExecutor(50) as pool:
                    codes = list(pool.map(ask, range(200)))
                written = rewritten(data) - before
                writing = writer.poll() is None
                writer.send_signal(signal.SIGINT)
                writer.wait(timeout=60)
            ok = codes.count(200)
            print(
                f"  200 requests during generate --force: {ok} answered, {200 - ok} failed "
                f"(target: 200, 0){' OK' if ok == 200 else ' OVER'}; generate committed "
                f"{written} prose rows meanwhile and was still running at the end: {writing}"
            )
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    if OVER:
        print(f"OVER: {', '.join(OVER)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
