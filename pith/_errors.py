"""pith's own errors: what went wrong, said so that the command line can map it to an exit."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "NotFoundError",
    "PithError",
    "StoreWriteError",
    "UsageError",
    "release_frames",
]


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


def release_frames(exc: BaseException) -> None:
    """Clear the locals of the finished frames that ``exc`` and its chained errors were raised
    through, for an error that is handled and will not be raised again.

    Those frames hold what the failed call read (a reply body of megabytes), and the retry
    state that holds the error itself: a cycle that only the garbage collector frees, so until
    it runs, memory grows with every failure.
    """
    import traceback  # on a failure only: read commands start without it

    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)  # skips the frame still running: this one
        pending += [error.__context__, error.__cause__]
