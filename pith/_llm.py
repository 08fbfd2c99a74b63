"""A chat client for any OpenAI-compatible endpoint, with its retry policy and its errors.

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
import email.utils
import json
import math
import urllib.parse
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar, cast

import attrs
import httpx
import stamina
import trio

from ._adaptive import AdaptiveConcurrency
from ._config import Settings, redact_url
from ._errors import PithError, release_frames
from ._redact import REDACTED, secret_pattern

__all__ = [
    "AuthError",
    "BadRequestError",
    "Completion",
    "EndpointUnreachableError",
    "InvalidReplyError",
    "LLMClient",
    "LLMConnectionError",
    "LLMError",
    "LLMTimeoutError",
    "ModelNotFoundError",
    "QuotaExceededError",
    "RateLimitedError",
    "RetryLaterError",
    "ServerError",
    "Usage",
]

T = TypeVar("T")

REFERER = "https://pypi.org/project/pith/"
_PROVIDER_MESSAGE_LIMIT = 300
_BAD_REPLY_ECHO_LIMIT = 4000


@attrs.frozen
class Usage:
    """Tokens a call (or several) consumed, as the provider reported them.

    ``cost`` is in the provider's currency (OpenRouter: USD) and None when not reported; adding a
    known cost to an unknown one gives the known one.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        if self.cost is None:
            cost = other.cost
        elif other.cost is None:
            cost = self.cost
        else:
            cost = self.cost + other.cost
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost=cost,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@attrs.frozen
class Completion(Generic[T]):
    """A parsed reply, what it cost, and how many HTTP requests it took (retries and re-asks)."""

    value: T
    usage: Usage
    attempts: int


# --- errors --------------------------------------------------------------------------------------


class LLMError(PithError):
    """A chat call failed. The class says how; ``kind`` is its stable name for reports.

    ``run_wide`` errors (bad key, no credits, unknown model) are about the whole run, not one
    node: every further call would fail the same way. ``retryable`` errors were retried before
    they were raised. ``attempts`` counts the HTTP requests made, ``usage`` the tokens spent on
    replies that could not be used.
    """

    kind: ClassVar[str] = "error"
    run_wide: ClassVar[bool] = False
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        what: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        provider_message: str = "",
        usage: Usage | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(what)
        self.what = what
        self.status = status
        self.attempts = attempts
        self.provider_message = provider_message
        self.usage = Usage() if usage is None else usage
        # Seconds the provider asked us to wait (Retry-After), already capped; None if it didn't.
        self.retry_after = retry_after

    def __str__(self) -> str:
        details = [f"HTTP {self.status}"] if self.status is not None else []
        details.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        text = f"{self.what} ({', '.join(details)})"
        if self.provider_message:
            text = f"{text}: {self.provider_message}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.what!r}, status={self.status!r}, "
            f"attempts={self.attempts!r}, provider_message={self.provider_message!r})"
        )


class RateLimitedError(LLMError):
    """HTTP 429: too many requests. Retried, honouring Retry-After."""

    kind = "rate_limit"
    retryable = True


class RetryLaterError(LLMError):
    """HTTP 429 or 5xx whose Retry-After is longer than the client waits (``retry_after_cap``):
    not retried; about the run."""

    kind = "retry_later"
    run_wide = True


class ServerError(LLMError):
    """HTTP 5xx: the provider failed. Retried."""

    kind = "server"
    retryable = True


class LLMTimeoutError(LLMError):
    """No complete reply in time (connect, read, or the per-attempt deadline). Retried."""

    kind = "timeout"
    retryable = True


class LLMConnectionError(LLMError):
    """The connection could not be made or broke. Retried."""

    kind = "network"
    retryable = True


class EndpointUnreachableError(LLMConnectionError):
    """Not one connection to the endpoint ever succeeded: a wrong URL, a server that is down, a
    TLS failure. Never retried; about the run."""

    kind = "unreachable"
    run_wide = True
    retryable = False


class AuthError(LLMError):
    """HTTP 401/403: the key is missing, wrong or not allowed. Never retried; about the run."""

    kind = "auth"
    run_wide = True


class QuotaExceededError(LLMError):
    """HTTP 402 (or OpenAI's 429 insufficient_quota): no credits left. Never retried."""

    kind = "quota"
    run_wide = True


class ModelNotFoundError(LLMError):
    """HTTP 404: the model (or the endpoint) does not exist. Never retried; about the run."""

    kind = "model_not_found"
    run_wide = True


class BadRequestError(LLMError):
    """HTTP 400, 422 or another 4xx: the provider refused this request. Never retried."""

    kind = "bad_request"


class InvalidReplyError(LLMError):
    """The reply was not what was asked for (not JSON, missing fields). Re-asked, then raised."""

    kind = "invalid_reply"


# --- the client ----------------------------------------------------------------------------------


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
    admits never queues inside httpx, whatever the limiter's size now or later.
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
        headers = {"HTTP-Referer": REFERER, "X-Title": "pith"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        self._http = _CookielessClient(
            headers=headers,
            timeout=httpx.Timeout(
                connect=connect_timeout, read=timeout, write=timeout, pool=timeout
            ),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
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
        the last `LLMError`, carrying the attempts made and the usage spent so far.
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
                value = parse(content)
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

    async def _post_with_retries(
        self, messages: list[dict[str, str]], admission: AdaptiveConcurrency
    ) -> tuple[str, Usage, int]:
        """One prompt, retried per the policy: (content, usage, HTTP requests made). Refusals
        for the rate are sent again after the admission's pause, up to its patience."""
        made = 0
        refused_since: float | None = None
        while True:
            try:
                content, usage, sent = await self._post_with_backoff(messages, admission)
            except LLMError as exc:
                made += exc.attempts
                exc.attempts = made
                if not _is_refusal(exc):
                    raise
                now = trio.current_time()
                refused_since = now if refused_since is None else refused_since
                if now - refused_since >= admission.patience:
                    raise
                release_frames(exc)
                continue  # the next request waits out the pause in `admission.admit`
            return content, usage, made + sent

    async def _post_with_backoff(
        self, messages: list[dict[str, str]], admission: AdaptiveConcurrency
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
                    content, usage = await self._post_once(messages, admission)
                    return content, usage, made
        except LLMError as exc:
            exc.attempts = made
            raise
        raise AssertionError("unreachable: stamina returns or raises")  # pragma: no cover

    def _backoff_for(self, exc: Exception) -> bool | float:
        """stamina's hook: False (do not retry), True (exponential backoff) or seconds to wait."""
        if not isinstance(exc, LLMError) or not exc.retryable or _is_refusal(exc):
            return False  # a refusal for the rate is waited out by the admission instead
        if exc.retry_after is not None:
            return exc.retry_after
        return True

    async def _post_once(
        self, messages: list[dict[str, str]], admission: AdaptiveConcurrency
    ) -> tuple[str, Usage]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self._temperature,
            "max_tokens": self._max_tokens,
            "response_format": {"type": "json_object"},
        }
        if self._ask_for_cost:
            body["usage"] = {"include": True}
        round_ = await admission.admit()
        try:
            with trio.fail_after(self._attempt_deadline):
                response = await self._post_bounded(body)
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
            if _is_refusal(error):
                admission.refused(round_, error.retry_after)
            raise error
        admission.succeeded(round_)
        return self._read_reply(response)

    async def _post_bounded(self, body: dict[str, Any]) -> _Reply:
        """POST, reading at most `MAX_REPLY_BYTES` of the reply: a huge or endless body costs
        that much memory and no more."""
        request = self._http.build_request("POST", self._url, json=body)
        response = await self._http.send(request, stream=True)
        content = bytearray()
        too_large = False
        try:
            # An async generator: closed here, not left to the garbage collector.
            stream = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
            async with contextlib.aclosing(stream) as chunks:
                async for chunk in chunks:  # decoded (gzip...) as it comes
                    content += chunk
                    if len(content) > MAX_REPLY_BYTES:
                        too_large = True
                        break
        finally:
            await response.aclose()
        if too_large:
            raise InvalidReplyError(
                f"{self.base_url} sent a reply over {MAX_REPLY_BYTES // 1_000_000} MB; "
                "not read further",
                status=response.status_code,
            )
        return _Reply(response.status_code, response.headers, bytes(content))

    def _read_reply(self, response: _Reply) -> tuple[str, Usage]:
        try:
            payload = response.json()
        except ValueError:
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
        usage = _read_usage(payload.get("usage"))
        error = payload.get("error")
        if "choices" not in payload and error is not None:
            # OpenRouter can report a provider's failure inside a 200 body.
            code = error.get("code") if isinstance(error, dict) else None
            status = code if isinstance(code, int) and 400 <= code <= 599 else 502
            raise _error_class(status, error)(
                _what(status, self.base_url, self.model),
                status=status,
                provider_message=self._trim(_provider_text(payload)),
            )
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

    def _error_for(self, response: _Reply) -> LLMError:
        status = response.status
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.text
        error = payload.get("error") if isinstance(payload, dict) else None
        retry_after = None
        if status == 429 or status >= 500:
            retry_after = _retry_after_seconds(response.headers, now=dt.datetime.now(dt.UTC))
            if retry_after is not None and retry_after > self._retry_after_cap:
                # Waiting that long in silence would look like a hang: stop and say so.
                return RetryLaterError(
                    f"{self.base_url} asks to wait {retry_after:g} s before the next call, "
                    f"more than the {self._retry_after_cap:g} s pith waits; rerun after that",
                    status=status,
                    provider_message=self._trim(_provider_text(payload)),
                    retry_after=retry_after,
                )
        return _error_class(status, error)(
            _what(status, self.base_url, self.model),
            status=status,
            provider_message=self._trim(_provider_text(payload)),
            retry_after=retry_after,
        )

    def redact(self, text: str) -> str:
        """``text`` without the API key: whole, broken by whitespace, or any long piece of it."""
        return self._key_pattern.sub(REDACTED, text) if self._key_pattern is not None else text

    def _trim(self, text: str) -> str:
        """One line, bounded, and without the key should a provider echo it back."""
        text = self.redact(" ".join(text.split()))
        if len(text) > _PROVIDER_MESSAGE_LIMIT:
            text = text[: _PROVIDER_MESSAGE_LIMIT - 3] + "..."
        return text


MAX_REPLY_BYTES = 8_000_000  # a chat completion of a few thousand tokens is a few kB
_NOT_JSON = object()


@attrs.frozen
class _Reply:
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


class _CookielessClient(httpx.AsyncClient):
    """httpx's client without cookies: an LLM endpoint authenticates by key, and reading the
    cookies of every reply costs a quarter of a millisecond of CPU, on the event loop, per call."""

    _no_cookies = _NoCookies()  # stays empty: nothing is ever put in it

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass  # cookies given are ignored, as every reply's are


def _is_refusal(exc: LLMError) -> bool:
    """A refusal for the rate: 429, or 503 with Retry-After. Waited out, not failed."""
    if isinstance(exc, RateLimitedError):
        return True
    return isinstance(exc, ServerError) and exc.status == 503 and exc.retry_after is not None


def _error_class(status: int, error: object) -> type[LLMError]:
    if status in {401, 403}:
        return AuthError
    if status == 402:
        return QuotaExceededError
    if status == 404:
        return ModelNotFoundError
    if status == 408:
        return LLMTimeoutError
    if status == 429:
        # OpenAI says "out of credits" with a 429; waiting will not help.
        codes = {error.get("code"), error.get("type")} if isinstance(error, dict) else set()
        return QuotaExceededError if "insufficient_quota" in codes else RateLimitedError
    if status >= 500:
        return ServerError
    return BadRequestError


def _what(status: int, base_url: str, model: str) -> str:
    """The one-line description of an HTTP failure, with the fix where there is one."""
    if status in {401, 403}:
        return (
            f"{base_url} refused the API key; check PITH_API_KEY (or OPENROUTER_API_KEY) "
            "in the environment or ./.env"
        )
    if status == 402:
        return f"{base_url} says the account is out of credits; add credits or switch models"
    if status == 404:
        return (
            f"model {model!r} or endpoint {base_url}/chat/completions not found; "
            "check PITH_MODEL and PITH_BASE_URL"
        )
    if status == 429:
        return f"rate limited by {base_url}"
    if status >= 500:
        return f"{base_url} failed to answer"
    return f"{base_url} rejected the request"


def _provider_text(payload: object) -> str:
    """The human part of an error body: error.message, error, message, or the raw text."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(payload.get("message"), str):
            return str(payload["message"])
        return json.dumps(payload)
    return str(payload)


def _read_usage(raw: object) -> Usage:
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


def _retry_after_seconds(headers: httpx.Headers, *, now: dt.datetime) -> float | None:
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
