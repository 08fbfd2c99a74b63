"""`pith export` into a directory someone else prepared (issue 23, points 2 and 8; issue 21,
point 5): it deletes and replaces only what it wrote, never follows a link, and writes inert
pages whatever the codebase or the model put in the text."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from projects import run_pith

from pith._build import build
from pith._errors import UsageError
from pith._extract import extract
from pith._models import Gotcha, Prose
from pith._store import Store
from pith._wiki import _markdown as md
from pith._wiki._export import MANIFEST, export_markdown

EVIL = "<img src=x onerror=alert(1)>"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A small project, extracted and built, with hostile names, docstrings and prose."""
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text('"""The <script>alert(1)</script> package."""\n')
    (project / "pkg" / "a.py").write_text(f'"""{EVIL}\n\n# Injected heading\n"""\nX = 1\n')
    (project / "pkg" / "b.py").write_text("Y = 2\n")
    (project / "pkg" / f"x{EVIL}\n# heading.py").write_text("Z = 3\n")
    data = tmp_path / "data"
    data.mkdir()
    with Store.open(data / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        for node in store.nodes():
            store.save_prose(
                node.id,
                Prose(
                    summary=f"See [here](javascript:alert(1)) {EVIL}\n# Owned\n`{EVIL}`",
                    purpose="<script>alert(2)</script>\n\n![x](data:text/html,evil)",
                    gotchas=(Gotcha(warning="<b>bold</b>\n## h2", location="\n# loc"),),
                    quick_start="```\n" + EVIL,  # a fence left open
                    generated_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                    model="m",
                    source_hash=node.source_hash,
                ),
            )
    return data / "pith.db"


def _export(db: Path, out: Path, **options: bool) -> int:
    with Store.open(db) as store:
        return export_markdown(store, out, **options).removed


def test_a_planted_manifest_deletes_nothing_outside(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    outside = tmp_path / "victim.txt"
    outside.write_text("precious")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.md").write_text("precious")
    (out / "link").symlink_to(elsewhere, target_is_directory=True)
    (out / MANIFEST).write_text(json.dumps(["../victim.txt", str(outside), "link/victim.md"]))
    assert _export(db, out) == 0
    # The same with the right digests: a stranger can compute them, and it changes nothing.
    manifest = json.loads((out / MANIFEST).read_text())
    for planted in ("../victim.txt", str(outside), "link/victim.md"):
        manifest["pages"][planted] = _digest("precious")
    (out / MANIFEST).write_text(json.dumps(manifest))
    assert _export(db, out) == 0
    assert outside.read_text() == "precious"
    assert (elsewhere / "victim.md").read_text() == "precious"


def test_a_symlinked_directory_on_the_way_is_refused(db: Path, tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "pkg").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UsageError, match="is a symbolic link"):
        _export(db, out, overwrite=True)
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["pkg"]  # nothing written before refusing
    result = run_pith("--data-dir", str(db.parent), "export", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_files_pith_did_not_write_are_not_replaced(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.md").write_text("my own index")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "pkg").mkdir()
    (out / "pkg" / "a.py.md").symlink_to(victim)
    result = run_pith("--data-dir", str(db.parent), "export", str(out), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "and 1 more exist and were not written by pith export" in result.stderr
    assert "--overwrite" in result.stderr
    assert (out / "index.md").read_text() == "my own index"
    assert not (out / MANIFEST).exists()

    result = run_pith("--data-dir", str(db.parent), "export", str(out), "--overwrite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "my own index" not in (out / "index.md").read_text()
    assert not (out / "pkg" / "a.py.md").is_symlink()  # the link was replaced, not followed
    assert victim.read_text() == "precious"

    # pith's own pages are replaced by a rerun; an edited one is the user's again.
    assert _export(db, out) == 0
    (out / "pkg" / "b.py.md").write_text("my notes")
    with pytest.raises(UsageError, match=r"b\.py\.md exist"):
        _export(db, out)
    assert (out / "pkg" / "b.py.md").read_text() == "my notes"


def test_an_older_manifest_still_lets_pith_replace_its_pages(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    _export(db, out)
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps(sorted(manifest["pages"])))  # the old format
    (out / "gone.py.md").write_text("[index](index.md)\n\nold page")
    (out / "mine.md").write_text("mine")
    old = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps([*old, "gone.py.md", "mine.md"]))
    assert _export(db, out) == 1
    assert not (out / "gone.py.md").exists()
    assert (out / "mine.md").read_text() == "mine"


def test_pages_are_inert(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    _export(db, out)
    renderer = MarkdownIt("commonmark", {"html": True})
    pages = sorted(out.rglob("*.md"))
    assert len(pages) >= 5
    for page in pages:
        html = renderer.render(page.read_text())
        assert not re.search(r"<(script|img|b)\b", html), (page, html)
        assert "javascript:" not in re.findall(r'href="([^"]*)"', html)
        assert not [h for h in re.findall(r'(?:href|src)="([^"]*)"', html) if ":" in h], page
        # Our own headings show a node id in code; no heading comes from the text.
        headings = [re.sub("<code>.*?</code>", "", h) for h in re.findall(r"<h\d>(.*)</h", html)]
        assert not [h for h in headings if re.search("Owned|heading|h2|loc", h)], page
        assert "<code>" in html  # code is kept as code, shown as written
    links = re.compile(r'href="([^"]+)"')
    for page in pages:
        for target in links.findall(renderer.render(page.read_text())):
            from urllib.parse import unquote

            assert (page.parent / unquote(target)).resolve().is_file(), (page, target)


_ALLOWED_TAGS = {"p", "code", "pre", "ul", "ol", "li", "em", "strong", "br", "blockquote", "hr"}
_MARKUP = st.text(alphabet="<>[]()`\\#=-*!:/ \n\tajsvx&;\"'", max_size=60)


@given(_MARKUP)
def test_untrusted_text_never_becomes_markup(value: str) -> None:
    renderer = MarkdownIt("commonmark", {"html": True})
    page = "\n\n".join(
        [f"# {md.code(value)}", md.line(value), md.text(value), f"- {md.line(value)}", "after"]
    )
    html = renderer.render(page)
    tags = {t.lower() for t in re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", html)}
    assert tags <= _ALLOWED_TAGS | {"h1"}, html
    assert html.count("<h1>") == 1, html
    assert html.rstrip().endswith("<p>after</p>"), html  # nothing swallowed what follows


def test_read_answers_are_inert(db: Path) -> None:
    """What `context`, `impact`, `search` and `ask` say is as inert as an exported page: a file
    named with markup, a docstring and a prose full of it make no tag, link or heading."""
    from pith._wiki._read import WikiReader, hits_markdown

    renderer = MarkdownIt("commonmark", {"html": True})
    with Store.open(db, read_only=True) as store:
        reader = WikiReader(store)
        files = [n.id for n in store.nodes() if n.id.endswith(".py")]
        assert any(EVIL in f for f in files)  # the file named with markup is there
        answers = {
            "context": reader.context(files).to_markdown(),
            "impact": reader.impact("pkg/a.py").to_markdown(),
            "search": hits_markdown("package", reader.search("package")),
            "ask": reader.ask("the package").markdown,
        }
    for name, answer in answers.items():
        html = renderer.render(answer)
        assert not re.search(r"<(script|img|b)\b", html), (name, html)
        assert not [h for h in re.findall(r'(?:href|src)="([^"]*)"', html) if ":" in h], name
        headings = [re.sub("<code>.*?</code>", "", h) for h in re.findall(r"<h\d>(.*)</h", html)]
        assert not [h for h in headings if re.search("Owned|heading|h2|loc", h)], (name, html)
