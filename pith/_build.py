"""`build`: the extracted facts become the node graph (nodes + edges) in the store.

Nodes:

- **file**: one per extracted file; id = its path; ``source_hash`` = its content hash.
- **module**: one per directory that is a package (has ``__init__.py``, or an ``index.ts`` /
  ``index.js``) or holds at least `BuildConfig.module_min_files` source files directly;
  id = the directory, ``"."`` for the root.
  Its ``source_hash`` covers its README and the ids and hashes of everything it contains, so
  its prose goes stale when anything below it changes.
- **function**: public top-level functions and classes that at least
  `BuildConfig.function_min_importers` other files import by name (also through a package's
  re-export, ``from pkg import name``; a TypeScript/JavaScript ``export`` outside the test trees
  counts as one of them, and ``import x from`` imports its default export), or that are
  complex (at least `BuildConfig.function_min_lines` lines or cyclomatic complexity
  `BuildConfig.function_min_complexity`), and the methods as long or complex of a public class of
  `pith._store.LARGE_CLASS_LINES` lines or more; id = ``<file id>:<qualname>``; ``source_hash`` =
  hash of its own source lines, so editing another function of the file does not stale it.
  Every other class, method, function and constant is a symbol without prose of its own.
- The **root** module ``.`` always exists: the overview (README, packages, entry points).

Edges: ``contains`` (module -> sub-module, module -> file, file -> function; a directory
belongs to its nearest enclosing module), ``imports`` / ``importedBy`` (file <-> file) and
``testFile`` (``x.py`` <-> ``test_x.py``, ``x_test.py``, ``tests/**/test_x.py``; ``x.ts`` <->
``x.test.ts``, ``x.spec.ts``, ``__tests__/x.ts``; both ways).

A rebuild replaces nodes and edges, keeps the prose of surviving nodes (stale where the source
hash changed) and drops the prose of removed nodes. When neither the facts nor the thresholds
changed since the last build, it does nothing.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
import tomllib
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ._errors import UsageError
from ._extract._files import read_target_config
from ._extract._ts_imports import read_jsonc
from ._models import (
    Edge,
    EdgeType,
    GitFacts,
    Node,
    NodeType,
    Readme,
    is_test_path,
)
from ._roles import SCRIPT_SUFFIXES, script_test_stem
from ._store import FileOutline, Store

__all__ = [
    "ROOT_MODULE_ID",
    "BuildConfig",
    "BuildSummary",
    "GraphError",
    "build",
    "build_graph",
    "check_graph",
    "console_scripts",
    "resolve_references",
]

ROOT_MODULE_ID = "."
# Bump when the same facts make another graph: every store rebuilds once. 2: the root node
# always exists, references, test files never sources; 3: a src layout's `python -m` entry
# point by its package's name.
GRAPH_VERSION = 3
_SOURCE_SUFFIXES = (".py", *SCRIPT_SUFFIXES)
_TEST_TREES = frozenset({"tests", "test", "__tests__"})
_REEXPORT_HOPS = 4  # how far an imported name is followed through re-exports (cycles exist)


@attrs.frozen
class BuildConfig:
    """Thresholds, settable in ``[tool.pith]`` of the codebase's pyproject.toml with dashes:
    ``function-min-lines = 30`` etc."""

    function_min_lines: int = 30
    function_min_complexity: int = 8
    function_min_importers: int = 2
    module_min_files: int = 3

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> BuildConfig:
        values: dict[str, int] = {}
        for field in attrs.fields(cls):
            key = field.name.replace("_", "-")
            if key not in table:
                continue
            value = table[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(
                    f"[tool.pith] {key} must be an integer >= 1, got {value!r}; "
                    "fix the codebase's pyproject.toml"
                )
            values[field.name] = value
        return cls(**values)


@attrs.frozen
class BuildSummary:
    """What one `build` did. ``unchanged``: nothing changed since the last build, so the graph
    was left as it was."""

    nodes: dict[NodeType, int]
    edges: int
    removed: int  # nodes of the previous graph that are gone
    prose_current: int
    prose_stale: int
    unchanged: bool
    seconds: float


def build(store: Store, *, force: bool = False) -> BuildSummary:
    """Build the graph from the extracted facts in ``store``; blocking.

    Raises `UsageError` when nothing was extracted yet or ``[tool.pith]`` has a bad threshold.
    """
    started = time.perf_counter()
    root = store.root
    if root is None:
        raise UsageError("nothing extracted yet: run `pith extract PATH` first")
    config = BuildConfig.from_table(read_target_config(Path(root)))
    scripts = console_scripts(Path(root)) + package_bins(Path(root))
    packages = package_dirs(Path(root), store.file_hashes())
    fingerprint = json.dumps(
        {
            "facts": store.get_meta("facts_version"),
            "config": attrs.asdict(config),
            "scripts": scripts,
            "packages": sorted(packages),
            "graph": GRAPH_VERSION,
        },
        sort_keys=True,
    )
    if not force and store.is_built and store.get_meta("built_from") == fingerprint:
        return _summary(store, removed=0, unchanged=True, started=started)

    # The outlines, nodes and references are plain values with no cycle to find: the cyclic
    # collector would only rescan them, again and again as they pile up (about 10% of a build).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(store, Path(root), config, scripts, packages, fingerprint, started)
    finally:
        if collecting:
            gc.enable()


def _build(
    store: Store,
    root: Path,
    config: BuildConfig,
    scripts: list[str],
    packages: set[str],
    fingerprint: str,
    started: float,
) -> BuildSummary:
    old_ids = set(store.node_ids())
    outlines = store.file_outlines()
    nodes, edges = build_graph(
        outlines,
        store.readmes(),
        store.dir_git(),
        config,
        root_name=root.name,
        scripts=scripts,
        packages=packages,
    )
    check_graph(nodes, edges)
    references, unresolved = resolve_references(
        outlines, store.symbol_outlines(), store.uses_to_resolve()
    )
    removed = len(old_ids - {n.id for n in nodes})
    built_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store.replace_graph(
        nodes,
        edges,
        meta={"built_at": built_at, "built_from": fingerprint},
        references=references,
        unresolved=unresolved,
    )
    summary = _summary(store, removed=removed, unchanged=False, started=started)
    return attrs.evolve(summary, edges=len(edges))


class GraphError(RuntimeError):
    """The graph `build_graph` made breaks one of its own rules: a bug in pith, not in the
    codebase. Raised before anything is written, so the store keeps the previous graph."""


def check_graph(nodes: Iterable[Node], edges: Iterable[Edge]) -> None:
    """Raise `GraphError` unless: ids are unique; every edge joins two nodes and appears once;
    ``contains`` forms a forest (one parent at most, no cycle); a function's lines lie inside
    its file."""
    by_id: dict[str, Node] = {}
    for node in nodes:
        if node.id in by_id:
            raise GraphError(f"two nodes have the id {node.id!r}")
        by_id[node.id] = node
    seen: set[tuple[str, str, EdgeType]] = set()
    parent: dict[str, str] = {}
    for edge in edges:
        key = (edge.source, edge.target, edge.type)
        if key in seen:
            raise GraphError(f"the {edge.type} edge {edge.source!r} -> {edge.target!r} is doubled")
        seen.add(key)
        for end in (edge.source, edge.target):
            if end not in by_id:
                raise GraphError(
                    f"the {edge.type} edge {edge.source!r} -> {edge.target!r} names no node {end!r}"
                )
        if edge.type is EdgeType.CONTAINS:
            if edge.target in parent:
                raise GraphError(
                    f"{edge.target!r} is contained by both "
                    f"{parent[edge.target]!r} and {edge.source!r}"
                )
            parent[edge.target] = edge.source
    for start in parent:
        seen_here = {start}
        current = parent.get(start)
        while current is not None:
            if current in seen_here:
                raise GraphError(f"`contains` edges form a cycle through {current!r}")
            seen_here.add(current)
            current = parent.get(current)
    for node in by_id.values():
        if node.type is not NodeType.FUNCTION:
            continue
        file = by_id.get(node.path)
        first, last = node.metadata.get("start_line", 0), node.metadata.get("end_line", 0)
        file_lines = file.metadata.get("lines", 0) if file is not None else 0
        if file is None or not 1 <= first <= last <= file_lines:
            raise GraphError(
                f"function {node.id!r} spans lines {first}-{last}, outside its "
                f"file ({file_lines} lines)"
            )


def _summary(store: Store, *, removed: int, unchanged: bool, started: float) -> BuildSummary:
    prose = store.prose_counts()
    return BuildSummary(
        nodes=store.node_counts(),
        edges=store.edge_count(),
        removed=removed,
        prose_current=prose["current"],
        prose_stale=prose["stale"],
        unchanged=unchanged,
        seconds=time.perf_counter() - started,
    )


# --- the graph, as a pure function of the facts ----------------------------------------------


def _parent(directory: str) -> str | None:
    """The parent directory ("" is the root), None above the root."""
    if directory == "":
        return None
    return directory.rpartition("/")[0]


def _module_id(directory: str) -> str:
    return ROOT_MODULE_ID if directory == "" else directory


def _hash(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _git_metadata(git: GitFacts | None) -> dict[str, Any]:
    if git is None:
        return {"commits": 0, "last_modified": None, "created": None, "authors": []}
    return {
        "commits": git.commits,
        "last_modified": git.last_commit,
        "created": git.first_commit,
        "authors": list(git.authors),
    }


def console_scripts(root: Path) -> list[str]:
    """``name = module:function`` of each ``[project.scripts]`` entry of ``root``'s
    pyproject.toml (none when it is absent or unreadable)."""
    try:
        with (root / "pyproject.toml").open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    project = data.get("project")
    scripts = project.get("scripts") if isinstance(project, dict) else None
    if not isinstance(scripts, dict):
        return []
    return sorted(
        f"{name} = {target}" for name, target in scripts.items() if isinstance(target, str)
    )


def package_bins(root: Path) -> list[str]:
    """``name = node path`` of each ``bin`` entry of ``root``'s package.json (none when it is
    absent or unreadable)."""
    data = read_jsonc(root / "package.json")
    if not isinstance(data, dict):
        return []
    bins = data.get("bin")
    name = data.get("name")
    if isinstance(bins, str) and isinstance(name, str):
        bins = {name.rpartition("/")[2]: bins}
    if not isinstance(bins, dict):
        return []
    return sorted(f"{key} = node {value}" for key, value in bins.items() if isinstance(value, str))


def package_dirs(root: Path, files: Iterable[str]) -> set[str]:
    """The directories among those of ``files`` (and their parents) that hold a package.json:
    the packages of a JavaScript monorepo. The root itself is not listed (it is a module)."""
    directories: set[str] = set()
    for path in files:
        directory = path.rpartition("/")[0]
        while directory and directory not in directories:
            directories.add(directory)
            directory = directory.rpartition("/")[0]
    return {d for d in directories if (root / d / "package.json").is_file()}


def build_graph(
    files: list[FileOutline],
    readmes: list[Readme],
    dir_git: Mapping[str, GitFacts],
    config: BuildConfig,
    *,
    root_name: str = "",
    scripts: list[str] | None = None,
    packages: Collection[str] = (),
) -> tuple[list[Node], list[Edge]]:
    """The nodes (sorted by id) and edges of the graph over ``files``; ``packages``: the
    directories of JavaScript packages (with a package.json), modules whatever they hold."""
    by_path = {f.path: f for f in files}
    edges: list[Edge] = []

    # imports / importedBy, and who imports which name of which file
    imports: dict[str, set[str]] = defaultdict(set)
    importers: dict[str, set[str]] = defaultdict(set)
    name_importers: dict[tuple[str, str], set[str]] = defaultdict(set)
    # (file, name) -> the file it imported that name from: `from .core import connect` in
    # pkg/__init__.py makes `from pkg import connect` elsewhere an import of core's connect.
    origin: dict[tuple[str, str], str] = {}
    for facts in files:
        for target, names in facts.imports:
            if target != facts.path and target in by_path:
                for name in names:
                    origin.setdefault((facts.path, name), target)
    for facts in files:
        for target, names in facts.imports:
            if target == facts.path or target not in by_path:
                continue
            imports[facts.path].add(target)
            importers[target].add(facts.path)
            for name in names:
                key = (target, name)
                for _ in range(_REEXPORT_HOPS):
                    name_importers[key].add(facts.path)
                    source = origin.get(key)
                    if source is None or source == facts.path:
                        break
                    key = (source, name)
    for source in sorted(imports):
        for target in sorted(imports[source]):
            edges.append(Edge(source, target, EdgeType.IMPORTS))
            edges.append(Edge(target, source, EdgeType.IMPORTED_BY))

    # file and function nodes
    nodes: list[Node] = []
    file_nodes: dict[str, Node] = {}
    for facts in files:
        git = _git_metadata(facts.git)
        metadata: dict[str, Any] = {
            "lines": facts.lines,
            **git,
            "fan_in": len(importers.get(facts.path, ())),
            "fan_out": len(imports.get(facts.path, ())),
            "complexity": facts.complexity,
        }
        if facts.problem is not None:
            metadata["problem"] = facts.problem
        node = Node(
            id=facts.path,
            type=NodeType.FILE,
            path=facts.path,
            name=facts.path.rpartition("/")[2],
            source_hash=facts.content_hash,
            metadata=metadata,
        )
        nodes.append(node)
        file_nodes[facts.path] = node
        in_tests = is_test_path(facts.path)
        # `export default function f`: `import g from "./x"` imports f
        default = {d for local, f, d in facts.bindings if local == "default" and f == facts.path}
        for definition in facts.definitions:
            lines = definition.end_line - definition.start_line + 1
            method = definition.kind == "method"  # of a large class: never imported by name
            users = name_importers.get((facts.path, definition.name), set())
            if definition.name in default:
                users = users | name_importers.get((facts.path, "default"), set())
            fan_in = 0 if method else len(users)
            # A script's `export` is its declared API: it counts as one importer more.
            votes = fan_in + (definition.exported and not in_tests)
            if not (
                votes >= config.function_min_importers
                or lines >= config.function_min_lines
                or definition.complexity >= config.function_min_complexity
            ):
                continue
            function_id = f"{facts.path}:{definition.qualname}"
            nodes.append(
                Node(
                    id=function_id,
                    type=NodeType.FUNCTION,
                    path=facts.path,
                    name=definition.qualname,
                    source_hash=definition.source_hash,
                    metadata={
                        "kind": definition.kind,
                        "start_line": definition.start_line,
                        "end_line": definition.end_line,
                        "lines": lines,
                        **git,
                        "fan_in": fan_in,
                        "fan_out": None,
                        "complexity": definition.complexity,
                    },
                )
            )
            edges.append(Edge(facts.path, function_id, EdgeType.CONTAINS))

    nodes.extend(
        _module_nodes(
            files,
            readmes,
            dir_git,
            config,
            file_nodes,
            imports,
            edges,
            root_name,
            scripts or [],
            set(packages),
        )
    )
    edges.extend(_test_edges(list(by_path)))
    nodes.sort(key=lambda n: n.id)
    return nodes, edges


def _module_nodes(
    files: list[FileOutline],
    readmes: list[Readme],
    dir_git: Mapping[str, GitFacts],
    config: BuildConfig,
    file_nodes: Mapping[str, Node],
    imports: Mapping[str, set[str]],
    edges: list[Edge],
    root_name: str,
    scripts: list[str],
    packages: set[str],
) -> list[Node]:
    direct: dict[str, list[str]] = defaultdict(list)  # directory -> its files
    all_dirs: set[str] = set()
    for facts in files:
        directory = facts.path.rpartition("/")[0]
        direct[directory].append(facts.path)
        current: str | None = directory
        while current is not None:
            all_dirs.add(current)
            current = _parent(current)
    module_dirs = {
        d
        for d in all_dirs
        if d in packages
        or any(_is_package_marker(f.rpartition("/")[2]) for f in direct.get(d, ()))
        or sum(1 for f in direct.get(d, ()) if f.endswith(_SOURCE_SUFFIXES))
        >= config.module_min_files
    }
    if files:
        module_dirs.add("")  # the overview: the root node always exists

    def owner(directory: str) -> str | None:
        """The nearest module directory at or above ``directory``."""
        current: str | None = directory
        while current is not None and current not in module_dirs:
            current = _parent(current)
        return current

    children_files: dict[str, list[str]] = defaultdict(list)
    children_modules: dict[str, list[str]] = defaultdict(list)
    file_owner: dict[str, str] = {}
    for directory, paths in direct.items():
        module = owner(directory)
        if module is None:
            continue
        for path in paths:
            children_files[module].append(path)
            file_owner[path] = module
    for directory in module_dirs:
        parent = _parent(directory)
        module = owner(parent) if parent is not None else None
        if module is not None:
            children_modules[module].append(directory)

    def ancestors(module: str | None) -> Iterable[str]:
        while module is not None:
            yield module
            parent = _parent(module)
            module = owner(parent) if parent is not None else None

    # Aggregates over each module's subtree.
    lines: dict[str, int] = defaultdict(int)
    complexity: dict[str, int] = defaultdict(int)
    fan_in: dict[str, set[str]] = defaultdict(set)
    fan_out: dict[str, set[str]] = defaultdict(set)
    for facts in files:
        for module in ancestors(file_owner.get(facts.path)):
            lines[module] += facts.lines
            complexity[module] += file_nodes[facts.path].metadata["complexity"]
    for source, targets in imports.items():
        source_modules = set(ancestors(file_owner.get(source)))
        for target in targets:
            target_modules = set(ancestors(file_owner.get(target)))
            for module in source_modules - target_modules:
                fan_out[module].add(target)
            for module in target_modules - source_modules:
                fan_in[module].add(source)

    readme_by_dir = {r.directory: r for r in readmes}
    hashes: dict[str, str] = {}
    nodes: list[Node] = []
    # Deepest first, so that sub-module hashes exist before their parent's.
    for directory in sorted(module_dirs, key=lambda d: (-(d.count("/") + (d != "")), d)):
        module_id = _module_id(directory)
        readme = readme_by_dir.get(directory)
        parts = [f"readme:{readme.name}:{readme.text}" if readme else "readme:"]
        for sub in sorted(children_modules[directory]):
            parts.append(f"module:{sub}:{hashes[sub]}")
            edges.append(Edge(module_id, sub, EdgeType.CONTAINS))
        for path in sorted(children_files[directory]):
            parts.append(f"file:{path}:{file_nodes[path].source_hash}")
            edges.append(Edge(module_id, path, EdgeType.CONTAINS))
        overview: dict[str, Any] = {}
        if directory == "":
            # What a newcomer asks first: the README, the packages, how it is run.
            entry_points = [*scripts]
            python_packages = {
                f.path.rpartition("/")[0] for f in files if f.path.endswith("/__init__.py")
            }
            entry_points += [
                f"python -m {_main_module(f.path, python_packages)}"
                for f in files
                if f.path.endswith("/__main__.py")
            ]
            overview = {
                "readme": readme.name if readme else None,
                "packages": sorted(children_modules[""]),
                "entry_points": entry_points,
            }
            parts.append(f"overview:{json.dumps(overview, sort_keys=True)}")
        hashes[directory] = _hash(parts)
        nodes.append(
            Node(
                id=module_id,
                type=NodeType.MODULE,
                path=module_id,
                name=directory.rpartition("/")[2] if directory else (root_name or module_id),
                source_hash=hashes[directory],
                metadata={
                    "lines": lines[directory],
                    "files": len(children_files[directory]),
                    **_git_metadata(dir_git.get(directory)),
                    "fan_in": len(fan_in[directory]),
                    "fan_out": len(fan_out[directory]),
                    "complexity": complexity[directory],
                    **overview,
                },
            )
        )
    return nodes


def _main_module(path: str, packages: set[str]) -> str:
    """What ``python -m`` runs a ``__main__.py`` by: its package's dotted name, from the
    topmost enclosing package (``src/flask/__main__.py``: ``flask``, not ``src.flask``); a
    directory that is no package, by its path."""
    directory = path.removesuffix("/__main__.py")
    if directory not in packages:
        return directory.replace("/", ".")
    parts = []
    while True:
        head, _, name = directory.rpartition("/")
        parts.append(name)
        if head not in packages:
            return ".".join(reversed(parts))
        directory = head


def _is_package_marker(name: str) -> bool:
    """``__init__.py``, or a TypeScript/JavaScript directory's ``index.ts`` (any suffix)."""
    return name == "__init__.py" or (
        name.startswith("index.") and name.endswith(SCRIPT_SUFFIXES) and name.count(".") <= 2
    )


def _script_stem(name: str) -> str:
    """``a`` of ``a.ts``, ``a.d.ts``, ``a.mjs``."""
    return name.removesuffix(".d.ts").rpartition(".")[0]


def _test_target_stem(path: str) -> str | None:
    """The stem a test file's name gives (``test_auth.py``, ``auth_test.py``: ``auth``;
    ``auth.test.ts``, ``__tests__/auth.ts``: ``js:auth``), None for another name."""
    directory, _, name = path.rpartition("/")
    if name.endswith(SCRIPT_SUFFIXES):
        stem = script_test_stem(name)
        if stem is None and directory.rpartition("/")[2] == "__tests__":
            stem = _script_stem(name)
        return f"js:{stem}" if stem else None
    if name.startswith("test_") and name.endswith(".py") and len(name) > 8:
        return name[5:-3]
    if name.endswith("_test.py") and len(name) > 8:
        return name[:-8]
    return None


def _source_keys(path: str) -> list[str]:
    """The test-name stems that name source file ``path``: ``_auth.py`` is ``auth``, and with
    its directory ``security/oauth2.py`` is also ``security_oauth2``. A TypeScript/JavaScript
    file's keys start with ``js:`` (``src/auth.ts`` is ``js:auth``; ``src/router/index.ts``
    is also ``js:router``), so that tests never cross languages."""
    directory, _, name = path.rpartition("/")
    parent = directory.rpartition("/")[2].strip("_")
    if name.endswith(SCRIPT_SUFFIXES):
        stem = _script_stem(name)
        keys = [f"js:{stem}"] if stem else []
        if stem == "index" and parent:
            keys.append(f"js:{parent}")
        return keys
    stem = name[:-3].strip("_")
    if not stem or name.startswith("__"):
        return []
    keys = [stem]
    if parent:
        keys.append(f"{parent}_{stem}")
    return keys


def _test_edges(paths: list[str]) -> list[Edge]:
    """Source file <-> its test files, both ways; a test file never counts as a source. A test
    ``test_<key>.py`` / ``<key>_test.py`` (or ``test_<key>_<more>.py``) tests the source files
    with that key (see `_source_keys`), the longest key that matches winning: beside it when
    one is, else (in a ``tests``/``test`` tree) those sharing the longest path prefix."""
    by_key: dict[str, list[str]] = defaultdict(list)
    tests: list[tuple[str, str]] = []
    for path in paths:
        name = path.rpartition("/")[2]
        if is_test_path(path):
            stem = _test_target_stem(path)
            if stem is not None:
                tests.append((path, stem.strip("_")))
        elif name.endswith(_SOURCE_SUFFIXES):
            for key in _source_keys(path):
                by_key[key].append(path)
    edges: list[Edge] = []
    for test, stem in tests:
        words = stem.split("_") if not stem.startswith("js:") else [stem]
        candidates: list[str] = []
        for end in range(len(words), 0, -1):  # the longest key first
            candidates = by_key.get("_".join(words[:end]), [])
            if candidates:
                break
        directory = test.rpartition("/")[0]
        # __tests__/a.test.ts sits beside the sources of its parent directory
        near = {directory, directory.removesuffix("/__tests__")}
        if directory == "__tests__":
            near.add("")
        beside = [c for c in candidates if c.rpartition("/")[0] in near]
        if beside:
            targets = beside
        elif _TEST_TREES & set(directory.split("/")) and candidates:
            best = max(_common_prefix(test, c) for c in candidates)
            targets = [c for c in candidates if _common_prefix(test, c) == best]
        else:
            targets = []
        for target in sorted(set(targets)):
            edges.append(Edge(target, test, EdgeType.TEST_FILE))
            edges.append(Edge(test, target, EdgeType.TEST_FILE))
    return edges


def _common_prefix(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        count += 1
    return count


# --- references: each use resolved to the symbol it reaches -------------------------------

_MAX_HOPS = 8  # bindings, submodules and star imports followed for one use (cycles exist)
ReferenceRow = tuple[str, int]  # (target symbol id, use id)


def resolve_references(
    files: list[FileOutline],
    symbols: list[tuple[str, str, str, list[tuple[str, str]]]],
    uses: Iterable[tuple[int, str, int, str, str, str, int]],
) -> tuple[list[ReferenceRow], dict[str, int]]:
    """Every use (`pith._models.UseFacts`, as stored) resolved to the symbol it reaches,
    following re-exports (``from .core import connect`` in a package's ``__init__.py``),
    submodules, ``from x import *`` and, for ``self.x``, the bases of the class. A use that
    leads into a project file but to nothing it defines is counted per file, never guessed;
    a ``self.x`` that no class defines is an instance attribute and not counted."""
    kinds = {(path, qualname): kind for path, qualname, kind, _ in symbols}
    bases = {(path, qualname): b for path, qualname, _, b in symbols if b}
    bindings = {f.path: {local: (t, d) for local, t, d in f.bindings} for f in files}
    stars = {f.path: f.star_imports for f in files if f.star_imports}
    paths = {f.path for f in files}

    def find(file: str, parts: tuple[str, ...], hops: int) -> tuple[str, str] | None:
        for end in range(len(parts), 0, -1):
            qualname = ".".join(parts[:end])
            if (file, qualname) in kinds:
                if end < len(parts) and kinds[(file, qualname)] == "constant":
                    # A module constant holding an instance (`current_app: FlaskProxy`): a
                    # member used through it is its class's.
                    member = find_member(file, qualname, parts[end:], hops)
                    if member is not None:
                        return member
                return file, qualname
        if not parts or hops >= _MAX_HOPS:
            return None
        first, rest = parts[0], parts[1:]
        bound = bindings.get(file, {}).get(first)
        if bound is not None:
            target, dotted = bound
            return find(target, (*(p for p in dotted.split(".") if p), *rest), hops + 1)
        if file == "__init__.py" or file.endswith("/__init__.py"):
            package = file.removesuffix("__init__.py")
            for sub in (f"{package}{first}.py", f"{package}{first}/__init__.py"):
                if sub in paths:
                    return find(sub, rest, hops + 1)
        for star in stars.get(file, ()):
            found = find(star, parts, hops + 1)
            if found is not None:
                return found
        return None

    def find_member(
        file: str, owner: str, rest: tuple[str, ...], hops: int
    ) -> tuple[str, str] | None:
        for end in range(len(rest), 0, -1):
            qualname = f"{owner}.{'.'.join(rest[:end])}"
            if (file, qualname) in kinds:
                return file, qualname
        if hops >= _MAX_HOPS:
            return None
        for base_file, base_dotted in bases.get((file, owner), ()):
            base = find(base_file, tuple(p for p in base_dotted.split(".") if p), hops + 1)
            if base is not None and kinds.get(base) == "class":
                found = find_member(*base, rest, hops + 1)
                if found is not None:
                    return found
        return None

    cache: dict[tuple[str, str, int], tuple[str, str] | None] = {}
    seen: set[tuple[str, str, int, str]] = set()
    references: list[ReferenceRow] = []
    unresolved: dict[str, int] = defaultdict(int)
    for use, path, line, scope, target, dotted, member in uses:
        key = (target, dotted, member)
        if key in cache:
            found = cache[key]
        else:
            parts = tuple(dotted.split(".")) if dotted else ()
            if member:
                found = None
                for end in range(len(parts) - 1, 0, -1):  # the owner: the longest class
                    owner = ".".join(parts[:end])
                    if kinds.get((target, owner)) == "class":
                        found = find_member(target, owner, parts[end:], 0)
                        break
                    # An instance of a class imported through a re-export (`app = FastAPI()`
                    # with `from fastapi import FastAPI`, or a script's default export):
                    # the class where it is defined.
                    where = find(target, parts[:end], 0)
                    if (
                        where is not None
                        and kinds.get(where) == "class"
                        and parts[end - 1] in (where[1].rpartition(".")[2], "default")
                    ):
                        found = find_member(*where, parts[end:], 0)
                        break
            else:
                found = find(target, parts, 0)
            cache[key] = found
        if found is None:
            if not member and dotted and target in paths:
                unresolved[target] += 1
            continue
        symbol_id = f"{found[0]}:{found[1]}"
        if (symbol_id, path, line, scope) in seen:  # `f(f(x))`: one reference
            continue
        seen.add((symbol_id, path, line, scope))
        references.append((symbol_id, use))
    return references, dict(unresolved)
