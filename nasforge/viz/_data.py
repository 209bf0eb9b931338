"""What the plots and the dashboard show, computed once from stored trials (no drawing here).

The plots (:mod:`nasforge.viz.plots`) and the dashboard's JSON API
(:mod:`nasforge.viz.dashboard`) both read these series, so a PNG and the web page of the same
experiment show the same numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from nasforge.errors import ConfigError, NasforgeError, SpaceError
from nasforge.pareto import nondominated
from nasforge.space import CellGraph, Space, cell_graph_from_key
from nasforge.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from nasforge.experiment.front import ParetoSummary

#: objectives of a bare list of trials: the stored, larger-is-better first score
SCORE_OBJECTIVES = {"score": "max"}


class _HasTrials(Protocol):
    name: str
    objectives: Mapping[str, str]

    def trials(self) -> list[Trial]: ...


@dataclass(frozen=True)
class RankedTrials:
    """Trials with the objectives that rank them and a name for titles."""

    trials: list[Trial]
    objectives: dict[str, str]
    name: str = ""

    @property
    def metric(self) -> str:
        return next(iter(self.objectives))

    @property
    def direction(self) -> str:
        return self.objectives[self.metric]


def resolve(
    source: _HasTrials | Sequence[Trial], objectives: Mapping[str, str] | None = None
) -> RankedTrials:
    """Trials and objectives of an experiment (live or stored) or of a list of trials.

    A bare list of trials without ``objectives`` is ranked by each trial's stored ``score``.
    """
    if hasattr(source, "trials") and callable(source.trials):
        trials = list(source.trials())
        found = dict(objectives or getattr(source, "objectives", None) or SCORE_OBJECTIVES)
        return RankedTrials(
            sorted(trials, key=lambda t: t.number), found, str(getattr(source, "name", ""))
        )
    trials = list(source)  # type: ignore[arg-type]
    if not all(isinstance(t, Trial) for t in trials):
        raise ConfigError(
            "expected an Experiment, a stored experiment or a list of Trial, "
            f"got {type(source).__name__}"
        )
    found = dict(objectives or SCORE_OBJECTIVES)
    return RankedTrials(sorted(trials, key=lambda t: t.number), found)


def metric_value(trial: Trial, metric: str) -> float | None:
    """The trial's final value of ``metric`` (``score``: its first stored score), or ``None``."""
    if metric == "score" and metric not in trial.metrics:
        value = trial.score
    else:
        value = trial.metrics.get(metric)
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def last_reported(trial: Trial, metric: str) -> float | None:
    """The last intermediate value of ``metric`` (where a pruned trial stopped)."""
    for step in sorted(trial.intermediate, reverse=True):
        value = trial.intermediate[step].get(metric)
        if value is not None and math.isfinite(value):
            return float(value)
    return None


@dataclass(frozen=True)
class HistoryPoint:
    """One finished trial on the history plot.

    ``value`` is the final metric of a complete trial, the last reported one of a pruned trial
    and ``None`` for a failed trial; ``best`` is the best value among complete trials up to
    and including this trial number; ``elapsed_s`` counts from the first trial's start.
    """

    number: int
    status: str
    value: float | None
    best: float | None
    elapsed_s: float | None


@dataclass(frozen=True)
class HistoryRow:
    """What the history needs of one finished trial: its ``value`` (the final metric of a
    complete trial, the last reported one of a pruned trial, ``None`` for a failed one) and
    the seconds from the first trial's start to its finish."""

    number: int
    status: str
    value: float | None
    elapsed_s: float | None


def history(source: RankedTrials, metric: str | None = None) -> list[HistoryPoint]:
    """Finished trials by number with the best-so-far value of ``metric`` (default: first
    objective), in the direction the objectives give it (``max`` unless listed as ``min``)."""
    metric = metric or source.metric
    starts = [t.started_at for t in source.trials if t.started_at is not None]
    origin = min(starts) if starts else None
    rows = []
    for t in source.trials:
        if not t.status.finished:
            continue
        value = None
        if t.status == TrialStatus.COMPLETE:
            value = metric_value(t, metric)
        elif t.status == TrialStatus.PRUNED:
            value = last_reported(t, metric)
            if value is None:
                value = metric_value(t, metric)
        elapsed = None
        if origin is not None and t.finished_at is not None:
            elapsed = (t.finished_at - origin).total_seconds()
        rows.append(HistoryRow(t.number, t.status.value, value, elapsed))
    return history_points(rows, source.objectives.get(metric, "max"))


def history_points(rows: Sequence[HistoryRow], direction: str = "max") -> list[HistoryPoint]:
    """:class:`HistoryPoint` of each row, by number, with the best value among complete rows
    so far (``max`` or ``min``)."""
    sign = -1.0 if direction == "min" else 1.0
    points, best = [], None
    for row in sorted(rows, key=lambda r: r.number):
        value = row.value
        if value is not None and not math.isfinite(value):
            value = None
        if row.status == TrialStatus.COMPLETE.value:
            if value is not None and (best is None or sign * value > sign * best):
                best = value
        elif row.status != TrialStatus.PRUNED.value:
            value = None
        points.append(HistoryPoint(row.number, row.status, value, best, row.elapsed_s))
    return points


def best_over_time(
    points: Sequence[HistoryPoint], direction: str = "max"
) -> list[tuple[float, float]]:
    """``(elapsed_s, best)`` after each complete trial in order of finishing (parallel workers
    finish out of number order, so this is not the by-number series re-indexed)."""
    sign = -1.0 if direction == "min" else 1.0
    timed = sorted(
        (p for p in points if p.elapsed_s is not None and p.status == "complete"),
        key=lambda p: p.elapsed_s,  # type: ignore[arg-type, return-value]
    )
    out, best = [], None
    for p in timed:
        if p.value is not None and (best is None or sign * p.value > sign * best):
            best = p.value
        if best is not None:
            out.append((float(p.elapsed_s), best))  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class Curve:
    """The intermediate values of one trial: ``steps`` and ``values`` of one metric."""

    number: int
    status: str
    steps: list[int]
    values: list[float]


def curves(source: RankedTrials, metric: str | None = None) -> list[Curve]:
    """Learning curves of every trial that reported ``metric`` (default: first objective)."""
    metric = metric or source.metric
    out = []
    for t in source.trials:
        pairs = [
            (int(step), float(m[metric]))
            for step, m in sorted(t.intermediate.items())
            if metric in m and m[metric] is not None and math.isfinite(m[metric])
        ]
        if pairs:
            out.append(
                Curve(t.number, t.status.value, [s for s, _ in pairs], [v for _, v in pairs])
            )
    return out


def top_trials(source: RankedTrials, top_k: int | None = None) -> list[Trial]:
    """Complete trials by their first score, best first (ties: lower number), at most
    ``top_k``."""
    if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
        raise ConfigError(f"top_k must be an integer >= 1, got {top_k!r}")
    done = [t for t in source.trials if t.status == TrialStatus.COMPLETE and t.score is not None]
    done.sort(key=lambda t: (-t.score, t.number))  # type: ignore[operator]
    return done[:top_k] if top_k is not None else done


def op_counts(source: RankedTrials, top_k: int | None = 10) -> dict[str, dict[str, int]]:
    """For each categorical dimension (each cell edge), how often the ``top_k`` best complete
    trials picked each value; values in alphabetical order, dimensions in arch order."""
    counts: dict[str, Counter[str]] = {}
    for t in top_trials(source, top_k):
        for name, value in t.arch.items():
            if isinstance(value, str):
                counts.setdefault(name, Counter())[value] += 1
    return {name: dict(sorted(c.items())) for name, c in counts.items()}


def space_of(source: Any) -> Space | None:
    """The space of an experiment: a live one's ``space``, a stored one's ``space()`` (the
    registered space rebuilt from the store); ``None`` for a list of trials, a custom space
    of a stored experiment, or a store that cannot rebuild it."""
    from nasforge.experiment import Experiment, StoredExperiment

    if isinstance(source, Experiment):
        return source.space
    if isinstance(source, StoredExperiment):
        try:
            return source.space()
        except NasforgeError:
            return None
    return None


def dimension_labels(
    names: Sequence[str], space: Space | None = None, keys: Sequence[str] = ()
) -> list[str]:
    """How plots name each dimension: a dimension that decides a cell edge by the edge
    (``0→2``; ``normal 0→2`` in a space of several cells), any other by its name.

    The edges come from the space's cell templates; without a space, from the first of
    ``keys`` (the stored arch keys of the same space) if it is a cell in NAS-Bench-201
    notation.
    """
    templates: tuple[CellGraph, ...] = ()
    if space is not None:
        templates = space.cell_templates()
    elif keys:
        try:
            templates = (cell_graph_from_key(keys[0]),)
        except SpaceError:
            templates = ()
    labels: dict[str, str] = {}
    for cell in templates:
        for edge in cell.edges:
            if edge.dim is not None:
                label = f"{cell.name} {edge.label}" if len(templates) > 1 else edge.label
                labels.setdefault(edge.dim, label)
    return [labels.get(name, name) for name in names]


@dataclass(frozen=True)
class ParetoData:
    """All complete trials on two objectives and those on the front of those two, by ``x``."""

    x_metric: str
    y_metric: str
    numbers: list[int]
    x: list[float]
    y: list[float]
    front: list[int]


def pareto(source: RankedTrials, x: str | None = None, y: str | None = None) -> ParetoData:
    """Complete, feasible trials on objectives ``x`` and ``y`` (default: the first two) and the
    trials no other beats on both, in the objectives' directions (a trial that breaks a hard
    constraint is stored without scores and left out)."""
    names = list(source.objectives)
    if len(names) < 2:
        label = f"experiment {source.name!r}" if source.name else "these trials"
        raise ConfigError(
            f"a Pareto front needs 2 objectives; the objectives of {label}: {', '.join(names)}"
        )
    x, y = x or names[0], y or names[1]
    for chosen in (x, y):
        if chosen not in source.objectives:
            raise ConfigError(f"objective {chosen!r} is not one of: {', '.join(names)}")
    rows = []
    for t in source.trials:
        if t.status != TrialStatus.COMPLETE or t.scores is None or not t.feasible:
            continue
        vx, vy = metric_value(t, x), metric_value(t, y)
        if vx is not None and vy is not None:
            rows.append((t.number, vx, vy))
    return pareto_data(rows, x, y, source.objectives[x], source.objectives[y])


def pareto_data(
    rows: Sequence[tuple[int, float, float]],
    x_metric: str,
    y_metric: str,
    x_direction: str = "max",
    y_direction: str = "max",
) -> ParetoData:
    """:class:`ParetoData` of ``(number, x, y)`` rows (complete trials with both values)."""
    rows = sorted(rows)
    front = pareto_front(rows, x_direction, y_direction)
    return ParetoData(
        x_metric,
        y_metric,
        [n for n, _, _ in rows],
        [float(vx) for _, vx, _ in rows],
        [float(vy) for _, _, vy in rows],
        front,
    )


def pareto_front(
    rows: Sequence[tuple[int, float, float]], x_direction: str = "max", y_direction: str = "max"
) -> list[int]:
    """Numbers of the rows no other row beats on both values (at least as good on both, better
    on one) in the given directions, by ``x`` then number (moocore's non-dominated filter).

    Example:
        >>> pareto_front([(0, 1.0, 5.0), (1, 2.0, 4.0), (2, 1.5, 3.0), (3, 2.0, 4.0)])
        [0, 1, 3]
    """
    if not rows:
        return []
    mask = nondominated([(vx, vy) for _, vx, vy in rows], (x_direction, y_direction))
    front = [r for r, keep in zip(rows, mask, strict=True) if keep]
    return [n for n, _, _ in sorted(front, key=lambda r: (r[1], r[0]))]


def front_summary(
    source: RankedTrials,
    reference: Sequence[float] | None = None,
    ideal: Sequence[float] | None = None,
    nadir: Sequence[float] | None = None,
) -> ParetoSummary:
    """The front of ``source`` on all its objectives, its hypervolume (measured as
    :func:`~nasforge.experiment.front.pareto_summary` says) and how it grew."""
    from nasforge.experiment.front import pareto_summary

    return pareto_summary(source.trials, source.objectives, source.name, reference, ideal, nadir)


def status_counts(trials: Sequence[Trial]) -> dict[str, int]:
    """Trials per status, every status listed (zeros included)."""
    counts = Counter(t.status.value for t in trials)
    return {s.value: counts.get(s.value, 0) for s in TrialStatus}


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
