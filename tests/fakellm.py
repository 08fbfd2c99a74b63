"""A fake OpenAI-compatible chat-completions endpoint for tests.

One `FakeLLM` answers ``POST .../chat/completions`` either in memory (``fake.transport()``, an
``httpx.MockTransport`` whose async handler sleeps on Trio's clock, so it works under
``autojump_clock``) or as a real HTTP server on 127.0.0.1 (``with fake.serve() as base_url``), for
end-to-end tests on the real clock.

It finds the node a prompt is about by the ``Node id: <id>`` line every pith prompt carries, and can
be scripted per node id (or ``"*"`` for every node without its own script): fail with a status
some number of times, drop the connection, reply with text that is not the JSON asked for, take
its time. It records every call and the most calls it had in flight at once.

By default it replies with valid prose whose summary is ``"Summary of <id>."``; a request with
``"stream": true`` gets that reply as server-sent events, seven characters a piece.

    fake = FakeLLM(latency=1.0)
    fake.script("pkg/a.py", fail_status=503, fail_times=2)
    fake.script("pkg/b.py", invalid_times=1)
    client = LLMClient(base_url="http://fake/v1", model="m", transport=fake.transport())
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import httpx
import trio

__all__ = ["Call", "FakeLLM", "Script", "default_prose", "node_id_of"]

_NODE_ID = re.compile(r"^Node id: (.+?)\s*$", re.MULTILINE)


async def _chunks(body: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def node_id_of(messages: list[dict[str, Any]]) -> str | None:
    """The node id a prompt names (the first ``Node id:`` line), or None."""
    for message in messages:
        match = _NODE_ID.search(str(message.get("content", "")))
        if match:
            return match.group(1)
    return None


def default_prose(node_id: str | None) -> dict[str, Any]:
    return {
        "summary": f"Summary of {node_id}.",
        "purpose": f"Purpose of {node_id}.",
        "gotchas": [],
    }


@attrs.define
class Script:
    """How to answer the calls about one node, in order: failures, then invalid replies, then
    valid ones. ``latency`` (None: the fake's default) applies to every call."""

    fail_status: int | None = None
    fail_times: int = 0
    fail_headers: dict[str, str] = attrs.Factory(dict)
    fail_message: str = "scripted failure"
    # Raised instead of answering (in memory), or the connection is closed unanswered (server).
    fail_exception: type[httpx.TransportError] | None = None
    invalid_times: int = 0
    invalid_content: str = "Sure! Here is what you asked for, but not as JSON."
    latency: float | None = None
    prose: dict[str, Any] | None = None  # the valid reply's JSON; None: default_prose(node id)


@attrs.frozen
class Call:
    """One request the fake received."""

    node_id: str | None
    model: str
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    headers: dict[str, str]
    start: float
    end: float
    status: int  # 0 when the call raised or the connection was dropped


@attrs.frozen
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    latency: float
    exception: type[httpx.TransportError] | None


@attrs.define
class FakeLLM:
    """An OpenAI-compatible endpoint with scripted behaviour; see the module docstring.

    ``api_key``: when set, calls without ``Authorization: Bearer <api_key>`` get a 401 whose
    message echoes the header they sent (as careless providers do). ``cost``: reported per call.
    A provider's rate limit: ``capacity`` (requests in flight) and ``per_second`` (requests
    started in any one second) answer 429 at once, with ``Retry-After: retry_after`` when set,
    to requests beyond them; ``refused`` counts those.
    """

    latency: float = 0.0
    api_key: str | None = None
    cost: float | None = None
    capacity: int | None = None
    per_second: int | None = None
    retry_after: float | None = None
    refused: int = 0
    calls: list[Call] = attrs.Factory(list)
    _accepted_in_flight: int = 0
    _recent_starts: list[float] = attrs.Factory(list)
    in_flight: int = 0
    max_in_flight: int = 0
    _scripts: dict[str, Script] = attrs.Factory(dict)
    _seen: dict[str | None, int] = attrs.Factory(dict)
    _lock: threading.Lock = attrs.Factory(threading.Lock)

    def script(self, node_id: str = "*", **how: Any) -> Script:
        """Script the answers for ``node_id`` ("*": every node without a script of its own)."""
        script = Script(**how)
        self._scripts[node_id] = script
        return script

    def calls_for(self, node_id: str) -> list[Call]:
        return [call for call in self.calls if call.node_id == node_id]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        """The in-memory endpoint: latency is slept on Trio's clock (mock or real)."""
        body = _json_or_empty(request.content)
        answer = self._answer(request.url.path, body, dict(request.headers))
        start = self._enter()
        try:
            await trio.sleep(answer.latency)
        finally:
            self._leave(body, dict(request.headers), start, trio.current_time(), answer)
        if answer.exception is not None:
            raise answer.exception("scripted transport failure", request=request)
        # Streamed, as from a network: nothing of a reply stays in memory once it is read
        # (httpx keeps a streamed response in a reference cycle until the collector runs).
        return httpx.Response(answer.status, headers=answer.headers, content=_chunks(answer.body))

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Run the endpoint as a real HTTP server on 127.0.0.1; yields its base URL (``.../v1``).

        Latency is slept in the server's request thread on the real clock.
        """
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY, as real servers set it: without it each reply written in two sends
            # (headers, then body) waits ~40 ms for the client's delayed ACK.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = _json_or_empty(self.rfile.read(length))
                headers = {key.lower(): value for key, value in self.headers.items()}
                answer = fake._answer(self.path, body, headers)
                start = fake._enter()
                try:
                    time.sleep(answer.latency)  # the server being slow, not a test waiting
                finally:
                    fake._leave(body, headers, start, time.monotonic(), answer)
                if answer.exception is not None:
                    self.close_connection = True  # drop it: the client sees a broken connection
                    return
                try:
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to tell it

            def handle(self) -> None:
                # A client closed a kept-alive connection (a run stopped): no one to tell.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        server = _Server(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits for serve_forever to notice, once per test.
        thread = threading.Thread(
            target=server.serve_forever, args=(0.01,), name="fakellm", daemon=True
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    # --- the behaviour both faces share --------------------------------------------------------

    def _enter(self) -> float:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return _now()

    def _leave(
        self,
        body: dict[str, Any],
        headers: dict[str, str],
        start: float,
        end: float,
        answer: _Answer,
    ) -> None:
        messages = body.get("messages") if isinstance(body.get("messages"), list) else []
        call = Call(
            node_id=node_id_of(messages or []),
            model=str(body.get("model", "")),
            messages=messages or [],
            body=body,
            headers=headers,
            start=start,
            end=end,
            status=0 if answer.exception else answer.status,
        )
        with self._lock:
            self.in_flight -= 1
            if answer.body != _REFUSAL_BODY:
                self._accepted_in_flight -= 1
            self.calls.append(call)

    def _over_the_limit(self) -> _Answer | None:
        """A 429 for a request beyond the rate limit, else None (the request counts in it)."""
        now = _now()
        with self._lock:
            self._recent_starts = [t for t in self._recent_starts if t > now - 1.0]
            if (self.capacity is not None and self._accepted_in_flight >= self.capacity) or (
                self.per_second is not None and len(self._recent_starts) >= self.per_second
            ):
                self.refused += 1
                answer = _error(429, "Rate limit exceeded", 0.0)
                if self.retry_after is not None:
                    retry = {"retry-after": f"{self.retry_after:g}"}
                    answer = attrs.evolve(answer, headers={**answer.headers, **retry})
                return answer
            self._accepted_in_flight += 1
            self._recent_starts.append(now)
        return None

    def _answer(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> _Answer:
        if (refusal := self._over_the_limit()) is not None:
            return refusal
        if not path.endswith("/chat/completions"):
            return _error(404, f"no route {path}", self.latency)
        messages = body.get("messages")
        if not isinstance(messages, list) or not body.get("model"):
            return _error(400, "model and messages are required", self.latency)
        if self.api_key is not None:
            sent = headers.get("authorization", "")
            if sent != f"Bearer {self.api_key}":
                return _error(401, f"Incorrect API key provided: {sent!r}", self.latency)
        node_id = node_id_of(messages)
        script = self._scripts.get(node_id or "") or self._scripts.get("*") or Script()
        with self._lock:
            seen = self._seen.get(node_id, 0)
            self._seen[node_id] = seen + 1
        latency = self.latency if script.latency is None else script.latency
        if seen < script.fail_times:
            if script.fail_exception is not None:
                return _Answer(0, b"", {}, latency, script.fail_exception)
            status = script.fail_status or 500
            answer = _error(status, script.fail_message, latency)
            return attrs.evolve(answer, headers={**answer.headers, **script.fail_headers})
        if seen < script.fail_times + script.invalid_times:
            content = script.invalid_content
        else:
            content = json.dumps(script.prose or default_prose(node_id))
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": len(content) // 4,
            "total_tokens": prompt_chars // 4 + len(content) // 4,
        }
        if self.cost is not None:
            usage["cost"] = self.cost
        reply = {
            "id": f"fake-{len(self.calls)}",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        if body.get("stream") is True:
            return _Answer(200, _event_stream(reply, content), _EVENTS, latency, None)
        return _Answer(200, json.dumps(reply).encode(), _JSON, latency, None)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A listen backlog for hundreds of clients connecting at once (the default is 5: a burst of
    # connections then overflows it, and the kernel may reset some).
    request_queue_size = 1024


_JSON = {"content-type": "application/json"}
_EVENTS = {"content-type": "text/event-stream"}


def _event_stream(reply: dict[str, Any], content: str, piece: int = 7) -> bytes:
    """``reply`` as an OpenAI-style stream: its content in pieces, usage last, then [DONE]."""
    events = [": keep-alive"]
    for start in range(0, len(content), piece):
        delta = {"choices": [{"index": 0, "delta": {"content": content[start : start + piece]}}]}
        events.append(f"data: {json.dumps(delta)}")
    events.append(f"data: {json.dumps({'choices': [], 'usage': reply['usage']})}")
    events.append("data: [DONE]")
    return "".join(f"{event}\n\n" for event in events).encode()


_REFUSAL_BODY = json.dumps({"error": {"message": "Rate limit exceeded", "code": 429}}).encode()


def _error(status: int, message: str, latency: float) -> _Answer:
    body = json.dumps({"error": {"message": message, "code": status}}).encode()
    return _Answer(status, body, dict(_JSON), latency, None)


def _json_or_empty(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _now() -> float:
    """Trio's clock inside a Trio run (mock or real), else the monotonic clock."""
    try:
        return trio.current_time()
    except RuntimeError:
        return time.monotonic()
