"""Replies -> Prose: fenced, chatty, truncated, malformed, wrongly typed; gotcha confidence."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pith._generate._prose import _NUMBER, parse_prose
from pith._llm import InvalidReplyError
from pith._models import (
    ClassFacts,
    FileFacts,
    FunctionFacts,
    Gotcha,
    ImportFact,
    KeyStatement,
    Node,
    NodeType,
)

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
NODE = Node(
    id="pkg/client.py",
    type=NodeType.FILE,
    path="pkg/client.py",
    name="client.py",
    source_hash="hash-123",
)
FACTS = FileFacts(
    path="pkg/client.py",
    content_hash="abc",
    lines=120,
    docstring="A small HTTP client.",
    imports=(
        ImportFact(module="httpx", line=3),
        ImportFact(module="pkg.retry", names=("backoff",), line=4, resolved="pkg/retry.py"),
    ),
    functions=(
        FunctionFacts(
            name="fetch",
            qualname="fetch",
            signature="(url: str, *, timeout: float = 30.0) -> bytes",
            start_line=10,
            end_line=30,
            snippet="def fetch(url, *, timeout=30.0):\n    return _send(url, retries=MAX_RETRIES)",
        ),
    ),
    classes=(
        ClassFacts(
            name="Client",
            qualname="Client",
            bases=("Base",),
            start_line=40,
            end_line=110,
            methods=(
                FunctionFacts(
                    name="send",
                    qualname="Client.send",
                    signature="(self, request)",
                    start_line=50,
                    end_line=80,
                    snippet="def send(self, request):\n    self.session.post(request)",
                ),
            ),
        ),
    ),
    key_statements=(
        KeyStatement(line=7, kind="constant", text="MAX_RETRIES = 5"),
        KeyStatement(line=8, kind="timeout", text="DEFAULT_TIMEOUT = 30.0"),
    ),
    exports=("fetch", "Client"),
)


def reply(**fields: Any) -> str:
    return json.dumps({"summary": "Fetches URLs.", "purpose": "Talks HTTP for pkg.", **fields})


def parse(text: str, **kwargs: Any) -> Any:
    return parse_prose(text, node=NODE, model="test/model", now=NOW, **kwargs)


# --- where the JSON is ---------------------------------------------------------------------------


def test_bare_json_becomes_prose_with_provenance() -> None:
    prose = parse(reply(key_exports=["fetch", "Client"], patterns=["async only"]))
    assert prose.summary == "Fetches URLs."
    assert prose.purpose == "Talks HTTP for pkg."
    assert prose.key_exports == ("fetch", "Client")
    assert prose.patterns == ("async only",)
    assert prose.generated_at == NOW
    assert prose.model == "test/model"
    assert prose.source_hash == "hash-123"


def test_generated_at_defaults_to_now_in_utc() -> None:
    before = dt.datetime.now(dt.UTC)
    prose = parse_prose(reply(), node=NODE, model="m")
    assert prose.generated_at is not None
    assert prose.generated_at.tzinfo is not None
    assert before <= prose.generated_at <= dt.datetime.now(dt.UTC)


def test_fenced_json_with_chatter() -> None:
    text = f"Sure! Here is the documentation:\n\n```json\n{reply()}\n```\n\nLet me know."
    assert parse(text).summary == "Fetches URLs."


def test_unlabelled_fence() -> None:
    assert parse(f"```\n{reply()}\n```").purpose == "Talks HTTP for pkg."


def test_chatter_around_bare_json() -> None:
    text = f"Here you go: {reply()} Hope this helps! {{not json}}"
    assert parse(text).summary == "Fetches URLs."


def test_a_stray_brace_before_the_object_is_skipped() -> None:
    text = "Format is {summary, purpose}: " + reply()
    assert parse(text).summary == "Fetches URLs."


def test_a_wrapped_object_is_unwrapped() -> None:
    assert parse(json.dumps({"prose": json.loads(reply())})).summary == "Fetches URLs."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"summary": "Fetches URLs.", "purpose": "Talks HT', "cut off"),
        ('```json\n{"summary": "x",\n```', "cut off"),
        ("I cannot help with that.", "no JSON object"),
        ("", "no JSON object"),
        ("[1, 2, 3]", "no JSON object"),
        ('"just a string"', "no JSON object"),
        ('{"purpose": "p"}', '"summary"'),
        ('{"summary": "", "purpose": "p"}', '"summary"'),
        ('{"summary": "   ", "purpose": "p"}', '"summary"'),
        ('{"summary": 42, "purpose": "p"}', '"summary"'),
        ('{"summary": "s"}', '"purpose"'),
        ('{"summary": "s", "purpose": ["p"]}', '"purpose"'),
    ],
)
def test_invalid_replies_raise_invalid_reply(text: str, message: str) -> None:
    with pytest.raises(InvalidReplyError, match=message):
        parse(text)


# --- lenient about the optional ------------------------------------------------------------------


def test_unknown_fields_are_ignored() -> None:
    prose = parse(reply(mood="cheerful", confidence=0.9, generated_at="yesterday", model="evil"))
    assert prose.model == "test/model"
    assert prose.generated_at == NOW


def test_wrongly_typed_optional_fields_are_dropped() -> None:
    prose = parse(
        reply(
            gotchas="none",
            key_exports="fetch",
            patterns={"a": 1},
            key_files=None,
            public_api=[1, 2],
            quick_start=["step 1", "step 2"],
            data_flow=5,
        )
    )
    assert prose.gotchas == ()
    assert prose.key_exports == ()
    assert prose.patterns == ()
    assert prose.key_files == ()
    assert prose.public_api == ()
    assert prose.quick_start is None
    assert prose.data_flow is None


def test_wrongly_typed_list_items_are_dropped_and_strings_stripped() -> None:
    prose = parse(reply(key_exports=["fetch ", 3, None, "", {"x": 1}, "Client"]))
    assert prose.key_exports == ("fetch", "Client")


def test_module_fields() -> None:
    prose = parse(
        reply(
            key_files=["pkg/a.py"],
            public_api=["run"],
            quick_start="from pkg import run\nrun()",
            data_flow="a -> b",
        )
    )
    assert prose.key_files == ("pkg/a.py",)
    assert prose.public_api == ("run",)
    assert prose.quick_start == "from pkg import run\nrun()"
    assert prose.data_flow == "a -> b"


def test_gotcha_items_are_cleaned() -> None:
    prose = parse(
        reply(
            gotchas=[
                "A plain string warning",
                {"warning": 5},
                {"location": "line 3"},
                {"warning": "LLMTimeoutError is fixed", "location": 8, "evidence": 30.0},
                {"warning": "Odd", "location": ["x"], "evidence": {"y": 1}},
                7,
                None,
            ]
        )
    )
    assert [(g.warning, g.location, g.evidence) for g in prose.gotchas] == [
        ("A plain string warning", "", ""),
        ("LLMTimeoutError is fixed", "line 8", "30.0"),
        ("Odd", "", ""),
    ]


# --- gotcha confidence ---------------------------------------------------------------------------


def confidence_of(**gotcha: Any) -> str:
    prose = parse(reply(gotchas=[gotcha]), facts=FACTS)
    [checked] = prose.gotchas
    assert isinstance(checked, Gotcha)
    return checked.confidence


@pytest.mark.parametrize(
    ("gotcha", "expected"),
    [
        # the evidence is a line of the source, verbatim
        (
            {"warning": "Retries are fixed", "location": "line 7", "evidence": "MAX_RETRIES = 5"},
            "high",
        ),
        # verbatim evidence outweighs a name the facts do not have
        (
            {
                "warning": "`fetch` never passes `proxy_config`",
                "evidence": "return _send(url, retries=MAX_RETRIES)",
            },
            "high",
        ),
        # every name cited exists
        ({"warning": "`Client.send` posts via `self.session`", "location": "Client.send"}, "high"),
        (
            {"warning": "fetch() retries 5 times", "location": "fetch", "evidence": "MAX_RETRIES"},
            "high",
        ),
        ({"warning": "Default timeout is 30.0 s", "location": "DEFAULT_TIMEOUT"}, "high"),
        # some names exist, some do not
        ({"warning": "`fetch` ignores `proxy_settings`", "location": "fetch"}, "medium"),
        # only a line number, inside the file
        ({"warning": "Be careful here", "location": "line 12"}, "medium"),
        # names that are nowhere in the facts
        ({"warning": "`frobnicate_widget` leaks", "evidence": "WidgetPool.drain()"}, "low"),
        # a line past the end of the file
        ({"warning": "`fetch` is slow", "location": "line 999", "evidence": "fetch"}, "low"),
        ({"warning": "See lines 100-400", "evidence": "MAX_RETRIES"}, "low"),
        # nothing that can be checked
        ({"warning": "This code could be cleaner.", "location": "", "evidence": ""}, "low"),
        # e.g. is not a name; the number 7 is not in the code
        ({"warning": "Waits 7 s, e.g. on startup", "location": "fetch"}, "medium"),
    ],
)
def test_gotcha_confidence_from_the_facts(gotcha: dict[str, str], expected: str) -> None:
    assert confidence_of(**gotcha) == expected


def test_a_gotcha_may_cite_the_code_the_prompt_quoted() -> None:
    gotcha = {
        "warning": "Sleeps before every retry",
        "location": "fetch",
        "evidence": "await trio.sleep(backoff_seconds * 7)",
    }
    body = "    for attempt in range(3):\n        await trio.sleep(backoff_seconds * 7)"
    assert parse(reply(gotchas=[gotcha]), facts=FACTS).gotchas[0].confidence != "high"
    assert parse(reply(gotchas=[gotcha]), facts=FACTS, code=body).gotchas[0].confidence == "high"
    # Its names and numbers, cited without quoting it (read from it only when cited).
    cited = {"warning": "Waits `backoff_seconds` times 7 per attempt", "location": "fetch"}
    assert parse(reply(gotchas=[cited]), facts=FACTS).gotchas[0].confidence != "high"
    assert parse(reply(gotchas=[cited]), facts=FACTS, code=body).gotchas[0].confidence == "high"


def test_confidence_ignores_what_the_model_claims() -> None:
    prose = parse(reply(gotchas=[{"warning": "Vague", "confidence": "high"}]), facts=FACTS)
    assert prose.gotchas[0].confidence == "low"


def test_without_facts_confidence_stays_medium() -> None:
    prose = parse(reply(gotchas=[{"warning": "`nothing_known` here"}]))
    assert prose.gotchas[0].confidence == "medium"


# --- never crash on anything ---------------------------------------------------------------------

_SCALAR = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
)
_GOTCHA_KEYS = st.sampled_from(["warning", "location", "evidence", "confidence", "x"])
_VALUE = st.one_of(
    _SCALAR,
    st.lists(_SCALAR, max_size=3),
    st.lists(st.dictionaries(_GOTCHA_KEYS, _SCALAR, max_size=4), max_size=3),
)
_FIELD_NAMES = st.sampled_from(
    ["gotchas", "key_exports", "patterns", "key_files", "public_api", "quick_start", "data_flow"]
)


@settings(max_examples=60)
@given(st.dictionaries(_FIELD_NAMES, _VALUE, max_size=7))
def test_any_optional_values_parse_or_are_dropped(extra: dict[str, Any]) -> None:
    prose = parse(reply(**extra), facts=FACTS)
    assert prose.summary == "Fetches URLs."
    assert all(g.confidence in {"high", "medium", "low"} for g in prose.gotchas)


@settings(max_examples=60)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_invalid_reply(text: str) -> None:
    with contextlib.suppress(InvalidReplyError):
        parse(text, facts=FACTS)


# The numbers a gotcha may cite are found as the plain rule finds them: digits not inside a name
# or a dotted run (the pattern looks behind after its first digit, for speed).
_PLAIN_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="a_1.2 9(\n-x٣", max_size=30))
def test_numbers_are_found_as_the_plain_rule_finds_them(text: str) -> None:
    assert _NUMBER.findall(text) == _PLAIN_NUMBER.findall(text)
