"""The honesty report of a one-shot search: how far the supernet's estimates can be trusted.

A weight-sharing supernet ranks architectures by accuracies measured with shared weights, and
that ranking may have little to do with how the same architectures do when each is trained
alone (Yu et al. 2020, "Evaluating the search phase of neural architecture search"); a DARTS
supernet may also collapse onto parameter-free operations (Zela et al. 2020). So every one-shot
run ends with a report: ``k`` architectures (the derived one and samples spread over the
supernet's ranking) trained alone with the evaluator's recipe, their standalone accuracy next
to the supernet's estimate, Kendall's tau and Spearman's rho between the two, and the operation
histogram of the derived architecture with a warning when parameter-free operations dominate.

:func:`honesty_report` makes it, records each standalone training as a trial (metrics
``supernet_val_acc`` and ``standalone`` beside the evaluator's) and stores the report with the
experiment (artifact kind :data:`REPORT_KIND`); :func:`load_report` reads it back and
:func:`format_report` prints it.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nasforge.errors import StorageError
from nasforge.estimation.base import TrialContext
from nasforge.oneshot._report_measures import (
    DERIVED,
    collapse_check,
    op_histogram,
    pick_for_report,
    rank_correlations,
    tau_p_value,
)
from nasforge.oneshot._report_progress import ReportProgress
from nasforge.oneshot._report_text import format_report
from nasforge.oneshot.base import SearchSession
from nasforge.space import Arch
from nasforge.trial import Trial, TrialStatus

if TYPE_CHECKING:  # pragma: no cover - typing only: the store is a layer above
    from rich.console import Console

    from nasforge.storage import Storage

#: the artifact kind the report is stored under
REPORT_KIND = "honesty_report"


@dataclass(frozen=True)
class ReportRow:
    """One architecture trained alone: its supernet estimate beside its standalone accuracy.

    ``standalone_val_acc`` is NaN when the training failed (``error`` says why);
    ``supernet_val_acc`` is ``None`` when the supernet gave no estimate of it.
    """

    arch: str
    role: str
    supernet_val_acc: float | None
    standalone_val_acc: float
    standalone_test_acc: float | None = None
    trial: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class HonestyReport:
    """What a one-shot search's result is worth, as trained alone (see the module's text).

    ``kendall_tau`` and ``spearman_rho`` compare the supernet's estimates with the standalone
    accuracies over the rows that have both (``None`` with fewer than 3 such rows or when
    either side is constant); ``kendall_p`` is tau's two-sided p-value (unrelated rankings give
    a tau this far from 0 that often: over a handful of archs, most taus are within chance).
    ``histogram`` counts the derived architecture's operations,
    ``parameter_free_share`` is the part of them in ``parameter_free``; ``collapsed`` says it
    passed the threshold, and ``warning`` says so in words. ``metric`` and ``test_metric`` name
    the evaluator's metrics the standalone columns hold; ``settings`` is what the method chose
    to keep (its batch-norm setting during search, its remedy against collapse, ...).
    """

    method: str
    derived: str
    rows: tuple[ReportRow, ...]
    kendall_tau: float | None
    spearman_rho: float | None
    histogram: dict[str, int]
    parameter_free: frozenset[str]
    parameter_free_share: float
    collapsed: bool
    warning: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    metric: str = "val_acc"
    test_metric: str = "test_acc"
    kendall_p: float | None = None

    @property
    def n_compared(self) -> int:
        """How many rows have both a supernet estimate and a standalone accuracy (what the
        rank correlations are computed over)."""
        return sum(
            1
            for row in self.rows
            if row.supernet_val_acc is not None and math.isfinite(row.standalone_val_acc)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN and infinity become ``None``, the set a sorted list)."""
        out = asdict(self)
        out["rows"] = [{k: _finite(v) for k, v in row.items()} for row in out["rows"]]
        out["parameter_free"] = sorted(self.parameter_free)
        out["kendall_tau"] = _finite(self.kendall_tau)
        out["spearman_rho"] = _finite(self.spearman_rho)
        out["kendall_p"] = _finite(self.kendall_p)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HonestyReport:
        """The report :meth:`to_dict` gave; a :class:`StorageError` for one it cannot read."""
        try:
            rows = []
            for row in data["rows"]:
                values = dict(row)
                if values.get("standalone_val_acc") is None:
                    values["standalone_val_acc"] = math.nan
                rows.append(ReportRow(**values))
            values = dict(data)
            values["rows"] = tuple(rows)
            values["parameter_free"] = frozenset(data["parameter_free"])
            values["histogram"] = {str(k): int(v) for k, v in data["histogram"].items()}
            values["settings"] = dict(data.get("settings") or {})
            return cls(**values)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StorageError(
                f"a stored honesty report cannot be read ({type(exc).__name__}: {exc}); it was "
                "written by another version of nasforge"
            ) from None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---- training alone ---------------------------------------------------------------------------


def train_alone(session: SearchSession, arch: Arch, seed: int, number: int = 0) -> dict[str, float]:
    """Train and evaluate ``arch`` alone with the session's evaluator (its recipe), at the
    session's fidelity and device, with ``seed``; returns the evaluator's metrics.

    ``number`` is the trial number the evaluation is told. An exception of the evaluator
    propagates (:func:`honesty_report` turns it into a failed row).
    """
    return _train_alone(session, arch, seed, number)[0]


def _train_alone(
    session: SearchSession,
    arch: Arch,
    seed: int,
    number: int,
    on_step: Callable[[int], None] | None = None,
) -> tuple[dict[str, float], dict[int, dict[str, float]]]:
    """The metrics and the intermediate reports (``{step: metrics}``) of one training."""
    curve: dict[int, dict[str, float]] = {}

    def reporter(step: int, metrics: Mapping[str, float]) -> None:
        curve[int(step)] = {str(k): float(v) for k, v in metrics.items()}
        if on_step is not None:
            on_step(int(step))

    ctx = TrialContext(
        number=number,
        seed=seed,
        space=session.space,
        device=session.device,
        fidelity=dict(session.fidelity),
        reporter=reporter,
    )
    metrics = session.evaluator.evaluate(arch, ctx)
    return {str(k): float(v) for k, v in metrics.items()}, curve


def honesty_report(
    session: SearchSession,
    method: str,
    derived: Arch,
    estimates: Sequence[tuple[Arch, float]],
    k: int,
    op_dims: Mapping[str, Sequence[str]],
    parameter_free: set[str] | frozenset[str],
    settings: Mapping[str, Any] | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    progress: bool = True,
    *,
    metric: str | None = None,
    test_metric: str | None = None,
    threshold: float = 0.5,
    advice: str | None = None,
    console: Console | None = None,
) -> HonestyReport:
    """Train ``derived`` and ``k - 1`` archs picked over the supernet's ranking alone, record
    each as a trial, compare, store the report with the experiment and return it.

    ``estimates`` are the supernet's ``(arch, estimate)`` pairs (any order: they are ranked
    best first here, see :func:`pick_for_report`). Each pick is trained with
    :func:`train_alone` at the session's seed and recorded with ``session.record(arch,
    {**metrics, "supernet_val_acc": estimate, "standalone": 1.0}, curve)`` (``on_trial`` is told
    of it); a training that raises is recorded ``failed`` with its error and becomes a row with
    a NaN accuracy, and the report goes on. ``metric`` is the standalone accuracy compared with
    the estimates (default: the session's primary objective), ``test_metric`` the test accuracy
    shown beside it when the evaluator returns it (default: ``metric`` with ``val`` read as
    ``test``). ``op_dims``, ``parameter_free``, ``threshold`` and ``advice`` go to
    :func:`op_histogram` and :func:`collapse_check`; ``settings`` is kept as it is (JSON).

    With ``progress`` a Rich bar on ``console`` (stderr by default) follows the trainings.
    """
    metric = metric or session.objectives.primary
    test_metric = test_metric or _test_name(metric)
    ranked = sorted(
        ((a, float(e)) for a, e in estimates),
        key=lambda pair: -pair[1] if math.isfinite(pair[1]) else math.inf,
    )
    picks = pick_for_report(ranked, derived, k)
    histogram = op_histogram(derived, op_dims)
    share, collapsed, warning = collapse_check(histogram, parameter_free, threshold, advice=advice)
    stored = session.trials(intermediate=False)
    number = max((t.number for t in stored), default=-1) + 1
    # a report cut short by a kill goes on: picks trained alone before it are not trained again
    before = {t.arch.key: t for t in stored if t.metrics.get("standalone") == 1.0}
    steps = session.evaluator.max_step(session.fidelity)
    rows = []
    with ReportProgress(method, len(picks), steps, progress, console) as bar:
        for arch, estimate, role in picks:
            bar.start(role)
            if arch.key in before:
                trial = before[arch.key]
                row = _row(arch, estimate, role, trial, trial.metrics, metric, test_metric)
            else:
                row, trial = _train_and_record(
                    session, arch, estimate, role, number, metric, test_metric, bar
                )
                number = trial.number + 1
                if on_trial is not None:
                    on_trial(trial)
            rows.append(row)
            bar.done()
    by_supernet = [r.supernet_val_acc if r.supernet_val_acc is not None else math.nan for r in rows]
    alone = [r.standalone_val_acc for r in rows]
    tau, rho = rank_correlations(by_supernet, alone)
    report = HonestyReport(
        method=method,
        derived=derived.key,
        rows=tuple(rows),
        kendall_tau=tau,
        spearman_rho=rho,
        kendall_p=tau_p_value(by_supernet, alone),
        histogram=histogram,
        parameter_free=frozenset(parameter_free),
        parameter_free_share=share,
        collapsed=collapsed,
        warning=warning,
        settings=dict(settings or {}),
        metric=metric,
        test_metric=test_metric,
    )
    session.attach(REPORT_KIND, report.to_dict())
    return report


def _train_and_record(
    session: SearchSession,
    arch: Arch,
    estimate: float,
    role: str,
    number: int,
    metric: str,
    test_metric: str,
    bar: ReportProgress,
) -> tuple[ReportRow, Trial]:
    error: str | None = None
    try:
        metrics, curve = _train_alone(session, arch, session.seed, number, bar.step)
    except Exception as exc:  # the report goes on: a failed training is a row of its own
        metrics, curve = {}, {}
        error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-8))
    recorded = {**metrics, "standalone": 1.0}
    if math.isfinite(estimate):
        recorded["supernet_val_acc"] = estimate
    status = TrialStatus.FAILED if error else TrialStatus.COMPLETE
    trial = session.record(arch, recorded, curve, status=status, error=error)
    return _row(arch, estimate, role, trial, metrics, metric, test_metric), trial


def _row(
    arch: Arch,
    estimate: float,
    role: str,
    trial: Trial,
    metrics: Mapping[str, float],
    metric: str,
    test_metric: str,
) -> ReportRow:
    # a failed trial: the evaluator's error, or no objective returned
    error = trial.error if trial.status == TrialStatus.FAILED else None
    test = metrics.get(test_metric)
    return ReportRow(
        arch=arch.key,
        role=role,
        supernet_val_acc=estimate if math.isfinite(estimate) else None,
        standalone_val_acc=metrics.get(metric, math.nan) if error is None else math.nan,
        standalone_test_acc=test if test is not None and math.isfinite(test) else None,
        trial=trial.number,
        error=(error.strip().splitlines() or [""])[0] if error else None,
    )


def _test_name(metric: str) -> str:
    """``val_acc`` -> ``test_acc``, ``val_acc_12`` -> ``test_acc_12``; else ``test_acc``."""
    return "test" + metric[3:] if metric.startswith("val") else "test_acc"


def load_report(storage: Storage, experiment_id: int) -> HonestyReport | None:
    """The newest honesty report stored with the experiment, or ``None``."""
    stored = storage.artifacts(experiment_id, kind=REPORT_KIND)
    return HonestyReport.from_dict(stored[-1].info) if stored else None


__all__ = [
    "DERIVED",
    "REPORT_KIND",
    "HonestyReport",
    "ReportRow",
    "collapse_check",
    "format_report",
    "honesty_report",
    "load_report",
    "op_histogram",
    "pick_for_report",
    "rank_correlations",
    "tau_p_value",
    "train_alone",
]
