"""The read layer on a real package (click, from this environment): context, impact, search,
export, and the commands that render them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from projects import extract_and_build, write_tree

from pith._build import build
from pith._errors import NotFoundError, UsageError
from pith._extract import extract
from pith._models import Gotcha, NodeType, Prose
from pith._store import Store
from pith._wiki._export import export_markdown
from pith._wiki._limits import MAX_QUERY_CHARS
from pith._wiki._read import MARKDOWN_BUDGET, WikiReader

CLICK = Path(click.__file__).parent


def prose_for(node_id: str, source_hash: str) -> Prose:
    return Prose(
        summary=f"Summary of {node_id}.",
        purpose=f"Why {node_id} exists.",
        gotchas=(Gotcha(warning=f"Careful with {node_id}.", location="line 1"),),
        generated_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        model="fake",
        source_hash=source_hash,
    )


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """click's installed source, extracted and built, with prose for every node but one."""
    data = tmp_path_factory.mktemp("wiki")
    with Store.open(data / "pith.db") as store:
        extract(CLICK, store, workers=1)
        build(store)
        for node in store.nodes():
            if node.id != "core.py":
                store.save_prose(node.id, prose_for(node.id, node.source_hash))
    return data


@pytest.fixture
def reader(wiki: Path) -> Iterator[WikiReader]:
    with Store.open(wiki / "pith.db") as store:
        yield WikiReader(store)


def test_context_of_files(reader: WikiReader) -> None:
    answer = reader.context(["./decorators.py", str(CLICK / "termui.py"), "nope.py"]).to_json()
    assert [f["id"] for f in answer["files"]] == ["decorators.py", "termui.py"]
    assert answer["files"][0]["prose"]["summary"] == "Summary of decorators.py."
    assert answer["unknown"] == ["nope.py"]
    assert [m["id"] for m in answer["modules"]] == ["."]
    relations = {(n["relation"], n["of"]) for n in answer["neighbours"]}
    assert ("imports", "decorators.py") in relations
    assert ("importedBy", "termui.py") in relations
    core = next(n for n in answer["neighbours"] if n["id"] == "core.py")
    assert core["summary"] is None  # the one node without prose
    markdown = reader.context(["decorators.py"]).to_markdown()
    assert "# `decorators.py`" in markdown
    assert "Careful with decorators.py." in markdown
    assert len(markdown) <= MARKDOWN_BUDGET + 200


def test_context_says_what_the_source_says_and_more_where_nothing_is_written(
    reader: WikiReader, tmp_path: Path
) -> None:
    answer = reader.context(["decorators.py"]).to_json()
    version_option = next(
        f for f in answer["files"][0]["functions"] if f["id"] == "decorators.py:version_option"
    )
    source = version_option["source"]
    assert source["signature"].startswith("def version_option(")
    assert source["lines"][0] < source["lines"][1]
    assert source["docstring"].startswith("Add a ``--version`` option")
    markdown = reader.context(["decorators.py"]).to_markdown()
    assert f"`{source['signature']}` (lines {source['lines'][0]}-{source['lines'][1]})" in markdown
    assert "> Add a ``--version`` option" not in markdown  # its prose says more
    # A function without prose: its docstring stands in.
    with Store.open(tmp_path / "pith.db") as store:
        extract(CLICK, store, workers=1)
        build(store)
        bare = WikiReader(store).context(["decorators.py"]).to_markdown()
    assert "> Add a ``--version`` option" in bare
    # Nothing written yet is said once for the file, not once more for each function.
    assert bare.count("No prose yet") == 1


def test_context_of_many_files_stays_within_the_budget(
    reader: WikiReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pith._wiki._read.MARKDOWN_BUDGET", 3000)
    files = [n.id for n in reader.store.nodes(NodeType.FILE)]
    markdown = reader.context(files).to_markdown()
    assert len(markdown) < 3000
    assert "more characters left out" in markdown


def test_stale_prose_is_marked_stale(reader: WikiReader) -> None:
    node = reader.store.node("utils.py")
    assert node is not None
    reader.store.save_prose("utils.py", prose_for("utils.py", "an older hash"))
    try:
        answer = reader.context(["utils.py"])
        assert answer.files[0]["prose"]["stale"] is True
        assert "**Stale**" in answer.to_markdown()
    finally:
        reader.store.save_prose("utils.py", prose_for("utils.py", node.source_hash))


def test_impact_nearest_first(reader: WikiReader) -> None:
    impact = reader.impact("exceptions.py").to_json()
    depths = [f["depth"] for f in impact["files"]]
    assert depths == sorted(depths)
    assert depths[0] == 1
    assert "core.py" in {f["id"] for f in impact["files"] if f["depth"] == 1}
    assert reader.impact("core.py:Command").to_json()["files"]  # a function: its file's
    with pytest.raises(NotFoundError) as caught:
        reader.impact("core.pyy")
    assert "core.py" in caught.value.suggestions


def test_search_ranks_names_first_and_takes_any_text(reader: WikiReader) -> None:
    hits = reader.search("echo", limit=5)
    assert hits[0].id == "utils.py:echo"
    assert hits[0].summary == "Summary of utils.py:echo."
    rest = [h.score for h in hits[1:]]  # after the exact name, by relevance
    assert rest == sorted(rest, reverse=True)
    for odd in ['"', "*", "-x", "NOT AND", "a:b (c", "x" * MAX_QUERY_CHARS, ""]:
        reader.search(odd)  # never an FTS syntax error
    with pytest.raises(UsageError, match="longer than 1,000 characters"):
        reader.search("echo " + "x" * MAX_QUERY_CHARS)  # bounded before any lookup
    assert reader.search("Careful with termui.py")[0].id == "termui.py"  # prose is searched


def test_search_follows_builds_and_prose_writes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "alpha.py").write_text('"""Frobnicates widgets."""\n')
    with Store.open(tmp_path / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        assert [h[0] for h in store.search("frobnicates")] == ["alpha.py"]
        (project / "alpha.py").write_text('"""Defenestrates gadgets."""\n')
        extract(project, store, workers=1)
        build(store)
        assert store.search("frobnicates") == []
        assert [h[0] for h in store.search("defenestrates")] == ["alpha.py"]
        node = store.node("alpha.py")
        assert node is not None
        store.save_prose("alpha.py", prose_for("zanzibar", node.source_hash))
        assert [h[0] for h in store.search("zanzibar")] == ["alpha.py"]


def test_export_pages_stay_apart_where_case_is_ignored(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "index").mkdir(parents=True)  # a package named like the index page
    (project / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 1\n")
    (project / "settings.py").write_text(
        "class Config:\n    x = 1\n\n\ndef config():\n    return Config()\n"
    )
    for name in ("a", "b", "c"):
        (project / "index" / f"{name}.py").write_text(f"VALUE = {name!r}\n")
    out = tmp_path / "site"
    with Store.open(tmp_path / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        ids = set(store.node_ids())
        assert {"settings.py:Config", "settings.py:config", "index"} <= ids
        summary = export_markdown(store, out)
    pages = [p.relative_to(out).as_posix() for p in out.rglob("*.md")]
    assert summary.pages == len(pages) == len(ids | {"."})  # the index, root module or not
    assert len({p.casefold() for p in pages}) == len(pages)
    assert {"index.md", "index~2.md"} <= set(pages)
    link = re.compile(r"\]\(([^)]+\.md)\)")
    for page in pages:
        for target in link.findall((out / page).read_text()):
            assert (out / page).parent.joinpath(target).resolve().is_file(), (page, target)


def test_export_writes_pages_whose_links_resolve(wiki: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "mine.txt").write_text("not pith's")
    with Store.open(wiki / "pith.db") as store:
        summary = export_markdown(store, out)
        node_count = len(store.nodes())
    pages = sorted(out.rglob("*.md"))
    assert summary.pages == len(pages) == node_count  # the root module is index.md
    assert (out / "core.py" / "Command.md").is_file()
    link = re.compile(r"\]\(([^)]+\.md)\)")
    for page in pages:
        for target in link.findall(page.read_text()):
            assert (page.parent / target).resolve().is_file(), (page, target)
    index = (out / "index.md").read_text()
    assert "[`core.py`](core.py.md): Summary of core.py." not in index  # core.py has no prose
    assert "[`decorators.py`](decorators.py.md): Summary of decorators.py." in index
    # A rerun after a node is gone removes its page, and nothing pith did not write.
    manifest = json.loads((out / ".pith-export.json").read_text())
    (out / "gone.py.md").write_text("old")
    manifest["pages"]["gone.py.md"] = hashlib.sha256(b"old").hexdigest()
    (out / ".pith-export.json").write_text(json.dumps(manifest))
    with Store.open(wiki / "pith.db") as store:
        assert export_markdown(store, out).removed == 1
    assert (out / "mine.txt").exists()


def test_the_commands(wiki: Path, run) -> None:  # type: ignore[no-untyped-def]
    data = ["--data-dir", str(wiki)]
    code, out, _ = run(*data, "context", "decorators.py", "--json")
    assert code == 0
    assert json.loads(out)["files"][0]["id"] == "decorators.py"
    code, out, _ = run(*data, "search", "echo", "--limit", "3", "--json")
    assert code == 0
    assert len(json.loads(out)) == 3
    code, out, _ = run(*data, "search", "echo")
    assert "`utils.py:echo`" in out
    code, _, err = run(*data, "export", str(wiki.parent / "exported"))
    assert code == 0
    assert "Exported" in err
    code, _, err = run(*data, "search", "echo", "--limit", "0")
    assert code == 2


def test_impact_says_the_command_that_runs_each_tests_language(tmp_path: Path) -> None:
    """A TypeScript test is run by its package's runner, never `pytest`; Python tests by one
    pytest line."""
    root = tmp_path / "mixed"
    files = {
        "package.json": '{"name": "mixed", "scripts": {"test": "vitest --run"}}',
        "src/net.ts": "export function connect(url: string): void {}\n",
        "src/net.test.ts": 'import { connect } from "./net";\ntest("c", () => connect("x"));\n',
        "pkg/__init__.py": "",
        "pkg/auth.py": "def login():\n    return 1\n",
        "tests/test_auth.py": "from pkg.auth import login\n\ndef test_login():\n    login()\n",
    }
    with extract_and_build(write_tree(root, files), tmp_path / "data" / "pith.db")[0] as store:
        reader = WikiReader(store)
        script = reader.impact("src/net.ts")
        python = reader.impact("pkg/auth.py")
    assert script.to_json()["commands"] == ["npx vitest run src/net.test.ts"]
    assert "pytest" not in script.to_markdown()
    assert "npx vitest run src/net.test.ts" in script.to_markdown()
    assert python.to_json()["commands"] == ["pytest tests/test_auth.py"]
    assert "pytest tests/test_auth.py" in python.to_markdown()


def test_context_of_a_widely_imported_file_starts_with_before_you_change_this(
    tmp_path: Path,
) -> None:
    """Ten or more importers: how many files and functions use it, the top callers (production
    code first, though a test uses it more), its tests; fewer: no block."""
    root = tmp_path / "proj"
    files = {
        "pkg/__init__.py": "",
        "pkg/core.py": "def connect(url):\n    return url\n\n\ndef close():\n    return 0\n",
        "pkg/rare.py": "from pkg.core import close\n\n\ndef shut():\n    return close()\n",
        "tests/test_core.py": (
            "from pkg.core import connect\n\n\ndef test_connect():\n" + "    connect('a')\n" * 20
        ),
    }
    for i in range(11):
        calls = "    connect('x')\n" * (i % 3 + 1)
        files[f"pkg/m{i}.py"] = f"from pkg.core import connect\n\n\ndef use{i}():\n{calls}"
    # A demo at module level (rich's `if __name__ == "__main__":`) uses it most: after them.
    files["pkg/m0.py"] += "\n\nif __name__ == '__main__':\n" + "    connect('demo')\n" * 9
    with extract_and_build(write_tree(root, files), tmp_path / "data" / "pith.db")[0] as store:
        reader = WikiReader(store)
        answer = reader.context(["pkg/core.py"])
        data = answer.to_json()["files"][0]
        markdown = answer.to_markdown()
        rare = reader.context(["pkg/rare.py"]).to_json()["files"][0]
    block = data["before_change"]
    assert block["importers"] == 13  # eleven modules, pkg/rare.py and the test
    assert block["functions"] == 13  # use0..use10, shut, test_connect (not m0's demo)
    callers = [c["id"] for c in block["top_callers"]]
    assert callers == [f"pkg/m{i}.py:use{i}" for i in (2, 5, 8, 1, 10)]  # 3 uses, then 2
    assert block["tests"] == ["tests/test_core.py"]
    assert markdown.startswith(
        "# `pkg/core.py`\n\n> **Before you change this**: 13 files import it"
    )
    assert "`pkg/m2.py:use2` (3)" in markdown
    assert "before_change" not in rare or rare["before_change"] is None


def test_the_tests_of_callers_run_in_one_pytest_line() -> None:
    from pith._wiki._read import _run_together

    commands = [
        "pytest tests/test_b.py::test_two",
        "pytest tests/test_a.py::test_one",
        "pytest tests/test_b.py::test_two",
        "cd web && npx vitest run src/a.test.ts",
    ]
    assert _run_together(commands) == [
        "pytest tests/test_a.py::test_one tests/test_b.py::test_two",
        "cd web && npx vitest run src/a.test.ts",
    ]
    assert _run_together([]) == []


def test_impact_runs_the_tests_of_its_whole_reach_and_names_forty(tmp_path: Path) -> None:
    """Past the nearest 200 files listed, the tests still come from everything reached (a core
    file's tests sit at depth 2, behind its 200 importers); the Markdown names forty."""
    files = {"pkg/__init__.py": "", "pkg/core.py": "def connect():\n    return 1\n"}
    for i in range(205):
        files[f"pkg/m{i}.py"] = f"from pkg.core import connect\n\ndef use{i}():\n    connect()\n"
    for i in range(45):
        files[f"tests/test_m{i}.py"] = (
            f"from pkg.m{i} import use{i}\n\ndef test_{i}():\n    use{i}()\n"
        )
    # Behind the 205 direct importers: pkg/far.py (depth 2), and the test of it (depth 3).
    files["pkg/far.py"] = "from pkg.m0 import use0\n\ndef far():\n    return use0()\n"
    files["tests/test_deep.py"] = "from pkg.far import far\n\ndef test_far():\n    far()\n"
    with extract_and_build(write_tree(tmp_path / "p", files), tmp_path / "pith.db")[0] as store:
        impact = WikiReader(store).impact("pkg/core.py")
    assert impact.truncated
    assert len(impact.files) == 200
    assert "tests/test_deep.py" in impact.tests
    assert len(impact.tests) == 46
    markdown = impact.to_markdown()
    assert "- and 6 more test files (the commands run them all)" in markdown
    assert impact.commands == ["pytest " + " ".join(impact.tests)]  # one line runs them all
    # What to run comes before the 200 importers, which fill any budget.
    assert markdown.index("## Tests to run") < markdown.index("## Depth 1")
    assert "pytest tests/test_deep.py tests/test_m0.py" in markdown


def test_impact_runs_the_projects_tests_before_its_docs(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/core.py": "def connect():\n    return 1\n",
        "tests/test_core.py": "from pkg.core import connect\n\ndef test_c():\n    connect()\n",
        # fastapi's documentation tests: a test by name, in an examples tree.
        "docs_src/app/test_main.py": (
            "from pkg.core import connect\n\ndef test_m():\n    connect()\n"
        ),
    }
    with extract_and_build(write_tree(tmp_path / "p", files), tmp_path / "pith.db")[0] as store:
        reader = WikiReader(store)
        impact = reader.impact("pkg/core.py:connect")
        context = reader.context(["pkg/core.py"]).to_json()
    assert impact.tests == ["tests/test_core.py", "docs_src/app/test_main.py"]
    assert [t["id"] for t in context["tests"]] == impact.tests  # context's list too
