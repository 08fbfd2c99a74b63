"""A real codebase nobody here wrote: the installed source of httpx, made a git repository with
commits by different authors inside the test, then extracted and built."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from projects import commit_all, git

from pith._build import build
from pith._extract import extract
from pith._models import EdgeType, NodeType
from pith._store import Store


@pytest.fixture(scope="module")
def httpx_repo(tmp_path_factory) -> Path:
    spec = importlib.util.find_spec("httpx")
    assert spec is not None
    assert spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations)))
    root = tmp_path_factory.mktemp("real") / "project"
    shutil.copytree(source, root / "httpx", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "README.md").write_text("# httpx, vendored\n")
    git(root, "init", "-q")
    commit_all(root, "Import httpx", author="Tom Christie", date="2023-01-01T12:00:00+00:00")
    client = root / "httpx" / "_client.py"
    client.write_text(client.read_text() + "\n# reviewed\n")
    commit_all(root, "Review the client", author="Kim Reviewer", date="2023-06-01T12:00:00+00:00")
    models = root / "httpx" / "_models.py"
    models.write_text(models.read_text() + "\n# reviewed\n")
    commit_all(root, "Review the models", author="Lee Other", date="2023-07-01T12:00:00+00:00")
    return root


@pytest.fixture(scope="module")
def store(httpx_repo, tmp_path_factory):
    with Store.open(tmp_path_factory.mktemp("db") / "pith.db") as store:
        summary = extract(httpx_repo, store, workers=1)
        assert summary.in_git
        assert summary.skipped == ()
        assert summary.parsed == summary.files > 20
        build(store)
        yield store


def test_known_classes_and_functions_have_nodes(store):
    client = store.node("httpx/_client.py:Client")
    assert client is not None
    assert client.type is NodeType.FUNCTION
    assert client.metadata["kind"] == "class"
    assert client.metadata["lines"] > 100
    assert store.node("httpx/_client.py:AsyncClient") is not None
    # httpx.get & co. live in _api.py.
    assert store.node("httpx/_api.py:request") is not None
    facts = store.file_facts("httpx/_client.py")
    (client_facts,) = [c for c in facts.classes if c.name == "Client"]
    send = next(m for m in client_facts.methods if m.name == "send")
    assert send.qualname == "Client.send"
    assert send.signature.startswith("(self, request: Request, *, stream: bool = False")


def test_imports_are_resolved(store):
    imported = {e.target for e in store.edges("httpx/_client.py", EdgeType.IMPORTS)}
    assert {"httpx/_models.py", "httpx/_config.py", "httpx/_types.py"} <= imported
    importers = {e.target for e in store.edges("httpx/_models.py", EdgeType.IMPORTED_BY)}
    assert "httpx/_client.py" in importers
    assert store.node("httpx/_models.py").metadata["fan_in"] >= 5
    transports = {e.target for e in store.edges("httpx/_transports/default.py", EdgeType.IMPORTS)}
    assert "httpx/_config.py" in transports  # `from .._config import ...`


def test_modules_and_containment(store):
    modules = [n.id for n in store.nodes(NodeType.MODULE)]
    assert "httpx" in modules
    assert "httpx/_transports" in modules
    contained = {e.target for e in store.edges("httpx", EdgeType.CONTAINS)}
    assert {"httpx/_transports", "httpx/_client.py", "httpx/__init__.py"} <= contained


def test_git_history_is_present(store):
    client = store.node("httpx/_client.py")
    assert client.metadata["commits"] == 2
    assert client.metadata["authors"] == ["Kim Reviewer", "Tom Christie"]
    assert client.metadata["last_modified"].startswith("2023-06-01")
    assert client.metadata["created"].startswith("2023-01-01")
    package = store.node("httpx")
    assert package.metadata["commits"] == 3
    assert set(package.metadata["authors"]) == {"Tom Christie", "Kim Reviewer", "Lee Other"}
    assert store.file_facts("httpx/_models.py").git.recent_subjects == (
        "Review the models",
        "Import httpx",
    )


def test_key_statements_found_in_real_code(store):
    kinds = {k.kind for f in store.all_file_facts() for k in f.key_statements}
    assert {"raise", "timeout", "status_check"} <= kinds
