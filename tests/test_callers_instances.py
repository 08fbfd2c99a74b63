"""Uses through an instance: ``app = App()`` then ``app.route(...)`` is a use of ``App.route``,
whatever the re-exports between them; what a function returns is not guessed."""

from __future__ import annotations

from pathlib import Path

from projects import write_tree

from pith._build import build
from pith._extract import extract
from pith._store import Store
from pith._wiki._read import WikiReader

PROJECT: dict[str, str | bytes] = {
    "web/__init__.py": "from .app import App\nfrom .client import Client\n",
    "web/app.py": (
        "class Base:\n"
        "    def mount(self, path):\n"
        "        return path\n"
        "class App(Base):\n"
        "    def route(self, path):\n"
        "        return path\n"
        "def make():\n"
        "    return App()\n"
    ),
    "web/client.py": (
        "class Client:\n"
        "    def __enter__(self):\n"
        "        return self\n"
        "    def __exit__(self, *args):\n"
        "        return None\n"
        "    def get(self, path):\n"
        "        return path\n"
    ),
    "web/serve.py": (
        "from .app import App, make\n"
        "def serve():\n"
        "    app = App()\n"
        "    app.route('/a')\n"
        "    other = make()\n"
        "    other.route('/b')\n"
        "    return app.mount('/m')\n"
    ),
    "tests/test_app.py": (
        "from web import App, Client\n"
        "app = App()\n"
        "app.route('/x')\n"
        "def test_get():\n"
        "    with Client() as client:\n"
        "        client.get('/x')\n"
        "def test_shadowed():\n"
        "    app = 3\n"
        "    app = App()\n"
        "    app.route('/y')\n"
    ),
}


def _uses(answer: dict[str, object], key: str) -> list[tuple[object, object]]:
    return [(u["file"], u["line"]) for u in answer[key]]  # type: ignore[attr-defined]


def test_uses_through_instances(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "demo", PROJECT)
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        reader = WikiReader(store)
        route = reader.callers("web/app.py:App.route").to_json()
        # serve.py:4 through a local instance; serve.py:6 (`make()`'s result) is not guessed.
        assert _uses(route, "callers") == [("web/serve.py", 4)]
        # A module-level instance made through a package re-export; a name given two
        # different things in one scope is not guessed.
        assert _uses(route, "tests") == [("tests/test_app.py", 3)]
        # An inherited method, through the instance.
        assert _uses(reader.callers("web/app.py:Base.mount").to_json(), "callers") == [
            ("web/serve.py", 7)
        ]
        # `with Client() as client`.
        assert _uses(reader.callers("web/client.py:Client.get").to_json(), "tests") == [
            ("tests/test_app.py", 6)
        ]


BLOCKS: dict[str, str | bytes] = {
    **PROJECT,
    "web/blocks.py": (
        "from .app import App\n"
        "from .client import Client\n"
        "def in_blocks(kind, items):\n"
        "    match kind:\n"
        "        case 'a':\n"
        "            first = App()\n"
        "            first.route('/match')\n"
        "    try:\n"
        "        pass\n"
        "    except ValueError:\n"
        "        second = App()\n"
        "        second.route('/except')\n"
        "    for item in items:\n"
        "        pass\n"
        "    else:\n"
        "        third: App = App()\n"
        "        third.route('/else')\n"
        "class Holder:\n"
        "    def run(self):\n"
        "        while True:\n"
        "            with Client() as client:\n"
        "                client.get('/while')\n"
        "async def in_async():\n"
        "    async with Client() as client:\n"
        "        client.get('/async')\n"
    ),
}


def test_instances_made_in_any_block(tmp_path: Path) -> None:
    """An instance bound in a match case, an except handler, a loop's else, a method's loop or
    an ``async with`` is found: the walk that gathers them visits every statement."""
    root = write_tree(tmp_path / "demo", BLOCKS)
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        reader = WikiReader(store)
        route = _uses(reader.callers("web/app.py:App.route").to_json(), "callers")
        assert [use for use in route if use[0] == "web/blocks.py"] == [
            ("web/blocks.py", 7),
            ("web/blocks.py", 12),
            ("web/blocks.py", 17),
        ]
        get = _uses(reader.callers("web/client.py:Client.get").to_json(), "callers")
        assert get == [("web/blocks.py", 22), ("web/blocks.py", 25)]


SUPER: dict[str, str | bytes] = {
    "web/base.py": (
        "class Base:\n"
        "    def mount(self, path):\n"
        "        return path\n"
        "    def close(self):\n"
        "        return None\n"
    ),
    "web/sub.py": (
        "from .base import Base\n"
        "class Sub(Base):\n"
        "    def mount(self, path):\n"
        "        return super().mount(path + '/')\n"
        "    def close(self):\n"
        "        super(Sub, self).close()\n"
        "class Plain:\n"
        "    def mount(self, path):\n"
        "        return super().mount(path)\n"
    ),
}


def test_super_reaches_the_base_class_member(tmp_path: Path) -> None:
    """``super().mount(...)`` in ``Sub.mount`` uses ``Base.mount`` (another file's), as
    ``grep -rn 'mount('`` shows; a class without project bases leads nowhere, and the
    two-argument ``super(C, self)`` is not guessed."""
    root = write_tree(tmp_path / "demo", SUPER)
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        reader = WikiReader(store)
        mount = reader.callers("web/base.py:Base.mount").to_json()
        close = reader.callers("web/base.py:Base.close").to_json()
        sub = reader.callers("web/sub.py:Sub.mount").to_json()
    assert _uses(mount, "callers") == [("web/sub.py", 4)]
    assert mount["callers"][0]["caller"] == "web/sub.py:Sub.mount"  # type: ignore[index]
    assert _uses(close, "callers") == []
    assert _uses(sub, "callers") == []  # its own super() call is not a use of itself
