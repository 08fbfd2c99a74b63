"""Peak memory of `pith generate --force -c 10` when every reply is hostile (issue 23, point 4):
a valid reply with a 5 MB summary, 5 MB of deeply nested JSON in the content, 5 MB of ``[``,
and a gzip bomb (1 GB of spaces in about 1 MB). Memory must be bounded by what pith keeps
(concurrency times its caps), never by what a reply holds: bound <= 200 MB peak RSS each.

A synthetic project of 120 nodes, so that a reply kept per node (600 MB) would show. The server
runs in a process of its own and answers every call with the same prepared body.

    python benchmarks/bench_hostile_replies.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fakeserver import PITH, built_project

BOUND_MB = 200.0
CONCURRENCY = 10
MB = 1_000_000

# The server: answers every POST with the body prepared for ``kind`` (after a short latency).
_SERVER = """
import http.server, json, sys, time, zlib
kind = sys.argv[1]

def completion(content):
    reply = {"choices": [{"message": {"role": "assistant", "content": content}}],
             "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    return json.dumps(reply).encode()

headers = {"Content-Type": "application/json"}
if kind == "summary":
    body = completion(json.dumps({"summary": "s" * 5_000_000, "purpose": "p"}))
elif kind == "nested":
    body = completion('{"summary": ' + "[" * 2_500_000 + "]" * 2_500_000 + ', "purpose": "p"}')
elif kind == "brackets":
    body = completion("[" * 5_000_000)
else:  # a gzip bomb: 1 GB of spaces
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * 1_000_000
    body = b"".join(packer.compress(chunk) for _ in range(1000)) + packer.flush()
    headers["Content-Encoding"] = "gzip"

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(0.02)
        self.send_response(200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # pith stopped reading at its cap

    def log_message(self, *args):
        pass

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # pith closed a connection it stopped reading: expected here

server = Server(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
server.serve_forever(0.05)
"""


def write_project(root: Path, files: int = 60) -> None:
    body = "\n".join(f"    total += {i}" for i in range(12))
    for i in range(files):
        (root / f"mod{i}.py").write_text(
            f'"""Module {i}."""\n\n\ndef work{i}(x):\n    total = x\n{body}\n    return total\n'
        )


def peak_rss_mb(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    with (cwd / "out.txt").open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=out)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1000, process.returncode  # ru_maxrss: kB on Linux


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pith-bench-hostile-"))
    failed = False
    try:
        project = workdir / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 1\n")
        write_project(project)
        env = built_project(workdir, project, "hostile")
        generate = [*PITH, "-q", "generate", "--force", "-c", str(CONCURRENCY)]
        baseline, _ = peak_rss_mb([*PITH, "status"], env, workdir)
        print(
            f"bench_hostile_replies: `pith generate --force -c {CONCURRENCY}`, 120 nodes, every "
            f"reply hostile; peak RSS (pith status alone: {baseline:.0f} MB)"
        )
        for kind, what in [
            ("summary", "a valid reply with a 5 MB summary"),
            ("nested", "5 MB of deeply nested JSON content"),
            ("brackets", "5 MB of '['"),
            ("gzip", "a gzip bomb (1 GB in ~1 MB)"),
        ]:
            with subprocess.Popen(
                [sys.executable, "-c", _SERVER, kind],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            ) as server:
                assert server.stdout is not None
                env["PITH_BASE_URL"] = server.stdout.readline().strip()
                try:
                    peak, code = peak_rss_mb([*generate, "--report", "run.json"], env, workdir)
                finally:
                    server.kill()
            totals = json.loads((workdir / "run.json").read_text())["totals"]
            ok = peak <= BOUND_MB
            failed |= not ok
            print(
                f"  {what:<36} {peak:7.1f} MB (bound <= {BOUND_MB:.0f} MB) "
                f"{'OK' if ok else 'OVER'}; exit {code}, {totals['generated']} generated, "
                f"{totals['failed']} failed"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
