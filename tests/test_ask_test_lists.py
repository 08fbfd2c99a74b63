"""A briefing's test lists hold test files only: a test file's own entry never lists the source
it tests as one of its tests."""

from __future__ import annotations

from pathlib import Path

from projects import write_tree

from pith._build import build
from pith._extract import extract
from pith._models import is_test_path
from pith._store import Store
from pith._wiki._read import WikiReader


def test_test_lists_hold_test_files_only(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "demo",
        {
            "pkg/__init__.py": "",
            "pkg/frobnicate.py": "def frobnicate(x):\n    return x\n",
            "tests/test_frobnicate.py": (
                "from pkg.frobnicate import frobnicate\n\n"
                "def test_frobnicate():\n    assert frobnicate(1) == 1\n"
            ),
        },
    )
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        answer = WikiReader(store).ask("test frobnicate", tests=True).to_json()
    files = {f["id"]: f for f in answer["files"]}
    assert "tests/test_frobnicate.py" in files
    for entry in files.values():
        assert all(is_test_path(t) for t in entry["tests"]), entry
    if "pkg/frobnicate.py" in files:
        assert files["pkg/frobnicate.py"]["tests"] == ["tests/test_frobnicate.py"]
