"""A streamed chat completion: the server-sent events of a reply read as they arrive, and its
text passed on without the API key.

Guarantees:

- `EventReader` takes the body's bytes in any pieces and returns each complete ``data:`` event
  once; comments (``: keep-alive``, OpenRouter's ``: OPENROUTER PROCESSING``), ``event:`` and
  ``id:`` lines are skipped. A body over ``limit`` bytes, or a line that never ends, is refused.
- `read_event` says what one event holds: text, usage, an error, or the end (``[DONE]``).
- `RedactingEmitter` passes text on as it comes, with the key taken out: the last
  ``holdback`` characters wait until more text arrives (or the reply ends), so that a key
  split between two pieces, or written out in one of its encoded forms, is still found whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs

from ._errors import Usage
from ._http import read_usage

__all__ = ["END", "Event", "EventReader", "RedactingEmitter", "read_event"]

END = b"[DONE]"
_MAX_LINE = 1_000_000  # one event of a chat stream is a few hundred bytes


class EventReader:
    """The ``data:`` payloads of a server-sent event stream, from its bytes in any pieces."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._read = 0
        self._pending = b""
        self.refused: str | None = None

    def feed(self, chunk: bytes) -> list[bytes]:
        """The payloads completed by ``chunk``; [] and `refused` set once the body is refused."""
        if self.refused is not None:
            return []
        self._read += len(chunk)
        if self._read > self._limit:
            self.refused = f"over {self._limit // 1_000_000} MB"
            return []
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        if len(self._pending) > _MAX_LINE:
            self.refused = f"with a line over {_MAX_LINE // 1_000_000} MB"
            return []
        payloads = []
        for line in lines:
            line = line.rstrip(b"\r")
            if line.startswith(b"data:"):
                payloads.append(line[5:].strip())
        return payloads


@attrs.frozen
class Event:
    """What one event of a streamed reply holds."""

    text: str = ""
    usage: Usage | None = None
    error: dict[str, Any] | None = None  # a provider's failure reported inside the stream
    end: bool = False


def read_event(payload: bytes) -> Event | None:
    """The event ``payload`` (a ``data:`` line's value) holds; None when it is not JSON the
    chat-completions stream format knows (skipped, as an unknown event is)."""
    if payload == END:
        return Event(end=True)
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if error is not None:
        return Event(error=error if isinstance(error, dict) else {"message": str(error)})
    usage = read_usage(data["usage"]) if isinstance(data.get("usage"), dict) else None
    text = ""
    choices = data.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        delta = choices[0].get("delta") or choices[0].get("message") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        text = content if isinstance(content, str) else ""
    return Event(text=text, usage=usage)


class RedactingEmitter:
    """Text as it arrives, passed to ``emit`` through ``redact``, holding back the last
    ``holdback`` characters until `finish`."""

    def __init__(self, redact: Callable[[str], str], holdback: int, emit: Callable[[str], None]):
        self._redact = redact
        self._holdback = holdback
        self._emit = emit
        self._text = ""  # all that arrived
        self._shown = ""  # what `emit` was given so far

    def restart(self) -> None:
        """Forget what arrived but was never passed on (a failed attempt, about to be retried)."""
        if not self._shown:
            self._text = ""

    @property
    def shown(self) -> bool:
        """Was any text passed on? (Then the reply cannot be asked for again unseen.)"""
        return bool(self._shown)

    def add(self, piece: str) -> None:
        if not piece:
            return
        self._text += piece
        if self._holdback == 0:
            self._pass_on(piece)
            return
        # The whole text is redacted, not a prefix of it: a key that has fully arrived is found
        # whole, and one still arriving is in the part held back.
        redacted = self._redact(self._text)
        stable = redacted[: max(0, len(redacted) - self._holdback)]
        if stable.startswith(self._shown):
            self._pass_on(stable[len(self._shown) :])

    def finish(self) -> str:
        """Pass on the rest; the whole text, redacted."""
        whole = self._redact(self._text)
        # Were a key's pieces spread wider than ``holdback`` (whitespace between them), what was
        # shown cannot be taken back: the rest follows from where the two part.
        common = next(
            (i for i, (a, b) in enumerate(zip(self._shown, whole, strict=False)) if a != b),
            min(len(self._shown), len(whole)),
        )
        self._pass_on(whole[common:])
        return whole

    def _pass_on(self, text: str) -> None:
        if text:
            self._shown += text
            self._emit(text)
