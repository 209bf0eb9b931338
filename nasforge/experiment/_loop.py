"""The search loop: replay what is stored, then ask, evaluate, store and tell until the budget.

Kept apart from the ``Experiment`` facade (as Optuna keeps ``_optimize.py`` apart from
``study.py``) so that the executors of later versions can reuse the replay and the bookkeeping.
"""

from __future__ import annotations

import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from nasforge.errors import TrialPruned
from nasforge.estimation.base import TrialContext, as_metrics
from nasforge.estimation.schedulers import Scheduler
from nasforge.space import Arch
from nasforge.strategies import Strategy
from nasforge.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from nasforge.experiment.experiment import Experiment

#: called after every finished trial with the experiment and the stored trial
Callback = Callable[["Experiment", Trial], None]


def trial_seed(experiment_seed: int, ask_index: int) -> int:
    """The seed of the trial made by the ``ask_index``-th ask (a retry keeps its trial's seed)."""
    state = np.random.SeedSequence([int(experiment_seed), int(ask_index)]).generate_state(1)[0]
    return int(state % (2**31 - 1))


@dataclass
class _Retry:
    arch: Arch
    seed: int
    root: int  # number of the trial whose ask this retries
    attempts: int


@dataclass
class LoopState:
    """What replay recovers: the counters and the asks still owed a result."""

    next_seq: int = 0
    next_number: int = 0
    asked: int = 0
    retries: list[_Retry] = field(default_factory=list)
    abandoned: list[tuple[Trial, int]] = field(default_factory=list)


def replay(strategy: Strategy, trials: Sequence[Trial], max_retries: int) -> LoopState:
    """Feed ``strategy`` the stored asks and tells in their original order.

    A strategy is deterministic for a seed and a sequence of calls, so after replay it is in the
    state it had when the experiment stopped. An ask whose every attempt was interrupted is
    queued for a retry, or given up as failed after ``max_retries`` retries.
    """
    state = LoopState(next_number=max((t.number for t in trials), default=-1) + 1)
    events: list[tuple[int, int, Trial]] = []
    for t in trials:
        if t.ask_seq is not None:
            events.append((t.ask_seq, 0, t))
        if t.tell_seq is not None:
            events.append((t.tell_seq, 1, t))
    events.sort(key=lambda e: (e[0], e[1]))
    mismatch = 0
    for seq, kind, t in events:
        if kind == 0:
            if strategy.ask() != t.arch:
                mismatch += 1
            state.asked += 1
        else:
            strategy.tell(t)
        state.next_seq = seq + 1
    if mismatch:
        warnings.warn(
            f"strategy {strategy.name!r} asked {mismatch} different archs on replay than stored; "
            "it is not deterministic for its seed, so the resumed search may differ",
            RuntimeWarning,
            stacklevel=2,
        )
    chains: dict[int, list[Trial]] = {}
    for t in trials:
        root = t.number if t.retry_of is None else t.retry_of
        chains.setdefault(root, []).append(t)
    for root, chain in sorted(chains.items()):
        if any(t.tell_seq is not None for t in chain):
            continue
        last = chain[-1]
        if len(chain) - 1 < max_retries:
            state.retries.append(_Retry(last.arch, last.seed, root, len(chain)))
        else:
            state.abandoned.append((last, len(chain)))
    return state


class SearchLoop:
    """One run of an experiment's search: holds the live strategy and writes to the store."""

    def __init__(
        self,
        experiment: Experiment,
        strategy: Strategy,
        state: LoopState,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.exp = experiment
        self.strategy = strategy
        self.state = state
        self.scheduler = scheduler
        self.current: tuple[int, int] | None = None  # (trial id, number) being evaluated

    def _next_seq(self) -> int:
        seq = self.state.next_seq
        self.state.next_seq += 1
        return seq

    def give_up(self) -> None:
        """Tell the strategy, as failed, each ask that was interrupted too often."""
        store, exp_id = self.exp.storage, self.exp.record.id
        for trial, attempts in self.state.abandoned:
            error = (
                f"interrupted {attempts} times; not retried (max_retries={self.exp.max_retries})"
            )
            tell_seq = self._next_seq()
            trial_id = store.trial_id(exp_id, trial.number)
            store.finish_trial(trial_id, TrialStatus.FAILED, trial.metrics, None, error, tell_seq)
            failed = replace(trial, status=TrialStatus.FAILED, error=error, tell_seq=tell_seq)
            if self.scheduler is not None:  # as a later resume will replay it
                self.scheduler.replay_trial(failed)
            self.strategy.tell(failed)
        self.state.abandoned.clear()

    def run(
        self,
        max_trials: int | None,
        max_time: float | None,
        callbacks: Sequence[Callback],
        on_report: Callable[[int, int, Mapping[str, float]], None] | None = None,
    ) -> list[Trial]:
        """Evaluate trials until ``max_trials`` asks are answered or ``max_time`` has passed."""
        self.give_up()
        start = time.monotonic()
        finished: list[Trial] = []
        while True:
            if max_time is not None and time.monotonic() - start >= max_time:
                break
            if self.state.retries:
                retry = self.state.retries.pop(0)
                arch, seed, ask_seq, retry_of = retry.arch, retry.seed, None, retry.root
            elif max_trials is None or self.state.asked < max_trials:
                arch = self.strategy.ask()
                seed = trial_seed(self.exp.seed, self.state.asked)
                ask_seq, retry_of = self._next_seq(), None
                self.state.asked += 1
            else:
                break
            trial = self._evaluate(arch, seed, ask_seq, retry_of, on_report)
            finished.append(trial)
            if self.scheduler is not None:
                self.scheduler.complete(trial)
            self.strategy.tell(trial)
            for callback in callbacks:
                callback(self.exp, trial)
        return finished

    def _evaluate(
        self,
        arch: Arch,
        seed: int,
        ask_seq: int | None,
        retry_of: int | None,
        on_report: Callable[[int, int, Mapping[str, float]], None] | None,
    ) -> Trial:
        exp, store = self.exp, self.exp.storage
        number = self.state.next_number
        self.state.next_number += 1
        trial_id = store.start_trial(
            exp.record.id, number, arch, seed, ask_seq=ask_seq, retry_of=retry_of, worker="main"
        )
        self.current = (trial_id, number)
        curve: dict[int, dict[str, float]] = {}
        scheduler = self.scheduler

        def reporter(step: int, metrics: Mapping[str, float]) -> None:
            curve[step] = dict(metrics)
            store.report(trial_id, step, metrics)
            if on_report is not None:
                on_report(number, step, metrics)
            # decided here, beside the store, never in a worker; the evaluator lets it propagate
            if scheduler is not None and scheduler.report(number, step, metrics, arch):
                raise TrialPruned(f"stopped at step {step} by scheduler {scheduler.name!r}")

        ctx = TrialContext(
            number=number,
            seed=seed,
            space=exp.space,
            device=exp.device,
            fidelity=dict(exp.fidelity),
            reporter=reporter,
        )
        started = time.monotonic()
        metrics: dict[str, float] = {}
        scores: tuple[float, ...] | None = None
        error: str | None = None
        try:
            metrics = as_metrics(exp.evaluator.evaluate(arch, ctx))
            scores = exp.scores_of(metrics)
            status = TrialStatus.COMPLETE
            if scores is None:
                status = TrialStatus.FAILED
                error = (
                    f"the evaluator returned no objective {exp.missing_objective(metrics)!r}; "
                    f"it returned {sorted(metrics) or 'nothing'}"
                )
        except TrialPruned:
            status = TrialStatus.PRUNED
            metrics = curve[max(curve)] if curve else {}
        except (KeyboardInterrupt, SystemExit):
            self.current = None
            raise  # the trial stays ``running``; the next run marks it interrupted and retries it
        except Exception as exc:
            status = TrialStatus.FAILED
            error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-8))
        tell_seq = self._next_seq()
        store.finish_trial(trial_id, status, metrics, scores, error=error, tell_seq=tell_seq)
        self.current = None
        return Trial(
            number=number,
            arch=arch,
            status=status,
            metrics=metrics,
            scores=scores,
            intermediate=curve,
            seed=seed,
            error=error,
            duration_s=time.monotonic() - started,
            worker="main",
            retry_of=retry_of,
            ask_seq=ask_seq,
            tell_seq=tell_seq,
        )
