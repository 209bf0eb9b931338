"""``nasforge search | trials | best | bench nb201 | spaces | strategies``.

A user error (bad config, unknown name or experiment, unreadable table) is printed as one line
on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from nasforge.cli._render import (
    best_json,
    print_best,
    print_registry,
    print_top,
    print_trials,
    trial_json,
)
from nasforge.errors import ConfigError, NasforgeError
from nasforge.storage import DEFAULT_STORAGE

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Neural architecture search and hyperparameter optimisation on PyTorch.",
)
bench_app = typer.Typer(no_args_is_help=True, help="Measure strategies on benchmark tables.")
app.add_typer(bench_app, name="bench")
storage_app = typer.Typer(no_args_is_help=True, help="Look after a store.")
app.add_typer(storage_app, name="storage")

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


def _out() -> Console:
    """Standard output; wide when piped so arch keys are not folded across lines."""
    return Console(width=None if sys.stdout.isatty() else 240)


@app.command()
@user_errors
def search(
    config: Annotated[Path, typer.Argument(help="YAML file describing the search.")],
    max_trials: Annotated[int | None, typer.Option(help="Trials in total (resumes count).")] = None,
    max_time: Annotated[float | None, typer.Option(help="Seconds for this run.")] = None,
    storage: Annotated[str | None, typer.Option(help="Store URL (overrides the file).")] = None,
    name: Annotated[str | None, typer.Option(help="Experiment name (overrides the file).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (overrides the file).")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Early-stopping scheduler, e.g. asha (overrides the file's; 'none': off)."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Trials at once (>1 alone means --executor processes).")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local (in-process), processes or ray.")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster to use (implies --executor ray).")
    ] = None,
    devices: Annotated[
        str | None, typer.Option(help="Worker devices, round-robin, e.g. cuda:0,cuda:1.")
    ] = None,
    gpus_per_trial: Annotated[
        float | None, typer.Option(help="With Ray: GPUs per trial (0.5 packs two on a GPU).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Run (or resume) the search a YAML file describes; Ctrl-C stops it, rerun to resume."""
    from nasforge.experiment.config import build_experiment, load_config

    cfg = load_config(config)
    updates = {"storage": storage, "name": name, "seed": seed}
    cfg = cfg.model_copy(update={k: v for k, v in updates.items() if v is not None})
    if scheduler is not None:
        from nasforge.experiment.config import Component

        chosen = None if scheduler == "none" else Component(name=scheduler)
        cfg = cfg.model_copy(update={"scheduler": chosen})
    execution = _execution(cfg.execution, workers, executor, ray_address, devices)
    if gpus_per_trial is not None:
        if gpus_per_trial < 0:
            raise ConfigError(f"--gpus-per-trial must be >= 0, got {gpus_per_trial}")
        execution = execution.model_copy(update={"gpus_per_trial": gpus_per_trial})
    budget = cfg.budget.model_copy(
        update={k: v for k, v in {"max_trials": max_trials, "max_time": max_time}.items() if v}
    )
    if budget.max_trials is None and budget.max_time is None:
        raise ConfigError(
            f"{config}: budget: give budget.max_trials or budget.max_time (or --max-trials)"
        )
    exp = build_experiment(cfg)
    console = _out()
    stored = len(exp.trials())
    if stored:
        console.print(f"resuming experiment [bold]{exp.name}[/] ({stored} trials stored)")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        exp.run(
            max_trials=budget.max_trials,
            max_time=budget.max_time,
            progress=not quiet,
            **execution.run_options(),
        )
    except KeyboardInterrupt:
        done = sum(1 for t in exp.trials() if t.status.finished)
        Console(stderr=True).print(
            f"interrupted: {done} finished trials are stored in {exp.storage.url}; "
            "run the same command again to resume"
        )
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_top(console, exp.trials(), exp.objectives)
    console.print(
        f"experiment [bold]{exp.name}[/] stored in {exp.storage.url}\n"
        f"  see all trials: nasforge trials {exp.name} --storage {exp.storage.url}"
    )


@app.command()
@user_errors
def trials(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    json_: JsonOpt = False,
) -> None:
    """One row per trial: number, status, arch key, metrics."""
    from nasforge.experiment import load_experiment

    exp = load_experiment(name, storage)
    rows = exp.trials()
    if json_:
        typer.echo(json.dumps([trial_json(t) for t in rows], indent=None))
    else:
        print_trials(_out(), rows, exp.objectives)


@app.command()
@user_errors
def best(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    json_: JsonOpt = False,
) -> None:
    """The best complete trial of an experiment."""
    from nasforge.experiment import load_experiment

    exp = load_experiment(name, storage)
    trial = exp.best()
    if trial is None:
        raise NasforgeError(f"experiment {name!r} has no complete trial yet")
    if json_:
        typer.echo(json.dumps(best_json(trial, exp.name, exp.objectives)))
    else:
        print_best(_out(), trial, exp.name, exp.objectives)


@bench_app.command("nb201")
@user_errors
def bench_nb201(
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

    strategies = _split(strategy, "--strategy", str)
    budgets = _split(queries, "--queries", int)
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
    _out().print(out)


@app.command()
@user_errors
def spaces() -> None:
    """The registered search spaces."""
    from nasforge.spaces import SPACES

    print_registry(_out(), SPACES)


@app.command()
@user_errors
def strategies() -> None:
    """The registered search strategies."""
    from nasforge.strategies import STRATEGIES

    print_registry(_out(), STRATEGIES)


@storage_app.command("upgrade")
@user_errors
def storage_upgrade(storage: StorageOpt = DEFAULT_STORAGE) -> None:
    """Upgrade a store written by an older nasforge to this version's schema (back it up first)."""
    from nasforge.storage import SCHEMA_VERSION, Storage

    store = Storage(storage, create=False, upgrade=True)
    if store.upgraded_from is None:
        print(f"{store.url}: already at schema version {SCHEMA_VERSION}")
    else:
        print(
            f"{store.url}: upgraded from schema version {store.upgraded_from} to {SCHEMA_VERSION}"
        )


def _execution(
    execution: Any,
    workers: int | None,
    executor: str | None,
    ray_address: str | None,
    devices: str | None,
) -> Any:
    """The file's ``execution`` block with the command line's options on top."""
    from nasforge.execution import EXECUTORS

    if executor is not None and executor not in EXECUTORS:
        raise ConfigError(f"--executor: unknown executor {executor!r}; use local, processes or ray")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if ray_address is not None and executor is None:
        executor = "ray"
    updates = {
        "workers": workers,
        "executor": executor,
        "ray_address": ray_address,
        "devices": devices.split(",") if devices else None,
    }
    return execution.model_copy(update={k: v for k, v in updates.items() if v is not None})


def _split(text: str, option: str, kind: type) -> list[Any]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigError(f"{option}: give at least one value")
    try:
        return [kind(p) for p in parts]
    except ValueError:
        raise ConfigError(
            f"{option}: expected comma-separated {kind.__name__}s, got {text!r}"
        ) from None


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def _register_commands() -> None:
    from nasforge.cli import ship, viz

    ship.register(app)  # retrain, export
    viz.register(app)  # plot, dashboard


_register_commands()


def main() -> None:
    """Entry point of the ``nasforge`` command."""
    app()
