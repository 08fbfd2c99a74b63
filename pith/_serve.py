"""`pith serve`: the read layer over HTTP, for agents and tools (starlette on hypercorn, on Trio).

Endpoints (JSON, or Markdown with ``?format=md``): ``GET /node/{id}``, ``/context?files=a,b``,
``/impact/{id}``, ``/search?q=...&limit=N[&type=T&path=GLOB&tests=true]``, ``/health``;
``POST /query`` with a JSON body ``{"question", "budget"?, "path"?, "tests"?}`` answers as
``pith ask``. An unknown id is a 404
``{"error", "suggestions"}``; a bad or oversized parameter a 400 ``{"error"}``. Ids may hold
``/`` and ``:``; they are looked up in the store and never read as paths, so no request reads a
file. The store is opened read-only (safe while `pith generate` writes) and read in worker
threads, off the event loop.

With ``generate_missing``, a node asked for without prose is generated first, through the
generator and one shared FIFO limiter, once however many requests ask for it at the same time
(they all wait for the one call); that needs a writable store and an endpoint.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ._config import Settings
from ._errors import NotFoundError, UsageError
from ._generate import generate
from ._generate._limiter import FifoCapacityLimiter
from ._limits import DEFAULT_BUDGET, check_budget, check_files, check_limit
from ._llm import LLMClient
from ._models import NodeType
from ._read import WikiReader, hits_markdown
from ._store import Store, open_store

__all__ = ["MissingProse", "create_app", "serve"]

MAX_PARAMETER_CHARS = 4000
MAX_BODY_BYTES = 16_384


# An answer's two renderings, made on demand: (JSON-ready data, Markdown).
_Renderings = tuple[Callable[[], Any], Callable[[], str]]


class _BadRequest(Exception):
    pass


@attrs.define(eq=False)
class MissingProse:
    """Writes a node's missing prose on request: one call per node however many ask at once,
    through one client and one FIFO limiter for the server's life."""

    store: Store  # writable: the prose is saved
    client: LLMClient
    limiter: FifoCapacityLimiter
    _running: dict[str, trio.Event] = attrs.Factory(dict)

    @classmethod
    def open(cls, settings: Settings) -> MissingProse:
        """Opened before the server starts (blocking), closed by `close` and the client's
        ``aclose``."""
        store = open_store(settings, require="built")
        return cls(
            store=store,
            client=LLMClient.from_settings(settings),
            limiter=FifoCapacityLimiter(settings.concurrency),
        )

    async def ensure(self, node_id: str) -> None:
        """Return once ``node_id`` has prose (or its one attempt failed)."""
        if (running := self._running.get(node_id)) is not None:
            await running.wait()
            return
        done = self._running[node_id] = trio.Event()
        try:
            await generate(self.store, self.client, node_ids=[node_id], limiter=self.limiter)
        finally:
            del self._running[node_id]
            done.set()

    def close(self) -> None:
        self.store.close()


def create_app(store: Store, *, missing: MissingProse | None = None) -> Starlette:
    """The ASGI application over ``store`` (opened read-only by `serve`)."""
    reader = WikiReader(store)

    def endpoint(
        answer: Callable[[Request], Awaitable[_Renderings]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                as_json, as_markdown = await answer(request)
            except NotFoundError as exc:
                return JSONResponse({"error": str(exc), "suggestions": exc.suggestions}, 404)
            except _BadRequest as exc:
                return JSONResponse({"error": str(exc)}, 400)
            # Only the asked-for rendering is made, in a worker thread (a large context's
            # Markdown is not free).
            if request.query_params.get("format") == "md":
                markdown = await trio.to_thread.run_sync(as_markdown)
                return PlainTextResponse(markdown, media_type="text/markdown; charset=utf-8")
            return JSONResponse(await trio.to_thread.run_sync(as_json))

        return handle

    async def read(fn: Callable[[], Any]) -> Any:
        return await trio.to_thread.run_sync(fn)

    async def node(request: Request) -> _Renderings:
        node_id = _param(request.path_params["node_id"], "id")
        if missing is not None:
            view = await read(functools.partial(reader.node, node_id))  # 404 before any call
            if view.data["prose"] is None:
                await missing.ensure(node_id)
        page = await read(functools.partial(reader.node, node_id))
        return page.to_json, page.to_markdown

    async def context(request: Request) -> _Renderings:
        # ?files=a,b and ?files=a&files=b alike: every value counts.
        given = ",".join(request.query_params.getlist("files"))
        files = [f for f in _param(given, "files").split(",") if f]
        if not files:
            raise _BadRequest("give the files: /context?files=a.py,b.py")
        try:
            check_files(len(dict.fromkeys(files)))  # the same bound as the CLI's and MCP's
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
        budget = _budget(request)
        answer = await read(functools.partial(reader.context, files))
        return answer.to_json, functools.partial(answer.to_markdown, budget)

    async def impact(request: Request) -> _Renderings:
        node_id = _param(request.path_params["node_id"], "id")
        budget = _budget(request)
        answer = await read(functools.partial(reader.impact, node_id))
        return answer.to_json, functools.partial(answer.to_markdown, budget)

    async def search(request: Request) -> _Renderings:
        query = _param(request.query_params.get("q", ""), "q")
        try:
            limit = int(request.query_params.get("limit", "10"))
        except ValueError:
            raise _BadRequest("limit must be an integer") from None
        try:
            check_limit(limit)  # the same range as the CLI's and MCP's
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
        kind = request.query_params.get("type")
        if kind is not None and kind not in {"file", "module", "function"}:
            raise _BadRequest("type must be file, module or function")
        path = request.query_params.get("path")
        tests = request.query_params.get("tests", "false").lower() in {"1", "true", "yes"}
        hits = await read(
            functools.partial(
                reader.search,
                query,
                limit,
                type=NodeType(kind) if kind else None,
                path=_param(path, "path") if path else None,
                tests=tests,
            )
        )
        return (lambda: [h.to_json() for h in hits]), functools.partial(hits_markdown, query, hits)

    async def query(request: Request) -> _Renderings:
        question, budget, path, tests = await _query_body(request)
        briefing = await read(
            functools.partial(reader.ask, question, budget, path=path, tests=tests)
        )
        return briefing.to_json, (lambda: briefing.markdown)

    async def health(request: Request) -> _Renderings:
        counts = await read(store.node_counts)
        data = {"status": "ok", "root": store.root, "nodes": {str(k): v for k, v in counts.items()}}
        return (lambda: data), (lambda: f"ok: {sum(counts.values())} nodes\n")

    return Starlette(
        routes=[
            Route("/node/{node_id:path}", endpoint(node)),
            Route("/context", endpoint(context)),
            Route("/impact/{node_id:path}", endpoint(impact)),
            Route("/search", endpoint(search)),
            Route("/query", endpoint(query), methods=["POST"]),
            Route("/health", endpoint(health)),
        ]
    )


async def _query_body(request: Request) -> tuple[str, int, str | None, bool]:
    """(question, budget, path glob, tests only) of a ``POST /query`` JSON body."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _BadRequest(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise _BadRequest('the body must be JSON: {"question": "..."}') from None
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        raise _BadRequest('the body must be JSON: {"question": "...", "budget": 4000}')
    question = _param(data["question"], "question")
    budget, path, tests = data.get("budget", DEFAULT_BUDGET), data.get("path"), data.get("tests")
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise _BadRequest("budget must be an integer")
    try:
        check_budget(budget)
    except ValueError as exc:
        raise _BadRequest(str(exc)) from None
    if path is not None and not isinstance(path, str):
        raise _BadRequest("path must be a string (a glob)")
    if tests is not None and not isinstance(tests, bool):
        raise _BadRequest("tests must be true or false")
    return question, budget, _param(path, "path") if path else None, bool(tests)


def _budget(request: Request) -> int:
    """The ``budget`` query parameter (tokens of Markdown), checked as the CLI checks it."""
    try:
        return check_budget(int(request.query_params.get("budget", str(DEFAULT_BUDGET))))
    except ValueError as exc:
        message = str(exc) if "between" in str(exc) else "budget must be an integer"
        raise _BadRequest(message) from None


def _param(value: str, name: str) -> str:
    if len(value) > MAX_PARAMETER_CHARS:
        raise _BadRequest(f"{name} is longer than {MAX_PARAMETER_CHARS} characters")
    return value


def _check_bind(config: Any, host: str, port: int) -> None:
    """A port in use or a host that does not resolve is one line naming the fix, before the
    server starts (inside it, it would be an exception group from hypercorn's nursery)."""
    try:
        sockets = config.create_sockets()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot listen on {host}:{port}: {reason}; "
            "choose another --port (0 picks a free one) or --host"
        ) from None
    for sock in [*sockets.secure_sockets, *sockets.insecure_sockets, *sockets.quic_sockets]:
        sock.close()


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    generate_missing: bool,
    on_ready: Callable[[str], None],
) -> None:
    """Serve until Ctrl-C (KeyboardInterrupt propagates); ``on_ready(url)`` once listening."""
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.loglevel = "WARNING"  # hypercorn's own "Running on" would come before ours
    _check_bind(config, host, port)
    store = open_store(settings, require="built", read_only=True)
    missing = MissingProse.open(settings) if generate_missing else None

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            if missing is not None:
                await stack.enter_async_context(missing.client)
            nursery = await stack.enter_async_context(trio.open_nursery())
            binds = await nursery.start(
                functools.partial(
                    hypercorn_serve,
                    create_app(store, missing=missing),  # type: ignore[arg-type]  # ASGI typing
                    config,
                )
            )
            on_ready(binds[0])

    try:
        trio.run(main)
    finally:
        store.close()
        if missing is not None:
            missing.close()
