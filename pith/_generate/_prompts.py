"""The prompt for each node type: a system message saying what to write, a user message of facts.

Every prompt names its node on a line of its own, ``Node id: <id>``, and asks for one JSON object
with the fields of the prose contract (see `pith.Prose`). A prompt never exceeds its budget of
characters: the facts are added in order of importance (identity, docstring, exports, signatures
and line ranges, key statements, then imports, history, the README and code snippets), and what
does not fit is left out with a note saying so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from .._models import (
    ClassFacts,
    FileFacts,
    FunctionFacts,
    GitFacts,
    ImportFact,
    Node,
    NodeType,
    Readme,
)
from .._roles import language_of
from .._words import listed
from ._compact import compact_header, compact_snippet

__all__ = [
    "DEFAULT_BUDGET_CHARS",
    "ChildSummary",
    "estimate_prompt_tokens",
    "file_prompt",
    "function_prompt",
    "module_prompt",
]

DEFAULT_BUDGET_CHARS = 48_000  # about 12k tokens at 4 characters per token
FUNCTION_CODE_CHARS = 12_000  # of a function node's own source: about 3k tokens
SMALL_FILE_CHARS = 6_000  # a file this small is sent whole: its snippets would say about as much
# The most of a file prompt's budget (percent) each list may take: the code snippets that come
# after them get the rest (fastapi's routing.py: its definitions list took 43k of 48k).
_DEFINITIONS_SHARE = 30
_KEY_STATEMENTS_SHARE = 15
_IMPORTS_SHARE = 8
CHARS_PER_TOKEN = 4
_DOCSTRING_LIMIT = 2_000
_SHORT_DOC_LIMIT = 240
_TRUNCATION_FLOOR = 200  # a section cut below this many characters is not worth sending
_README_SHARE = 8  # a file prompt's README gets at most 1/8 of the budget; the code comes first
_NOTE_RESERVE = 200  # room for the closing note that says what was left out
_PROMPT_AUTHORS = 5  # authors named in a prompt, then how many more

_GOTCHA_RULES = """\
"gotchas": a list of objects {"warning": ..., "location": ..., "evidence": ...}: the things that
  would surprise someone changing this code (hard-coded values, timeouts, retries, ordering,
  side effects, error handling, hidden coupling). Each must be backed by the facts: "location"
  says where ("line 42", "Client.send"), "evidence" quotes the actual value, name or line. No
  generic advice ("add tests", "handle errors"): an empty list beats a vague gotcha."""

_COMMON_RULES = """\
Rules: use only the facts given and name things exactly as they are written there; do not
invent names, values or behaviour. Be concrete and brief; no filler. Reply with exactly one JSON
object and nothing else: no prose around it, no Markdown fence."""

_FIELDS = {
    NodeType.FILE: """\
"summary": one or two sentences: what this file is and does.
"purpose": why it exists: the job it does for the rest of the codebase.
{gotchas}
"key_exports": the names other code uses from this file, most important first.
"patterns": conventions and idioms a change to this file must follow (short phrases).""",
    NodeType.FUNCTION: """\
"summary": one or two sentences: what this function or class does.
"purpose": why it exists and who relies on it.
{gotchas}""",
    NodeType.MODULE: """\
"summary": one or two sentences: what this package (directory) is and does.
"purpose": why it exists: its job in the codebase.
{gotchas}
"key_files": the files of this package to read first, most important first.
"public_api": the names other code should use from this package.
"quick_start": a few lines showing typical use, or null.
"data_flow": how data moves through the package's parts, or null.""",
}

_WHAT = {
    NodeType.FILE: "one {language} file",
    NodeType.FUNCTION: "one {language} function or class",
    NodeType.MODULE: "one {language} package (a directory of files and sub-packages)",
}


@attrs.frozen
class ChildSummary:
    """A module's child (a file or a sub-module) and its summary, None when it has none yet."""

    id: str
    type: NodeType
    summary: str | None


def estimate_prompt_tokens(messages: Iterable[Mapping[str, str]]) -> int:
    """A rough token count of a prompt: characters / 4, rounded up."""
    return math.ceil(sum(len(message["content"]) for message in messages) / CHARS_PER_TOKEN)


def file_prompt(
    node: Node,
    facts: FileFacts,
    readme: Readme | None,
    *,
    code: str | None = None,
    budget_chars: int = DEFAULT_BUDGET_CHARS,
) -> list[dict[str, str]]:
    """The prompt for a file node, within ``budget_chars`` characters.

    The instructions and the node's identity always go in whole (about 1.5k characters), so a
    budget below that is exceeded by them. ``code``: the whole file's source, for a small file
    (see `SMALL_FILE_CHARS`); it is sent in place of the docstring, definitions and snippets,
    which it holds.
    """
    language = language_of(facts.path) or "Python"
    system = _system(NodeType.FILE, language)
    out = _Budget(budget_chars - len(system) - _NOTE_RESERVE)
    header = [f"Node id: {node.id}", "Node type: file", f"Path: {facts.path} ({facts.lines} lines)"]
    if facts.problem:
        header.append(f"Could not be parsed: {facts.problem}")
    out.header("\n".join(header))
    whole = code is not None
    if facts.docstring and not whole:
        out.must(f"Module docstring:\n{_bounded(facts.docstring, _DOCSTRING_LIMIT)}")
    if facts.exports:
        out.must(f"Exports: {', '.join(facts.exports)}")
    # Each list gets a share of the budget, so the code snippets after them get the rest.
    if not whole:
        out.lines(
            "Definitions (line range: signature):",
            _definition_lines(facts),
            "definitions",
            limit=budget_chars * _DEFINITIONS_SHARE // 100,
        )
    out.lines(
        "Key statements (line, kind: code):",
        [f"- line {s.line}, {s.kind}: {s.text}" for s in facts.key_statements],
        "key statements",
        limit=budget_chars * _KEY_STATEMENTS_SHARE // 100,
    )
    out.lines(
        "Imports:",
        [_import_line(i) for i in facts.imports],
        "imports",
        limit=budget_chars * _IMPORTS_SHARE // 100,
    )
    if facts.git is not None:
        out.may(_git_section(facts.git), "git history")
    if readme is not None:
        out.truncated(_readme_section(readme), "README", limit=budget_chars // _README_SHARE)
    if whole:
        out.truncated(f"Code:\n```{language.lower()}\n{code}\n```", "code")
    else:
        out.snippets(_snippets(facts, language.lower()))
    return _messages(system, out)


def function_prompt(
    node: Node,
    facts: FileFacts,
    function: FunctionFacts | ClassFacts,
    used_by: Sequence[str],
    *,
    code: str | None = None,
    budget_chars: int = DEFAULT_BUDGET_CHARS,
) -> list[dict[str, str]]:
    """The prompt for a function (or class) node, within ``budget_chars`` characters.

    ``code``: the definition's source, when it could be read as extracted; it is sent (up to
    `FUNCTION_CODE_CHARS`) in place of the facts' few first lines and of the docstring it holds.
    """
    fence = (language_of(facts.path) or "Python").lower()
    system = _system(NodeType.FUNCTION, language_of(facts.path) or "Python")
    out = _Budget(budget_chars - len(system) - _NOTE_RESERVE)
    if isinstance(function, ClassFacts):
        kind = "class"
    elif "." in function.qualname:
        kind = f"method of {function.qualname.rsplit('.', 1)[0]}"
    else:
        kind = "function"
    out.header(
        "\n".join(
            [
                f"Node id: {node.id}",
                f"Node type: function (a {kind})",
                f"File: {facts.path}",
                f"Name: {function.qualname}",
                f"Lines: {function.start_line}-{function.end_line}",
                f"Signature: {compact_header(function.header)}",
            ]
        )
    )
    if function.decorators:
        out.must(f"Decorators: {', '.join('@' + d for d in function.decorators)}")
    if function.variants:
        out.must("\n".join(variant_lines(function)))
    if function.docstring and code is None:
        out.must(f"Docstring:\n{_bounded(function.docstring, _DOCSTRING_LIMIT)}")
    whole = code is not None and len(code) <= FUNCTION_CODE_CHARS
    if isinstance(function, ClassFacts) and not whole:  # else the code shows every method
        out.lines(
            "Methods (line range: signature):",
            [_function_line(m, indent="- ") for m in function.methods],
            "methods",
        )
    inside = [
        f"- line {s.line}, {s.kind}: {s.text}"
        for s in facts.key_statements
        if function.start_line <= s.line <= function.end_line
    ]
    out.lines("Key statements in it (line, kind: code):", inside, "key statements")
    if used_by:
        out.lines("Used by:", [f"- {place}" for place in used_by], "users")
    else:
        out.must("Used by: nothing found in the project")
    if facts.docstring:
        out.may(f"The file's docstring:\n{_bounded(facts.docstring, 600)}", "file docstring")
    if code is not None:
        out.truncated(
            f"Code (lines {function.start_line}-{function.end_line}):\n```{fence}\n"
            f"{_whole_lines(code, FUNCTION_CODE_CHARS)}\n```",
            "code",
        )
    elif function.snippet:
        out.truncated(f"Code:\n```{fence}\n{function.snippet}\n```", "code")
    for variant in function.variants:
        if variant.snippet:
            out.truncated(
                f"Code of the {variant.kind} definition at lines "
                f"{variant.start_line}-{variant.end_line}:\n```{fence}\n{variant.snippet}\n```",
                f"{variant.kind} code",
            )
    return _messages(system, out)


def module_prompt(
    node: Node,
    children: Sequence[ChildSummary],
    readme: Readme | None,
    public_api: Sequence[str],
    *,
    budget_chars: int = DEFAULT_BUDGET_CHARS,
) -> list[dict[str, str]]:
    """The prompt for a module (package directory) node, within ``budget_chars`` characters.

    Every child's summary is included verbatim (before the README) as long as the budget allows.
    """
    languages = sorted({language_of(c.id) for c in children} - {""}) or ["Python"]
    system = _system(NodeType.MODULE, " and ".join(languages))
    out = _Budget(budget_chars - len(system) - _NOTE_RESERVE)
    out.header(
        "\n".join(
            [f"Node id: {node.id}", "Node type: module", f"Path: {node.path or '(the root)'}"]
        )
    )
    if public_api:
        out.must(f"Public API (exported names): {', '.join(public_api)}")
    if entry_points := node.metadata.get("entry_points"):
        # The root's overview: how the project is run is what a newcomer asks first.
        out.must(f"Entry points (how it is run): {', '.join(entry_points)}")
    out.lines(
        "Contents (files and sub-packages) and their summaries:",
        [
            f"- {child.id} ({child.type.value}): {child.summary or '(no summary)'}"
            for child in sorted(children, key=lambda c: c.id)
        ],
        "children",
    )
    if readme is not None:
        out.truncated(_readme_section(readme), "README")
    return _messages(system, out)


# --- rendering -----------------------------------------------------------------------------------


def _system(node_type: NodeType, language: str = "Python") -> str:
    fields = _FIELDS[node_type].format(gotchas=_GOTCHA_RULES)
    what = _WHAT[node_type].format(language=language)
    return (
        f"You document {what} of a codebase for AI coding agents that are about to "
        "read or change it. They have not seen the code; tell them what it does, why, and what "
        "would trip them up.\n\n"
        f"Reply with one JSON object with these fields:\n{fields}\n\n{_COMMON_RULES}"
    )


def _messages(system: str, out: _Budget) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": out.text()}]


def _bounded(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _first_paragraph(docstring: str | None) -> str:
    if not docstring:
        return ""
    paragraph = docstring.strip().split("\n\n", 1)[0]
    return _bounded(" ".join(paragraph.split()), _SHORT_DOC_LIMIT)


def _whole_lines(code: str, limit: int) -> str:
    """``code`` cut at a line boundary to at most ``limit`` characters, saying how much is left
    out."""
    if len(code) <= limit:
        return code
    kept = code[:limit].rsplit("\n", 1)[0]
    left = code.count("\n") - kept.count("\n")
    return f"{kept}\n# ... ({left} more lines left out)"


def variant_lines(definition: FunctionFacts | ClassFacts) -> list[str]:
    """ "Defined N times" and one line per other definition, for a name defined more than once."""
    if not definition.variants:
        return []
    total = len(definition.variants) + 1
    lines = [
        f"Defined {total} times; this one (lines {definition.start_line}-{definition.end_line}) "
        "is the primary definition. The others:"
    ]
    lines += [
        f"- {v.kind}, lines {v.start_line}-{v.end_line}: {v.signature}" for v in definition.variants
    ]
    return lines


def _function_line(function: FunctionFacts, *, indent: str) -> str:
    decorators = "".join(f"@{d} " for d in function.decorators)
    header = compact_header(function.header)
    line = f"{indent}{function.start_line}-{function.end_line}: {decorators}{header}"
    doc = _first_paragraph(function.docstring)
    return f"{line}\n{' ' * len(indent)}  {doc!r}" if doc else line


def _definition_lines(facts: FileFacts) -> list[str]:
    """Top-level functions and classes (with their methods) in source order."""
    entries: list[tuple[int, list[str]]] = []
    for function in facts.functions:
        entries.append((function.start_line, [_function_line(function, indent="- ")]))
    for cls in facts.classes:
        decorators = "".join(f"@{d} " for d in cls.decorators)
        line = f"- {cls.start_line}-{cls.end_line}: {decorators}{compact_header(cls.header)}"
        doc = _first_paragraph(cls.docstring)
        block = [f"{line}\n    {doc!r}" if doc else line]
        block += [_function_line(method, indent="  - ") for method in cls.methods]
        entries.append((cls.start_line, block))
    entries.sort(key=lambda entry: entry[0])
    return [line for _, block in entries for line in block]


def _import_line(fact: ImportFact) -> str:
    module = "." * fact.level + fact.module
    text = f"from {module} import {', '.join(fact.names)}" if fact.names else f"import {module}"
    target = f"  -> {fact.resolved}" if fact.resolved else ""
    return f"- line {fact.line}: {text}{target}"


def _git_section(git: GitFacts) -> str:
    lines = [
        f"Git history: {git.commits} commits, first {git.first_commit or '?'}, "
        f"last modified {git.last_commit or '?'}"
    ]
    if git.authors:
        # Most commits first; a file of a big project has had a hundred authors, and their
        # names say little next to the code the budget could hold instead.
        lines.append(f"Authors: {listed(git.authors, _PROMPT_AUTHORS)}")
    if git.recent_subjects:
        lines.append("Recent commit subjects (newest first):")
        lines += [f"- {subject}" for subject in git.recent_subjects]
    return "\n".join(lines)


def _readme_section(readme: Readme) -> str:
    path = f"{readme.directory}/{readme.name}" if readme.directory else readme.name
    return f"README of the directory ({path}):\n{readme.text.strip()}"


def _snippets(facts: FileFacts, fence: str = "python") -> list[tuple[tuple[int, int], int, str]]:
    """Code excerpts of the file's definitions: (importance, line, text); the most important
    first is public before private, a top-level definition before a method, longer before
    shorter. An excerpt that shows nothing but a signature is left out."""
    found: list[tuple[tuple[int, int], int, str]] = []
    definitions: list[tuple[FunctionFacts | ClassFacts, bool]] = [
        (function, False) for function in facts.functions
    ]
    for cls in facts.classes:
        definitions.append((cls, False))
        definitions += [(method, True) for method in cls.methods]
    for definition, is_method in definitions:
        text = _snippet(definition, fence)
        if text is None:
            continue
        private = definition.name.startswith("_") and not definition.name.startswith("__")
        rank = 2 * private + is_method
        size = definition.end_line - definition.start_line
        found.append(((rank, -size), definition.start_line, text))
    return found


def _snippet(function: FunctionFacts | ClassFacts, fence: str = "python") -> str | None:
    code = function.snippet.rstrip()
    if not code:
        return None
    if function.heading is not None:  # another language's: shown as written
        pass
    elif isinstance(function, FunctionFacts):
        compacted = compact_snippet(code, function.header)
        if compacted is None:
            return None
        code = compacted
    else:  # the class's own lines: its methods have snippets of their own
        lines = code.split("\n")
        first_method = next(
            (
                i
                for i, line in enumerate(lines[1:], 1)
                if line.lstrip().startswith(("def ", "async def ", "@"))
            ),
            len(lines),
        )
        code = "\n".join(lines[:first_method]).rstrip()
    where = f"lines {function.start_line}-{function.end_line}"
    return f"### {function.qualname} ({where})\n```{fence}\n{code}\n```"


@attrs.define
class _Budget:
    """The sections of a user message, added in order of importance until the budget is spent."""

    remaining: int
    sections: list[str] = attrs.Factory(list)
    left_out: list[str] = attrs.Factory(list)

    def text(self) -> str:
        sections = list(self.sections)
        if self.left_out:
            sections.append(f"(Left out to fit the prompt budget: {', '.join(self.left_out)}.)")
        return "\n\n".join(sections)

    def _add(self, text: str) -> None:
        self.sections.append(text)
        self.remaining -= len(text) + 2  # the blank line between sections

    def header(self, text: str) -> None:
        """The node's identity: always whole, whatever the budget."""
        self._add(text)

    def must(self, text: str) -> None:
        """Add it, cut to what is left if need be: identity and docstrings always go in."""
        if len(text) + 2 > self.remaining:
            text = text[: max(0, self.remaining - 6)].rstrip() + "..."
        self._add(text)

    def may(self, text: str, name: str) -> None:
        """Add it whole if it fits, else leave it out."""
        if len(text) + 2 <= self.remaining:
            self._add(text)
        else:
            self.left_out.append(name)

    def truncated(self, text: str, name: str, *, limit: int | None = None) -> None:
        """Add as much of it as fits (and at most ``limit`` characters), if worth sending."""
        room = self.remaining if limit is None else min(self.remaining, limit)
        if len(text) + 2 <= room:
            self._add(text)
        elif room - 40 >= _TRUNCATION_FLOOR:
            self._add(text[: room - 40].rstrip() + "\n... (cut to fit)")
        else:
            self.left_out.append(name)

    def lines(
        self, title: str, lines: Sequence[str], name: str, *, limit: int | None = None
    ) -> None:
        """A titled list, as many whole lines as fit (in at most ``limit`` characters); the
        rest counted in a note."""
        if not lines:
            return
        room = self.remaining if limit is None else min(self.remaining, limit)
        kept: list[str] = []
        size = len(title) + 2
        for line in lines:
            if size + len(line) + 1 + 60 > room:  # 60: room for the "more" line
                break
            kept.append(line)
            size += len(line) + 1
        if not kept:
            self.left_out.append(name)
            return
        if len(kept) < len(lines):
            kept.append(f"... ({len(lines) - len(kept)} more {name} left out to fit)")
        self._add("\n".join([title, *kept]))

    def snippets(self, snippets: Sequence[tuple[tuple[int, int], int, str]]) -> None:
        """The snippets that fit whole, the most important first (see `_snippets`), shown in
        source order; the count of the others in a note."""
        if not snippets:
            return
        title = "Code snippets:"
        self.remaining -= len(title) + 2
        chosen = [s for s in sorted(snippets) if self._fits_then_take(s[2])]
        kept = [text for _, _, text in sorted(chosen, key=lambda s: s[1])]
        if kept:
            self.sections.append("\n\n".join([title, *kept]))
        else:
            self.remaining += len(title) + 2
        if len(kept) < len(snippets):
            self.left_out.append(f"{len(snippets) - len(kept)} of {len(snippets)} code snippets")

    def _fits_then_take(self, snippet: str) -> bool:
        if len(snippet) + 2 > self.remaining:
            return False
        self.remaining -= len(snippet) + 2
        return True
