"""`extract`: read a codebase into the store, re-parsing only what changed.

Guarantees:

- A file is re-parsed only when its content hash differs from the stored one (or ``force``);
  files that disappeared are dropped; git history and READMEs are refreshed every run.
- Bad input never stops extraction: every candidate file gets facts, with ``problem`` set when
  it could not be parsed, and the summary lists each such file with its reason.
- Imports are resolved against the files of this run; when the set of files changes, the stored
  imports of unchanged files are resolved again.
- Many changed files are parsed in a process pool; all writes go in few transactions.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from operator import itemgetter
from pathlib import Path

import attrs

from .._errors import UsageError
from .._models import FileFacts
from .._store import (
    Store,
    SymbolRow,
    UseRow,
    facts_json,
    git_json,
    outline_json,
    symbol_rows,
    use_rows,
)
from ._docs import read_readmes
from ._files import FileTooLarge, discover, hash_regular_file, read_regular_file, read_target_config
from ._git import git_history
from ._languages import Resolvers, parse_file
from ._python import MAX_FILE_BYTES, problem_facts

__all__ = ["ExtractSummary", "Skipped", "check_root", "extract"]

# Bump when the facts a parse produces change shape or meaning: every file is re-parsed once.
# 3: symbols, uses and import bindings; 4: retrieval terms; 5: uses through instances;
# 6: TypeScript and JavaScript; 7: their uses through instances; 8: "fixes" stems to "fix";
# 9: `super().x` uses; 10: `Client().send` uses (a call's result used at once);
# 11: uses through typed parameters and annotated variables (`client: Client`);
# 12: through an instance's fields (`self.client = Client()` ... `self.client.send()`);
# 13: through what a function of the file says it returns (`def make() -> Client`);
# 14: `new Client().send()` in TypeScript and JavaScript; 15: a file JSDoc without its
# bare `@module`/`@file` tag lines; 16: "popped" stems to "pop" (the consonant -ed/-ing doubled);
# 17: "should", "already", "using" and the like are stop words; 18: uses through a loop over a
# typed collection (`for segment in segments:`, `segments: Iterable[Segment]`); 19: a module
# constant's class, when it holds an instance of one (its members are that class's)
PARSER_VERSION = "19"
POOL_MIN_FILES = 150  # below this, starting worker processes costs more than it saves
CHUNK_FILES = 8

ProgressCallback = Callable[[int, int], None]


@attrs.frozen
class Skipped:
    """A file that was not parsed, and why. It got a node, unless its name is not UTF-8 or it is
    a directory that could not be listed (``path`` ends in ``/``): then nothing was stored."""

    path: str
    reason: str


@attrs.frozen
class ExtractSummary:
    """What one `extract` run did."""

    root: str
    files: int  # candidate files found
    parsed: int  # parsed this run (new or changed)
    unchanged: int  # content hash unchanged, not re-parsed
    deleted: int  # dropped from the store: gone from the codebase
    # Files with a problem, read this run or not: parsed + unchanged + len(skipped) == files.
    skipped: tuple[Skipped, ...]
    in_git: bool
    seconds: float
    changed: bool  # whether anything in the store changed


# (path, content_hash, facts JSON, outline JSON, symbol rows, use rows)
_Row = tuple[str, str, str, str, list[SymbolRow], list[UseRow]]

# The import resolver of a worker process, set once by the pool initializer.
_worker_resolver: Resolvers | None = None
_worker_root: Path | None = None


def _init_worker(root: str, file_ids: list[str]) -> None:
    global _worker_resolver, _worker_root
    # A worker keeps nothing between files but plain strings, and ASTs hold no cycles: the
    # cyclic collector would only rescan the trees being built (about 15% of the parse time).
    gc.disable()
    # Ctrl-C is the parent's to handle: it cancels the queued work and waits for these.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_root = Path(root)
    _worker_resolver = Resolvers(file_ids, _worker_root)


def _parse_chunk(paths: list[str]) -> list[_Row]:
    assert _worker_root is not None
    assert _worker_resolver is not None
    return [_read_and_parse(_worker_root, path, _worker_resolver) for path in paths]


def _read_and_parse(root: Path, path: str, resolver: Resolvers) -> _Row:
    try:
        data = read_regular_file(root / path, max_size=MAX_FILE_BYTES)
    except OSError as exc:
        return _row(problem_facts(path, _unread(exc)))
    return _parse_one(path, data, resolver)


def _unread(exc: OSError) -> str:
    """The problem of a file that was not read."""
    if isinstance(exc, FileTooLarge):
        return exc.strerror or ""
    return f"unreadable: {exc.strerror or exc}; not read"


def _parse_one(path: str, data: bytes, resolver: Resolvers) -> _Row:
    return _row(parse_file(path, data, resolver))


def _row(facts: FileFacts) -> _Row:
    return (
        facts.path,
        facts.content_hash,
        facts_json(facts),
        outline_json(facts),
        symbol_rows(facts),
        use_rows(facts),
    )


def extract(
    path: str | os.PathLike[str],
    store: Store,
    *,
    force: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    data_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
    workers: int | None = None,
    allow_empty: bool = False,
    retarget: bool = False,
) -> ExtractSummary:
    """Extract the codebase at ``path`` into ``store``; blocking (call it from a thread in
    async code).

    ``include``/``exclude``: globs on paths relative to ``path``; when not given, the
    ``include``/``exclude`` lists of ``[tool.pith]`` in ``path/pyproject.toml`` apply.
    ``data_dir`` is never read as code. ``on_progress(done, total)`` is called as files finish.
    ``workers``: parser processes (default: the CPU count; 1 parses in this process).

    Raises `UsageError` when ``path`` does not exist or is not a directory; when no source file
    matched though the store holds some (a glob mistake would drop every node: ``allow_empty``
    goes ahead); and when the store holds another root's extraction (``retarget`` switches it).
    Nothing is changed then. Prose is never deleted here (see `Store.prune_prose`).
    """
    started = time.perf_counter()
    root = check_root(path)
    config = read_target_config(root)
    include = tuple(include) or _globs(config.get("include"))
    exclude = tuple(exclude) or _globs(config.get("exclude"))
    discovery = discover(root, include=include, exclude=exclude, data_dir=data_dir)
    total = len(discovery.files)
    progress = on_progress or (lambda done, total: None)

    previous_root = store.root
    had_files = bool(store.file_hashes())
    if previous_root not in (None, str(root)) and had_files and not retarget:
        raise UsageError(
            f"the data dir {store.db_path.parent} holds the extraction of {previous_root}; "
            "use another --data-dir for this one, or pass --retarget to switch it "
            "(written prose is kept)"
        )
    if total == 0 and had_files and not allow_empty:
        globs = f" (include {list(include)}, exclude {list(exclude)})" if include or exclude else ""
        raise UsageError(
            f"no source file matched under {root}{globs}; nothing was changed. Check the "
            "globs, or pass --allow-empty to record an empty tree"
        )
    # Facts written by another version of the parser are re-read: they may lack what the
    # graph now relies on (e.g. one definition per qualified name).
    reusable = previous_root == str(root) and store.get_meta("parser_version") == PARSER_VERSION
    stored_hashes = store.file_hashes() if reusable else {}
    stored_problems = store.file_problems() if stored_hashes else {}
    file_ids = [c.path for c in discovery.files]
    resolver = Resolvers(file_ids, root)

    rows: list[_Row] = []
    to_parse: list[str] = []
    unchanged: list[str] = []
    for candidate in discovery.files:
        if candidate.problem is not None:
            if force or stored_problems.get(candidate.path) != candidate.problem:
                rows.append(_row(problem_facts(candidate.path, candidate.problem)))
            else:
                unchanged.append(candidate.path)
            continue
        stored = None if force else stored_hashes.get(candidate.path)
        if stored is None:
            to_parse.append(candidate.path)  # read where it is parsed: maybe in a worker
            continue
        try:
            digest = hash_regular_file(root / candidate.path, MAX_FILE_BYTES)
        except OSError as exc:
            reason = _unread(exc)
            if stored_problems.get(candidate.path) != reason:
                rows.append(_row(problem_facts(candidate.path, reason)))
            else:
                unchanged.append(candidate.path)
            continue
        if digest == stored:
            unchanged.append(candidate.path)
        else:
            to_parse.append(candidate.path)
    done = len(rows) + len(unchanged)
    progress(done, total)

    worker_count = workers if workers is not None else (os.cpu_count() or 1)
    # The rows are plain strings, numbers and tuples of them, with no cycle to find: the
    # cyclic collector would only rescan them, again and again as they pile up.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if worker_count > 1 and len(to_parse) >= POOL_MIN_FILES:
            rows.extend(
                _parse_in_pool(root, file_ids, to_parse, worker_count, done, total, progress)
            )
        else:
            for file_path in to_parse:
                rows.append(_read_and_parse(root, file_path, resolver))
                done += 1
                progress(done, total)
    finally:
        if collecting:
            gc.enable()

    deleted = sorted(set(stored_hashes) - set(file_ids))
    if not reusable:
        deleted = sorted(set(store.file_hashes()) - set(file_ids))
    # A new or vanished file, or an edited tsconfig.json / package.json, can change what the
    # imports of unchanged files resolve to.
    configs = resolver.config_fingerprint()
    configs_changed = configs != (store.get_meta("script_configs") or "")
    if unchanged and (configs_changed or set(file_ids) != set(stored_hashes)):
        rows.extend(_reresolve(store, root, resolver, set(unchanged)))
    # In path order: the tables' keys grow at one end, and the uses' ids follow the paths
    # whatever order the workers finished in.
    rows.sort(key=itemgetter(0))
    store.write_files(
        [row[:4] for row in rows],
        deletes=deleted,
        symbols=((row[0], row[4], row[5]) for row in rows),
    )

    git_changed = _refresh_git(store, root, discovery.in_git)
    readmes = read_readmes(root, discovery.readmes)
    readmes_changed = readmes != store.readmes()
    if readmes_changed:
        store.replace_readmes(readmes)

    changed = bool(rows or deleted or git_changed or readmes_changed or previous_root != str(root))
    version = int(store.get_meta("facts_version") or 0) + (1 if changed else 0)
    store.set_meta(
        {
            "root": str(root),
            "extracted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "facts_version": str(version),
            "parser_version": PARSER_VERSION,
            "script_configs": configs,
        }
    )
    problems = store.file_problems()
    rejected = tuple(Skipped(c.path, c.problem or "") for c in discovery.rejected)
    return ExtractSummary(
        root=str(root),
        files=total + len(rejected),
        parsed=sum(1 for path in to_parse if path not in problems),
        unchanged=sum(1 for path in unchanged if path not in problems),
        deleted=len(deleted),
        skipped=tuple(
            sorted([*(Skipped(p, r) for p, r in problems.items()), *rejected], key=lambda s: s.path)
        ),
        in_git=discovery.in_git,
        seconds=time.perf_counter() - started,
        changed=changed,
    )


def check_root(path: str | os.PathLike[str]) -> Path:
    """``path`` resolved, or `UsageError` when it does not exist or is not a directory."""
    root = Path(path)
    if not root.exists():
        raise UsageError(f"PATH {str(path)!r} does not exist; pass the directory of a codebase")
    if not root.is_dir():
        raise UsageError(f"PATH {str(path)!r} is not a directory; pass the directory of a codebase")
    return root.resolve()


def _globs(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _parse_in_pool(
    root: Path,
    file_ids: list[str],
    to_parse: list[str],
    worker_count: int,
    done: int,
    total: int,
    progress: ProgressCallback,
) -> list[_Row]:
    # Biggest first, so that no worker is left alone with a large file at the end.
    paths = sorted(to_parse, key=lambda path: -_size(root / path))
    chunks = [paths[i : i + CHUNK_FILES] for i in range(0, len(paths), CHUNK_FILES)]
    rows: list[_Row] = []
    pool = ProcessPoolExecutor(
        max_workers=worker_count,
        initializer=_init_worker,
        initargs=(str(root), file_ids),
    )
    try:
        futures = [pool.submit(_parse_chunk, chunk) for chunk in chunks]
        for future in as_completed(futures):
            chunk_rows = future.result()
            rows.extend(chunk_rows)
            done += len(chunk_rows)
            progress(done, total)
    except BrokenProcessPool:
        # A worker died (killed for memory, say): finish here rather than lose the run.
        finished = {row[0] for row in rows}
        resolver = Resolvers(file_ids, root)
        for path in to_parse:
            if path not in finished:
                rows.append(_read_and_parse(root, path, resolver))
                done += 1
                progress(done, total)
    finally:
        # On Ctrl-C, do not parse the queued chunks before giving up.
        pool.shutdown(wait=True, cancel_futures=True)
    return rows


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _reresolve(store: Store, root: Path, resolver: Resolvers, paths: set[str]) -> list[_Row]:
    """The unchanged files whose imports now lead elsewhere, parsed again (what their names
    and uses lead to changed with them)."""
    rows = []
    for facts in store.all_file_facts():
        if facts.path not in paths or not facts.imports:
            continue
        unresolved = [attrs.evolve(i, resolved=None) for i in facts.imports]
        if resolver.resolve(facts.path, unresolved) != facts.imports:
            rows.append(_read_and_parse(root, facts.path, resolver))
    return rows


def _refresh_git(store: Store, root: Path, in_git: bool) -> bool:
    """Store the git history of every file; True when any of it changed."""
    files, dirs = git_history(root) if in_git else ({}, {})
    stored = store.file_git_json()
    updates = {}
    for path, old in stored.items():
        new = git_json(files.get(path))
        if new != old:
            updates[path] = new
    stored_dirs = store.dir_git()
    if not updates and stored_dirs == dirs:
        return False
    store.write_git(updates, dirs)
    return True
