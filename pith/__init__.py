"""pith: turn a Python codebase into a wiki that LLM coding agents can read.

The public library API, for a Trio application that embeds the generator: the FIFO limiter and
the adaptive admission over it, the generator and its report, the LLM client and its errors, the
store and the settings. Everything not named in ``__all__`` is private and may change.
"""

from __future__ import annotations

import importlib

from ._version import __version__

# Not `typing.TYPE_CHECKING`: importing typing costs `pith --version` (which imports this
# package) a third of a bare interpreter's start; type checkers read this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._adaptive import AdaptiveConcurrency
    from ._config import Settings, load_settings
    from ._errors import ConfigError, PithError, UsageError
    from ._generate import Generation, generate
    from ._limiter import FifoCapacityLimiter
    from ._llm import (
        AuthError,
        BadRequestError,
        EndpointUnreachableError,
        InvalidReplyError,
        LLMClient,
        LLMConnectionError,
        LLMError,
        LLMTimeoutError,
        ModelNotFoundError,
        QuotaExceededError,
        RateLimitedError,
        RetryLaterError,
        ServerError,
    )
    from ._report import GenerationReport, NodeResult, Outcome, ProgressUpdate
    from ._selection import Selection, select_nodes
    from ._store import Store, open_store

# Names are imported on first use (PEP 562), so that `import pith` and commands that need
# neither trio nor httpx (``pith --version``, ``status``, ``show``) start fast.
_LAZY: dict[str, str] = {
    "AdaptiveConcurrency": "._adaptive",
    "AuthError": "._llm",
    "BadRequestError": "._llm",
    "ConfigError": "._errors",
    "EndpointUnreachableError": "._llm",
    "FifoCapacityLimiter": "._limiter",
    "Generation": "._generate",
    "GenerationReport": "._report",
    "InvalidReplyError": "._llm",
    "LLMClient": "._llm",
    "LLMConnectionError": "._llm",
    "LLMError": "._llm",
    "LLMTimeoutError": "._llm",
    "ModelNotFoundError": "._llm",
    "NodeResult": "._report",
    "Outcome": "._report",
    "PithError": "._errors",
    "ProgressUpdate": "._report",
    "QuotaExceededError": "._llm",
    "RateLimitedError": "._llm",
    "RetryLaterError": "._llm",
    "Selection": "._selection",
    "ServerError": "._llm",
    "Settings": "._config",
    "Store": "._store",
    "UsageError": "._errors",
    "generate": "._generate",
    "load_settings": "._config",
    "open_store": "._store",
    "select_nodes": "._selection",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pith' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AdaptiveConcurrency",
    "AuthError",
    "BadRequestError",
    "ConfigError",
    "EndpointUnreachableError",
    "FifoCapacityLimiter",
    "Generation",
    "GenerationReport",
    "InvalidReplyError",
    "LLMClient",
    "LLMConnectionError",
    "LLMError",
    "LLMTimeoutError",
    "ModelNotFoundError",
    "NodeResult",
    "Outcome",
    "PithError",
    "ProgressUpdate",
    "QuotaExceededError",
    "RateLimitedError",
    "RetryLaterError",
    "Selection",
    "ServerError",
    "Settings",
    "Store",
    "UsageError",
    "__version__",
    "generate",
    "load_settings",
    "open_store",
    "select_nodes",
]
