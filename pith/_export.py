"""`pith export DIR`: the wiki as static Markdown files, ready to commit or publish.

``DIR/index.md`` holds the root module's prose (when there is one) and the module tree with
every module's and file's summary; every node has a page at ``DIR/<id>.md`` (the function
``a/b.py:C.f`` at ``DIR/a/b.py/C.f.md``; the root module ``.`` is ``index.md`` itself). Two
pages whose names differ only in case (``C.md`` and ``c.md``: one file on macOS and Windows)
are told apart by a suffix on the later id (``c~2.md``), as is a package named ``index``. Links
between pages are relative, so the tree works wherever it is copied. ``DIR/.pith-export.json``
lists what pith wrote: a rerun removes the pages of nodes that are gone, and never a file pith
did not write. Blocking.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import attrs

from . import _views
from ._errors import UsageError
from ._models import EdgeType, Node, NodeType
from ._store import Store

__all__ = ["ExportSummary", "export_markdown", "page_path", "page_paths"]

MANIFEST = ".pith-export.json"
INDEX = "index.md"


@attrs.frozen
class ExportSummary:
    directory: str
    pages: int
    removed: int


def page_path(node_id: str) -> str:
    """The page of a node, relative to the export directory (posix)."""
    if node_id == ".":
        return INDEX
    file_id, _, qualname = node_id.partition(":")
    path = f"{file_id}/{qualname}.md" if qualname else f"{node_id}.md"
    parts = PurePosixPath(path).parts
    if PurePosixPath(path).is_absolute() or ".." in parts:
        raise ValueError(f"node id {node_id!r} would leave the export directory")
    return path


def page_paths(node_ids: list[str]) -> dict[str, str]:
    """Every node's page (see `page_path`), no two of them one file on a file system that
    ignores case: the later id (in sorted order) gets a ``~N`` suffix."""
    taken = {INDEX}
    paths = {".": INDEX}
    for node_id in sorted(set(node_ids) - {"."}):
        path = page_path(node_id)
        stem, n = path.removesuffix(".md"), 1
        while path.casefold() in taken:
            n += 1
            path = f"{stem}~{n}.md"
        taken.add(path.casefold())
        paths[node_id] = path
    return paths


def export_markdown(store: Store, directory: Path) -> ExportSummary:
    """Write every node's page and the index below ``directory`` (created if needed)."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(directory)
    nodes = store.nodes()
    paths = page_paths([n.id for n in nodes])
    written: list[str] = []
    briefs = store.briefs(n.id for n in nodes)
    for node in nodes:
        if node.id == ".":
            continue
        path = paths[node.id]
        data = _views.node_view(store, node.id)
        page = _views.node_markdown(data, link=_linker(path, paths))
        up = os.path.relpath(INDEX, os.path.dirname(path) or ".")
        _write(directory, path, f"[index]({up})\n\n{page}")
        written.append(path)
    _write(directory, INDEX, _index(store, nodes, briefs, paths))
    written.append(INDEX)
    removed = 0
    for stale in sorted(set(previous) - set(written)):
        target = directory / stale
        if target.is_file():
            target.unlink()
            removed += 1
    (directory / MANIFEST).write_text(json.dumps(sorted(written), indent=1) + "\n")
    return ExportSummary(directory=str(directory), pages=len(written), removed=removed)


def _linker(from_page: str, paths: dict[str, str]) -> _views.Linker:
    base = os.path.dirname(from_page) or "."

    def link(node_id: str) -> str:
        return os.path.relpath(paths.get(node_id) or page_path(node_id), base)

    return link


def _index(
    store: Store,
    nodes: list[Node],
    briefs: dict[str, tuple[str, str | None, bool]],
    paths: dict[str, str],
) -> str:
    out = [f"# {Path(store.root or '.').name}: the wiki", ""]
    if any(n.id == "." for n in nodes):
        root = _views.node_view(store, ".")
        out += [_views.node_markdown(root, link=_linker(INDEX, paths)), ""]
    out += ["## Modules and files", ""]
    parent = {e.target: e.source for e in store.edges(type=EdgeType.CONTAINS)}
    for node in sorted(nodes, key=lambda n: n.id):
        if node.type is NodeType.FUNCTION or node.id == ".":
            continue
        depth = 0
        current = parent.get(node.id)
        while current is not None and current != ".":
            depth += 1
            current = parent.get(current)
        _, summary, stale = briefs.get(node.id, ("", None, False))
        text = f": {summary}" if summary else ""
        mark = " *(stale)*" if stale else ""
        label = f"**{node.id}/**" if node.type is NodeType.MODULE else node.id
        out.append(f"{'  ' * depth}- [{label}]({paths[node.id]}){text}{mark}")
    return "\n".join(out) + "\n"


def _write(directory: Path, relative: str, text: str) -> None:
    target = (directory / relative).resolve()
    if not target.is_relative_to(directory.resolve()):
        raise ValueError(f"{relative!r} would leave {directory}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _read_manifest(directory: Path) -> list[str]:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [p for p in data if isinstance(p, str)] if isinstance(data, list) else []
