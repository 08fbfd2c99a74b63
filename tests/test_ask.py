"""`pith ask` and the ranking under `pith search`, on a real extracted and built project: source
before tests, exact names first, filters, budgets, and the same limits on the CLI, HTTP and MCP.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakellm import FakeLLM, default_prose
from sample_project import write_project

from pith._build import build
from pith._errors import NotFoundError, UsageError
from pith._extract import extract
from pith._generate._prompts import estimate_prompt_tokens
from pith._models import NodeType
from pith._store import Store
from pith._tokens import stem, words
from pith._wiki._ask import count_tokens
from pith._wiki._read import WikiReader, _run_together, hits_markdown

PROJECT = {
    "pkg/__init__.py": """
        '''An HTTP client.'''
        from .client import Client
        from .auth import BasicAuth
        """,
    "pkg/api.py": """
        from .client import Client

        def get(url):
            '''Send a GET request with a fresh client.'''
            return Client().send(url)
        """,
    "pkg/client.py": """
        '''The client: sends requests and follows redirects.'''
        from .auth import BasicAuth
        from .utils import parse_header_links

        MAX_REDIRECTS = 20


        class Client:
            '''Sends requests.'''

            def send(self, request):
                '''Send a request, following redirects.'''
                return self._redirect_headers(request)

            def _redirect_headers(self, request):
                '''The headers of a redirect: drop the Authorization header on another host.'''
                headers = dict(request)
                headers.pop("Authorization", None)
                return headers
        """,
    "pkg/auth.py": """
        '''Authentication.'''


        class BasicAuth:
            '''HTTP basic authentication: sets the Authorization header.'''

            def auth_flow(self, request):
                request["Authorization"] = "Basic x"
                return request
        """,
    "pkg/utils.py": """
        def parse_header_links(value):
            '''The links of a Link header.'''
            return [part.strip() for part in value.split(",")]
        """,
    "tests/__init__.py": "",
    "tests/test_client.py": """
        '''Tests of redirects: the redirect drops the Authorization header.'''
        from pkg.client import Client


        def test_redirect_drops_authorization_header():
            '''A redirect to another host drops the Authorization header; redirect, redirect.'''
            headers = Client()._redirect_headers({"Authorization": "x"})
            assert "Authorization" not in headers


        def test_redirect_keeps_other_headers():
            '''A redirect keeps the other headers (redirect).'''
            assert Client()._redirect_headers({"A": "b"}) == {"A": "b"}
        """,
    "examples/redirects.py": """
        '''Example: follow a redirect, a redirect and another redirect.'''
        from pkg.client import Client

        print(Client().send({"redirect": "redirect"}))
        """,
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("ask")
    root = write_project(tmp / "project", PROJECT)
    with Store.open(tmp / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
    return tmp / "data"


@pytest.fixture
def reader(data_dir: Path) -> Iterator[WikiReader]:
    with Store.open(data_dir / "pith.db", read_only=True) as store:
        yield WikiReader(store)


def files_of(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(i.split(":", 1)[0] for i in ids))


# --- words ---------------------------------------------------------------------------------------


def test_words_split_names_and_fold_endings_predictably() -> None:
    assert words("Make `raise_for_status` chainable") == [
        "make",
        "raise_for_status",
        stem("raise"),
        "status",
        stem("chainable"),
    ]
    assert words("HTTPRedirectHandler") == ["httpredirecthandler", "http", "redirect", "handler"]
    assert {stem(w) for w in ("redirect", "redirects", "redirected", "redirecting")} == {"redirect"}
    assert stem("authorization") == "authorization"  # Porter's "author" found validate_path
    for family in (
        ("fix", "fixes", "fixed", "fixing"),
        ("match", "matches", "matched"),
        ("push", "pushes"),
        ("cache", "caches", "cached"),
        ("class", "classes"),
        ("size", "sizes"),
        ("index", "indexes"),
    ):
        assert len({stem(w) for w in family}) == 1, family
    assert words("the a of is") == []
    # Words that say how, not what: they found `limit` for "skip rows already using find".
    assert words("should already using also") == []
    assert words("should_retry") == ["should_retry", "retry"]  # a name keeps them whole


# --- ranking rules -------------------------------------------------------------------------------


def test_source_comes_before_tests_and_examples(reader: WikiReader) -> None:
    files = files_of([h.id for h in reader.search("redirect authorization header", limit=10)])
    assert files[0] == "pkg/client.py"
    kinds = ["source" if f.startswith("pkg/") else "other" for f in files]
    assert kinds == sorted(kinds, key=lambda k: k != "source"), files
    assert "tests/test_client.py" in files  # ranked after the source, not dropped


def test_a_question_that_asks_for_tests_gets_them_first(reader: WikiReader) -> None:
    files = files_of([h.id for h in reader.search("tests of the redirect", limit=5)])
    assert files[0] == "tests/test_client.py"


def test_exact_names_come_first(reader: WikiReader) -> None:
    assert reader.search("Client", limit=3)[0].id == "pkg/client.py:Client"
    hits = reader.search("why does parse_header_links split on commas", limit=3)
    assert hits[0].id.split(":")[0] == "pkg/utils.py"
    assert "defines parse_header_links" in hits[0].why
    # A file named in the question comes first too.
    assert reader.search("what is in auth.py", limit=3)[0].id.startswith("pkg/auth.py")


def test_filters_type_path_and_tests(reader: WikiReader) -> None:
    functions = reader.search("redirect client", limit=10, type=NodeType.FUNCTION)
    assert functions
    assert {h.type for h in functions} == {"function"}
    under = reader.search("redirect", limit=10, path="pkg/")
    assert under
    assert all(h.id.startswith("pkg/") for h in under)
    assert all(
        h.id.startswith("pkg/") for h in reader.search("redirect", limit=10, path="pkg/*.py")
    )
    tests = reader.search("redirect", limit=10, tests=True)
    assert tests
    assert all(h.id.startswith("tests/") for h in tests)
    modules = reader.search("redirect", limit=10, type=NodeType.MODULE)
    assert all(h.type == "module" for h in modules)


# --- ask -----------------------------------------------------------------------------------------


def test_ask_briefs_the_right_code_with_pointers(reader: WikiReader) -> None:
    briefing = reader.ask("redirects drop the Authorization header")
    first = briefing.files[0]
    assert first["id"] == "pkg/client.py"
    assert first["symbols"][0]["id"] == "pkg/client.py:Client._redirect_headers"
    assert first["symbols"][0]["line"] == 15
    assert "`pkg/client.py:15`" in briefing.markdown
    assert " in `Client` at `pkg/client.py:15`" in briefing.markdown  # a method says its class
    assert "drop the Authorization header" in briefing.markdown  # its docstring
    assert first["tests"] == ["tests/test_client.py"]
    # Where it is used (Client.send), from the references pith resolved.
    used = first["symbols"][0]["callers"]
    assert used[0].startswith("pkg/client.py:")
    assert f"Used at `{used[0]}`" in briefing.markdown
    assert briefing.tokens == math.ceil(len(briefing.markdown) / 4) <= 4000
    data = briefing.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["budget"] == 4000


def test_a_symbol_is_listed_for_its_name_or_two_words_of_its_docstring(
    reader: WikiReader,
) -> None:
    # `get`'s docstring: "Send a GET request with a fresh client."
    one_word = reader.ask("a fresh start")
    assert one_word.file_ids()[0] == "pkg/api.py"  # the file is found by the word
    assert one_word.files[0]["symbols"] == []  # but one shared word is not what `get` is about
    two_words = reader.ask("a fresh client")
    entry = next(f for f in two_words.files if f["id"] == "pkg/api.py")
    assert [s["id"] for s in entry["symbols"]] == ["pkg/api.py:get"]


def test_importers_are_listed_source_first_then_tests_then_examples(reader: WikiReader) -> None:
    order = ["pkg/__init__.py", "pkg/api.py", "tests/test_client.py", "examples/redirects.py"]
    briefing = reader.ask("redirects drop the Authorization header")
    entry = next(f for f in briefing.files if f["id"] == "pkg/client.py")
    assert entry["importers"] == order[:3]
    assert entry["importers_count"] == 4
    neighbours = reader.context(["pkg/client.py"]).neighbours
    assert [n["id"] for n in neighbours if n["relation"] == "importedBy"] == order
    # Where a symbol is used: source, then tests, then examples.
    asked = reader.ask("the Client class")
    client = next(s for f in asked.files for s in f["symbols"] if s["id"] == "pkg/client.py:Client")
    assert client["callers"] == [
        "pkg/api.py:5",
        "tests/test_client.py:7",
        "tests/test_client.py:13",
    ]
    assert client["callers_count"] == 4  # and examples/redirects.py:4, counted
    # Impact: the files that use its names first (all but the re-exporting `__init__.py`).
    users_first = [*order[1:], order[0]]
    assert [f["id"] for f in reader.impact("pkg/client.py").files] == users_first


def test_a_hit_says_which_words_its_docstrings_and_signatures_matched(reader: WikiReader) -> None:
    hits = reader.search("sets the Authorization header")
    assert (
        hits[0].id == "pkg/auth.py"
    )  # "HTTP basic authentication: sets the Authorization header."
    assert "text: sets authorization header" in hits[0].why  # the question's words, not stems
    client = next(h for h in hits if h.id == "pkg/client.py")
    assert client.why == ("names: header", "text: authorization")  # a word is said once
    # Without prose, the hit has its docstring's first sentence, and the Markdown says why.
    assert client.doc == "The client: sends requests and follows redirects."
    assert client.to_json()["doc"] == client.doc
    markdown = hits_markdown("sets the Authorization header", hits)
    assert (
        "- file `pkg/client.py`: The client: sends requests and follows redirects. "
        "(no prose yet; names: header; text: authorization)"
    ) in markdown
    method = reader.search("_redirect_headers")[0]  # a symbol: its own docstring and line
    assert method.id == "pkg/client.py:Client._redirect_headers"
    assert method.doc == "The headers of a redirect: drop the Authorization header on another host."
    assert method.line == 15
    assert method.to_json()["line"] == 15
    assert client.line is None  # a file
    found = hits_markdown("_redirect_headers", [method])
    assert "- method `pkg/client.py:Client._redirect_headers` at `pkg/client.py:15`: " in found
    # A word found only in a file's code (`headers.pop(...)`) is said too.
    popped = next(h for h in reader.search("pop a header") if h.id == "pkg/client.py")
    assert popped.why == ("names: header", "mentions: pop")


def test_callers_keep_examples_apart_and_run_many_tests_by_file(reader: WikiReader) -> None:
    callers = reader.callers("pkg/client.py:Client")
    assert [u["file"] for u in callers.callers] == ["pkg/api.py"]
    assert [u["file"] for u in callers.tests] == ["tests/test_client.py"] * 2
    assert [u["file"] for u in callers.examples] == ["examples/redirects.py"]
    assert callers.to_json()["examples"] == callers.examples
    markdown = callers.to_markdown()
    assert markdown.index("## Production code (1)") < markdown.index("## Examples and docs (1)")
    # Twenty test ids run as one line; more run as their files, every one of them.
    few = [f"pytest tests/test_a.py::test_{i}" for i in range(20)]
    assert _run_together(few) == ["pytest " + " ".join(sorted(c.split()[1] for c in few))]
    many = [*few, "pytest tests/test_b.py::test_x", "npx vitest run web/a.test.ts"]
    assert _run_together(many) == [
        "pytest tests/test_a.py tests/test_b.py",
        "npx vitest run web/a.test.ts",
    ]


def test_ask_keeps_within_any_budget_and_the_best_first(reader: WikiReader) -> None:
    question = "redirect client authorization header links auth"
    previous: list[str] = []
    for budget in (200, 300, 500, 1000, 4000):
        briefing = reader.ask(question, budget)
        assert count_tokens(briefing.markdown) <= budget
        ids = briefing.file_ids()
        assert ids[: len(previous)] == previous  # more room adds files; it reorders none
        # The JSON lists what the Markdown shows, no more.
        assert all(f"## `{i}`" in briefing.markdown for i in ids)
        previous = ids
    assert len(previous) > 1
    for text in ("", "x", "x" * 4001, briefing.markdown):  # as `generate --estimate` counts
        assert count_tokens(text) == estimate_prompt_tokens([{"content": text}])
    small = reader.ask(question, 200)
    assert small.left_out > 0
    assert "left out to stay within 200 tokens" in small.markdown


def test_ask_without_a_match_is_an_answer_not_an_error(reader: WikiReader) -> None:
    for question in ("zzzqqq", "", '"*NOT AND:(', "x " * 1_999):
        briefing = reader.ask(question)
        assert briefing.markdown.startswith("# Ask")
    with pytest.raises(UsageError, match="4,000 characters"):
        reader.ask("x" * 4_001)  # bounded before any lookup, as everywhere


# --- ids as a person types them -----------------------------------------------------------------


def test_ids_resolve_as_typed_and_say_so(reader: WikiReader, data_dir: Path) -> None:
    root = reader.store.root
    assert root is not None
    for given, expected in (
        ("client.py", "pkg/client.py"),
        ("./pkg/client.py", "pkg/client.py"),
        ("pkg\\client.py", "pkg/client.py"),
        (f"{root}/pkg/client.py", "pkg/client.py"),
        ("pkg.client", "pkg/client.py"),
        ("pkg.client.Client", "pkg/client.py:Client"),
        ("Client", "pkg/client.py:Client"),
        ("pkg/", "pkg"),
    ):
        data = reader.node(given).data
        assert (data["id"], data["resolved_from"]) == (expected, given), given
    assert "resolved_from" not in reader.node("pkg/client.py").data
    assert "*(resolved from `client.py`)*" in reader.node("client.py").markdown
    with pytest.raises(NotFoundError) as ambiguous:
        reader.node("__init__.py")
    assert ambiguous.value.suggestions[:2] == ["pkg/__init__.py", "tests/__init__.py"]
    context = reader.context(["client.py", "auth.py", "nope.py"]).to_json()
    assert [(f["id"], f.get("resolved_from")) for f in context["files"]] == [
        ("pkg/client.py", "client.py"),
        ("pkg/auth.py", "auth.py"),
    ]
    assert context["unknown"] == ["nope.py"]
    assert reader.callers("utils.py").id == "pkg/utils.py"  # a file by a unique suffix
    assert reader.callers("pkg.client.Client").id == "pkg/client.py:Client"
    impact = reader.impact("pkg.utils").to_json()
    assert (impact["id"], impact["resolved_from"]) == ("pkg/utils.py", "pkg.utils")


# --- the same limits on the CLI, HTTP and MCP ----------------------------------------------------


def cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    return subprocess.run(
        [sys.executable, "-m", "pith", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=clean | (env or {}),
        check=False,
    )


def test_cli_ask_search_and_limits(data_dir: Path) -> None:
    asked = cli(data_dir, "ask", "redirects drop the Authorization header", "--budget", "500")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("# Ask: redirects drop the Authorization header")
    assert count_tokens(asked.stdout) <= 500
    data = json.loads(cli(data_dir, "ask", "redirect", "--json").stdout)
    assert data["files"][0]["id"] == "pkg/client.py"
    hits = json.loads(cli(data_dir, "search", "redirect", "--tests", "--json").stdout)
    assert hits
    assert all(h["id"].startswith("tests/") for h in hits)
    for args in (
        ("ask", "x", "--budget", "10"),
        ("search", "x", "--limit", "0"),
        ("search", "x", "--limit", "101"),
        ("search", "x", "--type", "class"),
        ("context", *(f"f{i}.py" for i in range(51))),
        ("context", "pkg/client.py", "--budget", "50001"),
        ("impact", "pkg/client.py", "--budget", "0"),
    ):
        result = cli(data_dir, *args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr


def test_context_and_impact_keep_to_a_budget_what_helps_most_first(data_dir: Path) -> None:
    full = cli(data_dir, "context", "pkg/client.py", "pkg/auth.py").stdout
    assert full.index("# Tests") < full.index("# Imports") < full.index("# Importers")
    # Each file's imports and importers under it, named plainly: no "(no prose yet)" on each.
    assert "`pkg/client.py` imports:\n- `pkg/utils.py`\n\n" in full
    assert "`pkg/client.py` is imported by:\n- `pkg/__init__.py`\n- `pkg/api.py`\n" in full
    assert "`pkg/auth.py` is imported by:\n- `pkg/__init__.py`\n" in full
    assert count_tokens(full) > 200
    small = cli(data_dir, "context", "pkg/client.py", "pkg/auth.py", "--budget", "200").stdout
    assert count_tokens(small) <= 200
    assert "left out to stay within 200 tokens" in small
    assert small.startswith("# `pkg/client.py`")  # the file itself is kept first
    impact = cli(data_dir, "impact", "client.py", "--budget", "200")
    assert impact.returncode == 0
    assert impact.stdout.startswith("# Impact of changing `pkg/client.py`")
    assert "*(resolved from `client.py`)*" in impact.stdout
    assert count_tokens(impact.stdout) <= 200
    data = json.loads(cli(data_dir, "impact", "pkg.utils", "--json").stdout)
    assert data["resolved_from"] == "pkg.utils"


def test_cli_ask_answer_through_the_configured_llm(data_dir: Path) -> None:
    fake = FakeLLM()
    with fake.serve() as base_url:
        env = {"PITH_BASE_URL": base_url, "PITH_API_KEY": "sk-test-secret-123"}
        result = cli(
            data_dir, "ask", "redirects drop the Authorization header", "--answer", env=env
        )
    assert result.returncode == 0, result.stderr
    briefing, _, answer = result.stdout.partition("\n## Answer\n\n")
    assert briefing.startswith("# Ask: redirects drop the Authorization header")
    assert answer.strip() == json.dumps(default_prose(None))  # the model's reply, as it came
    [call] = fake.calls
    assert call.body["stream"] is True  # streamed to stdout as it comes (tests/test_llm_stream.py)
    assert "response_format" not in call.body  # prose, not JSON
    assert call.messages[0]["role"] == "system"
    assert "path:line" in call.messages[0]["content"]
    assert briefing.strip() in call.messages[1]["content"]  # the model answers from it
    assert "sk-test-secret-123" not in result.stdout + result.stderr


def test_cli_ask_answer_without_an_llm_is_the_briefing_alone(data_dir: Path) -> None:
    result = cli(data_dir, "ask", "redirect", "--answer")
    assert result.returncode == 0
    assert result.stdout.startswith("# Ask: redirect")
    assert "## Answer" not in result.stdout
    assert "no LLM configured" in result.stderr
    data = json.loads(cli(data_dir, "ask", "redirect", "--answer", "--json").stdout)
    assert data["answer"] is None


@pytest.fixture
def server(data_dir: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITH_", "OPENROUTER_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "pith", "--data-dir", str(data_dir), "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first.startswith("pith: serving http://127.0.0.1:"), first
    try:
        yield first.split()[-1]
    finally:
        process.send_signal(signal.SIGINT)
        with process.stderr:
            process.stderr.read()
        process.wait(timeout=30)


def test_http_query_and_limits(server: str) -> None:
    with httpx.Client(base_url=server) as http:
        answer = http.post("/query", json={"question": "redirects drop the Authorization header"})
        assert answer.status_code == 200
        assert answer.json()["files"][0]["id"] == "pkg/client.py"
        assert answer.json()["budget"] == 4000
        small = http.post("/query", params={"format": "md"}, json={"question": "x", "budget": 200})
        assert small.text.startswith("# Ask")
        for body in (
            {"question": "x", "budget": 10},
            {"question": "x", "budget": "many"},
            {"question": 3},
            {"question": "x", "tests": "yes"},
            {"question": "x" * 5000},
            [],
        ):
            assert http.post("/query", json=body).status_code == 400, body
        assert http.post("/query", content=b"{not json").status_code == 400
        assert http.post("/query", content=b" " * 20_000).status_code == 400
        assert http.get("/query").status_code == 405
        hits = http.get("/search", params={"q": "redirect", "tests": "true"}).json()
        assert all(h["id"].startswith("tests/") for h in hits)
        assert http.get("/search", params={"q": "x", "type": "class"}).status_code == 400
        assert http.get("/search", params={"q": "x", "limit": "101"}).status_code == 400
        small = http.get(
            "/context", params={"files": "pkg/client.py", "budget": 200, "format": "md"}
        )
        assert count_tokens(small.text) <= 200
        assert http.get("/context", params={"files": "a.py", "budget": "10"}).status_code == 400
        assert http.get("/impact/pkg/client.py", params={"budget": "x"}).status_code == 400
        both = http.get("/context", params=[("files", "pkg/api.py"), ("files", "pkg/auth.py")])
        assert [f["id"] for f in both.json()["files"]] == ["pkg/api.py", "pkg/auth.py"]
        files = ",".join(f"f{i}.py" for i in range(51))
        assert http.get("/context", params={"files": files}).status_code == 400
        node = http.get("/node/pkg.client.Client").json()
        assert (node["id"], node["resolved_from"]) == ("pkg/client.py:Client", "pkg.client.Client")
        ambiguous = http.get("/node/__init__.py")
        assert ambiguous.status_code == 404
        assert ambiguous.json()["suggestions"][0] == "pkg/__init__.py"


# --- stores of an older pith ---------------------------------------------------------------------


def test_a_schema_4_store_gets_the_retrieval_index(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "pith.db"
    with sqlite3.connect(data_dir / "pith.db") as source, sqlite3.connect(db) as copy:
        source.backup(copy)
    with sqlite3.connect(db) as old:
        old.executescript("DROP TABLE retrieval; PRAGMA user_version = 4;")
    with Store.open(db, read_only=True) as store:  # migrated once, on this first open
        hits = WikiReader(store).search("redirect authorization", limit=3)
        assert hits[0].id.startswith("pkg/client.py")


def test_a_consonant_doubled_for_ing_or_ed_is_folded_back() -> None:
    for family in (
        ("pop", "pops", "popped", "popping"),
        ("map", "mapped", "mapping"),
        ("commit", "commits", "committed", "committing"),
        ("stop", "stopped", "stopping"),
        ("wrap", "wrapped", "wrapping"),
        ("run", "running"),
    ):
        assert len({stem(w) for w in family}) == 1, family
    # A double l, s, z or f, or a three-letter word's double, is the word's own.
    for word, stemmed in (
        ("called", "call"),
        ("passed", "pass"),
        ("fizzing", "fizz"),
        ("stuffed", "stuff"),
        ("added", "add"),
        ("seeing", "see"),
    ):
        assert stem(word) == stemmed


# Every file of this project says "app": the word tells no file apart.
COMMON_WORD_PROJECT = {
    "web/__init__.py": """
        '''The web app.'''
        from .app import App
        """,
    "web/app.py": """
        '''The app: its context and its name.'''


        class App:
            '''An app.'''

            def name(self):
                '''The name of the app; change it to rename the app.'''
                return "app"

            def context(self):
                '''A new context of this app.'''
                return None
        """,
    "web/ctx.py": """
        '''Contexts of an app.'''


        class AppContext:
            '''The app context: pushed for a request, popped after it.'''

            def pop(self):
                '''Pop the context: run the teardown functions registered on the app.'''
                self.teardown()

            def teardown(self):
                '''Run the teardown functions of the app.'''
        """,
    "web/views.py": """
        '''Views of an app.'''


        def index(app):
            return app
        """,
    "web/config.py": """
        '''The app's configuration.'''

        APP_DEBUG = False
        """,
    "web/cli.py": """
        '''The app's command line.'''


        def run(app):
            return app
        """,
}


def test_a_word_most_files_say_lists_no_symbol(
    tmp_path: Path,
) -> None:
    root = write_project(tmp_path / "project", COMMON_WORD_PROJECT)
    with Store.open(tmp_path / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        briefing = WikiReader(store).ask("change what happens when the app context is popped")
    assert briefing.file_ids()[0] == "web/ctx.py"  # it pops the context
    app = next(f for f in briefing.files if f["id"] == "web/app.py")
    # `App.name`'s docstring shares "change" and "app" with the question: one telling word.
    assert "web/app.py:App.name" not in [s["id"] for s in app["symbols"]]


# Three `parse`s: the shipped code's twice (one used more), and a workspace bench package's.
NAMESAKES = {
    "packages/bench/run.py": """
        def parse(text):
            '''Parse text, timed.'''
            return text


        parse("x")
        parse("y")
        parse("z")
        """,
    "packages/core/src/rare.py": """
        def parse(text):
            '''Parse text, rarely.'''
            return text
        """,
    "packages/core/src/common.py": """
        def parse(text):
            '''Parse text.'''
            return text
        """,
    "packages/core/src/use.py": """
        from .common import parse
        from .rare import parse as parse_rare

        A = parse("a")
        B = parse("b")
        C = parse_rare("c")
        """,
}


def test_namesakes_come_shipped_code_first_then_the_most_used(tmp_path: Path) -> None:
    from pith._roles import is_development_script

    assert is_development_script("packages/bench/run.py")  # a monorepo's bench package
    assert not is_development_script("packages/core/src/rare.py")
    assert not is_development_script("packages/bench.py")
    assert is_development_script("packages/bench")  # its module node
    root = write_project(tmp_path / "project", NAMESAKES)
    with Store.open(tmp_path / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        hits = WikiReader(store).search("parse")
    assert [h.id for h in hits[:3]] == [
        "packages/core/src/common.py:parse",  # used twice
        "packages/core/src/rare.py:parse",  # used once
        "packages/bench/run.py:parse",  # used most, but by the bench alone
    ]
