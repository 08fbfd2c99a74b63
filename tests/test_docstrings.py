"""A docstring's opening as read answers show it: `pith._wiki._docstrings`, and `ask`/`show` on
a module whose docstring opens with a reStructuredText title (requests' style)."""

from __future__ import annotations

from pathlib import Path

from sample_project import write_project

from pith._build import build
from pith._extract import extract
from pith._store import Store
from pith._wiki._docstrings import first_paragraph, first_sentence
from pith._wiki._read import WikiReader

TITLED = "requests.exceptions\n~~~~~~~~~~~~~~~~~~~\n\nThis module contains the set of exceptions."


def test_a_title_is_not_the_opening() -> None:
    assert first_paragraph(TITLED) == "This module contains the set of exceptions."
    assert first_paragraph("=====\nTitle\n=====\nThe body.\nMore.") == "The body. More."
    assert first_paragraph("Title\n-----") == ""  # nothing but a title
    assert first_paragraph("One.\n  Two.\n\nThree.") == "One. Two."
    assert first_paragraph("One.\n  Two.\n\nThree.", one_line=False) == "One.\nTwo."
    assert first_paragraph("A --- dash.") == "A --- dash."  # not a line of its own
    assert first_paragraph(None) == first_paragraph("") == ""
    assert first_sentence(TITLED) == "This module contains the set of exceptions."
    assert first_sentence("First. Second.") == "First."
    assert first_sentence("x" * 200, limit=10) == "x" * 9 + "…"


def test_ask_and_show_open_a_titled_module_with_its_text(tmp_path: Path) -> None:
    project = {
        "pkg/__init__.py": "",
        "pkg/exceptions.py": f'"""{TITLED}"""\n\n\nclass RetryError(Exception):\n    pass\n',
    }
    root = write_project(tmp_path / "project", project)
    with Store.open(tmp_path / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        reader = WikiReader(store)
        entry = reader.ask("retry error").files[0]
        assert entry["id"] == "pkg/exceptions.py"
        assert entry["summary"] == "This module contains the set of exceptions."
        shown = reader.node("pkg/exceptions.py").to_markdown()
        assert "This module contains the set of exceptions." in shown
        assert "~~~" not in shown
        hit = next(h for h in reader.search("exceptions") if h.id == "pkg/exceptions.py")
        assert hit.doc == "This module contains the set of exceptions."
