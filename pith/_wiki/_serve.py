"""`pith serve`: the read layer over HTTP, for agents and tools (starlette on hypercorn, on Trio).

Endpoints (JSON, or Markdown with ``?format=md``): ``GET /`` (this list), ``/node/{id}``,
``/context?files=a,b``, ``/impact/{id}``, ``/callers/{id}``,
``/search?q=...&limit=N[&type=T&path=GLOB&tests=true]``, ``/health``; ``POST /query`` with a JSON
body ``{"question", "budget"?, "path"?, "tests"?}`` answers as ``pith ask``. ``/context`` and
``/impact`` take ``budget`` (tokens of Markdown). An unknown id is a 404 ``{"error",
"suggestions"}``; a bad or oversized parameter a 400 ``{"error"}`` (the bounds are
`pith._wiki._limits`, the same as the command line's and MCP's). Ids may hold ``/`` and ``:``; they
are looked up in the store and never read as paths, so no request reads a file. No answer holds an
absolute path. The store is opened read-only (safe while `pith generate` writes) and read in worker
threads, off the event loop.

Exposure: only requests whose ``Host`` is a loopback name (``localhost``, ``*.localhost``,
``127.0.0.0/8``, ``::1``), the address given to ``--host``, or a name given to ``--allow-host``
are answered; any other gets a 403 before any work (a web page cannot reach the wiki through DNS
rebinding), and so does a browser's request for a page of another site (by ``Origin`` or
``Sec-Fetch-Site``). Listening on an address that is not loopback is said in one warning.

With ``generate_missing``, a node asked for without prose is generated first, through the
generator and one shared FIFO limiter, once however many requests ask for it at the same time
(they all wait for the one call); that needs a writable store and an endpoint. A node whose
generation failed is not tried again for `FAILURE_COOLDOWN` seconds, and the process makes at
most ``budget`` calls in all; past either, the page is served without prose.

SIGINT and SIGTERM arrive through `trio.open_signal_receiver` and stop the server through
hypercorn's shutdown trigger (requests in flight get a few seconds to finish); `serve` then
returns the signal's number. No signal is raised into a server task as KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import signal
import socket
import warnings
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs
import trio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .._config import Settings
from .._errors import NotFoundError, UsageError
from .._generate import FifoCapacityLimiter, GenerationReport, Outcome, generate
from .._llm import LLMClient
from .._models import NodeType
from .._store import Store, open_store
from ._limits import DEFAULT_BUDGET, check_budget, check_id
from ._read import WikiReader, hits_markdown

__all__ = [
    "DEFAULT_GENERATE_BUDGET",
    "FAILURE_COOLDOWN",
    "MissingProse",
    "ServeWarning",
    "create_app",
    "serve",
]

# A node whose generation failed is not paid for again before this many seconds: a page that
# asks for it in a loop costs one failed call, not one per request.
FAILURE_COOLDOWN = 600.0
DEFAULT_GENERATE_BUDGET = 200  # LLM calls one `serve --generate-missing` process may make

# An answer's two renderings, made on demand: (JSON-ready data, Markdown).
_Renderings = tuple[Callable[[], Any], Callable[[], str]]
_Generate = Callable[..., Awaitable[GenerationReport]]


class ServeWarning(UserWarning):
    """Something the person running the server should know (the CLI prints it as one line)."""


@attrs.define(eq=False)
class MissingProse:
    """Writes a node's missing prose on request: one call per node however many ask at once,
    through one client and one FIFO limiter for the server's life.

    A node whose attempt failed is not tried again within ``cooldown`` seconds (Trio's clock),
    and at most ``budget`` calls (retries included) are made by this object in all: a new
    attempt starts only while the calls made plus the attempts running stay below it."""

    store: Store  # writable: the prose is saved
    client: LLMClient
    limiter: FifoCapacityLimiter
    budget: int = DEFAULT_GENERATE_BUDGET
    cooldown: float = FAILURE_COOLDOWN
    calls: int = 0  # made so far
    _generate: _Generate = generate
    _running: dict[str, trio.Event] = attrs.Factory(dict)
    _failed_at: dict[str, float] = attrs.Factory(dict)
    _said_spent: bool = False

    @classmethod
    def open(cls, settings: Settings, budget: int = DEFAULT_GENERATE_BUDGET) -> MissingProse:
        """Opened before the server starts (blocking), closed by `close` and the client's
        ``aclose``."""
        store = open_store(settings, require="built")
        return cls(
            store=store,
            client=LLMClient.from_settings(settings),
            limiter=FifoCapacityLimiter(settings.concurrency),
            budget=budget,
        )

    async def ensure(self, node_id: str) -> None:
        """Return once ``node_id`` has prose, or its attempt failed, or none is made: it failed
        less than ``cooldown`` seconds ago, or the budget is spent."""
        if (running := self._running.get(node_id)) is not None:
            await running.wait()
            return
        failed_at = self._failed_at.get(node_id)
        if failed_at is not None and trio.current_time() - failed_at < self.cooldown:
            return
        if self.calls + len(self._running) >= self.budget:
            if not self._said_spent:
                self._said_spent = True
                warnings.warn(
                    ServeWarning(
                        f"the budget of {self.budget} LLM calls is spent: pages without prose "
                        "are served as they are (restart with a larger --generate-budget)"
                    ),
                    stacklevel=1,
                )
            return
        done = self._running[node_id] = trio.Event()
        try:
            report = await self._generate(
                self.store, self.client, node_ids=[node_id], limiter=self.limiter
            )
        finally:
            del self._running[node_id]
            done.set()
        self.calls += sum(r.attempts for r in report.results.values())
        if any(r.outcome is not Outcome.GENERATED for r in report.results.values()):
            self._failed_at[node_id] = trio.current_time()
        else:
            self._failed_at.pop(node_id, None)

    def close(self) -> None:
        self.store.close()


def create_app(
    store: Store,
    *,
    missing: MissingProse | None = None,
    allowed_hosts: Iterable[str] = (),
) -> Starlette:
    """The ASGI application over ``store`` (opened read-only by `serve`). It answers requests
    whose ``Host`` is a loopback name or one of ``allowed_hosts`` (names or addresses, any
    port), and 403s the others."""
    reader = WikiReader(store)

    def endpoint(
        answer: Callable[[Request], Awaitable[_Renderings]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                as_json, as_markdown = await answer(request)
            except NotFoundError as exc:
                return JSONResponse({"error": str(exc), "suggestions": exc.suggestions}, 404)
            except UsageError as exc:
                return JSONResponse({"error": str(exc)}, 400)
            # Only the asked-for rendering is made, in a worker thread (a large context's
            # Markdown is not free).
            if request.query_params.get("format") == "md":
                markdown = await trio.to_thread.run_sync(as_markdown)
                return PlainTextResponse(markdown, media_type="text/markdown; charset=utf-8")
            return JSONResponse(await trio.to_thread.run_sync(as_json))

        handle.__doc__ = answer.__doc__
        return handle

    async def read(fn: Callable[[], Any]) -> Any:
        return await trio.to_thread.run_sync(fn)

    async def node(request: Request) -> _Renderings:
        """One node or symbol by id (`pkg/mod.py`, `.`, `pkg/mod.py:Class.send`) or bare name."""
        node_id = request.path_params["node_id"]
        if missing is not None:
            view = await read(functools.partial(reader.node, node_id))  # 404 before any call
            if view.data["prose"] is None:
                await missing.ensure(node_id)
        page = await read(functools.partial(reader.node, node_id))
        return page.to_json, page.to_markdown

    async def context(request: Request) -> _Renderings:
        """What to read before changing these files: ?files=a.py,b.py (&budget=TOKENS)."""
        # ?files=a,b and ?files=a&files=b alike: every value counts.
        given = ",".join(request.query_params.getlist("files"))
        files = [f for f in given.split(",") if f]
        budget = _budget(request)
        answer = await read(functools.partial(reader.context, files))
        return answer.to_json, functools.partial(answer.to_markdown, budget)

    async def impact(request: Request) -> _Renderings:
        """The files that import this node's file, nearest first, and their tests."""
        budget = _budget(request)
        answer = await read(functools.partial(reader.impact, request.path_params["node_id"]))
        return answer.to_json, functools.partial(answer.to_markdown, budget)

    async def callers(request: Request) -> _Renderings:
        """Who uses this symbol or file: file, line, caller and text; tests apart."""
        answer = await read(functools.partial(reader.callers, request.path_params["node_id"]))
        return answer.to_json, answer.to_markdown

    async def search(request: Request) -> _Renderings:
        """Nodes ranked by relevance to the words of ?q=... (&limit=N, default 10)."""
        query = request.query_params.get("q", "")
        try:
            limit = int(request.query_params.get("limit", "10"))
        except ValueError:
            raise UsageError("the limit must be an integer") from None
        kind = request.query_params.get("type")
        if kind is not None and kind not in {"file", "module", "function"}:
            raise UsageError("type must be file, module or function")
        hits = await read(
            functools.partial(
                reader.search,
                query,
                limit,
                type=NodeType(kind) if kind else None,
                path=check_id(request.query_params.get("path", ""), "path") or None,
                tests=request.query_params.get("tests", "").lower() in {"1", "true", "yes"},
            )
        )
        return (lambda: [h.to_json() for h in hits]), functools.partial(hits_markdown, query, hits)

    async def query(request: Request) -> _Renderings:
        """POST a JSON body {"question", "budget"?, "path"?, "tests"?}: `pith ask`'s answer."""
        question, budget, path, tests = await _query_body(request)
        briefing = await read(
            functools.partial(reader.ask, question, budget, path=path, tests=tests)
        )
        return briefing.to_json, (lambda: briefing.markdown)

    async def health(request: Request) -> _Renderings:
        """{"status": "ok", "project": the root directory's name, "nodes": counts by type}."""
        counts = await read(store.node_counts)
        root = store.root
        project = root.replace("\\", "/").rstrip("/").rpartition("/")[2] if root else None
        data = {"status": "ok", "project": project, "nodes": {str(k): v for k, v in counts.items()}}
        return (lambda: data), (lambda: f"ok: {sum(counts.values())} nodes\n")

    async def index(request: Request) -> _Renderings:
        """These endpoints."""
        listed = [
            {
                "method": "POST" if "POST" in (r.methods or ()) else "GET",
                "path": r.path.replace(":path}", "}"),
                "about": (r.endpoint.__doc__ or "").strip(),
            }
            for r in routes
            if isinstance(r, Route)
        ]
        data = {
            "endpoints": listed,
            "formats": "JSON, or Markdown with ?format=md",
            "errors": '404 {"error", "suggestions"} for an unknown id, 400 {"error"} otherwise',
        }

        def markdown() -> str:
            lines = ["# pith serve", "", "JSON, or Markdown with `?format=md`.", ""]
            return "\n".join(
                [*lines, *(f"- `{e['method']} {e['path']}`: {e['about']}" for e in listed), ""]
            )

        return (lambda: data), markdown

    routes = [
        Route("/", endpoint(index)),
        Route("/node/{node_id:path}", endpoint(node)),
        Route("/context", endpoint(context)),
        Route("/impact/{node_id:path}", endpoint(impact)),
        Route("/callers/{node_id:path}", endpoint(callers)),
        Route("/search", endpoint(search)),
        Route("/query", endpoint(query), methods=["POST"]),
        Route("/health", endpoint(health)),
    ]
    return Starlette(
        routes=routes, middleware=[Middleware(_HostCheck, allowed=frozenset(allowed_hosts))]
    )


MAX_BODY_BYTES = 16_384  # of a POST /query body


def _budget(request: Request) -> int:
    """The ``budget`` query parameter (tokens of Markdown), checked as the CLI checks it."""
    try:
        budget = int(request.query_params.get("budget", str(DEFAULT_BUDGET)))
    except ValueError:
        raise UsageError("the budget must be an integer") from None
    return check_budget(budget)


async def _query_body(request: Request) -> tuple[str, int, str | None, bool]:
    """(question, budget, path glob, tests only) of a ``POST /query`` JSON body."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise UsageError(f"the body is larger than {MAX_BODY_BYTES:,} bytes")
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise UsageError('the body must be JSON: {"question": "..."}') from None
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        raise UsageError('the body must be JSON: {"question": "...", "budget": 4000}')
    budget, path, tests = data.get("budget", DEFAULT_BUDGET), data.get("path"), data.get("tests")
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise UsageError("the budget must be an integer")
    if path is not None and not isinstance(path, str):
        raise UsageError("path must be a string (a glob)")
    if tests is not None and not isinstance(tests, bool):
        raise UsageError("tests must be true or false")
    return (
        data["question"],
        check_budget(budget),
        check_id(path, "path") if path else None,
        bool(tests),
    )


def host_name(value: str) -> str:
    """The name in a ``Host`` header or an ``--allow-host`` value, without port or brackets,
    lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name.rstrip(".")
    return value.rstrip(".")


def is_loopback(name: str) -> bool:
    """Whether ``name`` (see `host_name`) can only mean this machine."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class _HostCheck:
    """Answers 403 to an HTTP request whose ``Host`` is neither loopback nor allowed, and to one
    a browser sends for a page of another site (its ``Origin`` names another host, or its
    ``Sec-Fetch-Site`` is ``cross-site``): such a page cannot read the answer, but with
    ``--generate-missing`` its requests alone would spend calls."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = frozenset(host_name(a) for a in allowed)

    def _served(self, name: str) -> bool:
        return is_loopback(name) or name in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: dict[bytes, list[str]] = {}
            for key, value in scope["headers"]:
                headers.setdefault(key, []).append(value.decode("latin-1"))
            hosts = headers.get(b"host", [])
            origin = headers.get(b"origin", [""])[0].partition("://")[2]
            error = None
            if len(hosts) != 1 or not self._served(host_name(hosts[0])):
                error = (
                    "this Host is not served: pith serve answers loopback names only; start it "
                    "with --allow-host NAME to serve another name"
                )
            elif (origin and not self._served(host_name(origin.partition("/")[0]))) or (
                headers.get(b"sec-fetch-site") == ["cross-site"]
            ):
                error = "a request from a page of another site is not served"
            if error is not None:
                await JSONResponse({"error": error}, 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _listen(config: Any, host: str, port: int) -> list[str]:
    """The addresses hypercorn will listen on (it binds again itself). A port in use or a host
    that does not resolve is one line naming the fix, before the server starts (inside it, it
    would be an exception group from hypercorn's nursery)."""
    try:
        sockets = config.create_sockets()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot listen on {host}:{port}: {reason}; "
            "choose another --port (0 picks a free one) or --host"
        ) from None
    addresses = []
    for sock in [*sockets.secure_sockets, *sockets.insecure_sockets, *sockets.quic_sockets]:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(str(sock.getsockname()[0]))
        sock.close()
    return addresses


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    generate_missing: bool,
    on_ready: Callable[[str], None],
    allow_hosts: Iterable[str] = (),
    generate_budget: int = DEFAULT_GENERATE_BUDGET,
) -> int:
    """Serve until SIGINT or SIGTERM, and return its number; ``on_ready(url)`` once listening.

    ``host`` is answered as a ``Host`` name too, as are ``allow_hosts`` (see `create_app`). A
    `ServeWarning` says so when the server listens on an address that is not loopback."""
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.loglevel = "WARNING"  # hypercorn's own "Running on" would come before ours
    addresses = _listen(config, host, port)
    exposed = [a for a in addresses if not is_loopback(a)]
    if exposed:
        warnings.warn(
            ServeWarning(
                f"listening on {', '.join(exposed)}, not a loopback address: anyone who can reach "
                "it may read the wiki"
                + (" and spend LLM calls" if generate_missing else "")
                + "; requests are answered only for loopback names, --host and --allow-host"
            ),
            stacklevel=2,
        )
    allowed = [*allow_hosts]
    try:
        if not ipaddress.ip_address(host_name(host)).is_unspecified:
            allowed.append(host)
    except ValueError:  # a name: it is what clients will say
        allowed.append(host)
    store = open_store(settings, require="built", read_only=True)
    missing = MissingProse.open(settings, generate_budget) if generate_missing else None
    app = create_app(store, missing=missing, allowed_hosts=allowed)

    async def main() -> int:
        stopped_by = 0
        # Opened first: a signal from here on is queued for `watch`, never raised in a task.
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with contextlib.AsyncExitStack() as stack:
                if missing is not None:
                    await stack.enter_async_context(missing.client)
                shutdown = trio.Event()
                async with trio.open_nursery() as nursery:

                    async def run(task_status: trio.TaskStatus[list[str]]) -> None:
                        await hypercorn_serve(
                            app,  # type: ignore[arg-type]  # ASGI typing
                            config,
                            shutdown_trigger=shutdown.wait,
                            task_status=task_status,
                        )
                        nursery.cancel_scope.cancel()  # stopped: nothing left to watch

                    async def watch() -> None:
                        nonlocal stopped_by
                        async for signum in signals:
                            if stopped_by:  # a second signal: stop without waiting
                                nursery.cancel_scope.cancel()
                                return
                            stopped_by = signum
                            shutdown.set()

                    binds = await nursery.start(run)
                    nursery.start_soon(watch)
                    on_ready(binds[0])
        return stopped_by

    try:
        return trio.run(main)
    finally:
        store.close()
        if missing is not None:
            missing.close()
