"""Which nodes a run writes, split into its two phases, held compactly until a batch needs them."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import overload

import attrs

from .._config import read_target_config
from .._errors import UsageError
from .._models import EdgeType, Node, NodeType
from .._roles import Role, is_development_script, left_out_group, role_of
from .._store import Store

__all__ = ["FORCE_PENDING", "NodeList", "Selection", "select_nodes"]

FORCE_PENDING = "force_pending"  # meta key: when the unfinished `--force` run started

_TYPES = tuple(NodeType)
_TYPE_CODES = {node_type: code for code, node_type in enumerate(_TYPES)}
_HASH_BYTES = 32  # a source hash is 64 hex digits: held as 32 bytes
# Rows read from the store at a time: what a selection of 100,000 nodes leaves behind in memory
# is its ids and hashes, not every row it read.
_ROWS = 2000

# (id, type, path, name, source_hash): a node without its metadata (which no prompt reads).
_Row = tuple[str, str, str, str, str]


class NodeList(Sequence[Node]):
    """Nodes held compactly: each one's id, a byte for its type and 32 bytes for its source
    hash (about 110 bytes for a node of 100,000, against 1.4 kB for a `Node` with its
    metadata). A node is made when it is read: the same id, type, path, name and source hash,
    without the metadata (which no prompt reads). A path or name that is not the one its id
    implies, or a hash that is not 64 hex digits, is kept as it is."""

    __slots__ = ("_hashes", "_ids", "_odd", "_types")

    def __init__(self, rows: Iterable[_Row] = ()) -> None:
        self._ids: list[str] = []
        self._types = bytearray()
        self._hashes = bytearray()
        # index -> (path, name, source hash) of a node that does not follow the rules above
        self._odd: dict[int, tuple[str, str, str]] = {}
        for row in rows:
            self.append(row)

    def append(self, row: _Row) -> None:
        id_, type_, path, name, source_hash = row
        node_type = NodeType(type_)
        index = len(self._ids)
        self._ids.append(id_)
        self._types.append(_TYPE_CODES[node_type])
        packed = _packed(source_hash)
        self._hashes += packed or bytes(_HASH_BYTES)
        if packed is None or (path, name) != _implied(id_, node_type):
            self._odd[index] = (path, name, source_hash)

    @property
    def ids(self) -> Sequence[str]:
        """The nodes' ids, in order (made without making the nodes)."""
        return self._ids

    def heads(self) -> Iterator[tuple[str, NodeType]]:
        """``(id, type)`` of each node, in order, without making the nodes."""
        return zip(self._ids, (_TYPES[code] for code in self._types), strict=True)

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Node: ...

    @overload
    def __getitem__(self, index: slice) -> NodeList: ...

    def __getitem__(self, index: int | slice) -> Node | NodeList:
        if isinstance(index, slice):
            part = NodeList()
            for i in range(*index.indices(len(self._ids))):
                part.append(self._row(i))
            return part
        return self._node(range(len(self._ids))[index])

    def __iter__(self) -> Iterator[Node]:
        return map(self._node, range(len(self._ids)))

    def __add__(self, other: NodeList) -> NodeList:
        both = NodeList()
        for part in (self, other):
            for i in range(len(part)):
                both.append(part._row(i))
        return both

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NodeList):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable (`append`), as a list

    def __repr__(self) -> str:
        return f"NodeList({len(self)} nodes)"

    def _row(self, index: int) -> _Row:
        id_ = self._ids[index]
        node_type = _TYPES[self._types[index]]
        odd = self._odd.get(index)
        if odd is not None:
            return (id_, str(node_type), *odd)
        start = index * _HASH_BYTES
        source_hash = self._hashes[start : start + _HASH_BYTES].hex()
        return (id_, str(node_type), *_implied(id_, node_type), source_hash)

    def _node(self, index: int) -> Node:
        id_, type_, path, name, source_hash = self._row(index)
        return Node(id_, NodeType(type_), path, name, source_hash)


def _implied(id_: str, node_type: NodeType) -> tuple[str, str]:
    """The path and name a node's id implies: ``path:qualname`` for a function, a path for a
    file or a module (named by its last part)."""
    if node_type is NodeType.FUNCTION:
        path, _, name = id_.rpartition(":")
        return path, name
    return id_, id_.rpartition("/")[2]


def _packed(source_hash: str) -> bytes | None:
    if len(source_hash) != 2 * _HASH_BYTES:
        return None
    try:
        packed = bytes.fromhex(source_hash)
    except ValueError:
        return None
    return packed if packed.hex() == source_hash else None  # lowercase only: it reads back


@attrs.frozen
class Selection:
    """The nodes a run will write, split by phase; phase two is ordered deepest first. The
    nodes are held compactly (see `NodeList`): a run makes a node's `Node` when its batch is
    prepared."""

    phase_one: NodeList
    phase_two: NodeList
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
    # Nodes the run would have written but leaves out because they are tests, examples or
    # scripts (not asked for with a path glob): (`pith._roles.left_out_group`, count), largest
    # first.
    left_out: tuple[tuple[str, int], ...] = ()

    @property
    def nodes(self) -> NodeList:
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
    if node_ids:
        return _named(store, node_ids, made_at)
    configured = _configured_globs(store)
    # An interrupted `--force` is continued: what it had not rewritten yet is chosen too.
    forced_since = made_at.isoformat() if force else store.get_meta(FORCE_PENDING)
    older = store.prose_written_before(forced_since) if forced_since and not force else set()
    written_from = {} if force else store.prose_source_hashes()
    phase_one = NodeList()
    modules: dict[str, _Row] = {}  # every module in scope: the packages above come from them
    chosen_modules: list[str] = []
    wanted: set[str] = set()
    force_remaining = 0
    left: dict[str, int] = {}
    # The last path told, and whether it is in scope: a file's functions share its path and
    # follow it (rows come by id), and telling a path's role takes its parents.
    last_path, in_scope, group = "", True, ""
    for row in _rows(store):
        id_, type_, path, _, source_hash = row
        if path != last_path:
            last_path, in_scope = path, _in_scope(path, paths, configured)
            group = "" if in_scope or paths else left_out_group(path)
        if not in_scope:
            if group:  # counted by the directory that leaves it out (not with `paths`)
                left[group] = left.get(group, 0) + 1
            continue
        if type_ == NodeType.MODULE:
            modules[id_] = row
        if not force:
            current = written_from.get(id_) == source_hash
            if current and id_ not in older:
                continue
            force_remaining += current
            wanted.add(id_)
        if type_ == NodeType.MODULE:
            chosen_modules.append(id_)
        else:
            phase_one.append(row)
    if_children_change: dict[str, tuple[str, ...]] = {}
    if not force:
        # The packages above what is chosen: their prose is written from their children's
        # summaries, which this run changes.
        contains = store.edges(type=EdgeType.CONTAINS)
        parent = {edge.target: edge.source for edge in contains if edge.source in modules}
        ancestors: set[str] = set()
        for node_id in list(wanted):
            above = parent.get(node_id)
            while above is not None and above not in wanted:
                wanted.add(above)
                ancestors.add(above)
                chosen_modules.append(above)
                above = parent.get(above)
        for edge in contains:
            if edge.source in ancestors and edge.target in wanted:
                if_children_change[edge.source] = (
                    *if_children_change.get(edge.source, ()),
                    edge.target,
                )
    return Selection(
        phase_one=phase_one,
        phase_two=_phase_two(modules[m] for m in chosen_modules),
        submodules=_submodules(store, set(chosen_modules)),
        if_children_change=if_children_change,
        made_at=made_at,
        forced_since=forced_since,
        force_remaining=force_remaining,
        left_out=tuple(sorted(left.items(), key=lambda item: (-item[1], item[0]))),
    )


def _named(store: Store, node_ids: Sequence[str], made_at: dt.datetime) -> Selection:
    """Exactly the nodes named, whether or not their prose is current."""
    rows: list[_Row] = []
    for node_id in dict.fromkeys(node_ids):
        found = store._query(f"{_SELECT} WHERE id = ?", (node_id,))
        if not found:
            close = store.suggest_ids(node_id)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UsageError(f"no node with id {node_id!r}{hint} (see `pith list`)")
        rows.append(found[0])
    rows.sort(key=lambda row: row[0])
    modules = [row for row in rows if row[1] == NodeType.MODULE]
    return Selection(
        phase_one=NodeList(row for row in rows if row[1] != NodeType.MODULE),
        phase_two=_phase_two(modules),
        submodules=_submodules(store, {row[0] for row in modules}),
        made_at=made_at,
    )


_SELECT = "SELECT id, type, path, name, source_hash FROM nodes"


def _rows(store: Store) -> Iterator[_Row]:
    """Every node's row (without its metadata), by id, read `_ROWS` at a time."""
    last = ""
    while True:
        rows = store._query(f"{_SELECT} WHERE id > ? ORDER BY id LIMIT ?", (last, _ROWS))
        yield from rows
        if len(rows) < _ROWS:
            return
        last = rows[-1][0]


def _phase_two(modules: Iterable[_Row]) -> NodeList:
    """Modules deepest first (a package after its sub-packages), then by id."""
    return NodeList(sorted(modules, key=lambda row: _depth_first(row[0])))


def _submodules(store: Store, modules: set[str]) -> dict[str, tuple[str, ...]]:
    """Module id -> its sub-modules, both among ``modules``."""
    submodules: dict[str, tuple[str, ...]] = {}
    if not modules:
        return submodules
    rows = store._query(
        "SELECT e.source, e.target FROM edges e JOIN nodes n ON n.id = e.target"
        " WHERE e.type = ? AND n.type = ? ORDER BY e.source, e.target",
        (str(EdgeType.CONTAINS), str(NodeType.MODULE)),
    )
    for source, target in rows:
        if source in modules and target in modules:
            submodules[source] = (*submodules.get(source, ()), target)
    return submodules


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


def _in_scope(path: str, paths: Sequence[str], configured: Sequence[str]) -> bool:
    """Whether a run may write the nodes at ``path``: with ``paths``, whether they match it;
    else the code the project ships (source, not its own scripts: `pith._roles`), or a test,
    example or script that ``configured`` names."""
    if paths:
        return matches(path, paths)
    shipped = role_of(path) is Role.SOURCE and not is_development_script(path)
    return shipped or (bool(configured) and matches(path, configured))


def _depth_first(node_id: str) -> tuple[int, str]:
    depth = -1 if node_id == "." else node_id.count("/")
    return (-depth, node_id)
