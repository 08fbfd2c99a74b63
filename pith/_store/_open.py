"""`Store`: the connection with every table's methods, and `open_store` for a command."""

from __future__ import annotations

from typing import Literal

from .._config import Settings
from .._errors import UsageError
from ._facts import Facts
from ._graph import Graph
from ._prose import ProseStore
from ._symbols import SymbolStore

__all__ = ["Store", "open_store"]


class Store(Facts, Graph, ProseStore, SymbolStore):
    """The pith database. Open with `Store.open`; use as a context manager or call `close`.

    Every method is blocking and thread-safe (see `pith._store._connection`)."""


def open_store(
    settings: Settings,
    *,
    require: Literal["extracted", "built"] | None = None,
    read_only: bool = False,
) -> Store:
    """Open the store of ``settings``; with ``require``, refuse (UsageError) when the stage is
    missing, telling the user the command that fixes it. ``read_only``: see `Store.open`."""
    if require is not None and not settings.db_path.exists():
        raise UsageError(settings.no_store_message())
    store = Store.open(settings.db_path, read_only=read_only)
    if settings.api_key:
        store.secrets = (settings.api_key,)
    try:
        if require is not None and not store.is_extracted:
            raise UsageError("nothing extracted yet: run `pith extract PATH` first")
        if require == "built" and not store.is_built:
            raise UsageError("no node graph yet: run `pith build` first")
    except BaseException:
        store.close()
        raise
    return store
