"""What ``pith status``, ``pith list`` and ``pith show`` print: the JSON documents of the contract
(docs/usage.md) and their readable text/Markdown forms. Blocking (reads the store)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from .._errors import NotFoundError
from .._generate._compact import compact_header
from .._models import ClassFacts, NodeType, converter
from .._roles import LEFT_OUT, LEFT_OUT_PLURAL, language_of, source_first
from .._store import Store, Symbol
from .._words import listed, plural
from . import _markdown as md
from ._docstrings import first_paragraph
from ._resolve import resolve

Linker = Callable[[str], str]  # node id -> the URL of its page
EDGES_SHOWN = 15  # per edge type on a Markdown page; --json has them all
LIST_SHOWN = 5  # items of a list fact (authors) on a Markdown page
SYMBOLS_SHOWN = 200  # on a file's Markdown page
_SUGGESTED = 10

__all__ = [
    "Linker",
    "empty_status",
    "file_symbols",
    "list_text",
    "node_list",
    "node_markdown",
    "node_page",
    "node_view",
    "not_found",
    "page_markdown",
    "readme_opening",
    "resolve_symbol",
    "source_facts",
    "status",
    "status_text",
    "symbol_view",
    "symbols_markdown",
]


def status(store: Store) -> dict[str, Any]:
    """``{"root", "nodes": {"file", "module", "function"}, "prose": {"current", "stale",
    "missing"}, "needs_build", "orphaned_prose", "runs": [{"owner", "pid", "host", "started",
    "heartbeat", "selected", "claimed"}], "next_generate": null | {"nodes",
    "if_children_change", "forced_since", "force_remaining", "left_out"}}`` (``runs``: generator
    runs in progress on this store; ``next_generate``: what a plain ``pith generate`` selects
    now, by the generator's own selection, so ``nodes`` is the count ``--dry-run`` gives; null
    until the graph is built from the current facts)."""
    from .._generate._leases import runs_in_progress
    from .._generate._selection import select_nodes

    counts = store.node_counts()
    needs_build = store.needs_build
    next_generate = None
    if sum(counts.values()) and not needs_build:
        selection = select_nodes(store)
        next_generate = {
            "nodes": len(selection),
            "if_children_change": len(selection.if_children_change),
            "forced_since": selection.forced_since,
            "force_remaining": selection.force_remaining,
            "left_out": sum(count for _, count in selection.left_out),
        }
    return {
        "root": store.root,
        "nodes": {t.value: counts[t] for t in NodeType},
        "prose": store.prose_counts(),
        "needs_build": needs_build,
        "orphaned_prose": store.orphaned_prose(),
        "runs": [run.to_json() for run in runs_in_progress(store)],
        "next_generate": next_generate,
    }


def empty_status() -> dict[str, Any]:
    """The status before anything was extracted."""
    return {
        "root": None,
        "nodes": {t.value: 0 for t in NodeType},
        "prose": {"current": 0, "stale": 0, "missing": 0},
        "needs_build": False,
        "orphaned_prose": 0,
        "runs": [],
        "next_generate": None,
    }


def status_text(data: dict[str, Any], *, no_store: str | None = None) -> str:
    """The status as text; ``no_store``: why there is no store (where pith looked)."""
    nodes, prose = data["nodes"], data["prose"]
    lines = [f"store: {data.get('data_dir') or f'none ({no_store})'}"]
    lines += [
        f"root:  {data['root'] or '(nothing extracted yet)'}",
        f"nodes: {plural(nodes['file'], 'file')}, {plural(nodes['module'], 'module')}, "
        f"{plural(nodes['function'], 'function')}",
        f"prose: {prose['current']} current, {prose['stale']} stale, {prose['missing']} missing",
    ]
    if data["orphaned_prose"]:
        lines.append(
            f"kept:  the prose of {plural(data['orphaned_prose'], 'node')} that no longer exist "
            "(it comes back if they do; `pith prune` deletes it)"
        )
    for run in data["runs"]:
        lines.append(
            f"run:   {run['owner']} (pid {run['pid']} on {run['host']}) since {run['started']}:"
            f" {plural(run['claimed'], 'node')} claimed of {run['selected']} selected"
        )
    pending = data["next_generate"]
    if pending and pending["force_remaining"]:
        lines.append(
            f"force: the `pith generate --force` started {pending['forced_since']} did not "
            f"finish: {plural(pending['force_remaining'], 'node')} still to rewrite"
        )
    if data["root"] is None:
        lines.append("next:  pith extract PATH")
    elif sum(nodes.values()) == 0 or data["needs_build"]:
        lines.append("next:  pith build (the facts changed since the last build)")
    elif pending and pending["nodes"]:
        maybe = pending["if_children_change"]
        only_if = f", {maybe} of them only if something below is written" if maybe else ""
        lines.append(f"next:  pith generate ({plural(pending['nodes'], 'node')}{only_if})")
    if pending and pending.get("left_out"):
        left = plural(pending["left_out"], LEFT_OUT, LEFT_OUT_PLURAL)
        lines.append(f"left:  {left} get prose only when asked (pith generate --path GLOB)")
    return "\n".join(lines)


def node_list(store: Store, type: NodeType | None = None) -> list[dict[str, Any]]:
    """``[{"id", "type", "path", "summary": null | str, "stale": bool}]`` sorted by id."""
    summaries = store.prose_summaries()
    rows = []
    for node_id, node_type, path in store.node_index(type):
        summary, stale = summaries.get(node_id, (None, False))
        rows.append(
            {
                "id": node_id,
                "type": node_type.value,
                "path": path,
                "summary": summary,
                "stale": stale,
            }
        )
    return rows


def list_text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        line = f"{row['type']:<8} {row['id']}"
        if row["summary"]:
            line += f"  -- {row['summary']}" + ("  (stale)" if row["stale"] else "")
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def _largest_first(store: Store, packages: list[str]) -> list[str]:
    """The overview's top packages as a newcomer reads them: the code the project ships, the
    largest first, then its tooling, tests and docs (zod's `packages/zod` had come fifth, after
    `packages/bench` and `packages/docs`, in path order)."""
    wanted = set(packages)
    lines = {
        n.id: int(n.metadata.get("lines") or 0)
        for n in store.nodes(NodeType.MODULE)
        if n.id in wanted
    }
    return sorted(packages, key=lambda p: (source_first(p)[0], -lines.get(p, 0), p))


def node_view(store: Store, node_id: str, *, with_source: bool = False) -> dict[str, Any]:
    """``{"id", "type", "path", "name", "metadata", "edges": [{"type", "target"}], "prose":
    null | {...the Prose fields, "stale"}}``, and ``"source"`` (see `source_facts`) when asked;
    ``"resolved_from"`` when ``node_id`` was not the id itself but named it (``./pkg/a.py``,
    ``pkg.a``, ``a.py``, a bare symbol name: `pith._wiki._resolve`); `NotFoundError` naming the
    closest ids when it names no node or several."""
    node = store.node(node_id)
    resolved_from: str | None = None
    if node is None:
        # A path, dotted module path or unique suffix of a node (`pith._wiki._resolve`), else a
        # symbol by id or bare name.
        try:
            resolved = resolve(store, node_id)
        except NotFoundError:
            resolved = None
        if resolved is not None:
            node = store.node(resolved.id)
            resolved_from = resolved.resolved_from
    if node is None:
        symbol, resolved_from = resolve_symbol(store, node_id)
        node = store.node(symbol.id)
        if node is None:
            view = symbol_view(store, symbol, with_source=with_source)
            if resolved_from is not None:
                view["resolved_from"] = resolved_from
            return view
    node_id = node.id
    prose = store.prose(node_id)
    prose_data: dict[str, Any] | None = None
    if prose is not None:
        prose_data = converter.unstructure(prose)
        prose_data["stale"] = prose.source_hash != node.source_hash
        if prose.generated_at is not None:
            prose_data["generated_at"] = prose.generated_at.isoformat(timespec="seconds")
    metadata = node.metadata
    if metadata.get("packages"):
        metadata = {**metadata, "packages": _largest_first(store, metadata["packages"])}
    data: dict[str, Any] = {
        "id": node.id,
        "type": node.type.value,
        "path": node.path,
        "name": node.name,
        "metadata": metadata,
        "edges": [{"type": e.type.value, "target": e.target} for e in store.edges(node_id)],
        "prose": prose_data,
    }
    if node.type is NodeType.FUNCTION:
        own = store.symbol(node.id)
        data["kind"] = str(own.kind) if own else node.metadata.get("kind", "function")
        data["references"] = store.reference_count(node.id)
    if resolved_from is not None:
        data["resolved_from"] = resolved_from
    if with_source:
        data["source"] = source_facts(store, data)
    return data


def resolve_symbol(store: Store, given: str) -> tuple[Symbol, str | None]:
    """The symbol ``given`` names: its id (``pkg/mod.py:Client.send``), its id with the file
    typed as `resolve` takes a file (``mod.py:Client.send``, ``pkg.mod:Client.send``), or a
    bare name (``send``, ``Client.send``) that exactly one symbol has; then also ``given`` as
    ``resolved_from``. `NotFoundError` naming the candidates otherwise."""
    text = given.removeprefix("./")
    symbol = store.symbol(text)
    if symbol is not None:
        return symbol, None
    file_part, colon, qualname = text.partition(":")
    if colon and file_part and qualname:
        try:
            file_id = resolve(store, file_part).id
        except NotFoundError:
            file_id = None
        symbol = store.symbol(f"{file_id}:{qualname}") if file_id is not None else None
        if symbol is not None:
            return symbol, given
    if ":" not in text and "/" not in text:
        named = store.symbols_named(text, limit=_SUGGESTED + 1)
        if len(named) == 1:
            return named[0], given
        if named:
            ids = [s.id for s in named[:_SUGGESTED]]
            more = " and more" if len(named) > _SUGGESTED else ""
            raise NotFoundError(
                f"{given!r} names {len(named)}{more} symbols; give one id: {', '.join(ids)}",
                suggestions=ids,
            )
    raise not_found(store, given)


def symbol_view(store: Store, symbol: Symbol, *, with_source: bool = False) -> dict[str, Any]:
    """A symbol without prose of its own (see docs/reading.md, "Symbols"): ``{"id", "type":
    "symbol", "kind", "path", "name", "metadata": {"start_line", "end_line", "lines"},
    "edges": [], "prose": null, "parent": {"id", "summary"}, "references"}``, and
    ``"source"`` when asked."""
    parent = _parent_node(store, symbol)
    summary = store.briefs([parent]).get(parent, ("", None, False))[1]
    data: dict[str, Any] = {
        "id": symbol.id,
        "type": "symbol",
        "kind": str(symbol.kind),
        "path": symbol.path,
        "name": symbol.qualname,
        "metadata": {
            "start_line": symbol.start_line,
            "end_line": symbol.end_line,
            "lines": symbol.end_line - symbol.start_line + 1,
        },
        "edges": [],
        "prose": None,
        "parent": {"id": parent, "summary": summary},
        "references": store.reference_count(symbol.id),
    }
    if with_source:
        out: dict[str, Any] = {"signature": symbol.signature}
        if symbol.docstring:
            out["docstring"] = first_paragraph(symbol.docstring, one_line=False)
        facts = store.file_facts(symbol.path)
        if facts is not None:
            out["key_statements"] = [
                {"line": k.line, "kind": k.kind, "text": k.text}
                for k in facts.key_statements
                if symbol.start_line <= k.line <= symbol.end_line
            ][:20]
        members = [
            s.qualname.rpartition(".")[2]
            for s in store.symbols_in(symbol.path)
            if s.qualname.rpartition(".")[0] == symbol.qualname
        ]
        if members:
            out["members"] = members
        data["source"] = {key: value for key, value in out.items() if value}
    return data


def _parent_node(store: Store, symbol: Symbol) -> str:
    """The nearest node that holds ``symbol``: an enclosing function node, else its file."""
    qualname = symbol.qualname
    while "." in qualname:
        qualname = qualname.rpartition(".")[0]
        if store.node(f"{symbol.path}:{qualname}") is not None:
            return f"{symbol.path}:{qualname}"
    return symbol.path


def not_found(store: Store, node_id: str) -> NotFoundError:
    """The error for an unknown id, naming the closest ids."""
    close = store.suggest_ids(node_id)
    hint = f"; did you mean: {', '.join(close)}" if close else "; see `pith list`"
    return NotFoundError(f"no node {node_id!r}{hint}", suggestions=close)


def node_page(store: Store, node_id: str) -> str:
    """The Markdown page of ``pith show``: the node view plus what the source says."""
    return page_markdown(node_view(store, node_id, with_source=True))


def module_source(store: Store, data: dict[str, Any]) -> list[str] | None:
    """What a package's (or the root's) README opening and docstring say, as `show` gives
    them, for a page of `data` (a module's `node_view`); None when they say nothing."""
    said = source_facts(store, data)
    return _source_markdown(said) if said else None


def page_markdown(data: dict[str, Any]) -> str:
    """The Markdown page of a `node_view` made ``with_source``."""
    fence = (language_of(data.get("path") or "") or "python").lower()
    return node_markdown(data, source=_source_markdown(data["source"], fence))


def source_facts(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """What the source says of a node (``show --json``'s ``"source"``): its signature and the
    other definitions of its name, methods, exports, README, docstring, key statements, and why
    it was not parsed, if it was not. Empty fields are left out."""
    if data["type"] == NodeType.MODULE.value:
        said: dict[str, str] = {}
        readme = store.readme("" if data["id"] == "." else data["id"])
        if readme is not None:
            said["readme"] = readme.name
            said["readme_opening"] = readme_opening(readme.text)
        # A package's own docstring: its `__init__.py`'s (or `index.ts`'s), as search has it.
        said["docstring"] = first_paragraph(
            store.docstrings([data["id"]]).get(data["id"]), one_line=False
        )
        return {key: value for key, value in said.items() if value}
    facts = store.file_facts(data["path"])
    if facts is None:
        return {}
    out: dict[str, Any] = {}
    docstring = facts.docstring
    first, last = 1, facts.lines
    if data["type"] == NodeType.FUNCTION.value:
        # Here, not at the top: `list`, `status` and `show` of a file or module start faster
        # without the prompt builder.
        from .._generate._prompts import variant_lines

        definition = facts.definition(data["name"])
        if definition is not None:
            out["signature"] = definition.header
            if isinstance(definition, ClassFacts):
                out["methods"] = [m.name for m in definition.methods]
            out["variants"] = variant_lines(definition)
            docstring = definition.docstring
            first, last = definition.start_line, definition.end_line
    else:
        out["exports"] = list(facts.exports)
        out["symbols"] = file_symbols(store, facts.path)
    out["problem"] = facts.problem
    out["docstring"] = first_paragraph(docstring, one_line=False) or None
    out["key_statements"] = [
        {"line": k.line, "kind": k.kind, "text": k.text}
        for k in facts.key_statements
        if first <= k.line <= last
    ][:20]
    return {key: value for key, value in out.items() if value}


_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
# [text](url), [text][ref], and a shortcut reference, [text] (flask's "[WSGI]").
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\[[^\]]*\]|\[([^\]]+)\](?![(\[:])")
_TAG = re.compile(r"<[^>]{0,500}>")
# A fenced code block, whole: its blank lines would otherwise split it into "paragraphs".
_FENCED = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.MULTILINE | re.DOTALL)
_WORD = re.compile(r"[^\W\d_]{2,}")
OPENING_CHARS = 700  # of a README's opening prose, shown where a package has no prose yet
OPENING_WORDS = 8  # a paragraph with fewer words is a badge row, a logo or a link list


def readme_opening(text: str) -> str:
    """The first paragraphs of prose of a README (Markdown): badges, images, HTML, headings,
    code blocks and lists of links left out, a link kept as its text; at most `OPENING_CHARS`
    characters, "" when it has none. What a reader of a package without prose learns first."""
    kept: list[str] = []
    size = 0
    for paragraph in re.split(r"\n\s*\n", _FENCED.sub("", text)):
        if paragraph.lstrip().startswith(("#", "```", "~~~", "|", "=", "---")):
            continue
        unimaged = _IMAGE.sub(" ", paragraph)
        linkless = _TAG.sub(" ", _LINK.sub(lambda m: m[1] or m[2] or m[3] or "", unimaged))
        # `&nbsp;&bull;&nbsp;` between links is no word of prose.
        plain = " ".join(html.unescape(linkless).split())
        words = len(_WORD.findall(plain))
        linked = sum(
            len(_WORD.findall(m[1] or m[2] or m[3] or "")) for m in _LINK.finditer(unimaged)
        )
        if words < OPENING_WORDS or linked * 2 > words:  # too short, or a list of links
            continue
        kept.append(plain)
        size += len(plain)
        if size >= OPENING_CHARS // 2:
            break
    opening = "\n\n".join(kept)
    return opening if len(opening) <= OPENING_CHARS else opening[: OPENING_CHARS - 1] + "…"


def _source_markdown(source: dict[str, Any], fence: str = "python") -> list[str]:
    out: list[str] = []
    if "readme" in source:
        out += [f"README: {md.code(source['readme'])}", ""]
    if "readme_opening" in source:
        out += [md.text(source["readme_opening"]), ""]
    if "signature" in source:
        out += [*md.fence(source["signature"], fence), ""]
    if "methods" in source:
        out += [f"Methods: {', '.join(md.code(m) for m in source['methods'])}", ""]
    if "members" in source:
        out += [f"Members: {', '.join(md.code(m) for m in source['members'])}", ""]
    if "variants" in source:
        out += [*(md.line(v) for v in source["variants"]), ""]
    if "exports" in source:
        out += [f"Exports: {', '.join(md.code(name) for name in source['exports'][:30])}", ""]
    if "problem" in source:
        out += [f"Not parsed: {md.line(source['problem'])}", ""]
    if "docstring" in source:
        out += [md.text(source["docstring"]), ""]
    if "key_statements" in source:
        out += ["## Key statements", ""]
        out += [
            f"- line {k['line']} ({md.line(k['kind'])}): {md.code(k['text'])}"
            for k in source["key_statements"]
        ]
        out.append("")
    if "symbols" in source:
        out += symbols_markdown(source["symbols"])
    return out


def file_symbols(store: Store, file_id: str) -> list[dict[str, Any]]:
    """A file's symbols, in source order: ``[{"id", "kind", "lines", "signature"}]``."""
    return [
        {
            "id": symbol.id,
            "kind": str(symbol.kind),
            "lines": [symbol.start_line, symbol.end_line],
            "signature": symbol.signature,
        }
        for symbol in store.symbols_in(file_id)
    ]


def symbols_markdown(symbols: list[dict[str, Any]]) -> list[str]:
    """A file's symbols (``source["symbols"]`` of `source_facts`) as a Markdown section."""
    if not symbols:
        return []
    out = ["## Symbols", ""]
    for symbol in symbols[:SYMBOLS_SHOWN]:
        first, last = symbol["lines"]
        where = f"{md.code(symbol['id'])}, {first}-{last}"
        # A listing: `Annotated[X, Doc("...")]` and long defaults elided (`show ID` has it whole).
        signature = compact_header(symbol["signature"])
        out.append(f"- {symbol['kind']} {md.code(signature)} ({where})")
    if len(symbols) > SYMBOLS_SHOWN:
        out.append(f"- ... and {len(symbols) - SYMBOLS_SHOWN} more (see `--json`)")
    return [*out, ""]


def node_markdown(
    data: dict[str, Any], *, source: list[str] | None = None, link: Linker | None = None
) -> str:
    """A node view (see `node_view`) as a Markdown page; ``source``: Markdown lines about the
    source, shown after the prose; ``link``: the URL of another node's page, to link edges.
    Everything the codebase or the model wrote is made inert (`pith._wiki._markdown`)."""
    kind = data.get("kind", data["type"])
    out = [f"# {md.code(data['id'])}", "", f"*{kind}* · {md.code(data['path'])}", ""]
    if "resolved_from" in data:
        out += [f"*(resolved from {md.code(data['resolved_from'])})*", ""]
    prose = data["prose"]
    if data["type"] == "symbol":
        parent = data["parent"]
        out += [
            f"*No prose of its own: its facts below, and its parent {md.code(parent['id'])}: "
            f"{md.line(parent['summary'] or '(no prose yet)')}*",
            "",
        ]
    elif prose is None:
        out += ["*No prose yet: run `pith generate`.*", ""]
    else:
        if prose["stale"]:
            out += ["> **Stale**: the source changed since this was written.", ""]
        out += [md.text(prose["summary"]), "", "## Purpose", "", md.text(prose["purpose"]), ""]
        if prose["gotchas"]:
            out += ["## Gotchas", ""]
            for gotcha in prose["gotchas"]:
                where = f" ({md.line(gotcha['location'])})" if gotcha["location"] else ""
                evidence = f" -- {md.code(gotcha['evidence'])}" if gotcha["evidence"] else ""
                out.append(f"- {md.line(gotcha['warning'])}{where}{evidence}")
            out.append("")
        for key, title in (
            ("key_exports", "Key exports"),
            ("patterns", "Patterns"),
            ("key_files", "Key files"),
            ("public_api", "Public API"),
        ):
            if prose.get(key):
                out += [f"## {title}", "", *(f"- {md.line(item)}" for item in prose[key]), ""]
        for key, title in (("quick_start", "Quick start"), ("data_flow", "Data flow")):
            if prose.get(key):
                out += [f"## {title}", "", md.text(prose[key]), ""]
        model = md.line(prose["model"] or "an unknown model")
        out += [f"*Written by {model} at {prose['generated_at']}.*", ""]
    if source:
        out += ["## Source", "", *source]
    if data.get("references"):
        command = md.code(f"pith callers {data['id']}")
        out += [f"Used in {plural(data['references'], 'place')}: {command}.", ""]
    out += ["## Facts", ""]
    for key, value in data["metadata"].items():
        if isinstance(value, list):
            # A file of a big project has had a hundred authors: the page names the first
            # (most commits first), --json has them all.
            value = listed(value, LIST_SHOWN)
        elif value is None:
            value = "-"
        out.append(f"- **{md.line(key)}**: {md.line(value)}")
    out.append("")
    if data["edges"]:
        out += ["## Edges", ""]
        shown_per_type: dict[str, int] = {}
        for edge in data["edges"]:
            count = shown_per_type[edge["type"]] = shown_per_type.get(edge["type"], 0) + 1
            if count > EDGES_SHOWN:
                continue
            target = edge["target"]
            shown = f"[{md.code(target)}]({md.target(link(target))})" if link else md.code(target)
            out.append(f"- {edge['type']} {shown}")
        for kind, count in shown_per_type.items():
            if count > EDGES_SHOWN:
                out.append(f"- ... and {count - EDGES_SHOWN} more {md.code(kind)} (see `--json`)")
        out.append("")
    return "\n".join(out)
