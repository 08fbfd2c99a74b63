"""extract + build on real installed packages: exit 0, no traceback, and the graph's invariants.

The packages are the test environment's own (pith's dependencies and test tools): real code
nobody here wrote, with overloads, property setters, platform branches and redefinitions.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from pith._cli import main

# Each in its own right a package that crashed `build` (rich, click, pip) or has overloads,
# properties and version branches in quantity.
PACKAGES = [
    "rich",
    "click",
    "pip",
    "trio",
    "httpx",
    "httpcore",
    "attr",
    "cattrs",
    "hypothesis",
    "_pytest",
    "pygments",
    "idna",
    "h11",
    "sortedcontainers",
    "markdown_it",
    "outcome",
    "stamina",
    "nox",
    "setuptools",
    "pydantic",
    "starlette",
    "anyio",
    "attrs",
    "cattr",
    "pytest",
    "pytest_trio",
    "pluggy",
    "packaging",
    "pathspec",
    "iniconfig",
    "certifi",
    "sniffio",
    "mdurl",
    "structlog",
    "tenacity",
    "pkg_resources",
    "mypy",
    "mypyc",
    # The standard library: version and platform branches in quantity.
    "asyncio",
    "email",
    "multiprocessing",
    "concurrent",
    "importlib",
    "unittest",
    "xml",
    "logging",
    "http",
    "ctypes",
    "json",
    "urllib",
    "encodings",
    "lib2to3",
    "distutils",
    "tkinter",
]


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


AVAILABLE = [name for name in PACKAGES if _package_dir(name) is not None]


def test_the_corpus_is_broad():
    # rich, click and pip are dependencies of the test environment (pip of every venv).
    assert {"rich", "click", "pip", "trio", "httpx", "hypothesis"} <= set(AVAILABLE)


@pytest.mark.parametrize("package", AVAILABLE)
def test_extract_and_build_a_real_package(package, tmp_path, monkeypatch, capsys):
    source = _package_dir(package)
    assert source is not None
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    for command in (["extract", str(source)], ["build"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["--data-dir", str(data), "-q", *command])
        _, err = capsys.readouterr()
        assert exit_info.value.code == 0, err
        assert "Traceback" not in err
        assert "internal error" not in err

    db = sqlite3.connect(data / "pith.db")
    nodes = {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, type, path FROM nodes")}
    ids = [row[0] for row in db.execute("SELECT id FROM nodes")]
    assert len(ids) == len(set(ids))
    # Every extracted file has a node.
    files = [row[0] for row in db.execute("SELECT path FROM files")]
    assert files
    assert set(files) <= set(nodes)
    edges = db.execute("SELECT source, target, type FROM edges").fetchall()
    for source_id, target_id, _ in edges:
        assert source_id in nodes
        assert target_id in nodes
    # `contains` forms a tree: one parent per node, one root (the module "."), no cycle.
    parents = Counter(target for _, target, kind in edges if kind == "contains")
    assert max(parents.values()) == 1
    parent_of = {target: source for source, target, kind in edges if kind == "contains"}
    roots = set()
    for node_id in nodes:
        seen = {node_id}
        while node_id in parent_of:
            node_id = parent_of[node_id]
            assert node_id not in seen
            seen.add(node_id)
        roots.add(node_id)
    assert roots == {"."}
    # A function node lies inside its file.
    metadata = dict(db.execute("SELECT id, metadata FROM nodes"))
    for node_id, (node_type, path) in nodes.items():
        if node_type != "function":
            continue
        lines = json.loads(metadata[node_id])
        file_lines = json.loads(metadata[path])["lines"]
        assert 1 <= lines["start_line"] <= lines["end_line"] <= file_lines, node_id
