"""``python -m pith``: the same command line as the ``pith`` script."""

from ._cli import main

if __name__ == "__main__":
    main()
