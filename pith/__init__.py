"""pith: turn a Python codebase into a wiki that LLM coding agents can read.

The public library API. Everything not named in ``__all__`` is private and may change.
"""

from importlib.metadata import PackageNotFoundError, version

from ._config import Settings, load_settings
from ._errors import ConfigError, NotFoundError, PithError, UsageError
from ._limiter import FifoCapacityLimiter, FifoCapacityLimiterStatistics
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

try:
    __version__ = version("pith")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ClassFacts",
    "ConfigError",
    "Edge",
    "EdgeType",
    "FifoCapacityLimiter",
    "FifoCapacityLimiterStatistics",
    "FileFacts",
    "FunctionFacts",
    "GitFacts",
    "Gotcha",
    "ImportFact",
    "KeyStatement",
    "Node",
    "NodeType",
    "NotFoundError",
    "PithError",
    "Prose",
    "Readme",
    "Settings",
    "UsageError",
    "__version__",
    "load_settings",
]
