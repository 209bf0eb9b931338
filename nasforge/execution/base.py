"""What every executor shares: the job a worker runs, the events it sends back, the interface.

The driver (the process running :class:`~nasforge.Experiment`) alone talks to the strategy, the
scheduler and the store. A worker only evaluates: it receives a :class:`Job`, sends a
:class:`Report` after each ``ctx.report`` and waits for the driver's answer (go on, or stop: an
early-stopping decision is made beside the store, never in a worker), and ends with a
:class:`Done`. When a worker dies the executor says so with a :class:`Lost` event; the driver
marks that trial ``interrupted`` and retries it.
"""

from __future__ import annotations

import os
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nasforge.errors import ConfigError, TrialPruned
from nasforge.estimation.base import Evaluator, TrialContext, as_metrics
from nasforge.space import Arch, Space


@dataclass(frozen=True)
class Job:
    """One evaluation to run: the stored trial's id and number, the arch and its seed."""

    trial_id: int
    number: int
    arch: dict[str, Any]  # ``Arch.to_dict()``: plain data travels to any worker
    seed: int
    fidelity: Mapping[str, Any] = field(default_factory=dict)
    wait_decision: bool = True  # False without a scheduler: reports need no answer


@dataclass(frozen=True)
class Report:
    """An intermediate result; with ``wait`` the worker waits for ``Executor.decide``."""

    trial_id: int
    step: int
    metrics: dict[str, float]
    wait: bool = True


@dataclass(frozen=True)
class Done:
    """The end of a job: its metrics, or ``pruned``, or the error text with its traceback."""

    trial_id: int
    metrics: dict[str, float]
    pruned: bool = False
    error: str | None = None
    worker: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True)
class Lost:
    """The worker running this trial died (or its node went away) before it finished."""

    trial_id: int
    reason: str


Event = Report | Done | Lost


class Executor(ABC):
    """Runs jobs on workers and hands back their events; see the module docstring.

    Subclasses implement ``start``, ``submit``, ``poll``, ``decide``, ``free_slots`` and
    ``shutdown``; ``start`` receives the evaluator and space once (workers keep them), jobs
    carry only plain data.
    """

    name = "executor"

    @abstractmethod
    def start(self, evaluator: Evaluator, space: Space) -> None:
        """Start the workers (idempotent)."""

    @abstractmethod
    def free_slots(self) -> int:
        """How many more jobs can start now."""

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start ``job`` on a free worker."""

    @abstractmethod
    def poll(self, timeout: float) -> list[Event]:
        """Events that arrived, waiting up to ``timeout`` seconds for the first one."""

    @abstractmethod
    def decide(self, trial_id: int, stop: bool) -> None:
        """Answer a :class:`Report`: ``stop=True`` ends the trial as pruned."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop the workers; jobs still running are abandoned (the driver marks them)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def run_job(
    job: Job,
    evaluator: Evaluator,
    space: Space,
    device: str,
    report: Callable[[int, dict[str, float]], bool],
    worker: str,
) -> Done:
    """Evaluate one job in a worker; ``report(step, metrics)`` returns True to stop the trial.

    Mirrors the serial loop: the evaluator's metrics on success, ``pruned`` when the driver
    stopped it, the exception and its traceback when it raised.
    """
    started = time.monotonic()

    def reporter(step: int, metrics: Mapping[str, float]) -> None:
        if report(int(step), {str(k): float(v) for k, v in metrics.items()}):
            raise TrialPruned(f"stopped at step {step} by the scheduler")

    ctx = TrialContext(
        number=job.number,
        seed=job.seed,
        space=space,
        device=device,
        fidelity=dict(job.fidelity),
        reporter=reporter,
    )
    arch = Arch.from_dict(job.arch)
    try:
        metrics = as_metrics(evaluator.evaluate(arch, ctx))
        return Done(job.trial_id, metrics, worker=worker, duration_s=time.monotonic() - started)
    except TrialPruned:
        return Done(job.trial_id, {}, pruned=True, worker=worker)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-8))
        return Done(job.trial_id, {}, error=error, worker=worker)


def split_threads(workers: int, cpus: int | None = None) -> int:
    """Torch threads for each of ``workers`` CPU workers sharing ``cpus`` cores (at least 1)."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, cpus // max(1, workers))


def check_devices(devices: Sequence[str] | str | None) -> list[str]:
    """``"cuda:0,cuda:1"`` or a list -> a checked list; empty means each worker uses "auto"."""
    if devices is None:
        return []
    items = [d.strip() for d in devices.split(",")] if isinstance(devices, str) else list(devices)
    out = []
    for device in items:
        base, _, index = device.partition(":")
        if base not in ("cpu", "cuda", "auto") or (index and not index.isdigit()):
            raise ConfigError(
                f"devices: {device!r} is not a device; use cpu, cuda or cuda:N (comma-separated)"
            )
        out.append(device)
    return out


def check_workers(workers: Any) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1, got {workers!r}")
    return workers
