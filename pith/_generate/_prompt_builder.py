"""The prompt of any node, read from the store (blocking: the generator calls it off the event
loop)."""

from __future__ import annotations

from pathlib import Path

import attrs

from .._extract._files import read_regular_file
from .._extract._python import MAX_FILE_BYTES, content_hash, source_text
from .._models import EdgeType, FileFacts, Node, NodeType
from .._store import Store
from ._compact import compact_code
from ._prompts import (
    FUNCTION_CODE_CHARS,
    SMALL_FILE_CHARS,
    ChildSummary,
    file_prompt,
    function_prompt,
    module_prompt,
)
from ._prose import FactIndex

__all__ = ["Messages", "Prompt", "PromptBuilder"]

_RECENT_FACTS = 64
# Trailing whitespace a line may have: a text longer than its limit by more than this per line
# is over it without being stripped and joined.
_TRAILING = 4

Messages = list[dict[str, str]]


@attrs.frozen
class Prompt:
    """A node's prompt, and what its reply is checked against: the index of the file's facts
    and of the source the prompt quotes beyond them (None for a package), and that source ("" when
    none)."""

    messages: Messages
    index: FactIndex | None = None
    code: str = ""


@attrs.define
class PromptBuilder:
    """Builds the prompt of any node from the store (blocking: call it off the event loop).

    A module's child summaries come from ``summaries`` (this run's, newest) first, then from the
    store.
    """

    store: Store
    summaries: dict[str, str] = attrs.Factory(dict)
    # The last few files' facts: a file's functions are selected right after the file (ids
    # sort together), so each file's facts are read and decoded once, not once per function.
    _recent_facts: dict[str, FileFacts] = attrs.Factory(dict)
    # Their indexes for checking replies, built once per file (here, off the event loop).
    _recent_index: dict[str, FactIndex] = attrs.Factory(dict)
    # The lines of the file read last (path, lines or None): its functions come one after another.
    _lines: tuple[str, list[str] | None] | None = None
    # Who imports the file read last (path, importers), shown in each of its functions' prompts.
    _importers: tuple[str, list[str]] | None = None

    def prompt(self, node: Node) -> Prompt:
        """The prompt for ``node`` and the facts its reply is checked against."""
        if node.type is NodeType.FILE:
            facts = self._file_facts(node.path)
            # A bigger file is not sent whole: its definitions and snippets say more per token.
            code = self._code(facts, 1, facts.lines, limit=SMALL_FILE_CHARS)
            readme = self.store.readme(_directory_of(node.path))
            messages = file_prompt(node, facts, readme, code=code)
            return Prompt(messages, self._index(facts).with_code(code or ""), code or "")
        if node.type is NodeType.FUNCTION:
            file_id, _, qualname = node.id.rpartition(":")
            facts = self._file_facts(file_id)
            definition = facts.definition(qualname)
            if definition is None:
                raise LookupError(f"{qualname} is no longer defined in {file_id}; run `pith build`")
            used_by = self._used_by(file_id)
            code = self._code(facts, definition.start_line, definition.end_line)
            if code is not None and len(code) > FUNCTION_CODE_CHARS:
                code = compact_code(code)  # its bodies, not its signatures' metadata
            messages = function_prompt(node, facts, definition, used_by, code=code)
            quoted = (code or "")[:FUNCTION_CODE_CHARS]
            return Prompt(messages, self._index(facts).with_code(quoted), quoted)
        readme = self.store.readme("" if node.path == "." else node.path)
        return Prompt(module_prompt(node, self._children(node), readme, self._public_api(node)))

    def _code(
        self, facts: FileFacts, start: int, end: int, *, limit: int | None = None
    ) -> str | None:
        """Lines ``start`` to ``end`` of the file as it was extracted, read again from the
        codebase (the store keeps facts, not sources); None when the file is gone, unreadable
        or changed since (its facts, not today's text, are what the node was built from), or
        when the lines are longer than ``limit`` characters."""
        if self._lines is None or self._lines[0] != facts.path:
            self._lines = (facts.path, self._read_lines(facts))
        lines = self._lines[1]
        if lines is None:
            return None
        chosen = lines[start - 1 : end]
        if limit is not None and sum(map(len, chosen)) > limit + len(chosen) * _TRAILING:
            return None  # far over the limit: not worth stripping and joining to find out
        code = "\n".join(line.rstrip() for line in chosen)
        return None if limit is not None and len(code) > limit else code

    def _read_lines(self, facts: FileFacts) -> list[str] | None:
        root = self.store.root
        if root is None:
            return None
        try:
            data = read_regular_file(Path(root) / facts.path, MAX_FILE_BYTES + 1)
        except OSError:
            return None
        if content_hash(data) != facts.content_hash or b"\0" in data:  # changed, or not text
            return None
        text = source_text(data)
        return None if text is None else text.split("\n")  # as ast counts lines

    def _used_by(self, file_id: str) -> list[str]:
        if self._importers is None or self._importers[0] != file_id:
            edges = self.store.edges(file_id, EdgeType.IMPORTED_BY)
            self._importers = (file_id, [edge.target for edge in edges])
        return self._importers[1]

    def _index(self, facts: FileFacts) -> FactIndex:
        index = self._recent_index.get(facts.path)
        if index is None:
            if len(self._recent_index) >= _RECENT_FACTS:
                del self._recent_index[next(iter(self._recent_index))]
            index = self._recent_index[facts.path] = FactIndex.of(facts)
        return index

    def _file_facts(self, path: str) -> FileFacts:
        facts = self._recent_facts.get(path)
        if facts is None:
            facts = self.store.file_facts(path)
            if facts is None:
                raise LookupError(f"no extracted facts for {path}; run `pith extract` again")
            if len(self._recent_facts) >= _RECENT_FACTS:
                del self._recent_facts[next(iter(self._recent_facts))]
            self._recent_facts[path] = facts
        return facts

    def _children(self, node: Node) -> list[ChildSummary]:
        return [
            ChildSummary(
                child,
                NodeType.FILE if child_type is None else NodeType(child_type),
                self.summaries.get(child, summary),
            )
            for child, child_type, summary in self.store.contained_summaries(node.id)
        ]

    def _public_api(self, node: Node) -> list[str]:
        """The exports of the package's ``__init__.py``, or of its ``index.ts`` (any script
        suffix, ``src/index.ts`` for a JavaScript package)."""
        prefix = "" if node.path == "." else f"{node.path}/"
        names = ["__init__.py", *(f"{d}index{s}" for d in ("", "src/") for s in _INDEX_SUFFIXES)]
        for name in names:
            facts = self.store.file_facts(prefix + name)
            if facts is not None:
                return list(facts.exports)
        return []


_INDEX_SUFFIXES = (".ts", ".tsx", ".js", ".mjs", ".cjs", ".jsx", ".mts")


def _directory_of(path: str) -> str:
    return path.rpartition("/")[0]
