"""Prompts for big code hold code (issue 21, point 3): signatures are compacted, each list has
its share of the budget, and a large class is described from its methods' code."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import click
import httpx
import pytest

from pith._build import build
from pith._extract import extract
from pith._generate._compact import compact_code, compact_header, compact_snippet
from pith._generate._prompt_builder import PromptBuilder
from pith._store import Store

DOC = 'Doc("""' + "A long explanation of this parameter. " * 8 + '""")'


def _method(i: int) -> str:
    return textwrap.indent(
        textwrap.dedent(
            f'''
            def route_{i}(
                self,
                path: Annotated[str, {DOC}],
                *,
                name: Annotated[str | None, {DOC}] = None,
                status: Annotated[int, {DOC}] = Default(200),
            ) -> Callable[[T], T]:
                """Add route {i}.

                {"A very long docstring paragraph. " * 30}
                """
                marker_{i} = self.register(path, name=name, status=status)
                return marker_{i}
            '''
        ),
        "    ",
    )


def test_a_header_loses_its_metadata_not_its_meaning() -> None:
    header = (
        f"def get(self, path: Annotated[str, {DOC}], *, deprecated: Annotated[bool | None, "
        f"{DOC}] = None, response_class: type[Response] = Default(JSONResponse), "
        f"tags: list[str] = ['{'x' * 60}']) -> Callable[[T], T]"
    )
    assert compact_header(header) == (
        "def get(self, path: str, *, deprecated: bool | None=None, "
        "response_class: type[Response]=Default(JSONResponse), tags: list[str]=[...]) "
        "-> Callable[[T], T]"
    )
    short = "def send(self, request: Request, *, timeout: float = 5.0) -> Response"
    assert compact_header(short) == short  # short enough: as written
    plain = (
        "def version_option(version: str | None = None, *param_decls: str, "
        "package_name: str | None = None, prog_name: str | None = None) -> Callable[[FC], FC]"
    )
    assert compact_header(plain) == plain  # long, but nothing to elide: as written
    assert compact_header("def broken(" + "x" * 200) == "def broken(" + "x" * 200


@pytest.mark.parametrize("name", ["core.py", "types.py", "termui.py", "decorators.py"])
def test_compact_code_keeps_every_statement(name: str) -> None:
    """On real code: the bodies are the same statements; only signatures and the long
    docstrings of nested definitions change."""
    code = (Path(click.__file__).parent / name).read_text()
    compacted = compact_code(code)
    before, after = ast.parse(code), ast.parse(compacted)

    def bodies(tree: ast.Module) -> list[str]:
        out = []
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                out.append(node.name + "".join(ast.unparse(s) for s in body))
        return out

    assert bodies(before) == bodies(after)
    assert len(compacted) <= len(code)


def test_a_snippet_of_only_a_signature_is_dropped() -> None:
    header = f"def get(self, path: Annotated[str, {DOC}]) -> None"
    cut = f"    def get(\n        self,\n        path: Annotated[\n            str, {DOC}"
    assert compact_snippet(cut, header) is None
    whole = f"    def get(\n        self,\n        path: Annotated[str, {DOC}],\n    ) -> None:\n"
    assert compact_snippet(whole + "        return 1", header) == (
        "    def get(self, path: str) -> None:\n        return 1"
    )
    assert compact_snippet(whole, header) is None


def test_a_large_class_is_described_from_its_methods_code(tmp_path: Path) -> None:
    methods = "".join(_method(i) for i in range(30))
    source = (
        "from typing import Annotated\n\n\n"
        f'class Router:\n    """Routes."""\n{methods}\n\n'
        "def _private_helper(x):\n    return x\n"
    )
    assert len(source) > 60_000
    project = tmp_path / "project"
    project.mkdir()
    (project / "routing.py").write_text(source)
    (project / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 30\n")
    with Store.open(tmp_path / "pith.db") as store:
        extract(project, store, workers=1)
        build(store)
        builder = PromptBuilder(store)
        node = store.node("routing.py:Router")
        assert node is not None
        prompt = builder.prompt(node)
        file_prompt = builder.prompt(store.node("routing.py"))  # type: ignore[arg-type]
    text = prompt.messages[-1]["content"]
    assert "Annotated" not in text
    assert "Doc(" not in text
    bodies = sum(f"marker_{i} = self.register" in text for i in range(30))
    assert bodies >= 10  # the methods' code, not 12k characters of parameter docs
    assert prompt.code in text  # what the reply is checked against is what the prompt quotes
    assert "    def route_0(self, path: str, *, name: str | None=None" in prompt.code
    file_text = file_prompt.messages[-1]["content"]
    assert "Doc(" not in file_text
    assert "### Router (lines 4-425)" in file_text  # its own lines, up to its first method
    # The methods' excerpts (their first lines, from extract) hold only their signatures:
    # they are left out, and the definitions list says the same in a line each.
    assert "### Router.route_0" not in file_text
    assert "def route_0(self, path: str, *, name: str | None=None" in file_text


@pytest.mark.parametrize("package", [click, ast])
def test_the_quick_paths_agree_with_the_tokenizer_and_ast_walk(package: object) -> None:
    """On real code: where a signature's end is told without the tokenizer, it is the one the
    tokenizer finds; the definitions found without `ast.walk` are those it finds."""
    from pith._generate import _compact

    root = Path(str(getattr(package, "__file__", ""))).parent
    sources = sorted(root.glob("*.py")) if package is click else [Path(ast.__file__)]
    checked = 0
    for path in sources:
        source = path.read_text()
        tree = ast.parse(source)
        walked = [n for n in ast.walk(tree) if isinstance(n, _compact._Definition)]
        assert sorted(map(id, _compact._definitions(tree.body))) == sorted(map(id, walked))
        lines = source.split("\n")
        for node in walked:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            for size in (1, 3, 12):  # cut inside the signature, or after it
                snippet = "\n".join(lines[first - 1 : first - 1 + size])
                quick = _compact._plain_signature_end(snippet)
                slow = _compact._tokenized_signature_end(snippet)
                assert quick is None or quick == slow, snippet
                checked += quick is not None
    assert checked > 100
    tricky = [
        'def f(x="):",\n      y=1):\n    pass',
        "def f(x='(', y=1) -> 'A:B':\n    pass",
        "def f(a,  # a comment ):\n      b):\n    pass",
        "@route('/undefined')\ndef f(\n    a,\n):\n    pass",
        "def f(a, \\\n      b): pass",
    ]
    for snippet in tricky:
        quick = _compact._plain_signature_end(snippet)
        assert quick is None or quick == _compact._tokenized_signature_end(snippet), snippet


@pytest.mark.parametrize("package", [click, httpx])
def test_a_header_told_at_a_glance_is_the_one_rewritten(package: object) -> None:
    """On real code and on made ones: where `compact_header` tells that nothing is to be
    elided without rewriting the header, rewriting it elides nothing either; and a header with
    something to elide is rewritten."""
    from pith._generate import _compact

    headers = []
    for path in sorted(Path(str(getattr(package, "__file__", ""))).parent.rglob("*.py")):
        source = path.read_text()
        lines = source.split("\n")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, _compact._Definition) and node.body[0].lineno > node.lineno:
                text = " ".join("\n".join(lines[node.lineno - 1 : node.body[0].lineno - 1]).split())
                headers.append(text[: text.rindex(":")])
    long = "x" * (_compact.LONG_EXPRESSION + 20)
    headers += [
        f"def f(self, a: Annotated[str, Doc('{long}')], b: int) -> None",
        f"def f(self, a: str = '{long}', b: int = 1) -> Callable[[int], int]",
        f"def f(self, a: str, b: int = {'1 + ' * 20}1, *, c: int = 2) -> None",
        f"def f(self, a: str, *, c: int = {'1 + ' * 20}1) -> None",
        f"def f(self, key: Callable[[int], int] = lambda x, y={'1 + ' * 20}1: x) -> None",
        f"class Model(Base, metaclass=Meta, doc='{long}')",
        f"def f(self, a: Literal['{long}'], b: Sequence[int]) -> Mapping[str, int]",
        f"def f(self, ａ: Ａnnotated[str, Doc('{long}')], b: int) -> None",
    ]
    checked = elided = 0
    for header in (h for h in headers if len(h) > _compact.SHORT_HEADER):
        try:
            definition = ast.parse(f"{header}:\n    pass").body[0]
        except SyntaxError:  # cut at a colon inside it: kept as written
            assert compact_header(header) == header
            continue
        assert isinstance(definition, _compact._Definition)
        rewritten, any_elided = _compact._header_of(definition)
        assert compact_header(header) == (rewritten if any_elided else header), header
        checked += 1
        elided += any_elided
    assert checked > 50
    assert elided >= 8
