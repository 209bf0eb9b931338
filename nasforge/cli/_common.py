"""What every command shares: the error policy, the stdout console, option types.

A user error (a :class:`~nasforge.errors.NasforgeError`) is one line ``error: ...`` on stderr
with exit status 2, never a traceback. :func:`user_errors` applies it; the app builder in
:mod:`nasforge.cli.main` wraps every command in it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from nasforge.errors import ConfigError, NasforgeError

StorageOpt = Annotated[
    str, typer.Option("--storage", help="SQLAlchemy URL or SQLite file of the store.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(command: F) -> F:
    """Print a :class:`NasforgeError` as one line on stderr and exit with status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NasforgeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def stdout_console() -> Console:
    """Standard output; wide when piped so arch keys are not folded across lines."""
    return Console(width=None if sys.stdout.isatty() else 240)


def split_option(text: str, option: str, kind: type) -> list[Any]:
    """The comma-separated values of ``option`` as ``kind``; a :class:`ConfigError` otherwise.

    Example:
        >>> split_option("0, 1,2", "--seeds", int)
        [0, 1, 2]
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigError(f"{option}: give at least one value")
    try:
        return [kind(p) for p in parts]
    except ValueError:
        raise ConfigError(
            f"{option}: expected comma-separated {kind.__name__}s, got {text!r}"
        ) from None
