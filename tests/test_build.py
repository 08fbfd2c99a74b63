"""`build`: nodes, edges, metadata and hashes from extracted facts; rebuilds keep prose."""

from __future__ import annotations

import datetime as dt

import pytest
from projects import HEALTHY, commit_all, git, write_tree

from pith._build import build
from pith._errors import UsageError
from pith._extract import extract
from pith._models import EdgeType, NodeType, Prose
from pith._store import Store


@pytest.fixture
def project(tmp_path):
    return write_tree(tmp_path / "proj", HEALTHY)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data" / "pith.db") as store:
        yield store


def extract_build(project, store, **options):
    extract(project, store, workers=1)
    return build(store, **options)


def node_ids(store, type=None):
    return [n.id for n in store.nodes(type)]


def targets(store, source, type):
    return [e.target for e in store.edges(source, type)]


def test_build_before_extract(store):
    with pytest.raises(UsageError, match=r"run `pith extract PATH` first"):
        build(store)


def test_nodes(project, store):
    summary = extract_build(project, store)
    assert node_ids(store, NodeType.FILE) == sorted(k for k in HEALTHY if k.endswith(".py"))
    # pkg and pkg/sub are packages; tests/ holds one file; the root (the overview) always
    # exists.
    assert node_ids(store, NodeType.MODULE) == [".", "pkg", "pkg/sub"]
    # connect: imported by name by app, pkg/__init__, util, leaf, tests; Client by app, util.
    assert node_ids(store, NodeType.FUNCTION) == ["pkg/core.py:Client", "pkg/core.py:connect"]
    assert summary.nodes == {NodeType.FILE: 8, NodeType.MODULE: 3, NodeType.FUNCTION: 2}
    assert summary.edges == store.edge_count() > 0
    assert not summary.unchanged


def test_contains_edges(project, store):
    extract_build(project, store)
    assert targets(store, "pkg", EdgeType.CONTAINS) == [
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/sub",
        "pkg/util.py",
    ]
    assert targets(store, "pkg/sub", EdgeType.CONTAINS) == [
        "pkg/sub/__init__.py",
        "pkg/sub/leaf.py",
        "pkg/sub/sibling.py",
    ]
    assert targets(store, "pkg/core.py", EdgeType.CONTAINS) == [
        "pkg/core.py:Client",
        "pkg/core.py:connect",
    ]
    # app.py and tests/ are in no package: the root holds them.
    assert [e.source for e in store.edges_to("app.py", EdgeType.CONTAINS)] == ["."]
    assert targets(store, ".", EdgeType.CONTAINS) == ["app.py", "pkg", "tests/test_core.py"]


def test_import_and_test_edges(project, store):
    extract_build(project, store)
    assert targets(store, "app.py", EdgeType.IMPORTS) == ["pkg/core.py", "pkg/sub/leaf.py"]
    assert sorted(e.source for e in store.edges_to("pkg/core.py", EdgeType.IMPORTS)) == [
        "app.py",
        "pkg/__init__.py",
        "pkg/sub/leaf.py",
        "pkg/util.py",
        "tests/test_core.py",
    ]
    assert targets(store, "pkg/core.py", EdgeType.IMPORTED_BY) == [
        "app.py",
        "pkg/__init__.py",
        "pkg/sub/leaf.py",
        "pkg/util.py",
        "tests/test_core.py",
    ]
    assert targets(store, "pkg/core.py", EdgeType.TEST_FILE) == ["tests/test_core.py"]
    assert targets(store, "tests/test_core.py", EdgeType.TEST_FILE) == ["pkg/core.py"]


def test_test_files_beside_their_module(tmp_path, store):
    root = write_tree(
        tmp_path / "p",
        {"a/x.py": "", "a/test_x.py": "", "a/y_test.py": "", "a/y.py": "", "b/x.py": ""},
    )
    extract_build(root, store)
    assert targets(store, "a/x.py", EdgeType.TEST_FILE) == ["a/test_x.py"]
    assert targets(store, "a/y.py", EdgeType.TEST_FILE) == ["a/y_test.py"]
    assert targets(store, "b/x.py", EdgeType.TEST_FILE) == []


def test_root_module_and_directory_of_three_files(tmp_path, store):
    root = write_tree(
        tmp_path / "p",
        {
            "one.py": "",
            "two.py": "",
            "three.py": "",
            "scripts/a.py": "",
            "scripts/b.py": "",
            "scripts/c.py": "",
            "few/a.py": "",
            "few/b.py": "",
        },
    )
    extract_build(root, store)
    assert node_ids(store, NodeType.MODULE) == [".", "scripts"]
    root_node = store.node(".")
    assert root_node.name == "p"
    assert root_node.path == "."
    # few/ is no module: its files belong to the nearest module above, the root.
    assert targets(store, ".", EdgeType.CONTAINS) == [
        "few/a.py",
        "few/b.py",
        "one.py",
        "scripts",
        "three.py",
        "two.py",
    ]


def test_names_imported_through_a_reexport_count(tmp_path, store):
    root = write_tree(
        tmp_path / "p",
        {
            "pkg/__init__.py": "from .impl import thing, other\n",
            "pkg/impl.py": "def thing():\n    pass\n\ndef other():\n    pass\n",
            "a.py": "from pkg import thing\n",
        },
    )
    extract_build(root, store)
    # thing: imported by pkg/__init__.py and, through it, by a.py; other: by pkg/__init__ only.
    assert node_ids(store, NodeType.FUNCTION) == ["pkg/impl.py:thing"]
    assert store.node("pkg/impl.py:thing").metadata["fan_in"] == 2


def test_complex_functions_and_thresholds(tmp_path, store):
    long_body = "\n".join(f"    x{i} = {i}" for i in range(30))
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(7))
    files = {
        "m.py": f"def long():\n{long_body}\n\ndef branchy(x):\n{branches}\n\n"
        f"def _hidden(x):\n{branches}\n\ndef small():\n    pass\n"
    }
    root = write_tree(tmp_path / "p", files)
    extract_build(root, store)
    assert node_ids(store, NodeType.FUNCTION) == ["m.py:branchy", "m.py:long"]
    branchy = store.node("m.py:branchy")
    assert branchy.metadata["complexity"] == 8
    assert branchy.metadata["kind"] == "function"
    assert branchy.metadata["start_line"] == 33
    assert branchy.metadata["end_line"] == 33 + 14
    assert store.node("m.py:long").metadata["lines"] == 31

    (root / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 100\n")
    summary = build(store)
    assert not summary.unchanged  # the thresholds changed
    assert node_ids(store, NodeType.FUNCTION) == ["m.py:branchy"]
    assert summary.removed == 1

    (root / "pyproject.toml").write_text("[tool.pith]\nfunction-min-complexity = 0\n")
    with pytest.raises(UsageError, match="function-min-complexity must be an integer >= 1"):
        build(store)


def test_metadata(project, store):
    git(project, "init", "-q")
    commit_all(project, "one", author="Ada Lovelace", date="2024-01-01T00:00:00+00:00")
    (project / "pkg" / "util.py").write_text("from .core import connect\n")
    commit_all(project, "two", author="Grace Hopper", date="2024-02-01T00:00:00+00:00")
    extract_build(project, store)
    keys = {"lines", "commits", "last_modified", "created", "authors", "fan_in", "fan_out"}
    core = store.node("pkg/core.py")
    assert keys | {"complexity"} <= set(core.metadata)
    assert core.metadata["fan_in"] == 5
    assert core.metadata["fan_out"] == 0
    assert core.metadata["commits"] == 1
    assert core.metadata["authors"] == ["Ada Lovelace"]
    assert core.metadata["created"].startswith("2024-01-01")
    pkg = store.node("pkg")
    assert pkg.metadata["commits"] == 2
    assert pkg.metadata["authors"] == ["Ada Lovelace", "Grace Hopper"]
    assert pkg.metadata["last_modified"].startswith("2024-02-01")
    assert pkg.metadata["fan_in"] == 2  # app.py, tests/test_core.py import into pkg
    assert pkg.metadata["fan_out"] == 0
    assert pkg.metadata["lines"] == sum(
        store.node(f).metadata["lines"] for f in store.file_hashes() if f.startswith("pkg/")
    )
    function = store.node("pkg/core.py:connect")
    assert keys | {"start_line", "end_line", "kind"} <= set(function.metadata)
    assert function.metadata["fan_in"] == 5


def test_problem_files_get_nodes(project, store):
    write_tree(project, {"pkg/broken.py": "def (\n"})
    extract_build(project, store)
    node = store.node("pkg/broken.py")
    assert "syntax error" in node.metadata["problem"]
    assert "pkg/broken.py" in targets(store, "pkg", EdgeType.CONTAINS)


def prose(source_hash: str) -> Prose:
    return Prose(
        summary="s",
        purpose="p",
        generated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        model="m",
        source_hash=source_hash,
    )


def write_all_prose(store):
    """As the generator does: files and functions, then packages bottom-up (a package's prose
    goes stale when a child's is written after it)."""
    for node in sorted(store.nodes(), key=write_order):
        store.save_prose(node.id, prose(node.source_hash))


def write_order(node):
    if node.type is not NodeType.MODULE:
        return (0, 0, node.id)
    return (1, -(node.id.count("/") + (node.id != ".")), node.id)


def stale_ids(store):
    hashes = store.prose_source_hashes()
    return sorted(n.id for n in store.nodes() if n.id in hashes and hashes[n.id] != n.source_hash)


def test_hashes_and_staleness_after_an_edit(project, store):
    extract_build(project, store)
    write_all_prose(store)
    assert store.prose_counts() == {"current": 13, "stale": 0, "missing": 0}

    core = project / "pkg" / "core.py"
    core.write_text(core.read_text().replace("return None", "return 0"))  # inside Client.send
    summary = extract_build(project, store)
    # The root (the overview) holds everything: it goes stale with anything below it.
    assert stale_ids(store) == [".", "pkg", "pkg/core.py", "pkg/core.py:Client"]
    assert (summary.prose_current, summary.prose_stale) == (9, 4)

    leaf = project / "pkg" / "sub" / "leaf.py"
    leaf.write_text(leaf.read_text() + "\n# more\n")
    extract_build(project, store)
    # A change deep down stales every module above it.
    assert stale_ids(store) == [
        ".",
        "pkg",
        "pkg/core.py",
        "pkg/core.py:Client",
        "pkg/sub",
        "pkg/sub/leaf.py",
    ]


def test_readme_change_stales_its_module(project, store):
    extract_build(project, store)
    write_all_prose(store)
    (project / "pkg" / "README.md").write_text("# pkg\n\nNew words.\n")
    extract_build(project, store)
    assert stale_ids(store) == [".", "pkg"]


def test_rebuild_drops_gone_nodes_and_keeps_their_paid_for_prose(project, store):
    extract_build(project, store)
    write_all_prose(store)
    util = (project / "pkg" / "util.py").read_text()
    (project / "pkg" / "util.py").unlink()
    (project / "app.py").unlink()
    summary = extract_build(project, store)
    assert store.node("pkg/util.py") is None
    # Client was imported by app.py and util.py only: no longer a function node.
    assert store.node("pkg/core.py:Client") is None
    assert summary.removed == 3
    assert store.prose("pkg/sub/leaf.py") is not None
    # The prose of the removed nodes is kept, out of every count, until pruned...
    assert store.prose("pkg/util.py") is not None
    assert store.orphaned_prose() == 3
    assert store.prose_counts()["missing"] == 0
    # ...and a node that comes back with the same source gets it back, current.
    (project / "pkg" / "util.py").write_text(util)
    extract_build(project, store)
    assert "pkg/util.py" not in stale_ids(store)
    assert store.prose_source_hashes()["pkg/util.py"] == store.node("pkg/util.py").source_hash
    assert store.orphaned_prose() == 2
    assert store.prune_prose() == 2
    assert store.orphaned_prose() == 0
    assert store.prose("app.py") is None


def test_unchanged_build_does_nothing(project, store):
    extract_build(project, store)
    write_all_prose(store)
    extract(project, store, workers=1)
    summary = build(store)
    assert summary.unchanged
    assert summary.nodes[NodeType.FILE] == 8
    assert summary.prose_current == 13
    assert not build(store, force=True).unchanged
    assert store.prose_counts()["current"] == 13
