"""The ``nasforge`` command's entry point (and ``python -m nasforge``'s).

Importing the command line takes about a second (Typer, Rich, the experiment and store layers);
a Ctrl-C in that second used to end in Python's traceback of the import under way. This module
imports nothing heavy itself (the package facade is lazy), so :func:`main` can take the
interrupt there too and end, as a search does, with one line and exit status 130.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from nasforge.interrupt import INTERRUPTED_STATUS


def main() -> None:
    """Run the ``nasforge`` command line; a Ctrl-C while it loads is one line, not a trace."""
    try:
        from nasforge.cli import main as run
    except KeyboardInterrupt:
        interrupted_while_starting()
    run()


def interrupted_while_starting() -> NoReturn:
    """Say that a Ctrl-C stopped the command before it ran anything, and exit with 130 (for a
    script that imports more before the command line, as the faults campaign's driver does)."""
    print("interrupted: stopped while starting; nothing was run or stored", file=sys.stderr)
    raise SystemExit(INTERRUPTED_STATUS) from None
