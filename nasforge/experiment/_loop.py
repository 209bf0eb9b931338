"""The search loop of ask/tell strategies: ask, run, store and tell until the budget is spent.

Kept apart from the ``Experiment`` facade (as Optuna keeps ``_optimize.py`` apart from
``study.py``). It knows a :class:`~nasforge.experiment.session.RunSession` (the store, the
objectives, the space, the evaluator, seed, retries, fidelity, device), the live strategy and
scheduler, and an executor; nothing else of the experiment. Every executor, the in-process one
included, runs through the same loop, and one heartbeat thread marks the running trials alive.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from nasforge.errors import SearchFailedError
from nasforge.execution import Done, Executor, Job, Lost
from nasforge.experiment.lineage import kept_weights, record_end
from nasforge.experiment.liveness import Heartbeat
from nasforge.experiment.replay import STOPPED_BY_DRIVER, LoopState, Retry, first_line, trial_seed
from nasforge.experiment.session import RunSession
from nasforge.interrupt import raise_if_stop_requested
from nasforge.schedulers import Scheduler
from nasforge.space import Arch
from nasforge.strategies import Strategy
from nasforge.trial import Trial, TrialStatus

#: called with every finished trial (the progress bar, the user's callbacks)
OnTrial = Callable[[Trial], None]
#: told ``(trial number, step, metrics)`` of every intermediate report (the progress bar)
OnReport = Callable[[int, int, Mapping[str, float]], None] | None

#: a search whose trials all failed so far stops (``SearchFailedError``) once its last this many
#: finished trials failed with the same error (fewer when the budget is smaller)
FAIL_FAST_TRIALS = 5


@dataclass
class _Work:
    """An evaluation about to start: a fresh ask, or a retry of an interrupted one."""

    arch: Arch
    seed: int
    ask_seq: int | None
    retry_of: int | None
    losses: int = 0  # earlier attempts that lost their worker
    parent: int | None = None  # the trial the arch was mutated from (lineage, inheritance)
    order: int | None = None  # its place among this run's asks (``ordered`` runs tell by it)


@dataclass
class _Running:
    """A started trial: what the store and the strategy need when it ends."""

    number: int
    work: _Work
    started: float
    curve: dict[int, dict[str, float]] = field(default_factory=dict)
    ended: float | None = None  # when its result came (an ordered run may tell it later)


class SearchLoop:
    """One run of an ask/tell search: the live strategy and scheduler, writing to the session.

    A free worker of the executor gets the next ask at once (no generations); the driver alone
    talks to the strategy, the scheduler and the store.

    **Ordered** runs (``ordered=True``) make a search with several workers repeat itself: a
    result that arrives before those asked earlier is held (its trial still ``running`` in
    the store) and stored and told once they are, and each tell is followed by the asks it
    frees before the next tell. The strategy then sees ``ask 0 .. ask W-1, tell 0, ask W,
    tell 1, ask W+1, ...`` (``W`` workers) whatever the timing, so the same seed gives the
    same search with any number of workers (a scheduler's stop decisions still depend on
    which reports came first). The price: a worker whose result is held waits for the
    earlier trials instead of starting the next one.
    """

    def __init__(
        self,
        session: RunSession,
        strategy: Strategy,
        state: LoopState,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.session = session
        self.strategy = strategy
        self.state = state
        self.scheduler = scheduler
        self._running: dict[int, _Running] = {}
        self._lock = threading.Lock()  # the heartbeat thread reads the running trials
        self._on_report: OnReport = None
        self._trial_timeout: float | None = None
        self._fail_fast = FAIL_FAST_TRIALS
        self._ordered = False
        self._orders = 0  # asks (and retries of earlier runs) placed in this run's order
        self._told = 0  # places told so far in an ordered run
        #: an ordered run's held endings: place -> (trial number, store and tell it)
        self._held: dict[int, tuple[int, Callable[[], list[Trial]]]] = {}
        #: the run's asks while the budget and the workers allow (set by ``run``)
        self._fill: Callable[[], None] = lambda: None

    # ---- the loop -----------------------------------------------------------------------------

    def run(
        self,
        executor: Executor,
        max_trials: int | None,
        max_time: float | None,
        on_trial: Sequence[OnTrial] = (),
        on_report: OnReport = None,
        heartbeat_s: float = 2.0,
        trial_timeout: float | None = None,
        ordered: bool = False,
    ) -> list[Trial]:
        """Keep ``executor``'s workers busy until the budget is spent and every trial ended.

        ``max_trials`` counts asks (resumed ones included); ``max_time`` stops new trials and
        those running finish. ``trial_timeout`` limits each trial: the executor ends one that
        runs longer and it is stored ``failed``, not retried. A worker that dies leaves its
        trial ``interrupted`` and queued for a retry (up to ``max_retries`` lost workers per
        trial); on Ctrl-C (or any error in the driver) the running trials are marked
        ``interrupted`` and the next run retries them, without limit. When no trial has
        succeeded yet and the last :data:`FAIL_FAST_TRIALS` finished ones failed with the same
        error, the search stops with :class:`~nasforge.errors.SearchFailedError`. ``ordered``:
        tell results in the order asked (see the class). Returns the trials this call finished.
        """
        self._on_report = on_report
        self._trial_timeout = trial_timeout
        self._ordered = ordered
        self._fail_fast = min(FAIL_FAST_TRIALS, max_trials or FAIL_FAST_TRIALS)
        session = self.session
        finished: list[Trial] = []
        self._give_up()
        executor.start(session.evaluator, session.space, self._decide)
        start = time.monotonic()
        with Heartbeat(session.heartbeat, self._running_numbers, heartbeat_s):
            try:

                def fill() -> None:
                    in_time = max_time is None or time.monotonic() - start < max_time
                    while in_time and executor.free_slots() - len(self._held) > 0:
                        work = self._next_work(max_trials)
                        if work is None:
                            break
                        executor.submit(self._start(work))

                self._fill = fill
                while True:
                    raise_if_stop_requested()  # a signal's interrupt that a finaliser swallowed
                    fill()
                    if not self._running:
                        finished.extend(self._release(everything=True))
                        break
                    for event in executor.poll(timeout=min(0.5, heartbeat_s)):
                        with self._lock:
                            run = self._running.pop(event.number, None)
                        if run is None:  # a late event of a trial already ended or lost
                            continue
                        run.ended = time.monotonic()
                        if isinstance(event, Done):
                            ending = partial(self._finish_done, run, event, on_trial)
                            finished.extend(self._end(run, ending))
                        elif isinstance(event, Lost):
                            finished.extend(self._lost(run, event.reason, on_trial))
            finally:
                executor.shutdown()
                with self._lock:
                    numbers, self._running = set(self._running), {}
                # Ctrl-C or an error in the driver: retried by the next run. An interrupt may
                # come between a trial's row and the loop's note of it (or in the middle of
                # storing its end), so this driver's running trials are read from the store.
                with contextlib.suppress(Exception):  # a store that fails here fails below
                    numbers.update(session.running_numbers())
                if numbers:
                    session.mark_interrupted(sorted(numbers), STOPPED_BY_DRIVER)
        return finished

    def _running_numbers(self) -> list[int]:
        with self._lock:  # a held trial is still running as far as the store knows
            return [*self._running, *(number for number, _ in self._held.values())]

    # ---- ordered runs -------------------------------------------------------------------------

    def _end(self, run: _Running, ending: Callable[[], list[Trial]]) -> list[Trial]:
        """Store and tell a trial's end now, or, in an ordered run, once every trial asked
        before it has been told (then the ends it frees, each followed by its asks)."""
        if not self._ordered:
            return ending()
        assert run.work.order is not None
        with self._lock:
            self._held[run.work.order] = (run.number, ending)
        return self._release()

    def _release(self, everything: bool = False) -> list[Trial]:
        """The held ends that are next in order, each told and followed by the asks it frees;
        ``everything``: the rest too, in order (the run ends, nothing is left to wait for)."""
        finished: list[Trial] = []
        while self._held:
            if self._told not in self._held:
                if not everything:
                    break
                self._told = min(self._held)
            with self._lock:
                _, ending = self._held.pop(self._told)
            self._told += 1
            finished.extend(ending())
            if not everything:
                self._fill()
        return finished

    # ---- asking and starting ------------------------------------------------------------------

    def _next_work(self, max_trials: int | None) -> _Work | None:
        """A queued retry first, then a new ask while the budget allows; else ``None``."""
        if self.state.retries:
            retry = self.state.retries.pop(0)
            order = retry.order if retry.order is not None else self._take_order()
            return _Work(retry.arch, retry.seed, None, retry.root, retry.losses, order=order)
        if max_trials is not None and self.state.asked >= max_trials:
            return None
        arch = self.strategy.ask()
        seed = trial_seed(self.session.seed, self.state.asked)
        self.state.asked += 1
        return _Work(arch, seed, self.session.take_seq(), None, order=self._take_order())

    def _take_order(self) -> int:
        self._orders += 1
        return self._orders - 1

    def _start(self, work: _Work) -> Job:
        session = self.session
        # a retry's parent too: replay made the strategy ask (and name parents) again
        work.parent = self.strategy.parent_of(work.arch)
        parent_state = None
        if work.parent is not None and session.evaluator.inherits:
            parent_state = kept_weights(session.storage, session.experiment_id, work.parent)
        number = session.start(work.arch, work.seed, ask_seq=work.ask_seq, retry_of=work.retry_of)
        with self._lock:
            self._running[number] = _Running(number, work, time.monotonic())
        return Job(
            number,
            work.arch.to_dict(),
            work.seed,
            fidelity=dict(session.fidelity),
            wait_decision=self.scheduler is not None,
            timeout_s=self._trial_timeout,
            constraints=session.constraints.to_json(),
            parent=work.parent,
            parent_state=parent_state,
        )

    # ---- reports ------------------------------------------------------------------------------

    def _decide(self, number: int, step: int, metrics: dict[str, float]) -> bool:
        """Store an intermediate report; True when the scheduler stops the trial (the
        executors call this, in this process, for every report)."""
        with self._lock:
            run = self._running.get(number)
        if run is None:
            return False
        run.curve[step] = dict(metrics)
        self.session.report(number, step, metrics)
        if self._on_report is not None:
            self._on_report(number, step, metrics)
        scheduler = self.scheduler
        return scheduler is not None and scheduler.report(number, step, metrics, run.work.arch)

    # ---- endings ------------------------------------------------------------------------------

    def _finish_done(self, run: _Running, done: Done, on_trial: Sequence[OnTrial]) -> list[Trial]:
        status = TrialStatus.COMPLETE
        if done.pruned or done.infeasible:  # infeasible: not trained (a hard constraint broke)
            status = TrialStatus.PRUNED
        elif done.error is not None:
            status = TrialStatus.FAILED
        if done.state is not None or run.work.parent is not None:
            session = self.session
            record_end(
                session.storage,
                session.experiment_id,
                run.number,
                parent=run.work.parent,
                state=done.state,
                inherited=done.inherited,
            )
        return [
            self._finish(
                run, status, done.metrics, done.error, on_trial, done.worker, done.infeasible
            )
        ]

    def _finish(
        self,
        run: _Running,
        status: TrialStatus,
        metrics: Mapping[str, float],
        error: str | None,
        on_trial: Sequence[OnTrial],
        worker: str | None = None,
        untrained: bool = False,
    ) -> Trial:
        """Store the end of a trial, then tell the scheduler, the strategy and the callbacks
        (an infeasible trial too: its ``violations`` say which constraints it broke)."""
        trial = self.session.finish(
            run.number,
            run.work.arch,
            status,
            metrics,
            seed=run.work.seed,
            curve=run.curve,
            error=error,
            worker=worker,
            retry_of=run.work.retry_of,
            ask_seq=run.work.ask_seq,
            duration_s=(run.ended or time.monotonic()) - run.started,
            untrained=untrained,
        )
        if self.scheduler is not None:
            self.scheduler.complete(trial)
        self.strategy.tell(trial)
        failed = trial.status == TrialStatus.FAILED
        self.state.outcomes.append(first_line(trial.error) if failed else None)
        for callback in on_trial:
            callback(trial)
        self._stop_if_failing()
        return trial

    def _lost(self, run: _Running, reason: str, on_trial: Sequence[OnTrial]) -> list[Trial]:
        """A worker died while this driver lives: the trial is ``interrupted`` and retried, or
        failed once more than ``max_retries`` of its attempts lost their worker."""
        session = self.session
        session.mark_interrupted([run.number], reason)
        root = run.number if run.work.retry_of is None else run.work.retry_of
        losses = run.work.losses + 1
        if losses <= session.max_retries:
            retry = Retry(run.work.arch, run.work.seed, root, losses, order=run.work.order)
            self.state.retries.append(retry)
            return []
        error = f"{_given_up(losses, session.max_retries)}; last: {reason}"
        # a retry keeps the ask's place in an ordered run; a failure ends it there
        return self._end(run, lambda: [self._finish(run, TrialStatus.FAILED, {}, error, on_trial)])

    def _stop_if_failing(self) -> None:
        """Raise ``SearchFailedError`` when no trial succeeded so far and the last few
        finished ones (the one that just ended among them) failed with one error: a bad
        config, data or evaluator, which the rest of the budget would only repeat."""
        outcomes, count = self.state.outcomes, self._fail_fast
        if len(outcomes) < count or any(o is None for o in outcomes):
            return
        last = set(outcomes[-count:])
        if len(last) != 1:
            return
        error = last.pop() or "(no message)"
        if len(error) > 200:
            error = error[:197] + "..."
        session = self.session
        which = "first" if len(outcomes) == count else "last"
        raise SearchFailedError(
            f"the {which} {count} trials all failed with the same error and none has succeeded, "
            f"so the search stopped: {error}; they are stored: nasforge trials "
            f"{session.experiment_name()} --storage {session.storage.url} --json"
        )

    def _give_up(self) -> None:
        """Tell the strategy, as failed, each ask that was interrupted too often (in a run
        before this one)."""
        session = self.session
        for trial, losses in self.state.abandoned:
            error = _given_up(losses, session.max_retries)
            tell_seq = session.take_seq()
            session.storage.finish_trial(
                session.experiment_id,
                trial.number,
                TrialStatus.FAILED,
                trial.metrics,
                None,
                error,
                tell_seq,
            )
            failed = replace(trial, status=TrialStatus.FAILED, error=error, tell_seq=tell_seq)
            if self.scheduler is not None:  # as a later resume will replay it
                self.scheduler.replay_trial(failed)
            self.strategy.tell(failed)
            self.state.outcomes.append(first_line(error))
        self.state.abandoned.clear()


def _given_up(losses: int, max_retries: int) -> str:
    return f"interrupted {losses} times by a lost worker; not retried (max_retries={max_retries})"


__all__ = ["FAIL_FAST_TRIALS", "OnReport", "OnTrial", "SearchLoop"]
