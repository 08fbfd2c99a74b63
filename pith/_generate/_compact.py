"""Signatures and code made shorter for a prompt, meaning kept: type metadata and long defaults
are elided, so a budget buys code, not ``Annotated[str, Doc(\"\"\"...\"\"\")]``.

``Annotated[X, ...]`` becomes ``X``; a default or a string in a signature longer than
`LONG_EXPRESSION` characters becomes ``...``. A definition's source keeps every statement of
its bodies and loses only the length of its multi-line signatures. What cannot be parsed is
returned as it was.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import textwrap
import tokenize
from collections.abc import Iterator

__all__ = ["LONG_EXPRESSION", "compact_code", "compact_header", "compact_snippet"]

LONG_EXPRESSION = 40  # characters of a default or string literal kept in a signature
LONG_DOCSTRING = 600  # characters of a nested definition's docstring kept whole
SHORT_HEADER = 100  # a signature this short is left as written


class _Elide(ast.NodeTransformer):
    """``Annotated[X, ...]`` -> ``X``; long strings and defaults -> ``...``. ``elided`` says
    whether anything was."""

    def __init__(self) -> None:
        self.elided = False

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        name = node.value.attr if isinstance(node.value, ast.Attribute) else None
        if isinstance(node.value, ast.Name):
            name = node.value.id
        if name == "Annotated":
            self.elided = True
            first = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            elided: ast.AST = self.visit(first)
            return elided
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str) and len(node.value) > LONG_EXPRESSION:
            self.elided = True
            return ast.Constant(value=Ellipsis)
        return node

    def visit_arguments(self, node: ast.arguments) -> ast.AST:
        self.generic_visit(node)
        node.defaults = [self._short(d) for d in node.defaults]
        node.kw_defaults = [None if d is None else self._short(d) for d in node.kw_defaults]
        return node

    def _short(self, expression: ast.expr) -> ast.expr:
        if len(ast.unparse(expression)) > LONG_EXPRESSION:
            self.elided = True
            return ast.Constant(value=Ellipsis)
        return expression


def _header_of(
    definition: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
) -> tuple[str, bool]:
    """The definition's compacted first line, and whether anything was elided. Elides in
    place: the caller's tree is its own, and parsed for this alone (a deep copy of a large
    class costs more than its parse)."""
    body, decorators = definition.body, definition.decorator_list
    definition.body, definition.decorator_list = [ast.Pass()], []
    try:
        elide = _Elide()
        elide.visit(definition)
        return ast.unparse(definition).rsplit(":\n", 1)[0], elide.elided
    finally:
        definition.body, definition.decorator_list = body, decorators


@functools.lru_cache(maxsize=4096)
def compact_header(header: str) -> str:
    """``def f(...) -> T`` or ``class C(Base)`` with its metadata and long defaults elided;
    a header of up to `SHORT_HEADER` characters, or with nothing to elide, as it is. Cached: a
    file's prompt and each of its functions' prompts show the same headers, and a parse costs a
    fifth of a millisecond."""
    if len(header) <= SHORT_HEADER:
        return header
    try:
        tree = ast.parse(f"{header}:\n    pass")
    except (SyntaxError, ValueError, RecursionError):
        return header
    definition = tree.body[0] if tree.body else None
    if not isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return header
    if not _may_elide(header, definition):
        return header  # told without rewriting it (most headers: 4 times faster)
    compacted, elided = _header_of(definition)
    return compacted if elided else header  # nothing to elide: as written, its spacing too


def _may_elide(header: str, definition: _Definition) -> bool:
    """Whether `_Elide` could elide anything in ``definition`` (parsed from ``header``): False
    only when it surely elides nothing, told without its rewrite and ``ast.unparse``."""
    if not header.isascii() or "Annotated" in header or "lambda" in header:
        return True  # a name spelled otherwise (NFKC), Annotated, a lambda's own defaults
    if ("'" in header or '"' in header) and any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and len(node.value) > LONG_EXPRESSION
        for node in ast.walk(definition)
    ):
        return True
    if isinstance(definition, ast.ClassDef) or "=" not in header:
        return False  # no defaults
    arguments = definition.args
    defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    return any(len(ast.unparse(default)) > LONG_EXPRESSION for default in defaults)


def compact_code(code: str) -> str:
    """``code`` with each signature that spans several lines written on one, compacted (see
    `compact_header`), and the long docstrings of the definitions nested in it cut to their
    first paragraph; every other line as it was."""
    source = textwrap.dedent(code)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return code
    lines, dedented = code.split("\n"), source.split("\n")
    spans: list[tuple[int, int, str]] = []  # first, last line (1-based), replacement
    outermost = set(map(id, tree.body))
    for node in list(_definitions(tree.body)):  # listed first: headers are elided in place
        if not node.body:
            continue
        first = node.body[0]
        docstring = ast.get_docstring(node, clean=False)
        if docstring and len(docstring) > LONG_DOCSTRING and id(node) not in outermost:
            indent = _indent(lines[first.lineno - 1])
            summary = textwrap.dedent(docstring.strip().split("\n\n")[0]).replace('"""', "'")
            summary = textwrap.indent(summary, indent).strip()
            end = first.end_lineno or first.lineno
            spans.append((first.lineno, end, f'{indent}"""{summary} [...]"""'))
        if isinstance(node, ast.ClassDef) or first.lineno - node.lineno < 2:
            continue  # a class's bases, or a one-line signature: short already
        if dedented[first.lineno - 1][: first.col_offset].strip():
            continue  # `) -> T: ...`: the body shares the signature's last line
        indent = _indent(lines[node.lineno - 1])
        spans.append((node.lineno, first.lineno - 1, f"{indent}{_header_of(node)[0]}:"))
    for first_line, last_line, replacement in sorted(spans, reverse=True):
        lines[first_line - 1 : last_line] = [replacement]
    return "\n".join(lines)


_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
# The fields of a statement that hold statements (a definition is always a statement).
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _definitions(statements: list[ast.stmt]) -> Iterator[_Definition]:
    """Every definition among ``statements`` and the statements nested in them, without
    visiting expressions (what `ast.walk` spends most of its time on)."""
    for statement in statements:
        if isinstance(statement, _Definition):
            yield statement
        for field in _BODIES:
            nested = getattr(statement, field, None)
            if nested:
                yield from _definitions(nested)


def compact_snippet(snippet: str, header: str) -> str | None:
    """A definition's excerpt (its first lines) with its signature on one line, compacted from
    ``header``; None when the excerpt holds nothing but the signature."""
    end = _signature_end(snippet)
    if end is None:
        return None  # cut inside its signature: nothing but the signature to show
    lines = snippet.split("\n")
    start = next(
        (i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def "))),
        None,
    )
    if start is None or start > end:
        return snippet
    body = lines[end + 1 :]
    if not any(line.strip() for line in body):
        return None
    return "\n".join([*lines[:start], f"{_indent(lines[start])}{compact_header(header)}:", *body])


def _signature_end(snippet: str) -> int | None:
    """The 0-based line on which the first ``def``'s signature ends (its ``:``), if it does."""
    quick = _plain_signature_end(snippet)
    return quick if quick is not None else _tokenized_signature_end(snippet)


def _tokenized_signature_end(snippet: str) -> int | None:
    depth, seen_def = 0, False
    try:
        for token in tokenize.generate_tokens(io.StringIO(snippet).readline):
            if token.type == tokenize.NAME and token.string == "def":
                seen_def = True
            elif token.type == tokenize.OP and seen_def:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth -= 1
                elif token.string == ":" and depth == 0:
                    return token.start[0] - 1
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return None


_DEPTH = dict.fromkeys("([{", 1) | dict.fromkeys(")]}", -1)
_SIGNATURE_CHARS = re.compile(r"[()\[\]{}:'\"#\\]")


def _plain_signature_end(snippet: str) -> int | None:
    """`_signature_end` without the tokenizer, for a signature free of strings and comments
    (nearly all of them); None when that cannot be told at a glance (the tokenizer decides)."""
    lines = snippet.split("\n")
    start = next(
        (i for i, line in enumerate(lines) if line.lstrip().startswith(("def ", "async def "))),
        None,
    )
    if start is None or any("def" in line or "\\" in line for line in lines[:start]):
        return None  # a `def` the tokenizer may see elsewhere, or a continued line
    depth = 0
    for end in range(start, len(lines)):
        for char in _SIGNATURE_CHARS.findall(lines[end]):
            step = _DEPTH.get(char)
            if step is not None:
                depth += step
            elif char != ":":
                return None  # a string, a comment or a continued line
            elif depth == 0:
                return end
    return None


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]
