"""HTTP for the client: a cookieless httpx client, a reply read up to a cap, and the headers and
usage block of a reply read defensively."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import math
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx

from ._errors import Usage

__all__ = [
    "MAX_REPLY_BYTES",
    "SHARD_CALLS",
    "BoundedDecoder",
    "ClientPool",
    "CookielessClient",
    "Reply",
    "read_usage",
    "retry_after_seconds",
]


MAX_REPLY_BYTES = 8_000_000  # a chat completion of a few thousand tokens is a few kB


class BoundedDecoder:
    """A reply body as it arrives (raw), decoded (identity, gzip or deflate) into at most
    ``limit`` bytes: the cap holds inside each chunk, so a small compressed chunk that would
    inflate to gigabytes (a gzip bomb) is stopped after ``limit`` bytes of output.

    `feed` returns False once the body is refused (over the cap, an unknown encoding, a corrupt
    stream); `refused` then says why, for a message.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        self._limit = limit
        self._out = bytearray()
        self.refused: str | None = None
        encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
        encodings = [e for e in encodings if e != "identity"]
        self._raw_deflate_tried = False
        self._inflate: Any = None
        if not encodings:
            return
        if len(encodings) > 1 or encodings[0] not in ("gzip", "x-gzip", "deflate"):
            self.refused = (
                f"with Content-Encoding {content_encoding[:40]!r}, which pith never asks for"
            )
        elif encodings[0] == "deflate":
            self._inflate = zlib.decompressobj()
        else:
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> bool:
        """Take one raw chunk; False when the body is refused (stop reading)."""
        if self.refused is not None:
            return False
        room = self._limit - len(self._out)
        if self._inflate is None:
            data = chunk[: room + 1]
        else:
            try:
                data = self._inflate.decompress(chunk, room + 1)
            except zlib.error:
                if self._raw_deflate_tried or self._out or self._inflate.unused_data:
                    self.refused = "whose compressed body is corrupt"
                    return False
                # "deflate" without the zlib header, as some servers send it.
                self._raw_deflate_tried = True
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(chunk)
        if len(data) > room:
            self.refused = f"over {self._limit // 1_000_000} MB"
            return False
        self._out += data
        return True

    def body(self) -> bytes:
        return bytes(self._out)


@attrs.frozen
class Reply:
    """A reply, read up to the cap: its status, headers and (decoded) body."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON; `ValueError` if it is not."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class CookielessClient(httpx.AsyncClient):
    """httpx's client without cookies: an LLM endpoint authenticates by key, and reading the
    cookies of every reply costs a quarter of a millisecond of CPU, on the event loop, per call."""

    _no_cookies = _NoCookies()  # stays empty: nothing is ever put in it

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass  # cookies given are ignored, as every reply's are


# The most calls in flight on one httpx client's connection pool (see `ClientPool`).
SHARD_CALLS = 2


class ClientPool:
    """httpx clients for one endpoint, each carrying at most `SHARD_CALLS` calls at once.

    httpcore's connection pool scans its connections and its requests several times, and its
    connections once for every idle connection, each time a request comes or goes: a cost of
    idle x all. With 200 calls in flight on one client that scan took more CPU than everything
    else together (a run at -c 200 went 8.7x slower than its ideal); with sixteen calls per
    client it was still a fifth of the client's CPU; with two it is a few steps, and choosing a
    client is one look at each (a client costs a few kB). A call goes to the client with the
    fewest calls in flight; another client is made (sharing the first one's TLS settings) when
    every one carries `SHARD_CALLS`. ``shard=False`` (a transport or a connection limit of the
    caller's own) keeps one client.
    """

    def __init__(self, make: Callable[[], CookielessClient], *, shard: bool) -> None:
        self._make = make
        self._shard = shard
        self._clients = [make()]
        self._in_flight = [0]

    @property
    def clients(self) -> tuple[CookielessClient, ...]:
        return tuple(self._clients)

    @contextlib.contextmanager
    def lease(self) -> Iterator[CookielessClient]:
        """The client for one call, held until the call's response is closed."""
        index = min(range(len(self._clients)), key=self._in_flight.__getitem__)
        if self._shard and self._in_flight[index] >= SHARD_CALLS:
            self._clients.append(self._make())
            self._in_flight.append(0)
            index = len(self._clients) - 1
        self._in_flight[index] += 1
        try:
            yield self._clients[index]
        finally:
            self._in_flight[index] -= 1

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def read_usage(raw: object) -> Usage:
    if not isinstance(raw, dict):
        return Usage()

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) and value >= 0 else 0

    cost = raw.get("cost")
    if isinstance(cost, bool) or not isinstance(cost, int | float) or cost < 0:
        cost = None
    return Usage(
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
        cost=None if cost is None else float(cost),
    )


def retry_after_seconds(headers: httpx.Headers, *, now: dt.datetime) -> float | None:
    """Seconds to wait per ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    None when absent or unreadable; a date in the past is 0.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT even when it fails to say so
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())
