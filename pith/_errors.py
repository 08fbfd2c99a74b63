"""pith's own errors: what went wrong, said so that the command line can map it to an exit."""

from __future__ import annotations

__all__ = ["ConfigError", "NotFoundError", "PithError", "StoreWriteError", "UsageError"]


class PithError(Exception):
    """Base class of every error pith raises on purpose. Its message is one line for a person."""


class UsageError(PithError):
    """The user asked for something that cannot be done as asked (exit 2): a bad value, a missing
    prerequisite such as no extraction yet."""


class ConfigError(UsageError):
    """The configuration is incomplete or invalid (exit 2): no API key, a bad URL."""


class NotFoundError(PithError):
    """A named thing (a node id) does not exist (exit 1); ``suggestions``: the closest names."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions = suggestions or []


class StoreWriteError(PithError):
    """The store cannot be written (read-only, disk full): a run that would pay for replies it
    cannot keep stops before its first call, or at its first failed commit (exit 1)."""
