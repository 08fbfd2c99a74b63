"""What the store keeps of prose: the API key never (whole, split by whitespace, or in long
chunks), and bounded text. Through the real `pith generate` against the fake endpoint on
127.0.0.1, then the database file's bytes and `list`/`show` output are checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakellm import FakeLLM
from projects import clean_env, run_pith
from sample_project import write_project

from pith._llm._redact import MAX_GOTCHAS, REDACTED, SHORT_CHARS, TRUNCATED, clean_prose, redact
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
