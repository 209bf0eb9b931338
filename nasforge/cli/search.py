"""``nasforge search``: run (or resume) the search a YAML file describes."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from nasforge.cli._common import stderr_console, stdout_console
from nasforge.cli._render import print_top
from nasforge.errors import ConfigError, SearchFailedError, counted
from nasforge.interrupt import INTERRUPTED_STATUS, stop_on_signals


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
    trial_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds a trial may run; a longer one fails (overrides the file)."),
    ] = None,
    ordered: Annotated[
        bool | None,
        typer.Option(
            "--ordered/--unordered",
            help="Tell results in the order asked: the same search with any workers.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Run (or resume) the search a YAML file describes; Ctrl-C stops it, rerun to resume."""
    from nasforge.experiment.components import check_budget, check_seed
    from nasforge.experiment.config import build_experiment, load_config
    from nasforge.oneshot import load_report

    cfg = load_config(config)
    if seed is not None:
        check_seed(seed, "--seed")
    check_budget(max_trials, max_time, "--max-trials", "--max-time")
    updates = {"storage": storage, "name": name, "seed": seed}
    cfg = cfg.model_copy(update={k: v for k, v in updates.items() if v is not None})
    from nasforge.storage import refuse_in_memory

    refuse_in_memory(cfg.storage, "search")  # an empty URL too: the results would be lost
    if scheduler is not None:
        from nasforge.experiment.config import Component

        chosen = None if scheduler == "none" else Component(name=scheduler)
        cfg = cfg.model_copy(update={"scheduler": chosen})
    execution = _execution(cfg.execution, workers, executor, ray_address, devices)
    if gpus_per_trial is not None:
        if gpus_per_trial < 0:
            raise ConfigError(f"--gpus-per-trial must be >= 0, got {gpus_per_trial}")
        execution = execution.model_copy(update={"gpus_per_trial": gpus_per_trial})
    if trial_timeout is not None:
        if not trial_timeout > 0:
            raise ConfigError(
                f"--trial-timeout must be a number of seconds > 0, got {trial_timeout}"
            )
        execution = execution.model_copy(update={"trial_timeout": trial_timeout})
    if ordered is not None:
        execution = execution.model_copy(update={"ordered": ordered})
    given = {"max_trials": max_trials, "max_time": max_time}
    budget = cfg.budget.model_copy(update={k: v for k, v in given.items() if v is not None})
    exp = build_experiment(cfg, source=str(config))
    from nasforge.oneshot import OneShotMethod

    ends_itself = isinstance(exp.strategy_, OneShotMethod)  # after its epochs
    if budget.max_trials is None and budget.max_time is None and not ends_itself:
        raise ConfigError(
            f"{config}: budget: give budget.max_trials or budget.max_time (or --max-trials)"
        )
    run_options = execution.run_options()
    exp.check_run(budget.max_trials, budget.max_time, **run_options)  # before the store is read
    console = stdout_console()
    stored = len(exp.trials())
    if stored:
        trials = counted(stored, "trial")
        console.print(f"resuming experiment [bold]{exp.name}[/] ({trials} stored)")
    # SIGTERM stops a search as Ctrl-C does, so the interrupted trials are recorded; both are
    # remembered, so that one arriving inside a finaliser (where an interrupt would be ignored)
    # still stops it. An ignored SIGINT (a background job) stays ignored.
    signals = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signals.append(signal.SIGINT)
    try:
        with stop_on_signals(*signals):
            exp.run(
                max_trials=budget.max_trials,
                max_time=budget.max_time,
                progress=not quiet,
                **run_options,
            )
    except SearchFailedError:  # what was tried, then the error in one line (exit status 2)
        print_top(console, exp.trials(), exp.objectives, constraints=exp.constraints)
        raise
    except KeyboardInterrupt:
        done = sum(1 for t in exp.trials() if t.status.finished)
        stderr_console().print(
            Text(
                f"interrupted: {counted(done, 'finished trial')} stored in {exp.storage.url}; "
                "run the same command again to resume"
            ),
            soft_wrap=True,
        )
        raise typer.Exit(INTERRUPTED_STATUS) from None
    print_top(console, exp.trials(), exp.objectives, constraints=exp.constraints)
    _print_ensemble(console, exp)
    console.print(
        f"experiment [bold]{exp.name}[/] stored in {exp.storage.url}\n"
        f"  see all trials: nasforge trials {exp.name} --storage {exp.storage.url}"
    )
    if load_report(exp.storage, exp.record.id) is not None:
        console.print(
            f"  see its honesty report: nasforge report {exp.name} --storage {exp.storage.url}"
        )


def _print_ensemble(console: Any, exp: Any) -> None:
    """When the search kept its trials' weights (``keep_weights``) and has one objective: the
    best ones combined. (With several, e.g. accuracy and latency, five networks in one would
    cost five times what the front says.)"""
    if not getattr(exp.evaluator, "keep_weights", False) or len(exp.objectives) != 1:
        return
    from nasforge.errors import NasforgeError
    from nasforge.export.ensemble import ensemble

    try:
        _, result = ensemble(exp.name, exp.storage, space=exp.space, evaluator=exp.evaluator)
    except NasforgeError:  # e.g. every trial failed: there is nothing to combine
        return
    console.print(result.summary())
    console.print(
        f"  export it: nasforge export {exp.name} --ensemble {len(result.members)} "
        f"--format onnx --out model.onnx --storage {exp.storage.url}"
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
