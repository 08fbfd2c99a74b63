"""Ranking the code for a task: files first, then the symbols in them.

`rank_files` guarantees, for any text:

- deterministic, local answers (SQLite FTS5 over `pith._tokens` tokens; nothing to download);
- a file scores by what pith knows of it, each field weighed (`WEIGHTS`): its path, its
  definitions' names (methods too), docstrings, signatures and key statements, its whole
  source, the subjects of the commits that touched it, and its prose;
- each word of the question counts by its rarity (Lucene's idf: a word in most files still
  counts a little), a word that says what to do (`TASK_WORDS`: "fix", "add") less;
- a file's score is scaled by the share of the question's words (weighed) it matches
  (`COVERAGE`): all of the question's words once beat one of them many times;
- words said together in one definition (its name, its docstring's opening) lift the file by
  the share they say (`FOCUS`); a file whose module name the question says is lifted
  (`MODULE_NAME`, `MODULE_TOP`), a development script (``scripts/``, ``setup.py``) lowered
  (`TOOLING`) unless asked for;
- a file that defines a name the question spells exactly (``raise_for_status``,
  ``FunctionAuth``, a word in backquotes) is lifted above files that only mention it;
- source comes before tests and examples (docs, tutorials and demos too: `pith._roles`)
  unless the question asks for them ("test", "example", "docs"), or ``kinds`` says otherwise;
- the files a top hit imports or is imported by get a share of its score (the graph), and
  so do the files most often committed together with it (git history), by how often: a file
  is found through its neighbours too.

`search_hits` turns the ranking into node hits: one per file, the file's own symbol when the
question names it (``Client`` -> ``httpx/_client.py:Client``), else the file.
"""

from __future__ import annotations

import builtins
import fnmatch
import functools
import heapq
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs

from .._models import EdgeType, NodeType
from .._roles import is_development_script, role_of
from .._store import Store
from .._tokens import words

__all__ = [
    "KINDS",
    "NOT_WORD",
    "WEIGHTS",
    "RankedFile",
    "Ranking",
    "asked_kinds",
    "definitions",
    "file_kind",
    "name_words",
    "query_terms",
    "rank",
    "rank_files",
    "search_hits",
    "wanted_file",
]

# bm25 weight per retrieval column: path, defines, names, text, body, history, prose.
WEIGHTS = (3.0, 2.0, 3.0, 1.5, 1.0, 1.0, 1.5)
KINDS = ("source", "test", "example")
MAX_TERMS = 48
TOOLING = 0.5  # a development script's score (``scripts/``, ``setup.py``), unless asked for
MODULE_TOP = 0.5  # of the top score, added too: few files bear a name, so saying it is telling
MODULE_NAME = 0.5  # added to a file's score, relative, when the question says its module name
FOCUS = 1.0  # added to a file's score, relative, times the share its best symbol says
FOCUS_WORD = 0.25  # of the heaviest word's weight: a word telling enough to read symbols by
FOCUS_FROM = 30  # best files whose symbols are read
OPENING_CHARS = 300  # of a docstring's opening, read for the words a symbol is about
CANDIDATES = 300  # best files re-ranked by the rules (kinds, the graph)
COVERAGE = 1.0  # power of the share of the question's words (idf-weighed) a file matches
TASK_WORD = 0.3  # weight of a word that says what to do, not where ("fix", "add")
# Module names that say nothing of what is in them.
_VAGUE_MODULES = frozenset({"main", "__main__", "init", "core", "base", "utils", "util", "misc"})
# Words of a task that say what to do, not where (as `pith._tokens.words` folds them).
TASK_WORDS = frozenset(
    words(
        """add adds added fix fixes fixed fixing update updates updated remove removes removed
        change changes changed support supports use uses make makes allow allows improve
        improved better bug issue instead now also new old don doesn should would could
        properly correctly handle handles handling option options when"""
    )
)
NOT_ASKED = 0.3  # a test, example or docs file's score, relative, unless asked for
ASKED = 0.7  # and when asked for: the code itself still matters most
EXACT_NAME = 1.0  # of the top score, added once per exact name a file defines: it comes first
GRAPH_SHARE = 0.15  # of a top hit's score, given to the files it imports and that import it
GRAPH_FROM = 5  # top hits whose neighbours get a share
CHANGED_WITH_SHARE = 0.3  # of a top hit's score, times the share of its commits a file shared
CHANGED_WITH_FROM = 5  # top hits whose most frequent co-committed files get a share
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


_VERSION = re.compile(r"(?<![\w.])(?:v?\d+(?:\.\d+)+|#\d+)(?![\w.])")
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
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
    """The distinct retrieval tokens of ``query``, at most `MAX_TERMS`; a version
    (``0.119.0``, ``v2.1``) or an issue number (``#5342``) says when, not where: left out."""
    return list(dict.fromkeys(words(_VERSION.sub(" ", query))))[:MAX_TERMS]


def said_as(query: str) -> dict[str, str]:
    """Term -> the word of ``query`` it was made from, where the word made that term alone
    (``undefined`` for "undefin", ``popped`` for "pop"): a reason shows the question's words."""
    out: dict[str, str] = {}
    for word in re.findall(r"[A-Za-z0-9_]+", query):
        made = words(word)
        if len(made) == 1 and made[0] != word.lower():
            out.setdefault(made[0], word.lower())
    return out


def exact_names(query: str) -> list[str]:
    """The names ``query`` spells as code: in backquotes, dotted, snake_case or CamelCase, or
    a one-word query (``Client``); each as the retrieval index holds a whole name (lowercase;
    a dotted name's last part). A builtin inside a larger expression (``str`` in
    ``Json[list[str]]``) is no name asked for."""
    bare_words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query)
    if 0 < len(bare_words) <= SHORT_QUERY and not re.search(r"[^\w\s.`:/-]", query):
        return list(dict.fromkeys(w.strip("_").lower() for w in bare_words if len(w) > 2))
    out = []
    for quoted, bare in _IDENTIFIER.findall(query):
        found = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", quoted or bare)
        for name in found:
            if len(found) > 1 and name in _BUILTINS:
                continue  # `Json[list[str]]` is about Json, not about every file defining str
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


@attrs.frozen
class Ranking:
    """The ranked files of a question, and how much each of its words weighs (by its rarity,
    less for a task word: what picks a file's symbols too)."""

    files: tuple[RankedFile, ...]
    weights: dict[str, float]


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
    return list(rank(store, query, limit=limit, path=path, kinds=kinds).files)


def rank(
    store: Store,
    query: str,
    *,
    limit: int = 10,
    path: str | None = None,
    kinds: Iterable[str] | None = None,
) -> Ranking:
    """`rank_files`, with the weight of each of the question's words (every word 1.0 in an
    older store)."""
    terms = query_terms(query)
    if not terms:
        return Ranking((), {})
    scores, weighed, held_by = _scores(store, query, terms)
    why: dict[str, list[str]] = {f: [] for f in scores}
    # Words said together in one definition: the file's score grows with their share.
    best = heapq.nsmallest(FOCUS_FROM, scores, key=lambda f: (-scores[f], f))
    for file_id, (share, name) in _focus(store, best, weighed).items():
        scores[file_id] *= 1.0 + FOCUS * share
        if share >= 0.5:
            why[file_id].append(f"about {name}")
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
    said = _plain_words(query)
    for file_id in scores:
        # A module name holds a word of the question (a cheap test first: most do not).
        name = _naming_name(file_id).lower()
        if not name or not any(word in name for word in said):
            continue
        module = _module_words(file_id)
        if module and (module <= said or name.strip("_") in said):
            scores[file_id] = scores[file_id] * (1.0 + MODULE_NAME) + MODULE_TOP * top
            why.setdefault(file_id, []).append(f"module {_naming_name(file_id)}")
    # The rest of the rules re-rank the best candidates only (a common word matches most
    # files of a large project).
    scores = dict(heapq.nsmallest(CANDIDATES, scores.items(), key=lambda i: (-i[1], i[0])))
    wanted = set(kinds) if kinds is not None else None
    asked = asked_kinds(query)
    tooling_asked = bool(set(terms) & _TOOLING_ASKS)
    for file_id in scores:
        kind = file_kind(file_id)
        if wanted is None and kind != "source":
            scores[file_id] *= ASKED if kind in asked else NOT_ASKED
        elif wanted is None and not tooling_asked and is_development_script(file_id):
            scores[file_id] *= TOOLING
    _spread(store, scores, why)
    _changed_with(store, scores, why)
    # Source first, then what the question did not ask for (tests, examples, docs), each by
    # score: a test full of the question's words still comes after the code it tests.
    demoted = {f for f in scores if wanted is None and file_kind(f) not in asked | {"source"}}
    ranked = sorted(scores, key=lambda f: (f in demoted, -scores[f], f))
    out = []
    fields = store.retrieval_fields(ranked[: limit * 3])
    as_said = said_as(query)
    for file_id in ranked:
        kind = file_kind(file_id)
        if wanted is not None and kind not in wanted:
            continue
        if path is not None and not _path_matches(file_id, path):
            continue
        held = held_by.get(file_id, set())
        matched = _matched(file_id, fields.get(file_id), terms, held, as_said)
        reasons = why.get(file_id, []) + matched
        out.append(RankedFile(file_id, round(scores[file_id], 4), kind, tuple(reasons)))
        if len(out) >= limit:
            break
    return Ranking(tuple(out), weighed or dict.fromkeys(terms, 1.0))


def _scores(
    store: Store, query: str, terms: Sequence[str]
) -> tuple[dict[str, float], dict[str, float], dict[str, set[str]]]:
    """(file id -> how well it matches ``terms``, term -> its weight: how much it tells files
    apart, less for a word that says what to do rather than where, file id -> the terms it
    holds)."""
    found = store.retrieve_each(terms, WEIGHTS)
    if found is None:  # an older store: its node search, one row per file
        return dict(_legacy(store, query)), {}, {}
    count, per_term = found
    weight = {t: TASK_WORD if t in TASK_WORDS else 1.0 for t in per_term}
    if all(w < 1.0 for t, w in weight.items() if per_term[t]):
        weight = dict.fromkeys(weight, 1.0)  # only task words: they are the question
    scores: dict[str, float] = {}
    matched: dict[str, float] = {}
    weighed: dict[str, float] = {}
    held: dict[str, set[str]] = {}
    for term, files in per_term.items():
        if not files:
            continue  # no file has it: it cannot tell files apart
        hits = len(files)
        # FTS5's idf is zero for a word in more than half the files (one file of a small
        # project each); Lucene's stays positive, so such a word still counts, a little.
        ratio = (count - hits + 0.5) / (hits + 0.5)
        idf = math.log(1.0 + ratio)
        rescale = weight[term] * idf / max(math.log(ratio) if ratio > 0 else 0.0, 1e-6)
        weighed[term] = weight[term] * idf
        for file_id, score in files.items():
            scores[file_id] = scores.get(file_id, 0.0) + score * rescale
            matched[file_id] = matched.get(file_id, 0.0) + weight[term] * idf
            held.setdefault(file_id, set()).add(term)
    # A file matching more of the question's distinct words comes first: the question is
    # about all of them, not about one word said many times.
    total = sum(weighed.values())
    for file_id in scores:
        scores[file_id] *= (matched[file_id] / total) ** COVERAGE
    return scores, weighed, held


def _focus(
    store: Store, files: Sequence[str], weighed: dict[str, float]
) -> dict[str, tuple[float, str]]:
    """File id -> (the share of the question's words, weighed, that its best symbol's name
    and docstring's opening say together, that symbol's name), for ``files``: words said
    together in one definition are more likely what the question is about than the same
    words strewn over a file."""
    total = sum(weighed.values())
    out: dict[str, tuple[float, str]] = {}
    if not total or len(weighed) < 2:
        return out
    # A term (a stem) counts in a docstring when it is in its opening: a substring test per
    # term, no tokenizing (a question reads thousands of docstrings).
    # Stems are in the words they come from ("redirect" in "redirected"), but for "y" from
    # "ies" ("retry" from "retries"): the store keeps the symbols holding one of them.
    # A symbol saying only common words says little: only those saying a telling word (of
    # weight at least `FOCUS_WORD` of the heaviest) are read.
    heaviest = max(weighed.values())
    stems = [
        t[:-1] if t.endswith("y") and len(t) > 3 else t
        for t, w in weighed.items()
        if w >= FOCUS_WORD * heaviest
    ]
    for file_id, qualname, opening in store.symbol_openings(files, OPENING_CHARS, stems):
        named = name_words(qualname)
        said = sum(w for t, w in weighed.items() if t in named or (opening and t in opening))
        if said > out.get(file_id, (0.0, ""))[0]:
            out[file_id] = (said, qualname)
    return {f: (said / total, name) for f, (said, name) in out.items()}


NOT_WORD = re.compile(r"[^a-z0-9_]+")  # what separates `pith._tokens` tokens in lowercase text


def definitions(outline: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every definition of an outline (`Store.definitions_of`): functions, classes and
    their methods."""
    yield from outline["functions"]
    for klass in outline["classes"]:
        yield klass
        yield from klass.get("methods", ())


@functools.lru_cache(maxsize=65_536)
def name_words(qualname: str) -> frozenset[str]:
    """The retrieval tokens of a qualified name (``BaseClient._redirect_headers``: the whole
    names and their parts)."""
    return frozenset(words(qualname))


_TOOLING_ASKS = frozenset(
    words("script scripts tool tools benchmark benchmarks bench setup ci nox build packaging")
)


@functools.lru_cache(maxsize=65_536)
def _module_name(file_id: str) -> str:
    """The name a file is imported by: its stem, or its package's for ``__init__.py``."""
    parts = file_id.split("/")
    stem = parts[-1].split(".", 1)[0]
    if stem in ("__init__", "index") and len(parts) > 1:
        stem = parts[-2]
    return stem


def _plain_words(query: str) -> set[str]:
    """The words of ``query`` said as words: an identifier whole (``TypeError``: typeerror,
    not type), no file path's words (``tests/models/test_x.py`` names no module models)."""
    out: set[str] = set()
    for token in _FILE_NAME.sub(" ", query).split():
        found = words(token)
        out.update(found[:1] if re.search(r"[a-z][A-Z]|\w_\w", token) else found)
    return out


@functools.lru_cache(maxsize=65_536)
def _naming_name(file_id: str) -> str:
    """The name a question names a file by: its module name, or for one that says nothing
    alone (``utils``, ``core``) its package's (``openapi/utils.py`` is the openapi package's
    helpers); "" when that says nothing either."""
    stem = _module_name(file_id)
    if stem.strip("_") not in _VAGUE_MODULES:
        return stem
    parts = file_id.split("/")
    package = parts[-2] if len(parts) >= 3 and stem == parts[-1].split(".", 1)[0] else ""
    return "" if package.strip("_") in _VAGUE_MODULES else package


@functools.lru_cache(maxsize=65_536)
def _module_words(file_id: str) -> frozenset[str]:
    """The words of the name a question must all say to name a file (``cells.py``: cell;
    ``_cell_widths.py``: cell, width; ``openapi/utils.py``: openapi); none for a name that
    says nothing alone."""
    stem = _naming_name(file_id)
    if not stem:
        return frozenset()
    found = words(stem)
    parts = [w for w in found if "_" not in w] if len(found) > 1 else found
    return frozenset(parts)


def _spread(store: Store, scores: dict[str, float], why: dict[str, list[str]]) -> None:
    """Give the neighbours (imports, importers) of the top hits a share of their score."""
    top = heapq.nsmallest(GRAPH_FROM, scores, key=lambda f: (-scores[f], f))
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


def _changed_with(store: Store, scores: dict[str, float], why: dict[str, list[str]]) -> None:
    """Give the files most often committed together with the top hits a share of their
    score, by how often: a change to one usually touches the other (``default_styles.py``
    gains a style with each new ``traceback.py`` feature), and no word of the question says so."""
    top = heapq.nsmallest(CHANGED_WITH_FROM, scores, key=lambda f: (-scores[f], f))
    shares: dict[str, float] = {}
    largest: dict[str, tuple[float, str]] = {}
    for file_id, (commits, partners) in store.co_changed(top).items():
        for partner, together in partners:
            share = CHANGED_WITH_SHARE * scores[file_id] * together / max(commits, 1)
            shares[partner] = shares.get(partner, 0.0) + share
            if share > largest.get(partner, (0.0, ""))[0]:
                largest[partner] = (share, file_id)
    for file_id, share in shares.items():
        scores[file_id] = scores.get(file_id, 0.0) + share
        why.setdefault(file_id, []).append(f"changed with {largest[file_id][1]}")


def _matched(
    file_id: str,
    fields: tuple[str, str] | None,
    terms: Sequence[str],
    held: set[str],
    as_said: dict[str, str],
) -> list[str]:
    """Why a file matched, in a few words: the question's words in its path, its names, its
    docstrings, signatures and key statements (``text``), and the rest of ``held`` (the terms
    the file holds) found only elsewhere in it: its code and comments, its commits' messages
    or its prose (``mentions``). status_codes.py said only "path: request" for "retry a request
    when the connection is reset": its table of codes holds "retry" and "reset"."""
    path_words = _path_words(file_id)
    in_path = [t for t in terms if t in path_words][:4]

    def listed(found: list[str]) -> str:
        return " ".join(as_said.get(t, t) for t in found)

    out = [f"path: {listed(in_path)}"] if in_path else []
    if fields is not None:
        name_words = set(fields[0].split())
        in_names = [t for t in terms if t in name_words and t not in in_path][:5]
        if in_names:
            out.append(f"names: {listed(in_names)}")
        text_words = set(fields[1].split())
        said = {*in_path, *in_names}
        in_text = [t for t in terms if t in text_words and t not in said][:5]
        if in_text:
            out.append(f"text: {listed(in_text)}")
        said.update(in_text)
        elsewhere = [t for t in terms if t in held and t not in said][:5]
        if elsewhere:
            out.append(f"mentions: {listed(elsewhere)}")
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
