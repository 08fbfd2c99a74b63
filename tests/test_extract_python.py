"""Facts from one file's bytes (`parse_source`) and import resolution (`ImportResolver`)."""

from __future__ import annotations

import hashlib
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pith._extract import ImportResolver, parse_source
from pith._extract._python import MAX_FILE_BYTES
from pith._models import ImportFact

SOURCE = textwrap.dedent(
    '''\
    """Module doc."""
    import os
    from . import sibling
    from ..pkg.core import connect as c, Client

    TIMEOUT = 30
    BASE_URL = "https://example.com/api"
    LIMIT = 10
    MAX_RETRIES = 3
    name = "x"

    __all__ = ["fetch", "Client"]


    @decorator(arg=1)
    async def fetch(url: str, retries: int = 3, *args, timeout: float = 5.0, **kw) -> bytes:
        """Fetch a URL."""
        if url and retries or timeout:
            for attempt in range(retries):
                try:
                    return await get(url, timeout=10)
                except OSError:
                    continue
                except ValueError:
                    raise
        elif not url:
            raise ValueError("empty")
        while False:
            pass
        import json
        return b""


    class Client(Base, metaclass=Meta):
        """A client."""

        def send(self, request):
            response = request()
            if response.status_code in (500, 502):
                raise RuntimeError(response)
            return response

        @property
        def name(self) -> str:
            return "client"


    def public():
        return 1


    def _private():
        return 2
    '''
)


@pytest.fixture
def facts():
    return parse_source("pkg/mod.py", SOURCE.encode())


def test_file_level_facts(facts):
    assert facts.path == "pkg/mod.py"
    assert facts.problem is None
    assert facts.docstring == "Module doc."
    assert facts.content_hash == hashlib.sha256(SOURCE.encode()).hexdigest()
    assert facts.lines == SOURCE.count("\n")
    assert facts.exports == ("fetch", "Client")


def test_function_facts(facts):
    (fetch, public, private) = facts.functions
    assert (fetch.name, fetch.qualname) == ("fetch", "fetch")
    assert fetch.is_async
    assert fetch.signature == (
        "(url: str, retries: int = 3, *args, timeout: float = 5.0, **kw) -> bytes"
    )
    assert fetch.decorators == ("decorator(arg=1)",)
    assert fetch.docstring == "Fetch a URL."
    lines = SOURCE.split("\n")
    assert lines[fetch.start_line - 1] == "@decorator(arg=1)"
    assert lines[fetch.end_line - 1] == '    return b""'
    # 1 + if + (and, or: 2) + for + 2 excepts + elif + while
    assert fetch.complexity == 9
    assert fetch.snippet.startswith("@decorator(arg=1)\nasync def fetch(")
    assert fetch.snippet.endswith("...")
    assert (public.name, private.name) == ("public", "_private")
    assert public.complexity == 1
    assert not public.is_async


def test_class_facts(facts):
    (client,) = facts.classes
    assert client.bases == ("Base",)
    assert client.docstring == "A client."
    assert [m.qualname for m in client.methods] == ["Client.send", "Client.name"]
    assert client.methods[1].decorators == ("property",)
    assert client.methods[1].signature == "(self) -> str"
    assert client.complexity == 2 + 1


def test_imports_in_order_with_levels(facts):
    assert [(i.module, i.names, i.level, i.line) for i in facts.imports] == [
        ("os", (), 0, 2),
        ("", ("sibling",), 1, 3),
        ("pkg.core", ("connect", "Client"), 2, 4),
        ("json", (), 0, SOURCE.split("\n").index("    import json") + 1),
    ]


def test_key_statements(facts):
    found = {(k.kind, k.text) for k in facts.key_statements}
    assert ("timeout", "TIMEOUT = 30") in found
    assert ("url", 'BASE_URL = "https://example.com/api"') in found
    assert ("constant", "LIMIT = 10") in found
    assert ("retry", "MAX_RETRIES = 3") in found
    assert ("timeout", "return await get(url, timeout=10)") in found
    assert ("raise", 'raise ValueError("empty")') in found
    assert ("raise", "raise RuntimeError(response)") in found
    assert ("status_check", "if response.status_code in (500, 502):") in found
    assert not any(k.text.startswith("name =") for k in facts.key_statements)
    assert [k.line for k in facts.key_statements] == sorted(k.line for k in facts.key_statements)


def test_definition_hash_ignores_other_definitions():
    before = parse_source("m.py", SOURCE.encode())
    after = parse_source("m.py", SOURCE.replace("return 2", "return 3").encode())
    assert before.content_hash != after.content_hash
    assert before.functions[0].source_hash == after.functions[0].source_hash
    assert before.classes[0].source_hash == after.classes[0].source_hash
    assert before.functions[2].source_hash != after.functions[2].source_hash


@pytest.mark.parametrize(
    "signature",
    [
        "(a, b=1, /, c=2, *, d, e: int = 3, **kw)",
        "(a, /)",
        "(*, key)",
        "(self, *args: Any, **kwargs: 'Mapping[str, int]') -> None",
        "(x: dict[str, 'Café'] = {'é': 1}) -> 'Ünïcode'",
        "(callback=lambda x: x + 1, sep='\\n')",
        "()",
    ],
)
def test_signatures_as_written(signature):
    facts = parse_source("s.py", f"def f{signature}:\n    pass\n".encode())
    assert facts.functions[0].signature == signature


def test_a_multiline_default_is_unparsed():
    facts = parse_source("s.py", b"def f(x=(\n    1,\n    2)):\n    pass\n")
    assert facts.functions[0].signature == "(x=(1, 2))"


def test_public_names_when_no_all():
    facts = parse_source("m.py", b"import os\nX = 1\n_y = 2\ndef f(): pass\nclass C: pass\n")
    assert facts.exports == ("X", "f", "C")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"def f(:\n    pass\n", "syntax error at line 1"),
        (b"x = '\xff\xfe'\n", "bytes invalid in utf-8"),
        (b"# -*- coding: latin-1 -*-\nx = 1\0\n", "NUL bytes"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "NUL bytes"),
        (b"# -*- coding: ascii -*-\nx = '\xe9'\n", "bytes invalid in ascii"),
        (b"# -*- coding: no-such-codec -*-\n", "bad encoding declaration"),
        (b"x = 1\n" * (MAX_FILE_BYTES // 6 + 1), "over 1 MB"),
    ],
)
def test_bad_input_is_a_problem_not_an_error(data, reason):
    facts = parse_source("bad.py", data)
    assert facts.problem is not None
    assert reason in facts.problem
    assert facts.content_hash == hashlib.sha256(data).hexdigest()
    assert facts.functions == ()


def test_declared_encoding_is_honoured():
    data = "# -*- coding: latin-1 -*-\n'''Café.'''\n".encode("latin-1")
    facts = parse_source("l.py", data)
    assert facts.problem is None
    assert facts.docstring == "Café."


def test_empty_file():
    facts = parse_source("empty.py", b"")
    assert facts.problem is None
    assert facts.lines == 0
    assert facts.docstring is None


def test_invalid_escape_does_not_warn():
    # pytest turns warnings into errors: parsing must not leak the codebase's warnings.
    facts = parse_source("w.py", b"x = '\\d'\n")
    assert facts.problem is None


# --- import resolution ---------------------------------------------------------------------

FILES = [
    "app.py",
    "helper.py",
    "pkg/__init__.py",
    "pkg/core.py",
    "pkg/sub/__init__.py",
    "pkg/sub/leaf.py",
    "pkg/sub/sibling.py",
    "scripts/run.py",
    "scripts/tool.py",
    "src/lib/__init__.py",
    "src/lib/api.py",
]


def resolve(importer, fact, files=FILES, root_name="proj"):
    return ImportResolver(files, root_name).resolve(importer, [fact])


def test_absolute_import_of_a_package_module():
    (fact,) = resolve("app.py", ImportFact(module="pkg.core", names=("connect",)))
    assert fact.resolved == "pkg/core.py"


def test_import_of_a_dotted_module_falls_back_to_its_package():
    (fact,) = resolve("app.py", ImportFact(module="pkg.sub.missing"))
    assert fact.resolved == "pkg/sub/__init__.py"
    (fact,) = resolve("app.py", ImportFact(module="os.path"))
    assert fact.resolved is None


def test_relative_imports():
    (fact,) = resolve("pkg/sub/leaf.py", ImportFact(module="core", names=("x",), level=2))
    assert fact.resolved == "pkg/core.py"
    (fact,) = resolve("pkg/sub/leaf.py", ImportFact(module="", names=("sibling",), level=1))
    assert fact.resolved == "pkg/sub/sibling.py"
    (fact,) = resolve("pkg/core.py", ImportFact(module="", names=("x",), level=5))
    assert fact.resolved is None


def test_from_import_of_submodules_is_split_per_module():
    facts = resolve("app.py", ImportFact(module="pkg.sub", names=("leaf", "VALUE", "sibling")))
    assert [(f.names, f.resolved) for f in facts] == [
        (("leaf",), "pkg/sub/leaf.py"),
        (("sibling",), "pkg/sub/sibling.py"),
        (("VALUE",), "pkg/sub/__init__.py"),
    ]


def test_src_layout_and_script_siblings():
    (fact,) = resolve("app.py", ImportFact(module="lib.api", names=("f",)))
    assert fact.resolved == "src/lib/api.py"
    (fact,) = resolve("scripts/run.py", ImportFact(module="tool"))
    assert fact.resolved == "scripts/tool.py"
    # A script is no module of the project for anyone but its siblings.
    (fact,) = resolve("app.py", ImportFact(module="tool"))
    assert fact.resolved is None
    (fact,) = resolve("app.py", ImportFact(module="helper"))
    assert fact.resolved == "helper.py"


def test_root_that_is_a_package_is_named_by_its_directory():
    files = ["__init__.py", "_client.py", "_models.py"]
    (fact,) = resolve("_client.py", ImportFact(module="httpx._models"), files, "httpx")
    assert fact.resolved == "_models.py"
    (fact,) = resolve("_client.py", ImportFact(module="_models", names=("R",), level=1), files)
    assert fact.resolved == "_models.py"


def test_an_import_of_itself_resolves_to_nothing():
    (fact,) = resolve("pkg/__init__.py", ImportFact(module="pkg", names=("x",)))
    assert fact.resolved is None


# --- never raises ------------------------------------------------------------------------------

PYTHONISH = st.lists(
    st.sampled_from(
        [
            "def f(x=1):\n",
            "    return x\n",
            "class C(B):\n",
            "    async def m(self): pass\n",
            "if a and b or c:\n",
            "    raise E\n",
            "from . import y\n",
            "import a.b\n",
            "TIMEOUT = 5\n",
            "# -*- coding: latin-1 -*-\n",
            "'''doc\n",
            "\x00",
            "\xe9",
            "(((",
            "\n",
            "    ",
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), PYTHONISH.map(lambda t: t.encode("utf-8"))))
def test_any_bytes_give_facts_never_an_exception(data):
    facts = parse_source("any.py", data)
    assert facts.content_hash == hashlib.sha256(data).hexdigest()
    assert (facts.problem is None) or (facts.functions == () and facts.imports == ())
