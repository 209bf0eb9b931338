"""The ``nasforge`` command: the one place that lists every sub-command.

Each command is a plain function in a module by topic (:mod:`~nasforge.cli.search`,
:mod:`~nasforge.cli.results`, :mod:`~nasforge.cli.bench`, :mod:`~nasforge.cli.registries`,
:mod:`~nasforge.cli.store`, :mod:`~nasforge.cli.ship`, :mod:`~nasforge.cli.viz`); importing one
registers nothing. :func:`build_app` adds them all to a new Typer app, each under
:func:`~nasforge.cli._common.user_errors`: a user error is one line on stderr with exit status 2,
never a traceback, and a :class:`~nasforge.errors.NasforgeWarning` is one ``warning:`` line.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(build_app(), ["strategies"])
    >>> result.exit_code, "regularized-evolution" in result.stdout
    (0, True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from nasforge.cli import bench, experiments, registries, results, search, ship, store, viz
from nasforge.cli._common import FlagCommand, FlagGroup, package_version, user_errors

F = TypeVar("F", bound=Callable[..., Any])
HELP = "Neural architecture search and hyperparameter optimisation on PyTorch."


def _print_version(value: bool) -> None:
    """Print ``nasforge VERSION`` and stop, when ``--version`` is given."""
    if value:
        typer.echo(f"nasforge {package_version()}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print nasforge's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Neural architecture search and hyperparameter optimisation on PyTorch."""


def build_app() -> typer.Typer:
    """A new Typer app with every ``nasforge`` sub-command, in the order ``--help`` lists them."""
    app = typer.Typer(
        cls=FlagGroup,
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        help=HELP,
    )
    app.callback()(_root)
    command = _flag_command(app)
    command("search")(user_errors(search.search))
    command("trials")(user_errors(results.trials))
    command("best")(user_errors(results.best))
    command("pareto")(user_errors(results.pareto))
    command("report")(user_errors(results.report))
    command("experiments")(user_errors(experiments.experiments))
    command("spaces")(user_errors(registries.spaces))
    command("strategies")(user_errors(registries.strategies))
    command("retrain")(user_errors(ship.retrain_command))
    command("ensemble")(user_errors(ship.ensemble_command))
    command("export")(user_errors(ship.export_command))
    command("plot")(user_errors(viz.plot))
    command("dashboard")(user_errors(viz.dashboard))

    bench_app = typer.Typer(
        cls=FlagGroup, no_args_is_help=True, help="Measure strategies on benchmark tables."
    )
    _flag_command(bench_app)("nb201")(user_errors(bench.nb201))
    app.add_typer(bench_app, name="bench")

    storage_app = typer.Typer(cls=FlagGroup, no_args_is_help=True, help="Look after a store.")
    _flag_command(storage_app)("upgrade")(user_errors(store.upgrade))
    app.add_typer(storage_app, name="storage")
    return app


def _flag_command(app: typer.Typer) -> Callable[[str], Callable[[F], F]]:
    """``app.command`` whose commands show a boolean flag as a plain flag in ``--help``."""

    def command(name: str) -> Callable[[F], F]:
        return app.command(name, cls=FlagCommand)

    return command


app = build_app()


def main() -> None:
    """Entry point of the ``nasforge`` command (and of ``python -m nasforge``)."""
    app()
