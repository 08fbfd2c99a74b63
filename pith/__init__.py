"""pith: turn a Python codebase into a wiki that LLM coding agents can read.

The public library API. Everything not named in ``__all__`` is private and may change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._build import (
        BuildConfig,
        BuildSummary,
        build,
    )
    from ._config import (
        Settings,
        load_settings,
    )
    from ._errors import (
        ConfigError,
        NotFoundError,
        PithError,
        UsageError,
    )
    from ._estimate import (
        Estimate,
        estimate,
    )
    from ._extract import (
        ExtractSummary,
        Skipped,
        extract,
    )
    from ._generate import (
        Generation,
        GenerationInterrupted,
        GenerationReport,
        NodeError,
        NodeResult,
        Outcome,
        ProgressUpdate,
        Selection,
        generate,
        run_generation,
        select_nodes,
    )
    from ._limiter import (
        FifoCapacityLimiter,
        FifoCapacityLimiterStatistics,
    )
    from ._llm import (
        AuthError,
        BadRequest,
        Completion,
        ConnectionFailed,
        InvalidReply,
        LLMClient,
        LLMError,
        ModelNotFound,
        QuotaExceeded,
        RateLimited,
        ServerError,
        Timeout,
        Usage,
    )
    from ._models import (
        ClassFacts,
        Edge,
        EdgeType,
        FileFacts,
        FunctionFacts,
        GitFacts,
        Gotcha,
        ImportFact,
        KeyStatement,
        Node,
        NodeType,
        Prose,
        Readme,
    )
    from ._prompts import (
        ChildSummary,
        estimate_prompt_tokens,
        file_prompt,
        function_prompt,
        module_prompt,
    )
    from ._prose import (
        parse_prose,
    )
    from ._store import (
        Store,
        open_store,
    )


# Names are imported on first use (PEP 562), so that `import pith` and commands that need
# neither trio nor httpx (``pith --version``, ``status``, ``show``) start fast.
_LAZY: dict[str, str] = {
    "AuthError": "._llm",
    "BadRequest": "._llm",
    "BuildConfig": "._build",
    "BuildSummary": "._build",
    "ChildSummary": "._prompts",
    "ClassFacts": "._models",
    "Completion": "._llm",
    "ConfigError": "._errors",
    "ConnectionFailed": "._llm",
    "Edge": "._models",
    "EdgeType": "._models",
    "Estimate": "._estimate",
    "ExtractSummary": "._extract",
    "FifoCapacityLimiter": "._limiter",
    "FifoCapacityLimiterStatistics": "._limiter",
    "FileFacts": "._models",
    "FunctionFacts": "._models",
    "Generation": "._generate",
    "GenerationInterrupted": "._generate",
    "GenerationReport": "._generate",
    "GitFacts": "._models",
    "Gotcha": "._models",
    "ImportFact": "._models",
    "InvalidReply": "._llm",
    "KeyStatement": "._models",
    "LLMClient": "._llm",
    "LLMError": "._llm",
    "ModelNotFound": "._llm",
    "Node": "._models",
    "NodeError": "._generate",
    "NodeResult": "._generate",
    "NodeType": "._models",
    "NotFoundError": "._errors",
    "Outcome": "._generate",
    "PithError": "._errors",
    "ProgressUpdate": "._generate",
    "Prose": "._models",
    "QuotaExceeded": "._llm",
    "RateLimited": "._llm",
    "Readme": "._models",
    "Selection": "._generate",
    "ServerError": "._llm",
    "Settings": "._config",
    "Skipped": "._extract",
    "Store": "._store",
    "Timeout": "._llm",
    "Usage": "._llm",
    "UsageError": "._errors",
    "build": "._build",
    "estimate": "._estimate",
    "estimate_prompt_tokens": "._prompts",
    "extract": "._extract",
    "file_prompt": "._prompts",
    "function_prompt": "._prompts",
    "generate": "._generate",
    "load_settings": "._config",
    "module_prompt": "._prompts",
    "open_store": "._store",
    "parse_prose": "._prose",
    "run_generation": "._generate",
    "select_nodes": "._generate",
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
    "AuthError",
    "BadRequest",
    "BuildConfig",
    "BuildSummary",
    "ChildSummary",
    "ClassFacts",
    "Completion",
    "ConfigError",
    "ConnectionFailed",
    "Edge",
    "EdgeType",
    "Estimate",
    "ExtractSummary",
    "FifoCapacityLimiter",
    "FifoCapacityLimiterStatistics",
    "FileFacts",
    "FunctionFacts",
    "Generation",
    "GenerationInterrupted",
    "GenerationReport",
    "GitFacts",
    "Gotcha",
    "ImportFact",
    "InvalidReply",
    "KeyStatement",
    "LLMClient",
    "LLMError",
    "ModelNotFound",
    "Node",
    "NodeError",
    "NodeResult",
    "NodeType",
    "NotFoundError",
    "Outcome",
    "PithError",
    "ProgressUpdate",
    "Prose",
    "QuotaExceeded",
    "RateLimited",
    "Readme",
    "Selection",
    "ServerError",
    "Settings",
    "Skipped",
    "Store",
    "Timeout",
    "Usage",
    "UsageError",
    "__version__",
    "build",
    "estimate",
    "estimate_prompt_tokens",
    "extract",
    "file_prompt",
    "function_prompt",
    "generate",
    "load_settings",
    "module_prompt",
    "open_store",
    "parse_prose",
    "run_generation",
    "select_nodes",
]
