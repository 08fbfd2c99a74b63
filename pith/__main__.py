"""The ``pith`` script and ``python -m pith``: the command line, and Ctrl-C at any moment of it.

This module imports nothing heavy itself, so a Ctrl-C while the command line is still being
imported ends as it does later: one line and exit 130, no traceback.
"""

import sys

__all__ = ["main"]


def main() -> None:
    """Run the command line (`pith._cli.main`); it exits with the command's code."""
    try:
        if sys.argv[1:] == ["--version"]:
            # Asked for by installers and agents alike: answered as click's --version does,
            # without importing the command line (click alone costs several bare interpreter
            # starts; benchmarks/bench_startup.py).
            from ._version import __version__

            sys.stdout.write(f"pith, version {__version__}\n")
            return
        from ._cli import main as run_command_line

        run_command_line()
    except KeyboardInterrupt:
        sys.stderr.write("pith: interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
