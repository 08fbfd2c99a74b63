"""Prompts: what each node type's prompt says, and that a huge one stays within its budget."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
import click
import pytest
from sample_project import built_store

from pith._build import build
from pith._extract import extract
from pith._generate._prompt_builder import PromptBuilder
from pith._generate._prompts import (
    SMALL_FILE_CHARS,
    ChildSummary,
    estimate_prompt_tokens,
    file_prompt,
    function_prompt,
    module_prompt,
)
from pith._models import (
    ClassFacts,
    FileFacts,
    FunctionFacts,
    GitFacts,
    ImportFact,
    KeyStatement,
    Node,
    NodeType,
    Prose,
    Readme,
)
from pith._store import Store

SEND = FunctionFacts(
    name="send",
    qualname="Client.send",
    signature="(self, request: Request) -> Response",
    start_line=50,
    end_line=80,
    is_async=True,
    docstring="Send one request.\n\nRetries on 503.",
    snippet="async def send(self, request):\n    return await self._post(request)",
)
FETCH = FunctionFacts(
    name="fetch",
    qualname="fetch",
    signature="(url: str, *, timeout: float = 30.0) -> bytes",
    start_line=10,
    end_line=30,
    decorators=("cache",),
    docstring="Fetch a URL.",
    snippet="def fetch(url, *, timeout=30.0):\n    return _send(url, retries=MAX_RETRIES)",
)
CLIENT = ClassFacts(
    name="Client",
    qualname="Client",
    bases=("Base",),
    start_line=40,
    end_line=110,
    docstring="An HTTP client.",
    snippet="class Client(Base):\n    ...",
    methods=(SEND,),
)
FACTS = FileFacts(
    path="pkg/client.py",
    content_hash="abc",
    lines=120,
    docstring="A small HTTP client for pkg.",
    imports=(
        ImportFact(module="httpx", line=3),
        ImportFact(module="retry", names=("backoff",), level=1, line=4, resolved="pkg/retry.py"),
    ),
    functions=(FETCH,),
    classes=(CLIENT,),
    key_statements=(
        KeyStatement(line=7, kind="constant", text="MAX_RETRIES = 5"),
        KeyStatement(line=60, kind="status_check", text="if response.status_code == 503:"),
    ),
    exports=("fetch", "Client"),
    git=GitFacts(
        commits=14,
        first_commit="2023-01-02",
        last_commit="2024-04-30",
        authors=("Ada",),
        recent_subjects=("Retry on 503", "Add fetch"),
    ),
)
README = Readme(directory="pkg", name="README.md", text="# pkg\n\nThe pkg package talks HTTP.")
FILE_NODE = Node(
    id="pkg/client.py", type=NodeType.FILE, path="pkg/client.py", name="client.py", source_hash="h"
)


def user_text(messages: list[dict[str, str]]) -> str:
    assert [m["role"] for m in messages] == ["system", "user"]
    return messages[1]["content"]


def total_chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages)


# --- file ----------------------------------------------------------------------------------------


def test_file_prompt_has_every_kind_of_fact() -> None:
    messages = file_prompt(FILE_NODE, FACTS, README)
    text = user_text(messages)
    assert text.startswith("Node id: pkg/client.py\n")
    for expected in [
        "pkg/client.py (120 lines)",
        "A small HTTP client for pkg.",
        "Exports: fetch, Client",
        "10-30: @cache def fetch(url: str, *, timeout: float = 30.0) -> bytes",
        "40-110: class Client(Base)",
        "50-80: async def send(self, request: Request) -> Response",
        "'Send one request.'",  # the first paragraph of a docstring
        "line 7, constant: MAX_RETRIES = 5",
        "line 60, status_check: if response.status_code == 503:",
        "line 3: import httpx",
        "line 4: from .retry import backoff  -> pkg/retry.py",
        "14 commits",
        "last modified 2024-04-30",
        "- Retry on 503",
        "README of the directory (pkg/README.md)",
        "The pkg package talks HTTP.",
        "### fetch (lines 10-30)",
        "return _send(url, retries=MAX_RETRIES)",
        "### Client.send (lines 50-80)",
    ]:
        assert expected in text, expected
    assert "Left out" not in text


def test_file_prompt_asks_for_the_file_fields_as_json() -> None:
    system = file_prompt(FILE_NODE, FACTS, None)[0]["content"]
    for field in ['"summary"', '"purpose"', '"gotchas"', '"key_exports"', '"patterns"']:
        assert field in system
    assert '"key_files"' not in system
    assert "JSON" in system  # OpenAI's JSON mode refuses prompts that do not say JSON
    assert "evidence" in system
    assert "line" in system


def test_file_prompt_of_an_unparsable_file_says_why() -> None:
    broken = FileFacts(path="pkg/bad.py", content_hash="", problem="syntax error at line 3")
    node = attrs.evolve(FILE_NODE, id="pkg/bad.py", path="pkg/bad.py")
    text = user_text(file_prompt(node, broken, None))
    assert "Could not be parsed: syntax error at line 3" in text


def _huge_facts(functions: int, snippet_lines: int) -> FileFacts:
    snippet = "\n".join(f"    value_{i} = compute({i})" for i in range(snippet_lines))
    return attrs.evolve(
        FACTS,
        lines=functions * snippet_lines,
        functions=tuple(
            FunctionFacts(
                name=f"function_{i}",
                qualname=f"function_{i}",
                signature=f"(argument_{i}: int) -> int",
                start_line=i * snippet_lines + 1,
                end_line=(i + 1) * snippet_lines,
                snippet=f"def function_{i}(argument_{i}):\n{snippet}",
            )
            for i in range(functions)
        ),
        key_statements=tuple(
            KeyStatement(line=i * snippet_lines + 2, kind="constant", text=f"LIMIT_{i} = {i}")
            for i in range(functions)
        ),
    )


def test_a_huge_file_is_trimmed_keeping_signatures_key_statements_and_code() -> None:
    facts = _huge_facts(functions=200, snippet_lines=40)
    readme = attrs.evolve(README, text="README text. " * 5000)
    messages = file_prompt(FILE_NODE, facts, readme, budget_chars=48_000)
    text = user_text(messages)
    assert total_chars(messages) <= 48_000
    assert text.startswith("Node id: pkg/client.py\n")
    for i in range(200):
        assert f"def function_{i}(argument_{i}: int) -> int" in text
    # Each list has its share of the budget, so code snippets get the rest.
    kept = sum(f"LIMIT_{i} = {i}\n" in text for i in range(200))
    assert 150 <= kept < 200
    assert f"({200 - kept} more key statements left out to fit)" in text
    assert text.count("### function_") >= 15
    assert "Left out to fit the prompt budget" in text
    assert "code snippets" in text


@pytest.mark.parametrize("budget", [2_500, 4_000, 12_000, 30_000])
def test_file_prompt_never_exceeds_its_budget(budget: int) -> None:
    facts = _huge_facts(functions=300, snippet_lines=20)
    messages = file_prompt(FILE_NODE, facts, README, budget_chars=budget)
    assert total_chars(messages) <= budget
    assert "Node id: pkg/client.py" in user_text(messages)


def test_snippets_go_before_nothing_and_after_signatures() -> None:
    facts = _huge_facts(functions=3, snippet_lines=5)
    text = user_text(file_prompt(FILE_NODE, facts, README))
    assert text.index("Definitions") < text.index("Key statements") < text.index("Code snippets")


# --- function ------------------------------------------------------------------------------------


def test_function_prompt() -> None:
    node = Node(
        id="pkg/client.py:Client.send",
        type=NodeType.FUNCTION,
        path="pkg/client.py",
        name="Client.send",
        source_hash="h",
    )
    messages = function_prompt(node, FACTS, SEND, ["pkg/api.py", "pkg/cli.py:main"])
    text = user_text(messages)
    assert text.startswith("Node id: pkg/client.py:Client.send\n")
    for expected in [
        "Name: Client.send",
        "Lines: 50-80",
        "Signature: async def send(self, request: Request) -> Response",
        "Send one request.\n\nRetries on 503.",
        "line 60, status_check: if response.status_code == 503:",
        "- pkg/api.py",
        "- pkg/cli.py:main",
        "return await self._post(request)",
    ]:
        assert expected in text, expected
    assert "MAX_RETRIES = 5" not in text  # line 7 is outside the method
    system = messages[0]["content"]
    assert '"gotchas"' in system
    assert '"key_exports"' not in system


def test_function_prompt_of_a_class_lists_its_methods() -> None:
    node = Node(
        id="pkg/client.py:Client",
        type=NodeType.FUNCTION,
        path="pkg/client.py",
        name="Client",
        source_hash="h",
    )
    text = user_text(function_prompt(node, FACTS, CLIENT, []))
    assert "Signature: class Client(Base)" in text
    assert "50-80: async def send(self, request: Request) -> Response" in text
    assert "Used by: nothing found in the project" in text
    # With its whole code, the methods are in it: no list of them as well.
    code = "class Client(Base):\n    async def send(self, request):\n        ..."
    text = user_text(function_prompt(node, FACTS, CLIENT, [], code=code))
    assert code in text
    assert "Methods (line range" not in text


def test_function_prompt_budget() -> None:
    big = attrs.evolve(SEND, snippet="x = 1\n" * 20_000)
    node = Node(
        id="pkg/client.py:Client.send", type=NodeType.FUNCTION, path="p", name="n", source_hash="h"
    )
    messages = function_prompt(node, FACTS, big, ["pkg/api.py"], budget_chars=10_000)
    assert total_chars(messages) <= 10_000
    text = user_text(messages)
    assert "Signature: async def send" in text
    assert "(cut to fit)" in text


# --- module --------------------------------------------------------------------------------------

MODULE = Node(id="pkg", type=NodeType.MODULE, path="pkg", name="pkg", source_hash="h")
CHILDREN = [
    ChildSummary("pkg/client.py", NodeType.FILE, "An HTTP client with retries on 503."),
    ChildSummary("pkg/sub", NodeType.MODULE, None),
    ChildSummary("pkg/api.py", NodeType.FILE, "The public entry points: fetch and post."),
]


def test_module_prompt() -> None:
    messages = module_prompt(MODULE, CHILDREN, README, ["fetch", "Client"])
    text = user_text(messages)
    assert text.startswith("Node id: pkg\n")
    for child in CHILDREN:
        assert child.id in text
        if child.summary:
            assert child.summary in text
    assert "- pkg/sub (module): (no summary)" in text
    assert "Public API (exported names): fetch, Client" in text
    assert "The pkg package talks HTTP." in text
    system = messages[0]["content"]
    for field in ['"key_files"', '"public_api"', '"quick_start"', '"data_flow"', '"gotchas"']:
        assert field in system


def test_module_prompt_keeps_children_before_the_readme() -> None:
    children = [
        ChildSummary(f"pkg/m{i}.py", NodeType.FILE, f"Summary number {i} of a child.")
        for i in range(100)
    ]
    readme = attrs.evolve(README, text="long readme " * 10_000)
    messages = module_prompt(MODULE, children, readme, [], budget_chars=12_000)
    text = user_text(messages)
    assert total_chars(messages) <= 12_000
    for child in children:
        assert child.summary is not None
        assert child.summary in text
    assert "(cut to fit)" in text


def test_root_module_prompt() -> None:
    root = Node(id=".", type=NodeType.MODULE, path="", name="", source_hash="h")
    text = user_text(module_prompt(root, [], None, []))
    assert "Node id: .\n" in text
    assert "Path: (the root)" in text


# --- estimate ------------------------------------------------------------------------------------


def test_estimate_prompt_tokens() -> None:
    assert estimate_prompt_tokens([]) == 0
    assert estimate_prompt_tokens([{"role": "user", "content": "abcd"}]) == 1
    assert estimate_prompt_tokens([{"role": "system", "content": "abcde"}]) == 2
    messages = file_prompt(FILE_NODE, FACTS, README)
    assert estimate_prompt_tokens(messages) == -(-total_chars(messages) // 4)


def test_function_prompt_sees_every_variant_of_a_name() -> None:
    from pith._extract._python import parse_source

    source = b"""from typing import overload
import sys

@overload
def home(x: int) -> int: ...
if sys.platform == "win32":
    def home(x):
        return "C:/" + x
else:
    def home(x):
        return "/home/" + x
"""
    facts = parse_source("mod.py", source)
    (home,) = facts.functions
    node = Node(
        id="mod.py:home", type=NodeType.FUNCTION, path="mod.py", name="home", source_hash="h"
    )
    text = user_text(function_prompt(node, facts, home, []))
    assert "Defined 3 times; this one (lines 10-11) is the primary definition." in text
    assert "- overload, lines 4-5: (x: int) -> int" in text
    assert "- conditional, lines 7-8: (x)" in text
    assert 'return "/home/" + x' in text  # the primary's code
    assert (
        "Code of the conditional definition at lines 7-8:\n```python\n"
        '    def home(x):\n        return "C:/" + x'
    ) in text
    assert "Code of the overload definition" not in text  # a stub's signature says it all


def test_a_function_prompt_holds_its_code_as_it_was_extracted(tmp_path: Path) -> None:
    # click's installed source, copied so that a file can be edited after extraction.
    project = tmp_path / "click"
    shutil.copytree(Path(click.__file__).parent, project, ignore=shutil.ignore_patterns("*.pyc"))
    with Store.open(tmp_path / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        node = store.node("decorators.py:version_option")
        assert node is not None
        lines = (project / "decorators.py").read_text().split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith("def version_option("))
        body_end = max(i for i in range(start, start + 200) if lines[i].startswith("    "))
        last_line = lines[body_end].strip()

        prompt = PromptBuilder(store).prompt(node).messages[1]["content"]
        assert last_line in prompt  # the whole body, not its first lines
        assert prompt.count("Add a ``--version`` option") == 1  # the docstring once, in it

        # Edited since extraction: the node describes the extracted text, which is gone.
        (project / "decorators.py").write_text("\n".join(lines) + "\n# edited\n")
        prompt = PromptBuilder(store).prompt(node).messages[1]["content"]
        assert last_line not in prompt
        assert "Add a ``--version`` option" in prompt  # the facts' docstring and first lines


def test_a_small_file_is_sent_whole_as_it_was_extracted(tmp_path: Path) -> None:
    project = tmp_path / "click"
    shutil.copytree(Path(click.__file__).parent, project, ignore=shutil.ignore_patterns("*.pyc"))
    source = (project / "globals.py").read_text()
    assert len(source) <= SMALL_FILE_CHARS
    with Store.open(tmp_path / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        node = store.node("globals.py")
        assert node is not None
        prompt = PromptBuilder(store).prompt(node)
        text = prompt.messages[1]["content"]
        assert "\n".join(line.rstrip() for line in source.rstrip("\n").split("\n")) in text
        assert "Definitions (line range" not in text  # the code says it all
        assert prompt.code  # and the reply's gotchas are checked against it

        (project / "globals.py").write_text(source + "\n# edited\n")
        prompt = PromptBuilder(store).prompt(node)
        assert "Definitions (line range" in prompt.messages[1]["content"]
        assert prompt.code == ""


def test_an_unparsable_file_is_sent_whole_if_it_is_text(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "broken.py").write_text("def broken(:\n    return 'the line that matters'\n")
    (project / "binary.py").write_bytes(b"x = 1\n\x00\x01\x02 not text\n")
    with Store.open(tmp_path / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        builder = PromptBuilder(store)
        broken, binary = (
            builder.prompt(node).messages[1]["content"]
            for node in (store.node("broken.py"), store.node("binary.py"))
            if node is not None
        )
    assert "Could not be parsed: syntax error" in broken
    assert "return 'the line that matters'" in broken
    assert "Could not be parsed: contains NUL bytes" in binary
    assert "Code:" not in binary


def test_root_module_prompt_says_how_the_project_is_run() -> None:
    root = Node(
        id=".",
        type=NodeType.MODULE,
        path="",
        name="",
        source_hash="h",
        metadata={"entry_points": ["pkg = pkg.cli:main", "python -m pkg"], "packages": ["pkg"]},
    )
    text = user_text(module_prompt(root, [], None, []))
    assert "Entry points (how it is run): pkg = pkg.cli:main, python -m pkg" in text


def test_a_prompt_names_the_first_authors_then_how_many_more() -> None:
    authors = tuple(f"Author {i}" for i in range(140))
    facts = attrs.evolve(FACTS, git=attrs.evolve(FACTS.git, authors=authors))
    text = user_text(file_prompt(FILE_NODE, facts, README))
    assert "Authors: Author 0, Author 1, Author 2, Author 3, Author 4 and 135 more" in text
    assert "Author 5," not in text


def test_a_package_prompt_lists_its_children_with_their_summaries(tmp_path: Path) -> None:
    """From the store: each file and sub-package the package contains, its type, and its
    stored summary, this run's summary first; "(no summary)" for a child without prose."""
    with built_store(tmp_path) as store:
        core = store.node("pkg/core.py")
        assert core is not None
        stored = Prose(summary="Core helpers, stored.", purpose="p", source_hash=core.source_hash)
        store.save_prose(core.id, stored)
        package = store.node("pkg")
        assert package is not None
        builder = PromptBuilder(store)
        builder.summaries["pkg/util.py"] = "Utilities, written in this run."
        text = builder.prompt(package).messages[1]["content"]
    assert "- pkg/core.py (file): Core helpers, stored." in text
    assert "- pkg/util.py (file): Utilities, written in this run." in text
    assert "- pkg/sub (module): (no summary)" in text
    assert "- pkg/__init__.py (file): (no summary)" in text
