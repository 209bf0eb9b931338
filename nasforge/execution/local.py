"""``LocalExecutor``: one trial at a time, in the driver's own process.

The default. It is an executor like the others, so the search loop is the same for every way of
running trials: ``submit`` keeps the job, and ``poll`` evaluates it there and then, calling the
driver's ``decide`` after each report (a stop raises ``TrialPruned`` inside the evaluation).
With one trial at a time in one process, the same seed gives the same search.

A job's time limit (``trial_timeout``) is enforced with a real-time timer signal (``SIGALRM``)
that raises :class:`~nasforge.execution.base.TrialTimedOut` inside the evaluation. Python runs
a signal handler between two bytecodes of the main thread, so what cannot be interrupted there
is one long call into C code (a huge matrix product, a C extension that does not check for
signals): the trial ends when that call returns. Outside the main thread (``Experiment.run``
called from a thread) and where there is no ``SIGALRM`` (Windows) there is no timer, and the
limit is checked only at each ``ctx.report`` and when the evaluation returns. A trial past its
limit is failed either way. To stop evaluations that may hang anywhere, report at every epoch,
or run them with ``executor="processes"``, which kills the worker process.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

from nasforge.errors import ConfigError
from nasforge.estimation.base import Evaluator
from nasforge.execution.base import (
    Decide,
    Done,
    Event,
    Executor,
    Job,
    TrialTimedOut,
    run_job,
    timeout_error,
)
from nasforge.space import Space


class LocalExecutor(Executor):
    """Evaluates each job in this process when the loop polls for it.

    Args:
        device: the device trials use (``"auto"``: the evaluator chooses, CUDA when present).
        worker: the name stored as each trial's worker (the driver's ``host:pid``).
    """

    name = "local"

    def __init__(self, device: str = "auto", worker: str = "") -> None:
        self.device = device
        self.worker = worker
        self._evaluator: Evaluator | None = None
        self._space: Space | None = None
        self._decide: Decide | None = None
        self._job: Job | None = None

    def __repr__(self) -> str:
        return f"LocalExecutor(device={self.device!r})"

    def start(self, evaluator: Evaluator, space: Space, decide: Decide) -> None:
        self._evaluator, self._space, self._decide = evaluator, space, decide

    def free_slots(self) -> int:
        return 0 if self._job is not None else 1

    def submit(self, job: Job) -> None:
        if self._job is not None:
            raise RuntimeError("no free worker; check free_slots() before submit()")
        self._job = job

    def poll(self, timeout: float) -> list[Event]:
        """Evaluate the submitted job now (``timeout`` does not apply: it runs to its end, or
        to its time limit; see the module docstring)."""
        job, self._job = self._job, None
        if job is None:
            return []
        if self._evaluator is None or self._space is None or self._decide is None:
            raise ConfigError("LocalExecutor.poll() before start()")
        decide = self._decide

        def report(step: int, metrics: dict[str, float]) -> bool:
            return decide(job.number, step, metrics)

        try:
            with time_limit(job.timeout_s):
                done = run_job(job, self._evaluator, self._space, self.device, report, self.worker)
        except TrialTimedOut:  # the timer fired after run_job had returned, before it was off
            assert job.timeout_s is not None
            error = timeout_error(job.timeout_s)
            done = Done(job.number, {}, error=error, worker=self.worker)
        return [done]

    def shutdown(self) -> None:
        self._job = None


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`~nasforge.execution.base.TrialTimedOut` in this thread after ``seconds``.

    Uses ``ITIMER_REAL`` (``SIGALRM``), so only in the main thread of a POSIX process; elsewhere
    (and with ``seconds=None``) it does nothing. A timer and ``SIGALRM`` handler set before are
    put back afterwards, the timer less the time spent here.

    Example:
        >>> import time
        >>> try:
        ...     with time_limit(0.05):
        ...         time.sleep(5)
        ... except TrialTimedOut:
        ...     print("stopped")
        stopped
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds is None or not usable:
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TrialTimedOut

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    before, interval = signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-6))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if before:
            left = max(before - (time.monotonic() - started), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, left, interval)


__all__ = ["LocalExecutor", "time_limit"]
