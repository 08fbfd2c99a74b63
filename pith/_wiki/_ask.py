"""`ask`: a briefing for a task in English, packed to a token budget.

`brief(store, question, budget)` guarantees:

- the files `pith._wiki._retrieve.rank_files` ranks first, in that order, each with why it was
  chosen, its summary (prose, else its docstring), and the symbols in it that the question
  is about (``file:line``, signature, docstring's first line or prose, where it is used), then
  its tests and the files that import it (a few by name, the rest as a count);
- the Markdown briefing is at most ``budget`` tokens, counted as `pith generate --estimate`
  counts (characters / `CHARS_PER_TOKEN`, rounded up); what is kept first is what helps most:
  a file's own entry before the next file, tests before importers; the JSON lists exactly
  what the Markdown shows;
- local and deterministic: no model is called. `write_answer` asks one, through the
  configured client, to answer from the briefing, citing ``file:line``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .._generate._compact import compact_header
from .._models import ClassFacts, EdgeType, FunctionFacts
from .._roles import is_runnable_test, source_first
from .._store import Store
from . import _markdown as md
from ._docstrings import first_paragraph
from ._limits import DEFAULT_BUDGET, MAX_BUDGET, MIN_BUDGET
from ._retrieve import (
    NOT_WORD,
    RankedFile,
    definitions,
    exact_names,
    name_words,
    rank,
)

if TYPE_CHECKING:
    from .._llm import LLMClient

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_BUDGET",
    "MAX_BUDGET",
    "MIN_BUDGET",
    "Briefing",
    "answer_messages",
    "brief",
    "count_tokens",
    "write_answer",
]

CHARS_PER_TOKEN = 4  # as the estimate counts (pith._generate._prompts; not imported: it is heavy)
MAX_FILES = 20  # ranked files considered for a briefing
SYMBOLS_PER_FILE = 4
NAMED_IMPORTERS = 3
DOC_CHARS = 240
SIGNATURE_CHARS = 160
NAMED_CALLERS = 3  # uses of a symbol named in a briefing; the rest are counted
MAX_REFERENCES = 400  # read per file's chosen symbols
DOC_WORDS_CHARS = 300  # of a docstring, matched against the question
DOC_WORDS_NEEDED = 2  # of the question's words, in the docstring of a symbol its name is not
# A word of a symbol's name or docstring counts when it weighs this share of the question's
# weightiest word: "app", in most of flask's files, listed `App.name` with "change".
DOC_WORD_FLOOR = 0.1


def count_tokens(text: str) -> int:
    """Tokens as `pith generate --estimate` counts them: characters / 4, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@attrs.frozen
class Briefing:
    """What to read for a question: ``files`` (each a JSON-ready dict), the Markdown, and
    how many ranked files did not fit in the budget."""

    question: str
    budget: int
    files: tuple[dict[str, Any], ...]
    markdown: str
    left_out: int

    @property
    def tokens(self) -> int:
        return count_tokens(self.markdown)

    def file_ids(self) -> list[str]:
        return [f["id"] for f in self.files]

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "budget": self.budget,
            "tokens": self.tokens,
            "files": list(self.files),
            "left_out": self.left_out,
        }


def brief(
    store: Store,
    question: str,
    budget: int = DEFAULT_BUDGET,
    *,
    path: str | None = None,
    kinds: Iterable[str] | None = None,
) -> Briefing:
    """The briefing for ``question`` within ``budget`` tokens (see the module docstring)."""
    budget = max(MIN_BUDGET, min(budget, MAX_BUDGET))
    ranking = rank(store, question, limit=MAX_FILES, path=path, kinds=kinds)
    ranked = ranking.files
    head = [f"# Ask: {md.line(question.splitlines()[0][:200] if question.strip() else '')}", ""]
    if not ranked:
        text = "\n".join([*head, "Nothing in this codebase matches these words.", ""])
        return Briefing(question, budget, (), text, 0)
    terms = ranking.weights
    names = set(exact_names(question))
    briefs = store.briefs(r.id for r in ranked)
    outlines = store.definitions_of([r.id for r in ranked])
    room = budget * CHARS_PER_TOKEN - len("\n".join(head)) - 200  # the closing note
    entries: list[dict[str, Any]] = []
    blocks: list[str] = []
    for position, file in enumerate(ranked):
        entry = _entry(store, file, briefs.get(file.id), outlines.get(file.id), terms, names)
        block = _entry_markdown(entry)
        if len(block) + 1 > room:
            # The first file always gets in, cut down to its header and best symbols.
            if position == 0:
                entry = {**entry, "symbols": entry["symbols"][:1], "importers": []}
                block = _entry_markdown(entry)[: max(0, room)]
                entries.append(entry)
                blocks.append(block)
            break
        room -= len(block) + 1
        entries.append(entry)
        blocks.append(block)
    left_out = len(ranked) - len(entries)
    tail = []
    if left_out:
        rest = ", ".join(md.code(r.id) for r in ranked[len(entries) : len(entries) + 5])
        tail = [
            f"*{left_out} more files matched, left out to stay within {budget:,} tokens: {rest}*"
        ]
    text = "\n".join([*head, *blocks, *tail]).rstrip() + "\n"
    return Briefing(question, budget, tuple(entries), text, left_out)


def _entry(
    store: Store,
    file: RankedFile,
    brief_row: tuple[str, str | None, bool] | None,
    outline: dict[str, Any] | None,
    terms: dict[str, float],
    names: set[str],
) -> dict[str, Any]:
    summary = brief_row[1] if brief_row else None
    if not summary and outline is not None and outline["docstring"]:
        summary = first_paragraph(outline["docstring"])
    symbols = _symbols(store, file.id, outline, terms, names) if outline else []
    # A test file's testFile edges lead to what it tests: only tests a runner runs are its
    # tests (no helper or fixture under a tests directory).
    tests = sorted(
        e.target for e in store.edges(file.id, EdgeType.TEST_FILE) if is_runnable_test(e.target)
    )
    importers = sorted(
        (e.target for e in store.edges(file.id, EdgeType.IMPORTED_BY)), key=source_first
    )
    return {
        "id": file.id,
        "kind": file.kind,
        "score": file.score,
        "why": list(file.why),
        "lines": outline["lines"] if outline else 0,
        "summary": summary,
        "symbols": symbols,
        "tests": tests[:5],
        "importers": importers[:NAMED_IMPORTERS],
        "importers_count": len(importers),
    }


def _symbols(
    store: Store,
    file_id: str,
    outline: dict[str, Any],
    terms: dict[str, float],
    names: set[str],
) -> list[dict[str, Any]]:
    """The definitions in ``outline`` (`Store.definitions_of`) the question is about, best
    first: by the question's words in their names, then in their docstrings' openings, each
    word by its weight (`Ranking.weights`: a rare word counts more than a common one)."""
    scored: list[tuple[float, int, dict[str, Any]]] = []
    floor = DOC_WORD_FLOOR * max(terms.values(), default=0.0)
    needles = [(" " + t, w) for t, w in terms.items() if w >= floor]
    for definition in definitions(outline):
        named = {t for t in name_words(definition["qualname"]) & terms.keys() if terms[t] >= floor}
        # The docstring's opening only: what a symbol is about is said first (and a large
        # file's every docstring, tokenized whole, cost most of a briefing's time).
        # A term (a stem) counts when a word of the docstring's opening starts with it: a
        # substring test per term, no tokenizing (a briefing reads hundreds of docstrings).
        opening = (definition.get("docstring") or "")[:DOC_WORDS_CHARS].lower()
        padded = " " + NOT_WORD.sub(" ", opening) if opening else ""
        said = [w for needle, w in needles if needle in padded] if padded else []
        if not named and len(said) < DOC_WORDS_NEEDED:
            said = []  # one shared word ("space", "value") in a docstring is chance, not topic
        score = 2.0 * sum(terms[t] for t in named) + 0.5 * sum(said)
        if definition["name"].lower() in names or definition["qualname"].lower() in names:
            score += 1000  # a name asked for comes first
        if score > 0:
            scored.append((score, definition["start_line"], definition))
    scored.sort(key=lambda s: (-s[0], s[1]))
    chosen = [d for _, _, d in scored[:SYMBOLS_PER_FILE]]
    prose = store.briefs(f"{file_id}:{d['qualname']}" for d in chosen)
    # Who uses each chosen symbol, source before tests, a few named (the rest counted).
    uses: dict[str, list[str]] = {}
    for reference in store.references_to(
        [f"{file_id}:{d['qualname']}" for d in chosen], MAX_REFERENCES
    ):
        uses.setdefault(reference.target, []).append(f"{reference.path}:{reference.line}")
    out = []
    for d in chosen:
        node = prose.get(f"{file_id}:{d['qualname']}")
        # Where it is used: the shipped code, then scripts, tests, examples (each in file order).
        used = sorted(
            uses.get(f"{file_id}:{d['qualname']}", []),
            key=lambda u: source_first(u.rpartition(":")[0])[0],
        )
        doc = (node[1] if node and node[1] else None) or first_paragraph(d.get("docstring"))
        out.append(
            {
                "id": f"{file_id}:{d['qualname']}",
                "line": d["start_line"],
                "end_line": d["end_line"],
                # `Annotated[X, Doc("...")]` and long defaults elided: the budget buys code
                "signature": _cut(compact_header(_header(d)), SIGNATURE_CHARS),
                "doc": doc[:DOC_CHARS] if doc else None,
                "callers": used[:NAMED_CALLERS],
                "callers_count": len(used),
            }
        )
    return out


def _header(definition: dict[str, Any]) -> str:
    """`FunctionFacts.header` / `ClassFacts.header` of a definition as stored (JSON)."""
    if "signature" in definition:
        return FunctionFacts(**_fields(definition, FunctionFacts)).header
    return ClassFacts(**_fields(definition, ClassFacts)).header


def _fields(definition: dict[str, Any], cls: type[Any]) -> dict[str, Any]:
    # `heading`: how a TypeScript/JavaScript definition is written (`function f(...)`).
    wanted = {"name", "qualname", "signature", "is_async", "bases", "start_line", "end_line"}
    wanted.add("heading")
    present = {f.name for f in attrs.fields(cls)} & wanted
    return {
        k: tuple(v) if isinstance(v, list) else v for k, v in definition.items() if k in present
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry_markdown(entry: dict[str, Any]) -> str:
    kind = "" if entry["kind"] == "source" else f" ({entry['kind']})"
    lines = [f"## {md.code(entry['id'])}{kind}"]
    if entry["why"]:
        lines.append(f"Why: {md.line('; '.join(entry['why']))}")
    if entry["summary"]:
        lines.append(md.line(entry["summary"][:400]))
    for symbol in entry["symbols"]:
        where = f"{entry['id']}:{symbol['line']}"
        # A method's header does not say its class, and a file may have several `send`s.
        owner = symbol["id"].rpartition(":")[2].rpartition(".")[0]
        of = f" in {md.code(owner)}" if owner else ""
        lines.append(f"- {md.code(symbol['signature'])}{of} at {md.code(where)}")
        if symbol["doc"]:
            lines.append(f"  {md.line(symbol['doc'])}")
        if symbol["callers_count"]:
            named = ", ".join(md.code(c) for c in symbol["callers"])
            more = symbol["callers_count"] - len(symbol["callers"])
            lines.append(f"  Used at {named}" + (f" and {more} more" if more > 0 else ""))
    if entry["tests"]:
        lines.append("Tests: " + ", ".join(md.code(t) for t in entry["tests"]))
    if entry["importers_count"]:
        named = ", ".join(md.code(i) for i in entry["importers"])
        more = entry["importers_count"] - len(entry["importers"])
        lines.append(f"Imported by: {named}" + (f" and {more} more" if more > 0 else ""))
    return "\n".join(lines) + "\n"


def files_of(briefing: Briefing) -> Sequence[str]:
    return briefing.file_ids()


ANSWER_SYSTEM = (
    "You answer a developer's question about a codebase from a briefing of its relevant files "
    "and symbols. Answer in a few short paragraphs or a list. Cite every claim about the code "
    "with its `path:line` from the briefing; say what the briefing does not show instead of "
    "guessing."
)


def answer_messages(briefing: Briefing) -> list[dict[str, str]]:
    """The chat messages that ask a model to answer ``briefing``'s question from it."""
    return [
        {"role": "system", "content": ANSWER_SYSTEM},
        {
            "role": "user",
            "content": f"Question: {briefing.question}\n\nBriefing:\n\n{briefing.markdown}",
        },
    ]


async def write_answer(
    client: LLMClient, briefing: Briefing, on_text: Callable[[str], None] | None = None
) -> str:
    """The model's answer to ``briefing``'s question, through ``client`` (its retries, limits
    and redaction), streamed: ``on_text`` gets each piece as it arrives (`LLMClient.stream`).
    An empty reply is `InvalidReplyError`."""
    completion = await client.stream(answer_messages(briefing), on_text or (lambda _: None))
    return completion.value.strip()
