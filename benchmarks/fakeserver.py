"""The fake LLM endpoint (tests/fakellm.py, real-server mode) in a process of its own, for the
benchmarks: its CPU is not the client's, and its threads do not compete with the client's GIL.

    with server_process(latency=0.1, capacity=8) as server:
        ...  # server.base_url
    server.stats  # {"calls", "refused", "max_in_flight", "cpu" (s, while serving)} once stopped

`built_project` readies a project for a `pith generate` against it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

TESTS = Path(__file__).parent.parent / "tests"
PITH = [sys.executable, "-m", "pith"]


def built_project(workdir: Path, project: Path, name: str) -> dict[str, str]:
    """Extract and build ``project`` into ``workdir/data`` with `PITH`, and return the
    environment those runs had (nothing of the caller's: no user config, no key of theirs; a
    fake key naming the benchmark ``name``), for the `pith generate` that follows."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "PITH_DATA_DIR": str(workdir / "data"),
        "PITH_API_KEY": f"sk-bench-{name}-0123456789",
        "PITH_MODEL": "bench",
    }
    for command in (["extract", str(project)], ["build"]):
        subprocess.run([*PITH, *command], env=env, cwd=workdir, check=True, capture_output=True)
    return env


_SERVE = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from fakellm import FakeLLM

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

fake = FakeLLM(**json.loads(sys.argv[2]))
with fake.serve() as base_url:
    print(base_url, flush=True)
    started = cpu()
    sys.stdin.read()  # until the benchmark closes it
    serving = cpu() - started
stats = {"calls": len(fake.calls), "refused": fake.refused, "max_in_flight": fake.max_in_flight,
         "cpu": serving}
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
