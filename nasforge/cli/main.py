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

import typer

from nasforge.cli import bench, registries, results, search, ship, store, viz
from nasforge.cli._common import user_errors

HELP = "Neural architecture search and hyperparameter optimisation on PyTorch."


def build_app() -> typer.Typer:
    """A new Typer app with every ``nasforge`` sub-command, in the order ``--help`` lists them."""
    app = typer.Typer(
        add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=HELP
    )
    app.command("search")(user_errors(search.search))
    app.command("trials")(user_errors(results.trials))
    app.command("best")(user_errors(results.best))
    app.command("pareto")(user_errors(results.pareto))
    app.command("report")(user_errors(results.report))
    app.command("spaces")(user_errors(registries.spaces))
    app.command("strategies")(user_errors(registries.strategies))
    app.command("retrain")(user_errors(ship.retrain_command))
    app.command("export")(user_errors(ship.export_command))
    app.command("plot")(user_errors(viz.plot))
    app.command("dashboard")(user_errors(viz.dashboard))

    bench_app = typer.Typer(no_args_is_help=True, help="Measure strategies on benchmark tables.")
    bench_app.command("nb201")(user_errors(bench.nb201))
    app.add_typer(bench_app, name="bench")

    storage_app = typer.Typer(no_args_is_help=True, help="Look after a store.")
    storage_app.command("upgrade")(user_errors(store.upgrade))
    app.add_typer(storage_app, name="storage")
    return app


app = build_app()


def main() -> None:
    """Entry point of the ``nasforge`` command (and of ``python -m nasforge``)."""
    app()
