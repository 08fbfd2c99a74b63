"""extract + build on real installed packages: exit 0, no traceback, and the graph's invariants.

The packages are the test environment's own (pith's dependencies and test tools): real code
nobody here wrote, with overloads, property setters, platform branches and redefinitions.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sqlite3
import warnings
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
    extract_and_build(source, data, capsys)
    assert_graph_invariants(data)
    _check_symbols(source, data / "pith.db")


def extract_and_build(source: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``pith extract SOURCE`` and ``pith build`` into ``data``: both exit 0, no traceback."""
    for command in (["extract", str(source)], ["build"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["--data-dir", str(data), "-q", *command])
        _, err = capsys.readouterr()
        assert exit_info.value.code == 0, err
        assert "Traceback" not in err
        assert "internal error" not in err


def assert_graph_invariants(data: Path) -> None:
    """The store in ``data`` holds a node per extracted file, unique ids, edges between
    nodes, ``contains`` as one tree under ``.``, and each function node inside its file."""
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


def _definitions(tree: ast.Module) -> set[str]:
    """Every def's and class's qualified name and every module-level assigned name, walked
    here independently of pith: what `symbols` must hold."""
    found: set[str] = set()

    def visit(body: list[ast.stmt], prefix: str, module_level: bool) -> None:
        for statement in body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.add(prefix + statement.name)
                visit(statement.body, f"{prefix}{statement.name}.", False)
                continue
            if module_level and isinstance(statement, ast.Assign | ast.AnnAssign):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                found.update(
                    t.id
                    for t in targets
                    if isinstance(t, ast.Name)
                    and not (t.id.startswith("__") and t.id.endswith("__"))
                )
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list):
                    visit(inner, prefix, module_level)
            for part in [*getattr(statement, "handlers", []), *getattr(statement, "cases", [])]:
                visit(part.body, prefix, module_level)

    visit(tree.body, "", True)
    return found


def _check_symbols(source: Path, db_path: Path) -> None:
    """Every definition is a symbol; a sample is shown by id and by bare name, and searched."""
    from pith._errors import NotFoundError
    from pith._store import Store
    from pith._wiki._read import WikiReader
    from pith._wiki._views import node_view

    db = sqlite3.connect(db_path)
    parsed = [  # Python files: a package may ship scripts too (pip vendors a .js file)
        path
        for (path,) in db.execute(
            "SELECT path FROM files WHERE json_extract(facts, '$.problem') IS NULL"
        )
        if path.endswith(".py")
    ]
    stored = {(p, q) for p, q in db.execute("SELECT path, qualname FROM symbols")}
    db.close()
    for path in parsed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse((source / path).read_bytes())
        missing = {q for q in _definitions(tree) if (path, q) not in stored}
        assert not missing, (path, sorted(missing)[:10])
    with Store.open(db_path, read_only=True) as store:
        reader = WikiReader(store)
        sample = sorted(stored)[:: max(1, len(stored) // 25)]
        for path, qualname in sample:
            symbol_id = f"{path}:{qualname}"
            assert node_view(store, symbol_id)["id"] == symbol_id
            named = store.symbols_named(qualname, limit=101)
            if len(named) == 1:
                assert node_view(store, qualname)["id"] == symbol_id
            else:
                with pytest.raises(NotFoundError):
                    node_view(store, qualname)
            if len(named) <= 100:
                hits = [h.id for h in reader.search(qualname, limit=100)]
                assert symbol_id in hits, (symbol_id, hits[:5])
