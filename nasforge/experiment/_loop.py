"""The search loop: replay what is stored, then ask, evaluate, store and tell until the budget.

Kept apart from the ``Experiment`` facade (as Optuna keeps ``_optimize.py`` apart from
``study.py``) so that the executors of later versions can reuse the replay and the bookkeeping.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
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
    from nasforge.execution import Executor
    from nasforge.experiment.experiment import Experiment

#: called after every finished trial with the experiment and the stored trial
Callback = Callable[["Experiment", Trial], None]
#: told ``(trial number, step, metrics)`` of every intermediate report (the progress bar)
OnReport = Callable[[int, int, Mapping[str, float]], None] | None


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


def driver_name() -> str:
    """``host:pid`` of this process: stored as each trial's worker (and its driver)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def reclaim_running(exp: Experiment, stale_after: float) -> list[int]:
    """Mark ``interrupted`` the trials left ``running`` by a driver that is gone.

    A trial's driver is gone when it ran on this machine and its process no longer exists (or
    is this process, which is not running it now), or when its heartbeat is older than
    ``stale_after`` seconds. A trial whose driver is alive means another process is running
    this experiment: refused, as two drivers would each retry the other's trials.
    """
    from datetime import datetime, timezone

    from nasforge.errors import StorageError

    store, host = exp.storage, socket.gethostname()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    gone = []
    for number, worker, last in store.running_trials(exp.record.id):
        where, _, pid_text = (worker or "").partition("/")[0].rpartition(":")
        age = (now - last).total_seconds() if last is not None else math.inf
        if where == host and pid_text.isdigit():
            pid = int(pid_text)
            dead = pid == os.getpid() or not _process_exists(pid) or age > stale_after
        else:
            dead = age > stale_after or not where
        if not dead:
            raise StorageError(
                f"experiment {exp.name!r} is being run by {worker} (trial {number} running, "
                f"heartbeat {age:.0f} s ago); stop that process, or wait {stale_after:.0f} s "
                "after it died, then run again"
            )
        gone.append(number)
    return store.mark_interrupted(exp.record.id, numbers=gone) if gone else []


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Heartbeat:
    """Writes the heartbeat of the trial the serial loop is evaluating, from a thread."""

    def __init__(self, loop: SearchLoop, every: float) -> None:
        self.loop, self.every = loop, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="nasforge-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            current = self.loop.current
            if current is not None:
                with contextlib.suppress(Exception):  # a missed beat is only a later one
                    self.loop.exp.storage.heartbeat([current[0]])


@dataclass
class _Work:
    """An evaluation about to start: a fresh ask, or a retry of an interrupted one."""

    arch: Arch
    seed: int
    ask_seq: int | None
    retry_of: int | None
    attempts: int = 1


@dataclass
class _Running:
    """A started trial: what the store and the strategy need when it ends."""

    trial_id: int
    number: int
    work: _Work
    started: float
    curve: dict[int, dict[str, float]] = field(default_factory=dict)


class SearchLoop:
    """One run of an experiment's search: holds the live strategy and writes to the store.

    ``run`` evaluates one trial at a time in this process; ``run_parallel`` keeps an
    :class:`~nasforge.execution.Executor`'s workers busy (a free worker gets the next ask at
    once) while this process alone talks to the strategy, the scheduler and the store.
    """

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
        self.worker = driver_name()

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

    def _next_work(self, max_trials: int | None) -> _Work | None:
        """A queued retry first, then a new ask while the budget allows; else ``None``."""
        if self.state.retries:
            retry = self.state.retries.pop(0)
            return _Work(retry.arch, retry.seed, None, retry.root, retry.attempts + 1)
        if max_trials is not None and self.state.asked >= max_trials:
            return None
        arch = self.strategy.ask()
        seed = trial_seed(self.exp.seed, self.state.asked)
        self.state.asked += 1
        return _Work(arch, seed, self._next_seq(), None)

    def _start(self, work: _Work) -> _Running:
        number = self.state.next_number
        self.state.next_number += 1
        trial_id = self.exp.storage.start_trial(
            self.exp.record.id,
            number,
            work.arch,
            work.seed,
            ask_seq=work.ask_seq,
            retry_of=work.retry_of,
            worker=self.worker,
        )
        return _Running(trial_id, number, work, time.monotonic())

    def _on_report(
        self,
        run: _Running,
        step: int,
        metrics: Mapping[str, float],
        on_report: OnReport,
    ) -> bool:
        """Store an intermediate result; True when the scheduler stops the trial."""
        run.curve[step] = dict(metrics)
        self.exp.storage.report(run.trial_id, step, metrics)
        if on_report is not None:
            on_report(run.number, step, metrics)
        scheduler = self.scheduler
        return scheduler is not None and scheduler.report(run.number, step, metrics, run.work.arch)

    def _finish(
        self,
        run: _Running,
        status: TrialStatus,
        metrics: dict[str, float],
        error: str | None,
        callbacks: Sequence[Callback],
        worker: str | None = None,
    ) -> Trial:
        """Store the end of a trial, then tell the scheduler, the strategy and the callbacks."""
        exp = self.exp
        scores: tuple[float, ...] | None = None
        if status == TrialStatus.PRUNED:
            metrics = run.curve[max(run.curve)] if run.curve else {}
        elif status == TrialStatus.COMPLETE:
            scores = exp.objectives.scores(metrics)
            if scores is None:
                status = TrialStatus.FAILED
                error = (
                    f"the evaluator returned no objective {exp.objectives.missing(metrics)!r}; "
                    f"it returned {sorted(metrics) or 'nothing'}"
                )
        tell_seq = self._next_seq()
        exp.storage.finish_trial(
            run.trial_id, status, metrics, scores, error, tell_seq, worker=worker
        )
        trial = Trial(
            number=run.number,
            arch=run.work.arch,
            status=status,
            metrics=metrics,
            scores=scores,
            intermediate=run.curve,
            seed=run.work.seed,
            error=error,
            duration_s=time.monotonic() - run.started,
            worker=worker or self.worker,
            retry_of=run.work.retry_of,
            ask_seq=run.work.ask_seq,
            tell_seq=tell_seq,
        )
        if self.scheduler is not None:
            self.scheduler.complete(trial)
        self.strategy.tell(trial)
        for callback in callbacks:
            callback(self.exp, trial)
        return trial

    def run(
        self,
        max_trials: int | None,
        max_time: float | None,
        callbacks: Sequence[Callback],
        on_report: OnReport = None,
        heartbeat_s: float = 2.0,
    ) -> list[Trial]:
        """Evaluate trials until ``max_trials`` asks are answered or ``max_time`` has passed."""
        self.give_up()
        start = time.monotonic()
        finished: list[Trial] = []
        with _Heartbeat(self, heartbeat_s):
            while max_time is None or time.monotonic() - start < max_time:
                work = self._next_work(max_trials)
                if work is None:
                    break
                finished.append(self._evaluate(work, callbacks, on_report))
        return finished

    def _evaluate(
        self,
        work: _Work,
        callbacks: Sequence[Callback],
        on_report: OnReport,
    ) -> Trial:
        exp = self.exp
        run = self._start(work)
        self.current = (run.trial_id, run.number)
        scheduler = self.scheduler

        def reporter(step: int, metrics: Mapping[str, float]) -> None:
            # decided here, beside the store, never in a worker; the evaluator lets it propagate
            if self._on_report(run, step, metrics, on_report):
                name = scheduler.name if scheduler is not None else ""
                raise TrialPruned(f"stopped at step {step} by scheduler {name!r}")

        ctx = TrialContext(
            number=run.number,
            seed=work.seed,
            space=exp.space,
            device=exp.device,
            fidelity=dict(exp.fidelity),
            reporter=reporter,
        )
        metrics: dict[str, float] = {}
        error: str | None = None
        try:
            metrics = as_metrics(exp.evaluator.evaluate(work.arch, ctx))
            status = TrialStatus.COMPLETE
        except TrialPruned:
            status = TrialStatus.PRUNED
        except (KeyboardInterrupt, SystemExit):
            self.current = None
            raise  # the trial stays ``running``; the next run marks it interrupted and retries it
        except Exception as exc:
            status = TrialStatus.FAILED
            error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-8))
        self.current = None
        return self._finish(run, status, metrics, error, callbacks)

    # ---- parallel ----------------------------------------------------------------------------

    def run_parallel(
        self,
        executor: Executor,
        max_trials: int | None,
        max_time: float | None,
        callbacks: Sequence[Callback],
        on_report: OnReport = None,
        heartbeat_s: float = 2.0,
    ) -> list[Trial]:
        """Keep ``executor``'s workers busy until the budget is spent and every trial ended.

        A free worker gets the next ask at once (no generations). ``max_time`` stops new
        trials; those running finish. A worker that dies leaves its trial ``interrupted`` and
        queued for a retry (up to ``max_retries``); on Ctrl-C the running trials are marked
        ``interrupted`` and the next run retries them. Heartbeats of running trials are written
        every ``heartbeat_s`` seconds so that another driver can tell a live search from a dead
        one.
        """
        from nasforge.execution import Done, Job, Lost, Report

        self.give_up()
        store = self.exp.storage
        executor.start(self.exp.evaluator, self.exp.space)
        start = last_beat = time.monotonic()
        running: dict[int, _Running] = {}
        finished: list[Trial] = []
        try:
            while True:
                in_time = max_time is None or time.monotonic() - start < max_time
                while in_time and executor.free_slots() > 0:
                    work = self._next_work(max_trials)
                    if work is None:
                        break
                    started = self._start(work)
                    running[started.trial_id] = started
                    job = Job(
                        started.trial_id,
                        started.number,
                        work.arch.to_dict(),
                        work.seed,
                        fidelity=dict(self.exp.fidelity),
                        wait_decision=self.scheduler is not None,
                    )
                    executor.submit(job)
                if not running:
                    break
                for event in executor.poll(timeout=min(0.5, heartbeat_s)):
                    run = running.get(event.trial_id)
                    if run is None:  # a late event of a trial already ended or lost
                        continue
                    if isinstance(event, Report):
                        stop = self._on_report(run, event.step, event.metrics, on_report)
                        if event.wait:
                            executor.decide(event.trial_id, stop)
                    elif isinstance(event, Done):
                        del running[event.trial_id]
                        status = TrialStatus.COMPLETE
                        if event.pruned:
                            status = TrialStatus.PRUNED
                        elif event.error is not None:
                            status = TrialStatus.FAILED
                        trial = self._finish(
                            run, status, event.metrics, event.error, callbacks, event.worker
                        )
                        finished.append(trial)
                    elif isinstance(event, Lost):
                        del running[event.trial_id]
                        self._lost(run, event.reason, callbacks, finished)
                if time.monotonic() - last_beat >= heartbeat_s:
                    store.heartbeat(list(running))
                    last_beat = time.monotonic()
        finally:
            executor.shutdown()
            if running:  # Ctrl-C or an error in the driver: retried by the next run
                store.mark_interrupted(
                    self.exp.record.id,
                    trial_ids=list(running),
                    reason="the search stopped while this trial ran",
                )
        return finished

    def _lost(
        self, run: _Running, reason: str, callbacks: Sequence[Callback], finished: list[Trial]
    ) -> None:
        """A worker died: the trial is ``interrupted`` and retried, or failed after too many."""
        store = self.exp.storage
        store.mark_interrupted(self.exp.record.id, trial_ids=[run.trial_id], reason=reason)
        root = run.number if run.work.retry_of is None else run.work.retry_of
        if run.work.attempts - 1 < self.exp.max_retries:
            self.state.retries.append(_Retry(run.work.arch, run.work.seed, root, run.work.attempts))
            return
        error = (
            f"interrupted {run.work.attempts} times; not retried "
            f"(max_retries={self.exp.max_retries}); last: {reason}"
        )
        finished.append(self._finish(run, TrialStatus.FAILED, {}, error, callbacks))
