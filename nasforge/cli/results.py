"""``nasforge trials``, ``nasforge best``, ``nasforge pareto`` and ``nasforge report``: read a
stored experiment's results."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from nasforge.cli._common import JsonOpt, StorageOpt, split_option, stdout_console
from nasforge.cli._render import (
    best_json,
    print_best,
    print_pareto,
    print_trials,
    trial_record_json,
)
from nasforge.errors import NasforgeError
from nasforge.storage import DEFAULT_STORAGE

#: the one-shot methods, which end their search with an honesty report (named in the message
#: for an experiment without one; the registry cannot tell them apart without importing each)


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
        typer.echo(json.dumps([trial_record_json(t) for t in rows], indent=None))
    else:
        print_trials(stdout_console(), rows, exp.objectives, exp.constraints)


def best(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    json_: JsonOpt = False,
) -> None:
    """The best complete trial of an experiment (a feasible one, under hard constraints)."""
    from nasforge.experiment import load_experiment

    exp = load_experiment(name, storage)
    trial = exp.best()
    if trial is None:
        feasible = f" that keeps its constraints ({exp.constraints})" if exp.constraints else ""
        raise NasforgeError(f"experiment {name!r} has no complete trial{feasible} yet")
    if json_:
        typer.echo(json.dumps(best_json(trial, exp.name, exp.objectives)))
    else:
        print_best(stdout_console(), trial, exp.name, exp.objectives)


def _point(text: str | None, option: str) -> list[float] | None:
    return None if text is None else split_option(text, option, float)


def pareto(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    json_: JsonOpt = False,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Reference point, one value per objective in its own units (e.g. 0,5). Alone: "
            "the raw hypervolume; default: normalised by the front's ideal and nadir, "
            "reference 1.1.",
        ),
    ] = None,
    ideal: Annotated[
        str | None,
        typer.Option("--ideal", help="Ideal point to normalise by (with --nadir), e.g. 95,0."),
    ] = None,
    nadir: Annotated[
        str | None,
        typer.Option("--nadir", help="Nadir point to normalise by (with --ideal), e.g. 80,1.5."),
    ] = None,
) -> None:
    """The Pareto front of a multi-objective experiment and its hypervolume, with the
    reference point it was measured against."""
    from nasforge.experiment import load_experiment

    exp = load_experiment(name, storage)
    if not exp.objectives.multi:
        raise NasforgeError(
            f"experiment {name!r} has one objective ({exp.objectives.primary}), so its front is "
            f"its best trial: nasforge best {name}"
        )
    summary = exp.pareto_summary(
        _point(reference, "--reference"),
        ideal=_point(ideal, "--ideal"),
        nadir=_point(nadir, "--nadir"),
    )
    if not summary.n_complete:
        raise NasforgeError(f"experiment {name!r} has no complete trial yet")
    if json_:
        typer.echo(json.dumps(summary.to_json()))
    else:
        print_pareto(stdout_console(), summary)


def report(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    json_: JsonOpt = False,
) -> None:
    """The honesty report of a one-shot search: archs trained alone against the supernet."""
    from nasforge.experiment import load_experiment
    from nasforge.oneshot import format_report, load_report
    from nasforge.strategies import list_strategies

    exp = load_experiment(name, storage)
    stored = load_report(exp.storage, exp.record.id)
    if stored is None:
        raise NasforgeError(
            f"experiment {name!r} has no honesty report; only one-shot methods "
            f"({', '.join(list_strategies('one-shot'))}) write one"
        )
    if json_:
        typer.echo(json.dumps(stored.to_dict()))
    else:
        typer.echo(format_report(stored))
