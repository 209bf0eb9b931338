"""``LocalExecutor``: one trial at a time, in the driver's own process.

The default. It is an executor like the others, so the search loop is the same for every way of
running trials: ``submit`` keeps the job, and ``poll`` evaluates it there and then, calling the
driver's ``decide`` after each report (a stop raises ``TrialPruned`` inside the evaluation).
With one trial at a time in one process, the same seed gives the same search.
"""

from __future__ import annotations

from nasforge.errors import ConfigError
from nasforge.estimation.base import Evaluator
from nasforge.execution.base import Decide, Done, Event, Executor, Job, run_job
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
        """Evaluate the submitted job now (``timeout`` does not apply: it runs to its end)."""
        job, self._job = self._job, None
        if job is None:
            return []
        if self._evaluator is None or self._space is None or self._decide is None:
            raise ConfigError("LocalExecutor.poll() before start()")
        decide = self._decide

        def report(step: int, metrics: dict[str, float]) -> bool:
            return decide(job.number, step, metrics)

        done: Done = run_job(job, self._evaluator, self._space, self.device, report, self.worker)
        return [done]

    def shutdown(self) -> None:
        self._job = None


__all__ = ["LocalExecutor"]
