"""FifoCapacityLimiter against a bare trio.CapacityLimiter loop: cost per trivial item.

Runs 100,000 trivial items (one checkpoint each) at capacity 20, three ways, in one process:

- unlimited: `nursery.start_soon(item)`, no limiter (the floor: spawning and running a task);
- bare:      `nursery.start_soon(worker)` where worker does `async with trio.CapacityLimiter`;
- fifo:      `FifoCapacityLimiter.start_soon(nursery, item)`.

Prints µs per item (best of several rounds), the overhead over the unlimited floor, and the
FIFO/bare ratio next to its bound (2x). Exits 1 if the bound is missed.

    python benchmarks/bench_limiter.py [--items N] [--rounds R]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable

import trio

from pith import FifoCapacityLimiter

CAPACITY = 20
BOUND = 2.0  # FIFO µs/item may be at most this many times the bare loop's


async def trivial() -> None:
    await trio.lowlevel.checkpoint()


def unlimited(items: int) -> Callable[[], Awaitable[None]]:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(items):
                nursery.start_soon(trivial)

    return main


def bare(items: int) -> Callable[[], Awaitable[None]]:
    async def main() -> None:
        limiter = trio.CapacityLimiter(CAPACITY)

        async def worker() -> None:
            async with limiter:
                await trivial()

        async with trio.open_nursery() as nursery:
            for _ in range(items):
                nursery.start_soon(worker)

    return main


def fifo(items: int) -> Callable[[], Awaitable[None]]:
    async def main() -> None:
        limiter = FifoCapacityLimiter(CAPACITY)
        async with trio.open_nursery() as nursery:
            for _ in range(items):
                limiter.start_soon(nursery, trivial)
        assert limiter.borrowed_tokens == 0

    return main


def us_per_item(make: Callable[[int], Callable[[], Awaitable[None]]], items: int) -> float:
    start = time.perf_counter()
    trio.run(make(items))
    return (time.perf_counter() - start) / items * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    figures: dict[str, list[float]] = {"unlimited": [], "bare": [], "fifo": []}
    makers = {"unlimited": unlimited, "bare": bare, "fifo": fifo}
    for _ in range(args.rounds):  # interleaved, so a noisy neighbour hurts all three alike
        for name, make in makers.items():
            figures[name].append(us_per_item(make, args.items))
    floor, bare_us, fifo_us = (min(figures[name]) for name in ("unlimited", "bare", "fifo"))
    ratio = fifo_us / bare_us

    print(f"{args.items:,} trivial items at capacity {CAPACITY}, best of {args.rounds} rounds")
    print(f"  unlimited start_soon loop         {floor:6.1f} µs/item")
    print(
        f"  bare trio.CapacityLimiter loop    {bare_us:6.1f} µs/item"
        f"  (overhead over unlimited {bare_us - floor:5.1f} µs/item)"
    )
    print(
        f"  FifoCapacityLimiter.start_soon    {fifo_us:6.1f} µs/item"
        f"  (overhead over unlimited {fifo_us - floor:5.1f} µs/item)"
    )
    verdict = "ok" if ratio <= BOUND else "OVER BOUND"
    print(f"  FIFO / bare: {ratio:.2f}x   bound: <= {BOUND:.1f}x   {verdict}")
    return 0 if ratio <= BOUND else 1


if __name__ == "__main__":
    sys.exit(main())
