"""`pith export DIR`: the wiki as static Markdown files, ready to commit or publish.

``DIR/index.md`` holds the root module's prose (when there is one) and the module tree with
every module's and file's summary; every node has a page at ``DIR/<id>.md`` (the function
``a/b.py:C.f`` at ``DIR/a/b.py/C.f.md``; the root module ``.`` is ``index.md`` itself). Two
pages whose names differ only in case (``C.md`` and ``c.md``: one file on macOS and Windows)
are told apart by a suffix on the later id (``c~2.md``), as is a package named ``index``. Links
between pages are relative, so the tree works wherever it is copied.

DIR may hold a wiki committed by someone else, so nothing in it is taken on trust.
``DIR/.pith-export.json`` lists each page pith wrote with the SHA-256 of what it wrote; a file is
pith's only when it is a regular ``.md`` file inside DIR, reached through no symbolic link,
listed there, and still holds exactly that content. A rerun removes pith's pages of nodes that
are gone and replaces pith's own pages; any other file in the way (a user's ``index.md``, a page
someone edited, a symlink) stops the export before it writes anything (exit 2) unless
``overwrite`` is given; a symbolic link to a directory inside DIR is always refused. Pages are
written to a temporary file and renamed, so a planted symlink is replaced, never written through.
Every piece of text the codebase or a model wrote is made inert (`pith._wiki._markdown`). Blocking.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import attrs

from .._errors import UsageError
from .._models import EdgeType, Node, NodeType
from .._store import Store
from . import _markdown as md
from . import _views

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


def export_markdown(store: Store, directory: Path, *, overwrite: bool = False) -> ExportSummary:
    """Write every node's page and the index below ``directory`` (created if needed).

    `UsageError`, before anything is written, when a file that is not pith's is in the way
    (unless ``overwrite``) or a directory on the way is a symbolic link."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    directory = directory.resolve()  # DIR itself may be a link the user chose; nothing below it
    previous = _read_manifest(directory)
    nodes = store.nodes()
    paths = page_paths([n.id for n in nodes])
    _check_targets(directory, sorted(paths.values()), previous, overwrite=overwrite)
    written: dict[str, str] = {}
    briefs = store.briefs(n.id for n in nodes)
    for node in nodes:
        if node.id == ".":
            continue
        path = paths[node.id]
        data = _views.node_view(store, node.id)
        source: list[str] | None
        if node.type is NodeType.FILE:
            source = _views.symbols_markdown(_views.file_symbols(store, node.id))
        elif node.type is NodeType.MODULE:  # its README's opening, its docstring
            source = _views.module_source(store, data)
        else:
            source = None
        page = _views.node_markdown(data, source=source, link=_linker(path, paths))
        up = os.path.relpath(INDEX, os.path.dirname(path) or ".")
        written[path] = _write(directory, path, f"[index]({up})\n\n{page}")
    written[INDEX] = _write(directory, INDEX, _index(store, nodes, briefs, paths))
    removed = 0
    for stale in sorted(set(previous) - set(written)):
        if _is_ours(directory, stale, previous):
            (directory / stale).unlink()
            removed += 1
    manifest = {"version": 2, "pages": dict(sorted(written.items()))}
    _write(directory, MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return ExportSummary(directory=str(directory), pages=len(written), removed=removed)


def _check_targets(
    directory: Path, pages: list[str], previous: Mapping[str, str | None], *, overwrite: bool
) -> None:
    """Refuse, before writing anything, a symlinked or non-directory parent inside
    ``directory``, and (unless ``overwrite``) an existing file that is not pith's."""
    checked: set[str] = set()
    in_the_way: list[str] = []
    for page in [*pages, MANIFEST]:
        parts = PurePosixPath(page).parts
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in checked:
                continue
            checked.add(parent)
            mode = _lstat_mode(directory / parent)
            if mode is not None and stat.S_ISLNK(mode):
                raise UsageError(
                    f"{directory / parent} is a symbolic link: pith export writes only into "
                    "real directories inside DIR; remove the link or export elsewhere"
                )
            if mode is not None and not stat.S_ISDIR(mode):
                raise UsageError(
                    f"{directory / parent} is in the way of the pages below it: move it or "
                    "export elsewhere"
                )
        if page == MANIFEST:
            mode = _lstat_mode(directory / page)
            if mode is not None and not stat.S_ISREG(mode):
                raise UsageError(f"{directory / page} is not a regular file: remove it")
            continue
        if _lstat_mode(directory / page) is not None and not _is_ours(directory, page, previous):
            in_the_way.append(page)
    if in_the_way and not overwrite:
        more = f" and {len(in_the_way) - 1} more" if len(in_the_way) > 1 else ""
        raise UsageError(
            f"{directory / in_the_way[0]}{more} exist and were not written by pith export (or "
            "were edited since): move them, export elsewhere, or pass --overwrite to replace them"
        )
    for page in in_the_way:  # --overwrite: a directory in the way is the one thing left
        if stat.S_ISDIR(_lstat_mode(directory / page) or 0):
            raise UsageError(f"{directory / page} is a directory: move it or export elsewhere")


def _lstat_mode(path: Path) -> int | None:
    try:
        return path.lstat().st_mode
    except FileNotFoundError:
        return None


def _is_ours(directory: Path, page: str, previous: Mapping[str, str | None]) -> bool:
    """Whether ``page`` is a file pith wrote and nobody changed since: listed in the manifest,
    a safe relative ``.md`` path, reached through no link, a regular file with the listed
    content (a manifest of an older pith lists no digest: its header is checked instead)."""
    if page not in previous or not _safe_page(page):
        return False
    parts = PurePosixPath(page).parts
    for depth in range(1, len(parts) + 1):
        mode = _lstat_mode(directory.joinpath(*parts[:depth]))
        if mode is None or stat.S_ISLNK(mode):
            return False
    target = directory.joinpath(*parts)
    if not stat.S_ISREG(target.lstat().st_mode):
        return False
    digest = previous[page]
    try:
        if digest is None:
            with target.open("rb") as f:
                head = f.read(200)
            return head.startswith(b"[index](") or (
                page == INDEX and head.startswith(b"# ") and b": the wiki\n" in head
            )
        return _file_digest(target) == digest
    except OSError:
        return False


def _safe_page(page: str) -> bool:
    path = PurePosixPath(page)
    return (
        page.endswith(".md")
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in page
        and "\0" not in page
        and str(path) == page
    )


def _file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


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
    out = [f"# {md.line(Path(store.root or '.').name)}: the wiki", ""]
    if any(n.id == "." for n in nodes):
        root = _views.node_view(store, ".")
        source = _views.module_source(store, root)
        out += [_views.node_markdown(root, source=source, link=_linker(INDEX, paths)), ""]
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
        text = f": {md.line(summary)}" if summary else ""
        mark = " *(stale)*" if stale else ""
        label = md.code(f"{node.id}/" if node.type is NodeType.MODULE else node.id)
        out.append(f"{'  ' * depth}- [{label}]({md.target(paths[node.id])}){text}{mark}")
    return "\n".join(out) + "\n"


def _write(directory: Path, relative: str, text: str) -> str:
    """Write ``text`` at ``directory/relative`` through a temporary file and a rename (a link
    there is replaced, never followed); the SHA-256 of what was written."""
    target = directory / relative
    if not target.parent.resolve().is_relative_to(directory):
        raise UsageError(f"{relative!r} would leave {directory}")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    tmp = target.with_name(f".{target.name}.pith-tmp")
    tmp.unlink(missing_ok=True)
    try:
        with tmp.open("xb") as f:
            f.write(data)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or a Ctrl-C leaves no half page behind
        raise
    return hashlib.sha256(data).hexdigest()


def _read_manifest(directory: Path) -> dict[str, str | None]:
    """The pages an earlier export wrote, each with its digest (None: an older manifest that
    listed paths only). Whatever the file holds, only its well-formed entries count."""
    path = directory / MANIFEST
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if isinstance(data, list):
        return {p: None for p in data if isinstance(p, str)}
    pages = data.get("pages") if isinstance(data, dict) else None
    if not isinstance(pages, dict):
        return {}
    return {p: d for p, d in pages.items() if isinstance(p, str) and isinstance(d, str)}
