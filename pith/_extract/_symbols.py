"""The symbols of one parsed file and its uses of project names, as far as the file alone tells.

Every class, method, function (nested ones included) and module-level constant becomes a
`SymbolFacts`. Every use of a name the file defines or imports from the project, and every
``self.x`` / ``cls.x`` that names a member of the enclosing class, becomes a `UseFacts`
pointing at a file and a dotted name inside it: where the import leads (``from .a import b as
c; c.f()`` -> ``b.f`` in ``a.py``). Build follows re-exports from there (`pith._build`).

The expression walk is the one pass over every AST node extract makes; it stops at the first
name of an attribute chain (``a.b.c`` is one use) and looks at nothing else of an expression.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import attrs

from .._models import ClassFacts, FunctionFacts, SymbolFacts, SymbolKind, UseFacts

if TYPE_CHECKING:
    from ._python import ImportResolver

__all__ = [
    "MAX_USES",
    "RawBinding",
    "Symbols",
    "collect",
    "enclosing_class",
    "line_scopes",
    "link_chain",
]

MAX_USES = 50_000  # per file: a generated file of a million calls is not worth more
SYMBOL_DOCSTRING_CHARS = 600
VALUE_CHARS = 160
_OVERLOAD = re.compile(r"(^|\.)overload$|\.(setter|deleter)$")
_MEMBER_BASES = frozenset({"self", "cls"})
_UNKNOWN: Any = object()  # not looked up yet
_SUPER = "super"  # `super().x`: a chain `super.x` (the call's parentheses dropped)
_CALLED = "()."  # `Client().send`: a chain `Client().send`, the call's result used at once
# Statements whose blocks' definitions belong to the enclosing scope.
_BLOCKS = (
    ast.If,
    ast.Try,
    ast.TryStar,
    ast.With,
    ast.AsyncWith,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Match,
)
_Block = (
    ast.If | ast.Try | ast.TryStar | ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While
) | ast.Match
_BLOCK_TYPES = frozenset(_BLOCKS)
_DEF_TYPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_LEAVES = frozenset({ast.Load, ast.Store, ast.Del, ast.Constant})
# Fields that never hold a name or an expression: not worth a look.
_NOT_EXPRESSIONS = frozenset(
    {"ctx", "op", "ops", "type_comment", "kind", "level", "conversion", "is_async", "simple"}
    | {"name", "id", "attr", "arg", "asname", "module", "names", "type_ignores", "tag"}
)
_FIELDS: dict[type, tuple[str, ...]] = {}
# What may bind a name to an instance (`_instances`): a def binds its typed parameters, a
# loop over a typed collection its target.
_Assignment = (
    ast.Assign
    | ast.AnnAssign
    | ast.With
    | ast.AsyncWith
    | ast.FunctionDef
    | ast.AsyncFunctionDef
    | ast.For
    | ast.AsyncFor
)
# Annotations that say "this, or nothing" (`Optional[Client]`) or add metadata to a type.
_WRAPPERS = frozenset({"Optional", "Annotated", "Union"})
# Annotations of a collection of one type (`Iterable[Segment]`, `list[Client]`): a loop over
# one binds its target to an instance of that type.
_COLLECTIONS = frozenset(
    {"list", "List", "set", "Set", "frozenset", "FrozenSet", "Iterable", "Iterator", "Sequence"}
    | {"MutableSequence", "Collection", "AbstractSet", "MutableSet", "Reversible", "deque"}
)
_DOTTED = re.compile(r"[A-Za-z_][\w.]*")
_V = TypeVar("_V")


@attrs.frozen
class RawBinding:
    """What one import binds, before resolution: ``import a.b`` binds ``a`` to module ``a``;
    ``from .m import n as z`` binds ``z`` to ``n`` of module ``m`` at level 1."""

    local: str
    module: str
    level: int
    name: str | None  # None for `import module`


@attrs.frozen
class Symbols:
    """What `collect` found in one file, linked to project files when a resolver was given."""

    symbols: tuple[SymbolFacts, ...]
    uses: tuple[UseFacts, ...]
    bindings: tuple[tuple[str, str, str], ...]
    star_imports: tuple[str, ...]


class _Source(Protocol):
    """What `collect` needs of the parsing visitor (`pith._extract._python._Visitor`)."""

    lines: list[str]

    def parameters(self, args: ast.arguments) -> str: ...

    def source(self, node: ast.expr) -> str: ...

    def line_text(self, line: int) -> str: ...


def collect(
    visitor: _Source,
    path: str,
    tree: ast.Module,
    known: Iterable[FunctionFacts | ClassFacts],
    bound: list[RawBinding],
    resolver: ImportResolver | None,
) -> Symbols:
    """The symbols and uses of ``tree`` (file ``path``). ``known``: the folded top-level
    functions, classes and methods (their primary definition decides a repeated name);
    ``bound``: what its imports bind. Without ``resolver``, uses through imports are left out."""
    by_qualname: dict[str, FunctionFacts | ClassFacts] = {}
    for definition in known:
        by_qualname[definition.qualname] = definition
        if isinstance(definition, ClassFacts):
            by_qualname.update((m.qualname, m) for m in definition.methods)
    found: dict[str, tuple[int, SymbolFacts, list[str]]] = {}
    assignments: list[_Assignment] = []
    _definitions(visitor, tree.body, "", None, by_qualname, found, assignments)

    bindings: dict[str, tuple[str, str]] = {}
    stars: list[str] = []
    if resolver is not None:
        for raw in bound:
            if raw.name == "*":
                star = resolver.module_file(path, raw.module, raw.level)
                if star is not None and star != path and star not in stars:
                    stars.append(star)
                continue
            target = resolver.bind(path, raw)
            if target is not None and target[0] != path:
                bindings[raw.local] = target
    kinds = {q: s.kind for q, (_, s, _) in found.items()}

    def link(chain: str, scope: str) -> tuple[str, str] | None:
        return link_chain(chain, scope, path, kinds, bindings)

    symbols = [symbol for _, symbol, _ in found.values()]
    linked_symbols: list[SymbolFacts] = []
    for symbol in symbols:
        base_chains = found[symbol.qualname][2]
        if base_chains:
            scope = symbol.qualname.rpartition(".")[0]
            bases = tuple(t for t in (link(c, scope) for c in base_chains) if t is not None)
            symbol = attrs.evolve(symbol, bases=bases)
        linked_symbols.append(symbol)
    with_bases = {s.qualname for s in linked_symbols if s.bases}
    first_base = {s.qualname: s.bases[0] for s in linked_symbols if s.bases}

    interest = set(kinds) | set(bindings) | _MEMBER_BASES | {_SUPER}
    interest.update(q.rpartition(".")[2] for q in kinds)
    scopes = line_scopes(symbols, len(visitor.lines))
    # What this file's functions and methods say they return (`-> Client`).
    returns: dict[str, tuple[str, str]] = {}
    for node in assignments:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            qualname = scopes[node.lineno] if node.lineno < len(scopes) else ""
            chain = _annotated(node.returns)
            linked = None if chain is None else link(chain, qualname)
            if linked is not None and _a_class(linked, path, kinds):
                returns[qualname] = linked

    def made_by(chain: str, scope: str) -> tuple[str, str] | None:
        """The project class whose instance calling ``chain`` in ``scope`` makes: a class,
        or this file's function or method that says it returns one; None when unknown."""
        base, _, rest = chain.partition(".")
        if base in _MEMBER_BASES:  # `self.make()`: a method of the enclosing class
            owner = enclosing_class(scope, kinds)
            return returns.get(f"{owner}.{rest}") if owner is not None and rest else None
        linked = link(chain, scope)
        if linked is None or _a_class(linked, path, kinds):
            return linked
        return returns.get(linked[1]) if linked[0] == path else None

    instances = _instances(assignments, path, kinds, scopes, link, made_by)
    interest.update(name for (_, name), found in instances.items() if found is not None)
    fields = _fields(assignments, kinds, scopes, link, made_by, instances)

    def resolve(chain: str, scope: str) -> tuple[str, str, bool] | None:
        """Where ``chain`` used in ``scope`` leads: (file, dotted, through a base class or an
        instance), or None when not to a project name."""
        if _CALLED in chain:  # `Client().send(...)`: the instance made, used at once
            called, _, member = chain.partition(_CALLED)
            made = made_by(called, scope)
            return None if made is None else (made[0], f"{made[1]}.{member}", True)
        base, _, rest = chain.partition(".")
        if base == _SUPER:  # `super().x` in a method: its class's (first) base's x
            owner = enclosing_class(scope, kinds)
            leads = first_base.get(owner) if owner is not None and rest else None
            return None if leads is None else (leads[0], f"{leads[1]}.{rest}", True)
        if base in _MEMBER_BASES:
            owner = enclosing_class(scope, kinds)
            if owner is None or not rest:
                return None
            attribute, _, further = rest.partition(".")
            member = f"{owner}.{attribute}"
            if member in kinds:  # the class's own: resolved here
                return path, _longest(kinds, member, further), False
            held = fields.get((owner, attribute)) if further else None
            if held is not None:  # `self.client = Client()` ... `self.client.send()`
                return held[0], f"{held[1]}.{further}", True
            if owner in with_bases:  # maybe a base's: resolved at build
                return path, f"{owner}.{rest}", True
            return None  # an instance attribute
        target = link(chain, scope)
        instance = _nearest(instances, scope, base) if rest else None
        if target is not None and kinds.get(target[1].partition(".")[0]) is not (
            SymbolKind.CONSTANT
        ):
            instance = None  # a name that is more than a module-level variable
        if instance is not None:  # `app = FastAPI()` ... `app.add_api_route(...)`
            file, dotted = instance
            return file, f"{dotted}.{rest}", True
        if target is None:
            return None
        return target[0], target[1], False

    uses: list[UseFacts] = []
    # `f(f(x))` is one use of f (a line has one scope: the line stands for both).
    seen: set[tuple[int, str, str]] = set()
    # A chain leads to one place from one scope: resolved once (`self.x` recurs).
    resolved: dict[tuple[str, str], tuple[str, str, bool] | None] = {}
    known_leads = resolved.get
    texts: dict[int, str] = {}
    last = len(scopes)
    for line, chain in _chains(tree, interest):
        scope = scopes[line] if line < last else ""
        key = (scope, chain)
        leads = known_leads(key, _UNKNOWN)
        if leads is _UNKNOWN:
            leads = resolved[key] = resolve(chain, scope)
        if leads is None:
            continue
        file, dotted, inherited = leads
        use = (line, file, dotted)
        if use in seen:
            continue
        seen.add(use)
        text = texts.get(line)
        if text is None:
            text = texts[line] = visitor.line_text(line)
        uses.append(UseFacts(line, scope, file, dotted, inherited, text))
        if len(uses) >= MAX_USES:
            break
    # A module constant that holds an instance of a project class: its members are that
    # class's (another file's `current_app.url_for` reaches `Flask.url_for` at build).
    linked_symbols = [
        attrs.evolve(s, bases=(held,))
        if s.kind is SymbolKind.CONSTANT and (held := instances.get(("", s.qualname)))
        else s
        for s in linked_symbols
    ]
    return Symbols(
        symbols=tuple(linked_symbols),
        uses=tuple(uses),
        bindings=tuple((local, file, dotted) for local, (file, dotted) in bindings.items()),
        star_imports=tuple(stars),
    )


def link_chain(
    chain: str,
    scope: str,
    path: str,
    kinds: Mapping[str, SymbolKind],
    bindings: Mapping[str, tuple[str, str]],
) -> tuple[str, str] | None:
    """Where a name chain used in ``scope`` of file ``path`` leads: (file, dotted), or None.
    ``kinds``: the file's symbols; ``bindings``: what its imports bind (local -> file, dotted)."""
    base, _, rest = chain.partition(".")
    # A bare name sees the enclosing defs' names, then the module's (never a class body's,
    # but for uses in that class body itself).
    current = scope
    while True:
        candidate = f"{current}.{base}" if current else base
        if candidate in kinds and (
            not current or current == scope or kinds.get(current) is not SymbolKind.CLASS
        ):
            return path, _longest(kinds, candidate, rest)
        if not current:
            break
        current = current.rpartition(".")[0]
    target = bindings.get(base)
    if target is None:
        return None
    file, dotted = target
    return file, ".".join(p for p in (dotted, rest) if p)


def _instances(
    assignments: list[_Assignment],
    path: str,
    kinds: Mapping[str, SymbolKind],
    scopes: list[str],
    link: Callable[[str, str], tuple[str, str] | None],
    made_by: Callable[[str, str], tuple[str, str] | None],
) -> dict[tuple[str, str], tuple[str, str] | None]:
    """(scope, local name) -> the project class (file, dotted) it holds an instance of, for
    ``x = Cls(...)`` (or a call of this file's function that says it returns one), ``with
    Cls(...) as x``, ``x: Cls = ...`` and a parameter ``x: Cls`` (``Cls | None``,
    ``Optional[Cls]``, ``"Cls"`` too); None for a name assigned anything else in that scope
    (it hides an outer one), or two different things: its uses are not guessed.
    ``assignments``: every such statement and def of the file (`_definitions` gathers them)."""
    found: dict[tuple[str, str], tuple[str, str] | None] = {}
    # (scope, local name) -> the chain of the one type of the collection it holds, for a
    # parameter or variable typed `Iterable[Segment]`, `list[Client]`...
    collections: dict[tuple[str, str], str] = {}
    for node in assignments:
        # (the name bound, the chain of the class it is typed with, the chain called for it)
        pairs: list[tuple[ast.expr | ast.arg | None, str | None, str | None]] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            parameters = [
                a
                for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
                if a.annotation is not None and a.arg not in _MEMBER_BASES
            ]
            pairs += [(a, _annotated(a.annotation), None) for a in parameters]
            for a in parameters:
                _note_collection(collections, scopes, a.lineno, a.arg, a.annotation)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            pairs.append((node.targets[0], None, _made(node.value)))
        elif isinstance(node, ast.AnnAssign):  # the type said wins over what is assigned
            pairs.append((node.target, _annotated(node.annotation), None))
            if isinstance(node.target, ast.Name):
                _note_collection(collections, scopes, node.lineno, node.target.id, node.annotation)
        elif isinstance(node, ast.With | ast.AsyncWith):
            pairs += [(item.optional_vars, None, _made(item.context_expr)) for item in node.items]
        elif isinstance(node, ast.For | ast.AsyncFor) and isinstance(node.iter, ast.Name):
            # `for segment in segments:`, `segments` typed `Iterable[Segment]`
            line = node.lineno
            scope = scopes[line] if line < len(scopes) else ""
            element = _nearest(collections, scope, node.iter.id)
            pairs.append((node.target, element, None))
        for target, typed, called in pairs:
            if isinstance(target, ast.arg):
                name = target.arg
            elif isinstance(target, ast.Name):
                name = target.id
            else:
                continue
            line = target.lineno
            scope = scopes[line] if line < len(scopes) else ""
            key = (scope, name)
            linked = None
            if typed is not None:
                linked = link(typed, scope)
                if linked is not None and not _a_class(linked, path, kinds):
                    linked = None
            elif called is not None:
                linked = made_by(called, scope)
            if key in found and found[key] != linked:
                found[key] = None
            else:
                found[key] = linked
    return found


def _note_collection(
    collections: dict[tuple[str, str], str],
    scopes: list[str],
    line: int,
    name: str,
    annotation: ast.expr | None,
) -> None:
    """Note that ``name``, bound at ``line``, holds a collection of one type when
    ``annotation`` says so (`Iterable[Segment]`, `list["Client"]`, `Optional[list[Client]]`)."""
    element = _element(annotation)
    if element is not None:
        scope = scopes[line] if line < len(scopes) else ""
        collections[(scope, name)] = element


def _element(annotation: ast.expr | None) -> str | None:
    """The chain of the one type a collection ``annotation`` holds, or None."""
    if isinstance(annotation, ast.Subscript):
        outer = _chain(annotation.value)
        last = outer.rpartition(".")[2] if outer is not None else ""
        if last in _WRAPPERS:  # `Optional[list[Client]]`
            inner = annotation.slice
            items = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            named = [i for i in items if not (isinstance(i, ast.Constant) and i.value is None)]
            return _element(named[0]) if len(named) == 1 else None
        if last in _COLLECTIONS and not isinstance(annotation.slice, ast.Tuple):
            return _annotated(annotation.slice)
    return None


def _fields(
    assignments: list[_Assignment],
    kinds: Mapping[str, SymbolKind],
    scopes: list[str],
    link: Callable[[str, str], tuple[str, str] | None],
    made_by: Callable[[str, str], tuple[str, str] | None],
    instances: Mapping[tuple[str, str], tuple[str, str] | None],
) -> dict[tuple[str, str], tuple[str, str] | None]:
    """(class, attribute) -> the project class (file, dotted) the attribute holds an instance
    of: ``self.x = Cls(...)``, ``self.x = x`` for an ``x`` that holds one (a typed parameter),
    ``self.x: Cls = ...`` in a method, and ``x: Cls`` in the class body (a dataclass field);
    None for an attribute given two different things."""
    found: dict[tuple[str, str], tuple[str, str] | None] = {}
    for node in assignments:
        target: ast.expr
        value: ast.expr | None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value, annotation = node.targets[0], node.value, None
        elif isinstance(node, ast.AnnAssign):
            target, value, annotation = node.target, node.value, node.annotation
        else:
            continue
        line = target.lineno
        scope = scopes[line] if line < len(scopes) else ""
        if isinstance(target, ast.Name) and kinds.get(scope) is SymbolKind.CLASS:
            if annotation is None:
                continue  # a class attribute's value: not an instance's field
            owner, attribute = scope, target.id
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id in _MEMBER_BASES
        ):
            owner_or_none = enclosing_class(scope, kinds)
            if owner_or_none is None:
                continue
            owner, attribute = owner_or_none, target.attr
        else:
            continue
        held: tuple[str, str] | None
        if annotation is not None:
            chain = _annotated(annotation)
            held = None if chain is None else link(chain, scope)
        elif isinstance(value, ast.Name):
            held = _nearest(instances, scope, value.id)
        else:
            chain = _made(value)
            held = None if chain is None else made_by(chain, scope)
        key = (owner, attribute)
        found[key] = None if key in found and found[key] != held else held
    return found


def _a_class(linked: tuple[str, str], path: str, kinds: Mapping[str, SymbolKind]) -> bool:
    """Whether ``linked`` may be a class: one of this file's classes, or a name of another
    file (what it is there is settled at build: a use of a function's member leads nowhere)."""
    return linked[0] != path or kinds.get(linked[1]) is SymbolKind.CLASS


def _made(value: ast.expr | None) -> str | None:
    """The chain called in ``value`` (``Cls(...)``, ``pkg.Cls(...)``), or None."""
    return _chain(value.func) if isinstance(value, ast.Call) else None


def _annotated(annotation: ast.expr | None) -> str | None:
    """The chain of the one type ``annotation`` says: ``Cls``, ``pkg.Cls``, ``Cls[T]``,
    ``Cls | None``, ``Optional[Cls]``, ``Annotated[Cls, ...]``, ``"Cls"``; None for anything
    else (a union of two types, a literal)."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        # A forward reference: "Cls" or "Cls | None", read without parsing.
        parts = [p.strip() for p in annotation.value.split("|")]
        said = [p for p in parts if p != "None"]
        return said[0] if len(said) == 1 and _DOTTED.fullmatch(said[0]) else None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [annotation.left, annotation.right]
        named = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        return _annotated(named[0]) if len(named) == 1 else None
    if isinstance(annotation, ast.Subscript):
        outer = _chain(annotation.value)
        if outer is not None and outer.rpartition(".")[2] in _WRAPPERS:
            inner = annotation.slice
            items = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if outer.endswith("Annotated"):
                items = items[:1]
            named = [i for i in items if not (isinstance(i, ast.Constant) and i.value is None)]
            return _annotated(named[0]) if len(named) == 1 else None
        return outer  # `Client[T]`: a Client
    return None if annotation is None else _chain(annotation)


def _nearest(table: Mapping[tuple[str, str], _V | None], scope: str, name: str) -> _V | None:
    """What ``name`` holds as seen from ``scope`` (an instance, the element type of a
    collection): the nearest scope that binds it decides (its own, then the enclosing ones)."""
    current = scope
    while True:
        if (current, name) in table:
            return table[(current, name)]
        if not current:
            return None
        current = current.rpartition(".")[0]


def _longest(kinds: Mapping[str, SymbolKind], qualname: str, rest: str) -> str:
    """The longest symbol ``qualname.rest...`` names (``qualname`` is one)."""
    for part in rest.split(".") if rest else ():
        if f"{qualname}.{part}" not in kinds:
            break
        qualname = f"{qualname}.{part}"
    return qualname


def _definitions(
    visitor: _Source,
    body: list[ast.stmt],
    prefix: str,
    owner: SymbolKind | None,
    known: Mapping[str, FunctionFacts | ClassFacts],
    found: dict[str, tuple[int, SymbolFacts, list[str]]],
    assignments: list[_Assignment],
) -> None:
    """Every definition in ``body`` (and the blocks of its branches), depth first.
    ``owner``: the kind of the enclosing definition (None at module level). Every statement
    is visited: the assignments and ``with`` statements among them go to ``assignments``."""
    for statement in body:
        statement_type = type(statement)  # exact: the parser makes no subclasses
        if statement_type in _DEF_TYPES:
            statement = cast(ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, statement)
            qualname = f"{prefix}{statement.name}"
            is_class = statement_type is ast.ClassDef
            if is_class:
                kind = SymbolKind.CLASS
            elif owner is SymbolKind.CLASS:
                kind = SymbolKind.METHOD
            else:
                kind = SymbolKind.FUNCTION
            known_facts = known.get(qualname)
            decorators = (
                known_facts.decorators
                if known_facts is not None
                else [_first_line(visitor, d) for d in statement.decorator_list]
            )
            rank = 0 if any(_OVERLOAD.search(d) for d in decorators) else 1
            previous = found.get(qualname)
            if previous is None or rank >= previous[0]:
                symbol = _symbol(visitor, statement, qualname, kind, known_facts)
                chains = []
                if isinstance(statement, ast.ClassDef):
                    chains = [c for b in statement.bases if (c := _chain(b)) is not None]
                found[qualname] = (rank, symbol, chains)
            if not is_class:
                assignments.append(cast(ast.FunctionDef | ast.AsyncFunctionDef, statement))
            _definitions(visitor, statement.body, f"{qualname}.", kind, known, found, assignments)
        elif statement_type in _BLOCK_TYPES:
            statement = cast(_Block, statement)
            if isinstance(statement, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor):
                assignments.append(statement)
            blocks: list[list[ast.stmt]] = []
            if isinstance(statement, ast.Match):
                blocks += [case.body for case in statement.cases]
            else:
                blocks.append(statement.body)
            if isinstance(statement, ast.If | ast.For | ast.AsyncFor | ast.While):
                blocks.append(statement.orelse)
            elif isinstance(statement, ast.Try | ast.TryStar):
                blocks += [*(h.body for h in statement.handlers), statement.orelse]
                blocks.append(statement.finalbody)
            for block in blocks:
                _definitions(visitor, block, prefix, owner, known, found, assignments)
        elif statement_type is ast.Assign or statement_type is ast.AnnAssign:
            statement = cast(ast.Assign | ast.AnnAssign, statement)
            assignments.append(statement)
            if owner is None:
                _constants(visitor, statement, found)


def _symbol(
    visitor: _Source,
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
    qualname: str,
    kind: SymbolKind,
    known: FunctionFacts | ClassFacts | None,
) -> SymbolFacts:
    if known is not None:
        return SymbolFacts(
            qualname=qualname,
            kind=kind,
            start_line=known.start_line,
            end_line=known.end_line,
            signature=known.header,
            docstring=_docstring(known.docstring),
        )
    if isinstance(node, ast.ClassDef):
        bases = [visitor.source(b) for b in node.bases]
        signature = f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"
    else:
        signature = f"def {node.name}({visitor.parameters(node.args)})"
        if isinstance(node, ast.AsyncFunctionDef):
            signature = "async " + signature
        if node.returns is not None:
            signature += f" -> {visitor.source(node.returns)}"
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return SymbolFacts(
        qualname=qualname,
        kind=kind,
        start_line=start,
        end_line=node.end_lineno or node.lineno,
        signature=_bounded(signature, 2 * VALUE_CHARS),
        docstring=_docstring(ast.get_docstring(node, clean=True)),
    )


def _constants(
    visitor: _Source,
    statement: ast.Assign | ast.AnnAssign,
    found: dict[str, tuple[int, SymbolFacts, list[str]]],
) -> None:
    """``NAME = value`` and ``NAME: T = value`` at module level: the first assignment of a
    name is its symbol (later ones rebind it; a def of the same name wins)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    value = statement.value
    if isinstance(statement, ast.AnnAssign):
        shown = f": {_first_line(visitor, statement.annotation)}"
        shown += f" = {_first_line(visitor, value)}" if value is not None else ""
    else:
        shown = f" = {_first_line(visitor, value)}" if value is not None else ""
    for target in targets:
        if not isinstance(target, ast.Name):
            continue
        name = target.id
        if name in found or (name.startswith("__") and name.endswith("__")):
            continue
        found[name] = (
            0,
            SymbolFacts(
                qualname=name,
                kind=SymbolKind.CONSTANT,
                start_line=statement.lineno,
                end_line=statement.end_lineno or statement.lineno,
                signature=_bounded(f"{name}{shown}".split("\n")[0], VALUE_CHARS),
            ),
            [],
        )


def _first_line(visitor: _Source, node: ast.expr) -> str:
    """An expression as written when it fits on one line, else its first line and "…": a
    value of a thousand lines (a table, a dict of help texts) is not unparsed to show it."""
    if node.end_lineno == node.lineno:
        return visitor.source(node)
    line = visitor.lines[node.lineno - 1]
    if line.isascii():
        return line[node.col_offset :].rstrip() + " …"
    encoded = line.encode("utf-8", "surrogatepass")  # column offsets count UTF-8 bytes
    return encoded[node.col_offset :].decode("utf-8", "replace").rstrip() + " …"


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _docstring(text: str | None) -> str | None:
    return None if text is None else _bounded(text, SYMBOL_DOCSTRING_CHARS)


def _chain(node: ast.expr) -> str | None:
    """``a.b.c`` of a Name or an attribute chain on one; None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def line_scopes(symbols: list[SymbolFacts], lines: int) -> list[str]:
    """Line -> the qualname of the innermost def or class holding it ("" at module level)."""
    scopes = [""] * (lines + 2)
    defs = [s for s in symbols if s.kind is not SymbolKind.CONSTANT]
    for symbol in sorted(defs, key=lambda s: (s.start_line, -s.end_line)):
        first, last = symbol.start_line, min(symbol.end_line, lines + 1)
        if first <= last:
            scopes[first : last + 1] = [symbol.qualname] * (last - first + 1)
    return scopes


def enclosing_class(scope: str, kinds: Mapping[str, SymbolKind]) -> str | None:
    """The nearest class at or above ``scope`` whose method ``scope`` lies in."""
    current = scope
    while current:
        parent = current.rpartition(".")[0]
        if kinds.get(current) is SymbolKind.METHOD and kinds.get(parent) is SymbolKind.CLASS:
            return parent
        current = parent
    return None


def _is_bare_super(node: ast.AST) -> bool:
    """``super()``, without arguments: the enclosing class's bases."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == _SUPER
        and not node.args
        and not node.keywords
    )


def _chains(tree: ast.AST, interest: set[str]) -> Iterable[tuple[int, str]]:
    """(line, ``a.b.c``) of every name read, or attribute chain on a name, that is in
    ``interest``: one walk over the tree, which descends no further into such a chain."""
    name_type, attribute_type, load, node_type = ast.Name, ast.Attribute, ast.Load, ast.AST
    call_type = ast.Call
    fields = _FIELDS
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is name_type:
            if node.id in interest and type(node.ctx) is load:
                yield node.lineno, node.id
            continue
        if kind is attribute_type:
            parts = [node.attr]
            base = node.value
            while type(base) is attribute_type:
                parts.append(base.attr)
                base = base.value
            if type(base) is name_type:
                if base.id in interest:
                    parts.append(base.id)
                    yield node.lineno, ".".join(reversed(parts))
                continue
            if _is_bare_super(base) and _SUPER in interest:
                parts.append(_SUPER)
                yield node.lineno, ".".join(reversed(parts))
                continue
            if type(base) is call_type:  # `Client().send`: and `Client(...)` itself, below
                called = _chain(base.func)
                if called is not None and called.partition(".")[0] in interest:
                    yield node.lineno, called + _CALLED + ".".join(reversed(parts))
            stack.append(base)
            continue
        if kind in _LEAVES:
            continue
        names = fields.get(kind)
        if names is None:
            names = fields[kind] = tuple(
                f for f in getattr(kind, "_fields", ()) if f not in _NOT_EXPRESSIONS
            )
        for field in names:
            value = getattr(node, field, None)
            if type(value) is list:
                stack.extend(value)
            elif isinstance(value, node_type):
                stack.append(value)
