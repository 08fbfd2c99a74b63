"""How close `pith generate` comes to the ideal makespan, and what it costs in CPU per node.

A synthetic project of about 2,000 nodes (packages three levels deep) is extracted and built into
a real store; then every node is generated against an in-process fake LLM that answers after a
fixed latency L, at concurrency C, on the real clock. The ideal makespan is the lower bound for
that latency: phase one ceil(F / C) * L, phase two the sum over package levels of
ceil(M_level / C) * L. The same workload then runs through a naive asyncio Semaphore + gather
version (same prompts, same parsing, same store) for reference.

    python benchmarks/bench_generate.py [--latency 0.02] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import resource
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import trio

from pith import Store
from pith._build import build
from pith._extract import extract
from pith._generate import generate
from pith._generate._prompt_builder import PromptBuilder
from pith._generate._prose import parse_prose
from pith._generate._selection import Selection, select_nodes
from pith._llm import LLMClient

LEVELS = 3  # package depth
BRANCHING = 3  # sub-packages per package: 3 + 9 + 27 packages
FILES_PER_LEAF = 36

_NODE_ID = re.compile(r"^Node id: (.+?)\s*$", re.MULTILINE)


def write_project(root: Path) -> None:
    """Packages BRANCHING wide and LEVELS deep; every leaf holds FILES_PER_LEAF modules, each
    with one function long enough (30+ lines) to get a node of its own."""
    body = "\n".join(f"    total += {i}  # step {i}" for i in range(32))
    source = (
        f'"""A synthetic module."""\n\nLIMIT = 10\n\n\n'
        f"def work(x):\n    total = x\n{body}\n    return total\n"
    )
    leaves = [Path()]
    for _ in range(LEVELS):
        leaves = [parent / f"pkg{i}" for parent in leaves for i in range(BRANCHING)]
        for package in leaves:
            (root / package).mkdir(parents=True, exist_ok=True)
            (root / package / "__init__.py").write_text('"""A package."""\n')
    for leaf in leaves:
        for i in range(FILES_PER_LEAF):
            (root / leaf / f"mod{i}.py").write_text(source)


def reply(content: str, node_id: str) -> dict[str, object]:
    prose = {"summary": f"Summary of {node_id}.", "purpose": "Synthetic.", "gotchas": []}
    return {
        "choices": [{"message": {"role": "assistant", "content": json.dumps(prose)}}],
        "usage": {"prompt_tokens": len(content) // 4, "completion_tokens": 20},
    }


def node_id_in(messages: list[dict[str, str]]) -> str:
    for message in messages:
        if match := _NODE_ID.search(message["content"]):
            return match.group(1)
    return "?"


def ideal_makespan(selection: Selection, concurrency: int, latency: float) -> float:
    phase_one = math.ceil(len(selection.phase_one) / concurrency) * latency
    depths = Counter(node.id.count("/") for node in selection.phase_two)
    phase_two = sum(math.ceil(count / concurrency) for count in depths.values()) * latency
    return phase_one + phase_two


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def clear_prose(store: Store) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM prose")


def run_pith(store: Store, concurrency: int, latency: float) -> tuple[float, float, int]:
    # The fake's own work is kept minimal (one canned reply): its CPU counts in the figure.
    canned = json.dumps(reply("", "a synthetic node")).encode()
    headers = {"content-type": "application/json"}

    async def handler(request: httpx.Request) -> httpx.Response:
        await trio.sleep(latency)
        return httpx.Response(200, content=canned, headers=headers)

    async def main() -> int:
        client = LLMClient(
            base_url="http://127.0.0.1/v1",
            model="bench",
            max_connections=concurrency,
            transport=httpx.MockTransport(handler),
        )
        async with client:
            report = await generate(store, client, concurrency=concurrency)
        report.raise_for_errors()
        return len(report.generated)

    wall, cpu = time.perf_counter(), cpu_seconds()
    generated = trio.run(main)
    return time.perf_counter() - wall, cpu_seconds() - cpu, generated


def run_naive_asyncio(store: Store, concurrency: int, latency: float) -> tuple[float, float, int]:
    """The obvious asyncio version: a semaphore, gather per phase and per package level, the
    store used inline on the event loop."""
    selection = select_nodes(store)
    prompts = PromptBuilder(store)

    async def write(node_id: str, semaphore: asyncio.Semaphore) -> None:
        node = store.node(node_id)
        assert node is not None
        async with semaphore:
            prompt = prompts.prompt(node)
            messages = prompt.messages
            await asyncio.sleep(latency)
            content = reply("".join(m["content"] for m in messages), node.id)
            text = content["choices"][0]["message"]["content"]  # type: ignore[index]
            prose = parse_prose(text, node=node, model="bench", index=prompt.index)
            store.save_prose(node.id, prose)
            prompts.summaries[node.id] = prose.summary

    async def main() -> int:
        semaphore = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(write(n.id, semaphore) for n in selection.phase_one))
        by_depth: dict[int, list[str]] = {}
        for node in selection.phase_two:
            by_depth.setdefault(node.id.count("/"), []).append(node.id)
        for depth in sorted(by_depth, reverse=True):
            await asyncio.gather(*(write(i, semaphore) for i in by_depth[depth]))
        return len(selection)

    wall, cpu = time.perf_counter(), cpu_seconds()
    generated = asyncio.run(main())
    return time.perf_counter() - wall, cpu_seconds() - cpu, generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per fake call")
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    latency, concurrency = args.latency, args.concurrency

    workdir = Path(tempfile.mkdtemp(prefix="pith-bench-generate-"))
    try:
        write_project(workdir / "project")
        with Store.open(workdir / "pith.db") as store:
            extract(workdir / "project", store)
            build(store)
            selection = select_nodes(store)
            bound = ideal_makespan(selection, concurrency, latency)
            print(
                f"bench_generate: {len(selection)} nodes ({len(selection.phase_one)} files and "
                f"functions, {len(selection.phase_two)} modules), L = {latency * 1000:.0f} ms, "
                f"C = {concurrency}"
            )
            print(f"  ideal makespan (lower bound): {bound:8.3f} s")
            for name, runner in (("pith (trio)", run_pith), ("naive asyncio", run_naive_asyncio)):
                clear_prose(store)
                wall, cpu, generated = runner(store, concurrency, latency)
                assert generated == len(selection), (name, generated)
                print(
                    f"  {name:<14} makespan {wall:8.3f} s = {wall / bound:5.2f}x the bound "
                    f"(target <= 1.10x); CPU {cpu / generated * 1000:6.3f} ms/node "
                    f"(target <= 1 ms)"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
