"""What a chat call cost (`Usage`) and how it can fail: one `LLMError` subclass per kind of failure.

Every failure of `LLMClient.complete` is one of these; its class says what kind of failure it was,
``kind`` is the stable name reports use, and its message never holds the API key.
"""

from __future__ import annotations

import json
from typing import ClassVar

import attrs

from .._errors import PithError

__all__ = [
    "AuthError",
    "BadRequestError",
    "EndpointUnreachableError",
    "InvalidReplyError",
    "LLMConnectionError",
    "LLMError",
    "LLMTimeoutError",
    "ModelNotFoundError",
    "QuotaExceededError",
    "RateLimitedError",
    "ReplyCutError",
    "RetryLaterError",
    "ServerError",
    "Usage",
    "error_class",
    "is_refusal",
    "provider_text",
    "what_failed",
]


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


class ReplyCutError(LLMError):
    """A streamed reply stopped (the connection, a timeout, the provider's error) after part of
    it was shown. Not retried: asking again would show the start twice and pay for it twice."""

    kind = "reply_cut"


def is_refusal(exc: LLMError) -> bool:
    """A refusal for the rate: 429, or 503 with Retry-After. Waited out, not failed."""
    if isinstance(exc, RateLimitedError):
        return True
    return isinstance(exc, ServerError) and exc.status == 503 and exc.retry_after is not None


def error_class(status: int, error: object) -> type[LLMError]:
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


def what_failed(status: int, base_url: str, model: str) -> str:
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


def provider_text(payload: object) -> str:
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
