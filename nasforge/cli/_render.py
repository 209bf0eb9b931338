"""Tables and JSON for the command line."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from nasforge.registry import Registry
from nasforge.trial import Trial, TrialStatus

_STATUS_STYLE = {
    TrialStatus.COMPLETE: "green",
    TrialStatus.PRUNED: "yellow",
    TrialStatus.FAILED: "red",
    TrialStatus.INTERRUPTED: "magenta",
    TrialStatus.RUNNING: "cyan",
}


def _num(value: float | None) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def trial_record_json(trial: Trial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "status": trial.status.value,
        "arch": trial.arch.key,
        "values": dict(trial.arch),
        "metrics": {k: _num(v) for k, v in trial.metrics.items()},
        "seed": trial.seed,
        "duration_s": trial.duration_s,
        "retry_of": trial.retry_of,
        "error": trial.error.splitlines()[0] if trial.error else None,
    }


def best_json(trial: Trial, experiment: str, objectives: Mapping[str, str]) -> dict[str, Any]:
    return {"experiment": experiment, "objectives": dict(objectives), **trial_record_json(trial)}


def _metric_columns(trials: Sequence[Trial], objectives: Mapping[str, str]) -> list[str]:
    names: list[str] = list(objectives)
    for preferred in ("val_acc", "test_acc", "params", "params_m"):
        if preferred not in names and any(preferred in t.metrics for t in trials):
            names.append(preferred)
    return names


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"


def print_trials(console: Console, trials: Sequence[Trial], objectives: Mapping[str, str]) -> None:
    columns = _metric_columns(trials, objectives)
    table = Table(title=f"{len(trials)} trials")
    for name in ("#", "status", "arch"):
        table.add_column(name, overflow="fold")
    for name in columns:
        table.add_column(name, justify="right")
    table.add_column("seconds", justify="right")
    for t in trials:
        style = _STATUS_STYLE.get(t.status, "")
        table.add_row(
            str(t.number),
            f"[{style}]{t.status.value}[/]",
            t.arch.key,
            *(_fmt(t.metrics.get(c)) for c in columns),
            _fmt(t.duration_s),
        )
    console.print(table)


def print_top(
    console: Console, trials: Sequence[Trial], objectives: Mapping[str, str], top: int = 5
) -> None:
    done = [t for t in trials if t.score is not None and t.status == TrialStatus.COMPLETE]
    done.sort(key=lambda t: (-t.score, t.number))  # type: ignore[operator]
    counts = {s: sum(1 for t in trials if t.status == s) for s in TrialStatus}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    console.print(f"{len(trials)} trials ({summary or 'none'})")
    if done:
        table = Table(title=f"best {min(top, len(done))} trials")
        for name in ("rank", "#", "arch"):
            table.add_column(name, overflow="fold")
        columns = _metric_columns(done, objectives)
        for name in columns:
            table.add_column(name, justify="right")
        for rank, t in enumerate(done[:top], start=1):
            table.add_row(
                str(rank), str(t.number), t.arch.key, *(_fmt(t.metrics.get(c)) for c in columns)
            )
        console.print(table)


def print_best(
    console: Console, trial: Trial, experiment: str, objectives: Mapping[str, str]
) -> None:
    console.print(f"best trial of [bold]{experiment}[/]: #{trial.number}")
    console.print(f"  arch: {trial.arch.key}")
    for name, value in trial.metrics.items():
        console.print(f"  {name}: {_fmt(value)}")


def print_registry(console: Console, registry: Registry[Any]) -> None:
    for name in registry.names():
        console.print(f"[bold]{name:<24}[/] {registry.summary(name)}")
