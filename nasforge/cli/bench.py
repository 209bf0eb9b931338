"""``nasforge bench nb201``: measure strategies on the NAS-Bench-201 protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nasforge.cli._common import JsonOpt, split_option, stdout_console
from nasforge.errors import ConfigError


def nb201(
    strategy: Annotated[str, typer.Option(help="Strategy name(s), comma-separated.")],
    queries: Annotated[str, typer.Option(help="Query budget(s), comma-separated.")] = "100",
    repeats: Annotated[int, typer.Option(help="Seeds 0..R-1.", min=1)] = 10,
    table: Annotated[
        Path | None, typer.Option(help="A table in NAS-Bench-201 form (default: CIFAR-10).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """NAS-Bench-201 protocol: search on val_acc_12, report test_acc_200 of the best found."""
    from nasforge.bench import run_nb201

    strategies = split_option(strategy, "--strategy", str)
    budgets = split_option(queries, "--queries", int)
    if any(q < 1 for q in budgets):
        raise ConfigError(f"--queries: each budget must be >= 1, got {queries!r}")
    from nasforge.strategies import STRATEGIES

    for name in strategies:
        STRATEGIES.get(name)  # an unknown name fails before any work
    result = run_nb201(strategies, budgets, repeats, table=table, progress=not json_)
    if json_:
        typer.echo(json.dumps(result))
        return
    from rich.table import Table

    out = Table(title=f"NAS-Bench-201 test_acc_200 (mean ± std over {repeats} seeds)")
    out.add_column("strategy")
    for q in budgets:
        out.add_column(f"{q} queries", justify="right")
    for name, row in result.items():
        out.add_row(
            name, *(f"{row[str(q)]['mean']:.2f} ± {row[str(q)]['std']:.2f}" for q in budgets)
        )
    stdout_console().print(out)
