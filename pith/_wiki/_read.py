"""The read layer: what an agent asks of the wiki, answered from the store.

`WikiReader` answers four questions; the CLI (`show`, `context`, `search`), `pith serve` and
`pith mcp` only render its answers:

- ``node(id)``: one node's page (`NodePage`), or `NotFoundError` with the closest ids;
- ``context(files)``: what to read before changing those files (`Context`);
- ``impact(id)``: the files that import the node's file, directly or not, nearest first
  (`Impact`);
- ``search(query, limit)``: nodes ranked by relevance over ids, names, docstrings and prose.

Every answer has ``to_json()`` (the shapes of docs/reading.md) and ``to_markdown()``, bounded to
`MARKDOWN_BUDGET` characters (about 4,000 tokens: room in an agent's context for the answer and
the work) with a visible note when something was left out. Stale prose is marked as stale.
Every question is bounded (`pith._wiki._limits`): an id, a query, a list of files or a limit beyond
its bound is a `UsageError`, before anything is looked up.
Reads only; blocking (SQLite): call it from a worker thread in async code. It holds no state
of its own, so one reader per store is safe wherever that store is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

import attrs

from .._errors import NotFoundError, UsageError
from .._generate._compact import compact_header
from .._models import EdgeType, FileFacts, NodeType, converter, is_test_path
from .._roles import (
    SCRIPT_SUFFIXES,
    Role,
    is_development_script,
    is_runnable_test,
    role_of,
    script_test_command,
    source_first,
)
from .._store import Reference, Store, Symbol
from .._words import plural
from . import _markdown as md
from . import _views
from ._ask import CHARS_PER_TOKEN, Briefing, brief
from ._docstrings import first_paragraph, first_sentence
from ._limits import (
    DEFAULT_BUDGET,
    MAX_IMPACT_FILES,
    MAX_SEARCH_LIMIT,
    check_budget,
    check_files,
    check_id,
    check_limit,
    check_query,
    check_question,
)
from ._resolve import resolve
from ._retrieve import search_hits, wanted_file

__all__ = [
    "MARKDOWN_BUDGET",
    "Brief",
    "Callers",
    "Context",
    "Impact",
    "NodePage",
    "SearchHit",
    "WikiReader",
]

MARKDOWN_BUDGET = 16_000  # characters of one Markdown answer
NAMED_IMPORTERS = 5  # per file in a context; the rest are counted
MAX_CALLERS = 500
BUSY_FILE_IMPORTERS = 10  # a file used this widely gets "Before you change this" in context
TOP_CALLERS = 5
TESTS_SHOWN = 40  # test files an impact's Markdown names; its commands and JSON hold all


@attrs.frozen
class Brief:
    """A node in one line: id, type, summary (None: not written yet), stale."""

    id: str
    type: str
    summary: str | None
    stale: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "summary": self.summary, "stale": self.stale}

    def line(self, prefix: str = "", suffix: str = "") -> str:
        summary = md.line(self.summary) if self.summary else "(no prose yet)"
        stale = " *(stale)*" if self.stale else ""
        return f"- {prefix}{md.code(self.id)}{suffix}: {summary}{stale}"


@attrs.frozen
class NodePage:
    """One node: the ``show --json`` document and its Markdown page."""

    data: dict[str, Any]
    markdown: str

    def to_json(self) -> dict[str, Any]:
        return self.data

    def to_markdown(self) -> str:
        return _bounded(self.markdown)


@attrs.frozen
class Context:
    """Before changing ``files``: their prose and functions', their modules up to the root, their
    direct imports and importers, and their tests."""

    files: list[dict[str, Any]]
    modules: list[Brief]
    neighbours: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    unknown: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "modules": [m.to_json() for m in self.modules],
            "neighbours": self.neighbours,
            "tests": self.tests,
            "unknown": self.unknown,
        }

    def to_markdown(self, budget: int | None = None) -> str:
        """The answer as Markdown, within ``budget`` tokens (default: `MARKDOWN_BUDGET`
        characters), what helps most first: the files' own prose, API and key facts, their
        tests, what they import, their modules, and their importers last (a few by name per
        file, the rest counted)."""
        out: list[str] = []
        for file in self.files:
            out += [f"# {md.code(file['id'])}", ""]
            if file.get("resolved_from"):
                out += [f"*(resolved from {md.code(file['resolved_from'])})*", ""]
            if "before_change" in file:
                out += _before_change_lines(file["before_change"])
            out += _outline_lines(file["source"], file["prose"])
            out += _prose_lines(file["prose"])
            out += _changed_with_lines("Often changed with", file.get("changed_with", []))
            for function in file["functions"]:
                out += [f"## {md.code(function['id'])}", ""]
                out += _outline_lines(function["source"], function["prose"])
                if function["prose"] is not None:  # its file's "no prose yet" says it once
                    out += _prose_lines(function["prose"])
        if self.tests:
            out += ["# Tests", ""]
            for test in self.tests:
                how = {
                    "references": "uses it",
                    "name": "is named after it",
                    "helper": f"uses it through {md.code(test.get('helper', ''))}",
                }[test["via"]]
                out.append(
                    f"- {md.code(test['id'])} {how} ({md.code(test['of'])}): "
                    f"{md.code(test['command'])}"
                )
            out.append("")
        imports = [n for n in self.neighbours if n["relation"] == str(EdgeType.IMPORTS)]
        importers = [n for n in self.neighbours if n["relation"] != str(EdgeType.IMPORTS)]
        if imports:
            out += ["# Imports", ""]
            for of, rows in _by_file(imports).items():
                out += [f"{md.code(of)} imports:", *(_neighbour_line(n) for n in rows), ""]
        if self.modules:
            out += ["# Enclosing modules", "", *(m.line() for m in self.modules), ""]
        if importers:
            out += ["# Importers", ""]
            for of, rows in _by_file(importers).items():
                out += [f"{md.code(of)} is imported by:"]
                out += [_neighbour_line(n) for n in rows[:NAMED_IMPORTERS]]
                if len(rows) > NAMED_IMPORTERS:
                    out.append(f"- and {len(rows) - NAMED_IMPORTERS} more files")
                out.append("")
        if self.unknown:
            out += ["# Unknown paths", "", *(f"- {md.code(u)}" for u in self.unknown), ""]
        return _bounded("\n".join(out), budget)


_CONSTRUCTORS = frozenset({"__init__", "__new__", "__post_init__"})


def _reaching(store: Store, target: str, path: str) -> tuple[list[Reference], bool]:
    """The references to symbol ``target`` (of file ``path``) and to what in its own file uses
    it, transitively: a change to httpx's `Client.send` reaches the callers of `Client.request`,
    which calls it. True when the file's module-level code uses one of them: then whatever
    imports the file is reached."""
    found = store.references_within(target, 100_000)
    owner, _, member = target.rpartition(".")
    if member in _CONSTRUCTORS and ":" in owner:  # `Text(...)` runs `Text.__init__`
        known = set(found)
        found += [r for r in store.references_to([owner], 100_000) if r not in known]
    references = list(found)
    seen = {target}
    everywhere = False
    while found:
        callers = []
        for reference in found:
            if reference.path != path:
                continue
            if reference.caller == path:
                everywhere = True
            elif reference.caller not in seen:
                seen.add(reference.caller)
                callers.append(reference.caller)
        found = store.references_to(callers, 100_000) if callers else []
        references += found
    return references, everywhere


def _by_file(neighbours: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``neighbours`` (`Context.neighbours`) by the file of the context they are of."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    for n in neighbours:
        by_file.setdefault(n["of"], []).append(n)
    return by_file


def _neighbour_line(neighbour: dict[str, Any]) -> str:
    """An import or importer: its id, and its summary where there is one (the page says once
    that there is no prose yet)."""
    if not neighbour["summary"]:
        return f"- {md.code(neighbour['id'])}"
    return Brief(neighbour["id"], "file", neighbour["summary"], neighbour["stale"]).line()


@attrs.frozen
class Impact:
    """The files a change to ``id`` reaches (`WikiReader.impact`), nearest first with their
    depth, each with the names it uses of it (``uses``: ``[{"name", "lines"}]``) and the
    functions those uses sit in (``functions``); and the tests a runner runs among them and
    theirs, with the commands that run them (``commands``: one pytest line, one per
    TypeScript/JavaScript test)."""

    id: str
    files: list[dict[str, Any]]
    tests: list[str]
    truncated: bool
    resolved_from: str | None = None  # what was asked, when it was not the id itself
    commands: list[str] = attrs.field(factory=list)
    # The files most often committed with its file: what such a change usually also touches.
    changed_with: list[dict[str, Any]] = attrs.field(factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "files": self.files,
            "tests": self.tests,
            "commands": self.commands,
            "changed_with": self.changed_with,
            "truncated": self.truncated,
        }
        if self.resolved_from is not None:
            data["resolved_from"] = self.resolved_from
        return data

    def to_markdown(self, budget: int | None = None) -> str:
        """The answer as Markdown within ``budget`` tokens (default: `MARKDOWN_BUDGET`
        characters): the tests to run (forty named, every one in the commands), then the
        importers, nearest first."""
        out = [f"# Impact of changing {md.code(self.id)}", ""]
        if self.resolved_from is not None:
            out += [f"*(resolved from {md.code(self.resolved_from)})*", ""]
        if not self.files:
            out += ["Nothing in the project imports it.", ""]
        out += _changed_with_lines("Usually changed with it", self.changed_with)
        # What to run comes first: a widely imported file's importers fill any budget.
        out += self._tests_lines()
        depths = sorted({f["depth"] for f in self.files})
        # Of a symbol, the direct importers that use none of its names are counted, not listed:
        # what it reaches is where it is used.
        of_symbol = ":" in self.id
        for depth in depths:
            out += [f"## Depth {depth}", ""]
            silent = 0
            for f in self.files:
                if f["depth"] != depth:
                    continue
                if of_symbol and depth == 1 and not f["uses"]:
                    silent += 1
                    continue
                out.append(Brief(f["id"], "file", f["summary"], f["stale"]).line())
                for use in f["uses"][:10]:
                    lines = ", ".join(str(n) for n in use["lines"][:10])
                    out.append(f"  - uses {md.code(use['name'])} at lines {lines}")
                if f["functions"]:
                    shown = ", ".join(md.code(c) for c in f["functions"][:10])
                    out.append(f"  - in {shown}")
            if silent:
                file_id = md.code(self.id.partition(":")[0])
                out.append(
                    f"- and {plural(silent, 'more file')} importing {file_id} without a use of "
                    "it that pith resolved (`--json` lists them)"
                )
            out.append("")
        if of_symbol and not self.tests:
            command = md.code(f"pith impact {self.id.partition(':')[0]}")
            out += [
                f"No test that pith resolved uses it; {command} lists the tests of its file's "
                "importers.",
                "",
            ]
        if self.truncated:
            out += [f"*Only the nearest {MAX_IMPACT_FILES} files are listed.*", ""]
        return _bounded("\n".join(out), budget)

    def _tests_lines(self) -> list[str]:
        if not self.tests:
            return []
        out = ["## Tests to run", "", *(f"- {md.code(t)}" for t in self.tests[:TESTS_SHOWN])]
        if len(self.tests) > TESTS_SHOWN:
            more = len(self.tests) - TESTS_SHOWN
            out.append(f"- and {plural(more, 'more test file')} (the commands run them all)")
        out.append("")
        return [*out, *md.fence("\n".join(self.commands), "sh"), ""] if self.commands else out


@attrs.frozen
class Callers:
    """Who uses ``id`` (a symbol, or every symbol of a file): each use with its file, line,
    the id of the definition it sits in (``caller``; the file id at module level) and the
    line's text; production code, tests, and examples and docs code apart, tests with the
    command that runs them. ``unresolved``: uses of the file's names that lead to nothing it
    defines (dynamic)."""

    id: str
    kind: str
    callers: list[dict[str, Any]]
    tests: list[dict[str, Any]]
    unresolved: int
    truncated: bool
    examples: list[dict[str, Any]] = attrs.field(factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "callers": self.callers,
            "tests": self.tests,
            "examples": self.examples,
            "unresolved": self.unresolved,
            "truncated": self.truncated,
        }

    def to_markdown(self) -> str:
        out = [f"# Callers of {md.code(self.id)}", ""]
        if not self.callers and not self.tests and not self.examples:
            out += ["Nothing in the project uses it by name.", ""]
        groups = (
            ("Production code", self.callers),
            ("Tests", self.tests),
            ("Examples and docs", self.examples),
        )
        for title, uses in groups:
            if not uses:
                continue
            out += [f"## {title} ({len(uses)})", ""]
            for use in uses[:USES_SHOWN]:
                where = md.code(f"{use['file']}:{use['line']}")
                out.append(f"- {where} in {md.code(use['caller'])}: {md.code(use['text'])}")
            if len(uses) > USES_SHOWN:
                files = len({use["file"] for use in uses[USES_SHOWN:]})
                out.append(
                    f"- and {len(uses) - USES_SHOWN} more in {plural(files, 'file')} "
                    "(`--json` lists every use)"
                )
            out.append("")
            commands = (
                _run_together(t["command"] for t in uses if "command" in t)
                if uses is self.tests
                else []
            )
            if commands:
                out += ["Run them:", "", *md.fence("\n".join(commands), "sh"), ""]
        if self.unresolved:
            out += [
                f"*{self.unresolved} dynamic uses of this file's names could not be resolved "
                "and are not listed.*",
                "",
            ]
        if self.truncated:
            out += [f"*Only the first {MAX_CALLERS} uses are listed.*", ""]
        return _bounded("\n".join(out))


@attrs.frozen
class SearchHit:
    """A node (``type`` file, module or function) or a symbol without a node of its own
    (``type`` "symbol"); ``kind``: the symbol's kind (class, method, function, constant) or
    the node's type."""

    id: str
    type: str
    summary: str | None
    score: float
    kind: str = ""
    why: tuple[str, ...] = ()  # the reasons its file was chosen
    doc: str | None = None  # its docstring's first sentence, where there is no prose yet
    line: int | None = None  # a symbol's first line in its file (None for a file or a package)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "kind": self.kind or self.type,
            "line": self.line,
            "summary": self.summary,
            "doc": self.doc,
            "score": self.score,
            "why": list(self.why),
        }


def hits_markdown(query: str, hits: Sequence[SearchHit]) -> str:
    """Search results as Markdown."""
    if not hits:
        return f"No node matches {md.code(query)}.\n"
    lines = [f"# Search: {md.code(query)}", ""]
    for h in hits:
        # Without prose, its docstring and why it was chosen tell one hit from the next.
        said = [h.doc] if h.doc else []
        why = "; ".join(h.why)
        summary = h.summary or " ".join(
            [*said, f"(no prose yet; {why})" if why else "(no prose yet)"]
        )
        # A symbol's `file:line`: where to open it.
        file_id = h.id.partition(":")[0]
        where = "" if h.line is None else f" at {md.code(f'{file_id}:{h.line}')}"
        lines.append(Brief(h.id, h.type, summary, False).line(f"{h.kind or h.type} ", where))
    return _bounded("\n".join(lines) + "\n")


@attrs.frozen
class WikiReader:
    """Read-only answers over one open store (see the module docstring)."""

    store: Store

    def node(self, node_id: str) -> NodePage:
        """A node or symbol as `pith show` gives it: its view with what the source says (its
        signature, docstring, README opening), and its page."""
        data = _views.node_view(self.store, check_id(node_id), with_source=True)
        return NodePage(data, _views.page_markdown(data))

    def context(self, files: Sequence[str]) -> Context:
        unknown: list[str] = []
        file_ids: list[str] = []
        resolved_from: dict[str, str] = {}
        for given in dict.fromkeys(check_files(files)):
            file_id = self._file_id(given)
            if file_id is None:
                file_id = self._resolved_file(given)
                if file_id is not None:
                    resolved_from.setdefault(file_id, given)
            if file_id is None:
                unknown.append(given)
            elif file_id not in file_ids:
                file_ids.append(file_id)
        module_ids: list[str] = []
        neighbours: list[dict[str, Any]] = []
        tests: list[dict[str, Any]] = []
        out_files: list[dict[str, Any]] = []
        changed_with = self.store.co_changed(file_ids)
        for file_id in file_ids:
            contained = self.store.edges(file_id, EdgeType.CONTAINS)
            functions = [e.target for e in contained if ":" in e.target]
            facts = self.store.file_facts(file_id)
            out_files.append(
                {
                    "id": file_id,
                    "prose": self._prose(file_id),
                    "source": _file_outline(facts),
                    "changed_with": _changed_with(*changed_with.get(file_id, (0, []))),
                    "functions": [
                        {
                            "id": f,
                            "prose": self._prose(f),
                            "source": _definition_outline(facts, f.partition(":")[2]),
                        }
                        for f in sorted(functions)
                    ],
                }
            )
            if file_id in resolved_from:
                out_files[-1]["resolved_from"] = resolved_from[file_id]
            current = self._parent(file_id)
            while current is not None and current not in module_ids:
                module_ids.append(current)
                current = self._parent(current)
            for relation in (EdgeType.IMPORTS, EdgeType.IMPORTED_BY):
                edges = sorted(
                    self.store.edges(file_id, relation), key=lambda e: source_first(e.target)
                )
                for edge in edges:
                    if edge.target not in file_ids:
                        neighbours.append(
                            {"id": edge.target, "relation": str(relation), "of": file_id}
                        )
            file_tests = self.tests_of(file_id)
            tests += file_tests
            importers = self.store.edges(file_id, EdgeType.IMPORTED_BY)
            if len(importers) >= BUSY_FILE_IMPORTERS:
                out_files[-1]["before_change"] = self._before_change(
                    file_id, len(importers), file_tests, facts
                )
        briefs = self.store.briefs([*module_ids, *(n["id"] for n in neighbours)])
        for n in neighbours:
            _, summary, stale = briefs.get(n["id"], ("file", None, False))
            n |= {"summary": summary, "stale": stale}
        return Context(
            files=out_files,
            modules=[Brief(m, *briefs[m]) for m in module_ids if m in briefs],
            neighbours=neighbours,
            tests=tests,
            unknown=unknown,
        )

    def _before_change(
        self,
        file_id: str,
        importers: int,
        tests: list[dict[str, Any]],
        facts: FileFacts | None,
    ) -> dict[str, Any]:
        """What a change to a widely used file reaches: ``{"importers", "functions",
        "top_callers": [{"id", "uses"}], "tests", "recent_commits"}``."""
        references = self.store.references_in_file_to(file_id, 100_000)
        counts: dict[str, int] = {}
        for reference in references:
            if reference.path != file_id:
                counts[reference.caller] = counts.get(reference.caller, 0) + 1
        # The code a change can break first: a test calling it twenty times is still a test
        # (listed under tests), and a file's module-level code (rich's `if __name__ ==
        # "__main__":` demos) comes after the functions; production callers lead, most uses
        # first.
        top = sorted(
            counts.items(),
            key=lambda item: (
                is_test_path(item[0]),
                ":" not in item[0],
                source_first(item[0].split(":")[0])[0],
                -item[1],
                item[0],
            ),
        )[:TOP_CALLERS]
        git = facts.git if facts is not None else None
        return {
            "importers": importers,
            "functions": sum(1 for caller in counts if ":" in caller),
            "top_callers": [{"id": caller, "uses": n} for caller, n in top],
            "tests": [t["id"] for t in tests],
            "recent_commits": list(git.recent_subjects) if git is not None else [],
        }

    def impact(self, node_id: str) -> Impact:
        """What a change to a node or symbol can break (see `Impact`): of a file or a package,
        whatever imports it, directly or not; of a function or any other symbol (a method, a
        constant), the files that use it or what in its own file calls it (`_reaching`), and
        whatever imports those (its file's other importers are counted at depth 1)."""
        node_id = check_id(node_id)
        try:
            resolved = resolve(self.store, node_id)
            node = self.store.node(resolved.id)
        except NotFoundError:
            node = None
        if node is not None:
            target, path, resolved_from = node.id, node.path, resolved.resolved_from
            whole = node.type is not NodeType.FUNCTION  # a file or a package: all its names
        else:  # a method, a constant, a class without prose of its own
            symbol, resolved_from = _views.resolve_symbol(self.store, node_id)
            target, path, whole = symbol.id, symbol.path, False
        one_file = node is None or node.type is not NodeType.MODULE
        if node is not None and node.type is NodeType.MODULE:
            prefix = "" if node.id == "." else f"{node.id}/"
            start = [n.id for n in self.store.nodes(NodeType.FILE) if n.id.startswith(prefix)]
        else:
            start = [path]
        # What each dependent uses of it, where, and from which of its functions.
        if not whole:
            references, whole = _reaching(self.store, target, path)
        else:
            references = [r for f in start for r in self.store.references_in_file_to(f, 100_000)]
        # The whole reach is walked in memory (one read of the import edges): the files listed
        # stop at the nearest `MAX_IMPACT_FILES`, the tests to run come from all of them
        # (typeorm's FindOptionsUtils.ts listed 3 tests, those of its nearest 200 importers).
        importers_of: dict[str, list[str]] = {}
        for edge in self.store.edges(type=EdgeType.IMPORTED_BY):
            importers_of.setdefault(edge.source, []).append(edge.target)
        depth = dict.fromkeys(start, 0)
        frontier = list(start)
        level = 0
        if not whole:
            # Of a symbol: the files that use it (through a re-export too) are its depth 1, and
            # only what imports them is reached farther; its file's other importers are at
            # depth 1 too, counted, not followed (typeorm's `withDeleted` reached every test).
            users = sorted({r.path for r in references} - set(start))
            for importer in importers_of.get(path, ()):
                depth.setdefault(importer, 1)
            depth.update(dict.fromkeys(users, 1))
            frontier, level = users, 1
        reached = set(frontier) if not whole else None
        while frontier:
            level += 1
            following = []
            for file_id in frontier:
                for importer in importers_of.get(file_id, ()):
                    if importer not in depth:
                        depth[importer] = level
                        following.append(importer)
            frontier = sorted(following)
            if reached is not None:
                reached.update(following)
        uses: dict[str, dict[str, list[int]]] = {}
        functions: dict[str, set[str]] = {}
        for reference in references:
            uses.setdefault(reference.path, {}).setdefault(reference.target, []).append(
                reference.line
            )
            if reference.caller != reference.path:
                functions.setdefault(reference.path, set()).add(reference.caller)
        # Nearest first; at each depth the files that use it by name (of a function: its
        # callers, not every importer of its file), then the code the project ships before
        # its tests and docs.
        importers = sorted(
            ((d, f) for f, d in depth.items() if d > 0),
            key=lambda i: (i[0], i[1] not in uses, source_first(i[1])),
        )
        # The tests a runner runs (no helper or fixture) of what the change reaches: of a
        # symbol, the files that use it and what imports those, not every importer of its file.
        affected = {f for _, f in importers if reached is None or f in reached} | set(start)
        tests_of: dict[str, list[str]] = {}
        for edge in self.store.edges(type=EdgeType.TEST_FILE):
            if edge.source in affected:
                tests_of.setdefault(edge.source, []).append(edge.target)
        # The project's own tests before those of its docs and examples (fastapi's
        # `docs_src/**/test_main.py` had led, by path).
        tests = sorted(
            {t for f in affected for t in tests_of.get(f, ()) if is_runnable_test(t)}
            | {f for f in affected if is_runnable_test(f)},
            key=source_first,
        )
        truncated = len(importers) > MAX_IMPACT_FILES
        importers = importers[:MAX_IMPACT_FILES]
        briefs = self.store.briefs(f for _, f in importers)
        files = [
            {
                "id": f,
                "depth": d,
                "summary": briefs.get(f, ("file", None, False))[1],
                "stale": briefs.get(f, ("file", None, False))[2],
                "uses": [
                    {"name": name, "lines": sorted(set(lines))}
                    for name, lines in sorted(uses.get(f, {}).items())
                ],
                "functions": sorted(functions.get(f, ())),
            }
            for d, f in importers
        ]
        # Of a file (a package's files change together by nature, and with their tests).
        changed_with = (
            _changed_with(*self.store.co_changed(start).get(path, (0, []))) if one_file else []
        )
        return Impact(
            id=target,
            files=files,
            tests=tests,
            truncated=truncated,
            resolved_from=resolved_from,
            changed_with=changed_with,
            commands=_run_together(_pytest_command(t, [], self.store.root) for t in tests),
        )

    def callers(self, node_id: str) -> Callers:
        """The uses of a symbol (by id or unique bare name, see `pith._wiki._views.resolve_symbol`)
        or of every symbol of a file; `NotFoundError` for an unknown id, `UsageError` for a store
        older than the references (read where it cannot be migrated)."""
        node_id = check_id(node_id)
        if not self.store.has_symbols:
            raise UsageError(
                f"this store (schema {self.store.schema_version}) predates the references pith "
                "records: open it once where its data dir is writable (any pith command "
                "migrates it), then run `pith extract PATH` to record them"
            )
        node = self.store.node(node_id.removeprefix("./"))
        if node is None:  # a path as typed (`_client.py`, `httpx._client`): see pith._resolve
            try:
                node = self.store.node(resolve(self.store, node_id).id)
            except NotFoundError:
                node = None
        if node is not None and node.type is NodeType.FILE:
            target, kind = node.id, "file"
            references = self.store.references_in_file_to(node.id, MAX_CALLERS + 1)
        elif node is not None and node.type is NodeType.MODULE:
            raise NotFoundError(
                f"{node_id!r} is a package: ask for the callers of one of its files or symbols"
                f", or its `impact`"
            )
        else:
            symbol, _ = _views.resolve_symbol(self.store, node.id if node else node_id)
            target, kind = symbol.id, str(symbol.kind)
            references = self.store.references_to([symbol.id], MAX_CALLERS + 1)
        truncated = len(references) > MAX_CALLERS
        production: list[dict[str, Any]] = []
        tests: list[dict[str, Any]] = []
        examples: list[dict[str, Any]] = []
        for reference in references[:MAX_CALLERS]:
            use = {
                "file": reference.path,
                "line": reference.line,
                "caller": reference.caller,
                "text": reference.text,
                "target": reference.target,
            }
            if is_test_path(reference.path):
                if is_runnable_test(reference.path):  # not a helper's or a fixture's use
                    test_id = _test_id(reference.path, reference.caller)
                    use["command"] = _pytest_command(reference.path, [test_id], self.store.root)
                tests.append(use)
            elif role_of(reference.path) is Role.EXAMPLE:
                examples.append(use)
            else:
                production.append(use)
        # The code the project ships first; its own scripts (benchmarks/, setup.py) after it.
        production.sort(key=lambda use: is_development_script(use["file"]))
        return Callers(
            id=target,
            kind=kind,
            callers=production,
            tests=tests,
            examples=examples,
            unresolved=self.store.unresolved_uses(target.partition(":")[0] or target),
            truncated=truncated,
        )

    def tests_of(
        self, file_id: str, symbol_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The tests of a source file (or of some of its symbols): the test functions that
        use its names (through any re-export), then the test files named after it
        (``_auth.py`` <-> ``test_auth.py``), then the tests importing a helper under a tests
        directory that uses its names; files a runner runs only (`is_runnable_test`: no
        helper, fixture or entity). ``[{"id": test file, "of", "via": "references" | "name" |
        "helper", "helper" (with "helper"), "tests": [pytest ids], "command"}]``; a test file
        has none."""
        if is_test_path(file_id):
            return []
        if symbol_ids is None:
            references = self.store.references_in_file_to(file_id, MAX_CALLERS)
        else:
            references = self.store.references_to(symbol_ids, MAX_CALLERS)
        by_file: dict[str, list[str]] = {}
        for reference in references:
            if is_runnable_test(reference.path):
                test_id = _test_id(reference.path, reference.caller)
                ids = by_file.setdefault(reference.path, [])
                if test_id not in ids:
                    ids.append(test_id)
        root = self.store.root

        def entry(test_file: str, via: str, tests: list[str], **more: str) -> dict[str, Any]:
            command = _pytest_command(test_file, tests, root)
            return {
                "id": test_file,
                "of": file_id,
                "via": via,
                **more,
                "tests": tests,
                "command": command,
            }

        out = []
        for test_file, ids in sorted(by_file.items(), key=lambda item: source_first(item[0])):
            out.append(entry(test_file, "references", [i for i in ids if "::" in i]))
        listed = set(by_file)
        for edge in self.store.edges(file_id, EdgeType.TEST_FILE):
            if is_runnable_test(edge.target) and edge.target not in listed:
                listed.add(edge.target)
                out.append(entry(edge.target, "name", []))
        # A helper under a tests directory that uses it (typeorm's test entities use
        # `@Column`): the tests that import the helper run it.
        helpers = sorted(
            {r.path for r in references if is_test_path(r.path) and not is_runnable_test(r.path)}
        )
        for helper in helpers:
            for edge in self.store.edges(helper, EdgeType.IMPORTED_BY):
                if is_runnable_test(edge.target) and edge.target not in listed:
                    listed.add(edge.target)
                    out.append(entry(edge.target, "helper", [], helper=helper))
        return out

    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        type: NodeType | None = None,
        path: str | None = None,
        tests: bool = False,
    ) -> list[SearchHit]:
        """Nodes and symbols for ``query``, best first: those named exactly as asked
        (``send`` is ``Client.send``, source before tests), then one per ranked file
        (`pith._wiki._retrieve.search_hits`: source before tests unless asked). ``type``, ``path``
        (a glob) and ``tests`` (test files only) filter."""
        query, limit = check_query(query), check_limit(limit)
        kinds = ["test"] if tests else None
        found = search_hits(self.store, query, limit=limit, type=type, path=path, kinds=kinds)
        ids = {h.id for h in found}
        wanted = query.strip()
        named: list[Symbol] = []
        if type in (None, NodeType.FUNCTION) and wanted and len(wanted.split()) == 1:
            named = [
                s
                for s in self.store.symbols_named(wanted, MAX_SEARCH_LIMIT)
                if s.id not in ids and wanted_file(s.path, path=path, kinds=kinds)
            ]
        briefs = self.store.briefs([*ids, *(s.id for s in named)])
        kinds_of = self.store.symbol_kinds([*ids, *(s.id for s in named)])
        file_scores = {h.file.id: h.score for h in found}
        hits = [
            SearchHit(
                s.id,
                briefs[s.id][0] if s.id in briefs else "symbol",
                briefs.get(s.id, ("", None, False))[1],
                file_scores.get(s.path, 0.0),
                str(s.kind),
                (f"defines {s.name}",),
                line=s.start_line,
            )
            for s in named
        ]
        hits += [
            SearchHit(
                h.id,
                h.type,
                briefs.get(h.id, (h.type, None, False))[1],
                h.score,
                kinds_of[h.id][0] if h.id in kinds_of else h.type,
                h.file.why,
                line=kinds_of[h.id][1] if h.id in kinds_of else None,
            )
            for h in found
        ]
        # Named exactly as asked first: the shipped code's before scripts', tests' and
        # examples', the most used first (zod's `ZodType.safeParse`, not its bench script's);
        # the rest keep their ranking.
        exact = [h for h in hits if _named(h.id, wanted.lower())]
        used = self.store.reference_counts(h.id for h in exact)
        exact.sort(
            key=lambda h: (source_first(h.id.partition(":")[0])[0], -used.get(h.id, 0), h.id)
        )
        hits = exact + [h for h in hits if not _named(h.id, wanted.lower())]
        hits = hits[:limit]
        # Before prose is written, what the code says of itself is the best summary there is.
        bare = [h.id for h in hits if h.summary is None]
        docs = self.store.docstrings(bare) if bare else {}
        return [
            attrs.evolve(h, doc=first_sentence(docs[h.id])) if h.id in docs else h for h in hits
        ]

    def ask(
        self,
        question: str,
        budget: int = DEFAULT_BUDGET,
        *,
        path: str | None = None,
        tests: bool = False,
    ) -> Briefing:
        """What to read for ``question``, packed to ``budget`` tokens (`pith._wiki._ask.brief`)."""
        question, budget = check_question(question), check_budget(budget)
        return brief(self.store, question, budget, path=path, kinds=["test"] if tests else None)

    def _parent(self, node_id: str) -> str | None:
        edges = self.store.edges_to(node_id, EdgeType.CONTAINS)
        return edges[0].source if edges else None

    def _prose(self, node_id: str) -> dict[str, Any] | None:
        """The prose as `pith show --json` gives it (with ``stale``), or None."""
        prose = self.store.prose(node_id)
        node = self.store.node(node_id)
        if prose is None or node is None:
            return None
        data: dict[str, Any] = converter.unstructure(prose)
        data["stale"] = prose.source_hash != node.source_hash
        return data

    def _resolved_file(self, given: str) -> str | None:
        """The file of the one node ``given`` names as a person types it (`pith._wiki._resolve`):
        ``_client.py``, ``httpx._client``, ``AsyncClient``; None when none or several."""
        try:
            node = self.store.node(resolve(self.store, given).id)
        except NotFoundError:
            return None
        if node is None or node.type is NodeType.MODULE:
            return None
        return node.path

    def _file_id(self, given: str) -> str | None:
        """The file id of a path as a user or agent gives it: relative to the root (with or
        without ``./``), or absolute inside the root. None when there is no such file node."""
        text = given.strip().replace("\\", "/")
        root = self.store.root
        if root and os.path.isabs(text):
            try:
                text = os.path.relpath(text, root)
            except ValueError:
                return None
        normal = str(PurePosixPath(text))
        if normal.startswith("../") or normal == "..":
            return None
        node = self.store.node(normal)
        return normal if node is not None and node.type is NodeType.FILE else None


def _file_outline(facts: FileFacts | None) -> dict[str, Any]:
    """What the source says of a file in brief: its lines and its docstring's first paragraph."""
    if facts is None:
        return {}
    return _without_empty(
        {  # an empty file has no lines to show, not "lines 1-0"
            "lines": [1, facts.lines] if facts.lines else None,
            "docstring": _first_paragraph(facts.docstring),
        }
    )


def _definition_outline(facts: FileFacts | None, qualname: str) -> dict[str, Any]:
    """What the source says of a function or class in brief: signature, lines, and its
    docstring's first paragraph."""
    definition = None if facts is None else facts.definition(qualname)
    if definition is None:
        return {}
    return _without_empty(
        {
            "signature": definition.header,
            "lines": [definition.start_line, definition.end_line],
            "docstring": _first_paragraph(definition.docstring),
        }
    )


def _first_paragraph(text: str | None) -> str | None:
    return first_paragraph(text, one_line=False) or None


def _without_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value}


def _outline_lines(source: dict[str, Any], prose: dict[str, Any] | None) -> list[str]:
    """The signature and lines; the docstring too when there is no prose to say more."""
    out: list[str] = []
    lines = source.get("lines")
    where = f"lines {lines[0]}-{lines[1]}" if lines else ""
    if lines and lines[0] == lines[1]:
        where = f"line {lines[0]}"
    if "signature" in source:
        # The budget buys code: `Annotated[X, Doc("...")]` and long defaults are elided here
        # (fastapi's `APIRouter.__init__` goes from 8,000 characters to 600); JSON keeps it whole.
        signature = compact_header(source["signature"])
        out.append(md.code(signature) + (f" ({where})" if where else ""))
    elif where:
        out.append(f"({where})")
    if prose is None and source.get("docstring"):
        quoted = md.text(source["docstring"]).split("\n")
        out += ["", *(f"> {line}" if line else ">" for line in quoted)]
    return [*out, ""] if out else []


def _prose_lines(prose: dict[str, Any] | None) -> list[str]:
    if prose is None:
        return ["*No prose yet: run `pith generate`.*", ""]
    out = ["> **Stale**: the source changed since this was written.", ""] if prose["stale"] else []
    # A model's words (it may have read an injection): inert text, as on every page.
    out += [md.text(prose["summary"]), "", md.text(prose["purpose"]), ""]
    for gotcha in prose["gotchas"]:
        where = f" ({md.line(gotcha['location'])})" if gotcha.get("location") else ""
        out.append(f"- **Gotcha**{where}: {md.line(gotcha['warning'])}")
    return [*out, ""] if prose["gotchas"] else out


USES_SHOWN = 40  # of each group of callers in Markdown; the JSON lists them all


def _bounded(text: str, budget: int | None = None) -> str:
    """``text`` within ``budget`` tokens (counted as the estimate counts), else within
    `MARKDOWN_BUDGET` characters; what is cut is said in a closing note."""
    limit = MARKDOWN_BUDGET if budget is None else budget * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    cut = max(0, text.rfind("\n", 0, limit - 200))
    left = len(text) - cut
    within = f"{limit:,} characters" if budget is None else f"{budget:,} tokens"
    return (
        text[:cut] + f"\n\n*[{left:,} more characters left out to stay within {within}: "
        "ask about fewer files, or read single nodes with `node`]*\n"
    )


def _named(node_id: str, wanted: str) -> bool:
    """Whether ``node_id`` is named ``wanted`` (lower case): its qualname, its last name,
    its file name or the whole id."""
    qualname = node_id.rpartition(":")[2] if ":" in node_id else ""
    names = {node_id.lower(), node_id.rpartition("/")[2].lower()}
    if qualname:
        names |= {qualname.lower(), qualname.rpartition(".")[2].lower()}
    return wanted in names


def _test_id(path: str, caller: str) -> str:
    """The pytest id of the test a use in a test file sits in: ``path::Class::test_name``; the
    file alone when the use is not inside a test function (a helper, a fixture, module level)."""
    qualname = caller[len(path) + 1 :] if caller.startswith(f"{path}:") else ""
    parts = qualname.split(".") if qualname else []
    # The test is the outermost function named test*, inside any classes (nested helpers
    # belong to it).
    for index, part in enumerate(parts):
        if part.startswith("test"):
            return "::".join([path, *parts[: index + 1]])
    if path == "conftest.py" or path.endswith("/conftest.py"):
        return path.removesuffix("conftest.py") or "."  # its directory's tests use it
    return path


def _pytest_command(
    test_file: str, tests: Sequence[str], root: str | None = None, most: int = 8
) -> str:
    """The command that runs ``tests`` of ``test_file`` (the whole file when there are many):
    pytest, or for a TypeScript/JavaScript test the runner its package.json names."""
    if test_file.endswith(SCRIPT_SUFFIXES):
        return script_test_command(root, test_file)
    if not tests or len(tests) > most:
        return f"pytest {_test_id(test_file, '')}"
    return "pytest " + " ".join(tests)


def _changed_with(commits: int, partners: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """``changed_with`` as the answers give it: ``[{"id", "commits" together, "of" its}]``."""
    return [{"id": p, "commits": n, "of": commits} for p, n in partners]


def _changed_with_lines(title: str, changed_with: list[dict[str, Any]]) -> list[str]:
    if not changed_with:
        return []
    together = ", ".join(
        f"{md.code(c['id'])} ({c['commits']} of {c['of']} commits)" for c in changed_with
    )
    return [f"{title}: {together}.", ""]


def _run_together(commands: Iterable[str], most: int = 20) -> list[str]:
    """``commands`` as few lines as run them all: the pytest ones as one line (their test ids,
    or their test files when there are more than ``most`` ids), each other runner's line
    once."""
    unique = sorted(set(commands))
    ids = list(
        dict.fromkeys(
            arg
            for command in unique
            if command.startswith("pytest ")
            for arg in command.split()[1:]
        )
    )
    if len(ids) > most:  # a line a person can read: the files hold every one of them
        ids = list(dict.fromkeys(i.partition("::")[0] for i in ids))
    together = [f"pytest {' '.join(ids)}"] if ids else []
    return together + [c for c in unique if not c.startswith("pytest ")]


def _before_change_lines(block: dict[str, Any]) -> list[str]:
    out = [
        f"> **Before you change this**: {block['importers']} files import it; "
        f"{block['functions']} functions elsewhere use its names.",
    ]
    if block["top_callers"]:
        callers = ", ".join(f"{md.code(c['id'])} ({c['uses']})" for c in block["top_callers"])
        out.append(f"> Top callers: {callers}.")
    if block["tests"]:
        out.append(f"> Tests: {', '.join(md.code(t) for t in block['tests'][:10])}.")
    if block["recent_commits"]:
        commits = "; ".join(md.line(c) for c in block["recent_commits"][:3])
        out.append(f"> Last commits: {commits}.")
    return [*out, ""]
