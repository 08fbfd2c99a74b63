"""One node per id: a name defined several times in one scope is one definition with variants."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pith._build import BuildConfig, build_graph, check_graph
from pith._extract._python import parse_source
from pith._models import EdgeType, NodeType
from pith._store import FileOutline, Store

# Every public definition becomes a function node, so every collision would show.
EVERY_DEFINITION = BuildConfig(function_min_lines=1)


def facts(source: str):
    return parse_source("mod.py", textwrap.dedent(source).encode())


def graph(*sources: str):
    outlines = [
        FileOutline.from_facts(parse_source(f"m{i}.py", textwrap.dedent(s).encode()))
        for i, s in enumerate(sources)
    ]
    return build_graph(outlines, [], {}, EVERY_DEFINITION)


def test_overloads_fold_into_the_implementation():
    f = facts(
        """
        from typing import overload

        @overload
        def parse(x: int) -> int: ...
        @overload
        def parse(x: str) -> str: ...
        def parse(x):
            return x
        """
    )
    (parse,) = f.functions
    assert parse.signature == "(x)"
    assert parse.start_line == 8
    assert [(v.kind, v.signature, v.start_line) for v in parse.variants] == [
        ("overload", "(x: int) -> int", 4),
        ("overload", "(x: str) -> str", 6),
    ]


def test_a_property_is_one_method_and_its_setter_a_variant():
    f = facts(
        """
        class C:
            @property
            def size(self) -> int:
                return 1
            @size.setter
            def size(self, value: int) -> None:
                pass
            @size.deleter
            def size(self) -> None:
                pass
        """
    )
    (size,) = f.classes[0].methods
    assert size.decorators == ("property",)
    assert [v.kind for v in size.variants] == ["setter", "deleter"]


def test_platform_branches_are_one_definition_that_says_so():
    f = facts(
        """
        import sys

        if sys.platform == "win32":
            def home() -> str:
                return "C:/"
        else:
            def home() -> str:
                return "/"

        try:
            from fast import dumps
        except ImportError:
            def dumps(x):
                return str(x)
        """
    )
    assert [fn.qualname for fn in f.functions] == ["home", "dumps"]
    home = f.functions[0]
    assert home.start_line == 8  # the last definition is the primary one
    assert [(v.kind, v.start_line) for v in home.variants] == [("conditional", 5)]
    assert f.functions[1].variants == ()  # defined once, even if in a branch
    assert [i.module for i in f.imports] == ["sys", "fast"]


def test_editing_any_variant_stales_the_node():
    before = facts("def f(x: int): ...\ndef f(x): return x\n").functions[0]
    after = facts("def f(x: str): ...\ndef f(x): return x\n").functions[0]
    assert before.source_hash != after.source_hash
    single = facts("def g(x): return x\n").functions[0]
    assert single.source_hash == facts("def g(x): return x\n").functions[0].source_hash


def test_a_class_and_a_function_of_one_name_are_one_node():
    nodes, edges = graph("def thing():\n    pass\n\nclass thing:\n    pass\n")
    ids = [n.id for n in nodes if n.type is NodeType.FUNCTION]
    assert ids == ["m0.py:thing"]
    check_graph(nodes, edges)


# --- property: any mix of repeated, overloaded, conditional and nested definitions ---------

NAMES = st.sampled_from(["a", "b", "run", "Thing"])


@st.composite
def definition(draw, depth: int = 0) -> str:
    name = draw(NAMES)
    kind = draw(
        st.sampled_from(["def", "async", "overload", "class", "if", "try", "property", "nested"])
    )
    if kind == "def":
        return f"def {name}(x):\n    return x\n"
    if kind == "nested":
        return (
            f"def {name}():\n    def inner():\n        pass\n    class Local:\n"
            "        def inner(self):\n            pass\n    return inner\n"
        )
    if kind == "async":
        return f"async def {name}():\n    pass\n"
    if kind == "overload":
        return f"@overload\ndef {name}(x: int) -> int: ...\n"
    if kind == "property":
        return (
            f"class {name.title()}:\n    @property\n    def v(self):\n        return 1\n"
            "    @v.setter\n    def v(self, x):\n        pass\n"
        )
    if kind == "class" or depth > 1:
        body = draw(
            st.lists(
                st.sampled_from(
                    [
                        "def m(self): pass",
                        "def m(self, x): pass",
                        "class Inner: pass",
                        "x = 1",
                        "@overload\ndef m(self, x: int) -> int: ...",
                        "if X:\n    def m(self): pass\nelse:\n    def m(self, y): pass",
                        "@m.deleter\ndef m(self): pass",
                    ]
                ),
                min_size=1,
            )
        )
        return f"class {name}:\n" + "".join(textwrap.indent(f"{line}\n", "    ") for line in body)
    inner = draw(st.lists(definition(depth + 1), min_size=1, max_size=3))
    block = "".join(textwrap.indent(d, "    ") for d in inner)
    if kind == "if":
        other = draw(st.lists(definition(depth + 1), max_size=2))
        tail = "else:\n" + "".join(textwrap.indent(d, "    ") for d in other) if other else ""
        return f"if X:\n{block}{tail}"
    return f"try:\n{block}except ImportError:\n    {name} = None\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One real SQLite store for every example: `replace_graph` replaces all of it each time."""
    store = Store.open(tmp_path_factory.mktemp("store") / "pith.db")
    yield store
    store.close()


@given(st.lists(st.lists(definition(), max_size=8), min_size=1, max_size=3))
def test_any_definitions_give_a_graph_that_keeps_its_rules(store, modules):
    sources = ["from typing import overload\n" + "".join(m) for m in modules]
    nodes, edges = graph(*sources)
    check_graph(nodes, edges)
    ids = [n.id for n in nodes]
    assert len(ids) == len(set(ids))
    for i, source in enumerate(sources):
        f = parse_source(f"m{i}.py", source.encode())
        assert f.problem is None
        names = [d.qualname for d in [*f.functions, *f.classes]]
        assert len(names) == len(set(names))
        for cls in f.classes:
            methods = [m.qualname for m in cls.methods]
            assert len(methods) == len(set(methods))
    contained = [e.target for e in edges if e.type is EdgeType.CONTAINS]
    assert len(contained) == len(set(contained))
    # The real store takes every graph build makes, and gives it back whole.
    store.replace_graph(nodes, edges)
    assert sorted(store.node_ids()) == sorted(ids)
    assert store.edge_count() == len({(e.source, e.target, e.type) for e in edges})
