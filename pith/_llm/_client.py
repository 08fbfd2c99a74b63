"""A chat client for any OpenAI-compatible endpoint, with its retry policy.

One `LLMClient` serves a whole run. `LLMClient.complete` sends one prompt, retries what a provider
gets wrong for a while (429, 5xx, timeouts, dropped connections), never retries what will not get
better (400, 401, 402, 403, 404, 422), and re-asks a bounded number of times when the reply is not
what was asked for. Every failure is an `LLMError` whose class says what kind of failure it was.

The API key goes into the ``Authorization`` header and nowhere else: not into a message, a
``repr``, a log line or an error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import urllib.parse
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

import attrs
import httpx
import stamina
import trio

from .._config import Settings, redact_url
from .._errors import ConfigError, release_frames
from .._generate._adaptive import AdaptiveConcurrency
from ._errors import (
    EndpointUnreachableError,
    InvalidReplyError,
    LLMConnectionError,
    LLMError,
    LLMTimeoutError,
    ReplyCutError,
    RetryLaterError,
    Usage,
    error_class,
    is_refusal,
    provider_text,
    what_failed,
)
from ._http import (
    MAX_REPLY_BYTES,
    BoundedDecoder,
    ClientPool,
    CookielessClient,
    Reply,
    read_usage,
    retry_after_seconds,
)
from ._redact import REDACTED, secret_pattern, secret_problem
from ._stream import EventReader, RedactingEmitter, read_event

__all__ = ["Completion", "LLMClient"]

T = TypeVar("T")

REFERER = "https://pypi.org/project/pith/"
_PROVIDER_MESSAGE_LIMIT = 300
_BAD_REPLY_ECHO_LIMIT = 4000
_NOT_JSON = object()


@attrs.frozen
class Completion(Generic[T]):
    """A parsed reply, what it cost, and how many HTTP requests it took (retries and re-asks)."""

    value: T
    usage: Usage
    attempts: int


class LLMClient:
    """A chat-completions client for one endpoint and model.

    Guarantees: at most ``attempts`` failed HTTP requests per prompt (plus ``reasks`` more prompts
    when a reply cannot be parsed, each with the same retry budget); backoff between attempts is
    exponential with jitter (``backoff_initial * 2**n + U(0, backoff_jitter)``, at most
    ``backoff_max``), or the provider's Retry-After, at most ``retry_after_cap``. A rate-limit
    refusal (429, or 503 with Retry-After) is no failed attempt: it pauses admission (see
    `AdaptiveConcurrency`) and the request is sent again, until the provider has refused it for
    the admission's ``patience``. When the first ``unreachable_after`` connection attempts all
    fail and none was ever answered, the endpoint is taken for dead: `EndpointUnreachableError`,
    a run-wide error, at once and for every later call. Each attempt has
    a total deadline of ``connect_timeout + timeout``. The connection pool is unbounded by default
    (``max_connections=None``): the limiter that admits the calls is the one bound, so a call it
    admits never queues inside httpx, whatever the limiter's size now or later; its connections
    are spread over httpx clients of at most `SHARD_CALLS` calls each (see `ClientPool`).
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        max_connections: int | None = None,
        attempts: int = 3,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        backoff_jitter: float = 1.0,
        retry_after_cap: float = 60.0,
        unreachable_after: int = 5,
        reasks: int = 2,
        temperature: float = 0.3,
        max_tokens: int = 1500,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        if reasks < 0:
            raise ValueError(f"reasks must be >= 0, got {reasks}")
        if max_connections is not None and max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self.model = model
        self.base_url = redact_url(base_url).rstrip("/")
        parts = urllib.parse.urlsplit(base_url)
        # Keep a query string (some gateways want ?api-version=...); it is only never displayed.
        # Parsed once: httpx would otherwise parse the string again on every request.
        self._url = httpx.URL(
            parts._replace(path=parts.path.rstrip("/") + "/chat/completions").geturl()
        )
        self._api_key = api_key or None
        if self._api_key is not None and (problem := secret_problem(self._api_key)) is not None:
            raise ConfigError(f"{problem}; check PITH_API_KEY (or OPENROUTER_API_KEY)")
        self._key_pattern = secret_pattern(self._api_key) if self._api_key else None
        self._attempts = attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._backoff_jitter = backoff_jitter
        self._retry_after_cap = retry_after_cap
        self._unreachable_after = unreachable_after
        self._answered = False  # has the endpoint ever answered (any HTTP status)?
        self._connection_failures = 0
        # Pauses the client's own calls on a rate limit when the caller brings no admission.
        self._admission = AdaptiveConcurrency()
        self._reasks = reasks
        self._temperature = temperature
        self._max_tokens = max_tokens
        # httpx's read timeout is between bytes; a reply that trickles in could exceed it many
        # times over, so every attempt also gets a hard deadline.
        self._attempt_deadline = connect_timeout + timeout
        # OpenRouter reports the cost of a call only when asked; other providers may reject
        # unknown body fields, so only OpenRouter is asked.
        self._ask_for_cost = (httpx.URL(base_url).host or "").endswith("openrouter.ai")
        # Only encodings pith decodes itself, under its cap (see `BoundedDecoder`).
        headers = {"HTTP-Referer": REFERER, "X-Title": "pith", "Accept-Encoding": "gzip, deflate"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        http_timeout = httpx.Timeout(
            connect=connect_timeout, read=timeout, write=timeout, pool=timeout
        )
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        # Made once: every client of the pool verifies certificates the same way, and loading
        # the CA bundle costs tens of milliseconds.
        verify = httpx.create_ssl_context() if transport is None else True
        self._http = ClientPool(
            lambda: CookielessClient(
                headers=headers,
                timeout=http_timeout,
                limits=limits,
                transport=transport,
                verify=verify,
            ),
            shard=transport is None and max_connections is None,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> LLMClient:
        """A client for the configured endpoint.

        Without a ``transport`` (that is: for the real network) a missing key for an endpoint that
        needs one raises `ConfigError` here, before any request.
        """
        if transport is None:
            settings.require_api_key()
        return cls(
            base_url=settings.base_url,
            model=settings.model,
            api_key=settings.api_key,
            timeout=settings.timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.base_url!r}, model={self.model!r})"

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        parse: Callable[[str], T],
        *,
        admission: AdaptiveConcurrency | None = None,
    ) -> Completion[T]:
        """Send ``messages``, return ``parse(reply content)``.

        Every HTTP request waits for ``admission`` first and tells it how it went; without one,
        the client's own (pauses only) is used.

        ``parse`` raises `InvalidReplyError` for a reply it cannot use; the reply and a correction
        are then appended to the conversation and it is asked again, up to ``reasks`` times. Raises
        the last `LLMError`, carrying the attempts made and the usage spent so far. Any other
        error raised while handling a reply (by ``parse`` or by reading the body) comes out as an
        `InvalidReplyError` naming it, without its frames: a hostile reply cannot make the caller
        keep megabytes alive through a traceback.
        """
        conversation = [dict(message) for message in messages]
        usage = Usage()
        attempts = 0
        for reask in range(self._reasks + 1):
            last = reask == self._reasks
            try:
                content, reply_usage, made = await self._post_with_retries(
                    conversation, admission or self._admission
                )
            except InvalidReplyError as exc:
                # A reply without usable content (empty, not a chat completion): ask again as is.
                attempts += exc.attempts
                usage += exc.usage
                exc.attempts, exc.usage = attempts, usage
                if last:
                    raise
                release_frames(exc)
                continue
            except LLMError as exc:
                exc.attempts += attempts
                exc.usage = usage + exc.usage
                raise
            attempts += made
            usage += reply_usage
            # A provider may quote the request, key included: nothing of it goes further.
            content = self.redact(content)
            try:
                value = self._handling_reply(functools.partial(parse, content))
            except InvalidReplyError as exc:
                exc.attempts, exc.usage = attempts, usage
                if last:
                    raise
                release_frames(exc)
                conversation += [
                    {"role": "assistant", "content": content[:_BAD_REPLY_ECHO_LIMIT]},
                    {
                        "role": "user",
                        "content": (
                            f"That reply could not be used: {exc.what}. Reply again with exactly "
                            "one JSON object with the fields asked for, and nothing else."
                        ),
                    },
                ]
                continue
            return Completion(value=value, usage=usage, attempts=attempts)
        raise AssertionError("unreachable: the last re-ask returns or raises")  # pragma: no cover

    async def stream(
        self,
        messages: Sequence[Mapping[str, str]],
        on_text: Callable[[str], None],
        *,
        admission: AdaptiveConcurrency | None = None,
    ) -> Completion[str]:
        """Send ``messages`` for a streamed reply (free text, not JSON), passing its text to
        ``on_text`` as it arrives; return the whole text and what it cost.

        The API key is taken out of what ``on_text`` gets as from everything else: with a key,
        its last few hundred characters wait until more has arrived (see `RedactingEmitter`).
        Retried as `complete` is while nothing has been passed on; a failure after that is
        `ReplyCutError`. An endpoint that answers with one JSON reply instead of a stream is read
        as `complete` reads it. An empty reply is `InvalidReplyError` (not asked again).
        """
        holdback = 4 * len(self._api_key) if self._api_key is not None else 0
        emitter = RedactingEmitter(self.redact, holdback, on_text)
        _, usage, attempts = await self._post_with_retries(
            [dict(message) for message in messages], admission or self._admission, emitter
        )
        text = emitter.finish()
        if not text.strip():
            raise InvalidReplyError("the reply's content is empty", status=200, usage=usage)
        return Completion(value=text, usage=usage, attempts=attempts)

    async def _post_with_retries(
        self,
        messages: list[dict[str, str]],
        admission: AdaptiveConcurrency,
        emitter: RedactingEmitter | None = None,
    ) -> tuple[str, Usage, int]:
        """One prompt, retried per the policy: (content, usage, HTTP requests made). Refusals
        for the rate are sent again after the admission's pause, up to its patience."""
        made = 0
        refused_since: float | None = None
        while True:
            try:
                content, usage, sent = await self._post_with_backoff(messages, admission, emitter)
            except LLMError as exc:
                made += exc.attempts
                exc.attempts = made
                if not is_refusal(exc):
                    raise
                now = trio.current_time()
                refused_since = now if refused_since is None else refused_since
                if now - refused_since >= admission.patience:
                    raise
                release_frames(exc)
                # Its slot goes to the next in line while it waits, and it queues again: after
                # a cut, only as many requests as the new limit go out.
                await admission.requeue()
                continue
            return content, usage, made + sent

    async def _post_with_backoff(
        self,
        messages: list[dict[str, str]],
        admission: AdaptiveConcurrency,
        emitter: RedactingEmitter | None = None,
    ) -> tuple[str, Usage, int]:
        made = 0
        # timeout=None: stamina's overall timeout reads the wall clock, which would ignore Trio's
        # (mock) clock; the attempt count and per-attempt deadline bound the time instead.
        retrying = stamina.retry_context(
            on=self._backoff_for,
            attempts=self._attempts,
            timeout=None,
            wait_initial=self._backoff_initial,
            wait_max=self._backoff_max,
            wait_jitter=self._backoff_jitter,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    made += 1
                    content, usage = await self._post_once(messages, admission, emitter)
                    return content, usage, made
        except LLMError as exc:
            exc.attempts = made
            raise
        raise AssertionError("unreachable: stamina returns or raises")  # pragma: no cover

    def _backoff_for(self, exc: Exception) -> bool | float:
        """stamina's hook: False (do not retry), True (exponential backoff) or seconds to wait."""
        if not isinstance(exc, LLMError) or not exc.retryable or is_refusal(exc):
            return False  # a refusal for the rate is waited out by the admission instead
        if exc.retry_after is not None:
            return exc.retry_after
        return True

    async def _post_once(
        self,
        messages: list[dict[str, str]],
        admission: AdaptiveConcurrency,
        emitter: RedactingEmitter | None = None,
    ) -> tuple[str, Usage]:
        if emitter is None:
            return await self._post_once_to(messages, admission, None)
        emitter.restart()
        try:
            return await self._post_once_to(messages, admission, emitter)
        except LLMError as exc:
            if not emitter.shown:
                raise
            # Part of the answer is on the user's screen: asking again would repeat it.
            raise ReplyCutError(
                f"the reply stopped after part of it was shown: {exc.what}",
                status=exc.status,
                provider_message=exc.provider_message,
                usage=exc.usage,
            ) from None

    async def _post_once_to(
        self,
        messages: list[dict[str, str]],
        admission: AdaptiveConcurrency,
        emitter: RedactingEmitter | None,
    ) -> tuple[str, Usage]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self._temperature,
            "max_tokens": self._max_tokens,
        }
        if emitter is None:
            body["response_format"] = {"type": "json_object"}
        else:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if self._ask_for_cost:
            body["usage"] = {"include": True}
        round_ = await admission.admit()
        try:
            with trio.fail_after(self._attempt_deadline):
                if emitter is None:
                    response = await self._post_bounded(body)
                else:
                    streamed = await self._post_streamed(body, emitter)
                    if not isinstance(streamed, Reply):
                        self._answered = True
                        admission.succeeded(round_)
                        return streamed
                    response = streamed
        except trio.TooSlowError:
            raise LLMTimeoutError(
                f"no reply from {self.base_url} within {self._attempt_deadline:g} s"
            ) from None
        except httpx.TimeoutException as exc:
            raise LLMTimeoutError(f"{type(exc).__name__} talking to {self.base_url}") from exc
        except httpx.TransportError as exc:
            self._connection_failures += 1
            if not self._answered and self._connection_failures >= self._unreachable_after:
                raise EndpointUnreachableError(
                    f"cannot reach {self.base_url}: {self._connection_failures} connection "
                    f"attempts failed and none was ever answered ({type(exc).__name__})",
                    provider_message=self._trim(str(exc)),
                ) from exc
            raise LLMConnectionError(
                f"connection to {self.base_url} failed: {type(exc).__name__}",
                provider_message=self._trim(str(exc)),
            ) from exc
        self._answered = True
        if response.status != 200:
            error = self._error_for(response)
            if is_refusal(error):
                admission.refused(round_, error.retry_after)
            raise error
        admission.succeeded(round_)
        content, usage = self._handling_reply(functools.partial(self._read_reply, response))
        if emitter is not None:  # an endpoint that does not stream: its whole reply at once
            emitter.add(content)
        return content, usage

    async def _post_streamed(
        self, body: dict[str, Any], emitter: RedactingEmitter
    ) -> tuple[str, Usage] | Reply:
        """POST for a stream of events, passing their text to ``emitter`` as it arrives:
        ("", usage) once the stream ends; the `Reply` when the endpoint answered otherwise (an
        error, or one JSON reply). At most `MAX_REPLY_BYTES` are read, and only unencoded: a
        stream cannot be decoded under the cap piece by piece."""
        headers = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}
        with self._http.lease() as http:
            request = http.build_request("POST", self._url, json=body, headers=headers)
            response = await http.send(request, stream=True)
            return await self._read_streamed(response, emitter)

    async def _read_streamed(
        self, response: httpx.Response, emitter: RedactingEmitter
    ) -> tuple[str, Usage] | Reply:
        try:
            media_type = response.headers.get("content-type", "").partition(";")[0].strip()
            if response.status_code != 200 or media_type != "text/event-stream":
                return await self._read_bounded(response)
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise InvalidReplyError(
                    f"{self.base_url} sent an encoded stream, which pith never asks for",
                    status=200,
                )
            reader = EventReader(MAX_REPLY_BYTES)
            usage = Usage()
            done = False
            # An async generator: closed here, not left to the garbage collector.
            raw = _raw_chunks(response)
            async with contextlib.aclosing(raw) as chunks:
                async for chunk in chunks:
                    for payload in reader.feed(chunk):
                        event = read_event(payload)
                        if event is None or done:
                            continue
                        if event.end:
                            # Read on to the end (the server closes the stream next), so that
                            # nothing of it is left half-read.
                            done = True
                            continue
                        if event.error is not None:
                            raise self._reported_failure(event.error, event.error)
                        usage = event.usage or usage
                        emitter.add(event.text)
                    if reader.refused is not None:
                        raise InvalidReplyError(
                            f"{self.base_url} sent a stream {reader.refused}; not read further",
                            status=200,
                        )
            return "", usage  # with or without [DONE]: what came is the reply
        finally:
            await response.aclose()

    async def _post_bounded(self, body: dict[str, Any]) -> Reply:
        """POST, reading at most `MAX_REPLY_BYTES` of the reply: a huge or endless body costs
        that much memory and no more."""
        with self._http.lease() as http:
            request = http.build_request("POST", self._url, json=body)
            response = await http.send(request, stream=True)
            return await self._read_bounded(response)

    async def _read_bounded(self, response: httpx.Response) -> Reply:
        """``response``'s body, at most `MAX_REPLY_BYTES` of it, decoded; closes it."""
        try:
            if response.is_stream_consumed:
                # Made in memory, already decoded (a test's transport): only the cap applies.
                decoder = BoundedDecoder("", MAX_REPLY_BYTES)
                decoder.feed(response.content)
            else:
                encoding = response.headers.get("content-encoding", "")
                decoder = BoundedDecoder(encoding, MAX_REPLY_BYTES)
                # An async generator: closed here, not left to the garbage collector.
                stream = cast(AsyncGenerator[bytes, None], response.aiter_raw())
                async with contextlib.aclosing(stream) as chunks:
                    async for chunk in chunks:  # decoded here, never past the cap
                        if not decoder.feed(chunk):
                            break
        finally:
            await response.aclose()
        if decoder.refused is not None:
            raise InvalidReplyError(
                f"{self.base_url} sent a reply {decoder.refused}; not read further",
                status=response.status_code,
            )
        content = decoder.body()
        return Reply(response.status_code, response.headers, content)

    def _read_reply(self, response: Reply) -> tuple[str, Usage]:
        try:
            payload = response.json()
        except (ValueError, RecursionError):
            payload = _NOT_JSON  # raised below, outside the handler: the decode error (and the
            # whole body it holds) is not kept as the new error's context
        if payload is _NOT_JSON:
            raise InvalidReplyError(
                f"{self.base_url} answered 200 with a body that is not JSON",
                status=200,
                provider_message=self._trim(response.text[: _PROVIDER_MESSAGE_LIMIT * 2]),
            )
        if not isinstance(payload, dict):
            raise InvalidReplyError(f"{self.base_url} answered 200 with JSON that is not an object")
        usage = read_usage(payload.get("usage"))
        error = payload.get("error")
        if "choices" not in payload and error is not None:
            raise self._reported_failure(error, payload)
        try:
            choice = payload["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise InvalidReplyError(
                "the reply has no choices[0].message.content", status=200, usage=usage
            ) from None
        if not isinstance(content, str) or not content.strip():
            raise InvalidReplyError("the reply's content is empty", status=200, usage=usage)
        return content, usage

    def _reported_failure(self, error: object, payload: object) -> LLMError:
        """A provider's failure reported inside a 200 reply (OpenRouter does, in a body or a
        stream): the error its ``code`` says, else a 502; ``payload`` holds its message."""
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and 400 <= code <= 599 else 502
        return error_class(status, error)(
            what_failed(status, self.base_url, self.model),
            status=status,
            provider_message=self._trim(provider_text(payload)),
        )

    def _error_for(self, response: Reply) -> LLMError:
        status = response.status
        try:
            payload: Any = response.json()
        except (ValueError, RecursionError):
            payload = response.text
        error = payload.get("error") if isinstance(payload, dict) else None
        retry_after = None
        if status == 429 or status >= 500:
            retry_after = retry_after_seconds(response.headers, now=dt.datetime.now(dt.UTC))
            if retry_after is not None and retry_after > self._retry_after_cap:
                # Waiting that long in silence would look like a hang: stop and say so.
                return RetryLaterError(
                    f"{self.base_url} asks to wait {retry_after:g} s before the next call, "
                    f"more than the {self._retry_after_cap:g} s pith waits; rerun after that",
                    status=status,
                    provider_message=self._trim(provider_text(payload)),
                    retry_after=retry_after,
                )
        return error_class(status, error)(
            what_failed(status, self.base_url, self.model),
            status=status,
            provider_message=self._trim(provider_text(payload)),
            retry_after=retry_after,
        )

    def _handling_reply(self, handle: Callable[[], T]) -> T:
        """``handle()``, where any error but an `LLMError` (a `RecursionError` from JSON nested
        too deeply, a bug) becomes an `InvalidReplyError` naming it (one line, bounded, without
        the key), without the frames and chained errors that would keep the reply alive for as
        long as the error is kept."""
        try:
            return handle()
        except LLMError:
            raise
        except Exception as exc:
            what = f"handling the reply raised {type(exc).__name__}: {str(exc)[:200]}"
            release_frames(exc)
        raise InvalidReplyError(self._trim(what))

    def redact(self, text: str) -> str:
        """``text`` without the API key: whole, broken by whitespace, or any long piece of it."""
        return self._key_pattern.sub(REDACTED, text) if self._key_pattern is not None else text

    def _trim(self, text: str) -> str:
        """One line, bounded, and without the key should a provider echo it back."""
        text = self.redact(" ".join(text.split()))
        if len(text) > _PROVIDER_MESSAGE_LIMIT:
            text = text[: _PROVIDER_MESSAGE_LIMIT - 3] + "..."
        return text


async def _raw_chunks(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body of ``response`` as it arrives; at once when it was made in memory (a test's
    transport), whose body httpx has already read."""
    if response.is_stream_consumed:
        yield response.content
        return
    raw = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(raw) as chunks:
        async for chunk in chunks:
            yield chunk
