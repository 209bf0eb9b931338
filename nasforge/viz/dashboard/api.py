"""The dashboard's JSON API under ``/api/``: each view reads what it shows, never every trial.

Each experiment's trials are kept as columns in memory and refreshed by what changed since the
last request (:mod:`~nasforge.viz.dashboard._live`); the counts, the ranking, the history, the
Pareto front and its hypervolume come from them. The trial table is read from the store a page
at a time, a trial by its number, the curves of the most recent trials only. So a request costs
about the same at 100 trials and at 20,000 (``benchmarks/dashboard_scale.py``).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Literal

from fastapi import FastAPI, Query, Response

from nasforge.errors import ConfigError
from nasforge.experiment.front import needs_two_objectives
from nasforge.space import Space
from nasforge.storage import ExperimentRecord, Storage
from nasforge.storage._queries import SORT_COLUMNS
from nasforge.trial import Trial, TrialStatus
from nasforge.viz.cell import cell_svg
from nasforge.viz.dashboard import payloads
from nasforge.viz.dashboard._live import LiveTrials, Snapshot
from nasforge.viz.dashboard._middleware import unquote_name

#: most trials one page of the table may hold
MAX_PAGE = 1000


class NotFoundError(Exception):
    """A name or number the store lacks; rendered as a 404 JSON body."""

    def __init__(self, detail: str, **known: Any) -> None:
        super().__init__(detail)
        self.detail, self.known = detail, known


class Experiments:
    """Finds experiments by name (404 listing those that exist), keeps each one's space and its
    trials' columns (:class:`~nasforge.viz.dashboard._live.LiveTrials`)."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.live = LiveTrials(store)
        self._spaces: dict[tuple[int, str], Space | None] = {}
        self._token = uuid.uuid4().hex  # a revision never repeats one of another server run

    def get(self, name: str) -> ExperimentRecord:
        name = unquote_name(name)
        record = self.store.find_experiment(name)
        if record is None:
            names = [e.name for e in self.store.list_experiments()]
            known = ", ".join(repr(n) for n in names) or "none"
            raise NotFoundError(f"no experiment {name!r}; experiments: {known}", experiments=names)
        return record

    def space(self, record: ExperimentRecord) -> Space | None:
        """The space, rebuilt once per experiment (a stored experiment's space never changes)."""
        key = (record.id, record.name)
        if key not in self._spaces:
            self._spaces[key] = payloads.space_of(record, self.store)
        return self._spaces[key]

    def trial(self, record: ExperimentRecord, number: int, intermediate: bool = True) -> Trial:
        trial = self.store.trial(record.id, number, intermediate=intermediate)
        if trial is None:
            span = self.store.trial_number_range(record.id)
            have = f"{span[0]}..{span[1]}" if span else "none"
            raise NotFoundError(f"experiment {record.name!r} has no trial {number}; trials: {have}")
        return trial

    def top(self, record: ExperimentRecord, k: int, snap: Snapshot | None = None) -> list[Trial]:
        """The ``k`` best complete trials by the primary score, best first."""
        top = self.live.derived(record, f"top{k}", lambda s: s.top(k), snap)
        return self.store.trials_numbered(record.id, top)

    def best(self, record: ExperimentRecord, snap: Snapshot | None = None) -> Trial | None:
        """The best complete trial (``snap``: the trials as this request read them)."""
        snap = snap or self.live.snapshot(record)
        best = self.live.derived(record, "best", lambda s: self.top(record, 1, s), snap)
        return best[0] if best else None

    def revision(self, record: ExperimentRecord, snapshot: Snapshot) -> str:
        """Changes whenever a trial starts, ends or, while running, reports a step."""
        reports = self.store.running_reports(record.id)
        token = f"{self._token}|{snapshot.version}|{reports}"
        return hashlib.sha1(token.encode()).hexdigest()[:16]


def _status(status: str | None) -> TrialStatus | None:
    if status is None:
        return None
    if status not in {s.value for s in TrialStatus}:
        allowed = ", ".join(s.value for s in TrialStatus)
        raise ConfigError(f"status: unknown status {status!r}; allowed: {allowed}")
    return TrialStatus(status)


def add_api(app: FastAPI, experiments: Experiments) -> None:
    """Add the ``/api/`` routes to ``app``."""
    store = experiments.store

    @app.get("/api/experiments")
    def list_experiments() -> list[dict[str, Any]]:
        """Every experiment: name, creation time, objectives, trial counts and best trial."""
        rows = []
        for record in store.list_experiments():
            snap = experiments.live.snapshot(record)
            best = experiments.best(record, snap)
            rows.append(payloads.experiment_row(record, snap.counts(), best))
        return rows

    @app.get("/api/experiments/{name}")
    def get_experiment(name: str) -> dict[str, Any]:
        """Counts, the best trial and its cell as SVG, and a ``revision`` that changes whenever
        a trial starts, reports or ends (fetch the other views again only then)."""
        record = experiments.get(name)
        snap = experiments.live.snapshot(record)
        return payloads.experiment_summary(
            record,
            snap.counts(),
            experiments.best(record, snap),
            experiments.revision(record, snap),
            experiments.space(record),
            report=payloads.report_id(record, store),
            epochs=payloads.epoch_count(record, store),
        )

    @app.get("/api/experiments/{name}/history")
    def get_history(
        name: str,
        since: str | None = Query(
            None, description="the cursor of the last answer: only what changed since"
        ),
    ) -> dict[str, Any]:
        """Each finished trial's value of the first objective and seconds since the first
        start, by number, column by column; with ``since``, only the trials that changed
        (``changed`` lists them; ``full`` says when the answer holds every trial instead)."""
        record = experiments.get(name)
        origin = store.first_started_at(record.id)
        if since is None:
            return experiments.live.derived(
                record,
                "history",
                lambda snap: payloads.history_json(
                    record,
                    snap.columns,
                    experiments.live.reported(record),
                    origin,
                    True,
                    snap.cursor,
                ),
            )
        metric = payloads.metric_of(record)
        changes = store.trial_changes(record.id, [metric], since)
        cols = changes.trials
        pruned = [n for n, s in zip(cols.number, cols.status, strict=True) if s == "pruned"]
        reported: dict[int, float] = {}
        if pruned:
            numbers = None if changes.full else pruned
            reported = store.last_reported(
                record.id, metric, status=TrialStatus.PRUNED, numbers=numbers
            )
        return payloads.history_json(record, cols, reported, origin, changes.full, changes.cursor)

    @app.get("/api/experiments/{name}/pareto")
    def get_pareto(name: str) -> dict[str, Any]:
        """The complete trials on the first two objectives and the Pareto front of those two
        (400 for an experiment of one objective)."""
        record = experiments.get(name)
        needs_two_objectives(record.objectives, record.name)
        return experiments.live.derived(
            record, "pareto", lambda snap: payloads.pareto_json(record, snap.columns)
        )

    @app.get("/api/experiments/{name}/hypervolume")
    def get_hypervolume(name: str) -> dict[str, Any]:
        """The front of the complete trials on every objective and its hypervolume, normalised
        by their own ideal and nadir against the reference point 1.1 (``setting`` states it
        in the objectives' units), with the hypervolume after each complete trial by number and
        by seconds since the first trial started (400 for an experiment of one objective)."""
        record = experiments.get(name)
        needs_two_objectives(record.objectives, record.name)
        origin = store.first_started_at(record.id)
        return experiments.live.derived(
            record,
            "hypervolume",
            lambda snap: payloads.hypervolume_json(record, snap.columns, origin),
        )

    @app.get("/api/experiments/{name}/trials")
    def list_trials(
        name: str,
        status: str | None = Query(None, description="only trials with this status"),
        sort: str = Query(
            "number", description=f"{', '.join(SORT_COLUMNS)} or metric:NAME (a final metric)"
        ),
        order: Literal["asc", "desc"] = Query("asc", description="asc or desc"),
        offset: int = Query(0, ge=0, description="how many trials to skip"),
        limit: int = Query(50, ge=1, le=MAX_PAGE, description="how many trials at most"),
        curves: bool = Query(False, description="include intermediate values"),
    ) -> dict[str, Any]:
        """A page of the trials, optionally of one status, sorted by a column or a metric
        (missing values last); ``total`` is how many trials match."""
        record = experiments.get(name)
        page = store.trial_page(
            record.id,
            status=_status(status),
            sort=sort,
            descending=order == "desc",
            offset=offset,
            limit=limit,
            intermediate=curves,
        )
        metric = payloads.metric_of(record)
        return {
            "total": page.total,
            "offset": offset,
            "limit": limit,
            "sort": sort,
            "order": order,
            "trials": [payloads.trial_table_row(t, metric, curve=curves) for t in page.trials],
        }

    @app.get("/api/experiments/{name}/trials/{number}")
    def get_trial(name: str, number: int) -> dict[str, Any]:
        """One trial with its intermediate values and, if it failed, its whole traceback."""
        record = experiments.get(name)
        trial = experiments.trial(record, number)
        row = payloads.trial_table_row(trial, payloads.metric_of(record), curve=True)
        return {**row, "traceback": trial.error}

    @app.get("/api/experiments/{name}/curves")
    def get_curves(
        name: str,
        metric: str | None = None,
        limit: int = Query(200, ge=1, le=MAX_PAGE, description="how many recent trials"),
    ) -> dict[str, Any]:
        """The learning curves (intermediate values of ``metric``) of the ``limit`` trials with
        the highest numbers and of the best one."""
        record = experiments.get(name)
        snap = experiments.live.snapshot(record)
        numbers = snap.columns.number
        best = experiments.best(record, snap)
        chosen = list(numbers[-limit:]) + ([best.number] if best is not None else [])
        trials = store.trials_numbered(record.id, sorted(set(chosen)), intermediate=True)
        metric = metric or payloads.metric_of(record)
        best_number = best.number if best is not None else None
        return payloads.curves_json(metric, trials, best_number, limit, len(numbers))

    @app.get("/api/experiments/{name}/ops")
    def get_ops(name: str, top_k: int = Query(10, ge=1, le=MAX_PAGE)) -> dict[str, Any]:
        """How often the ``top_k`` best trials pick each operation on each edge."""
        record = experiments.get(name)
        top = experiments.top(record, top_k)
        return payloads.ops_json(top, experiments.space(record))

    @app.get("/api/experiments/{name}/report")
    def get_report(name: str) -> dict[str, Any]:
        """The newest honesty report of a one-shot search (404 when none is stored): archs
        trained alone beside the supernet's estimates, the rank agreement, the operation
        histogram of the derived arch and the collapse warning."""
        record = experiments.get(name)
        report = payloads.report_json(record, store)
        if report is None:
            raise NotFoundError(payloads.no_report(record))
        return report

    @app.get("/api/experiments/{name}/arch-weights")
    def get_arch_weights(name: str) -> dict[str, Any]:
        """How a one-shot search's architecture weights evolved (404 when it stored no supernet
        epochs): each choice's distribution over its candidates per epoch, and the arch derived
        after each."""
        record = experiments.get(name)
        weights = payloads.arch_weights_json(record, store, experiments.space(record))
        if weights is None:
            raise NotFoundError(payloads.no_arch_weights(record))
        return weights

    @app.get("/api/experiments/{name}/lineage")
    def get_lineage(name: str) -> dict[str, Any]:
        """Which trial each child was mutated from, and the tensors it inherited (404 when no
        trial names a parent): ``{"children": [{"trial", "parent", "reused", "tensors"}]}``,
        ``reused`` a count (the names are in the store's ``lineage`` artifacts)."""
        from nasforge.experiment.lineage import lineage

        record = experiments.get(name)
        found = lineage(store, record.id)
        if not found:
            raise NotFoundError(
                f"experiment {record.name!r} has no lineage: no trial was mutated from another"
            )
        children = [
            {
                "trial": child,
                "parent": info["parent"],
                "reused": len(info.get("reused", [])),
                "tensors": info.get("tensors"),
            }
            for child, info in sorted(found.items())
        ]
        return {"children": children}

    @app.get("/api/experiments/{name}/cell.svg", response_class=Response)
    def get_cell(name: str, trial: int | None = None) -> Response:
        """The cell of the best trial (or of ``trial``) as SVG."""
        record = experiments.get(name)
        if trial is None:
            best = experiments.best(record)
            if best is None:
                raise NotFoundError(f"experiment {record.name!r} has no complete trial yet")
            chosen = best
        else:
            chosen = experiments.trial(record, trial, intermediate=False)
        svg = cell_svg(
            chosen.arch.key, title=f"trial {chosen.number}", space=experiments.space(record)
        )
        return Response(svg, media_type="image/svg+xml")
