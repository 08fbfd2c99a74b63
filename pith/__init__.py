"""pith: turn a Python codebase into a wiki that LLM coding agents can read.

The public library API. Everything not named in ``__all__`` is private and may change.
"""

from importlib.metadata import PackageNotFoundError, version

from ._build import BuildConfig, BuildSummary, build
from ._config import Settings, load_settings
from ._errors import ConfigError, NotFoundError, PithError, UsageError
from ._estimate import Estimate, estimate
from ._extract import ExtractSummary, Skipped, extract
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
from ._limiter import FifoCapacityLimiter, FifoCapacityLimiterStatistics
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
from ._prose import parse_prose
from ._store import Store, open_store

try:
    __version__ = version("pith")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

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
