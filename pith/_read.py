"""The read layer: what an agent asks of the wiki, answered from the store.

`WikiReader` answers four questions; the CLI (`show`, `context`, `search`), `pith serve` and
`pith mcp` only render its answers:

- ``node(id)``: one node's page (`NodePage`), or `NotFoundError` with the closest ids;
- ``context(files)``: what to read before changing those files (`Context`);
- ``impact(id)``: the files that import the node's file, directly or not, nearest first
  (`Impact`);
- ``search(query, limit)``: nodes ranked by relevance over ids, names, docstrings and prose.

Every answer has ``to_json()`` (the shapes of ARCHITECTURE.md) and ``to_markdown()``, bounded to
`MARKDOWN_BUDGET` characters (about 4,000 tokens: room in an agent's context for the answer and
the work) with a visible note when something was left out. Stale prose is marked as stale.
Reads only; blocking (SQLite): call it from a worker thread in async code. It holds no state
of its own, so one reader per store is safe wherever that store is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import attrs

from . import _markdown as md
from . import _views
from ._ask import CHARS_PER_TOKEN, Briefing, brief
from ._errors import NotFoundError
from ._limits import DEFAULT_BUDGET, MAX_CONTEXT_FILES, MAX_IMPACT_FILES, MAX_SEARCH_LIMIT
from ._models import EdgeType, FileFacts, NodeType, converter
from ._resolve import resolve
from ._retrieve import search_hits
from ._store import Store

__all__ = [
    "MARKDOWN_BUDGET",
    "Brief",
    "Context",
    "Impact",
    "NodePage",
    "SearchHit",
    "WikiReader",
]

MARKDOWN_BUDGET = 16_000  # characters of one Markdown answer
NAMED_IMPORTERS = 5  # per file in a context; the rest are counted


@attrs.frozen
class Brief:
    """A node in one line: id, type, summary (None: not written yet), stale."""

    id: str
    type: str
    summary: str | None
    stale: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "summary": self.summary, "stale": self.stale}

    def line(self, prefix: str = "") -> str:
        summary = self.summary or "(no prose yet)"
        stale = " *(stale)*" if self.stale else ""
        return f"- {prefix}`{self.id}`: {summary}{stale}"


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
            out += [f"# {file['id']}", ""]
            if file.get("resolved_from"):
                out += [f"*Resolved from {md.code(file['resolved_from'])}.*", ""]
            out += _outline_lines(file["source"], file["prose"])
            out += _prose_lines(file["prose"])
            for function in file["functions"]:
                out += [f"## `{function['id']}`", ""]
                out += _outline_lines(function["source"], function["prose"])
                out += _prose_lines(function["prose"])
        if self.tests:
            out += ["# Tests", "", *(f"- `{t['id']}` tests `{t['of']}`" for t in self.tests), ""]
        imports = [n for n in self.neighbours if n["relation"] == str(EdgeType.IMPORTS)]
        importers = [n for n in self.neighbours if n["relation"] != str(EdgeType.IMPORTS)]
        if imports:
            out += ["# Imports", ""]
            for n in imports:
                brief = Brief(n["id"], "file", n["summary"], n["stale"])
                out.append(brief.line(f"imported by `{n['of']}`: "))
            out.append("")
        if self.modules:
            out += ["# Enclosing modules", "", *(m.line() for m in self.modules), ""]
        if importers:
            out += ["# Importers", ""]
            by_file: dict[str, list[dict[str, Any]]] = {}
            for n in importers:
                by_file.setdefault(n["of"], []).append(n)
            for of, rows in by_file.items():
                for n in rows[:NAMED_IMPORTERS]:
                    brief = Brief(n["id"], "file", n["summary"], n["stale"])
                    out.append(brief.line(f"imports `{of}`: "))
                if len(rows) > NAMED_IMPORTERS:
                    out.append(f"- and {len(rows) - NAMED_IMPORTERS} more files import `{of}`")
            out.append("")
        if self.unknown:
            out += ["# Unknown paths", "", *(f"- `{u}`" for u in self.unknown), ""]
        return _bounded("\n".join(out), budget)


@attrs.frozen
class Impact:
    """The files that import ``id``'s file, directly (depth 1) or through others, nearest
    first, and the tests of all of them."""

    id: str
    files: list[dict[str, Any]]
    tests: list[str]
    truncated: bool
    resolved_from: str | None = None  # what was asked, when it was not the id itself

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "files": self.files,
            "tests": self.tests,
            "truncated": self.truncated,
        }
        if self.resolved_from is not None:
            data["resolved_from"] = self.resolved_from
        return data

    def to_markdown(self, budget: int | None = None) -> str:
        """The answer as Markdown within ``budget`` tokens (default: `MARKDOWN_BUDGET`
        characters): the direct importers, then the tests to run, then the farther importers,
        nearest first."""
        out = [f"# Impact of changing `{self.id}`", ""]
        if self.resolved_from is not None:
            out += [f"*Resolved from {md.code(self.resolved_from)}.*", ""]
        if not self.files:
            out += ["Nothing in the project imports it.", ""]
        depths = sorted({f["depth"] for f in self.files})
        for depth in depths:
            out += [f"## Depth {depth}", ""]
            out += [
                Brief(f["id"], "file", f["summary"], f["stale"]).line()
                for f in self.files
                if f["depth"] == depth
            ]
            out.append("")
            if depth == depths[0] and self.tests:
                out += ["## Tests to run", "", *(f"- `{t}`" for t in self.tests), ""]
        if self.tests and not depths:
            out += ["## Tests to run", "", *(f"- `{t}`" for t in self.tests), ""]
        if self.truncated:
            out += [f"*Only the nearest {MAX_IMPACT_FILES} files are listed.*", ""]
        return _bounded("\n".join(out), budget)


@attrs.frozen
class SearchHit:
    id: str
    type: str
    summary: str | None
    score: float
    why: tuple[str, ...] = ()  # the reasons its file was chosen

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "summary": self.summary,
            "score": self.score,
            "why": list(self.why),
        }


def hits_markdown(query: str, hits: Sequence[SearchHit]) -> str:
    """Search results as Markdown."""
    if not hits:
        return f"No node matches `{query}`.\n"
    lines = [f"# Search: `{query}`", ""]
    lines += [Brief(h.id, h.type, h.summary, False).line(f"{h.type} ") for h in hits]
    return _bounded("\n".join(lines) + "\n")


@attrs.frozen
class WikiReader:
    """Read-only answers over one open store (see the module docstring)."""

    store: Store

    def node(self, node_id: str) -> NodePage:
        data = _views.node_view(self.store, node_id)
        return NodePage(data, _views.node_markdown(data, source=None))

    def context(self, files: Sequence[str]) -> Context:
        unknown: list[str] = []
        file_ids: list[str] = []
        resolved_from: dict[str, str] = {}
        for given in list(dict.fromkeys(files))[:MAX_CONTEXT_FILES]:
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
        for file_id in file_ids:
            contained = self.store.edges(file_id, EdgeType.CONTAINS)
            functions = [e.target for e in contained if ":" in e.target]
            facts = self.store.file_facts(file_id)
            out_files.append(
                {
                    "id": file_id,
                    "prose": self._prose(file_id),
                    "source": _file_outline(facts),
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
                for edge in self.store.edges(file_id, relation):
                    if edge.target not in file_ids:
                        neighbours.append(
                            {"id": edge.target, "relation": str(relation), "of": file_id}
                        )
            for edge in self.store.edges(file_id, EdgeType.TEST_FILE):
                tests.append({"id": edge.target, "of": file_id})
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

    def impact(self, node_id: str) -> Impact:
        resolved = resolve(self.store, node_id)
        node = self.store.node(resolved.id)
        if node is None:
            raise _views.not_found(self.store, node_id)
        if node.type is NodeType.MODULE:
            prefix = "" if node.id == "." else f"{node.id}/"
            start = [n.id for n in self.store.nodes(NodeType.FILE) if n.id.startswith(prefix)]
        else:
            start = [node.path]
        depth = dict.fromkeys(start, 0)
        frontier = list(start)
        level = 0
        while frontier and len(depth) <= MAX_IMPACT_FILES + len(start):
            level += 1
            following = []
            for file_id in frontier:
                for edge in self.store.edges(file_id, EdgeType.IMPORTED_BY):
                    if edge.target not in depth:
                        depth[edge.target] = level
                        following.append(edge.target)
            frontier = sorted(following)
        importers = sorted((d, f) for f, d in depth.items() if d > 0)
        truncated = len(importers) > MAX_IMPACT_FILES
        importers = importers[:MAX_IMPACT_FILES]
        briefs = self.store.briefs(f for _, f in importers)
        tests = sorted(
            {
                e.target
                for f in [*start, *(f for _, f in importers)]
                for e in self.store.edges(f, EdgeType.TEST_FILE)
            }
        )
        files = [
            {
                "id": f,
                "depth": d,
                "summary": briefs.get(f, ("file", None, False))[1],
                "stale": briefs.get(f, ("file", None, False))[2],
            }
            for d, f in importers
        ]
        return Impact(
            id=node.id,
            files=files,
            tests=tests,
            truncated=truncated,
            resolved_from=resolved.resolved_from,
        )

    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        type: NodeType | None = None,
        path: str | None = None,
        tests: bool = False,
    ) -> list[SearchHit]:
        """Nodes for ``query``, best first (`pith._retrieve.search_hits`): source before tests
        unless asked; ``type``, ``path`` (a glob) and ``tests`` (test files only) filter."""
        limit = max(1, min(limit, MAX_SEARCH_LIMIT))
        found = search_hits(
            self.store, query, limit=limit, type=type, path=path, kinds=["test"] if tests else None
        )
        briefs = self.store.briefs(h.id for h in found)
        return [
            SearchHit(h.id, h.type, briefs.get(h.id, (h.type, None, False))[1], h.score, h.file.why)
            for h in found
        ]

    def ask(
        self,
        question: str,
        budget: int = DEFAULT_BUDGET,
        *,
        path: str | None = None,
        tests: bool = False,
    ) -> Briefing:
        """What to read for ``question``, packed to ``budget`` tokens (`pith._ask.brief`)."""
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
        """The file of the one node ``given`` names as a person types it (`pith._resolve`):
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
    return text.split("\n\n")[0].strip() if text else None


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
        out.append(f"`{source['signature']}`" + (f" ({where})" if where else ""))
    elif where:
        out.append(f"({where})")
    if prose is None and source.get("docstring"):
        out += ["", *(f"> {line}" if line else ">" for line in source["docstring"].split("\n"))]
    return [*out, ""] if out else []


def _prose_lines(prose: dict[str, Any] | None) -> list[str]:
    if prose is None:
        return ["*No prose yet: run `pith generate`.*", ""]
    out = ["> **Stale**: the source changed since this was written.", ""] if prose["stale"] else []
    out += [prose["summary"], "", prose["purpose"], ""]
    for gotcha in prose["gotchas"]:
        where = f" ({gotcha['location']})" if gotcha.get("location") else ""
        out.append(f"- **Gotcha**{where}: {gotcha['warning']}")
    return [*out, ""] if prose["gotchas"] else out


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
