"""What every command shares: the error and warning policy, the stdout console, option types.

A user error (a :class:`~nasforge.errors.NasforgeError`) is one line ``error: ...`` on stderr
with exit status 2, never a traceback; a :class:`~nasforge.errors.NasforgeWarning` is one line
``warning: ...`` on stderr and the command goes on. :func:`user_errors` applies both; the app
builder in :mod:`nasforge.cli.main` wraps every command in it.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from typing import Annotated, Any, TextIO, TypeVar

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from nasforge.errors import ConfigError, NasforgeError, NasforgeWarning
from nasforge.interrupt import INTERRUPTED_STATUS

StorageOpt = Annotated[
    str, typer.Option("--storage", help="SQLAlchemy URL or SQLite file of the store.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
F = TypeVar("F", bound=Callable[..., Any])


def user_errors(command: F) -> F:
    """Run ``command`` under the CLI's error and warning policy.

    A :class:`NasforgeError` is printed as ``error: <message>`` on stderr and the command exits
    with status 2; a :class:`NasforgeWarning` raised while it runs is printed as
    ``warning: <message>`` (see :func:`show_warning`). Any other warning keeps Python's format.
    A Ctrl-C that the command does not handle itself (``search`` does, once its loop runs) is
    one ``interrupted:`` line and exit status 130, where Typer would exit without a word.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(warnings.showwarning)
            try:
                return command(*args, **kwargs)
            except NasforgeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                raise typer.Exit(2) from None
            except KeyboardInterrupt:
                print("interrupted: stopped before the command finished", file=sys.stderr)
                raise typer.Exit(INTERRUPTED_STATUS) from None

    return wrapper  # type: ignore[return-value]


def show_warning(message: Warning | str) -> None:
    """Print ``warning: <message>`` on stderr as one line (yellow where Rich shows colour)."""
    line = Text(f"warning: {message}", style="yellow")
    stderr_console().print(line, soft_wrap=True, highlight=False)


def _one_line_warnings(show: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` printing a :class:`NasforgeWarning` in one line, others by
    ``show``."""

    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, NasforgeWarning):
            show_warning(message)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning


#: the width of the consoles when their stream is not a terminal (piped, or under a test)
PIPED_WIDTH = 240


def stdout_console() -> Console:
    """Standard output; wide when piped so arch keys are not folded across lines."""
    return Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def stderr_console() -> Console:
    """Standard error, as wide as :func:`stdout_console` when piped, so a long ``error:`` or
    ``interrupted:`` line is not folded at the terminal's width (``COLUMNS``)."""
    return Console(stderr=True, width=None if sys.stderr.isatty() else PIPED_WIDTH)


def package_version() -> str:
    """The installed distribution's version; ``nasforge.__version__`` when run from a source
    tree that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nasforge")
    except PackageNotFoundError:
        import nasforge

        return str(getattr(nasforge, "__version__", "unknown"))


def _plain_flags(params: list[Any]) -> list[Any]:
    """``params`` with no type shown after a boolean flag (``--json``, not ``--json <bool>``):
    Typer labels every option with its type, a flag included."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class FlagCommand(TyperCommand):
    """A Typer command whose ``--help`` shows a boolean flag as a plain flag."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


class FlagGroup(TyperGroup):
    """A Typer group whose ``--help`` shows a boolean flag as a plain flag."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(super().get_params(ctx))


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
