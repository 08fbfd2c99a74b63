"""The LLM client: one OpenAI-compatible endpoint, its retry policy, its errors, its HTTP, and
redaction of the API key from everything pith keeps or shows.

Names are imported on first use (PEP 562): the store needs `_redact` without httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from ._client import Completion, LLMClient
    from ._errors import (
        AuthError,
        BadRequestError,
        EndpointUnreachableError,
        InvalidReplyError,
        LLMConnectionError,
        LLMError,
        LLMTimeoutError,
        ModelNotFoundError,
        QuotaExceededError,
        RateLimitedError,
        ReplyCutError,
        RetryLaterError,
        ServerError,
        Usage,
    )

_LAZY: dict[str, str] = {
    "AuthError": "._errors",
    "BadRequestError": "._errors",
    "Completion": "._client",
    "EndpointUnreachableError": "._errors",
    "InvalidReplyError": "._errors",
    "LLMClient": "._client",
    "LLMConnectionError": "._errors",
    "LLMError": "._errors",
    "LLMTimeoutError": "._errors",
    "ModelNotFoundError": "._errors",
    "QuotaExceededError": "._errors",
    "RateLimitedError": "._errors",
    "ReplyCutError": "._errors",
    "RetryLaterError": "._errors",
    "ServerError": "._errors",
    "Usage": "._errors",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


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
    "ReplyCutError",
    "RetryLaterError",
    "ServerError",
    "Usage",
]
