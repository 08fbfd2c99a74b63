"""Symbols, references, callers and test lists on a small project with re-exports, aliases,
methods, nested functions and tests: every answer checked exactly; and, on random projects,
that every reference reaches a symbol and every test listed is a test file."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projects import extract_and_build, write_tree

from pith._build import build
from pith._errors import NotFoundError
from pith._extract import extract
from pith._models import is_test_path
from pith._store import Store
from pith._wiki._read import WikiReader
from pith._wiki._views import (
    OPENING_CHARS,
    file_symbols,
    node_page,
    node_view,
    readme_opening,
    symbols_markdown,
)

PROJECT: dict[str, str | bytes] = {
    "pyproject.toml": '[project]\nname = "demo"\n[project.scripts]\ndemo = "pkg.cli:main"\n',
    "README.md": (
        "# demo\n\nA demo project: it sends requests to a server and reads the replies.\n"
    ),
    "pkg/__init__.py": (
        '"""The demo package."""\n'
        "from .core import Client, connect as open_connection\n"
        "from ._auth import BasicAuth\n"
        "from . import util\n"
        "DEFAULT_TIMEOUT = 5.0\n"
    ),
    "pkg/core.py": (
        "from ._auth import BasicAuth as Auth\n"
        "from .util import helper\n"
        "LIMIT = 3\n"
        "class Base:\n"
        "    def close(self):\n"
        "        return None\n"
        "class Client(Base):\n"
        "    def __init__(self, auth=None):\n"
        '        self.auth = auth or Auth("u", "p")\n'
        "    def send(self, request):\n"
        "        self.prepare(request)\n"
        "        return helper(request)\n"
        "    def prepare(self, request):\n"
        "        return LIMIT\n"
        "    def __exit__(self, *args):\n"
        "        self.close()\n"
        "def connect():\n"
        "    def inner():\n"
        "        return Client()\n"
        "    return inner()\n"
    ),
    "pkg/_auth.py": (
        "class BasicAuth:\n"
        "    def __init__(self, user, password):\n"
        "        self.user = user\n"
        "    def header(self):\n"
        "        return encode(self.user)\n"
        "def encode(value):\n"
        "    return value\n"
    ),
    "pkg/util.py": "def helper(x):\n    return x\ndef unused():\n    return getattr(helper, 'x')\n",
    "pkg/cli.py": (
        "import pkg\n"
        "from pkg.core import Client\n"
        "def main():\n"
        "    client = Client()\n"
        "    pkg.util.helper(pkg.DEFAULT_TIMEOUT)\n"
        "    return Client.send(client, 1)\n"
    ),
    "pkg/__main__.py": "from .cli import main\nmain()\n",
    "tests/conftest.py": "from pkg.util import helper\nVALUE = helper(1)\n",
    "tests/test_auth.py": (
        'from pkg import BasicAuth\ndef test_header():\n    assert BasicAuth("a", "b").header()\n'
    ),
    "tests/test_client.py": (
        "import pkg.core as core\n"
        "from pkg import open_connection\n"
        "class TestClient:\n"
        "    def test_send(self):\n"
        "        core.Client.send(core.Client(), 1)\n"
        "    def test_connect(self):\n"
        "        open_connection()\n"
        "def make():\n"
        "    return core.Client()\n"
        "def test_missing():\n"
        "    core.nothing()\n"
    ),
}


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WikiReader]:
    root = write_tree(tmp_path_factory.mktemp("symbols") / "demo", PROJECT)
    with Store.open(root.parent / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        yield WikiReader(store)


def uses(answer: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(u["file"], u["line"], u["caller"], u["target"]) for u in answer]


def test_every_definition_is_a_symbol_with_its_kind(reader: WikiReader) -> None:
    kinds = {s.qualname: str(s.kind) for s in reader.store.symbols_in("pkg/core.py")}
    assert kinds == {
        "LIMIT": "constant",
        "Base": "class",
        "Base.close": "method",
        "Client": "class",
        "Client.__init__": "method",
        "Client.send": "method",
        "Client.prepare": "method",
        "Client.__exit__": "method",
        "connect": "function",
        "connect.inner": "function",
    }
    send = reader.store.symbol("pkg/core.py:Client.send")
    assert send is not None
    assert (send.start_line, send.end_line, send.signature) == (10, 12, "def send(self, request)")
    timeout = reader.store.symbol("pkg/__init__.py:DEFAULT_TIMEOUT")
    assert timeout is not None
    assert timeout.signature == "DEFAULT_TIMEOUT = 5.0"


def test_callers_of_a_method_through_a_class_and_a_module_alias(reader: WikiReader) -> None:
    answer = reader.callers("pkg/core.py:Client.send").to_json()
    assert answer["kind"] == "method"
    assert uses(answer["callers"]) == [
        ("pkg/cli.py", 6, "pkg/cli.py:main", "pkg/core.py:Client.send"),
    ]
    assert answer["callers"][0]["text"] == "return Client.send(client, 1)"
    assert uses(answer["tests"]) == [
        (
            "tests/test_client.py",
            5,
            "tests/test_client.py:TestClient.test_send",
            "pkg/core.py:Client.send",
        ),
    ]
    assert answer["tests"][0]["command"] == "pytest tests/test_client.py::TestClient::test_send"
    # `core.nothing()` leads into core.py and to nothing it defines: counted, not guessed.
    assert answer["unresolved"] == 1


def test_callers_of_a_class_through_a_package_re_export(reader: WikiReader) -> None:
    answer = reader.callers("pkg/_auth.py:BasicAuth").to_json()
    # `from ._auth import BasicAuth as Auth` in core.py, `from pkg import BasicAuth` in a test.
    assert uses(answer["callers"]) == [
        ("pkg/core.py", 9, "pkg/core.py:Client.__init__", "pkg/_auth.py:BasicAuth"),
    ]
    assert uses(answer["tests"]) == [
        ("tests/test_auth.py", 3, "tests/test_auth.py:test_header", "pkg/_auth.py:BasicAuth"),
    ]
    assert answer["unresolved"] == 0


def test_callers_by_bare_name_self_calls_inheritance_and_nested_functions(
    reader: WikiReader,
) -> None:
    # `self.close()` in Client reaches the method Client inherits from Base.
    assert uses(reader.callers("close").to_json()["callers"]) == [
        ("pkg/core.py", 16, "pkg/core.py:Client.__exit__", "pkg/core.py:Base.close"),
    ]
    assert uses(reader.callers("prepare").to_json()["callers"]) == [
        ("pkg/core.py", 11, "pkg/core.py:Client.send", "pkg/core.py:Client.prepare"),
    ]
    assert uses(reader.callers("connect.inner").to_json()["callers"]) == [
        ("pkg/core.py", 20, "pkg/core.py:connect", "pkg/core.py:connect.inner"),
    ]
    # An alias of a re-export (`connect as open_connection`), used in a test method.
    connect = reader.callers("pkg/core.py:connect").to_json()
    assert connect["callers"] == []
    assert uses(connect["tests"]) == [
        (
            "tests/test_client.py",
            7,
            "tests/test_client.py:TestClient.test_connect",
            "pkg/core.py:connect",
        ),
    ]
    # A module constant through the package (`pkg.DEFAULT_TIMEOUT`), and a submodule through
    # the package's `from . import util` (`pkg.util.helper`); a conftest's use runs its tests.
    assert uses(reader.callers("DEFAULT_TIMEOUT").to_json()["callers"]) == [
        ("pkg/cli.py", 5, "pkg/cli.py:main", "pkg/__init__.py:DEFAULT_TIMEOUT"),
    ]
    helper = reader.callers("helper").to_json()
    assert uses(helper["callers"]) == [
        ("pkg/cli.py", 5, "pkg/cli.py:main", "pkg/util.py:helper"),
        ("pkg/core.py", 12, "pkg/core.py:Client.send", "pkg/util.py:helper"),
        ("pkg/util.py", 4, "pkg/util.py:unused", "pkg/util.py:helper"),
    ]
    assert [(t["file"], t["caller"], t["command"]) for t in helper["tests"]] == [
        ("tests/conftest.py", "tests/conftest.py", "pytest tests/"),
    ]


def test_callers_of_a_file_and_unknown_or_ambiguous_names(reader: WikiReader) -> None:
    answer = reader.callers("pkg/core.py").to_json()
    assert {u["target"] for u in answer["tests"]} == {
        "pkg/core.py:Client",
        "pkg/core.py:Client.send",
        "pkg/core.py:connect",
    }
    assert ("tests/test_client.py", 9, "tests/test_client.py:make", "pkg/core.py:Client") in uses(
        answer["tests"]
    )
    # A use outside any test function runs its whole file.
    make = next(u for u in answer["tests"] if u["caller"] == "tests/test_client.py:make")
    assert make["command"] == "pytest tests/test_client.py"
    with pytest.raises(NotFoundError, match="names 2 symbols"):
        reader.callers("__init__")
    with pytest.raises(NotFoundError):
        reader.callers("no_such_name")
    markdown = reader.callers("pkg/core.py:Client.send").to_markdown()
    assert "`pkg/cli.py:6` in `pkg/cli.py:main`: `return Client.send(client, 1)`" in markdown
    assert "pytest tests/test_client.py::TestClient::test_send" in markdown


def test_test_lists_of_context_and_impact(reader: WikiReader) -> None:
    context = reader.context(["pkg/_auth.py", "pkg/core.py", "tests/test_auth.py"]).to_json()
    assert context["tests"] == [
        {
            "id": "tests/test_auth.py",
            "of": "pkg/_auth.py",
            "via": "references",
            "tests": ["tests/test_auth.py::test_header"],
            "command": "pytest tests/test_auth.py::test_header",
        },
        {
            "id": "tests/test_client.py",
            "of": "pkg/core.py",
            "via": "references",
            "tests": [
                "tests/test_client.py::TestClient::test_send",
                "tests/test_client.py::TestClient::test_connect",
            ],
            "command": (
                "pytest tests/test_client.py::TestClient::test_send"
                " tests/test_client.py::TestClient::test_connect"
            ),
        },
    ]
    impact = reader.impact("pkg/core.py:Client").to_json()
    # test_auth.py imports pkg, which imports core.py, but nothing it uses reaches Client.
    assert impact["tests"] == ["tests/test_client.py"]
    # What calls a symbol in its own file carries a change on: `send` calls `prepare`, and
    # cli.py and test_client.py call `send`.
    prepare = reader.impact("pkg/core.py:Client.prepare").to_json()
    assert prepare["tests"] == ["tests/test_client.py"]
    assert {f["id"] for f in prepare["files"] if f["uses"]} == {
        "pkg/cli.py",
        "tests/test_client.py",
    }
    # `Client()` runs `Client.__init__`: the calls of the class are its uses.
    init = reader.impact("pkg/core.py:Client.__init__").to_json()
    assert {"pkg/cli.py", "tests/test_client.py"} <= {f["id"] for f in init["files"] if f["uses"]}
    assert init["tests"] == ["tests/test_client.py"]
    # conftest.py uses `helper`: its directory's tests run it (`pytest tests/`).
    helper = reader.impact("pkg/util.py:helper").to_json()
    assert helper["tests"] == ["tests/conftest.py", "tests/test_client.py"]
    assert helper["commands"] == ["pytest tests/ tests/test_client.py"]
    unused = reader.impact("pkg/util.py:unused")
    assert unused.tests == []
    assert "No test that pith resolved uses it; `pith impact `pkg/util.py`` lists" not in (
        unused.to_markdown()
    )
    assert "No test that pith resolved uses it; `pith impact pkg/util.py` lists" in (
        unused.to_markdown()
    )
    cli = next(f for f in impact["files"] if f["id"] == "pkg/cli.py")
    assert cli["depth"] == 1
    assert cli["uses"] == [
        {"name": "pkg/core.py:Client", "lines": [4]},
        {"name": "pkg/core.py:Client.send", "lines": [6]},
    ]
    assert cli["functions"] == ["pkg/cli.py:main"]


def test_a_test_file_named_after_a_source_is_listed_by_name(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "lib/_auth.py": "def login():\n    return 1\n",
            "lib/security/oauth2.py": "X = 1\n",
            "lib/security/__init__.py": "",
            "lib/__init__.py": "",
            "tests/test_auth.py": "def test_nothing():\n    pass\n",
            "tests/test_security_oauth2_optional.py": "",
            "tests/test_security_oauth2.py": "",
            "tests/test_sse.py": "",
            "lib/sse.py": "",
        },
    )
    with extract_and_build(root, tmp_path / "pith.db")[0] as store:
        reader = WikiReader(store)
        assert [(t["id"], t["via"]) for t in reader.tests_of("lib/_auth.py")] == [
            ("tests/test_auth.py", "name"),
        ]
        assert [t["id"] for t in reader.tests_of("lib/security/oauth2.py")] == [
            "tests/test_security_oauth2.py",
            "tests/test_security_oauth2_optional.py",
        ]
        # A test file is never listed as the test of a test, nor a source as a test.
        assert reader.tests_of("tests/test_sse.py") == []
        assert [t["id"] for t in reader.tests_of("lib/sse.py")] == ["tests/test_sse.py"]


def test_listed_signatures_elide_annotated_docs_and_json_keeps_them(tmp_path: Path) -> None:
    doc = "A long description of the path, as fastapi writes its parameters' documentation."
    root = write_tree(
        tmp_path / "p",
        {
            "lib/__init__.py": "",
            "lib/routing.py": (
                "from typing import Annotated\n"
                "from doc import Doc\n\n\n"
                "def add_route(path: Annotated[str, Doc(" + repr(doc) + ")], *, name: str = 'x'"
                ") -> None:\n"
                "    return None\n"
            ),
            # Used by two files: the function is a node of its own, shown by `context`.
            "lib/a.py": "from lib.routing import add_route\n\nadd_route('a')\n",
            "lib/b.py": "from lib.routing import add_route\n\nadd_route('b')\n",
        },
    )
    with extract_and_build(root, tmp_path / "pith.db")[0] as store:
        reader = WikiReader(store)
        short = "def add_route(path: str, *, name: str='x') -> None"
        context = reader.context(["lib/routing.py"])
        assert f"`{short}`" in context.to_markdown()  # the function's own section
        assert doc not in context.to_markdown()
        # The file's symbol listing (its exported page).
        listing = "\n".join(symbols_markdown(file_symbols(store, "lib/routing.py")))
        assert f"`{short}`" in listing
        assert doc not in listing
        # The data keeps the signature as written, and so does the symbol's own page.
        assert doc in json.dumps(context.to_json())
        assert doc in node_page(store, "lib/routing.py:add_route")  # `pith show`'s page
        # `/node` and MCP `node` give what `show` gives: the function node's source too.
        page = reader.node("lib/routing.py:add_route")
        assert page.to_json()["source"]["signature"].startswith("def add_route(path: Annotated")
        assert page.to_markdown() == node_page(store, "lib/routing.py:add_route")


def test_impact_of_a_method_lists_the_files_that_use_it_first(reader: WikiReader) -> None:
    impact = reader.impact("Client.send")  # a method: a symbol without a node of its own
    assert impact.id == "pkg/core.py:Client.send"
    assert impact.resolved_from == "Client.send"
    near = [f["id"] for f in impact.files if f["depth"] == 1]
    assert near == ["pkg/cli.py", "tests/test_client.py", "pkg/__init__.py"]  # users first
    assert impact.files[0]["uses"] == [{"name": "pkg/core.py:Client.send", "lines": [6]}]
    assert impact.files[0]["functions"] == ["pkg/cli.py:main"]
    # In Markdown a direct importer that uses none of its names is counted, not listed.
    markdown = impact.to_markdown()
    assert "- `pkg/cli.py`" in markdown
    assert "- `pkg/__init__.py`" not in markdown
    assert "- and 1 more file importing `pkg/core.py` without a use of it" in markdown
    with pytest.raises(NotFoundError):
        reader.impact("pkg/core.py:Client.nothing")
    # The file part typed as a file is typed anywhere: a unique suffix, a dotted module.
    assert reader.impact("core.py:Client.send").id == "pkg/core.py:Client.send"
    assert reader.impact("pkg.core:Client.send").resolved_from == "pkg.core:Client.send"
    assert reader.callers("core.py:Client.send").id == "pkg/core.py:Client.send"
    with pytest.raises(NotFoundError):
        reader.callers("core.py:Client.nothing")


def test_an_instance_used_where_it_is_made_is_a_use_of_its_class(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "pkg/__init__.py": "",
            "pkg/core.py": (
                "class Client:\n"
                "    def send(self, x):\n"
                "        return x\n"
                "def make():\n"
                "    return Client()\n"
                "def local():\n"
                "    return make().send(0)\n"  # a function's result: not guessed
            ),
            "tests/test_core.py": (
                "import pkg.core as core\n"
                "from pkg.core import Client\n"
                "def test_direct():\n"
                "    Client().send(1)\n"
                "def test_through_the_module():\n"
                "    core.Client(timeout=2).send(2).bit_length()\n"
            ),
        },
    )
    with extract_and_build(root, tmp_path / "pith.db")[0] as store:
        reader = WikiReader(store)
        send = reader.callers("pkg/core.py:Client.send")
        assert [(u["file"], u["line"], u["caller"]) for u in send.tests] == [
            ("tests/test_core.py", 4, "tests/test_core.py:test_direct"),
            ("tests/test_core.py", 6, "tests/test_core.py:test_through_the_module"),
        ]
        assert send.callers == []
        # The class itself is still used where it is called.
        made = reader.callers("pkg/core.py:Client")
        assert [(u["file"], u["line"]) for u in made.callers + made.tests] == [
            ("pkg/core.py", 5),
            ("tests/test_core.py", 4),
            ("tests/test_core.py", 6),
        ]


def test_a_typed_parameter_or_variable_holds_an_instance_of_its_type(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "pkg/__init__.py": "",
            "pkg/core.py": (
                "class Client:\n    def send(self, x):\n        return x\n"
                "def make() -> Client:\n    return Client()\n"
            ),
            "pkg/use.py": (
                "from typing import Optional, Annotated\n"
                "import pkg.core as core\n"
                "from pkg.core import Client\n"
                "def plain(c: Client):\n"
                "    c.send(1)\n"
                "def optional(c: Optional[Client] = None, d: 'Client | None' = None):\n"
                "    c.send(2)\n"
                "    d.send(3)\n"
                "def union(c: core.Client | None, *, k: Annotated[Client, 'doc']):\n"
                "    c.send(4)\n"
                "    k.send(5)\n"
                "def variable(make):\n"
                "    c: Client = make()\n"
                "    c.send(6)\n"
                "def two_types(c: Client | int):\n"
                "    c.send(7)\n"  # not one type: not guessed
                "def rebound(c: Client):\n"
                "    c = make()\n"
                "    c.send(8)\n"  # given two things in one scope: not guessed
                "def untyped(c):\n"
                "    c.send(9)\n"
                "class Holder:\n"
                "    field: Client\n"  # a dataclass-style field
                "    def __init__(self, client: Client, other):\n"
                "        self.client = client\n"
                "        self.made = core.Client()\n"
                "        self.other = other\n"
                "    def go(self):\n"
                "        self.client.send(10)\n"
                "        self.made.send(11)\n"
                "        self.field.send(12)\n"
                "        self.other.send(13)\n"  # untyped: not guessed
                "    def factory(self) -> 'Client':\n"
                "        return Client()\n"
                "    def use(self):\n"
                "        self.factory().send(14)\n"
                "def build() -> Optional[Client]:\n"
                "    return None\n"
                "def returned():\n"
                "    build().send(15)\n"
                "    made = build()\n"
                "    made.send(16)\n"
                "    core.make().send(17)\n"  # another file's function: not read here
            ),
        },
    )
    with extract_and_build(root, tmp_path / "pith.db")[0] as store:
        send = WikiReader(store).callers("pkg/core.py:Client.send")
        assert [(u["line"], u["caller"].rpartition(":")[2]) for u in send.callers] == [
            (5, "plain"),
            (7, "optional"),
            (8, "optional"),
            (10, "union"),
            (11, "union"),
            (14, "variable"),
            (29, "Holder.go"),
            (30, "Holder.go"),
            (31, "Holder.go"),
            (36, "Holder.use"),
            (40, "returned"),
            (42, "returned"),
        ]


def test_a_module_constant_holding_an_instance_gives_its_members_to_other_files(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "class Client:\n    def send(self, x):\n        return x\n",
            # flask's globals.py: a proxy typed as a subclass declared for type checkers.
            "pkg/globals.py": (
                "import typing as t\n"
                "from pkg.core import Client\n"
                "if t.TYPE_CHECKING:\n"
                "    class ClientProxy(Client): ...\n"
                "current: 'ClientProxy' = object()\n"
                "made = Client()\n"
                "plain = 3\n"
            ),
            "pkg/use.py": (
                "from pkg.globals import current, made, plain\n"
                "def go():\n"
                "    current.send(1)\n"
                "    made.send(2)\n"
                "    plain.send(3)\n"  # no class: the constant itself
            ),
        },
    )
    with extract_and_build(root, tmp_path / "pith.db")[0] as store:
        reader = WikiReader(store)
        send = reader.callers("pkg/core.py:Client.send")
        plain = reader.callers("pkg/globals.py:plain")
    assert [(u["file"], u["line"]) for u in send.callers] == [("pkg/use.py", 3), ("pkg/use.py", 4)]
    assert [(u["file"], u["line"]) for u in plain.callers] == [("pkg/use.py", 5)]


def test_a_loop_over_a_typed_collection_holds_instances_of_its_type(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "class Segment:\n    def split(self, x):\n        return x\n",
            "pkg/use.py": (
                "from typing import Iterable, Optional\n"
                "from pkg.core import Segment\n"
                "def divide(segments: Iterable['Segment'], cut):\n"
                "    for segment in segments:\n"
                "        segment.split(cut)\n"  # rich's Segment.divide
                "def listed(parts: Optional[list[Segment]]):\n"
                "    for part in parts:\n"
                "        part.split(1)\n"
                "def nested(items: list[Segment]):\n"
                "    def inner():\n"
                "        for item in items:\n"  # the enclosing function's parameter
                "            item.split(2)\n"
                "    return inner\n"
                "def local():\n"
                "    held: set[Segment] = set()\n"
                "    for one in held:\n"
                "        one.split(3)\n"
                "def pairs(table: dict[str, Segment], rows: tuple[Segment, int]):\n"
                "    for key in table:\n"
                "        key.split(4)\n"  # a dict's keys are no Segments: not guessed
                "    for row in rows:\n"
                "        row.split(5)\n"  # a tuple of two types: not guessed
                "def untyped(segments):\n"
                "    for segment in segments:\n"
                "        segment.split(6)\n"
            ),
        },
    )
    with extract_and_build(root, tmp_path / "pith.db")[0] as store:
        split = WikiReader(store).callers("pkg/core.py:Segment.split")
        assert [(u["line"], u["caller"].rpartition(":")[2]) for u in split.callers] == [
            (5, "divide"),
            (8, "listed"),
            (12, "nested.inner"),
            (17, "local"),
        ]


def test_show_and_search_symbols_by_id_and_bare_name(reader: WikiReader) -> None:
    page = reader.node("pkg/core.py:LIMIT")
    assert page.to_json()["type"] == "symbol"
    assert page.to_json()["kind"] == "constant"
    assert page.to_json()["parent"] == {"id": "pkg/core.py", "summary": None}
    assert "LIMIT = 3" in page.to_markdown()
    by_name = reader.node("LIMIT").to_json()
    assert (by_name["id"], by_name["resolved_from"]) == ("pkg/core.py:LIMIT", "LIMIT")
    assert reader.node("Client.send").to_json()["id"] == "pkg/core.py:Client.send"
    hits = [h.to_json() for h in reader.search("send")]
    assert hits[0]["id"] == "pkg/core.py:Client.send"
    assert hits[0]["kind"] == "method"
    assert reader.search("DEFAULT_TIMEOUT")[0].id == "pkg/__init__.py:DEFAULT_TIMEOUT"
    # A file's page lists its symbols.
    source = json.dumps(reader.store.symbols_in("pkg/_auth.py")[0].to_json())
    assert "BasicAuth" in source


def test_the_overview_is_the_root_node(reader: WikiReader) -> None:
    root = reader.node(".").to_json()
    assert root["type"] == "module"
    assert root["metadata"]["readme"] == "README.md"
    assert root["metadata"]["packages"] == ["pkg", "tests"]
    assert root["metadata"]["entry_points"] == ["demo = pkg.cli:main", "python -m pkg"]
    # Without prose, `show .` says what the README opens with.
    assert node_view(reader.store, ".", with_source=True)["source"] == {
        "readme": "README.md",
        "readme_opening": "A demo project: it sends requests to a server and reads the replies.",
    }
    assert "\nA demo project: it sends requests" in node_page(reader.store, ".")
    # A package says its own docstring (its __init__.py's) until it has prose.
    assert node_view(reader.store, "pkg", with_source=True)["source"] == {
        "docstring": "The demo package."
    }
    assert "\nThe demo package.\n" in reader.node("pkg").to_markdown()


def test_a_readme_opens_with_its_first_paragraphs_of_prose() -> None:
    readme = (
        "[![PyPI](https://img.shields.io/pypi/v/x)](https://pypi.org/x) [![CI](b.svg)](c)\n\n"
        "![Logo](https://example.org/logo.svg)\n\n"
        "# Title\n\n"
        "[English](a.md) • [Deutsch](b.md) • [Español](c.md) • [Français](d.md) • [日本語](e.md)"
        " • [Italiano](f.md) • [Polski](g.md) • [Русский](h.md) • [Türkçe](i.md)\n\n"
        "Short line.\n\n"
        "<p align='center'>Rich is a <b>library</b> for [rich](https://x) text and beautiful\n"
        "formatting in the terminal.</p>\n\n"
        "```sh\npip install rich and all of its words here\n```\n\n"
        + "It also renders tables. "
        * 40
    )
    opening = readme_opening(readme)
    assert opening.startswith(
        "Rich is a library for rich text and beautiful formatting in the terminal.\n\nIt also"
    )
    assert len(opening) == OPENING_CHARS
    assert opening.endswith("…")
    assert readme_opening("[![a](b)](c)\n\n# Only a title\n") == ""
    # zod's: links between HTML entities, and a code block with blank lines inside.
    zod = (
        "<a href='d'>Docs</a>&nbsp;&nbsp;•&nbsp;&nbsp;<a href='x'>Discord</a>&nbsp;&nbsp;•"
        "&nbsp;&nbsp;<a href='y'>Bluesky</a>&nbsp;&nbsp;•&nbsp;&nbsp;<a href='z'>GitHub</a>\n\n"
        "Zod is a TypeScript-first validation library for every kind of data there is.\n\n"
        "```ts\nconst User = z.object({});\n\n// the parsed result is validated and type safe!\n"
        "const data = User.parse(input);\n```\n\n"
        "It has no dependencies at all, and it works in every modern browser and in Node.\n"
    )
    # A shortcut reference link keeps its text (flask's "a lightweight [WSGI] framework").
    assert (
        readme_opening(
            "Flask is a lightweight [WSGI] web application framework, made to start quickly.\n\n"
            "[WSGI]: https://wsgi.readthedocs.io/\n"
        )
        == "Flask is a lightweight WSGI web application framework, made to start quickly."
    )
    assert readme_opening(zod) == (
        "Zod is a TypeScript-first validation library for every kind of data there is.\n\n"
        "It has no dependencies at all, and it works in every modern browser and in Node."
    )


def test_the_commands(reader: WikiReader, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = write_tree(tmp_path / "demo", PROJECT)
    assert run("extract", str(root))[0] == 0
    assert run("build")[0] == 0
    code, out, err = run("callers", "Client.send", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["id"] == "pkg/core.py:Client.send"
    code, out, _ = run("callers", "pkg/core.py:LIMIT")
    assert code == 0
    assert "pkg/core.py:Client.prepare" in out
    code, _, err = run("callers", "__init__")
    assert code == 1
    assert "give one id" in err
    code, out, _ = run("show", "pkg/core.py:Client.__exit__", "--json")
    assert json.loads(out)["source"]["signature"] == "def __exit__(self, *args)"


# --- random projects --------------------------------------------------------------------

_NAMES = st.sampled_from(["alpha", "beta", "gamma", "delta"])


@st.composite
def projects(draw: st.DrawFn) -> dict[str, str | bytes]:
    """A package of 2-4 modules and 1-3 test files, each defining functions, a class with
    methods and a constant, and using the others' names through `import x`, `import x as y`,
    `from x import n as m`, the package's re-exports, `self.` and bare names."""
    count = draw(st.integers(2, 4))
    modules = [f"m{i}" for i in range(count)]
    defined = {m: draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True)) for m in modules}
    files: dict[str, str | bytes] = {}
    exported = [(m, n) for m in modules for n in defined[m] if draw(st.booleans())]
    files["pkg/__init__.py"] = "".join(f"from .{m} import {n} as {m}_{n}\n" for m, n in exported)

    def uses(here: str | None) -> tuple[list[str], list[str]]:
        imports: list[str] = []
        calls: list[str] = []
        for other in draw(st.lists(st.sampled_from(modules), max_size=3)):
            name = draw(st.sampled_from(defined[other]))
            style = draw(st.integers(0, 4))
            if other == here:
                calls.append(f"{name}()")
            elif style == 0:
                imports.append(f"import pkg.{other}")
                calls.append(f"pkg.{other}.{name}()")
            elif style == 1:
                imports.append(f"import pkg.{other} as alias_{other}")
                calls.append(f"alias_{other}.{name}()")
            elif style == 2:
                imports.append(f"from pkg.{other} import {name} as {other}_{name}_alias")
                calls.append(f"{other}_{name}_alias()")
            elif style == 3 and (other, name) in exported:
                imports.append("import pkg")
                calls.append(f"pkg.{other}_{name}()")
            else:
                imports.append(f"from pkg.{other} import Thing as {other}_Thing")
                calls.append(f"{other}_Thing().run()")
                calls.append(f"{other}_Thing.run(None)")
        return imports, calls

    for module in modules:
        imports, calls = uses(module)
        body = [*imports, "LIMIT = 1"]
        for name in defined[module]:
            body += [f"def {name}():", *(f"    {c}" for c in calls or ["pass"])]
        body += ["class Thing:", "    def run(self):", "        return self.other()"]
        body += ["    def other(self):", "        return LIMIT"]
        files[f"pkg/{module}.py"] = "\n".join(body) + "\n"
    for index in range(draw(st.integers(1, 3))):
        imports, calls = uses(None)
        body = [*imports, "def test_it():", *(f"    {c}" for c in calls or ["pass"])]
        files[f"tests/test_m{index}.py"] = "\n".join(body) + "\n"
    return files


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(project=projects())
def test_every_reference_reaches_a_symbol_and_every_test_is_a_test_file(
    project: dict[str, str | bytes],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_tree(Path(tmp) / "proj", project)
        with Store.open(Path(tmp) / "pith.db") as store:
            extract(root, store, workers=1)
            build(store)
            reader = WikiReader(store)
            symbols = {row[0] for row in store._query("SELECT id FROM symbols")}
            references = store._query(
                "SELECT r.target, u.path, u.line,"
                " CASE u.scope WHEN '' THEN u.path ELSE u.path || ':' || u.scope END"
                " FROM refs r JOIN uses u ON u.id = r.use"
            )
            for target, path, _, caller in references:
                assert target in symbols
                assert path in project
                assert caller == path or caller in symbols
            # None is lost: every call written in a function body reaches a symbol.
            found = {(path, line) for _, path, line, _ in references}
            for path, text in project.items():
                assert isinstance(text, str)
                for number, line in enumerate(text.split("\n"), start=1):
                    if line.startswith("    ") and line.endswith(")"):
                        assert (path, number) in found, (path, number, line)
            for file_id in [p for p in project if p.endswith(".py")]:
                for test in reader.tests_of(file_id):
                    assert is_test_path(test["id"])
                    assert not is_test_path(test["of"])
                for test in reader.callers(file_id).tests:
                    assert is_test_path(test["file"])
                for impacted in reader.impact(file_id).tests:
                    assert is_test_path(impacted)


def test_the_long_public_methods_of_a_large_class_get_prose_of_their_own(tmp_path: Path) -> None:
    from pith._generate._prompt_builder import PromptBuilder

    filler = "".join(f"    def m{i}(self):\n        return {i}\n" for i in range(500))
    long_body = "".join(f"        x = x + {i}\n" for i in range(40))
    big = f"class Big:\n    def work(self, x):\n{long_body}        return x\n{filler}"
    small = f"class Small:\n    def work(self, x):\n{long_body}        return x\n"
    root = write_tree(tmp_path / "p", {"big.py": big, "small.py": small})
    with extract_and_build(root, tmp_path / "pith.db")[0] as store:
        functions = sorted(n.id for n in store.nodes() if n.type.value == "function")
        # Big is over 1,000 lines: its 42-line method gets a node, its 2-line ones do not; the
        # method of a small class is described by its class's prose.
        assert functions == ["big.py:Big", "big.py:Big.work", "small.py:Small"]
        node = store.node("big.py:Big.work")
        assert node is not None
        assert node.metadata["kind"] == "method"
        prompt = PromptBuilder(store).prompt(node)
        assert "method of Big" in json.dumps(prompt.messages)


@pytest.mark.parametrize("package", ["httpx", "click", "starlette"])
def test_every_symbol_of_a_real_package_is_shown_and_found(package: str, tmp_path: Path) -> None:
    """By its id, by its bare name (or, when several share it, listed among them), and by a
    search for its name (unless more than 100 symbols share that name)."""
    import importlib

    from pith._wiki._views import node_view

    source = Path(importlib.import_module(package).__file__ or "").parent
    with Store.open(tmp_path / "pith.db") as store:
        extract(source, store, workers=1)
        build(store)
        reader = WikiReader(store)
        rows = store._query("SELECT id, qualname FROM symbols ORDER BY id")
        assert len(rows) > 300
        for symbol_id, qualname in rows:
            assert node_view(store, symbol_id)["id"] == symbol_id
            # `send` names both `send` and `Client.send`
            same = [s.id for s in store.symbols_named(qualname, limit=101)]
            assert symbol_id in same
            if len(same) == 1:
                assert node_view(store, qualname)["id"] == symbol_id
            else:
                # Several share it: the one node among them (nodes come first), else an
                # error that lists them.
                try:
                    listed = [node_view(store, qualname)["id"]]
                except NotFoundError as error:
                    listed = error.suggestions
                assert listed
                assert set(listed) <= set(same)
            if len(same) <= 100:
                assert symbol_id in [h.id for h in reader.search(qualname, limit=100)], qualname


def test_export_lists_every_files_symbols_and_starts_with_the_overview(
    reader: WikiReader, tmp_path: Path
) -> None:
    from pith._wiki._export import export_markdown

    export_markdown(reader.store, tmp_path / "wiki")
    page = (tmp_path / "wiki" / "pkg" / "core.py.md").read_text()
    assert "## Symbols" in page
    assert "`pkg/core.py:Client.send`" in page
    assert "`pkg/core.py:LIMIT`" in page
    index = (tmp_path / "wiki" / "index.md").read_text()
    assert "demo = pkg.cli:main" in index
    # Before there is prose, the index and a package's page say what the README and the
    # package's docstring say, as `show` does.
    assert "A demo project: it sends requests to a server and reads the replies." in index
    assert "The demo package." in (tmp_path / "wiki" / "pkg.md").read_text()


def test_one_reference_per_line_for_uses_that_reach_one_symbol_two_ways(tmp_path: Path) -> None:
    """`f(g(1))` with `f` imported through the package's re-export and `g` as an alias of the
    same function: one reference to that line (the first use's), and a use into the package
    that reaches nothing is counted once per use."""
    root = write_tree(
        tmp_path / "demo",
        {
            "pkg/__init__.py": "from .a import f\n",
            "pkg/a.py": "def f(x):\n    return x\n",
            "app.py": (
                "import pkg\n"
                "from pkg import f\n"
                "from pkg.a import f as g\n"
                "def run():\n"
                "    return f(g(1)) + pkg.missing() + pkg.missing()\n"
                "def again():\n"
                "    return g(f(2))\n"
            ),
        },
    )
    with Store.open(tmp_path / "data" / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        answer = WikiReader(store).callers("pkg/a.py:f").to_json()
        assert uses(answer["callers"]) == [
            ("app.py", 5, "app.py:run", "pkg/a.py:f"),
            ("app.py", 7, "app.py:again", "pkg/a.py:f"),
        ]
        assert answer["callers"][0]["text"] == "return f(g(1)) + pkg.missing() + pkg.missing()"
        # `pkg.missing()` twice on one line: one use (extract keeps one per line and name).
        assert store.unresolved_uses("pkg/__init__.py") == 1


def test_tests_that_use_a_source_through_a_helper_are_its_tests(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "p",
        {
            "orm/__init__.py": "",
            "orm/columns.py": "def column(kind):\n    return kind\n",
            "tests/__init__.py": "",
            # A test entity (typeorm's style): a helper under tests/, not a test a runner runs.
            "tests/entities.py": "from orm.columns import column\nNAME = column('text')\n",
            "tests/test_save.py": "from tests.entities import NAME\ndef test_save():\n    NAME\n",
            "tests/fixtures/input.py": "from orm.columns import column\ncolumn('x')\n",
        },
    )
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        reader = WikiReader(store)
        tests = reader.context(["orm/columns.py"]).to_json()["tests"]
        assert [(t["id"], t["via"], t.get("helper")) for t in tests] == [
            ("tests/test_save.py", "helper", "tests/entities.py")
        ]
        assert tests[0]["command"] == "pytest tests/test_save.py"
        markdown = reader.context(["orm/columns.py"]).to_markdown()
        assert "- `tests/test_save.py` uses it through `tests/entities.py`" in markdown
        callers = reader.callers("orm/columns.py:column")
        assert {u["file"] for u in callers.tests} == {
            "tests/entities.py",
            "tests/fixtures/input.py",
        }
        assert "Run them" not in callers.to_markdown()  # neither is a test a runner runs


def test_the_overview_lists_the_shipped_packages_largest_first(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "mono",
        {
            # A src layout's `python -m` names the package (flask's said `python -m src.flask`).
            "src/tool/__init__.py": "",
            "src/tool/__main__.py": "print(1)\n",
            "scripts/x/__main__.py": "print(2)\n",  # no package: by its path
            "packages/bench/__init__.py": "def run():\n    return 1\n",
            "packages/core/__init__.py": "".join(
                f"def f{i}():\n    return {i}\n" for i in range(50)
            ),
            "packages/aux/__init__.py": "def g():\n    return 2\n",
            "packages/docs/__init__.py": "def page():\n    return 3\n",
        },
    )
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        overview = node_view(store, ".")["metadata"]
        assert overview["packages"][:2] == ["packages/core", "packages/aux"]  # 100 lines, 2
        assert overview["packages"][-2:] == ["packages/bench", "packages/docs"]  # tooling, docs
        assert overview["entry_points"] == ["python -m scripts.x", "python -m tool"]
