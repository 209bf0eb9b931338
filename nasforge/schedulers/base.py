"""The ``Scheduler`` base class: decide, at each reported step, whether a trial goes on.

A scheduler lives beside the strategy and the store (the driver), never in a worker: the search
loop stores each intermediate report, then asks :meth:`Scheduler.report`, and raises
:class:`~nasforge.errors.TrialPruned` in the trial when it answers ``True``. Like Optuna's
``BasePruner`` it is one decision method; unlike it, the state a decision needs (the curves seen
so far) is kept in the scheduler and rebuilt on resume by :meth:`Scheduler.replay` from the
stored trials, so no pickled state is needed.

A scheduler judges the primary objective alone, unless it declares
:attr:`Scheduler.multi_objective`: the base class then also records, at each report, the point
of every objective (``points_``), which such a scheduler (MOASHA) ranks by Pareto dominance.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np

from nasforge.errors import ConfigError, NasforgeWarning
from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.trial import Trial, TrialStatus

S = TypeVar("S", bound="Scheduler")


class Scheduler(ABC):
    """Base of every early-stopping scheduler.

    Subclasses implement :meth:`decide`; the base class records what every scheduler needs:

    - ``curves_``: per trial number, ``{step: value}`` of the primary objective oriented so that
      larger is better (a minimised objective is negated before any scheduler sees it);
    - ``archs_``: the arch of each trial that reported one;
    - ``finals_``: the final value of each trial that finished ``complete``;
    - ``status_``: how each finished trial ended;
    - ``points_`` (only when :attr:`multi_objective`): per trial number, ``{step: point}``, the
      point holding every objective in order, each larger-is-better (see :meth:`point_of`).

    Decisions depend only on these records, so feeding the same reports and completions again
    (:meth:`replay`) rebuilds the same scheduler.

    Args:
        max_step: the step of a full evaluation (e.g. the epochs); ``None`` takes it from the
            experiment (``fidelity["epochs"]`` or the evaluator's ``epochs``) in :meth:`bind`.
    """

    #: the name the scheduler is registered under (``"asha"``)
    name: ClassVar[str] = ""
    #: ``True`` for a scheduler that judges every objective, not the primary alone: the base
    #: class then records each report's point of all objectives in ``points_``
    multi_objective: ClassVar[bool] = False

    def __init__(self, max_step: int | None = None) -> None:
        if max_step is not None:
            check_int(self.name, "max_step", max_step, 1)
        self.max_step = max_step
        self.space_: Space | None = None
        self.max_step_: int = 0
        self.objectives_: Objectives = Objectives.parse(None)
        self.reset()

    # ---- set-up ------------------------------------------------------------------------------

    def bind(
        self: S,
        space: Space | None,
        max_step: int | None,
        objectives: Objectives | Mapping[str, str] | str | None = None,
    ) -> S:
        """Attach the scheduler to a search: its space, full step and objectives; clears state.

        The scheduler judges the primary objective (default: maximise ``val_acc``); a search
        with several objectives is stopped early by the first one alone unless the scheduler
        is :attr:`multi_objective`. The ``max_step`` given to the constructor wins over the
        one given here.
        """
        full = self.max_step if self.max_step is not None else max_step
        if full is None:
            raise ConfigError(
                f"scheduler {self.name!r}: max_step is unknown; give it as an option "
                "(the full number of steps, e.g. the epochs) or set fidelity.epochs"
            )
        check_int(self.name, "max_step", full, 1)
        self.space_ = space
        self.max_step_ = int(full)
        self.objectives_ = Objectives.parse(objectives)
        self.reset()
        self.check_options()
        return self

    @property
    def metric_(self) -> str:
        """The metric this scheduler judges: the primary objective."""
        return self.objectives_.primary

    def check_options(self) -> None:  # noqa: B027 - optional hook
        """Refuse options that do not fit ``max_step_`` with a :class:`ConfigError`."""

    def check_below_max_step(self, option: str, value: int) -> None:
        """Refuse a step option at or past the full step (nothing would be left to judge)."""
        if value >= self.max_step_:
            raise ConfigError(
                f"scheduler {self.name!r}: {option}={value} must be below max_step={self.max_step_}"
            )

    def reset(self) -> None:
        """Forget every report and completion."""
        self.curves_: dict[int, dict[int, float]] = {}
        self.archs_: dict[int, Arch | None] = {}
        self.finals_: dict[int, float] = {}
        self.status_: dict[int, TrialStatus] = {}
        self.points_: dict[int, dict[int, tuple[float, ...]]] = {}
        #: per trial, the last reported value of each objective (larger-is-better)
        self._known: dict[int, dict[str, float]] = {}
        self._warned_missing = False

    # ---- the protocol ------------------------------------------------------------------------

    def value_of(self, metrics: Mapping[str, float]) -> float | None:
        """The primary objective in ``metrics`` oriented larger-is-better; ``None`` if missing
        or NaN."""
        return self.objectives_.value(metrics)

    def report(
        self, trial: int, step: int, metrics: Mapping[str, float], arch: Arch | None = None
    ) -> bool:
        """Record a report of raw metrics; ``True`` means stop the trial now.

        A report without the primary objective (or with NaN) is ignored and never stops a
        trial. A :attr:`multi_objective` scheduler also records the report's point of every
        objective (:meth:`point_of`); while one of them is still unknown the report is
        ignored too.
        """
        if not self.multi_objective:
            value = self.value_of(metrics)
            if value is None:
                return False
            return self.should_stop(trial, step, value, arch)
        point = self.point_of(trial, metrics)
        if point is None:
            return False
        self.points_.setdefault(trial, {})[int(step)] = point
        return self.should_stop(trial, step, point[0], arch)

    def point_of(self, trial: int, metrics: Mapping[str, float]) -> tuple[float, ...] | None:
        """Every objective of ``trial``'s report ``metrics``, in order, larger-is-better.

        The primary objective must be in the report (it is what training changes). Another
        objective the report lacks (or holds as NaN) takes the last value ``trial`` reported
        for it: parameters, FLOPs or latency are constant over training, and an evaluator may
        report them once. ``None`` (the report is not judged) when the primary is missing or
        another objective has not been reported by ``trial`` yet; the first such report warns
        once, since a scheduler that never sees an objective never stops anything.
        """
        known = self._known.setdefault(trial, {})
        for name in self.objectives_.names:
            value = self.objectives_.value(metrics, name)
            if value is not None:
                known[name] = value
        if self.value_of(metrics) is None:
            return None
        missing = [name for name in self.objectives_.names if name not in known]
        if missing:
            if not self._warned_missing:
                self._warned_missing = True
                warnings.warn(
                    f"scheduler {self.name!r}: trial {trial} reported without objective "
                    f"{missing[0]!r}; a trial is judged only once its reports have carried "
                    "every objective (report it with the first step, e.g. the parameter count)",
                    NasforgeWarning,
                    stacklevel=3,
                )
            return None
        return tuple(known[name] for name in self.objectives_.names)

    def should_stop(self, trial: int, step: int, value: float, arch: Arch | None = None) -> bool:
        """Record ``value`` (larger is better) of ``trial`` at ``step`` and decide.

        A trial at or past ``max_step`` is never stopped: its training is already spent.
        """
        curve = self.curves_.setdefault(trial, {})
        curve[int(step)] = float(value)
        if arch is not None or trial not in self.archs_:
            self.archs_[trial] = arch
        if step >= self.max_step_ or trial in self.status_:
            return False
        return bool(self.decide(trial, int(step), float(value)))

    @abstractmethod
    def decide(self, trial: int, step: int, value: float) -> bool:
        """Whether ``trial``, whose ``value`` at ``step`` was just recorded, should stop."""

    def complete(self, trial: Trial) -> None:
        """Record a finished trial (complete, pruned or failed) with its curve and final value."""
        for step, metrics in sorted(trial.intermediate.items()):
            value = self.value_of(metrics)
            if value is not None:
                self.curves_.setdefault(trial.number, {}).setdefault(int(step), value)
            if self.multi_objective and int(step) not in self.points_.get(trial.number, {}):
                point = self.point_of(trial.number, metrics)
                if point is not None:
                    self.points_.setdefault(trial.number, {})[int(step)] = point
        self.archs_[trial.number] = trial.arch
        self.status_[trial.number] = trial.status
        if trial.status == TrialStatus.COMPLETE:
            final = self.value_of(trial.metrics)
            curve = self.curves_.get(trial.number)
            if final is None and curve:
                final = curve[max(curve)]
            if final is not None:
                self.finals_[trial.number] = final
        self.on_complete(trial.number)

    def on_complete(self, trial: int) -> None:  # noqa: B027 - optional hook
        """Update learned state after ``trial`` finished (see ``status_`` and ``finals_``)."""

    def replay(self, trials: Sequence[Trial]) -> None:
        """Rebuild the state from stored trials: each finished one's reports, then its end.

        Trials are replayed in the order they were told to the strategy (``tell_seq``, then
        number); trials that never finished (interrupted, running) are left out, as their retry
        reports again under a new number.
        """
        self.reset()
        done = [t for t in trials if t.status.finished]
        done.sort(key=lambda t: (t.tell_seq if t.tell_seq is not None else math.inf, t.number))
        for t in done:
            self.replay_trial(t)

    def replay_trial(self, trial: Trial) -> None:
        """Feed one finished trial's stored reports, in step order, then its end."""
        for step, metrics in sorted(trial.intermediate.items()):
            self.report(trial.number, step, metrics, trial.arch)
        self.complete(trial)

    # ---- helpers -----------------------------------------------------------------------------

    def completed_curves(self) -> dict[int, dict[int, float]]:
        """The curves of trials that finished ``complete``, by trial number."""
        return {n: self.curves_.get(n, {}) for n in sorted(self.finals_)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_step={self.max_step})"


def check_int(scheduler: str, name: str, value: Any, minimum: int) -> int:
    """Check an integer option, naming the scheduler and the option when it is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(
            f"scheduler {scheduler!r}: {name} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def check_float(scheduler: str, name: str, value: Any, low: float, high: float) -> float:
    """Check a number option in the open interval ``(low, high)``."""
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not low < float(value) < high:
        raise ConfigError(
            f"scheduler {scheduler!r}: {name} must be a number in ({low}, {high}), got {value!r}"
        )
    return float(value)


__all__ = ["Scheduler", "check_float", "check_int"]
