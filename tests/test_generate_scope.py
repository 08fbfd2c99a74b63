"""What `pith generate` pays for by default (issue 21, point 2): source code; tests and
examples stay in the graph and get prose only when asked; the estimate says what it left out
and breaks the cost down by top-level directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakellm import FakeLLM
from projects import clean_env, run_pith, write_tree

from pith._build import build
from pith._extract import extract
from pith._generate._estimate import estimate
from pith._generate._selection import select_nodes
from pith._roles import Role, is_runnable_test, left_out_group, role_of
from pith._store import Store

FILES = {
    "pkg/__init__.py": "'''The package.'''\n",
    "pkg/core.py": "def connect(url):\n    return url\n",
    "pkg/testing.py": "'''Helpers for users' tests.'''\ndef runner():\n    return 1\n",
    "pkg/a.py": "X = 1\n",
    "tests/__init__.py": "",
    "tests/test_core.py": "from pkg.core import connect\n\ndef test_connect():\n    connect('x')\n",
    "tests/conftest.py": "",
    "tests/helpers.py": "",
    "docs_src/tutorial001.py": "from pkg.core import connect\n",
    "docs_src/tutorial002.py": "",
    "docs_src/tutorial003.py": "",
    "setup_test.py": "",
    "app.py": "from pkg.core import connect\n",
    "scripts/release.py": "def main():\n    return 0\n",  # the project's own tooling
}


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("pkg/core.py", Role.SOURCE),
        ("click/testing.py", Role.SOURCE),  # a module for testing is source
        ("pkg/test_core.py", Role.TEST),
        ("pkg/core_test.py", Role.TEST),
        ("conftest.py", Role.TEST),
        ("tests/helpers.py", Role.TEST),
        ("pkg/tests", Role.TEST),  # a package of tests
        ("src/pkg/tests/unit/x.py", Role.TEST),
        ("docs_src/tutorial001.py", Role.EXAMPLE),
        ("examples/app.py", Role.EXAMPLE),
        ("docs", Role.EXAMPLE),
        (".", Role.SOURCE),
        ("pkg", Role.SOURCE),
    ],
)
def test_roles(path: str, role: Role) -> None:
    assert role_of(path) is role


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("tests/test_core.py", "tests/"),
        ("tests", "tests/"),  # the package node
        ("docs_src/tutorial001.py", "docs_src/"),
        ("scripts/release.py", "scripts/"),
        ("setup_test.py", "setup_test.py"),
        ("pkg/test_core.py", "pkg/"),
        # A monorepo's: where each lies, not its top directory (zod said "packages/ 381").
        ("packages/zod/src/v4/classic/tests/object.test.ts", "packages/zod/src/v4/classic/tests/"),
        ("packages/zod/src/v4/classic/tests/deep/x.test.ts", "packages/zod/src/v4/classic/tests/"),
        ("packages/bench/run.ts", "packages/bench/"),
        ("packages/docs/components/x.tsx", "packages/docs/"),
        ("src/pkg/tests", "src/pkg/tests/"),
    ],
)
def test_left_out_nodes_are_counted_where_they_lie(path: str, group: str) -> None:
    assert left_out_group(path) == group


@pytest.mark.parametrize(
    ("path", "runnable"),
    [
        ("tests/test_core.py", True),
        ("tests/core_test.py", True),
        ("app/tests.py", False),  # source: not under tests/ nor named test_
        ("tests/conftest.py", True),  # it runs with its directory's tests
        ("tests/helpers.py", False),
        ("test/github-issues/219/issue-219.test.ts", True),
        ("test/github-issues/219/entity/Post.ts", False),  # an entity the test uses
        ("packages/codemod/test/fixtures/x.input.ts", False),
        ("src/util.spec.js", True),
        ("pkg/testing.py", False),
    ],
)
def test_a_test_to_run_is_one_a_runner_runs(path: str, runnable: bool) -> None:
    assert is_runnable_test(path) is runnable


@pytest.fixture
def db(tmp_path: Path) -> Path:
    write_tree(tmp_path / "project", FILES)
    with Store.open(tmp_path / "pith.db") as store:
        extract(tmp_path / "project", store, workers=1)
        build(store)
    return tmp_path / "pith.db"


def test_tests_examples_and_scripts_are_left_out_unless_asked(db: Path) -> None:
    with Store.open(db) as store:
        ids = set(store.node_ids())
        assert {"tests/test_core.py", "docs_src/tutorial001.py", "tests", "docs_src"} <= ids
        selection = select_nodes(store)
        chosen = {node.id for node in selection.nodes}
        assert chosen == {
            ".",  # the overview: the root node always exists
            "app.py",
            "pkg",
            "pkg/core.py:connect",
            "pkg/__init__.py",
            "pkg/a.py",
            "pkg/core.py",
            "pkg/testing.py",
        }
        # The project's own scripts are left out too: not the code it ships.
        assert dict(selection.left_out) == {
            "tests/": 5,
            "docs_src/": 4,
            "scripts/": 1,
            "setup_test.py": 1,
        }
        scripts = select_nodes(store, paths=["scripts/*"])
        assert [node.id for node in scripts.nodes] == ["scripts/release.py"]

        asked = select_nodes(store, paths=["tests"])
        assert {node.id for node in asked.nodes} == {
            "tests",
            "tests/__init__.py",
            "tests/test_core.py",
            "tests/conftest.py",
            "tests/helpers.py",
        }
        assert asked.left_out == ()
        forced = select_nodes(store, force=True, paths=["docs_src/tutorial00[12].py"])
        assert {n.id for n in forced.nodes} == {
            "docs_src/tutorial001.py",
            "docs_src/tutorial002.py",
        }
        # Naming a node is asking for it.
        named = select_nodes(store, node_ids=["tests/test_core.py"])
        assert [n.id for n in named.nodes] == ["tests/test_core.py"]

        cost = estimate(store, selection, "openai/gpt-4o-mini")
        assert {d.directory for d in cost.by_directory} == {"pkg/", "(root)"}
        assert sum(d.nodes for d in cost.by_directory) == cost.nodes == len(selection)
        assert sum(d.prompt_tokens for d in cost.by_directory) == cost.prompt_tokens
        assert cost.cost == pytest.approx(sum(d.cost or 0 for d in cost.by_directory))


def test_the_project_can_ask_for_its_tests(tmp_path: Path) -> None:
    write_tree(tmp_path / "project", FILES)
    (tmp_path / "project" / "pyproject.toml").write_text('[tool.pith]\ngenerate = ["tests/*"]\n')
    with Store.open(tmp_path / "pith.db") as store:
        extract(tmp_path / "project", store, workers=1)
        build(store)
        selection = select_nodes(store)
    chosen = {node.id for node in selection.nodes}
    assert "tests/test_core.py" in chosen
    assert "docs_src/tutorial001.py" not in chosen
    assert dict(selection.left_out) == {"docs_src/": 4, "scripts/": 1, "setup_test.py": 1}


def test_the_command_says_what_it_left_out_and_writes_what_was_asked(tmp_path: Path) -> None:
    write_tree(tmp_path / "project", FILES)
    env = clean_env() | {"PITH_DATA_DIR": str(tmp_path / "data")}
    assert run_pith("extract", "project", cwd=tmp_path, env=env).returncode == 0
    estimated = run_pith("generate", "--estimate", cwd=tmp_path, env=env)
    assert estimated.returncode == 0, estimated.stderr
    assert "nodes to generate: 8 " in estimated.stdout
    assert (
        "left out: 11 test, example and script nodes (tests/ 5, docs_src/ 4, scripts/ 1, "
        "setup_test.py 1); they get "
        "prose only when asked: --path 'tests/*'" in estimated.stdout
    )
    assert "by directory:\n  pkg/    6 nodes" in estimated.stdout
    assert "\n  (root)  2 nodes, " in estimated.stdout  # app.py and the overview

    fake = FakeLLM()
    with fake.serve() as url:
        env["PITH_BASE_URL"] = url
        result = run_pith("generate", "--path", "tests/test_*", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert [call.node_id for call in fake.calls] == ["tests/test_core.py"]


@pytest.mark.parametrize(
    ("path", "directory"),
    [
        ("pkg/core.py", "pkg/"),
        ("pkg", "pkg/"),
        ("app.py", "(root)"),
        (".", "(root)"),
        # A monorepo's workspace packages each count apart (zod's showed "packages/" alone).
        ("packages/zod/src/index.ts", "packages/zod/"),
        ("packages/zod", "packages/zod/"),
        ("packages", "packages/"),
        ("packages/index.ts", "packages/"),
    ],
)
def test_the_estimate_counts_each_workspace_package_apart(path: str, directory: str) -> None:
    from pith._generate._estimate import _top_directory

    assert _top_directory(path) == directory
