"""``RayExecutor``: each trial a Ray task, on an existing cluster or a local Ray started for it.

The driver keeps the strategy, the scheduler and the store; Ray only runs evaluations. The
evaluator and space go into Ray's object store once; each task gets a job of plain data. A
small actor (the mailbox, no CPU) carries intermediate reports to the driver and its answers
(go on / stop) back to the task, so early stopping works across machines. A task lost with its
worker or node comes back as :class:`~nasforge.execution.base.Lost` (Ray's own retries are off:
the driver owns retries, so the store counts every attempt). A task past its time limit
(``trial_timeout``, counted from when it started on its worker, which it tells the mailbox) is
cancelled, its worker killed.

Every node must have nasforge (and what the evaluator imports) installed; user functions travel
by value through Ray's cloudpickle.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

from nasforge.errors import ConfigError, ExecutionError
from nasforge.estimation.base import Evaluator
from nasforge.execution.base import (
    Decide,
    Done,
    Event,
    Executor,
    Job,
    Lost,
    Report,
    check_workers,
    run_job,
    timeout_error,
)
from nasforge.space import Space


class _Mailbox:
    """Reports from tasks to the driver, and the driver's decisions back (a Ray async actor)."""

    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.started: list[int] = []
        self.decisions: dict[int, bool] = {}
        self.ready: dict[int, asyncio.Event] = {}

    async def start(self, number: int) -> None:
        self.started.append(number)

    async def report(self, report: Report) -> None:
        if report.wait:
            self.ready[report.number] = asyncio.Event()
        self.reports.append(report)

    async def wait_decision(self, number: int) -> bool:
        await self.ready[number].wait()
        return self.decisions.pop(number)

    async def drain(self) -> tuple[list[Report], list[int]]:
        out, self.reports = self.reports, []
        started, self.started = self.started, []
        return out, started

    async def decide(self, number: int, stop: bool) -> None:
        self.decisions[number] = stop
        event = self.ready.get(number)
        if event is not None:
            event.set()


def _ray_trial(
    job: Job, payload: tuple[Evaluator, Space], mailbox: Any, device: str, threads: int | None
) -> Done:
    import sys

    import ray

    if threads is not None and "torch" in sys.modules:  # else Ray's OMP_NUM_THREADS holds
        sys.modules["torch"].set_num_threads(threads)
    evaluator, space = payload
    if job.timeout_s is not None:  # the driver's clock for the time limit starts now
        mailbox.start.remote(job.number)

    def report(step: int, metrics: dict[str, float]) -> bool:
        # delivered before the task can end, so the driver never sees a report after its result
        ray.get(mailbox.report.remote(Report(job.number, step, metrics, job.wait_decision)))
        if not job.wait_decision:  # no scheduler: no answer to wait for
            return False
        return bool(ray.get(mailbox.wait_decision.remote(job.number)))

    name = f"ray:{socket.gethostname()}:{os.getpid()}"
    return run_job(job, evaluator, space, device, report, name)


def _ray_ready(payload: tuple[Evaluator, Space]) -> int:
    """Load the evaluator in a Ray worker (started, imported and cached before the search)."""
    return len(payload)


class RayExecutor(Executor):
    """Up to ``workers`` trials at once as Ray tasks.

    Args:
        workers: trials in flight at once (Ray queues them when the cluster is busy).
        address: a running cluster (``"auto"``, ``"HOST:6379"`` or ``"ray://HOST:10001"``);
            ``None`` starts a local Ray for this run and stops it afterwards.
        cpus_per_trial: CPUs Ray reserves for each trial (also its torch threads).
        gpus_per_trial: GPUs per trial; a fraction such as ``0.5`` packs two trials on a GPU.
        device: the device each trial uses (``"auto"``: CUDA when Ray gave the task a GPU).
    """

    name = "ray"

    def __init__(
        self,
        workers: int = 2,
        address: str | None = None,
        cpus_per_trial: float = 1.0,
        gpus_per_trial: float = 0.0,
        device: str = "auto",
    ) -> None:
        self.workers = check_workers(workers)
        if not cpus_per_trial >= 0 or not gpus_per_trial >= 0:
            raise ConfigError(
                f"cpus_per_trial and gpus_per_trial must be >= 0, got {cpus_per_trial} and "
                f"{gpus_per_trial}"
            )
        self.address = address
        self.cpus_per_trial = float(cpus_per_trial)
        self.gpus_per_trial = float(gpus_per_trial)
        self.device = device
        self._ray: Any = None
        self._started_ray = False
        self._mailbox: Any = None
        self._task: Any = None
        self._payload: Any = None
        self._refs: dict[Any, Job] = {}
        self._started: dict[int, float] = {}  # trial number -> when its task began
        self._decide: Decide | None = None

    def __repr__(self) -> str:
        where = self.address or "local"
        return f"RayExecutor(workers={self.workers}, address={where!r})"

    def start(self, evaluator: Evaluator, space: Space, decide: Decide) -> None:
        self._decide = decide
        if self._ray is not None:
            return
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "executor 'ray' needs Ray: pip install 'nasforge[ray]' (or ray[default])"
            ) from None
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address is None:
                options["num_cpus"] = max(1, int(self.workers * max(self.cpus_per_trial, 1)))
            try:
                ray.init(address=self.address, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local Ray"
                raise ConfigError(f"ray_address: cannot connect to {where}: {exc}") from None
            self._started_ray = True
        self._ray = ray
        self._check_resources(ray)
        self._mailbox = ray.remote(num_cpus=0)(_Mailbox).remote()
        self._task = ray.remote(max_retries=0)(_ray_trial)
        self._payload = ray.put((evaluator, space))
        self._warm_up(ray)

    def _check_resources(self, ray: Any) -> None:
        """Refuse what no node of the cluster can give: such trials would wait forever."""
        have = ray.cluster_resources()
        for key, need in (("GPU", self.gpus_per_trial), ("CPU", self.cpus_per_trial)):
            if need > 0 and have.get(key, 0.0) < need:
                where = self.address or "the local Ray"
                self.shutdown()
                field = "gpus_per_trial" if key == "GPU" else "cpus_per_trial"
                raise ConfigError(
                    f"{field}={need:g} but the Ray cluster at {where} has "
                    f"{have.get(key, 0.0):g} {key}s in all; lower it or add nodes"
                )

    def _warm_up(self, ray: Any) -> None:
        """Start ``workers`` Ray workers with the evaluator loaded, so the first trials do not
        wait for imports, and an evaluator that cannot load there fails now, clearly."""
        ready = ray.remote(max_retries=0)(_ray_ready)
        refs = [
            ready.options(num_cpus=self.cpus_per_trial, num_gpus=self.gpus_per_trial).remote(
                self._payload
            )
            for _ in range(self.workers)
        ]
        try:
            ray.get(refs, timeout=300)
        except ray.exceptions.GetTimeoutError:
            pass  # a busy cluster: trials will queue for resources like these did
        except Exception as exc:
            self.shutdown()
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise ExecutionError(
                f"Ray workers could not load the evaluator and space: {first}"
            ) from None

    def free_slots(self) -> int:
        return self.workers - len(self._refs)

    def submit(self, job: Job) -> None:
        device = self.device
        if device == "auto":
            device = "cuda" if self.gpus_per_trial > 0 else "cpu"
        threads = max(1, int(self.cpus_per_trial)) if device == "cpu" else None
        ref = self._task.options(num_cpus=self.cpus_per_trial, num_gpus=self.gpus_per_trial).remote(
            job, self._payload, self._mailbox, device, threads
        )
        self._refs[ref] = job

    def poll(self, timeout: float) -> list[Event]:
        ray = self._ray
        events: list[Event] = []
        reported = self._drain()
        if self._refs and not reported:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not reported:
                ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=0.05)
                if ready:
                    break
                reported = self._drain()
        elif not self._refs:
            time.sleep(min(timeout, 0.05))
        ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        if ready:  # a task's reports reach the mailbox before its result: hand them over first
            self._drain()
        for ref in ready:
            job = self._refs.pop(ref)
            self._started.pop(job.number, None)
            try:
                events.append(ray.get(ref))
            except Exception as exc:  # the task's worker or node died
                reason = f"Ray lost the task: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                events.append(Lost(job.number, reason))
        self._cancel_late(events)
        return events

    def _cancel_late(self, events: list[Event]) -> None:
        """Cancel each task past its time limit (its worker is killed): the trial fails."""
        now = time.monotonic()
        for ref, job in list(self._refs.items()):
            began = self._started.get(job.number)
            if job.timeout_s is None or began is None or now - began <= job.timeout_s:
                continue
            self._ray.cancel(ref, force=True)
            del self._refs[ref], self._started[job.number]
            events.append(Done(job.number, {}, error=timeout_error(job.timeout_s), worker="ray"))

    def _drain(self) -> int:
        """Take what the mailbox holds: note the tasks that began, hand reports to the driver's
        ``decide`` (answering those whose task waits); returns how many reports came."""
        reports, started = self._ray.get(self._mailbox.drain.remote())
        now = time.monotonic()
        running = {job.number for job in self._refs.values()}
        for number in started:
            if number in running:
                self._started.setdefault(number, now)
        return self._deliver(reports, running)

    def _deliver(self, reports: list[Report], running: set[int]) -> int:
        """Hand ``reports`` to the driver's ``decide`` and answer those whose task waits."""
        assert self._decide is not None
        for report in reports:
            if report.number not in running:
                continue  # a late report of a task already ended or lost
            stop = self._decide(report.number, report.step, report.metrics)
            if report.wait:
                self._mailbox.decide.remote(report.number, bool(stop))
        return len(reports)

    def shutdown(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for ref in list(self._refs):
            ray.cancel(ref, force=True)
        self._refs.clear()
        self._started.clear()
        if self._mailbox is not None:
            ray.kill(self._mailbox)
            self._mailbox = None
        if self._started_ray:
            ray.shutdown()
        self._ray = None
