"""The ranking rules under `pith ask` and `pith search`, each pinned on a project where only
that rule decides the order, and on a real codebase nobody here wrote (the installed httpx)."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from projects import commit_all, git
from sample_project import write_project

from pith._build import build
from pith._extract import extract
from pith._models import Prose
from pith._store import Store
from pith._wiki._ask import brief
from pith._wiki._read import WikiReader
from pith._wiki._retrieve import exact_names, query_terms, rank_files


def built(root: Path, data: Path) -> Store:
    store = Store.open(data / "pith.db")
    extract(root, store, workers=1)
    build(store)
    return store


def ranked(store: Store, question: str, limit: int = 10) -> list[str]:
    return [f.id for f in rank_files(store, question, limit=limit)]


# --- a real codebase -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def httpx_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    spec = importlib.util.find_spec("httpx")
    assert spec is not None
    assert spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations)))
    tmp = tmp_path_factory.mktemp("httpx")
    root = tmp / "project"
    shutil.copytree(source, root / "httpx", ignore=shutil.ignore_patterns("__pycache__"))
    with built(root, tmp / "data") as store:
        yield store


def test_the_file_saying_more_of_the_question_together_comes_first(httpx_store: Store) -> None:
    # `_client.py` strips the Authorization header on redirects (`_redirect_headers`);
    # `_main.py`, the command line, says "header" in many names and "Authorization" once.
    assert ranked(httpx_store, "redirects drop the Authorization header")[0] == "httpx/_client.py"


def test_a_briefing_picks_the_symbols_of_the_rarer_words_first(httpx_store: Store) -> None:
    # "header" is in most of httpx; "redirect" in few: the redirect methods come before the
    # `headers` property and `_merge_headers`.
    entry = brief(httpx_store, "redirects drop the Authorization header").files[0]
    assert entry["id"] == "httpx/_client.py"
    firsts = [s["id"].rsplit(".", 1)[1] for s in entry["symbols"][:3]]
    assert all("redirect" in name for name in firsts), firsts


def test_a_class_named_as_typed_is_found_in_its_module(httpx_store: Store) -> None:
    assert ranked(httpx_store, "AsyncClient")[0] == "httpx/_client.py"
    # Saying a module's words ("decoders") finds it even among files full of "response".
    assert "httpx/_decoders.py" in ranked(httpx_store, "decoders of compressed responses", 3)


# --- one rule each -------------------------------------------------------------------------------


COVERAGE = {
    # "Authorization" said again and again, and nothing else of the question.
    "pkg/auth.py": """
        '''Authorization: the Authorization scheme, authorization values.'''

        def authorization_scheme(authorization):
            '''The scheme of an Authorization value.'''

        def authorization_token(authorization):
            '''The token of an Authorization value.'''

        def basic_authorization(user, password):
            '''An Authorization value for basic authorization.'''
        """,
    # Each of the question's words once.
    "pkg/sessions.py": """
        '''Sessions.'''

        def follow(response):
            '''Follow a redirect: the Authorization header goes only to the same host.'''
        """,
    # "redirect" and "header" are in most files: they still count, a little.
    "pkg/models.py": """
        '''Requests and responses, with a header each; a response may redirect.'''

        def request(url, header):
            '''A request.'''
        """,
    "pkg/status.py": """
        '''Status codes: a redirect, with a Location header.'''
        """,
    "pkg/hooks.py": """
        '''Hooks run on each redirect and header.'''
        """,
    "pkg/streams.py": """
        '''Streams of bytes, after the header, before a redirect.'''
        """,
    # A task word ("fix", "add") names no place: a file all about fixes is not the answer.
    "pkg/fixes.py": """
        '''Fixes: fix ups, fixers and the fix list.'''

        def fix(value):
            '''Fix a value.'''

        def fix_all(values):
            '''Fix all values.'''

        def add_fix(fixes, fix):
            '''Add a fix to the fixes.'''
        """,
    "pkg/pool.py": """
        '''A pool of connections, opened on demand and kept for the next request.'''

        def open_connection(host, port):
            '''Open a connection to a host and port, or give up after the timeout.'''

        def keep(connection):
            '''Keep a connection for the next request to the same host.'''

        def close_all(pool):
            '''Close every connection of the pool.'''
        """,
}


def project_store(
    factory: pytest.TempPathFactory, name: str, files: dict[str, str]
) -> Iterator[Store]:
    tmp = factory.mktemp(name)
    with built(write_project(tmp / "project", files), tmp / "data") as store:
        yield store


@pytest.fixture(scope="module")
def coverage_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from project_store(tmp_path_factory, "coverage", COVERAGE)


def test_more_of_the_questions_words_beats_one_word_many_times(coverage_store: Store) -> None:
    # "redirect" and "header" are each in most files (FTS5's idf gives them nothing); a file
    # saying "redirect", "Authorization" and "header" once each beats one saying
    # "Authorization" ten times.
    files = ranked(coverage_store, "redirects drop the Authorization header")
    assert files[0] == "pkg/sessions.py"
    assert files.index("pkg/sessions.py") < files.index("pkg/auth.py")


def test_task_words_weigh_less_than_the_words_of_the_place(coverage_store: Store) -> None:
    assert ranked(coverage_store, "fix the timeout")[0] == "pkg/pool.py"
    # A question of task words only is still answered by them.
    assert ranked(coverage_store, "fix")[0] == "pkg/fixes.py"


PLACES = {
    "pkg/export.py": """
        '''Writing pages to a directory.'''

        def write_pages(directory):
            '''Write the pages, replacing only the ones written before.'''
        """,
    "pkg/layout.py": """
        '''Layout: decide where each page goes.'''

        def decide(page):
            '''Decide the place of a page: decide by the page's size, its own size.'''
        """,
    "pkg/pages.py": """
        '''Pages: each page has its own title; a page is decided by its title.'''
        """,
    "pkg/types.py": """
        '''Types of pages.'''
        """,
    "pkg/cells.py": """
        '''Cell widths.'''

        def cell_len(text):
            '''The width of a text in cells.'''
        """,
    "pkg/console.py": """
        '''The console: prints text in cells, wraps text, cuts text.'''

        def print_text(text):
            '''Print a text in cells: wrap the text to the width.'''

        def wrap_text(text, width):
            '''Wrap a text to a width.'''
        """,
    "scripts/make_widths.py": """
        '''Make the table of cell widths of every text character, for the console.'''

        def make_widths():
            '''Make the cell widths table: the width of each text character in cells.'''
        """,
    "setup.py": """
        '''Install the package that wraps text in cells.'''
        """,
}


@pytest.fixture(scope="module")
def places_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from project_store(tmp_path_factory, "places", PLACES)


def test_a_module_the_question_names_is_found(places_store: Store) -> None:
    # layout.py and pages.py say "decide", "page" and "own", export.py none of them; but
    # the question names export (and pages).
    files = ranked(places_store, "where does export decide a page is its own")
    assert "pkg/export.py" in files[:2]
    found = rank_files(places_store, "where does export decide a page is its own")
    assert "module export" in next(f for f in found if f.id == "pkg/export.py").why
    # A part of an identifier, or of a path, names no module: `TypeError` is not types.py.
    for question in ("raise `TypeError` for a bad page", "see pkg/types/test_pages.py"):
        found = rank_files(places_store, question)
        assert all("module types" not in f.why for f in found), found
    assert "module types" in rank_files(places_store, "the types of pages")[0].why


def test_development_scripts_come_after_the_code_unless_asked(places_store: Store) -> None:
    # The script says every word of the question; the code it serves comes first all the same.
    files = ranked(places_store, "cell widths of text characters")
    assert files[0] == "pkg/cells.py"
    assert "scripts/make_widths.py" in files  # after, not dropped
    assert ranked(places_store, "the script that makes the widths table")[0] == (
        "scripts/make_widths.py"
    )


def test_builtin_names_inside_an_expression_are_not_names_asked_for() -> None:
    assert exact_names("Fix using `Json[list[str]]` type") == ["json"]
    assert exact_names("`str`") == ["str"]
    assert exact_names("what calls `dict.get` here") == ["get"]


def test_versions_and_issue_numbers_say_when_not_where() -> None:
    assert query_terms("Fix schemas introduced in 0.119.0 (#5342)") == ["fix", "schema", "introduc"]
    assert query_terms("HTTP 404 page, v2.1 api") == ["http", "404", "page", "api"]
    assert "sha256" in query_terms("sha256 digest")


NAMED_PACKAGES = {
    "pkg/__init__.py": "",
    "pkg/openapi/__init__.py": "",
    "pkg/openapi/utils.py": """
        def get_route_docs(routes):
            '''The documents of every route.'''
        """,
    "pkg/compat.py": """
        '''Generation of schemas: generate a schema for each model, through the generator.'''

        class GenerateSchema:
            '''Generation of schemas.'''
        """,
    "pkg/core/utils.py": """
        def merge_openapi(first, second):
            '''Merge two schemas.'''
        """,
}


@pytest.fixture(scope="module")
def packages_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    yield from project_store(tmp_path_factory, "packages", NAMED_PACKAGES)


def test_a_vague_module_is_named_by_its_package(packages_store: Store) -> None:
    """`openapi/utils.py` is the openapi package's helpers: a question saying openapi names
    it, though rarer words of the question are elsewhere; `core/utils.py` says nothing."""
    found = rank_files(packages_store, "openapi schema generation")
    ids = [f.id for f in found]
    # compat.py says two of the three words together; the package named comes next (its
    # __init__.py and its utils.py), before a file that only says openapi in a name.
    assert ids[0] == "pkg/compat.py"
    assert set(ids[1:3]) == {"pkg/openapi/__init__.py", "pkg/openapi/utils.py"}, found
    assert "module openapi" in next(f for f in found if f.id == "pkg/openapi/utils.py").why
    assert all("module" not in " ".join(f.why) for f in found if f.id == "pkg/core/utils.py")


def test_a_file_often_committed_with_a_top_hit_is_found_through_it(tmp_path: Path) -> None:
    """`styles.py` says no word of the question, but it changes with `traceback.py` (each
    traceback feature adds a style): git history finds it, an unrelated file stays out."""
    root = write_project(
        tmp_path / "project",
        {
            "rich/traceback.py": """
                '''Render tracebacks with notes and frames.'''
                def render_traceback(notes):
                    '''Render a traceback and its notes.'''
                """,
            "rich/styles.py": "DEFAULT = {'traceback.border': 'red'}\n",
            "rich/colors.py": "BLACK = 0\n",
        },
    )
    git(root, "init", "-q")
    commit_all(root, "Initial import", author="Ada Lovelace")
    for n in range(3):
        for path in ("rich/traceback.py", "rich/styles.py"):
            with (root / path).open("a") as f:
                f.write(f"\nX{n} = {n}\n")
        commit_all(root, f"Add style {n}", author="Ada Lovelace")
    with built(root, tmp_path / "data") as store:
        found = rank_files(store, "render traceback notes")
        # `context` says it too: what a change to the file usually also touches.
        context = WikiReader(store).context(["rich/traceback.py"])
        changed = [{"id": "rich/styles.py", "commits": 4, "of": 4}]  # the import, then 3 more
        assert context.files[0]["changed_with"] == changed
        assert "Often changed with: `rich/styles.py` (4 of 4 commits)." in context.to_markdown()
        impact = WikiReader(store).impact("rich/traceback.py:render_traceback")
        assert impact.changed_with == changed
        assert "Usually changed with it: `rich/styles.py` (4 of 4 commits)." in impact.to_markdown()
        assert WikiReader(store).impact("rich").changed_with == []  # a package: not said
    ids = [f.id for f in found]
    assert ids[:2] == ["rich/traceback.py", "rich/styles.py"]
    assert "changed with rich/traceback.py" in found[1].why
    assert "rich/colors.py" not in ids


def _prose(summary: str, source_hash: str) -> Prose:
    return Prose(summary=summary, purpose="p", model="m", source_hash=source_hash)


def test_a_files_prose_ranks_it_written_rebuilt_and_migrated(tmp_path: Path) -> None:
    """A word only in a file's prose finds the file: once its prose is written, after a build
    (which indexes every file again), and in a store of schema 6 (whose retrieval index held
    the prose in a column of each file's row), once migrated."""
    root = write_project(
        tmp_path / "project",
        {
            "pkg/wire.py": "'''Bytes on the wire.'''\ndef send(data):\n    return data\n",
            "pkg/store.py": "'''Rows on disk.'''\ndef save(row):\n    return row\n",
        },
    )
    db = tmp_path / "data" / "pith.db"
    with built(root, tmp_path / "data") as store:
        assert ranked(store, "zeppelin") == []
        node = store.node("pkg/store.py")
        assert node is not None
        store.save_prose(node.id, _prose("Moors the zeppelin rows.", node.source_hash))
        assert ranked(store, "zeppelin") == ["pkg/store.py"]
        # A new prose replaces the old one's words.
        store.save_prose(node.id, _prose("Keeps the airship rows.", node.source_hash))
        assert ranked(store, "zeppelin") == []
        assert ranked(store, "airship") == ["pkg/store.py"]
        build(store, force=True)
        assert ranked(store, "airship") == ["pkg/store.py"]
    with sqlite3.connect(db) as old:  # as schema 6 held it: one table, prose a column
        old.executescript(
            "DROP TABLE retrieval; DROP TABLE retrieval_prose;"
            " CREATE VIRTUAL TABLE retrieval USING fts5(path, defines, names, text, body,"
            " history, prose, tokenize = \"unicode61 tokenchars '_'\");"
            " INSERT INTO retrieval (rowid, path, prose)"
            " SELECT rowid, 'pkg store py', 'keeps the airship rows' FROM nodes"
            " WHERE id = 'pkg/store.py';"
            " PRAGMA user_version = 6;"
        )
    with Store.open(db) as store:
        assert ranked(store, "airship") == ["pkg/store.py"]
        assert ranked(store, "disk") == ["pkg/store.py"]  # its own text, indexed again
