"""What every executor shares: the job a worker runs, the events it sends back, the interface.

The driver (the process running the search loop) alone talks to the strategy, the scheduler and
the store. A worker only evaluates: it receives a :class:`Job`, and after each ``ctx.report``
the executor hands the report to the driver's ``decide(number, step, metrics)`` callback, which
stores it and answers go on or stop (an early-stopping decision is made beside the store, never
in a worker); the job ends with a :class:`Done`. When a worker dies the executor says so with a
:class:`Lost` event; the driver marks that trial ``interrupted`` and retries it. Trials are
named by their number everywhere, as in the store.

A job may carry a time limit (``Job.timeout_s``, the experiment's ``trial_timeout``): every
executor ends a job that runs longer with a :class:`Done` whose error is
:func:`timeout_error` (the driver stores the trial ``failed`` and does not retry it).
:func:`run_job` checks the limit at each ``ctx.report`` and when the evaluation returns; the
executor interrupts an evaluation that neither reports nor returns (a worker process is killed,
a Ray task cancelled, an in-process evaluation gets :class:`TrialTimedOut` raised in it).

Evaluating in the driver's own process is an executor like the others
(:class:`~nasforge.execution.local.LocalExecutor`), so there is one search loop for all.
"""

from __future__ import annotations

import numbers
import os
import socket
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nasforge.constraints import Constraints
from nasforge.errors import ConfigError, TrialPruned
from nasforge.estimation.base import Evaluator, TrialContext, as_metrics
from nasforge.space import Arch, Space

#: the driver's answer to an intermediate report: ``decide(number, step, metrics) -> stop?``
Decide = Callable[[int, int, dict[str, float]], bool]


@dataclass(frozen=True)
class Job:
    """One evaluation to run: the stored trial's number, the arch and its seed."""

    number: int
    arch: dict[str, Any]  # ``Arch.to_dict()``: plain data travels to any worker
    seed: int
    fidelity: Mapping[str, Any] = field(default_factory=dict)
    wait_decision: bool = True  # False without a scheduler: reports need no answer
    timeout_s: float | None = None  # the trial's time limit (``trial_timeout``), if any
    # the experiment's hard constraints (``Constraints.to_json()``), checked before training
    constraints: Mapping[str, str] = field(default_factory=dict)
    parent: int | None = None  # the trial this arch was mutated from (weight inheritance)
    parent_state: bytes | None = None  # the weights that trial kept, for an inheriting evaluator


@dataclass(frozen=True)
class Report:
    """An intermediate result on its way from a worker to the driver (inside an executor); with
    ``wait`` the worker waits for the driver's decision."""

    number: int
    step: int
    metrics: dict[str, float]
    wait: bool = True


@dataclass(frozen=True)
class Done:
    """The end of a job: its metrics, or ``pruned``, or the error text with its traceback;
    ``infeasible`` when it was not trained because the metrics measured first (its
    ``metrics``) break a hard constraint."""

    number: int
    metrics: dict[str, float]
    pruned: bool = False
    infeasible: bool = False
    error: str | None = None
    worker: str = ""
    duration_s: float = 0.0
    state: bytes | None = None  # the trained weights the evaluator kept (``ctx.keep_state``)
    inherited: dict[str, Any] | None = None  # what it took from the parent's


@dataclass(frozen=True)
class Lost:
    """The worker running this trial died (or its node went away) before it finished."""

    number: int
    reason: str


Event = Done | Lost


class TrialTimedOut(BaseException):
    """Raised inside an evaluation that ran past its time limit.

    A ``BaseException`` (like ``KeyboardInterrupt``), so that an evaluator's ``except
    Exception`` does not swallow it; :func:`run_job` turns it into a failed :class:`Done`.
    """


def timeout_error(timeout_s: float) -> str:
    """The error stored with a trial that ran past its time limit (one text for every
    executor)."""
    return f"timed out after {timeout_s:g} s (trial_timeout)"


def whole_step(step: Any) -> int:
    """``step`` of ``ctx.report`` as an ``int``: a whole number (``3`` or ``3.0``), else a
    ``TypeError`` naming the value (a bool is not a step).

    Example:
        >>> whole_step(3.0)
        3
        >>> whole_step(2.5)
        Traceback (most recent call last):
        ...
        TypeError: ctx.report: step must be a whole number such as 1, 2, 3, got 2.5
    """
    if not isinstance(step, bool):
        if isinstance(step, numbers.Integral):
            return int(step)
        if isinstance(step, numbers.Real) and float(step).is_integer():
            return int(float(step))
    raise TypeError(f"ctx.report: step must be a whole number such as 1, 2, 3, got {step!r}")


class Executor(ABC):
    """Runs jobs on workers and hands back their ends; see the module docstring.

    Subclasses implement ``start``, ``submit``, ``poll``, ``free_slots`` and ``shutdown``;
    ``start`` receives the evaluator and space once (workers keep them) and the driver's
    ``decide`` callback, which the executor calls, in the driver's process, for every
    intermediate report; jobs carry only plain data.
    """

    name = "executor"

    @abstractmethod
    def start(self, evaluator: Evaluator, space: Space, decide: Decide) -> None:
        """Start the workers (idempotent)."""

    @abstractmethod
    def free_slots(self) -> int:
        """How many more jobs can start now."""

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start ``job`` on a free worker."""

    @abstractmethod
    def poll(self, timeout: float) -> list[Event]:
        """Jobs that ended or were lost, waiting up to ``timeout`` seconds for the first one;
        intermediate reports that arrive meanwhile go to ``decide``."""

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
    """Evaluate one job; ``report(step, metrics)`` returns True to stop the trial.

    A job with hard constraints first asks the evaluator for the constrained metrics it can
    measure without training (:meth:`~nasforge.estimation.Evaluator.cheap_metrics`); when they
    break one, the job ends ``infeasible`` with them as its metrics, untrained. Checking in
    the worker measures on the trial's own device (a latency), and the evaluator keeps the
    values for its training.

    The evaluator's metrics on success, ``pruned`` when the driver stopped it, the exception and
    its traceback when it raised (``KeyboardInterrupt`` and ``SystemExit`` propagate), and
    :func:`timeout_error` when it ran past ``job.timeout_s``: checked at each report and at the
    end, and raised as :class:`TrialTimedOut` by an executor that interrupts it. Every executor
    goes through here, so a bad ``ctx.report`` (a step that is not a whole number, a metric
    that is not a number) fails the trial the same way everywhere.
    """
    started = time.monotonic()
    limit = job.timeout_s

    def past_limit() -> bool:
        return limit is not None and time.monotonic() - started > limit

    def reporter(step: int, metrics: Mapping[str, float]) -> None:
        if past_limit():
            raise TrialTimedOut
        step = whole_step(step)
        if report(step, as_metrics(metrics)):
            raise TrialPruned(f"stopped at step {step} by the scheduler")

    ctx = TrialContext(
        number=job.number,
        seed=job.seed,
        space=space,
        device=device,
        fidelity=dict(job.fidelity),
        reporter=reporter,
        parent=job.parent,
        parent_state=job.parent_state,
    )
    arch = Arch.from_dict(job.arch)

    def ended(**kwargs: Any) -> Done:
        return Done(job.number, worker=worker, duration_s=time.monotonic() - started, **kwargs)

    try:
        cheap: dict[str, float] = {}
        if job.constraints:  # measured without training: an arch that breaks one is not trained
            constraints = Constraints.from_json(job.constraints)
            cheap = as_metrics(evaluator.cheap_metrics(arch, ctx, constraints.names))
            if not constraints.feasible(cheap):
                return ended(metrics=cheap, infeasible=True)
        metrics = as_metrics(evaluator.evaluate(arch, ctx))
        metrics.update({k: v for k, v in cheap.items() if k not in metrics})
        if past_limit():
            raise TrialTimedOut
        return ended(metrics=metrics, state=ctx.kept_state, inherited=ctx.inherited)
    except TrialPruned:
        return ended(metrics={}, pruned=True)
    except TrialTimedOut:
        assert limit is not None  # only raised with a limit
        return ended(metrics={}, error=timeout_error(limit))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-8))
        return ended(metrics={}, error=error)


def process_name() -> str:
    """``host:pid`` of this process: stored as the worker of the trials a driver runs itself."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
