"""``RunSession``: all a search method may know of the experiment it runs in.

The search loop of the ask/tell strategies and the one-shot methods (which train one supernet
and then record the archs they evaluated) both run against a session: the store and the
experiment's id, the objectives and hard constraints, the space, the evaluator, the seed,
retries, fidelity and device. Nothing else of the :class:`~nasforge.Experiment` reaches them.
The session writes every trial the same way (numbers, the ask/tell order a resume replays,
scores from the objectives, the constraints it breaks) and keeps a method's checkpoint in the
store, so a killed one-shot search resumes too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nasforge.constraints import Constraints
from nasforge.estimation.base import Evaluator
from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.storage import Storage
from nasforge.trial import Trial, TrialStatus

#: the artifact kind of a search method's checkpoint
CHECKPOINT_KIND = "checkpoint"


@dataclass
class RunSession:
    """One run of one experiment, as a search method sees it.

    Trial numbers and the ask/tell sequence continue from what is stored (:meth:`resume`).

    Example:
        >>> import nasforge as nf
        >>> from nasforge.storage import Storage
        >>> store = Storage("sqlite:///:memory:")
        >>> record = store.create_experiment("demo", 0, {"convs": "max"}, {})
        >>> space = nf.CellSpace(3, ["skip_connect", "conv"])
        >>> session = RunSession(store, record.id, nf.Objectives.parse("convs"), space,
        ...                      nf.FunctionEvaluator(lambda a: {"convs": 1.0}), seed=0)
        >>> trial = session.record(space.parse("|conv~0|+|conv~0|skip_connect~1|"), {"convs": 2})
        >>> trial.number, trial.scores
        (0, (2.0,))
    """

    storage: Storage
    experiment_id: int
    objectives: Objectives
    space: Space
    evaluator: Evaluator
    seed: int = 0
    max_retries: int = 2
    fidelity: Mapping[str, Any] = field(default_factory=dict)
    device: str = "auto"
    worker: str = ""
    constraints: Constraints = field(default_factory=Constraints)
    _next_number: int = field(default=0, repr=False)
    _next_seq: int = field(default=0, repr=False)

    # ---- counters -----------------------------------------------------------------------------

    def resume(self, trials: Sequence[Trial]) -> None:
        """Continue numbers and the ask/tell sequence after the stored ``trials``."""
        self._next_number = max((t.number for t in trials), default=-1) + 1
        seqs = [s for t in trials for s in (t.ask_seq, t.tell_seq) if s is not None]
        self._next_seq = max(seqs, default=-1) + 1

    def take_number(self) -> int:
        number, self._next_number = self._next_number, self._next_number + 1
        return number

    def take_seq(self) -> int:
        """The next position on the experiment's ask/tell counter (what a resume replays)."""
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        return seq

    # ---- trials -------------------------------------------------------------------------------

    def trials(self, intermediate: bool = True) -> list[Trial]:
        """Every stored trial of the experiment, by number, with the constraints they break
        (:attr:`~nasforge.trial.Trial.violations`)."""
        return self.constraints.judge(
            self.storage.trials(self.experiment_id, intermediate=intermediate)
        )

    def start(
        self,
        arch: Arch,
        seed: int,
        ask_seq: int | None = None,
        retry_of: int | None = None,
    ) -> int:
        """Store a new ``running`` trial of ``arch``; returns its number."""
        number = self.take_number()
        self.storage.start_trial(
            self.experiment_id,
            number,
            arch,
            seed,
            ask_seq=ask_seq,
            retry_of=retry_of,
            worker=self.worker or None,
        )
        return number

    def report(self, number: int, step: int, metrics: Mapping[str, float]) -> None:
        """Store an intermediate result of trial ``number``."""
        self.storage.report(self.experiment_id, number, step, metrics)

    def finish(
        self,
        number: int,
        arch: Arch,
        status: TrialStatus,
        metrics: Mapping[str, float],
        *,
        seed: int = 0,
        curve: Mapping[int, Mapping[str, float]] | None = None,
        error: str | None = None,
        worker: str | None = None,
        retry_of: int | None = None,
        ask_seq: int | None = None,
        duration_s: float | None = None,
        untrained: bool = False,
    ) -> Trial:
        """Store how trial ``number`` ended and return the finished :class:`Trial`.

        A complete trial gets one score per objective; one that lacks an objective, or returns
        it NaN or infinite, is stored ``failed`` with a message naming it, and so is one that
        lacks a constrained metric. A pruned trial keeps its last reported metrics.

        Hard constraints: a complete trial whose metrics break one is stored complete but
        infeasible, and ``untrained`` (with status ``pruned``) is an arch not trained because
        the metrics measured first (``metrics``) broke one. Either has no scores, so nothing
        ranks it, and its error names each broken constraint and the value that broke it; the
        returned trial's :attr:`~nasforge.trial.Trial.violations` says by how much.
        """
        curve = {int(k): dict(v) for k, v in (curve or {}).items()}
        scores: tuple[float, ...] | None = None
        metrics = dict(metrics)
        if status == TrialStatus.PRUNED and not untrained:
            metrics = curve[max(curve)] if curve else {}
        elif status == TrialStatus.COMPLETE:
            scores = self.objectives.scores(metrics)
            unchecked = self.constraints.missing(metrics)
            if scores is None:
                status = TrialStatus.FAILED
                error = self._no_score(metrics)
            elif unchecked is not None:
                status, scores = TrialStatus.FAILED, None
                error = self._unchecked(unchecked, metrics)
        violations = self.constraints.violations(metrics)
        if violations and (status == TrialStatus.COMPLETE or untrained):
            scores = None
            said = self.constraints.explain(violations, metrics)
            error = f"infeasible, not trained: {said}" if untrained else f"infeasible: {said}"
        tell_seq = self.take_seq()
        self.storage.finish_trial(
            self.experiment_id, number, status, metrics, scores, error, tell_seq, worker=worker
        )
        return Trial(
            number=number,
            arch=arch,
            status=status,
            metrics=metrics,
            scores=scores,
            intermediate=curve,
            seed=seed,
            error=error,
            duration_s=duration_s,
            worker=worker or self.worker or None,
            retry_of=retry_of,
            ask_seq=ask_seq,
            tell_seq=tell_seq,
            constraint_values=self.constraints.margins(metrics),
        )

    def _unchecked(self, name: str, metrics: Mapping[str, float]) -> str:
        """Why a complete trial cannot be checked against constraint ``name``."""
        constraint = next(c for c in self.constraints if c.metric == name)
        if name in metrics:
            return (
                f"the evaluator returned {name!r} as {metrics[name]!r}; constraint {constraint} "
                "needs a finite number, not NaN or infinite"
            )
        returned = sorted(metrics) or "nothing"
        return (
            f"the evaluator returned no {name!r} for constraint {constraint}; it returned "
            f"{returned}"
        )

    def _no_score(self, metrics: Mapping[str, float]) -> str:
        """Why a complete trial has no score: an objective missing, or NaN or infinite."""
        name = self.objectives.missing(metrics)
        if name is not None and name in metrics:
            return (
                f"the evaluator returned objective {name!r} as {metrics[name]!r}; an objective "
                "must be a finite number, not NaN or infinite"
            )
        returned = sorted(metrics) or "nothing"
        return f"the evaluator returned no objective {name!r}; it returned {returned}"

    def record(
        self,
        arch: Arch,
        metrics: Mapping[str, float],
        curve: Mapping[int, Mapping[str, float]] | None = None,
        *,
        status: TrialStatus = TrialStatus.COMPLETE,
        seed: int | None = None,
        error: str | None = None,
    ) -> Trial:
        """Store an arch a method evaluated itself as one finished trial, with its ``curve``
        (``{step: metrics}``), for methods that do not ask and tell (one-shot search).

        It takes an ask and a tell on the experiment's counter like any trial, so the plots,
        the dashboard, ``best()``, retrain and export see it as they see every other.
        """
        arch = self.space.validate(arch)
        started = time.monotonic()
        ask_seq = self.take_seq()
        number = self.start(arch, self.seed if seed is None else seed, ask_seq=ask_seq)
        for step, values in sorted((curve or {}).items()):
            self.report(number, int(step), values)
        return self.finish(
            number,
            arch,
            status,
            metrics,
            seed=self.seed if seed is None else seed,
            curve=curve,
            error=error,
            ask_seq=ask_seq,
            duration_s=time.monotonic() - started,
        )

    def experiment_name(self) -> str:
        """The experiment's name in the store (for messages that tell the user where to look)."""
        records = self.storage.list_experiments()
        return next((r.name for r in records if r.id == self.experiment_id), "?")

    def running_numbers(self) -> list[int]:
        """The experiment's trials stored ``running`` that this session started."""
        mine = self.worker or None
        running = self.storage.running_trials(self.experiment_id)
        return [number for number, worker, _ in running if worker == mine]

    def heartbeat(self, numbers: Sequence[int]) -> None:
        self.storage.heartbeat(self.experiment_id, numbers)

    def mark_interrupted(self, numbers: Sequence[int], reason: str) -> list[int]:
        return self.storage.mark_interrupted(self.experiment_id, numbers=numbers, reason=reason)

    # ---- checkpoints --------------------------------------------------------------------------

    def checkpoint(self, data: bytes, info: Mapping[str, Any] | None = None) -> int:
        """Keep ``data`` (a method's state: supernet weights, its optimiser, its step) as the
        experiment's checkpoint; older ones are deleted once it is stored. Returns its id."""
        artifact = self.storage.add_artifact(
            self.experiment_id, None, CHECKPOINT_KIND, info=dict(info or {}), data=bytes(data)
        )
        self.storage.delete_artifacts(self.experiment_id, CHECKPOINT_KIND, keep=[artifact])
        return artifact

    def last_checkpoint(self) -> bytes | None:
        """The newest checkpoint's bytes, or ``None`` before the first one."""
        stored = self.storage.artifacts(self.experiment_id, kind=CHECKPOINT_KIND)
        return self.storage.artifact_data(stored[-1].id) if stored else None

    # ---- what a method keeps beside its trials --------------------------------------------------

    def attach(
        self,
        kind: str,
        info: Mapping[str, Any],
        *,
        trial: int | None = None,
        data: bytes | None = None,
    ) -> int:
        """Store ``info`` (JSON) and optionally ``data`` under ``kind`` with the experiment (or
        its trial ``trial``): what a one-shot method keeps beside its trials, such as each
        epoch's architecture weights or its honesty report. Returns the artifact's id."""
        return self.storage.add_artifact(
            self.experiment_id, trial, kind, info=dict(info), data=data
        )

    def attached(self, kind: str) -> list[dict[str, Any]]:
        """The ``info`` of everything stored under ``kind``, oldest first."""
        return [a.info for a in self.storage.artifacts(self.experiment_id, kind=kind)]


__all__ = ["CHECKPOINT_KIND", "RunSession"]
