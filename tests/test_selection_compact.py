"""A selection holds its nodes compactly until a batch needs them (issue 20, point 9 and the
memory bound): a node's id, type and source hash, not a `Node` with its metadata each."""

from __future__ import annotations

import gc
import tracemalloc

import attrs
import pytest

from pith._build import build
from pith._extract import extract
from pith._generate._selection import NodeList, select_nodes
from pith._models import Node, NodeType
from pith._store import Store

FUNCTIONS = 600


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Two modules of FUNCTIONS short functions each, and a package of the two."""
    root = tmp_path_factory.mktemp("project")
    (root / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 1\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text('"""A package."""\n')
    for i in range(2):
        source = "".join(f"def f{j}(x):\n    return x + {j}\n\n\n" for j in range(FUNCTIONS))
        (root / "pkg" / f"mod{i}.py").write_text(f'"""Module {i}."""\n\n\n{source}')
    store = Store.open(tmp_path_factory.mktemp("data") / "pith.db")
    extract(root, store)
    build(store)
    return store


def test_a_selection_gives_back_each_node_without_its_metadata(store: Store) -> None:
    selection = select_nodes(store, force=True)
    expected = {node.id: attrs.evolve(node, metadata={}) for node in store.nodes()}
    assert len(selection) == len(expected) >= 2 * FUNCTIONS
    assert {node.id: node for node in selection.nodes} == expected
    assert list(selection.phase_one.ids) == [node.id for node in selection.phase_one]
    assert [node.id for node in selection.phase_two] == ["pkg", "."]  # deepest first
    assert selection.phase_two[-1].name == expected["."].name  # not the name its id implies


def test_a_selection_costs_little_memory_per_node(store: Store) -> None:
    """What a selection keeps is its ids, a byte of type and 32 bytes of hash per node: well
    under 200 bytes a node (a `Node` with its metadata, as before, took about 1.4 kB)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        selection = select_nodes(store, force=True)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept / len(selection) < 200, kept / len(selection)


def test_a_node_that_breaks_the_rules_is_kept_as_it_is() -> None:
    rows = [
        ("a.py:f", "function", "a.py", "f", "ab" * 32),
        ("a.py:g", "function", "elsewhere.py", "g", "cd" * 32),  # a path its id does not imply
        ("b.py", "file", "b.py", "b.py", "not a hash"),
        ("c.py", "file", "c.py", "c.py", "AB" * 32),  # upper case: would not read back
        (".", "module", ".", "project", ""),
    ]
    nodes = NodeList(rows)
    assert [(n.id, str(n.type), n.path, n.name, n.source_hash) for n in nodes] == rows
    assert nodes[1:3] == NodeList(rows[1:3])
    assert nodes[-1] == Node(".", NodeType.MODULE, ".", "project", "")
    assert next(nodes.heads()) == ("a.py:f", NodeType.FUNCTION)
