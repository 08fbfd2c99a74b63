"""A streamed answer (`LLMClient.stream`, behind `pith ask --answer`): text passed on as it
arrives, the key taken out across pieces, retried only while nothing was shown (in memory,
mock clock; end to end through the CLI in test_ask.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from fakellm import FakeLLM

from pith._llm import InvalidReplyError, LLMClient, ReplyCutError, ServerError
from pith._llm._stream import EventReader, RedactingEmitter, read_event

KEY = "sk-or-v1-0123456789abcdef-SECRET"
MESSAGES = [{"role": "user", "content": "Question: where are redirects followed?"}]
EVENTS = {"content-type": "text/event-stream"}


def event(text: str) -> bytes:
    return f"data: {json.dumps({'choices': [{'delta': {'content': text}}]})}\n\n".encode()


USAGE = b'data: {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5}}\n\n'
DONE = b"data: [DONE]\n\n"


def client_for(handler: Callable[[httpx.Request], Any], **options: Any) -> LLMClient:
    options = {"api_key": KEY, "backoff_jitter": 0.0} | options
    return LLMClient(
        base_url="https://llm.example/v1",
        model="test/model",
        transport=httpx.MockTransport(handler),
        **options,
    )


async def test_text_is_passed_on_as_it_arrives(autojump_clock: trio.testing.MockClock) -> None:
    """The second piece is sent only once the first was shown: a client that waited for the
    whole reply would never see it (and the test fails on its deadline, not by hanging)."""
    first_shown = trio.Event()
    bodies: list[dict[str, Any]] = []

    async def body() -> AsyncIterator[bytes]:
        yield b": OPENROUTER PROCESSING\n\n" + event("Redirects are followed in ")
        await first_shown.wait()
        yield event("`_client.py:1004`.") + USAGE + DONE

    async def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.headers["accept-encoding"] == "identity"
        return httpx.Response(200, headers=EVENTS, content=body())

    shown: list[str] = []

    def on_text(text: str) -> None:
        shown.append(text)
        first_shown.set()

    async with client_for(handler, api_key=None) as client:
        with trio.fail_after(60):
            completion = await client.stream(MESSAGES, on_text)
    assert shown == ["Redirects are followed in ", "`_client.py:1004`."]
    assert completion.value == "Redirects are followed in `_client.py:1004`."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 5)
    assert completion.attempts == 1
    # A free-text answer: streamed, and not forced into JSON as prose replies are.
    assert bodies[0]["stream"] is True
    assert "response_format" not in bodies[0]


async def test_the_key_is_taken_out_even_split_between_pieces(
    autojump_clock: trio.testing.MockClock,
) -> None:
    text = f"The header holds Bearer {KEY} and then {KEY[::-1]} reversed. " * 3 + "Done."
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers=EVENTS, content=b"".join(map(event, pieces)) + USAGE + DONE
        )

    shown: list[str] = []
    async with client_for(handler) as client:
        completion = await client.stream(MESSAGES, shown.append)
    seen = "".join(shown)
    assert seen == completion.value
    assert seen.endswith("Done.")
    assert seen.count("[redacted]") == 6
    for start in range(len(KEY) - 8):
        assert KEY[start : start + 8] not in seen
        assert KEY[::-1][start : start + 8] not in seen
    assert len(shown) > 10  # still streamed, a few hundred characters behind


async def test_a_failure_before_anything_was_shown_is_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(503, json={"error": {"message": "overloaded"}})
        return httpx.Response(200, headers=EVENTS, content=event("All fine.") + DONE)

    shown: list[str] = []
    async with client_for(handler) as client:
        completion = await client.stream(MESSAGES, shown.append)
    assert (calls, completion.attempts, "".join(shown)) == (2, 2, "All fine.")


async def test_a_stream_cut_after_text_was_shown_is_not_asked_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = 0

    async def body() -> AsyncIterator[bytes]:
        yield event("The first half, ")
        raise httpx.ReadError("connection reset")

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, headers=EVENTS, content=body())

    shown: list[str] = []
    async with client_for(handler, api_key=None) as client:
        with pytest.raises(ReplyCutError) as caught:
            await client.stream(MESSAGES, shown.append)
    assert calls == 1
    assert shown == ["The first half, "]
    assert "stopped after part of it was shown" in str(caught.value)


async def test_a_providers_error_inside_the_stream_is_its_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    error = b'data: {"error": {"code": 502, "message": "upstream provider failed"}}\n\n'

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=EVENTS, content=error)

    async with client_for(handler, attempts=2) as client:
        with pytest.raises(ServerError) as caught:
            await client.stream(MESSAGES, lambda _: None)
    assert caught.value.attempts == 2
    assert "upstream provider failed" in str(caught.value)


async def test_an_endpoint_that_does_not_stream_is_read_whole(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = FakeLLM()
    plain = httpx.MockTransport(lambda request: httpx.Response(200, json=_completion("Whole.")))
    shown: list[str] = []
    async with LLMClient(base_url="http://x/v1", model="m", transport=plain) as client:
        completion = await client.stream(MESSAGES, shown.append)
    assert (shown, completion.value) == (["Whole."], "Whole.")
    # The fake streams when asked, seven characters a piece.
    async with LLMClient(base_url="http://x/v1", model="m", transport=fake.transport()) as client:
        completion = await client.stream(MESSAGES, shown.append)
    assert json.loads(completion.value)["summary"]
    assert len(shown) > 3


# A stream refused partway: httpx's nested generators under the one pith closes are finalized by
# Trio, which says so with a ResourceWarning (ignored outside tests, as Python does by default).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_empty_or_oversized_stream_is_an_invalid_reply(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=EVENTS, content=event("  ") + DONE)

    async with client_for(empty) as client:
        with pytest.raises(InvalidReplyError, match="empty"):
            await client.stream(MESSAGES, lambda _: None)

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b": padding " + b"x" * 1_000_000 + b"\n"

    async def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=EVENTS, content=endless())

    async with client_for(huge, attempts=1) as client:
        with pytest.raises(InvalidReplyError, match="over 8 MB"):
            await client.stream(MESSAGES, lambda _: None)


def test_events_in_any_pieces() -> None:
    stream = b': c\n\nevent: x\ndata: {"choices": [{"delta": {"content": "a"}}]}\r\n\r\n'
    stream += DONE
    reader = EventReader(limit=10_000)
    payloads = [p for i in range(len(stream)) for p in reader.feed(stream[i : i + 1])]
    events = [read_event(p) for p in payloads]
    assert [(e.text, e.end) for e in events if e is not None] == [("a", False), ("", True)]
    assert read_event(b"not json") is None


def test_a_key_spread_wider_than_the_holdback_still_shows_everything_once() -> None:
    """What was shown cannot be taken back; the rest still follows, once."""
    redact = lambda text: text.replace("k e y", "[redacted]")  # noqa: E731
    shown: list[str] = []
    emitter = RedactingEmitter(redact, holdback=2, emit=shown.append)
    for piece in ["abc k", " e ", "y xyz"]:
        emitter.add(piece)
    whole = emitter.finish()
    assert whole == "abc [redacted] xyz"
    assert "".join(shown).endswith("xyz")


def _completion(content: str) -> dict[str, Any]:
    return {
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
