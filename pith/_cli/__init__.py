"""The command line: ``_commands`` parses, calls the library and renders; ``_console`` renders
what `pith generate` says while it runs. No logic of pith's own lives here."""

from ._commands import CliState, cli, main

__all__ = ["CliState", "cli", "main"]
