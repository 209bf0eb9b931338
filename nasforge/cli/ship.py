"""``nasforge retrain``, ``ensemble`` and ``export``: from a search result to a model to ship.

A user error (unknown experiment or trial, bad seeds, a format the space does not support) is
one line on stderr with exit status 2; an export whose parity check fails exits with 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nasforge.cli._common import JsonOpt, StorageOpt, split_option, stdout_console
from nasforge.storage import DEFAULT_STORAGE

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nasforge.estimation import Evaluator

TrialOpt = Annotated[
    int | None, typer.Option("--trial", help="Trial number (default: the best complete trial).")
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="A registered dataset to use instead of the evaluator's (needed after a search "
        "on a benchmark table).",
    ),
]


def retrain_command(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    trial: TrialOpt = None,
    epochs: Annotated[
        int | None, typer.Option(help="Training epochs (default: the evaluator's).", min=1)
    ] = None,
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds, one run each.")] = "0,1,2",
    storage: StorageOpt = DEFAULT_STORAGE,
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda, cuda:N or auto (default: the config's).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Train again even when a seed's weights are stored.")
    ] = False,
    dataset: DatasetOpt = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Train a trial's architecture from scratch per seed; store weights and test accuracy."""
    from nasforge.export import SeedResult, StoredTrial, retrain

    seed_list = split_option(seeds, "--seeds", int)
    console = stdout_console()

    def start(source: StoredTrial, epochs: int) -> None:
        console.print(
            f"retraining trial {source.trial.number} of [bold]{name}[/] from scratch "
            f"(epochs={epochs}, seeds {', '.join(map(str, seed_list))}): {source.trial.arch.key}"
        )

    def show(done: SeedResult) -> None:
        m = done.metrics
        how = "stored already" if done.reused else f"{m.get('seconds', float('nan')):.1f} s"
        console.print(
            f"  seed {done.seed}: test_acc {m.get('test_acc', float('nan')):.2f}  "
            f"val_acc {m.get('val_acc', float('nan')):.2f}  ({how}; artifact {done.artifact_id})"
        )

    result = retrain(
        name,
        storage,
        trial=trial,
        seeds=seed_list,
        epochs=epochs,
        device=device,
        evaluator=_train_on(dataset),
        force=force,
        progress=not quiet and console.is_terminal,
        console=console,  # the seeds' lines go above the bar, not onto it
        on_start=start,
        on_seed=show,
    )
    console.print(f"trial {result.trial}: {result.summary()}")
    console.print(
        f"  export it: nasforge export {name} --trial {result.trial} --format pytorch "
        f"--out model.pt --storage {storage}"
    )


SizeOpt = Annotated[
    int, typer.Option("--size", help="Members: the best trials that kept their weights.", min=1)
]


def ensemble_command(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    size: SizeOpt = 5,
    storage: StorageOpt = DEFAULT_STORAGE,
    json_: JsonOpt = False,
) -> None:
    """Combine the best trials' kept networks; print the ensemble's validation and test accuracy."""
    import json

    from nasforge.export.ensemble import ensemble

    _, result = ensemble(name, storage, size=size)
    if json_:
        typer.echo(json.dumps(result.to_json()))
        return
    console = stdout_console()
    console.print(result.summary())
    for member in result.members:
        m = member.metrics
        console.print(
            f"  trial {member.trial}: val_acc {m.get('val_acc', float('nan')):.2f}  "
            f"test_acc {m.get('test_acc', float('nan')):.2f}  {member.arch}"
        )
    console.print(
        f"  export it: nasforge export {name} --ensemble {len(result.members)} --format onnx "
        f"--out model.onnx --storage {storage}"
    )


def export_command(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    format: Annotated[str, typer.Option("--format", help="pytorch, torchscript, onnx or code.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    trial: TrialOpt = None,
    seed: Annotated[
        int | None, typer.Option(help="Retrained seed to export (default: best val_acc).")
    ] = None,
    storage: StorageOpt = DEFAULT_STORAGE,
    dataset: DatasetOpt = None,
    ensemble: Annotated[
        int | None,
        typer.Option(
            help="Export the N best trials' kept networks combined (see 'nasforge ensemble').",
            min=1,
        ),
    ] = None,
) -> None:
    """Write a trial's network (or an ensemble) as a nasforge file, TorchScript, ONNX or
    standalone Python."""
    from nasforge.export import export_model

    result = export_model(
        name,
        storage,
        format=format,
        out=out,
        trial=trial,
        seed=seed,
        evaluator=_train_on(dataset),
        ensemble=ensemble,
    )
    console = stdout_console()
    files = ", ".join(str(p) for p in result.paths)
    if ensemble is None:
        console.print(f"wrote {files} ({result.format}) for trial {result.trial}: {result.arch}")
    else:
        console.print(f"wrote {files} ({result.format}): {result.arch}")
    if result.trained:
        console.print(f"  weights: {result.weights}")
    else:
        console.print(
            f"  weights: [yellow]{result.weights}[/]; to ship a trained model run "
            f"'nasforge retrain {name} --trial {result.trial}' first"
        )
    console.print(f"  {result.check.line()}")
    if not result.check.passed:
        raise typer.Exit(1)


def _train_on(dataset: str | None) -> Evaluator | None:
    """A training evaluator with default options on ``dataset`` (``None``: the experiment's)."""
    if dataset is None:
        return None
    from nasforge.estimation.train import TrainEvaluator

    return TrainEvaluator(dataset)
