"""The JSON the dashboard's API serves, built from stored trials (no web framework here)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nasforge.errors import NasforgeError
from nasforge.space import Space
from nasforge.storage import ExperimentRecord, Storage
from nasforge.trial import Trial
from nasforge.viz import _data
from nasforge.viz.cell import cell_svg


def iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with a ``Z``."""
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def space_of(record: ExperimentRecord, storage: Storage) -> Space | None:
    """The registered space the experiment searched, rebuilt from its stored record; ``None``
    for a custom space or one this process cannot build (the page then reads arch keys)."""
    from nasforge.experiment.load import StoredExperiment

    return _data.space_of(StoredExperiment(record, storage))


def source_of(record: ExperimentRecord, trials: Sequence[Trial]) -> _data.RankedTrials:
    return _data.RankedTrials(
        sorted(trials, key=lambda t: t.number), dict(record.objectives), record.name
    )


def best_json(src: _data.RankedTrials) -> dict[str, Any] | None:
    best = _data.top_trials(src, 1)
    if not best:
        return None
    t = best[0]
    return {
        "number": t.number,
        "value": _data.metric_value(t, src.metric),
        "arch": t.arch.key,
        "metrics": _data.jsonable(dict(t.metrics)),
    }


def experiment_row(record: ExperimentRecord, trials: Sequence[Trial]) -> dict[str, Any]:
    """One line of the experiment list."""
    src = source_of(record, trials)
    return {
        "name": record.name,
        "created_at": iso(record.created_at),
        "objectives": dict(record.objectives),
        "n_trials": len(trials),
        "counts": _data.status_counts(trials),
        "best": best_json(src),
    }


def revision(trials: Sequence[Trial]) -> str:
    """Changes whenever a trial starts, reports a step or finishes (the page refetches then)."""
    parts = [
        f"{t.number}:{t.status.value}:{len(t.intermediate)}:{iso(t.finished_at)}" for t in trials
    ]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def experiment_summary(
    record: ExperimentRecord, trials: Sequence[Trial], space: Space | None = None
) -> dict[str, Any]:
    """Everything the experiment page shows except the trial table and the curves; the best
    cell is drawn from ``space`` (see :func:`space_of`) or, without one, from its key."""
    src = source_of(record, trials)
    points = _data.history(src)
    timed = _data.best_over_time(points, src.direction)
    best = best_json(src)
    pareto = None
    if len(src.objectives) >= 2:
        data = _data.pareto(src)
        pareto = {
            "x_metric": data.x_metric,
            "y_metric": data.y_metric,
            "numbers": data.numbers,
            "x": data.x,
            "y": data.y,
            "front": data.front,
        }
    svg = None
    if best is not None:
        try:
            svg = cell_svg(best["arch"], title=f"trial {best['number']}", space=space)
        except NasforgeError:  # a space without cells: nothing to draw
            svg = None
    return _data.jsonable(
        {
            "name": record.name,
            "created_at": iso(record.created_at),
            "objectives": dict(record.objectives),
            "metric": src.metric,
            "direction": src.direction,
            "spec": {k: v for k, v in record.spec.items() if k != "config"},
            "n_trials": len(trials),
            "counts": _data.status_counts(trials),
            "best": best,
            "history": {
                "number": [p.number for p in points],
                "status": [p.status for p in points],
                "value": [p.value for p in points],
                "best": [p.best for p in points],
                "elapsed_s": [p.elapsed_s for p in points],
            },
            "best_over_time": {"elapsed_s": [t for t, _ in timed], "best": [b for _, b in timed]},
            "pareto": pareto,
            "best_cell_svg": svg,
            "revision": revision(trials),
        }
    )


def trial_table_row(t: Trial, metric: str, curve: bool = False) -> dict[str, Any]:
    """One row of the trial table (with its intermediate values when ``curve``)."""
    out: dict[str, Any] = {
        "number": t.number,
        "status": t.status.value,
        "value": _data.metric_value(t, metric),
        "arch": t.arch.key,
        "metrics": dict(t.metrics),
        "started_at": iso(t.started_at),
        "finished_at": iso(t.finished_at),
        "duration_s": t.duration_s,
        "worker": t.worker,
        "error": t.error.splitlines()[0] if t.error else None,
    }
    if curve:
        out["intermediate"] = {str(k): dict(v) for k, v in sorted(t.intermediate.items())}
    return _data.jsonable(out)


def curves_json(record: ExperimentRecord, trials: Sequence[Trial], metric: str | None) -> Any:
    src = source_of(record, trials)
    metric = metric or src.metric
    best = _data.top_trials(src, 1)
    return _data.jsonable(
        {
            "metric": metric,
            "best_number": best[0].number if best else None,
            "curves": [
                {"number": c.number, "status": c.status, "steps": c.steps, "values": c.values}
                for c in _data.curves(src, metric)
            ],
        }
    )


def ops_json(
    record: ExperimentRecord, trials: Sequence[Trial], top_k: int, space: Space | None = None
) -> dict[str, Any]:
    """Operation counts of the ``top_k`` best trials per dimension, cell edges labelled by the
    edge (``0→2``) from ``space``'s cells or, without one, from a NAS-Bench-201 key."""
    src = source_of(record, trials)
    counts = _data.op_counts(src, top_k)
    keys = [t.arch.key for t in src.trials[:1]]
    return {
        "top_k": len(_data.top_trials(src, top_k)),
        "dimensions": list(counts),
        "labels": _data.dimension_labels(list(counts), space, keys),
        "counts": counts,
    }
