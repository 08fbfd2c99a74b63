"""What the store keeps of prose: the API key never (whole, split by whitespace, or in long
chunks), and bounded text. Through the real `pith generate` against the fake endpoint on
127.0.0.1, then the database file's bytes and `list`/`show` output are checked."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fakellm import FakeLLM
from hypothesis import given, settings
from hypothesis import strategies as st
from projects import clean_env, run_pith
from sample_project import write_project

from pith import ConfigError, LLMClient
from pith._llm._redact import (
    MAX_GOTCHAS,
    REDACTED,
    SHORT_CHARS,
    TRUNCATED,
    _redact_one,
    clean_prose,
    redact,
    secret_forms,
    secret_pattern,
)
from pith._models import Gotcha, Prose

KEY = "sk-or-v1-3f9a8c7e6d5b4a3928171605f4e3d2c1b0a99887766554433221100ffeeddcc"


def generate_with(tmp_path: Path, prose: dict[str, object]) -> dict[str, str]:
    env = clean_env() | {"PITH_DATA_DIR": str(tmp_path / "data"), "PITH_API_KEY": KEY}
    write_project(tmp_path / "project")
    assert run_pith("extract", "project", cwd=tmp_path, env=env).returncode == 0
    assert run_pith("build", cwd=tmp_path, env=env).returncode == 0
    fake = FakeLLM(api_key=KEY)
    fake.script(prose=prose)
    with fake.serve() as base_url:
        env["PITH_BASE_URL"] = base_url
        result = run_pith("generate", "-c", "2", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    return env


def database_bytes(tmp_path: Path) -> bytes:
    data = b""
    for name in ("pith.db", "pith.db-wal"):
        path = tmp_path / "data" / name
        if path.exists():
            data += path.read_bytes()
    return data


def test_the_key_quoted_by_the_provider_is_never_stored(tmp_path: Path) -> None:
    half = len(KEY) // 2
    prose = {
        "summary": f"Calls the API with Authorization: Bearer {KEY} as the header.",
        "purpose": f"Key broken over lines: {KEY[:20]}\n{KEY[20:45]}\r\n  {KEY[45:]} end.",
        "gotchas": [
            {"warning": "Spaced out: " + " ".join(KEY), "evidence": "\t".join(KEY[:30])},
            {"warning": f"Only a part of it: {KEY[10 : 10 + half]}.", "location": KEY[-12:]},
        ],
        "key_exports": [KEY.upper(), KEY[:half], "f"],
        "quick_start": f"export PITH_API_KEY='{KEY}'",
    }
    env = generate_with(tmp_path, prose)
    stored = database_bytes(tmp_path)
    assert stored  # the prose is there ...
    assert b"Calls the API with Authorization: Bearer [redacted]" in stored
    # ... and no run of 8 key characters, whitespace or not, anywhere in the file.
    dense = bytes(b for b in stored if b not in b" \t\r\n")
    for start in range(len(KEY) - 8 + 1):
        assert KEY[start : start + 8].encode() not in dense, KEY[start : start + 8]
    listing = run_pith("list", "--json", cwd=tmp_path, env=env)
    shown = run_pith("show", "app.py", "--json", cwd=tmp_path, env=env)
    for output in (listing.stdout, shown.stdout):
        assert KEY[:12] not in output
        assert KEY[-12:] not in output
    page = json.loads(shown.stdout)["prose"]
    assert page["summary"] == "Calls the API with Authorization: Bearer [redacted] as the header."
    assert page["purpose"] == "Key broken over lines: [redacted] end."
    assert page["key_exports"][2] == "f"


def test_a_huge_summary_is_stored_cut_with_a_mark_and_list_stays_small(tmp_path: Path) -> None:
    huge = "word " * 1_000_000  # 5 MB
    prose = {
        "summary": huge,
        "purpose": "p",
        "gotchas": [f"gotcha {i}" for i in range(1000)],
    }
    env = generate_with(tmp_path, prose)
    assert len(database_bytes(tmp_path)) < 3_000_000
    listing = run_pith("list", cwd=tmp_path, env=env)
    assert listing.returncode == 0
    assert len(listing.stdout) < 100 * SHORT_CHARS
    page = json.loads(run_pith("show", "app.py", "--json", cwd=tmp_path, env=env).stdout)
    assert page["prose"]["summary"].endswith(TRUNCATED)
    assert len(page["prose"]["summary"]) == SHORT_CHARS
    assert len(page["prose"]["gotchas"]) == MAX_GOTCHAS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"a {KEY} b", f"a {REDACTED} b"),
        (f"a {KEY[:30]} \n {KEY[30:]} b", f"a {REDACTED} b"),
        (f"x{KEY[5:13]}y", f"x{REDACTED}y"),
        (f"short {KEY[:7]} stays", f"short {KEY[:7]} stays"),
        ("nothing here", "nothing here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text, [KEY]) == expected


def test_a_short_secret_is_redacted_only_whole() -> None:
    assert redact("key abc d e f here; abc alone", ["abcdef"]) == "key [redacted] here; abc alone"


def test_clean_prose_without_secrets_keeps_short_prose() -> None:
    prose = Prose(summary="s", purpose="p", gotchas=(Gotcha(warning="w"),), key_exports=("a",))
    assert clean_prose(prose) == prose


# --- issue 23, point 9: encoded forms are redacted; a key too short to be secret is refused --


@pytest.mark.parametrize("before", [b"", b"u", b"us", b"user:"], ids=["0", "1", "2", "basic"])
def test_the_base64_of_the_key_is_redacted_at_any_alignment(before: bytes) -> None:
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(before + KEY.encode() + b"!").decode()
        text = f"Authorization: Basic {encoded} sent"
        assert forms_left(redact(text, [KEY])) == [], encoded
        assert secret_pattern(KEY).search(text) is not None


def forms_left(text: str) -> list[str]:
    """The 8-character runs of any encoded form of the key still readable in ``text``."""
    forms = [
        KEY.encode().hex(),
        KEY.encode().hex().upper(),
        KEY[::-1],
        *(base64.b64encode(b"\0" * n + KEY.encode()).decode()[4:-4] for n in range(3)),
    ]
    return [f[i : i + 8] for f in forms for i in range(len(f) - 7) if f[i : i + 8] in text]


def test_hex_and_reversed_forms_of_the_key_are_redacted() -> None:
    text = f"hex {KEY.encode().hex()} HEX {KEY.encode().hex().upper()} reversed {KEY[::-1]} end"
    cleaned = redact(text, [KEY])
    assert forms_left(cleaned) == []
    assert cleaned.startswith(f"hex {REDACTED}")
    assert cleaned.endswith(f"HEX {REDACTED} reversed {REDACTED} end")


def test_a_key_too_short_to_be_secret_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match=r"4 characters long, too short to be a secret"):
        LLMClient(base_url="https://llm.example/v1", model="m", api_key="none")


def test_a_short_key_is_refused_by_generate_and_no_word_is_cut(tmp_path: Path) -> None:
    env = clean_env() | {"PITH_DATA_DIR": str(tmp_path / "data"), "PITH_API_KEY": "none"}
    write_project(tmp_path / "project")
    assert run_pith("extract", "project", cwd=tmp_path, env=env).returncode == 0
    fake = FakeLLM()
    fake.script(prose={"summary": "none of these words", "purpose": "none"})
    with fake.serve() as base_url:
        env["PITH_BASE_URL"] = base_url
        result = run_pith("generate", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "too short to be a secret" in result.stderr
    assert "Traceback" not in result.stderr
    assert fake.calls == []


# --- the quick test before redacting never changes what is redacted ---------------------------


def _redacted_the_long_way(text: str, secrets: list[str]) -> str:
    """`redact` without its quick test: every form of every secret, looked for in every text."""
    for secret in secrets:
        key = "".join(secret.split())
        for form in (key, *secret_forms(key)):
            text = _redact_one(text, form)
    return text


_FRAGMENTS = [
    KEY,
    KEY[3:11],
    KEY[20:27],  # 7 characters: too short to be taken out
    KEY[::-1][5:40],
    KEY.encode().hex()[10:30],
    base64.b64encode(b"u" + KEY.encode()).decode()[8:24],
    "abcdef",
    "ordinary words about the code",
]


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(st.sampled_from(_FRAGMENTS), st.text(" \n\tab3f-", max_size=6)), max_size=8
    ),
    short=st.booleans(),
)
def test_redact_finds_what_looking_everywhere_finds(parts: list[str], short: bool) -> None:
    text = "".join(parts)
    secrets = ["abcdef"] if short else [KEY]
    assert redact(text, secrets) == _redacted_the_long_way(text, secrets)
    prose = Prose(summary=text, purpose="p", gotchas=(Gotcha(warning=text[::2]),))
    cleaned = clean_prose(prose, secrets)
    assert cleaned.summary == _redacted_the_long_way(text, secrets)
    assert cleaned.gotchas[0].warning == _redacted_the_long_way(text[::2], secrets)
