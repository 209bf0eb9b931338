"""Tables and JSON for the command line."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from nasforge.constraints import Constraints
from nasforge.errors import counted
from nasforge.registry import Registry
from nasforge.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from nasforge.experiment import ParetoSummary

_STATUS_STYLE = {
    TrialStatus.COMPLETE: "green",
    TrialStatus.PRUNED: "yellow",
    TrialStatus.FAILED: "red",
    TrialStatus.INTERRUPTED: "magenta",
    TrialStatus.RUNNING: "cyan",
}
#: the most characters of an error's first line that a table shows
ERROR_WIDTH = 60
#: the style of the status of a trial that breaks a hard constraint
INFEASIBLE_STYLE = "red"
#: the most characters of an arch key that the Pareto table shows (``--json`` has it whole)
ARCH_WIDTH = 48


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
        "error": trial.error or None,  # whole: the message, then the traceback
        "feasible": trial.feasible,
        "violations": dict(trial.violations),
    }


def first_line(error: str | None, width: int | None = None) -> str:
    r"""The first line of an error (its type and message), cut to ``width`` characters.

    Example:
        >>> first_line("ValueError: bad arch\nTraceback (most recent call last): ...", 14)
        'ValueError: b…'
    """
    line = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    if width is not None and len(line) > width:
        return line[: width - 1] + "…"
    return line


def most_common_error(trials: Sequence[Trial]) -> tuple[str, int, int] | None:
    """``(first line, trials it ended, failed trials)`` of the error that ended the most failed
    trials (the earliest on a tie), or ``None`` when none failed with an error."""
    lines = [first_line(t.error) for t in trials if t.status == TrialStatus.FAILED and t.error]
    if not lines:
        return None
    line, count = Counter(lines).most_common(1)[0]
    return line, count, sum(1 for t in trials if t.status == TrialStatus.FAILED)


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


def _decimals(value: float, significant: int) -> int:
    """How many decimals ``value`` needs to show ``significant`` digits (none past 1e5)."""
    text = f"{abs(value):.{significant}g}"
    if "e" in text:
        return 0 if abs(value) >= 1 else 6
    return len(text.partition(".")[2])


def format_column(values: Sequence[float | None], significant: int = 4) -> list[str]:
    """A table column's numbers with the same decimals, so they line up: as many as its most
    precise value needs for ``significant`` digits (at most 6); integers stay integers.

    Example:
        >>> format_column([99.0, 98.75, None, 1200.0])
        ['99.00', '98.75', '-', '1,200.00']
        >>> format_column([3.0, 12.0])
        ['3', '12']
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if all(v == int(v) for v in finite):
        digits = 0
    else:
        digits = min(6, max(_decimals(v, significant) for v in finite))
    return ["-" if v is None or not math.isfinite(v) else f"{v:,.{digits}f}" for v in values]


def format_seconds(values: Sequence[float | None]) -> list[str]:
    """A column of durations with the same decimals: three significant digits for the longest
    (one decimal at least, four at most).

    Example:
        >>> format_seconds([105.5, 86.53, 0.003137])
        ['105.5', '86.5', '0.0']
        >>> format_seconds([0.003137, 0.0012])
        ['0.0031', '0.0012']
    """
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    longest = max(finite, default=0.0)
    digits = 1 if longest == 0 else max(1, min(4, 2 - math.floor(math.log10(longest))))
    return ["-" if v is None or not math.isfinite(v) else f"{v:,.{digits}f}" for v in values]


def _columns(trials: Sequence[Trial], names: Sequence[str]) -> list[list[str]]:
    """Each trial's row of the metric columns ``names``, each column formatted as one."""
    cols = [format_column([t.metrics.get(name) for t in trials]) for name in names]
    return [list(row) for row in zip(*cols, strict=True)] if cols else [[] for _ in trials]


def _broken(trial: Trial, constraints: Constraints) -> str:
    """The constraints column of a trial: ``ok``, ``breaks params_m <= 0.3`` or ``-``
    (not checked: it measured none of the constrained metrics)."""
    if not trial.constraint_values:
        return "-"
    broken = [str(c) for c in constraints if c.metric in trial.violations]
    return "breaks " + ", ".join(broken) if broken else "ok"


def print_trials(
    console: Console,
    trials: Sequence[Trial],
    objectives: Mapping[str, str],
    constraints: Constraints | None = None,
) -> None:
    """One row per trial; with ``constraints``, a column saying which each trial breaks (an
    infeasible one's status is shown as ``infeasible``: not trained when ``pruned``)."""
    constraints = constraints or Constraints()
    columns = _metric_columns(trials, objectives)
    errors = any(t.status == TrialStatus.FAILED and t.error for t in trials)
    table = Table(title=counted(len(trials), "trial"))
    for name in ("#", "status", "arch"):
        table.add_column(name, overflow="fold")
    for name in columns:
        table.add_column(name, justify="right")
    table.add_column("seconds", justify="right")
    if constraints:
        table.add_column("constraints", overflow="fold")
    if errors:  # the first line of a failed trial's error; `--json` has all of it
        table.add_column("error", overflow="ellipsis", no_wrap=True)
    metrics = _columns(trials, columns)
    seconds = format_seconds([t.duration_s for t in trials])
    for t, values, duration in zip(trials, metrics, seconds, strict=True):
        status, style = t.status.value, _STATUS_STYLE.get(t.status, "")
        if not t.feasible and t.status in (TrialStatus.COMPLETE, TrialStatus.PRUNED):
            status, style = f"{status}, infeasible", INFEASIBLE_STYLE
        error = first_line(t.error, ERROR_WIDTH) if t.status == TrialStatus.FAILED else ""
        table.add_row(
            str(t.number),
            f"[{style}]{status}[/]",
            t.arch.key,
            *values,
            duration,
            *([_broken(t, constraints)] if constraints else []),
            *([Text(error)] if errors else []),
        )
    console.print(table)


def print_top(
    console: Console,
    trials: Sequence[Trial],
    objectives: Mapping[str, str],
    top: int = 5,
    constraints: Constraints | None = None,
) -> None:
    """How the trials ended, the most common error, and the ``top`` best feasible trials;
    with ``constraints``, what they are and how many trials broke them."""
    done = [
        t for t in trials if t.score is not None and t.status == TrialStatus.COMPLETE and t.feasible
    ]
    done.sort(key=lambda t: (-t.score, t.number))  # type: ignore[operator]
    counts = {s: sum(1 for t in trials if t.status == s) for s in TrialStatus}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    console.print(f"{counted(len(trials), 'trial')} ({summary or 'none'})")
    if constraints:
        infeasible = [t for t in trials if not t.feasible]
        untrained = sum(1 for t in infeasible if t.status == TrialStatus.PRUNED)
        console.print(
            Text(
                f"constraints {constraints}: {counted(len(infeasible), 'trial')} infeasible "
                f"({untrained} of them not trained)"
            ),
            soft_wrap=True,
        )
    common = most_common_error(trials)
    if common is not None:
        line, count, failed = common
        console.print(
            Text(f"most common error, ended {count} of {failed} failed trials: {line}"),
            soft_wrap=True,
        )
    if done:
        table = Table(title=f"best {counted(min(top, len(done)), 'trial')}")
        for name in ("rank", "#", "arch"):
            table.add_column(name, overflow="fold")
        columns = _metric_columns(done, objectives)
        for name in columns:
            table.add_column(name, justify="right")
        shown = done[:top]
        for rank, (t, values) in enumerate(zip(shown, _columns(shown, columns), strict=True), 1):
            table.add_row(str(rank), str(t.number), t.arch.key, *values)
        console.print(table)


def print_best(
    console: Console, trial: Trial, experiment: str, objectives: Mapping[str, str]
) -> None:
    console.print(f"best trial of [bold]{experiment}[/]: #{trial.number}")
    console.print(f"  arch: {trial.arch.key}")
    for name, value in trial.metrics.items():
        console.print(f"  {name}: {_fmt(value)}")


def short_key(key: str, width: int = ARCH_WIDTH) -> str:
    """An arch key cut to ``width`` characters.

    Example:
        >>> short_key("|nor_conv_3x3~0|+|skip_connect~0|none~1|", 20)
        '|nor_conv_3x3~0|+|s…'
    """
    return key if len(key) <= width else key[: width - 1] + "…"


def print_pareto(console: Console, summary: ParetoSummary) -> None:
    """The front as a table (best first on the primary objective), then its hypervolume and
    the setting it was measured under."""
    of = counted(summary.n_complete, "complete trial")
    table = Table(title=Text(f"Pareto front of {summary.name}: {len(summary.front)} of {of}"))
    table.add_column("#", justify="right")
    table.add_column("arch", no_wrap=True)
    for name, direction in summary.objectives.items():
        table.add_column(f"{name} ({direction})", justify="right")
    for trial, values in zip(summary.front, summary.values, strict=True):
        table.add_row(
            str(trial.number), Text(short_key(trial.arch.key)), *(f"{v:.6g}" for v in values)
        )
    console.print(table)
    console.print(f"hypervolume: {summary.hypervolume:.6g}", highlight=False)
    if summary.setting is not None:
        console.print(Text(summary.setting.statement()), soft_wrap=True)


def print_registry(console: Console, registry: Registry[Any]) -> None:
    for name in registry.names():
        console.print(f"[bold]{name:<24}[/] {registry.summary(name)}")
