"""pith: turn a Python codebase into a wiki that LLM coding agents can read.

The public library API, for a Trio application that embeds the generator: the FIFO limiter and
the adaptive admission over it, the generator and its report, the LLM client and its errors, the
store and the settings. Everything not named in ``__all__`` is private and may change. How the
private modules fit together: docs/architecture.md.
"""

from __future__ import annotations

from ._lazy import lazy_getattr
from ._version import __version__

# Not `typing.TYPE_CHECKING`: importing typing costs `pith --version` (which imports this
# package) a third of a bare interpreter's start; type checkers read this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._config import Settings, load_settings
    from ._errors import ConfigError, PithError, StoreWriteError, UsageError
    from ._generate import Generation, generate
    from ._generate._adaptive import AdaptiveConcurrency, ConcurrencyChange
    from ._generate._limiter import FifoCapacityLimiter, FifoCapacityLimiterStatistics
    from ._generate._report import (
        GenerationReport,
        NodeError,
        NodeResult,
        Outcome,
        ProgressUpdate,
    )
    from ._generate._selection import NodeList, Selection, select_nodes
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
        ReplyCutError,
        RetryLaterError,
        ServerError,
        Usage,
    )
    from ._llm._client import Completion
    from ._store import Store, open_store

# Names are imported on first use (PEP 562), so that `import pith` and commands that need
# neither trio nor httpx (``pith --version``, ``status``, ``show``) start fast.
_LAZY: dict[str, str] = {
    "AdaptiveConcurrency": "._generate._adaptive",
    "AuthError": "._llm._errors",
    "BadRequestError": "._llm._errors",
    "Completion": "._llm._client",
    "ConcurrencyChange": "._generate._adaptive",
    "ConfigError": "._errors",
    "EndpointUnreachableError": "._llm._errors",
    "FifoCapacityLimiter": "._generate._limiter",
    "FifoCapacityLimiterStatistics": "._generate._limiter",
    "Generation": "._generate._engine",
    "GenerationReport": "._generate._report",
    "InvalidReplyError": "._llm._errors",
    "LLMClient": "._llm._client",
    "LLMConnectionError": "._llm._errors",
    "LLMError": "._llm._errors",
    "LLMTimeoutError": "._llm._errors",
    "ModelNotFoundError": "._llm._errors",
    "NodeError": "._generate._report",
    "NodeList": "._generate._selection",
    "NodeResult": "._generate._report",
    "Outcome": "._generate._report",
    "PithError": "._errors",
    "ProgressUpdate": "._generate._report",
    "QuotaExceededError": "._llm._errors",
    "RateLimitedError": "._llm._errors",
    "ReplyCutError": "._llm._errors",
    "RetryLaterError": "._llm._errors",
    "Selection": "._generate._selection",
    "ServerError": "._llm._errors",
    "Settings": "._config",
    "Store": "._store",
    "StoreWriteError": "._errors",
    "Usage": "._llm._errors",
    "UsageError": "._errors",
    "generate": "._generate._engine",
    "load_settings": "._config",
    "open_store": "._store",
    "select_nodes": "._generate._selection",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AdaptiveConcurrency",
    "AuthError",
    "BadRequestError",
    "Completion",
    "ConcurrencyChange",
    "ConfigError",
    "EndpointUnreachableError",
    "FifoCapacityLimiter",
    "FifoCapacityLimiterStatistics",
    "Generation",
    "GenerationReport",
    "InvalidReplyError",
    "LLMClient",
    "LLMConnectionError",
    "LLMError",
    "LLMTimeoutError",
    "ModelNotFoundError",
    "NodeError",
    "NodeList",
    "NodeResult",
    "Outcome",
    "PithError",
    "ProgressUpdate",
    "QuotaExceededError",
    "RateLimitedError",
    "ReplyCutError",
    "RetryLaterError",
    "Selection",
    "ServerError",
    "Settings",
    "Store",
    "StoreWriteError",
    "Usage",
    "UsageError",
    "__version__",
    "generate",
    "load_settings",
    "open_store",
    "select_nodes",
]
