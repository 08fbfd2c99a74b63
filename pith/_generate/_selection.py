"""Which nodes a generator run writes, split into its two phases."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import attrs

from .._config import read_target_config
from .._errors import UsageError
from .._models import EdgeType, Node, NodeType
from .._roles import Role, role_of
from .._store import Store

__all__ = ["FORCE_PENDING", "Selection", "select_nodes"]

FORCE_PENDING = "force_pending"  # meta key: when the unfinished `--force` run started


@attrs.frozen
class Selection:
    """The nodes a run will write, split by phase; phase two is ordered deepest first."""

    phase_one: tuple[Node, ...]
    phase_two: tuple[Node, ...]
    # module id -> the ids of its sub-modules that are also in this selection
    submodules: dict[str, tuple[str, ...]]
    # A package whose prose is current, chosen because its children's may change: its id ->
    # those children. It is written only if one of them is written during the run.
    if_children_change: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    # When the store was read for it: prose written after this is not what it selected.
    made_at: dt.datetime = attrs.field(factory=lambda: dt.datetime.now(dt.UTC))
    # A `--force` run (this one, or an earlier one that did not finish) rewrites every prose
    # written before this time; None: no force.
    forced_since: str | None = None
    # How many nodes are chosen only because that unfinished `--force` had not rewritten them
    # (their prose is current); `pith status` reports them.
    force_remaining: int = 0
    # Nodes the run would have written but leaves out because they are tests or examples (not
    # asked for with a path glob): (top-level directory, count), largest first.
    left_out: tuple[tuple[str, int], ...] = ()

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.phase_one + self.phase_two

    def __len__(self) -> int:
        return len(self.phase_one) + len(self.phase_two)


def select_nodes(
    store: Store,
    *,
    node_ids: Sequence[str] = (),
    force: bool = False,
    paths: Sequence[str] = (),
) -> Selection:
    """Choose the nodes to write (blocking: reads the store).

    By default, the nodes whose prose is missing or stale, and the packages above them (their
    prose is written from their children's summaries, which this run changes; a package that
    is current is written only if one of its children is: `Selection.if_children_change`).
    ``force``: every node. ``node_ids``: exactly those nodes, whether or not their prose is
    current (naming a node is asking for it); an unknown id raises `UsageError` with the closest
    ids.

    Which nodes are in scope: source code by default, and the tests and examples (see
    `pith._roles`) that ``[tool.pith] generate`` globs name; with ``paths`` (globs, a directory
    matching everything below it), exactly the nodes they match, tests or not.
    """
    made_at = dt.datetime.now(dt.UTC)
    nodes = store.nodes()
    if not node_ids:
        nodes, left_out = _in_scope(nodes, paths, _configured_globs(store))
    else:
        left_out = ()
    if node_ids:
        by_id = {node.id: node for node in nodes}
        for node_id in node_ids:
            if node_id not in by_id:
                close = store.suggest_ids(node_id)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise UsageError(f"no node with id {node_id!r}{hint} (see `pith list`)")
        chosen = [by_id[node_id] for node_id in dict.fromkeys(node_ids)]
    elif force:
        chosen = nodes
    else:
        chosen = []  # below
    contains = store.edges(type=EdgeType.CONTAINS)
    forced_since = made_at.isoformat() if force and not node_ids else None
    force_remaining = 0
    if_children_change: dict[str, tuple[str, ...]] = {}
    if not node_ids and not force:
        # An interrupted `--force` is continued: what it had not rewritten yet is chosen too.
        forced_since = store.get_meta(FORCE_PENDING)
        older = store.prose_written_before(forced_since) if forced_since else set()
        written_from = store.prose_source_hashes()
        chosen = [
            node
            for node in nodes
            if written_from.get(node.id) != node.source_hash or node.id in older
        ]
        force_remaining = sum(written_from.get(node.id) == node.source_hash for node in chosen)
        by_id = {node.id: node for node in nodes}
        parent = {  # packages only: a file's prose is not written from its functions'
            edge.target: edge.source
            for edge in contains
            if edge.source in by_id and by_id[edge.source].type is NodeType.MODULE
        }
        wanted = {node.id for node in chosen}
        ancestors: set[str] = set()
        for node in list(chosen):
            above = parent.get(node.id)
            while above is not None and above not in wanted:
                wanted.add(above)
                ancestors.add(above)
                chosen.append(by_id[above])
                above = parent.get(above)
        for edge in contains:
            if edge.source in ancestors and edge.target in wanted:
                if_children_change[edge.source] = (
                    *if_children_change.get(edge.source, ()),
                    edge.target,
                )
    chosen.sort(key=lambda node: node.id)
    modules = [node for node in chosen if node.type is NodeType.MODULE]
    module_ids = {node.id for node in modules}
    submodules: dict[str, tuple[str, ...]] = {}
    if modules:
        for edge in contains:
            if edge.source in module_ids and edge.target in module_ids:
                submodules[edge.source] = (*submodules.get(edge.source, ()), edge.target)
    return Selection(
        phase_one=tuple(node for node in chosen if node.type is not NodeType.MODULE),
        phase_two=tuple(sorted(modules, key=_depth_first)),
        submodules=submodules,
        if_children_change=if_children_change,
        made_at=made_at,
        forced_since=forced_since,
        force_remaining=force_remaining,
        left_out=left_out,
    )


def matches(path: str, globs: Iterable[str]) -> bool:
    """Whether ``path`` or a directory above it matches one of ``globs`` (fnmatch: ``*`` also
    crosses ``/``; ``tests/*`` matches the package ``tests`` too)."""
    candidates = [path, f"{path}/", *(str(p) for p in PurePosixPath(path).parents if str(p) != ".")]
    return any(
        fnmatch.fnmatchcase(candidate, glob.rstrip("/"))
        for glob in globs
        for candidate in candidates
    )


def _configured_globs(store: Store) -> tuple[str, ...]:
    """``[tool.pith] generate`` of the codebase: tests or examples to write prose for too."""
    if not store.root:
        return ()
    value = read_target_config(Path(store.root)).get("generate", ())
    return (value,) if isinstance(value, str) else tuple(value)


def _in_scope(
    nodes: list[Node], paths: Sequence[str], configured: Sequence[str]
) -> tuple[list[Node], tuple[tuple[str, int], ...]]:
    """The nodes a run may write, and what it leaves out (tests and examples) by default."""
    if paths:
        return [node for node in nodes if matches(node.path, paths)], ()
    kept: list[Node] = []
    left: dict[str, int] = {}
    for node in nodes:
        if role_of(node.path) is Role.SOURCE or matches(node.path, configured):
            kept.append(node)
        else:
            top = PurePosixPath(node.path).parts[0]
            top = f"{top}/" if "/" in node.path or node.type is NodeType.MODULE else top
            left[top] = left.get(top, 0) + 1
    return kept, tuple(sorted(left.items(), key=lambda item: (-item[1], item[0])))


def _depth_first(node: Node) -> tuple[int, str]:
    depth = -1 if node.id == "." else node.id.count("/")
    return (-depth, node.id)
