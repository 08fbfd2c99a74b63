"""The command line: parse the arguments, call the library, render the result. No logic lives here.

Exit codes: 0 success; 1 runtime failure; 2 usage or configuration error; 130 interrupted.
stdout carries results; stderr carries progress, warnings and errors.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import attrs
import click

from . import __version__
from ._config import Settings, load_settings
from ._errors import PithError, UsageError

__all__ = ["cli", "main"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@attrs.frozen
class CliState:
    """What the group's options hand to every command."""

    data_dir: str | None
    verbosity: int  # -1 quiet, 0 normal, 1 verbose

    def settings(self, **flags: object) -> Settings:
        return load_settings(data_dir=self.data_dir, **flags)  # type: ignore[arg-type]


def _err(message: str) -> None:
    click.echo(f"pith: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where pith keeps its database (default: $PITH_DATA_DIR or ./.pith).",
)
@click.option("-v", "--verbose", "verbosity", flag_value=1, help="Say more: a line per item.")
@click.option("-q", "--quiet", "verbosity", flag_value=-1, help="Say only errors.")
@click.version_option(__version__, "--version", prog_name="pith")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, verbosity: int | None) -> None:
    """Turn a Python codebase into a wiki that LLM coding agents can read.

    \b
    pith extract PATH   read the code: ast, git history, READMEs (no LLM)
    pith build          turn it into a graph of files, modules and functions
    pith generate       write prose for every node with your LLM endpoint
    pith show ID        read what was written
    """
    ctx.obj = CliState(data_dir=data_dir, verbosity=verbosity or 0)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line and exit with its code; errors become one line on stderr."""
    try:
        code = cli.main(args=argv, prog_name="pith", standalone_mode=False)
    except click.exceptions.Abort:
        _err("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UsageError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    except PithError as exc:
        _err(f"error: {exc}")
        sys.exit(EXIT_FAILURE)
    sys.exit(code if isinstance(code, int) else 0)
