"""The generator: selection, the two-phase engine under one FIFO limiter, adaptive admission,
leases shared between runs, prompt building, reply parsing, the report and the cost estimate.

Names are imported on first use (PEP 562): `pith status` reads the leases without loading Trio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from ._adaptive import AdaptiveConcurrency, ConcurrencyChange
    from ._engine import Generation, generate
    from ._limiter import FifoCapacityLimiter, FifoCapacityLimiterStatistics
    from ._report import GenerationReport, NodeError, NodeResult, Outcome, ProgressUpdate
    from ._selection import NodeList, Selection, select_nodes

_LAZY: dict[str, str] = {
    "AdaptiveConcurrency": "._adaptive",
    "ConcurrencyChange": "._adaptive",
    "FifoCapacityLimiter": "._limiter",
    "FifoCapacityLimiterStatistics": "._limiter",
    "Generation": "._engine",
    "GenerationReport": "._report",
    "NodeError": "._report",
    "NodeList": "._selection",
    "NodeResult": "._report",
    "Outcome": "._report",
    "ProgressUpdate": "._report",
    "Selection": "._selection",
    "generate": "._engine",
    "select_nodes": "._selection",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "AdaptiveConcurrency",
    "ConcurrencyChange",
    "FifoCapacityLimiter",
    "FifoCapacityLimiterStatistics",
    "Generation",
    "GenerationReport",
    "NodeError",
    "NodeList",
    "NodeResult",
    "Outcome",
    "ProgressUpdate",
    "Selection",
    "generate",
    "select_nodes",
]
