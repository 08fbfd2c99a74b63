"""A model's reply -> `pith.Prose`, or `InvalidReplyError` saying what was wrong with it.

Parsing is strict about what matters and lenient about the rest: the reply must hold a JSON
object (bare, in a Markdown fence, or with chatter around it) whose ``summary`` and ``purpose`` are
non-empty strings. Unknown fields are ignored; optional fields of the wrong type are dropped, and
so are list items of the wrong type. Each gotcha gets a confidence from checking the names, values
and line numbers it cites against the node's facts.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Any

import attrs

from .._llm._errors import InvalidReplyError
from .._llm._redact import MAX_GOTCHAS, MAX_ITEMS, clean_prose
from .._models import ClassFacts, FileFacts, FunctionFacts, Gotcha, Node, Prose, converter

__all__ = ["FactIndex", "parse_prose"]

_LIST_FIELDS = ("key_exports", "patterns", "key_files", "public_api")
_TEXT_FIELDS = ("quick_start", "data_flow")
_FENCE_OPEN = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n")
# Each failed decode costs a scan of the text up to where it failed (the error counts lines):
# a bounded number of tries keeps a reply full of braces or fences linear in its size.
_MAX_TRIES = 32


def parse_prose(
    text: str,
    *,
    node: Node,
    model: str,
    facts: FileFacts | None = None,
    code: str = "",
    index: FactIndex | None = None,
    now: dt.datetime | None = None,
) -> Prose:
    """The prose in ``text``, written now (UTC) by ``model`` from ``node.source_hash``.

    Raises `InvalidReplyError` when there is no JSON object or it lacks a non-empty ``summary`` or
    ``purpose``. With ``facts``, each gotcha's confidence is "high" when what it cites is found in
    the facts, "medium" when some of it is, "low" when none is, it cites a line past the end of
    the file, or it cites nothing checkable; without facts it stays "medium". ``code``: source the
    prompt quoted beyond the facts, which a gotcha may cite too; ``index``: the same, made ahead
    (`FactIndex.of(facts).with_code(code)`), so that no reply rebuilds it.

    Work and memory are linear in the size of ``text``, and what is kept is capped here, at parse
    time, as the store caps it (`pith._llm._redact.clean_prose`): a reply of megabytes leaves a
    prose of kilobytes. A reply nested too deeply for the JSON decoder is an invalid reply too.
    """
    data = _json_object(text)
    fields: dict[str, Any] = {
        "summary": _required_text(data, "summary"),
        "purpose": _required_text(data, "purpose"),
    }
    raw_gotchas = data.get("gotchas")
    if isinstance(raw_gotchas, list):
        gotchas = [g for g in (_gotcha(item) for item in raw_gotchas) if g is not None]
        fields["gotchas"] = gotchas[:MAX_GOTCHAS]
    for name in _LIST_FIELDS:
        value = data.get(name)
        if isinstance(value, list):
            items = [item.strip() for item in value if isinstance(item, str) and item.strip()]
            fields[name] = items[:MAX_ITEMS]
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    # Capped before the gotchas are checked: that work is bounded by the caps too.
    prose = clean_prose(converter.structure(fields, Prose))
    if index is None and facts is not None:
        index = FactIndex.of(facts).with_code(code)
    if index is not None:
        prose = attrs.evolve(
            prose,
            gotchas=tuple(attrs.evolve(g, confidence=index.confidence(g)) for g in prose.gotchas),
        )
    when = dt.datetime.now(dt.UTC) if now is None else now.astimezone(dt.UTC)
    return attrs.evolve(prose, generated_at=when, model=model, source_hash=node.source_hash)


def _json_object(text: str) -> dict[str, Any]:
    """The prose object in a reply: the whole reply, a fenced block, or the first {...} in it."""
    candidates: list[object] = []
    try:
        candidates.append(json.loads(text))
    except (ValueError, RecursionError):
        for block in _fenced_blocks(text):
            try:
                candidates.append(json.loads(block))
            except (ValueError, RecursionError):
                continue
        decoder = json.JSONDecoder()
        start = text.find("{")
        for _ in range(_MAX_TRIES):
            if start == -1:
                break
            try:
                value, end = decoder.raw_decode(text, start)
            except (ValueError, RecursionError):
                start = text.find("{", start + 1)
                continue
            candidates.append(value)
            start = text.find("{", end)
    objects = [c for c in candidates if isinstance(c, dict)]
    for candidate in objects:
        if "summary" in candidate:
            return candidate
        # Some models wrap the answer: {"prose": {...}} or {"file": {...}}.
        wrapped = [v for v in candidate.values() if isinstance(v, dict) and "summary" in v]
        if len(wrapped) == 1:
            return wrapped[0]
    if objects:
        return objects[0]
    if "{" in text and not candidates:
        raise InvalidReplyError("the reply's JSON is incomplete or malformed (was it cut off?)")
    raise InvalidReplyError("the reply holds no JSON object")


def _fenced_blocks(text: str) -> list[str]:
    """The first fenced blocks of ``text`` (at most `_MAX_TRIES`), found in one pass."""
    blocks: list[str] = []
    start = 0
    while len(blocks) < _MAX_TRIES and (opening := _FENCE_OPEN.search(text, start)) is not None:
        end = text.find("```", opening.end())
        if end == -1:
            break  # no later fence can be closed either
        blocks.append(text[opening.end() : end])
        start = end + 3
    return blocks


def _required_text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidReplyError(f'the reply has no non-empty "{name}" string')
    return value.strip()


def _gotcha(item: object) -> dict[str, str] | None:
    """A gotcha as the converter takes it, or None when it has no warning to give."""
    if isinstance(item, str):
        return {"warning": item.strip()} if item.strip() else None
    if not isinstance(item, dict):
        return None
    warning = item.get("warning")
    if not isinstance(warning, str) or not warning.strip():
        return None
    gotcha = {"warning": warning.strip()}
    location = item.get("location")
    if isinstance(location, int) and not isinstance(location, bool):
        gotcha["location"] = f"line {location}"
    elif isinstance(location, str):
        gotcha["location"] = location.strip()
    evidence = item.get("evidence")
    if isinstance(evidence, str):
        gotcha["evidence"] = evidence.strip()
    elif isinstance(evidence, int | float) and not isinstance(evidence, bool):
        gotcha["evidence"] = str(evidence)
    return gotcha


# --- checking gotchas against the facts ----------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")
_SNAKE = re.compile(r"\b_*[A-Za-z][A-Za-z0-9]*_\w*\b")
_CAMEL = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\(")
_LINE_REF = re.compile(r"\b(?:lines?|L)\s*(\d+)(?:\s*[-–]\s*(\d+))?", re.IGNORECASE)
_LOCATION_NAME = re.compile(r"[A-Za-z_][\w./:]*")
# A number not inside a name or a dotted run: ``(?<![\w.])\d+...``, with the look behind after
# the first digit, so that the search skips to digits instead of looking behind everywhere
# (3.7 times faster on a 12 kB function).
_NUMBER = re.compile(r"\d(?<![\w.]\d)\d*(?:\.\d+)?(?![\w.])")


@attrs.frozen
class FactIndex:
    """What a gotcha may cite: the names, numbers and code text of one file, and of the source
    one prompt quoted (``quoted``). Built off the event loop, once per file (`of`), then per
    prompt (`with_code`: the quoted source alone). The names and numbers of the quoted source
    are read from it the first time a gotcha cites one that the file's facts lack (a reply
    without gotchas, or whose gotchas cite the facts, never pays for them), on the event loop:
    one scan of the few thousand characters a prompt quotes, once per reply."""

    names: frozenset[str]
    numbers: frozenset[str]
    code: str
    lines: int
    quoted: str = ""

    def with_code(self, code: str) -> FactIndex:
        """This index, plus ``code`` (source a prompt quoted beyond the facts)."""
        if not code:
            return self
        return attrs.evolve(self, quoted=code)

    @functools.cached_property
    def quoted_names(self) -> frozenset[str]:
        return frozenset(_IDENTIFIER.findall(self.quoted))

    @functools.cached_property
    def quoted_numbers(self) -> frozenset[str]:
        return frozenset(_NUMBER.findall(self.quoted))

    @classmethod
    def of(cls, facts: FileFacts, code: str = "") -> FactIndex:
        texts: list[str] = [facts.docstring or "", *facts.exports, code]
        definitions: list[FunctionFacts | ClassFacts] = [*facts.functions, *facts.classes]
        for cls_facts in facts.classes:
            definitions += cls_facts.methods
        names = set(facts.exports)
        for definition in definitions:
            names |= {definition.name, definition.qualname}
            texts += [definition.snippet, definition.docstring or "", *definition.decorators]
            if isinstance(definition, FunctionFacts):
                texts.append(definition.signature)
            else:
                texts += definition.bases
        for imported in facts.imports:
            names |= {imported.module, *imported.module.split("."), *imported.names}
        texts += [statement.text for statement in facts.key_statements]
        code = "\n".join(texts)
        names |= set(_IDENTIFIER.findall(code))
        names |= {facts.path, facts.path.rsplit("/", 1)[-1]}
        numbers = frozenset(_NUMBER.findall(code))
        return cls(names=frozenset(names - {""}), numbers=numbers, code=code, lines=facts.lines)

    def confidence(self, gotcha: Gotcha) -> str:
        text = " ".join([gotcha.warning, gotcha.location, gotcha.evidence])
        lines_cited = [int(n) for m in _LINE_REF.finditer(text) for n in m.groups() if n]
        if self.lines and any(not 1 <= line <= self.lines for line in lines_cited):
            return "low"
        evidence = gotcha.evidence.strip().strip("`").strip()
        if len(evidence) >= 4 and (evidence in self.code or evidence in self.quoted):
            return "high"
        without_line_refs = _LINE_REF.sub(" ", text)
        names = _names(text) | _location_names(_LINE_REF.sub(" ", gotcha.location))
        cited = [(name, self._known(name) or self._known_dotted(name)) for name in names]
        cited += [
            (n, n in self.numbers or n in self.quoted_numbers)
            for n in _NUMBER.findall(without_line_refs)
        ]
        if not cited:
            return "medium" if lines_cited else "low"
        found = sum(1 for _, ok in cited if ok)
        if found == len(cited):
            return "high"
        return "medium" if found else "low"

    def _known(self, name: str) -> bool:
        return name in self.names or name in self.quoted_names

    def _known_dotted(self, name: str) -> bool:
        # "self.timeout", "httpx.Timeout", "pkg/client.py:fetch": known if what it ends in is.
        parts = [part for part in re.split(r"[.:/]", name) if part]
        if name.endswith(".py"):
            return self._known(name.rsplit("/", 1)[-1])
        return len(parts) > 1 and self._known(parts[-1])


def _location_names(location: str) -> set[str]:
    """A location is usually a name ("fetch", "Client.send"): each such comma-separated part."""
    parts = (part.strip(" `'\"()") for part in location.split(","))
    return {part for part in parts if _LOCATION_NAME.fullmatch(part)}


def _names(text: str) -> set[str]:
    """The code-like names in prose: `quoted`, dotted, snake_case, CamelCase, called()."""
    names: set[str] = set()
    for quoted in _BACKTICKED.findall(text):
        names |= set(_DOTTED.findall(quoted)) or set(_IDENTIFIER.findall(quoted)[:1])
    # "e.g." and "i.e." look dotted but are not names
    names |= {d for d in _DOTTED.findall(text) if any(len(p) > 1 for p in d.split("."))}
    names |= set(_SNAKE.findall(text))
    names |= set(_CAMEL.findall(text))
    names |= set(_CALL.findall(text))
    return names
