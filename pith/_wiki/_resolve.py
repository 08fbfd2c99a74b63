"""Node ids as a person or an agent types them.

`resolve(store, given)` guarantees: an exact id is itself; otherwise, in this order, the one
node that ``given`` names as

- a path with ``./``, a trailing ``/``, backslashes, or absolute inside the extracted root;
- a dotted module path (``httpx._client``, ``httpx._client.Client.send``);
- a unique suffix at a path or name boundary (``_client.py``, ``client/_models.py``,
  ``Client.send``, a bare symbol name ``AsyncClient``; a name is unique only if no other symbol,
  node or not, bears it);

is returned with ``given`` as ``resolved_from``. When no node or several match, `NotFoundError`
carries suggestions, best first (source before tests, then the shortest id).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

import attrs

from .._errors import NotFoundError
from .._store import Store
from ._retrieve import file_kind

__all__ = ["Resolved", "resolve"]

MAX_SUGGESTIONS = 5


@attrs.frozen
class Resolved:
    """The node id ``given`` names; ``resolved_from`` is ``given`` when it was not the id."""

    id: str
    resolved_from: str | None = None


def resolve(store: Store, given: str) -> Resolved:
    """The node ``given`` names (see the module docstring), else `NotFoundError`."""
    if store.node(given) is not None:
        return Resolved(given)
    ids = store.node_ids()
    known = set(ids)
    for candidate in _spellings(store, given):
        if candidate in known:
            return Resolved(candidate, given)
    matches = _suffix_matches(ids, given)
    text = given.strip()
    if len(matches) == 1 and "/" not in text and ":" not in text and not text.endswith(".py"):
        # A name (``AnyIOBackend``, ``Client.send``) is unique only if no other symbol has it:
        # two classes of one name are two answers, even when only one of them is a node.
        named = {symbol.id for symbol in store.symbols_named(text, limit=MAX_SUGGESTIONS + 1)}
        if len(named | set(matches)) > 1:
            matches = sorted(named | set(matches))
    if len(matches) == 1:
        return Resolved(matches[0], given)
    suggestions = _ordered(matches)[:MAX_SUGGESTIONS]
    if not suggestions:
        suggestions = store.suggest_ids(given, MAX_SUGGESTIONS)
    if matches:
        hint = f"; it matches {len(matches)} nodes: {', '.join(suggestions)}"
    elif suggestions:
        hint = f"; did you mean: {', '.join(suggestions)}"
    else:
        hint = "; see `pith list`"
    raise NotFoundError(f"no node {given!r}{hint}", suggestions=suggestions)


def _spellings(store: Store, given: str) -> list[str]:
    """The ids ``given`` may be spelled as, most literal first."""
    text = given.strip().replace("\\", "/")
    out: list[str] = []
    root = store.root
    if root and os.path.isabs(text):
        try:
            text = os.path.relpath(text, root).replace(os.sep, "/")
        except ValueError:
            return out
    path, colon, name = text.partition(":")
    normal = str(PurePosixPath(path)) if path else path
    if normal.startswith("../") or normal == "..":
        return out
    out.append(normal + colon + name)
    if not colon and "/" not in text and "." in text and not text.endswith(".py"):
        # A dotted path: the longest prefix that is a module or a file, the rest a qualname.
        parts = text.split(".")
        for cut in range(len(parts), 0, -1):
            module = "/".join(parts[:cut])
            rest = ".".join(parts[cut:])
            for file_id in (f"{module}.py", f"{module}/__init__.py", module):
                out.append(f"{file_id}:{rest}" if rest else file_id)
    return out


def _suffix_matches(ids: list[str], given: str) -> list[str]:
    text = given.strip().replace("\\", "/").rstrip("/").removeprefix("./")
    if not text:
        return []
    return [
        i
        for i in ids
        if i.endswith((f"/{text}", f":{text}", f".{text}")) or (":" not in text and i == text)
    ]


def _ordered(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda i: (file_kind(i.split(":", 1)[0]) != "source", len(i), i))
