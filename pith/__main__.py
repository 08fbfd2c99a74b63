"""The ``pith`` script and ``python -m pith``: the command line, and Ctrl-C at any moment of it.

This module imports nothing heavy itself, so a Ctrl-C while the command line is still being
imported ends as it does later: one line and exit 130, no traceback.
"""

import sys

__all__ = ["main"]


def main() -> None:
    """Run the command line (`pith._cli.main`); it exits with the command's code."""
    try:
        from ._cli import main as run_command_line

        run_command_line()
    except KeyboardInterrupt:
        sys.stderr.write("pith: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
