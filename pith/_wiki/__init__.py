"""The wiki as it is read: by agents (``_read``, ``_ask``, ``_retrieve``, ``_resolve`` and the
bounds of ``_limits``, over ``_serve`` and ``_mcp``) and by people (``_views``, ``_export``),
every piece of text made inert by ``_markdown``.

Modules are imported where they are used, not here: a reading command loads only what it needs.
"""

__all__: list[str] = []
