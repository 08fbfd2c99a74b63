"""The fake LLM endpoint (tests/fakellm.py, real-server mode) in a process of its own, for the
benchmarks: its CPU is not the client's, and its threads do not compete with the client's GIL.

    with server_process(latency=0.1, capacity=8) as server:
        ...  # server.base_url
    server.stats  # {"calls": ..., "refused": ..., "max_in_flight": ...} once it has stopped
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

TESTS = Path(__file__).parent.parent / "tests"

_SERVE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from fakellm import FakeLLM
fake = FakeLLM(**json.loads(sys.argv[2]))
with fake.serve() as base_url:
    print(base_url, flush=True)
    sys.stdin.read()  # until the benchmark closes it
stats = {"calls": len(fake.calls), "refused": fake.refused, "max_in_flight": fake.max_in_flight}
print(json.dumps(stats), flush=True)
"""


@attrs.define
class Server:
    base_url: str
    stats: dict[str, Any] = attrs.Factory(dict)


@contextlib.contextmanager
def server_process(**options: Any) -> Iterator[Server]:
    """Run ``FakeLLM(**options).serve()`` in a child process; yield its base URL."""
    with subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(TESTS), json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        server = Server(process.stdout.readline().strip())
        try:
            yield server
        finally:
            process.stdin.close()
            line = process.stdout.readline()
            process.wait(timeout=60)
        server.stats = json.loads(line) if line.strip() else {}
