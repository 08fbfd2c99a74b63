"""Ranking the code for a task: files first, then the symbols in them.

`rank_files` guarantees, for any text:

- deterministic, local answers (SQLite FTS5 over `pith._tokens` tokens; nothing to download);
- a file scores by what pith knows of it, each field weighed (`WEIGHTS`): its path, its
  definitions' names (methods too), docstrings, signatures and key statements, its whole
  source, the subjects of the commits that touched it, and its prose;
- a file that defines a name the question spells exactly (``raise_for_status``,
  ``FunctionAuth``, a word in backquotes) is lifted above files that only mention it;
- source comes before tests and examples (docs, tutorials and demos too: `pith._roles`)
  unless the question asks for them ("test", "example", "docs"), or ``kinds`` says otherwise;
- the files a top hit imports or is imported by get a share of its score (the graph), so a
  file is found through its neighbours too.

`search_hits` turns the ranking into node hits: one per file, the file's own symbol when the
question names it (``Client`` -> ``httpx/_client.py:Client``), else the file.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Sequence

import attrs

from .._models import EdgeType, NodeType
from .._roles import role_of
from .._store import Store
from .._tokens import words

__all__ = [
    "KINDS",
    "WEIGHTS",
    "RankedFile",
    "asked_kinds",
    "file_kind",
    "query_terms",
    "rank_files",
    "search_hits",
    "wanted_file",
]

# bm25 weight per retrieval column: path, defines, names, text, body, history, prose.
WEIGHTS = (3.0, 2.0, 3.0, 1.5, 1.0, 1.0, 1.5)
KINDS = ("source", "test", "example")
MAX_TERMS = 48
CANDIDATES = 300  # files scored before the rules re-rank them
NOT_ASKED = 0.3  # a test, example or docs file's score, relative, unless asked for
ASKED = 0.7  # and when asked for: the code itself still matters most
EXACT_NAME = 1.0  # of the top score, added once per exact name a file defines: it comes first
GRAPH_SHARE = 0.15  # of a top hit's score, given to the files it imports and that import it
GRAPH_FROM = 5  # top hits whose neighbours get a share
SHORT_QUERY = 1  # word: a one-word query may be a name (``Client``, ``echo``)

_ASKS = {
    "test": ("test", "tests", "testing", "pytest", "unittest", "fixture", "conftest"),
    "example": (
        *("example", "examples", "tutorial", "demo", "sample"),
        *("docs", "documentation", "doc", "sphinx"),
    ),
}
_IDENTIFIER = re.compile(
    r"`([^`]+)`|\b([A-Za-z_][A-Za-z0-9]*(?:[._][A-Za-z0-9_]+)+|[a-z]+[A-Z][A-Za-z0-9]*"
    r"|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*)\b"
)


_FILE_NAME = re.compile(r"[\w./-]*\w\.(?:py|[cm]?[jt]sx?)\b")  # Python, TypeScript, JavaScript


@attrs.frozen
class RankedFile:
    """A file and why it was chosen: its score and the question's words it is known by."""

    id: str
    score: float
    kind: str  # "source" | "test" | "example"
    why: tuple[str, ...] = ()  # "defines raise_for_status", "path: redirect", "imported by x"


@functools.lru_cache(maxsize=65_536)
def file_kind(path: str) -> str:
    """What a file is for, by its path (`pith._roles`, the rule every part of pith uses):
    "source", "test" or "example" (docs, tutorials and demos too)."""
    return role_of(path).value


def asked_kinds(query: str) -> set[str]:
    """The kinds of file besides source that ``query`` asks for by name."""
    lowered = set(re.findall(r"[a-z]+", query.lower()))
    return {kind for kind, names in _ASKS.items() if lowered & set(names)}


def query_terms(query: str) -> list[str]:
    """The distinct retrieval tokens of ``query``, at most `MAX_TERMS`."""
    return list(dict.fromkeys(words(query)))[:MAX_TERMS]


def exact_names(query: str) -> list[str]:
    """The names ``query`` spells as code: in backquotes, dotted, snake_case or CamelCase, or
    a one-word query (``Client``); each as the retrieval
    index holds a whole name (lowercase; a dotted name's last part)."""
    bare_words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query)
    if 0 < len(bare_words) <= SHORT_QUERY and not re.search(r"[^\w\s.`:/-]", query):
        return list(dict.fromkeys(w.strip("_").lower() for w in bare_words if len(w) > 2))
    out = []
    for quoted, bare in _IDENTIFIER.findall(query):
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", quoted or bare):
            if quoted or "_" in name.strip("_") or re.search(r"[a-z][A-Z]|[A-Z][a-z]+[A-Z]", name):
                token = name.strip("_").lower()
                if len(token) > 2:
                    out.append(token)
        if bare and "." in bare and not bare.endswith(".py"):
            out.append(bare.rsplit(".", 1)[1].strip("_").lower())
    return [t for t in dict.fromkeys(out) if t]


def _named_files(query: str) -> list[str]:
    """The file paths ``query`` spells (``termui.py``, ``httpx/_client.py``)."""
    return list(dict.fromkeys(m.lstrip("./") for m in _FILE_NAME.findall(query)))


def rank_files(
    store: Store,
    query: str,
    *,
    limit: int = 10,
    path: str | None = None,
    kinds: Iterable[str] | None = None,
) -> list[RankedFile]:
    """The files of ``store`` best matching ``query``, best first (see the module docstring).

    ``path``: only files matching this glob (``httpx/*``; a directory ``httpx/`` means below
    it). ``kinds``: only files of these kinds (`KINDS`), none demoted."""
    terms = query_terms(query)
    if not terms:
        return []
    found = store.retrieve(terms, WEIGHTS, CANDIDATES)
    if found is None:  # an older store: its node search, one row per file
        found = _legacy(store, query)
    scores = dict(found)
    why: dict[str, list[str]] = {f: [] for f in scores}
    # FTS5's bm25 gives a word found in most files almost nothing: the floor keeps an exact
    # name ahead even when every other score is near zero.
    top = max(max(scores.values(), default=0.0), 1.0)
    names = exact_names(query)
    for name, files in store.defining(names).items() if names else ():
        for file_id in files:
            scores[file_id] = scores.get(file_id, 0.0) + EXACT_NAME * top
            why.setdefault(file_id, []).append(f"defines {name}")
    for named in _named_files(query):
        for file_id in list(scores):
            if file_id == named or file_id.endswith("/" + named):
                scores[file_id] += EXACT_NAME * top
                why.setdefault(file_id, []).append(f"named {named}")
    wanted = set(kinds) if kinds is not None else None
    asked = asked_kinds(query)
    for file_id in scores:
        kind = file_kind(file_id)
        if wanted is None and kind != "source":
            scores[file_id] *= ASKED if kind in asked else NOT_ASKED
    _spread(store, scores, why)
    # Source first, then what the question did not ask for (tests, examples, docs), each by
    # score: a test full of the question's words still comes after the code it tests.
    demoted = {f for f in scores if wanted is None and file_kind(f) not in asked | {"source"}}
    ranked = sorted(scores, key=lambda f: (f in demoted, -scores[f], f))
    out = []
    fields = store.retrieval_fields(ranked[: limit * 3])
    for file_id in ranked:
        kind = file_kind(file_id)
        if wanted is not None and kind not in wanted:
            continue
        if path is not None and not _path_matches(file_id, path):
            continue
        reasons = why.get(file_id, []) + _matched(file_id, fields.get(file_id), terms)
        out.append(RankedFile(file_id, round(scores[file_id], 4), kind, tuple(reasons)))
        if len(out) >= limit:
            break
    return out


def _spread(store: Store, scores: dict[str, float], why: dict[str, list[str]]) -> None:
    """Give the neighbours (imports, importers) of the top hits a share of their score."""
    top = sorted(scores, key=lambda f: (-scores[f], f))[:GRAPH_FROM]
    shares: dict[str, float] = {}
    for file_id in top:
        for edge in store.edges(file_id):
            if edge.type in (EdgeType.IMPORTS, EdgeType.IMPORTED_BY) and edge.target not in top:
                share = GRAPH_SHARE * scores[file_id]
                if share > shares.get(edge.target, 0.0):
                    shares[edge.target] = share
                    why.setdefault(edge.target, [])
                    relation = "imported by" if edge.type is EdgeType.IMPORTS else "imports"
                    why[edge.target] = [
                        r for r in why[edge.target] if not r.startswith(("imports ", "imported"))
                    ] + [f"{relation} {file_id}"]
    for file_id, share in shares.items():
        base = scores.get(file_id, 0.0)
        factor = 1.0 if file_kind(file_id) == "source" else NOT_ASKED
        scores[file_id] = base + share * factor


def _matched(file_id: str, fields: tuple[str, str] | None, terms: Sequence[str]) -> list[str]:
    """Why a file matched, in a few words: the question's words in its path and names."""
    path_words = _path_words(file_id)
    in_path = [t for t in terms if t in path_words][:4]
    out = [f"path: {' '.join(in_path)}"] if in_path else []
    if fields is not None:
        name_words = set(fields[0].split())
        in_names = [t for t in terms if t in name_words and t not in in_path][:5]
        if in_names:
            out.append(f"names: {' '.join(in_names)}")
    return out


def wanted_file(
    file_id: str, *, path: str | None = None, kinds: Iterable[str] | None = None
) -> bool:
    """Whether ``file_id`` passes the filters of `rank_files`: ``path`` (a glob) and
    ``kinds``."""
    if kinds is not None and file_kind(file_id) not in set(kinds):
        return False
    return path is None or _path_matches(file_id, path)


@functools.lru_cache(maxsize=65_536)
def _path_words(file_id: str) -> frozenset[str]:
    return frozenset(words(file_id))


def _path_matches(file_id: str, pattern: str) -> bool:
    pattern = pattern.strip().removeprefix("./")
    if pattern.endswith("/"):
        return file_id.startswith(pattern)
    return fnmatch.fnmatchcase(file_id, pattern) or file_id.startswith(pattern.rstrip("/") + "/")


def _legacy(store: Store, query: str) -> list[tuple[str, float]]:
    out: dict[str, float] = {}
    for node_id, _, score in store.search(query, 100):
        file_id = node_id.split(":", 1)[0]
        if file_id.endswith(".py") and file_id not in out:
            out[file_id] = score
    return list(out.items())


@attrs.frozen
class Hit:
    """One search result: a node, its type and score, and why it was chosen."""

    id: str
    type: str
    score: float
    file: RankedFile


def search_hits(
    store: Store,
    query: str,
    *,
    limit: int = 10,
    type: NodeType | None = None,
    path: str | None = None,
    kinds: Iterable[str] | None = None,
) -> list[Hit]:
    """Nodes for ``query``, best first: per ranked file, its symbol the question names (or,
    with ``type`` function, its best-matching function), else the file itself; with ``type``
    module, the modules holding the ranked files."""
    files = rank_files(store, query, limit=max(limit * 3, 30), path=path, kinds=kinds)
    terms = set(query_terms(query))
    names = set(exact_names(query)) | {query.strip().lower()}
    by_path: dict[str, list[str]] = {}
    for node_id, node_type, node_path in store.node_index(NodeType.FUNCTION):
        del node_type
        by_path.setdefault(node_path, []).append(node_id)
    hits: list[Hit] = []
    seen: set[str] = set()
    for ranked in files:
        if type is NodeType.MODULE:
            module = _module_of(store, ranked.id)
            if module is not None and module not in seen:
                seen.add(module)
                hits.append(Hit(module, "module", ranked.score, ranked))
            continue
        symbol = _best_symbol(by_path.get(ranked.id, []), names, terms, exact=type is None)
        if symbol is not None:
            hits.append(Hit(symbol, "function", ranked.score, ranked))
        elif type is None or type is NodeType.FILE:
            hits.append(Hit(ranked.id, "file", ranked.score, ranked))
        if len(hits) >= limit * 2:
            break
    # Exact names first: a symbol named as asked before the files around it (stable sort).
    hits.sort(key=lambda h: h.type != "function" or h.id.split(":", 1)[1].lower() not in names)
    return hits[:limit]


def _best_symbol(ids: list[str], names: set[str], terms: set[str], *, exact: bool) -> str | None:
    best, best_score = None, 0.0
    for node_id in ids:
        qualname = node_id.split(":", 1)[1]
        last = qualname.rsplit(".", 1)[-1].lower()
        if last in names or qualname.lower() in names:
            return node_id
        if exact:
            continue
        name_words = set(words(qualname))
        score = len(name_words & terms) / (1 + len(name_words))
        if score > best_score:
            best, best_score = node_id, score
    return best


def _module_of(store: Store, file_id: str) -> str | None:
    edges = store.edges_to(file_id, EdgeType.CONTAINS)
    return edges[0].source if edges else None
