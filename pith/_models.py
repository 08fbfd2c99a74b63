"""The values pith passes between its stages, and the one cattrs converter that (un)structures them.

Everything here is an immutable value: facts extracted from source, the nodes and edges of the
graph, and the prose written about a node. The store keeps them as JSON through ``converter``.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs
import cattrs

from ._roles import Role, role_of

__all__ = [
    "ClassFacts",
    "Edge",
    "EdgeType",
    "FileFacts",
    "FunctionFacts",
    "GitFacts",
    "Gotcha",
    "ImportFact",
    "KeyStatement",
    "Node",
    "NodeType",
    "Prose",
    "Readme",
    "SearchTerms",
    "SymbolFacts",
    "SymbolKind",
    "UseFacts",
    "Variant",
    "converter",
    "is_test_path",
]


class NodeType(enum.StrEnum):
    FILE = "file"
    MODULE = "module"
    FUNCTION = "function"


class SymbolKind(enum.StrEnum):
    """What a symbol is: a class, a method (a def directly in a class body), a function (at
    module level or nested in a def) or a constant (a name assigned at module level)."""

    CLASS = "class"
    METHOD = "method"
    FUNCTION = "function"
    CONSTANT = "constant"


class EdgeType(enum.StrEnum):
    CONTAINS = "contains"
    IMPORTS = "imports"
    IMPORTED_BY = "importedBy"
    TEST_FILE = "testFile"


def is_test_path(path: str) -> bool:
    """Whether file id ``path`` is a test file: under a ``tests``/``test`` directory, or named
    ``test_*.py``, ``*_test.py`` or ``conftest.py`` (`pith._roles`, the one rule). A test file
    is never a source file."""
    return role_of(path) is Role.TEST


# --- facts (extract) -----------------------------------------------------------------------------


@attrs.frozen
class ImportFact:
    """One imported name or module, as written, and the project file it resolves to (if any)."""

    # "pkg.sub" for `import pkg.sub` and `from pkg.sub import x`; "" for `from . import x`
    module: str
    names: tuple[str, ...] = ()  # the names of a `from` import; empty for `import x`
    level: int = 0  # number of leading dots of a relative import
    line: int = 0
    resolved: str | None = None  # file id of the project file this import resolves to


@attrs.frozen
class KeyStatement:
    """A line worth a warning: a constant, a timeout, a retry count, a raise, a status check."""

    line: int
    kind: str  # "constant" | "url" | "timeout" | "retry" | "raise" | "status_check"
    text: str  # the source line, stripped and bounded


@attrs.frozen
class Variant:
    """Another definition of the same qualified name in the same scope.

    ``kind`` says why it exists: "overload" (an ``@overload`` stub), "getter" / "setter" /
    "deleter" (a property's accessors), "conditional" (under an ``if``/``try``/``with``, e.g. a
    platform or version branch) or "redefinition" (a plain second definition).
    """

    kind: str
    signature: str  # "(x: int) -> str" for a function, "class(Base)" for a class
    start_line: int
    end_line: int
    # bounded source excerpt of a variant with a body of its own (a branch, a redefinition, a
    # setter); empty for an overload stub, whose signature says all it has to say
    snippet: str = ""


@attrs.frozen
class FunctionFacts:
    """A function or method as written. When its name is defined more than once in the same
    scope, this is the primary definition and ``variants`` lists the others (see docs/usage.md,
    "Node ids")."""

    name: str
    qualname: str  # "Client.send" for a method
    signature: str  # "(self, request: Request, *, timeout: float = 5.0) -> Response"
    start_line: int
    end_line: int
    is_async: bool = False
    decorators: tuple[str, ...] = ()
    docstring: str | None = None
    complexity: int = 1  # cyclomatic
    snippet: str = ""  # bounded source excerpt
    # sha256 hex of this definition's own source lines (decorators included), and of its
    # variants' when there are any
    source_hash: str = ""
    variants: tuple[Variant, ...] = ()
    # The defining line in another language's syntax (``async function send(req: R): T``,
    # ``static get(id: string)``); None for Python, whose header is built from the fields.
    heading: str | None = None

    @property
    def header(self) -> str:
        """The line that defines it, without decorators: ``async def send(self, ...) -> T``."""
        if self.heading is not None:
            return self.heading
        return f"{'async def' if self.is_async else 'def'} {self.name}{self.signature}"


@attrs.frozen
class ClassFacts:
    """A class as written, with its methods."""

    name: str
    qualname: str
    bases: tuple[str, ...]
    start_line: int
    end_line: int
    decorators: tuple[str, ...] = ()
    docstring: str | None = None
    complexity: int = 1  # sum over its methods
    snippet: str = ""
    source_hash: str = ""  # sha256 hex of this class's own source lines (decorators included)
    methods: tuple[FunctionFacts, ...] = ()
    variants: tuple[Variant, ...] = ()
    heading: str | None = None  # as `FunctionFacts.heading`: ``class A extends B implements C``

    @property
    def header(self) -> str:
        """The line that defines it, without decorators: ``class Client(Base)``."""
        if self.heading is not None:
            return self.heading
        return f"class {self.name}({', '.join(self.bases)})" if self.bases else f"class {self.name}"


@attrs.frozen
class SymbolFacts:
    """One named definition of a file: every class, method, function (nested ones included) and
    module-level constant. Its id is ``<file id>:<qualname>``; a name defined more than once in
    one scope is one symbol (the definition that wins at run time, as `FunctionFacts`)."""

    qualname: str  # "Client.send", "outer.inner", "DEFAULT_TIMEOUT"
    kind: SymbolKind
    start_line: int
    end_line: int
    # "def send(self, request) -> Response", "class Client(Base)", "DEFAULT_TIMEOUT = 5.0"
    signature: str
    docstring: str | None = None  # bounded
    # Where its members are looked up, as the places the names lead to: (file id, dotted name
    # in that file). A class's base classes; a module constant's class, when it is typed or made
    # as an instance of one (flask's `current_app: FlaskProxy = LocalProxy(...)`). Those that
    # lead outside the project are left out.
    bases: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.qualname.rpartition(".")[2]


@attrs.frozen
class UseFacts:
    """One use of a project name in a file, as far as this file alone can tell where it leads:
    the definition ``dotted`` inside file ``target`` (``"Client.send"`` in ``pkg/_client.py``
    for ``import pkg; pkg.Client.send``; the re-exports of ``target`` are followed at build).

    A use that leads into its own file is resolved here: ``dotted`` is then exactly the
    qualname of a symbol of ``target``. ``member``: reached through ``self``/``cls``
    (``dotted`` is ``Class.attr``) and not defined by that class itself; it counts when a base
    class defines ``attr`` (resolved at build), else it is an instance attribute. ``scope``: the
    qualname of the innermost enclosing def or class, "" at module level."""

    line: int
    scope: str
    target: str
    dotted: str
    member: bool = False
    text: str = ""  # the source line, stripped and bounded


@attrs.frozen
class GitFacts:
    """What git history says about one file."""

    commits: int = 0
    first_commit: str | None = None  # ISO 8601 date
    last_commit: str | None = None  # ISO 8601 date
    authors: tuple[str, ...] = ()
    recent_subjects: tuple[str, ...] = ()  # newest first, at most 5
    # The files most often committed together with this one (path, commits together), most
    # first: what a change to it usually also touches (`pith._extract._git`).
    co_changed: tuple[tuple[str, int], ...] = ()


@attrs.frozen
class SearchTerms:
    """A file's words for retrieval, as `pith._tokens` normalizes them (space-separated, each
    word at most a few times, bounded): what `pith ask` and `pith search` rank files by."""

    defines: str = ""  # every definition's own name, whole and lowercased: exact-name lookups
    names: str = ""  # every definition's name: classes, functions, methods, nested ones
    text: str = ""  # docstrings, signatures, decorators, key statements, exports
    body: str = ""  # the whole source: identifiers, comments and strings


@attrs.frozen
class FileFacts:
    """Everything extraction learned about one source file (Python, TypeScript or JavaScript).

    ``problem`` is set (and most other fields empty) when the file could not be parsed: a syntax
    error, bad encoding, NUL bytes, too large, unreadable, a symlink loop or a link out of the tree.
    """

    path: str  # posix, relative to the extracted root; also the file node's id
    content_hash: str  # sha256 hex of the raw bytes ("" when unreadable)
    lines: int = 0
    docstring: str | None = None
    imports: tuple[ImportFact, ...] = ()
    functions: tuple[FunctionFacts, ...] = ()  # top-level functions
    classes: tuple[ClassFacts, ...] = ()  # top-level classes
    key_statements: tuple[KeyStatement, ...] = ()
    exports: tuple[str, ...] = ()  # __all__, else the public top-level names
    problem: str | None = None
    git: GitFacts | None = None
    # Stored in tables of their own, not in the facts' JSON: empty when read back from it.
    symbols: tuple[SymbolFacts, ...] = ()
    uses: tuple[UseFacts, ...] = ()
    # Names that imports bind to project definitions: (local name, file id, dotted name in it,
    # "" for the module itself); and the files whose names `from x import *` brings in.
    bindings: tuple[tuple[str, str, str], ...] = ()
    star_imports: tuple[str, ...] = ()
    terms: SearchTerms = SearchTerms()  # in the facts' JSON; indexed by build (`retrieval`)

    def definition(self, qualname: str) -> FunctionFacts | ClassFacts | None:
        """The top-level function or class named ``qualname`` (a function node's name), or the
        method ``Class.method`` of a top-level class."""
        definitions: list[FunctionFacts | ClassFacts] = [*self.functions, *self.classes]
        found = next((d for d in definitions if d.qualname == qualname), None)
        if found is None and "." in qualname:
            class_name = qualname.partition(".")[0]
            owner = next((c for c in self.classes if c.qualname == class_name), None)
            if owner is not None:
                found = next((m for m in owner.methods if m.qualname == qualname), None)
        return found


@attrs.frozen
class Readme:
    """A directory's README, bounded in size."""

    directory: str  # posix, relative to the root; "" for the root itself
    name: str  # "README.md"
    text: str


# --- graph (build) -------------------------------------------------------------------------------


@attrs.frozen
class Node:
    """A thing pith writes prose about.

    ``source_hash`` changes whenever the source the prose would be written from changes; prose
    written from another hash is stale.
    """

    id: str
    type: NodeType
    path: str
    name: str
    source_hash: str
    metadata: dict[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class Edge:
    source: str
    target: str
    type: EdgeType


# --- prose (generate) ----------------------------------------------------------------------------


@attrs.frozen
class Gotcha:
    """A specific, evidence-backed warning about a node."""

    warning: str
    location: str = ""  # "line 42", "Client.send"
    evidence: str = ""  # the value, name or line that backs it
    confidence: str = "medium"  # "high" | "medium" | "low": do its names appear in the facts?


@attrs.frozen
class Prose:
    """What an agent should know about a node before touching it."""

    summary: str
    purpose: str
    gotchas: tuple[Gotcha, ...] = ()
    # file
    key_exports: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    # module
    key_files: tuple[str, ...] = ()
    public_api: tuple[str, ...] = ()
    quick_start: str | None = None
    data_flow: str | None = None
    # provenance
    generated_at: dt.datetime | None = None
    model: str = ""
    source_hash: str = ""


converter = cattrs.Converter(forbid_extra_keys=False)
converter.register_unstructure_hook(dt.datetime, lambda d: d.isoformat())
converter.register_structure_hook(dt.datetime, lambda v, _: dt.datetime.fromisoformat(v))
