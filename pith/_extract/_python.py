"""Facts about one Python file, from the stdlib ``ast``; and the resolution of its imports.

`parse_source` never raises on bad input: a file that cannot be parsed still yields a `FileFacts`
with ``problem`` saying why. Each AST node is visited once: one walk per top-level definition
(methods walked one by one) computes the complexity and collects imports and key statements.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize
import warnings
from collections.abc import Iterable

import attrs

from .._models import ClassFacts, FileFacts, FunctionFacts, ImportFact, KeyStatement, Variant
from ._symbols import RawBinding, collect
from ._terms import search_terms

__all__ = [
    "MAX_FILE_BYTES",
    "ImportResolver",
    "SourceLines",
    "content_hash",
    "parse_source",
    "problem_facts",
    "source_text",
]

MAX_FILE_BYTES = 1_000_000  # larger files get a node but are not parsed
SNIPPET_LINES = 12  # of a top-level function or class
SNIPPET_CHARS = 800
DOCSTRING_CHARS = 2000
# A method's snippet and docstring are shorter: there are many methods, and the facts of a
# large codebase would otherwise outweigh its source.
METHOD_SNIPPET_LINES = 5
METHOD_SNIPPET_CHARS = 300
METHOD_DOCSTRING_CHARS = 600
LINE_CHARS = 160  # a key statement's text
KEY_STATEMENTS_PER_KIND = 20
DECORATOR_CHARS = 120

# Where the statements nested in a statement live, per statement type.
_STATEMENT_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {
    ast.If: ("body", "orelse"),
    ast.While: ("body", "orelse"),
    ast.For: ("body", "orelse"),
    ast.AsyncFor: ("body", "orelse"),
    ast.With: ("body",),
    ast.AsyncWith: ("body",),
    ast.Try: ("body", "handlers", "orelse", "finalbody"),
    ast.TryStar: ("body", "handlers", "orelse", "finalbody"),
    ast.ExceptHandler: ("body",),
    ast.Match: ("cases",),
    ast.match_case: ("body",),
    ast.FunctionDef: ("body",),
    ast.AsyncFunctionDef: ("body",),
    ast.ClassDef: ("body",),
}
# Statements `scan` does more with than descend into.
_NOTABLE = frozenset(
    {
        ast.If,
        ast.While,
        ast.For,
        ast.AsyncFor,
        ast.Try,
        ast.TryStar,
        ast.Match,
        ast.Assert,
        ast.Import,
        ast.ImportFrom,
        ast.Raise,
    }
)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Blocks whose definitions still count as the enclosing scope's (platform and version branches,
# `try: ... except ImportError:` fallbacks): their defs become functions and classes of the file.
_BRANCHES = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith)
_TIMEOUT = re.compile(r"timeout", re.IGNORECASE)
_RETRY = re.compile(r"retr(y|ies)|attempts|backoff", re.IGNORECASE)
_STATUS = re.compile(r"status", re.IGNORECASE)
_CONSTANT_NAME = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
# A literal number given to a timeout/retry-like name: `timeout=5`, `RETRIES: int = 3`. Found
# in two steps (the word in the lower-cased text, then what follows it): much faster than one
# pattern that starts with `\w*`.
_TUNABLE_WORD = re.compile(r"timeout|retr(?:y|ies)|attempts|backoff")
_TUNABLE_HINTS = ("timeout", "retr", "attempts", "backoff")  # each match holds one of them
_TUNABLE_TAIL = re.compile(r"\w*\s*(?::[^=\n]{1,40})?=\s*-?\.?\d")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def problem_facts(path: str, problem: str, data: bytes | None = None) -> FileFacts:
    """The facts of a file that could not be parsed: its hash (when readable) and the reason."""
    if data is None:
        return FileFacts(path=path, content_hash="", problem=problem)
    return FileFacts(
        path=path, content_hash=content_hash(data), lines=_count_lines(data), problem=problem
    )


def source_text(data: bytes) -> str | None:
    """A Python file's bytes as text (its declared encoding, else UTF-8); None when they do
    not decode."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return None


def parse_source(path: str, data: bytes, resolver: ImportResolver | None = None) -> FileFacts:
    """Everything ``ast`` tells about one file's bytes; ``path`` is its file id.

    With ``resolver``, imports are resolved to project files and the uses of imported names
    linked to them (`pith._extract._symbols`); without, imports are returned unresolved
    (``resolved=None``) and only the file's uses of its own names are kept.
    """
    if len(data) > MAX_FILE_BYTES:
        return problem_facts(path, f"over 1 MB ({len(data):,} bytes); not parsed", data)
    if b"\0" in data:
        return problem_facts(path, "contains NUL bytes (binary?); not parsed", data)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        return problem_facts(
            path, f"bytes invalid in {exc.encoding} at offset {exc.start}; not parsed", data
        )
    except (SyntaxError, LookupError) as exc:
        # detect_encoding also fails this way on undeclared bytes that are not UTF-8.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            return problem_facts(
                path, f"bytes invalid in utf-8 at offset {decode_error.start}; not parsed", data
            )
        return problem_facts(path, f"bad encoding declaration: {exc}", data)
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and the like warn; they are the codebase's business.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        return problem_facts(path, f"syntax error at line {exc.lineno}: {exc.msg}", data)
    except (ValueError, RecursionError, MemoryError) as exc:
        return problem_facts(path, f"cannot parse: {type(exc).__name__}: {exc}", data)
    try:
        facts = _Visitor(text).file_facts(path, data, text, tree, resolver)
        return attrs.evolve(facts, terms=search_terms(facts, text))
    except (RecursionError, MemoryError) as exc:
        return problem_facts(path, f"too deeply nested to read: {type(exc).__name__}", data)


def _count_lines(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # ast.unparse has had bugs on odd trees; a name is not worth a crash
        return "?"


class SourceLines:
    """A file's lines, and what every extractor makes of them: snippets, source hashes and
    key statements (at most `KEY_STATEMENTS_PER_KIND` of each kind)."""

    def __init__(self, text: str) -> None:
        # Split on "\n" only: ast counts lines that way (str.splitlines also splits on \x0c).
        self.lines = text.split("\n")
        self.key_statements: list[KeyStatement] = []
        self._kind_counts: dict[str, int] = {}

    def snippet(self, start: int, end: int, *, method: bool = False) -> str:
        last = min(end, start + (METHOD_SNIPPET_LINES if method else SNIPPET_LINES) - 1)
        text = "\n".join(line.rstrip() for line in self.lines[start - 1 : last])
        if last < end:
            text += "\n    ..."
        return _bounded(text, METHOD_SNIPPET_CHARS if method else SNIPPET_CHARS)

    def source_hash(self, start: int, end: int) -> str:
        text = "\n".join(self.lines[start - 1 : end])
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def line_text(self, line: int) -> str:
        if 1 <= line <= len(self.lines):
            return _bounded(self.lines[line - 1].strip(), LINE_CHARS)
        return ""

    def key(self, line: int, kind: str) -> None:
        count = self._kind_counts.get(kind, 0)
        if count < KEY_STATEMENTS_PER_KIND:
            self._kind_counts[kind] = count + 1
            self.key_statements.append(
                KeyStatement(line=line, kind=kind, text=self.line_text(line))
            )


class _Visitor(SourceLines):
    """Walks one module once, collecting facts; not reusable across files."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.imports: list[ImportFact] = []
        self.bound: list[RawBinding] = []  # what the imports bind, before resolution

    # --- the file -------------------------------------------------------------------------

    def file_facts(
        self,
        path: str,
        data: bytes,
        text: str,
        tree: ast.Module,
        resolver: ImportResolver | None = None,
    ) -> FileFacts:
        functions: list[FunctionFacts] = []
        classes: list[ClassFacts] = []
        for definition, conditional in self.definitions(tree.body, conditional=False):
            if isinstance(definition, ast.ClassDef):
                classes.append(self.klass(definition, conditional=conditional))
            else:
                functions.append(self.function(definition, definition.name))
                if conditional:
                    functions[-1] = attrs.evolve(functions[-1], variants=(_CONDITIONAL,))
        functions, classes = _fold(functions, classes)
        self.tunables(text)
        self.key_statements.sort(key=lambda k: (k.line, k.kind))
        self.imports.sort(key=lambda i: i.line)
        found = collect(self, path, tree, [*functions, *classes], self.bound, resolver)
        imports = tuple(self.imports)
        if resolver is not None and imports:
            imports = resolver.resolve(path, imports)
        return FileFacts(
            path=path,
            content_hash=content_hash(data),
            lines=_count_lines(data),
            docstring=self.docstring(tree),
            imports=imports,
            functions=tuple(functions),
            classes=tuple(classes),
            key_statements=tuple(self.key_statements),
            exports=_exports(tree),
            symbols=found.symbols,
            uses=found.uses,
            bindings=found.bindings,
            star_imports=found.star_imports,
        )

    def function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, *, method: bool = False
    ) -> FunctionFacts:
        signature = f"({self.parameters(node.args)})"
        if node.returns is not None:
            signature += f" -> {self.source(node.returns)}"
        start = self.start_line(node)
        end = node.end_lineno or node.lineno
        return FunctionFacts(
            name=node.name,
            qualname=qualname,
            signature=signature,
            start_line=start,
            end_line=end,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            decorators=self.decorators(node),
            docstring=self.docstring(node, METHOD_DOCSTRING_CHARS if method else DOCSTRING_CHARS),
            complexity=self.scan(node),
            snippet=self.snippet(start, end, method=method),
            source_hash=self.source_hash(start, end),
        )

    def definitions(
        self, body: list[ast.stmt], *, conditional: bool, module: bool = True
    ) -> Iterable[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, bool]]:
        """The definitions of a scope in source order, with whether each sits in a branch;
        every other statement is scanned once here."""
        for statement in body:
            if isinstance(statement, (*_DEFS, ast.ClassDef)):
                yield statement, conditional
            elif isinstance(statement, _BRANCHES):
                if isinstance(statement, ast.If):
                    self.condition(statement.test)
                blocks: list[list[ast.stmt]] = []
                if isinstance(statement, ast.Try | ast.TryStar):
                    blocks += [statement.body, *(h.body for h in statement.handlers)]
                    blocks += [statement.orelse, statement.finalbody]
                elif isinstance(statement, ast.If):
                    blocks += [statement.body, statement.orelse]
                else:
                    blocks.append(statement.body)
                for block in blocks:
                    yield from self.definitions(block, conditional=True, module=module)
            else:
                if module:
                    self.module_constant(statement)
                self.scan(statement)

    def klass(self, node: ast.ClassDef, *, conditional: bool = False) -> ClassFacts:
        methods: list[FunctionFacts] = []
        for statement, in_branch in self.definitions(node.body, conditional=False, module=False):
            if isinstance(statement, ast.ClassDef):
                self.scan(statement)  # nested classes are not facts of their own
                continue
            qualname = f"{node.name}.{statement.name}"
            method = self.function(statement, qualname, method=True)
            methods.append(attrs.evolve(method, variants=(_CONDITIONAL,)) if in_branch else method)
        methods, _ = _fold(methods, [])
        start = self.start_line(node)
        end = node.end_lineno or node.lineno
        return ClassFacts(
            name=node.name,
            qualname=node.name,
            bases=tuple(_bounded(self.source(b), DECORATOR_CHARS) for b in node.bases),
            start_line=start,
            end_line=end,
            decorators=self.decorators(node),
            docstring=self.docstring(node),
            complexity=max(1, sum(m.complexity for m in methods)),
            snippet=self.snippet(start, end),
            methods=tuple(methods),
            source_hash=self.source_hash(start, end),
            variants=(_CONDITIONAL,) if conditional else (),
        )

    # --- pieces ----------------------------------------------------------------------------

    @staticmethod
    def start_line(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int:
        return min([node.lineno, *(d.lineno for d in node.decorator_list)])

    def decorators(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    ) -> tuple[str, ...]:
        return tuple(_bounded(self.source(d), DECORATOR_CHARS) for d in node.decorator_list)

    def source(self, node: ast.expr) -> str:
        """The source text of an expression as written when it fits on one line (slicing is
        far cheaper than ``ast.unparse``), else its unparsed form."""
        if node.end_lineno == node.lineno and node.end_col_offset is not None:
            line = self.lines[node.lineno - 1]
            if line.isascii():
                return line[node.col_offset : node.end_col_offset]
            # Column offsets count UTF-8 bytes.
            encoded = line.encode("utf-8", "surrogatepass")
            return encoded[node.col_offset : node.end_col_offset].decode("utf-8", "replace")
        return _unparse(node)

    def parameters(self, args: ast.arguments) -> str:
        """A parameter list as written (PEP 8 spacing), without the parentheses."""
        parts: list[str] = []
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults += args.defaults
        for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
            parts.append(self.parameter(arg, default))
            if index == len(args.posonlyargs) - 1:
                parts.append("/")
        if args.vararg is not None:
            parts.append("*" + self.parameter(args.vararg, None))
        elif args.kwonlyargs:
            parts.append("*")
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            parts.append(self.parameter(arg, default))
        if args.kwarg is not None:
            parts.append("**" + self.parameter(args.kwarg, None))
        return ", ".join(parts)

    def parameter(self, arg: ast.arg, default: ast.expr | None) -> str:
        text = arg.arg
        if arg.annotation is not None:
            text += f": {self.source(arg.annotation)}"
        if default is not None:
            text += f" = {self.source(default)}" if arg.annotation else f"={self.source(default)}"
        return text

    @staticmethod
    def docstring(
        node: ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
        limit: int = DOCSTRING_CHARS,
    ) -> str | None:
        text = ast.get_docstring(node, clean=True)
        return None if text is None else _bounded(text, limit)

    def module_constant(self, statement: ast.stmt) -> None:
        """A module-level ``NAME = <number or URL>`` is worth knowing before changing code."""
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            return
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not names or not isinstance(value, ast.Constant):
            return
        constant = value.value
        if isinstance(constant, str) and constant.startswith(("http://", "https://")):
            self.key(statement.lineno, "url")
        elif isinstance(constant, int | float) and not isinstance(constant, bool):
            if any(_TIMEOUT.search(n) or _RETRY.search(n) for n in names):
                return  # `tunables` reports these as "timeout" / "retry"
            if any(_CONSTANT_NAME.match(n) for n in names):
                self.key(statement.lineno, "constant")

    def scan(self, root: ast.stmt) -> int:
        """Walk the statements of ``root`` once (expressions only in conditions, which keeps
        this a fraction of the parse time): collect imports, raises and status checks; return
        its cyclomatic complexity: 1 + if/elif/for/while/except/case branches + boolean
        operators and comprehension clauses in conditions."""
        complexity = 1
        stack: list[ast.AST] = [root]
        while stack:
            node = stack.pop()
            kind = type(node)
            fields = _STATEMENT_FIELDS.get(kind)
            if fields is not None:
                for field in fields:
                    stack.extend(getattr(node, field))
            if kind not in _NOTABLE:
                continue  # most statements: one dict and one set lookup, no isinstance chain
            if isinstance(node, ast.If | ast.While):
                complexity += 1 + self.condition(node.test)
            elif isinstance(node, ast.For | ast.AsyncFor):
                complexity += 1
            elif isinstance(node, ast.Try | ast.TryStar):
                complexity += len(node.handlers)
            elif isinstance(node, ast.Match):
                complexity += len(node.cases)
            elif isinstance(node, ast.Assert):
                self.condition(node.test)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.imports.append(ImportFact(module=alias.name, line=node.lineno))
                    # `import a.b` binds `a`; `import a.b as c` binds `c` to `a.b`
                    if alias.asname:
                        self.bound.append(RawBinding(alias.asname, alias.name, 0, None))
                    else:
                        top = alias.name.partition(".")[0]
                        self.bound.append(RawBinding(top, top, 0, None))
            elif isinstance(node, ast.ImportFrom):
                self.imports.append(
                    ImportFact(
                        module=node.module or "",
                        names=tuple(a.name for a in node.names),
                        level=node.level,
                        line=node.lineno,
                    )
                )
                for alias in node.names:
                    self.bound.append(
                        RawBinding(
                            alias.asname or alias.name, node.module or "", node.level, alias.name
                        )
                    )
            elif isinstance(node, ast.Raise):
                self.key(node.lineno, "raise")
        return complexity

    def condition(self, test: ast.expr) -> int:
        """Boolean operators and comprehension clauses of a condition; notes status checks."""
        extra = 0
        stack: list[ast.AST] = [test]
        # Only through the expressions a condition is built of, not into every subexpression.
        while stack:
            node = stack.pop()
            if isinstance(node, ast.BoolOp):
                extra += len(node.values) - 1
                stack.extend(node.values)
            elif isinstance(node, ast.UnaryOp):
                stack.append(node.operand)
            elif isinstance(node, ast.Compare):
                self.compare(node)
            elif isinstance(node, ast.Call):
                stack.extend(node.args)
            elif isinstance(node, ast.GeneratorExp | ast.ListComp | ast.SetComp):
                for generator in node.generators:
                    extra += 1 + len(generator.ifs)
                    stack.extend(generator.ifs)
        return extra

    def tunables(self, text: str) -> None:
        """``timeout=5``, ``MAX_RETRIES = 3``, ``backoff: float = 0.5``: one regex over the
        text, cheaper than visiting every expression node."""
        lowered = text.lower()
        # Most files hold none of the words: a substring search is five times the regex's speed.
        if not any(hint in lowered for hint in _TUNABLE_HINTS):
            return
        for match in _TUNABLE_WORD.finditer(lowered):
            if not _TUNABLE_TAIL.match(lowered, match.end()):
                continue
            line = text.count("\n", 0, match.start()) + 1
            if self.line_text(line).startswith("#"):
                continue
            self.key(line, "timeout" if match.group() == "timeout" else "retry")

    def compare(self, node: ast.Compare) -> None:
        """``response.status_code == 404``, ``status in (500, 502)``: a status-code check."""
        sides = [node.left, *node.comparators]
        named = any(
            (isinstance(s, ast.Attribute) and _STATUS.search(s.attr))
            or (isinstance(s, ast.Name) and _STATUS.search(s.id))
            for s in sides
        )
        if named and any(_has_int(s) for s in sides):
            self.key(node.lineno, "status_check")


# A marker the visitor puts on a definition found in a branch, read (and dropped) by `_fold`.
_CONDITIONAL = Variant(kind="conditional", signature="", start_line=0, end_line=0)
_OVERLOAD = re.compile(r"(^|\.)overload$")
_ACCESSOR = re.compile(r"\.(getter|setter|deleter)$")


def _variant_kind(definition: FunctionFacts | ClassFacts) -> str:
    if _CONDITIONAL in definition.variants:
        return "conditional"
    for decorator in definition.decorators:
        if _OVERLOAD.search(decorator):
            return "overload"
        accessor = _ACCESSOR.search(decorator)
        if accessor:
            return accessor.group(1)
    return "redefinition"


def _fold(
    functions: list[FunctionFacts], classes: list[ClassFacts]
) -> tuple[list[FunctionFacts], list[ClassFacts]]:
    """One definition per qualified name: the others become its ``variants``.

    The primary definition is the last one that is neither an ``@overload`` stub nor a
    property's setter/deleter (so: the implementation, the property's getter, the definition
    that wins at run time), else the last one. Its ``source_hash`` then covers every variant, so
    editing any of them makes its prose stale.
    """
    by_name: dict[str, list[FunctionFacts | ClassFacts]] = {}
    every: list[FunctionFacts | ClassFacts] = [*functions, *classes]
    for definition in sorted(every, key=lambda d: d.start_line):
        by_name.setdefault(definition.qualname, []).append(definition)
    folded: list[FunctionFacts | ClassFacts] = []
    for group in by_name.values():
        kinds = [_variant_kind(d) for d in group]
        if len(group) == 1:
            folded.append(_with_variants(group[0], (), group[0].source_hash))
            continue
        candidates = [
            i for i, kind in enumerate(kinds) if kind not in ("overload", "setter", "deleter")
        ]
        primary_index = candidates[-1] if candidates else len(group) - 1
        primary = group[primary_index]
        variants = tuple(
            Variant(
                kind=kind,
                signature=_variant_signature(d),
                start_line=d.start_line,
                end_line=d.end_line,
                snippet="" if kind == "overload" else d.snippet,
            )
            for i, (d, kind) in enumerate(zip(group, kinds, strict=True))
            if i != primary_index
        )
        combined = hashlib.sha256("".join(d.source_hash for d in group).encode()).hexdigest()
        folded.append(_with_variants(primary, variants, combined))
    return (
        [d for d in folded if isinstance(d, FunctionFacts)],
        [d for d in folded if isinstance(d, ClassFacts)],
    )


def _with_variants(
    definition: FunctionFacts | ClassFacts, variants: tuple[Variant, ...], source_hash: str
) -> FunctionFacts | ClassFacts:
    if definition.variants == variants and definition.source_hash == source_hash:
        return definition
    return attrs.evolve(definition, variants=variants, source_hash=source_hash)


def _variant_signature(definition: FunctionFacts | ClassFacts) -> str:
    if isinstance(definition, ClassFacts):
        return f"class({', '.join(definition.bases)})"
    return definition.signature


def _has_int(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_has_int(e) for e in node.elts)
    return False


def _exports(tree: ast.Module) -> tuple[str, ...]:
    """``__all__`` when the module spells it out literally, else its public top-level names."""
    explicit: list[str] | None = None
    public: list[str] = []
    for statement in tree.body:
        if isinstance(statement, (*_DEFS, ast.ClassDef)):
            public.append(statement.name)
            continue
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
            targets, value = [statement.target], statement.value
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if target.id == "__all__" and isinstance(value, ast.List | ast.Tuple):
                names = [
                    e.value
                    for e in value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                ]
                if isinstance(statement, ast.AugAssign) and explicit is not None:
                    explicit.extend(names)
                else:
                    explicit = names
            else:
                public.append(target.id)
    names = explicit if explicit is not None else [n for n in public if not n.startswith("_")]
    return tuple(dict.fromkeys(names))


# --- import resolution ---------------------------------------------------------------------


class ImportResolver:
    """Resolves the imports of project files to other project files.

    A file's dotted name starts at its topmost enclosing package (directories with
    ``__init__.py``), so ``src/pkg/a.py`` is ``pkg.a``; when the root itself is a package its
    directory name ``root_name`` is the first part. A file outside any package is importable
    by its stem from a sibling file, as a script would be. When two files claim one dotted name,
    the shorter path wins.
    """

    def __init__(self, file_ids: Iterable[str], root_name: str) -> None:
        self.files = frozenset(file_ids)
        self.packages = {f.rpartition("/")[0] for f in self.files if _is_init(f)}
        self.by_dotted: dict[str, str] = {}
        for file_id in sorted(self.files, key=lambda f: (f.count("/"), f)):
            dotted = self._dotted(file_id, root_name)
            if dotted:
                self.by_dotted.setdefault(dotted, file_id)

    def _dotted(self, file_id: str, root_name: str) -> str | None:
        if not file_id.endswith(".py"):
            return None
        directory, _, name = file_id.rpartition("/")
        if directory not in self.packages and directory not in ("", "src"):
            return None  # a script outside any package: only its siblings import it
        parts = [] if name == "__init__.py" else [name[:-3]]
        while directory in self.packages:
            if directory == "":
                if not root_name.isidentifier():
                    return None
                parts.append(root_name)
                break
            directory, _, segment = directory.rpartition("/")
            parts.append(segment)
        if name == "__init__.py" and not parts:
            return None
        return ".".join(reversed(parts))

    def _module_file(self, base: str, dotted: str) -> str | None:
        """The file of module ``dotted`` below directory ``base`` ("" for the root)."""
        path = "/".join(p for p in (base, dotted.replace(".", "/")) if p)
        init = f"{path}/__init__.py" if path else "__init__.py"
        candidates = (f"{path}.py", init) if dotted else (init,)
        for candidate in candidates:
            if candidate in self.files:
                return candidate
        return None

    def _absolute(self, importer_dir: str, dotted: str) -> str | None:
        if importer_dir not in self.packages:
            # A script imports its siblings by name.
            sibling = self._module_file(importer_dir, dotted)
            if sibling is not None:
                return sibling
        return self.by_dotted.get(dotted)

    def _base(self, importer: str, level: int) -> str | None:
        directory = importer.rpartition("/")[0]
        for _ in range(level - 1):
            if directory == "":
                return None  # above the root
            directory = directory.rpartition("/")[0]
        return directory

    def _find(self, importer: str, module: str, level: int) -> str | None:
        if level:
            base = self._base(importer, level)
            return None if base is None else self._module_file(base, module)
        return self._absolute(importer.rpartition("/")[0], module)

    def module_file(self, importer: str, module: str, level: int) -> str | None:
        """The project file of module ``module`` as file ``importer`` imports it."""
        return self._find(importer, module, level)

    def bind(self, importer: str, raw: RawBinding) -> tuple[str, str] | None:
        """Where a name an import binds leads: (project file, dotted name in it; "" for the
        module itself), or None when it leads outside the project."""
        if raw.name is None:  # import a.b.c [as x]: the deepest project module, then names
            parts = raw.module.split(".")
            rest: list[str] = []
            while parts:
                found = self._find(importer, ".".join(parts), 0)
                if found is not None:
                    return found, ".".join(rest)
                rest.insert(0, parts.pop())
            return None
        dotted = f"{raw.module}.{raw.name}" if raw.module else raw.name
        submodule = self._find(importer, dotted, raw.level)
        if submodule is not None:
            return submodule, ""
        module_file = self._find(importer, raw.module, raw.level)
        return None if module_file is None else (module_file, raw.name)

    def resolve(self, importer: str, imports: Iterable[ImportFact]) -> tuple[ImportFact, ...]:
        """``imports`` of file ``importer`` with ``resolved`` set; a ``from`` import of
        submodules is split so that each submodule gets its own fact."""
        out: list[ImportFact] = []
        for fact in imports:
            if not fact.names:  # import a.b.c: the deepest project module that exists
                parts = fact.module.split(".")
                resolved = None
                while parts and resolved is None:
                    resolved = self._find(importer, ".".join(parts), 0)
                    parts.pop()
                out.append(attrs.evolve(fact, resolved=resolved))
                continue
            module_file = self._find(importer, fact.module, fact.level)
            rest: list[str] = []
            for name in fact.names:
                dotted = f"{fact.module}.{name}" if fact.module else name
                sub = None if name == "*" else self._find(importer, dotted, fact.level)
                if sub is not None and sub != module_file:
                    out.append(attrs.evolve(fact, names=(name,), resolved=sub))
                else:
                    rest.append(name)
            if rest:
                out.append(attrs.evolve(fact, names=tuple(rest), resolved=module_file))
        if importer in [f.resolved for f in out]:
            out = [attrs.evolve(f, resolved=None) if f.resolved == importer else f for f in out]
        return tuple(out)


def _is_init(file_id: str) -> bool:
    return file_id == "__init__.py" or file_id.endswith("/__init__.py")
