"""Memory of a run whose every reply fails: a failure costs no more than a success.

The venv's installed `trio` package is extracted and built; then `generate --force` runs on its
first N nodes (--nodes) at concurrency C = 5, twice, on Trio's mock clock and traced with
tracemalloc: once against an in-memory endpoint that answers every call 200 with 2 MB of HTML
instead of JSON (three calls a node, all failing), once against tests/fakellm.py answering
valid prose. Printed for each: the peak while running and what is still held after the run
(the report included). Bound: the failing run's peak is at most the succeeding run's plus
what C replies in flight take (2 x C x 2 MB); the script exits 1 otherwise.

Before issue 14 was fixed, 500 failing nodes peaked at 2,072 MB traced (2.0 GiB resident)
and still held 2,066 MB after the run: every failure kept its 2 MB body.

    python benchmarks/bench_memory.py [--nodes 500]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import tracemalloc
from pathlib import Path

import httpx
import trio
import trio.testing

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from fakellm import FakeLLM
from mockclock import generate_inline

from pith._build import build
from pith._extract import extract
from pith._llm import LLMClient
from pith._store import Store

CONCURRENCY = 5
BODY = b"<html>" + b"x" * 2_000_000 + b"</html>"
IN_FLIGHT_MB = 2 * CONCURRENCY * len(BODY) / 1e6


async def answer_html(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"content-type": "text/html"})


def measure(
    store: Store, node_ids: tuple[str, ...], transport: httpx.AsyncBaseTransport
) -> tuple[float, float, int]:
    """(peak MB, MB held after the run, failed nodes) of one run on ``node_ids``."""

    async def main() -> tuple[float, float, int]:
        client = LLMClient(
            base_url="https://llm.example/v1",
            model="bench",
            api_key="sk-bench-memory-key",
            transport=transport,
            backoff_initial=1.0,
            backoff_jitter=0.0,
            attempts=3,
        )
        gc.collect()
        tracemalloc.start()
        async with client:
            report = await generate_inline(
                store, client, node_ids=node_ids, concurrency=CONCURRENCY, force=True
            )
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 1e6, held / 1e6, len(report.failed)

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "pith.db")
        extract(Path(trio.__file__).parent, store, workers=1)
        build(store)
        ids = tuple(node.id for node in store.nodes())
        if len(ids) < args.nodes:
            raise SystemExit(f"trio has {len(ids)} nodes; ask for at most that many")
        ids = ids[: args.nodes]
        failing = measure(store, ids, httpx.MockTransport(answer_html))
        succeeding = measure(store, ids, FakeLLM().transport())
        store.close()
    for name, (peak, held, failed) in (("failing", failing), ("succeeding", succeeding)):
        print(
            f"{args.nodes} {name:10} nodes ({failed} failed): peak {peak:6.1f} MB, "
            f"held after the run {held:5.1f} MB"
        )
    if (failing[2], succeeding[2]) != (args.nodes, 0):
        raise SystemExit(f"not the runs intended: {failing[2]} and {succeeding[2]} failed")
    bound = succeeding[0] + IN_FLIGHT_MB
    verdict = "ok" if failing[0] <= bound else "MISSED"
    print(
        f"failing peak {failing[0]:.1f} MB; bound: succeeding peak + {IN_FLIGHT_MB:.0f} MB "
        f"in flight = {bound:.1f} MB {verdict}"
    )
    if failing[0] > bound:
        sys.exit(1)


if __name__ == "__main__":
    main()
