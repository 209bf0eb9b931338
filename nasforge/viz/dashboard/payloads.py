"""The JSON the dashboard's API serves, built from what the store's view-sized queries return
(no web framework here)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from nasforge.errors import NasforgeError
from nasforge.experiment.front import hypervolume_series, hypervolume_setting
from nasforge.objectives import Objectives
from nasforge.pareto import nondominated
from nasforge.space import Space
from nasforge.storage import ExperimentRecord, Storage
from nasforge.storage._queries import TrialColumns
from nasforge.trial import Trial, TrialStatus
from nasforge.viz import _data, _epochs
from nasforge.viz.cell import cell_svg

_EPOCH = datetime(1970, 1, 1)
_FINISHED = frozenset(s.value for s in TrialStatus if s.finished)


def iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with a ``Z``."""
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def space_of(record: ExperimentRecord, storage: Storage) -> Space | None:
    """The registered space the experiment searched, rebuilt from its stored record; ``None``
    for a custom space or one this process cannot build (the page then reads arch keys)."""
    from nasforge.experiment.load import StoredExperiment

    return _data.space_of(StoredExperiment(record, storage))


def metric_of(record: ExperimentRecord) -> str:
    """The primary objective: the one the table, the best value and the curves show."""
    return next(iter(record.objectives))


def best_json(best: Trial | None, metric: str) -> dict[str, Any] | None:
    if best is None:
        return None
    return {
        "number": best.number,
        "value": _data.metric_value(best, metric),
        "arch": best.arch.key,
        "metrics": _data.jsonable(dict(best.metrics)),
    }


def experiment_row(
    record: ExperimentRecord, counts: Mapping[str, int], best: Trial | None
) -> dict[str, Any]:
    """One line of the experiment list."""
    return {
        "name": record.name,
        "created_at": iso(record.created_at),
        "objectives": dict(record.objectives),
        "n_trials": sum(counts.values()),
        "counts": dict(counts),
        "best": best_json(best, metric_of(record)),
    }


def experiment_summary(
    record: ExperimentRecord,
    counts: Mapping[str, int],
    best: Trial | None,
    revision: str,
    space: Space | None = None,
    report: int | None = None,
    epochs: int = 0,
) -> dict[str, Any]:
    """What the experiment page polls: counts, the best trial (its cell drawn from ``space``
    or, without one, from its key), the ``revision`` that says whether to fetch the rest, the
    id of the newest honesty report (``report``, ``None`` without one: fetch it when the id
    changes; a one-shot search stores it after its last trial) and how many supernet epochs
    stored their architecture weights (``epochs``: fetch them when it changes)."""
    metric = metric_of(record)
    svg = None
    if best is not None:
        try:
            svg = cell_svg(best.arch.key, title=f"trial {best.number}", space=space)
        except NasforgeError:  # a space without cells: nothing to draw
            svg = None
    return _data.jsonable(  # type: ignore[no-any-return]
        {
            "name": record.name,
            "created_at": iso(record.created_at),
            "objectives": dict(record.objectives),
            "metric": metric,
            "direction": record.objectives[metric],
            "spec": {k: v for k, v in record.spec.items() if k != "config"},
            "n_trials": sum(counts.values()),
            "counts": dict(counts),
            "best": best_json(best, metric),
            "best_cell_svg": svg,
            "revision": revision,
            "report": report,
            "epochs": epochs,
        }
    )


def history_json(
    record: ExperimentRecord,
    cols: TrialColumns,
    reported: Mapping[int, float],
    origin: datetime | None,
    full: bool,
    cursor: str,
) -> dict[str, Any]:
    """History points of the trials in ``cols`` that have finished, column by column: the
    value of the first objective (``reported``: the last reported one of a pruned trial;
    ``None`` for a failed one) and the seconds from the first trial's start (``origin``) to its
    finish. ``full``: ``cols`` holds every trial, else only those changed since a cursor.

    The best so far is left to the reader (a running maximum over the complete trials): it
    depends on trials a change does not carry.
    """
    metric = metric_of(record)
    start = None if origin is None else (origin - _EPOCH).total_seconds()
    numbers, statuses, values, elapsed = [], [], [], []
    for n, status, finished, value in zip(
        cols.number, cols.status, cols.finished_s, cols.values[0], strict=True
    ):
        if status not in _FINISHED:
            continue
        if status == TrialStatus.PRUNED.value:
            value = reported.get(n, value)
        elif status != TrialStatus.COMPLETE.value:
            value = None
        numbers.append(n)
        statuses.append(status)
        values.append(value if value is None or math.isfinite(value) else None)
        seconds = None if start is None or finished is None else round(finished - start, 3)
        elapsed.append(seconds)
    return {
        "metric": metric,
        "direction": record.objectives[metric],
        "full": full,
        "cursor": cursor,
        "changed": [] if full else list(cols.number),
        "number": numbers,
        "status": statuses,
        "value": values,
        "elapsed_s": elapsed,
    }


def pareto_json(record: ExperimentRecord, cols: TrialColumns) -> dict[str, Any]:
    """The complete, feasible trials of ``cols`` on the first two objectives (``cols.values[0]``
    and ``[1]``) and the front of those two (a trial that breaks a hard constraint is stored
    without scores: ``cols.score`` is ``None``)."""
    x, y = list(record.objectives)[:2]
    complete = TrialStatus.COMPLETE.value
    rows = [
        (n, vx, vy)
        for n, status, score, vx, vy in zip(
            cols.number, cols.status, cols.score, *cols.values[:2], strict=True
        )
        if status == complete
        and score is not None
        and vx is not None
        and vy is not None
        and math.isfinite(vx)
        and math.isfinite(vy)
    ]
    data = _data.pareto_data(rows, x, y, record.objectives[x], record.objectives[y])
    return {
        "x_metric": data.x_metric,
        "y_metric": data.y_metric,
        "numbers": data.numbers,
        "x": data.x,
        "y": data.y,
        "front": data.front,
    }


def hypervolume_json(
    record: ExperimentRecord, cols: TrialColumns, origin: datetime | None
) -> dict[str, Any]:
    """The front of the complete, feasible trials of ``cols`` on every objective (as
    :func:`pareto_json` chooses them), its hypervolume (as
    :func:`~nasforge.experiment.front.pareto_summary` measures it by default: normalised by
    these trials' own ideal and nadir, reference point 1.1; ``setting`` states it) and how the
    hypervolume grew, by number and by seconds from the first trial's start (``origin``) to
    each finish: the trials after which it changed, and the last (a step line needs no more,
    and 20,000 trials make a few hundred points)."""
    objectives = Objectives.parse(record.objectives)
    numbers = np.asarray(cols.number, dtype=int)
    values = np.array(cols.values, dtype=float).reshape(len(objectives), -1).T  # None: NaN
    scored = np.array([score is not None for score in cols.score], dtype=bool)  # feasible
    complete = np.asarray(cols.status) == TrialStatus.COMPLETE.value
    chosen = complete & scored & np.isfinite(values).all(1)
    numbers, values = numbers[chosen], values[chosen]
    finished = np.array(cols.finished_s, dtype=float)[chosen]
    start = np.nan if origin is None else (origin - _EPOCH).total_seconds()
    setting = hypervolume_setting(objectives, values)
    history = hypervolume_series(numbers, values, np.round(finished - start, 3), setting)
    mask = nondominated(values, objectives.directions)
    by_number = _steps(history.hypervolume)
    by_time = _steps(history.hypervolume_by_time)
    return _data.jsonable(  # type: ignore[no-any-return]
        {
            "objectives": objectives.to_json(),
            "n_complete": len(numbers),
            "front": numbers[mask].tolist(),
            "hypervolume": history.hypervolume[-1] if history.hypervolume else 0.0,
            "setting": setting.to_json() if setting is not None else None,
            "history": {
                "number": [history.number[i] for i in by_number],
                "hypervolume": [history.hypervolume[i] for i in by_number],
                "number_by_time": [history.number_by_time[i] for i in by_time],
                "elapsed_s": [history.elapsed_s[i] for i in by_time],
                "hypervolume_by_time": [history.hypervolume_by_time[i] for i in by_time],
            },
        }
    )


def _steps(volumes: Sequence[float]) -> list[int]:
    """Positions where ``volumes`` changes, with the first and the last."""
    last = len(volumes) - 1
    return [i for i in range(len(volumes)) if i in (0, last) or volumes[i] != volumes[i - 1]]


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
    return _data.jsonable(out)  # type: ignore[no-any-return]


def curves_json(
    metric: str, trials: Sequence[Trial], best_number: int | None, limit: int, n_trials: int
) -> dict[str, Any]:
    """The learning curves of ``trials`` (the most recent ones and the best)."""
    src = _data.RankedTrials(list(trials), {metric: "max"})
    return _data.jsonable(  # type: ignore[no-any-return]
        {
            "metric": metric,
            "best_number": best_number,
            "limit": limit,
            "n_trials": n_trials,
            "curves": [
                {"number": c.number, "status": c.status, "steps": c.steps, "values": c.values}
                for c in _data.curves(src, metric)
            ],
        }
    )


def ops_json(top: Sequence[Trial], space: Space | None = None) -> dict[str, Any]:
    """Operation counts of the ``top`` trials (best first) per dimension, cell edges labelled by
    the edge (``0→2``) from ``space``'s cells or, without one, from a NAS-Bench-201 key."""
    src = _data.RankedTrials(list(top), {"score": "max"})
    counts = _data.op_counts(src, None)
    keys = [t.arch.key for t in top[:1]]
    return {
        "top_k": len(_data.top_trials(src)),
        "dimensions": list(counts),
        "labels": _data.dimension_labels(list(counts), space, keys),
        "counts": counts,
    }


def report_id(record: ExperimentRecord, storage: Storage) -> int | None:
    """The id of the experiment's newest honesty report, or ``None``."""
    from nasforge.oneshot import REPORT_KIND

    stored = storage.artifacts(record.id, kind=REPORT_KIND)
    return stored[-1].id if stored else None


def report_json(record: ExperimentRecord, storage: Storage) -> dict[str, Any] | None:
    """The newest honesty report (:meth:`~nasforge.oneshot.HonestyReport.to_dict`), with
    ``id`` and ``compared`` (:attr:`~nasforge.oneshot.HonestyReport.n_compared`); ``None``
    without one."""
    from nasforge.oneshot import REPORT_KIND, HonestyReport

    stored = storage.artifacts(record.id, kind=REPORT_KIND)
    if not stored:
        return None
    report = HonestyReport.from_dict(stored[-1].info)
    return {"id": stored[-1].id, "compared": report.n_compared, **report.to_dict()}


def no_report(record: ExperimentRecord) -> str:
    """Why an experiment shows no honesty report."""
    return f"experiment {record.name!r} has no honesty report; only one-shot methods write one"


def epoch_count(record: ExperimentRecord, storage: Storage) -> int:
    """How many supernet epochs of a one-shot search stored their architecture weights."""
    return storage.count_artifacts(record.id, _epochs.epoch_kind())


def arch_weights_json(
    record: ExperimentRecord, storage: Storage, space: Space | None = None
) -> dict[str, Any] | None:
    """The architecture weights of every stored epoch (:class:`~nasforge.viz._epochs.ArchWeights`:
    ``weights[label][candidate]`` a probability per epoch) with what the page draws from
    them: the choices' names (``0→2`` for cell edges, from ``space`` or a NAS-Bench-201 key),
    the ``layout`` (a panel per choice, or a heatmap above 16), the last epoch's distributions
    and each choice's strongest probability per epoch; ``None`` without epochs."""
    stored = storage.artifacts(record.id, kind=_epochs.epoch_kind())
    if not stored:
        return None
    method = str(record.spec.get("strategy") or "")
    data = _epochs.arch_weights([a.info for a in stored], record.name, method)
    return _data.jsonable(  # type: ignore[no-any-return]
        {
            "method": data.method,
            "caption": data.caption(),
            "layout": data.layout,
            "epochs": data.epochs,
            "trials": data.trials,
            "derived": data.derived,
            "labels": data.labels,
            "names": _data.dimension_labels(data.labels, space, data.derived[-1:]),
            "candidates": data.candidates,
            "weights": data.weights,
            "final": data.final(),
            "strongest": data.strongest(),
        }
    )


def no_arch_weights(record: ExperimentRecord) -> str:
    """Why an experiment shows no architecture weights."""
    return _epochs.no_epochs(record.name)
