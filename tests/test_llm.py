"""The LLM client: request shape, retries, errors, re-asks and usage (in memory, mock clock)."""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from fakellm import FakeLLM

from pith import ConfigError, Settings
from pith._generate._adaptive import AdaptiveConcurrency
from pith._llm import (
    AuthError,
    BadRequestError,
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
    Usage,
)
from pith._llm._http import retry_after_seconds

KEY = "sk-or-v1-0123456789abcdef-SECRET"
BASE = "https://llm.example/api/v1"
NODE = "pkg/mod.py"
MESSAGES = [
    {"role": "system", "content": "Reply in JSON."},
    {"role": "user", "content": f"Node id: {NODE}\nDescribe it."},
]


def parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidReplyError("the reply is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidReplyError("the reply is not a JSON object")
    return value


def make_client(fake: FakeLLM | Callable[[httpx.Request], Any], **kwargs: Any) -> LLMClient:
    transport = (
        fake.transport() if isinstance(fake, FakeLLM) else httpx.MockTransport(fake)  # type: ignore[arg-type]
    )
    options: dict[str, Any] = {"base_url": BASE, "model": "test/model", "api_key": KEY}
    options.update(kwargs)
    return LLMClient(transport=transport, **options)


def gaps(fake: FakeLLM) -> list[float]:
    """Seconds between the starts of consecutive calls."""
    starts = [call.start for call in fake.calls]
    return [round(b - a, 6) for a, b in itertools.pairwise(starts)]


@pytest.fixture
def fake() -> FakeLLM:
    return FakeLLM()


# --- the request ---------------------------------------------------------------------------------


async def test_posts_chat_completion_with_json_mode_and_headers(fake: FakeLLM) -> None:
    async with make_client(fake, temperature=0.2, max_tokens=900) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.value["summary"] == f"Summary of {NODE}."
    assert result.attempts == 1
    [call] = fake.calls
    assert call.body["model"] == "test/model"
    assert call.messages == MESSAGES
    assert call.body["temperature"] == 0.2
    assert call.body["max_tokens"] == 900
    assert call.body["response_format"] == {"type": "json_object"}
    assert "usage" not in call.body  # only OpenRouter is asked for the cost
    assert call.headers["authorization"] == f"Bearer {KEY}"
    assert call.headers["x-title"] == "pith"
    assert call.headers["http-referer"].startswith("https://")


async def test_no_key_means_no_authorization_header(fake: FakeLLM) -> None:
    async with make_client(fake, api_key=None, base_url="http://127.0.0.1:11434/v1") as client:
        await client.complete(MESSAGES, parse_json)
    assert "authorization" not in fake.calls[0].headers


async def test_cookies_a_provider_sets_are_not_sent_back(fake: FakeLLM) -> None:
    sent: list[str | None] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        reply = await fake.handler(request)
        reply.headers["set-cookie"] = "__cf_bm=abc; Path=/; Secure"
        return reply

    async with make_client(handler) as client:
        await client.complete(MESSAGES, parse_json)
        await client.complete(MESSAGES, parse_json)
    assert sent == [None, None]


async def test_openrouter_is_asked_for_the_cost() -> None:
    fake = FakeLLM(cost=0.0012)
    async with make_client(fake, base_url="https://openrouter.ai/api/v1") as client:
        result = await client.complete(MESSAGES, parse_json)
    assert fake.calls[0].body["usage"] == {"include": True}
    assert result.usage.cost == pytest.approx(0.0012)


def test_base_url_is_redacted_and_repr_has_no_key() -> None:
    client = LLMClient(base_url="https://user:pw@llm.example/v1/?token=t", model="m", api_key=KEY)
    assert client.base_url == "https://llm.example/v1"
    assert KEY not in repr(client)
    assert "pw" not in repr(client)


def test_from_settings_sizes_the_pool_to_the_concurrency(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, base_url="http://localhost:8080/v1", model="local", concurrency=17
    )
    client = LLMClient.from_settings(settings)
    pool = client._http.clients[0]._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections >= 17
    assert client.model == "local"


def test_from_settings_without_a_key_for_a_remote_endpoint_is_a_config_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="PITH_API_KEY"):
        LLMClient.from_settings(Settings(data_dir=tmp_path))


# --- retries -------------------------------------------------------------------------------------


async def test_429_without_retry_after_backs_off_exponentially(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_status=429, fail_times=2)
    async with make_client(fake, backoff_jitter=0) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.attempts == 3
    assert [call.status for call in fake.calls] == [429, 429, 200]
    assert gaps(fake) == [1.0, 2.0]


async def test_backoff_is_capped(fake: FakeLLM, autojump_clock: trio.testing.MockClock) -> None:
    fake.script(NODE, fail_status=503, fail_times=4)
    async with make_client(
        fake, attempts=5, backoff_initial=4, backoff_max=10, backoff_jitter=0
    ) as client:
        await client.complete(MESSAGES, parse_json)
    assert gaps(fake) == [4.0, 8.0, 10.0, 10.0]


async def test_backoff_jitter_stays_within_its_bound(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_status=500, fail_times=2)
    async with make_client(fake, backoff_initial=1, backoff_jitter=0.5) as client:
        await client.complete(MESSAGES, parse_json)
    first, second = gaps(fake)
    assert 1.0 <= first <= 1.5
    assert 2.0 <= second <= 2.5


@pytest.mark.parametrize(
    ("header", "value", "expected_gap"),
    [
        ("Retry-After", "7", 7.0),
        ("Retry-After", "2.5", 2.5),
        ("retry-after-ms", "1500", 1.5),
        ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past
        ("Retry-After", "soon", 1.0),  # unreadable: the normal backoff
    ],
)
async def test_retry_after_is_honoured_and_capped(
    fake: FakeLLM,
    autojump_clock: trio.testing.MockClock,
    header: str,
    value: str,
    expected_gap: float,
) -> None:
    fake.script(NODE, fail_status=429, fail_times=1, fail_headers={header: value})
    async with make_client(fake, backoff_jitter=0) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.attempts == 2
    assert gaps(fake) == [expected_gap]


@pytest.mark.parametrize("value", ["3600", "Fri, 01 Jan 2100 00:00:00 GMT"])
async def test_a_retry_after_beyond_the_cap_is_reported_not_waited(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock, value: str
) -> None:
    fake.script(NODE, fail_status=429, fail_times=1, fail_headers={"Retry-After": value})
    async with make_client(fake, backoff_jitter=0) as client:
        with pytest.raises(RetryLaterError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert caught.value.run_wide
    assert "more than the 60 s pith waits" in str(caught.value)
    assert len(fake.calls) == 1


async def test_retry_after_http_date_in_the_near_future(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    fake.script(
        NODE,
        fail_status=503,
        fail_times=1,
        fail_headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)},
    )
    async with make_client(fake, backoff_jitter=0) as client:
        await client.complete(MESSAGES, parse_json)
    [gap] = gaps(fake)
    assert 18.0 <= gap <= 20.0  # the header has whole seconds; the wall clock moved a little


def test_retry_after_parsing() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(httpx.Headers({"Retry-After": "12"}), now=now) == 12.0
    date = "Wed, 01 May 2024 12:00:30 GMT"
    assert retry_after_seconds(httpx.Headers({"Retry-After": date}), now=now) == 30.0
    assert retry_after_seconds(httpx.Headers({"Retry-After": "-5"}), now=now) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "nan"}), now=now) is None
    assert retry_after_seconds(httpx.Headers({}), now=now) is None


async def test_503_until_attempts_run_out_raises_server_error(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_status=503, fail_times=99, fail_message="upstream overloaded")
    async with make_client(fake) as client:
        with pytest.raises(ServerError) as caught:
            await client.complete(MESSAGES, parse_json)
    error = caught.value
    assert (error.status, error.attempts, error.kind) == (503, 3, "server")
    assert error.provider_message == "upstream overloaded"
    assert not error.run_wide
    assert len(fake.calls) == 3
    assert "3 attempts" in str(error)


async def test_429_is_waited_out_until_the_patience_runs_out(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_status=429, fail_times=99)
    admission = AdaptiveConcurrency(patience=100.0)
    async with make_client(fake, attempts=2) as client:
        started = trio.current_time()
        with pytest.raises(RateLimitedError) as caught:
            await client.complete(MESSAGES, parse_json, admission=admission)
    # Pauses of 1, 2, 4, 8, 16, then 30 s, none of them a spent attempt; the refusal at
    # t = 121 s is the first past the 100 s of patience.
    assert trio.current_time() - started == pytest.approx(121)
    assert (caught.value.attempts, caught.value.kind) == (9, "rate_limit")
    assert len(fake.calls) == admission.refusals == 9


@pytest.mark.parametrize(
    "exception", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.WriteTimeout, httpx.PoolTimeout]
)
async def test_httpx_timeouts_are_retried(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock, exception: type[httpx.TransportError]
) -> None:
    fake.script(NODE, fail_exception=exception, fail_times=1)
    async with make_client(fake) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.attempts == 2


async def test_read_timeout_every_time_raises_timeout(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_exception=httpx.ReadTimeout, fail_times=99)
    async with make_client(fake) as client:
        with pytest.raises(LLMTimeoutError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert (caught.value.attempts, caught.value.kind, caught.value.status) == (3, "timeout", None)


async def test_each_attempt_has_a_total_deadline(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, latency=1000.0)
    async with make_client(
        fake, timeout=50.0, connect_timeout=5.0, attempts=2, backoff_jitter=0
    ) as client:
        start = trio.current_time()
        with pytest.raises(LLMTimeoutError, match="within 55 s"):
            await client.complete(MESSAGES, parse_json)
    # two attempts of 55 s each, one backoff of 1 s between them
    assert trio.current_time() - start == pytest.approx(111.0)
    assert len(fake.calls) == 2


@pytest.mark.parametrize(
    "exception", [httpx.ReadError, httpx.ConnectError, httpx.RemoteProtocolError]
)
async def test_connection_failures_are_retried(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock, exception: type[httpx.TransportError]
) -> None:
    fake.script(NODE, fail_exception=exception, fail_times=2)
    async with make_client(fake) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.attempts == 3


async def test_connection_reset_every_time_raises_connection_failed(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_exception=httpx.ReadError, fail_times=99)
    async with make_client(fake) as client:
        with pytest.raises(LLMConnectionError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert (caught.value.attempts, caught.value.kind) == (3, "network")


@pytest.mark.parametrize(
    ("status", "error_class", "kind", "run_wide"),
    [
        (400, BadRequestError, "bad_request", False),
        (401, AuthError, "auth", True),
        (402, QuotaExceededError, "quota", True),
        (403, AuthError, "auth", True),
        (404, ModelNotFoundError, "model_not_found", True),
        (409, BadRequestError, "bad_request", False),
        (422, BadRequestError, "bad_request", False),
    ],
)
async def test_client_errors_are_never_retried(
    fake: FakeLLM,
    autojump_clock: trio.testing.MockClock,
    status: int,
    error_class: type[LLMError],
    kind: str,
    run_wide: bool,
) -> None:
    fake.script(NODE, fail_status=status, fail_times=99, fail_headers={"Retry-After": "1"})
    async with make_client(fake) as client:
        with pytest.raises(error_class) as caught:
            await client.complete(MESSAGES, parse_json)
    error = caught.value
    assert type(error) is error_class
    assert (error.status, error.attempts, error.kind, error.run_wide) == (
        status,
        1,
        kind,
        run_wide,
    )
    assert len(fake.calls) == 1


async def test_openai_insufficient_quota_429_is_not_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"message": "You exceeded your current quota", "type": "insufficient_quota"}
        return httpx.Response(429, json={"error": {**error, "code": "insufficient_quota"}})

    async with make_client(handler) as client:
        with pytest.raises(QuotaExceededError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert caught.value.attempts == 1
    assert caught.value.provider_message == "You exceeded your current quota"


async def test_error_inside_a_200_body_is_classified(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json={"error": {"code": 502, "message": "provider down"}})

    async with make_client(handler) as client:
        with pytest.raises(ServerError, match="provider down"):
            await client.complete(MESSAGES, parse_json)
    assert calls == 3


async def test_provider_message_is_trimmed_to_one_bounded_line() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text="bad\n\n  request " + "x" * 1000)

    async with make_client(handler) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.complete(MESSAGES, parse_json)
    message = caught.value.provider_message
    assert message.startswith("bad request xxx")
    assert len(message) <= 300
    assert "\n" not in str(caught.value)


# --- the key never leaks -------------------------------------------------------------------------


async def test_a_key_echoed_by_the_provider_is_not_in_the_error() -> None:
    fake = FakeLLM(api_key="the-right-key")  # the 401 echoes the Authorization header sent
    async with make_client(fake) as client:
        with pytest.raises(AuthError) as caught:
            await client.complete(MESSAGES, parse_json)
    error = caught.value
    assert "Incorrect API key provided" in error.provider_message
    for text in (str(error), repr(error), error.provider_message, str(error.args)):
        assert KEY not in text
    assert "PITH_API_KEY" in str(error)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422, 429, 500, 503])
async def test_the_key_is_in_no_error_message_or_repr(
    autojump_clock: trio.testing.MockClock, status: int
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"]
        return httpx.Response(status, json={"error": {"message": f"bad: {sent}"}})

    async with make_client(handler) as client:
        with pytest.raises(LLMError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)
    assert KEY not in caught.value.provider_message


async def test_transport_errors_do_not_carry_the_key(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_exception=httpx.ConnectError, fail_times=99)
    async with make_client(fake) as client:
        with pytest.raises(LLMConnectionError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


# --- re-asks and usage ---------------------------------------------------------------------------


async def test_invalid_reply_is_asked_again_with_a_correction(fake: FakeLLM) -> None:
    fake.script(NODE, invalid_times=1, invalid_content="Here you go: not json")
    async with make_client(fake) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.attempts == 2
    assert result.value["summary"] == f"Summary of {NODE}."
    first, second = fake.calls
    assert first.messages == MESSAGES
    assert second.messages[:2] == MESSAGES
    assert second.messages[2] == {"role": "assistant", "content": "Here you go: not json"}
    assert second.messages[3]["role"] == "user"
    assert "the reply is not JSON" in second.messages[3]["content"]
    reply = json.dumps(
        {"summary": f"Summary of {NODE}.", "purpose": f"Purpose of {NODE}.", "gotchas": []}
    )
    assert result.usage == Usage(
        prompt_tokens=_chars(first.messages) // 4 + _chars(second.messages) // 4,
        completion_tokens=len("Here you go: not json") // 4 + len(reply) // 4,
    )


def _chars(messages: list[dict[str, Any]]) -> int:
    return sum(len(message["content"]) for message in messages)


async def test_invalid_replies_give_up_after_the_reasks(fake: FakeLLM) -> None:
    fake = FakeLLM(cost=0.5)
    fake.script(NODE, invalid_times=99)
    async with make_client(fake, reasks=2) as client:
        with pytest.raises(InvalidReplyError) as caught:
            await client.complete(MESSAGES, parse_json)
    error = caught.value
    assert error.attempts == 3
    assert len(fake.calls) == 3
    assert error.usage.cost == pytest.approx(1.5)
    assert error.usage.completion_tokens > 0
    assert error.kind == "invalid_reply"


async def test_attempts_count_retries_and_reasks_together(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake.script(NODE, fail_status=503, fail_times=2, invalid_times=1)
    async with make_client(fake) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.attempts == 4
    assert [call.status for call in fake.calls] == [503, 503, 200, 200]


async def test_failure_after_a_reask_reports_all_attempts_and_usage(
    autojump_clock: trio.testing.MockClock,
) -> None:
    replies = iter(
        [httpx.Response(200, json=_completion("nope", prompt=10, completion=5))]
        + [httpx.Response(500, json={"error": {"message": "boom"}})] * 3
    )
    async with make_client(lambda request: next(replies)) as client:
        with pytest.raises(ServerError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert caught.value.attempts == 4
    assert caught.value.usage == Usage(prompt_tokens=10, completion_tokens=5)


@pytest.mark.parametrize(
    "payload",
    [
        {"choices": []},
        {"choices": [{"message": {"content": None}}]},
        {"choices": [{"message": {"content": "   "}}]},
        {"object": "chat.completion"},
    ],
)
async def test_a_reply_without_content_is_asked_again(payload: dict[str, Any]) -> None:
    replies = iter([httpx.Response(200, json=payload), httpx.Response(200, json=_completion("{}"))])
    async with make_client(lambda request: next(replies)) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.value == {}
    assert result.attempts == 2


async def test_a_200_that_is_not_json_is_an_invalid_reply() -> None:
    async with make_client(lambda request: httpx.Response(200, text="<html>"), reasks=0) as client:
        with pytest.raises(InvalidReplyError) as caught:
            await client.complete(MESSAGES, parse_json)
    assert caught.value.attempts == 1


async def test_usage_sums_over_reasks_and_ignores_nonsense() -> None:
    replies = iter(
        [
            httpx.Response(200, json=_completion("[1]", prompt=100, completion=20, cost=0.25)),
            httpx.Response(200, json=_completion('{"a": 1}', prompt=120, completion="x")),
        ]
    )
    async with make_client(lambda request: next(replies)) as client:
        result = await client.complete(MESSAGES, parse_json)
    assert result.usage == Usage(prompt_tokens=220, completion_tokens=20, cost=0.25)


def test_usage_addition() -> None:
    assert Usage(1, 2) + Usage(3, 4) == Usage(4, 6, None)
    assert Usage(1, 2, None) + Usage(0, 0, 0.5) == Usage(1, 2, 0.5)
    assert Usage(0, 0, 0.5) + Usage(0, 0, None) == Usage(0, 0, 0.5)
    assert Usage(0, 0, 0.5) + Usage(0, 0, 0.25) == Usage(0, 0, 0.75)
    assert Usage(3, 4).total_tokens == 7


def test_invalid_client_options_are_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        LLMClient(base_url=BASE, model="m", attempts=0)
    with pytest.raises(ValueError, match="reasks"):
        LLMClient(base_url=BASE, model="m", reasks=-1)


async def test_calls_run_concurrently(
    fake: FakeLLM, autojump_clock: trio.testing.MockClock
) -> None:
    fake = FakeLLM(latency=5.0)
    async with make_client(fake, max_connections=4) as client, trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(client.complete, MESSAGES, parse_json)
    assert fake.max_in_flight == 4


def _completion(
    content: str, *, prompt: Any = 0, completion: Any = 0, cost: float | None = None
) -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cost is not None:
        usage["cost"] = cost
    return {"choices": [{"message": {"role": "assistant", "content": content}}], "usage": usage}


async def test_cancelling_a_call_is_not_retried(autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeLLM(latency=100.0)
    async with make_client(fake) as client:
        with trio.move_on_after(5) as scope:
            await client.complete(MESSAGES, parse_json)
        # still usable after a cancelled call
        fake.latency = 0.0
        result = await client.complete(MESSAGES, parse_json)
    assert scope.cancelled_caught
    assert result.attempts == 1
    assert len(fake.calls) == 2
