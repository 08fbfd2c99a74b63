"""Facts about one TypeScript or JavaScript file, from tree-sitter: the same `FileFacts` as the
Python extractor's, so that build, prompts, generate and the read layer serve both.

Imported only when such a file is parsed (``tree_sitter`` and the grammars load here, not in
`pith._extract`). `parse_script` never raises on bad input: a file tree-sitter parses with
errors still yields its facts (tree-sitter recovers), and a minified or generated file gets a
``problem`` saying so.

What becomes what:

- functions: ``function f``, ``const f = () => ...`` / ``= function``, ``exports.f = ...``,
  ``X.prototype.f = ...`` / ``X.f = ...`` at top level (qualname ``X.f``);
- classes (abstract ones too) with their methods, arrow-function fields included;
- symbols: all of the above, interfaces and enums (kind class), type aliases and other
  top-level ``const``/``let``/``var`` (kind constant);
- imports: ES ``import``, ``export ... from``, ``require()`` and dynamic ``import()`` with a
  literal specifier, resolved by `pith._extract._ts_imports.TsResolver`;
- exports: named, ``default``, ``export { a as b }``, re-exports and ``export *``, CommonJS
  ``module.exports`` / ``exports.x``;
- docstrings: the JSDoc block (``/** ... */``) right above a definition.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs
import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from .._models import (
    ClassFacts,
    FileFacts,
    FunctionFacts,
    ImportFact,
    SymbolFacts,
    SymbolKind,
    UseFacts,
)
from ._python import MAX_FILE_BYTES, SourceLines, content_hash, problem_facts
from ._symbols import MAX_USES, enclosing_class, line_scopes, link_chain

if TYPE_CHECKING:
    from ._ts_imports import TsResolver

__all__ = ["language_name", "parse_script"]

DOCSTRING_CHARS = 2000
METHOD_DOCSTRING_CHARS = 600
SYMBOL_DOCSTRING_CHARS = 600
SIGNATURE_CHARS = 320
# Minified: a long line in a file of few lines. Generated: a marker in its first lines.
MINIFIED_LINE_CHARS = 1000
MINIFIED_MEAN_CHARS = 300
_GENERATED = re.compile(
    rb"@generated|DO NOT EDIT|auto-?generated (?:by|file|code)|this file (?:is|was) generated",
    re.IGNORECASE,
)
_TUNABLE_WORD = re.compile(r"timeout|retr(?:y|ies)|attempts|backoff|delay")
_TUNABLE_TAIL = re.compile(r"\w*[\"']?\s*(?::[^=\n,;]{1,40})?[:=]\s*-?\.?\d")
_CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
_URL = re.compile(r"^[`'\"]https?://")
_JSDOC_LINE = re.compile(r"^\s*\*? ?")

_DECISIONS = """
[(if_statement) (for_statement) (for_in_statement) (while_statement) (do_statement)
 (catch_clause) (ternary_expression) (switch_case)] @branch
(binary_expression operator: ["&&" "||" "??"]) @branch
"""
_NAMES = "[(identifier) (type_identifier) (shorthand_property_identifier)] @name"
_THIS = "(member_expression object: (this) property: (property_identifier) @member) @chain"
_CALLS = """
(call_expression function: [(identifier) (import)] @callee
  arguments: (arguments . (string (string_fragment) @specifier) .)) @call
(throw_statement) @throw
(string (string_fragment) @text) @string
"""
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
_CLASS_DECLARATIONS = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_FUNCTION_DECLARATIONS = frozenset({"function_declaration", "generator_function_declaration"})
# Where a name is declared, not used: (parent type, field) of an identifier that is its name.
_DECLARING_PARENTS = frozenset(
    {
        "import_specifier",
        "import_clause",
        "namespace_import",
        "export_specifier",
        "namespace_export",
    }
)


@attrs.frozen
class _Grammar:
    parser: tree_sitter.Parser
    decisions: tree_sitter.Query
    names: tree_sitter.Query
    this: tree_sitter.Query
    calls: tree_sitter.Query


_GRAMMARS: dict[str, _Grammar] = {}


def language_name(path: str) -> str:
    """ "TypeScript" or "JavaScript", by the file's suffix."""
    return "TypeScript" if path.endswith((".ts", ".tsx", ".mts", ".cts")) else "JavaScript"


def _grammar(path: str) -> _Grammar:
    if path.endswith(".tsx"):
        key = "tsx"
    elif path.endswith((".ts", ".mts", ".cts")):
        key = "typescript"
    else:
        key = "javascript"
    grammar = _GRAMMARS.get(key)
    if grammar is None:
        if key == "tsx":
            pointer = tree_sitter_typescript.language_tsx()
        elif key == "typescript":
            pointer = tree_sitter_typescript.language_typescript()
        else:
            pointer = tree_sitter_javascript.language()
        language = tree_sitter.Language(pointer)
        type_names = (
            _NAMES
            if key != "javascript"
            else "[(identifier) (shorthand_property_identifier)] @name"
        )
        grammar = _GRAMMARS[key] = _Grammar(
            parser=tree_sitter.Parser(language),
            decisions=tree_sitter.Query(language, _DECISIONS),
            names=tree_sitter.Query(language, type_names),
            this=tree_sitter.Query(language, _THIS),
            calls=tree_sitter.Query(language, _CALLS),
        )
    return grammar


def minified_or_generated(data: bytes) -> str | None:
    """Why a script file is not worth parsing: minified (long lines) or generated (a marker
    in its first 1 KB); None when it is hand-written code."""
    if _GENERATED.search(data[:1024]):
        return "generated (a generated-code marker in its first lines); not parsed"
    lines = data.count(b"\n") + 1
    longest = max((len(line) for line in data.split(b"\n")), default=0)
    if longest > MINIFIED_LINE_CHARS and len(data) / lines > MINIFIED_MEAN_CHARS:
        return f"minified (lines of up to {longest:,} characters); not parsed"
    return None


def parse_script(path: str, data: bytes, resolver: TsResolver | None = None) -> FileFacts:
    """Everything tree-sitter tells about one TypeScript/JavaScript file's bytes; ``path`` is
    its file id. With ``resolver``, imports and the uses of imported names are linked to
    project files."""
    if len(data) > MAX_FILE_BYTES:
        return problem_facts(path, f"over 1 MB ({len(data):,} bytes); not parsed", data)
    if b"\0" in data:
        return problem_facts(path, "contains NUL bytes (binary?); not parsed", data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return problem_facts(
            path, f"bytes invalid in utf-8 at offset {exc.start}; not parsed", data
        )
    reason = minified_or_generated(data)
    if reason is not None:
        return problem_facts(path, reason, data)
    grammar = _grammar(path)
    tree = grammar.parser.parse(data)
    try:
        return _Reader(path, data, grammar, resolver).file_facts(tree.root_node)
    except RecursionError:
        return problem_facts(path, "too deeply nested to read: RecursionError", data)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsdoc(text: str) -> str | None:
    """The text of a ``/** ... */`` comment, without its stars."""
    if not text.startswith("/**") or text == "/**/":
        return None
    body = text[3:].removesuffix("*/")
    lines = [_JSDOC_LINE.sub("", line, count=1).rstrip() for line in body.split("\n")]
    cleaned = "\n".join(lines).strip()
    return cleaned or None


class _Reader(SourceLines):
    """Reads one parsed file; not reusable."""

    def __init__(
        self, path: str, data: bytes, grammar: _Grammar, resolver: TsResolver | None
    ) -> None:
        self.path = path
        self.data = data
        self.grammar = grammar
        self.resolver = resolver
        super().__init__(data.decode("utf-8"))
        self.functions: list[FunctionFacts] = []
        self.classes: list[ClassFacts] = []
        self.symbols: dict[str, SymbolFacts] = {}
        self.bases: dict[str, list[str]] = {}  # class qualname -> base name chains
        self.imports: list[ImportFact] = []
        self.exports: list[str] = []
        # local name -> (specifier, name in it: "" for the module, "default", "x")
        self.bound: dict[str, tuple[str, str]] = {}
        self.self_bound: dict[str, str] = {}  # exported name -> local definition
        self.star_specifiers: list[str] = []
        self.declared: set[int] = set()  # start bytes of definition names
        self.decisions: list[int] = []
        self.kinds: dict[str, SymbolKind] = {}  # qualname -> kind, once every symbol is known

    # --- helpers ------------------------------------------------------------------------

    def text(self, node: tree_sitter.Node | None) -> str:
        if node is None:
            return ""
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def complexity(self, node: tree_sitter.Node) -> int:
        low = bisect.bisect_left(self.decisions, node.start_byte)
        high = bisect.bisect_left(self.decisions, node.end_byte)
        return 1 + high - low

    def docstring(self, node: tree_sitter.Node, limit: int) -> str | None:
        """The JSDoc block right above ``node`` (or above the export statement holding it)."""
        holder = node
        while holder.parent is not None and holder.parent.type in (
            "export_statement",
            "lexical_declaration",
            "variable_declaration",
        ):
            if holder.prev_named_sibling is not None:
                break
            holder = holder.parent
        previous = holder.prev_sibling
        while previous is not None and previous.type == "decorator":
            previous = previous.prev_sibling
        if previous is None or previous.type != "comment":
            return None
        if holder.start_point.row - previous.end_point.row > 1:
            return None
        text = _jsdoc(self.text(previous))
        return None if text is None else _bounded(text, limit)

    def signature(self, node: tree_sitter.Node) -> str:
        """``(a: number, b?): Promise<T>`` of a function-like node."""
        parameters = node.child_by_field_name("parameters")
        if parameters is None:
            parameter = node.child_by_field_name("parameter")
            shown = f"({self.text(parameter)})" if parameter is not None else "()"
        else:
            shown = self.text(parameters)
        returns = node.child_by_field_name("return_type")
        if returns is not None:
            shown += self.text(returns)
        return _bounded(" ".join(shown.split()), SIGNATURE_CHARS)

    # --- the file -----------------------------------------------------------------------

    def file_facts(self, root: tree_sitter.Node) -> FileFacts:
        cursor = tree_sitter.QueryCursor(self.grammar.decisions)
        self.decisions = sorted(
            n.start_byte for nodes in cursor.captures(root).values() for n in nodes
        )
        for statement in root.named_children:
            self.statement(statement, exported=False)
        self.kinds = {q: symbol.kind for q, symbol in self.symbols.items()}
        self.calls(root)
        self.tunables()
        # one per line and kind: a URL constant is seen as a constant and as a string
        unique = {(k.line, k.kind): k for k in self.key_statements}
        self.key_statements = sorted(unique.values(), key=lambda k: (k.line, k.kind))
        self.imports.sort(key=lambda i: i.line)
        imports = tuple(self.imports)
        targets: dict[str, str | None] = {}
        if self.resolver is not None:
            for fact in imports:
                if fact.module not in targets:
                    targets[fact.module] = self.resolver.resolve(self.path, fact.module)
            imports = tuple(attrs.evolve(i, resolved=targets[i.module]) for i in imports)
        bindings: dict[str, tuple[str, str]] = {}
        for local, (specifier, name) in self.bound.items():
            target = targets.get(specifier)
            if target is not None:
                bindings[local] = (target, name)
        stars = []
        for specifier in self.star_specifiers:
            target = targets.get(specifier)
            if target is not None and target not in stars:
                stars.append(target)
        symbols = self.linked_symbols(bindings)
        uses = self.uses(root, symbols, bindings)
        every_binding = [(local, file, dotted) for local, (file, dotted) in bindings.items()]
        every_binding += [
            (name, self.path, local)
            for name, local in self.self_bound.items()
            if name not in bindings and local in self.symbols
        ]
        return FileFacts(
            path=self.path,
            content_hash=content_hash(self.data),
            lines=self.data.count(b"\n") + (0 if self.data.endswith(b"\n") or not self.data else 1),
            docstring=self.file_docstring(root),
            imports=imports,
            functions=tuple(self.functions),
            classes=tuple(self.classes),
            key_statements=tuple(self.key_statements),
            exports=tuple(dict.fromkeys(self.exports)),
            symbols=symbols,
            uses=uses,
            bindings=tuple(every_binding),
            star_imports=tuple(stars),
        )

    def file_docstring(self, root: tree_sitter.Node) -> str | None:
        """The file's leading JSDoc block: one that says ``@file``/``@module``/``@fileoverview``,
        or one a blank line parts from the code below it."""
        first = next((c for c in root.children if c.type != "hash_bang_line"), None)
        if first is None or first.type != "comment":
            return None
        text = _jsdoc(self.text(first))
        if text is None:
            return None
        following = first.next_sibling
        tagged = any(
            tag in text for tag in ("@file", "@module", "@fileoverview", "@packageDocumentation")
        )
        apart = following is None or following.start_point.row - first.end_point.row > 1
        return _bounded(text, DOCSTRING_CHARS) if tagged or apart else None

    # --- statements ---------------------------------------------------------------------

    def statement(self, node: tree_sitter.Node, *, exported: bool) -> None:
        kind = node.type
        if kind == "export_statement":
            self.export(node)
        elif kind == "import_statement":
            self.import_statement(node)
        elif kind in _FUNCTION_DECLARATIONS:
            self.function(node, self.text(node.child_by_field_name("name")), exported=exported)
        elif kind in _CLASS_DECLARATIONS:
            self.klass(node, self.text(node.child_by_field_name("name")), exported=exported)
        elif kind in ("lexical_declaration", "variable_declaration"):
            for declarator in node.named_children:
                if declarator.type == "variable_declarator":
                    self.declarator(node, declarator, exported=exported)
        elif kind == "interface_declaration":
            self.type_symbol(node, SymbolKind.CLASS, exported=exported)
        elif kind in ("type_alias_declaration", "enum_declaration"):
            symbol_kind = SymbolKind.CLASS if kind == "enum_declaration" else SymbolKind.CONSTANT
            self.type_symbol(node, symbol_kind, exported=exported)
        elif kind == "expression_statement":
            expression = node.named_children[0] if node.named_children else None
            if expression is not None and expression.type == "assignment_expression":
                self.assignment(node, expression)
        elif kind in ("ambient_declaration", "module", "internal_module"):
            body = node.child_by_field_name("body")
            holder = body if body is not None else node
            for child in holder.named_children:
                if child.type != "statement_block":
                    self.statement(child, exported=exported)
            if body is None:
                for child in node.named_children:
                    if child.type == "statement_block":
                        for inner in child.named_children:
                            self.statement(inner, exported=exported)

    def name_node(self, node: tree_sitter.Node) -> None:
        name = node.child_by_field_name("name")
        if name is not None:
            self.declared.add(name.start_byte)

    def export(self, node: tree_sitter.Node) -> None:
        source = node.child_by_field_name("source")
        specifier = self.string(source)
        is_default = any(c.type == "default" for c in node.children)
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            before = set(self.symbols)
            self.statement(declaration, exported=True)
            declared = [q for q in self.symbols if q not in before and "." not in q]
            self.exports.extend(declared)
            if is_default and declared:
                self.exports.append("default")
                self.self_bound["default"] = declared[0]
            return
        value = node.child_by_field_name("value")
        if is_default and value is not None:
            self.exports.append("default")
            if value.type == "identifier":
                self.self_bound["default"] = self.text(value)
            elif value.type in _FUNCTION_VALUES:
                self.function(value, "default", exported=True, holder=node)
            elif value.type == "class":
                self.klass(value, "default", exported=True, holder=node)
            return
        line = node.start_point.row + 1
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if clause is not None:
            names: list[str] = []
            for spec in clause.named_children:
                if spec.type != "export_specifier":
                    continue
                original = self.text(spec.child_by_field_name("name"))
                alias = self.text(spec.child_by_field_name("alias")) or original
                self.exports.append(alias)
                names.append(original)
                if specifier is not None:
                    self.bound[alias] = (specifier, original)
                elif alias != original:
                    self.self_bound[alias] = original
            if specifier is not None:
                self.imports.append(ImportFact(module=specifier, names=tuple(names), line=line))
        elif namespace is not None and specifier is not None:
            alias = self.text(namespace.named_children[-1]) if namespace.named_children else ""
            self.exports.append(alias)
            self.bound[alias] = (specifier, "")
            self.imports.append(ImportFact(module=specifier, names=("*",), line=line))
        elif specifier is not None:  # export * from "x"
            self.star_specifiers.append(specifier)
            self.imports.append(ImportFact(module=specifier, names=("*",), line=line))

    def string(self, node: tree_sitter.Node | None) -> str | None:
        if node is None or node.type != "string":
            return None
        return "".join(self.text(c) for c in node.named_children if c.type == "string_fragment")

    def import_statement(self, node: tree_sitter.Node) -> None:
        specifier = self.string(node.child_by_field_name("source"))
        if specifier is None:
            return
        names: list[str] = []
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        for part in clause.named_children if clause is not None else ():
            if part.type == "identifier":
                names.append("default")
                self.bound[self.text(part)] = (specifier, "default")
            elif part.type == "namespace_import":
                local = next((c for c in part.named_children if c.type == "identifier"), None)
                if local is not None:
                    self.bound[self.text(local)] = (specifier, "")
            elif part.type == "named_imports":
                for spec in part.named_children:
                    if spec.type != "import_specifier":
                        continue
                    original = self.text(spec.child_by_field_name("name"))
                    alias = self.text(spec.child_by_field_name("alias")) or original
                    names.append(original)
                    self.bound[alias] = (specifier, original)
        self.imports.append(
            ImportFact(module=specifier, names=tuple(names), line=node.start_point.row + 1)
        )

    def function(
        self,
        node: tree_sitter.Node,
        qualname: str,
        *,
        exported: bool,
        holder: tree_sitter.Node | None = None,
        method: bool = False,
        heading_node: tree_sitter.Node | None = None,
    ) -> FunctionFacts | None:
        """A function of the file (or a method, with ``method``): its facts and symbol."""
        if not qualname:
            return None
        self.name_node(node)
        outer = holder if holder is not None else node
        start, end = outer.start_point.row + 1, outer.end_point.row + 1
        is_async = any(c.type == "async" for c in node.children)
        name = qualname.rpartition(".")[2]
        signature = self.signature(node)
        prefix = "async " if is_async else ""
        if method:
            modifiers = [
                self.text(c)
                for c in (heading_node or node).children
                if c.type in ("static", "get", "set", "accessibility_modifier", "abstract")
            ]
            heading = " ".join([*modifiers, f"{prefix}{name}{signature}"])
        else:
            star = "*" if "generator" in node.type else ""
            heading = f"{prefix}function{star} {name}{signature}"
        facts = FunctionFacts(
            name=name,
            qualname=qualname,
            signature=signature,
            start_line=start,
            end_line=end,
            is_async=is_async,
            docstring=self.docstring(outer, METHOD_DOCSTRING_CHARS if method else DOCSTRING_CHARS),
            complexity=self.complexity(node),
            snippet=self.snippet(start, end, method=method),
            source_hash=self.source_hash(start, end),
            heading=heading,
        )
        kind = SymbolKind.METHOD if method else SymbolKind.FUNCTION
        self.add_symbol(qualname, kind, start, end, heading, facts.docstring)
        if not method:
            self.functions.append(facts)
        return facts

    def add_symbol(
        self,
        qualname: str,
        kind: SymbolKind,
        start: int,
        end: int,
        signature: str,
        docstring: str | None,
    ) -> None:
        if qualname in self.symbols and self.symbols[qualname].kind is not SymbolKind.CONSTANT:
            return  # an overload signature or a redeclaration: the first one stands
        self.symbols[qualname] = SymbolFacts(
            qualname=qualname,
            kind=kind,
            start_line=start,
            end_line=end,
            signature=_bounded(signature, SIGNATURE_CHARS),
            docstring=None if docstring is None else _bounded(docstring, SYMBOL_DOCSTRING_CHARS),
        )

    def klass(
        self,
        node: tree_sitter.Node,
        name: str,
        *,
        exported: bool,
        holder: tree_sitter.Node | None = None,
    ) -> None:
        if not name:
            return
        self.name_node(node)
        outer = holder if holder is not None else node
        start, end = outer.start_point.row + 1, outer.end_point.row + 1
        bases: list[str] = []
        implements: list[str] = []
        heritage = next((c for c in node.named_children if c.type == "class_heritage"), None)
        for clause in heritage.named_children if heritage is not None else ():
            values = [self.text(v) for v in clause.named_children]
            if clause.type == "extends_clause":
                bases.extend(values)
            elif clause.type == "implements_clause":
                implements.extend(values)
            else:  # JavaScript: class_heritage holds the expression itself
                bases.append(self.text(clause))
        heading = f"class {name}"
        if any(c.type == "abstract" for c in node.children):
            heading = "abstract " + heading
        if bases:
            heading += f" extends {', '.join(bases)}"
        if implements:
            heading += f" implements {', '.join(implements)}"
        docstring = self.docstring(outer, DOCSTRING_CHARS)
        self.add_symbol(name, SymbolKind.CLASS, start, end, heading, docstring)
        self.bases[name] = [b for b in bases if re.fullmatch(r"[\w$.]+", b)]
        methods: list[FunctionFacts] = []
        body = node.child_by_field_name("body")
        for member in body.named_children if body is not None else ():
            method: FunctionFacts | None = None
            if member.type in (
                "method_definition",
                "abstract_method_signature",
                "method_signature",
            ):
                method_name = self.text(member.child_by_field_name("name"))
                method = self.function(member, f"{name}.{method_name}", exported=False, method=True)
            elif member.type in ("public_field_definition", "field_definition"):
                value = member.child_by_field_name("value")
                field_name = member.child_by_field_name("name") or member.child_by_field_name(
                    "property"
                )
                if value is not None and value.type in _FUNCTION_VALUES:
                    self.declared.add(field_name.start_byte if field_name else -1)
                    method = self.function(
                        value,
                        f"{name}.{self.text(field_name)}",
                        exported=False,
                        holder=member,
                        method=True,
                        heading_node=member,
                    )
            if method is not None:
                methods.append(method)
        unique = {m.qualname: m for m in reversed(methods)}  # overloads: the first stands
        self.classes.append(
            ClassFacts(
                name=name,
                qualname=name,
                bases=tuple(_bounded(b, 120) for b in bases),
                start_line=start,
                end_line=end,
                docstring=docstring,
                complexity=max(1, sum(m.complexity for m in unique.values())),
                snippet=self.snippet(start, end),
                source_hash=self.source_hash(start, end),
                methods=tuple(m for m in methods if unique.get(m.qualname) is m),
                heading=heading,
            )
        )

    def declarator(
        self, declaration: tree_sitter.Node, node: tree_sitter.Node, *, exported: bool
    ) -> None:
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if name_node is None:
            return
        if name_node.type == "object_pattern" and value is not None:
            specifier = self.required(value)
            if specifier is not None:  # const { a, b: c } = require("x")
                for part in name_node.named_children:
                    if part.type == "shorthand_property_identifier_pattern":
                        self.bound[self.text(part)] = (specifier, self.text(part))
                    elif part.type == "pair_pattern":
                        key = self.text(part.child_by_field_name("key"))
                        local = self.text(part.child_by_field_name("value"))
                        self.bound[local] = (specifier, key)
            return
        if name_node.type != "identifier":
            return
        name = self.text(name_node)
        if value is not None:
            specifier = self.required(value)
            if specifier is not None:
                self.bound[name] = (specifier, "")
                return
            if value.type in _FUNCTION_VALUES:
                self.declared.add(name_node.start_byte)
                self.function(value, name, exported=exported, holder=declaration)
                return
            if value.type == "class":
                self.declared.add(name_node.start_byte)
                self.klass(value, name, exported=exported, holder=declaration)
                return
        self.declared.add(name_node.start_byte)
        start, end = node.start_point.row + 1, node.end_point.row + 1
        keyword = declaration.children[0].type if declaration.children else "const"
        shown = " ".join(self.text(node).split("\n")[0].split())
        self.add_symbol(
            name,
            SymbolKind.CONSTANT,
            start,
            end,
            _bounded(f"{keyword} {shown}", 160),
            self.docstring(declaration, SYMBOL_DOCSTRING_CHARS),
        )
        if value is None:
            return
        text = self.text(value)
        if value.type in ("string", "template_string") and _URL.match(text):
            self.key(start, "url")
        elif (
            value.type == "number"
            and _CONSTANT_NAME.match(name)
            and not _TUNABLE_WORD.search(name.lower())
        ):
            self.key(start, "constant")

    def required(self, value: tree_sitter.Node) -> str | None:
        """The specifier of ``require("x")`` (also ``require("x").y`` and ``await import("x")``)."""
        while value.type in ("member_expression", "await_expression"):
            inner = value.child_by_field_name("object") or (
                value.named_children[0] if value.named_children else None
            )
            if inner is None:
                return None
            value = inner
        if value.type != "call_expression":
            return None
        callee = value.child_by_field_name("function")
        if callee is None or self.text(callee) not in ("require", "import"):
            return None
        arguments = value.child_by_field_name("arguments")
        if arguments is None or len(arguments.named_children) != 1:
            return None
        return self.string(arguments.named_children[0])

    def type_symbol(self, node: tree_sitter.Node, kind: SymbolKind, *, exported: bool) -> None:
        name = self.text(node.child_by_field_name("name"))
        if not name:
            return
        self.name_node(node)
        start, end = node.start_point.row + 1, node.end_point.row + 1
        body = node.child_by_field_name("body")
        if node.type == "type_alias_declaration":
            shown = " ".join(self.text(node).split())
        else:
            until = body.start_byte if body is not None else node.end_byte
            shown = " ".join(self.data[node.start_byte : until].decode("utf-8", "replace").split())
            if node.type == "interface_declaration":
                heritage = next(
                    (c for c in node.named_children if c.type == "extends_type_clause"), None
                )
                if heritage is not None:
                    self.bases[name] = [
                        self.text(t) for t in heritage.named_children if t.type == "type_identifier"
                    ]
        self.add_symbol(name, kind, start, end, shown, self.docstring(node, SYMBOL_DOCSTRING_CHARS))

    def assignment(self, statement: tree_sitter.Node, node: tree_sitter.Node) -> None:
        """``module.exports = ...``, ``exports.f = ...``, ``X.prototype.f = function``."""
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if left is None or right is None or left.type != "member_expression":
            return
        chain = self.text(left)
        if chain == "module.exports":
            specifier = self.required(right)
            if specifier is not None:
                self.star_specifiers.append(specifier)
                self.imports.append(
                    ImportFact(module=specifier, names=("*",), line=node.start_point.row + 1)
                )
            elif right.type == "identifier":
                self.exports.append(self.text(right))
                self.self_bound["default"] = self.text(right)
            elif right.type == "object":
                for part in right.named_children:
                    key = part.child_by_field_name("key") if part.type == "pair" else part
                    if key is not None and key.type in (
                        "shorthand_property_identifier",
                        "property_identifier",
                    ):
                        self.exports.append(self.text(key))
            elif right.type in _FUNCTION_VALUES:
                self.function(right, "default", exported=True, holder=statement)
                self.exports.append("default")
            return
        parts = chain.split(".")
        if not all(re.fullmatch(r"[\w$]+", p) for p in parts) or len(parts) < 2:
            return
        if parts[0] == "module" and parts[1] == "exports":
            parts = parts[1:]
        if parts[0] == "exports":
            qualname = ".".join(parts[1:])
            if len(parts) == 2:
                self.exports.append(qualname)
        else:
            qualname = ".".join(p for p in parts if p != "prototype")
        if right.type in _FUNCTION_VALUES and qualname:
            self.function(right, qualname, exported=parts[0] == "exports", holder=statement)
        elif right.type == "identifier" and parts[0] == "exports" and len(parts) == 2:
            self.self_bound[qualname] = self.text(right)

    # --- the whole tree: calls, strings, throws, tunables -------------------------------

    def calls(self, root: tree_sitter.Node) -> None:
        cursor = tree_sitter.QueryCursor(self.grammar.calls)
        seen_imports = {(i.module, i.line) for i in self.imports}
        for _, captures in cursor.matches(root):
            if "throw" in captures:
                self.key(captures["throw"][0].start_point.row + 1, "raise")
            elif "specifier" in captures:
                callee = self.text(captures["callee"][0])
                if callee not in ("require", "import"):
                    continue
                specifier = self.text(captures["specifier"][0])
                line = captures["call"][0].start_point.row + 1
                if (specifier, line) not in seen_imports:
                    seen_imports.add((specifier, line))
                    self.imports.append(ImportFact(module=specifier, line=line))
            elif "text" in captures:
                text = self.text(captures["text"][0])
                if text.startswith(("http://", "https://")) and len(text) > 10:
                    self.key(captures["string"][0].start_point.row + 1, "url")

    def tunables(self) -> None:
        """``timeout: 5000``, ``MAX_RETRIES = 3``, ``retryDelay = 100``: one regex pass."""
        text = "\n".join(self.lines)
        lowered = text.lower()
        for match in _TUNABLE_WORD.finditer(lowered):
            if not _TUNABLE_TAIL.match(lowered, match.end()):
                continue
            line = text.count("\n", 0, match.start()) + 1
            if self.line_text(line).startswith(("//", "*", "/*")):
                continue
            self.key(line, "timeout" if match.group() == "timeout" else "retry")

    # --- symbols and uses ---------------------------------------------------------------

    def linked_symbols(self, bindings: dict[str, tuple[str, str]]) -> tuple[SymbolFacts, ...]:
        out = []
        for qualname, symbol in self.symbols.items():
            chains = self.bases.get(qualname)
            if chains:
                linked = [self.link(c, "", bindings) for c in chains]
                found = tuple(t for t in linked if t is not None)
                symbol = attrs.evolve(symbol, bases=found)
            out.append(symbol)
        return tuple(out)

    def link(
        self, chain: str, scope: str, bindings: dict[str, tuple[str, str]]
    ) -> tuple[str, str] | None:
        return link_chain(chain, scope, self.path, self.kinds, bindings)

    def chains(self, root: tree_sitter.Node, interest: set[str]) -> Iterator[tuple[int, str]]:
        """(line, ``a.b.c``) of each use of a name in ``interest``, and (line, ``this.x``)."""
        cursor = tree_sitter.QueryCursor(self.grammar.names)
        for node in cursor.captures(root).get("name", ()):
            name = self.text(node)
            if name not in interest or node.start_byte in self.declared:
                continue
            parent = node.parent
            if parent is not None and parent.type in _DECLARING_PARENTS:
                continue
            parts = [name]
            current = node
            while (
                parent is not None
                and parent.type in ("member_expression", "nested_type_identifier")
                and parent.child_by_field_name(
                    "object" if parent.type == "member_expression" else "module"
                )
                == current
            ):
                prop = parent.child_by_field_name(
                    "property" if parent.type == "member_expression" else "name"
                )
                if prop is None:
                    break
                parts.append(self.text(prop))
                current, parent = parent, parent.parent
            yield node.start_point.row + 1, ".".join(parts)
        this_cursor = tree_sitter.QueryCursor(self.grammar.this)
        for node in this_cursor.captures(root).get("member", ()):
            yield node.start_point.row + 1, f"this.{self.text(node)}"

    def uses(
        self,
        root: tree_sitter.Node,
        symbols: tuple[SymbolFacts, ...],
        bindings: dict[str, tuple[str, str]],
    ) -> tuple[UseFacts, ...]:
        kinds = {s.qualname: s.kind for s in symbols}
        interest = set(kinds) | set(bindings)
        interest.update(q.rpartition(".")[2] for q in kinds)
        scopes = line_scopes(list(symbols), len(self.lines))
        with_bases = {s.qualname for s in symbols if s.bases}
        found: list[UseFacts] = []
        seen: set[tuple[int, str, str]] = set()
        for line, chain in sorted(self.chains(root, interest)):
            scope = scopes[line] if line < len(scopes) else ""
            base, _, rest = chain.partition(".")
            if base == "this":
                owner = enclosing_class(scope, kinds)
                if owner is None:
                    continue
                member = f"{owner}.{rest}"
                if member in kinds:  # the class's own
                    use = UseFacts(line, scope, self.path, member, text=self.line_text(line))
                elif owner in with_bases:  # maybe a base's: resolved at build
                    use = UseFacts(
                        line, scope, self.path, member, member=True, text=self.line_text(line)
                    )
                else:  # a field that holds data
                    continue
            else:
                target = self.link(chain, scope, bindings)
                if target is None:
                    continue
                use = UseFacts(line, scope, *target, text=self.line_text(line))
            if (line, use.target, use.dotted) in seen:
                continue
            seen.add((line, use.target, use.dotted))
            found.append(use)
            if len(found) >= MAX_USES:
                break
        return tuple(found)
