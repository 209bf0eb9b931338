"""``ProcessExecutor``: trials in local worker processes, each pinned to a device.

Workers are started with ``spawn`` (a forked copy of a process that already ran torch can hang
in its thread pools). Each worker has one pipe to the driver, for its jobs and the driver's
decisions one way and its reports and results the other; there are no queues with feeder
threads, so nothing is left to flush when the driver stops. The evaluator and space are pickled
once with ``cloudpickle`` (a lambda or a notebook function works too) into a file that each
worker reads: a large evaluator (the tabular one is about 2 MB) never goes through process
start-up, which writes to a pipe and would block the driver if the child died before reading.

A worker whose process dies (killed, out of host memory, a crash in native code) is noticed at
the next poll: what it sent before dying counts, its unfinished trial is reported
:class:`~nasforge.execution.base.Lost`, and the slot gets a fresh process (a slot whose worker
dies :data:`START_ATTEMPTS` times in a row before it is ready stops the search with an
:class:`~nasforge.errors.ExecutionError`). A job past its time limit has its worker killed. A
worker ignores Ctrl-C (the terminal sends it to the whole process group; the driver decides)
and exits by itself when the driver dies, so no orphan keeps training.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import socket
import tempfile
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from nasforge.errors import ExecutionError
from nasforge.estimation.base import Evaluator
from nasforge.execution._worker import interrupts_deferred, main_module_hidden, worker_main
from nasforge.execution.base import (
    Decide,
    Done,
    Event,
    Executor,
    Job,
    Lost,
    Report,
    check_devices,
    check_workers,
    split_threads,
    timeout_error,
)
from nasforge.space import Space

#: a slot whose worker dies this many times in a row before it is ready stops the search
START_ATTEMPTS = 3


@dataclass
class _Slot:
    index: int
    device: str
    threads: int | None
    process: Any = None
    conn: Any = None  # the driver's end of the worker's pipe
    ready_at: float | None = None  # when the worker said it had loaded the evaluator
    job: Job | None = None
    sent_at: float = 0.0
    start_failures: int = 0

    def job_started(self) -> float | None:
        """When the worker began the job (it takes it once it is ready)."""
        return None if self.ready_at is None else max(self.ready_at, self.sent_at)

    def worker_name(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}/w{self.index}"


class ProcessExecutor(Executor):
    """``workers`` local processes; worker ``i`` uses ``devices[i % len(devices)]``.

    Args:
        workers: number of worker processes (trials at once).
        devices: e.g. ``["cuda:0", "cuda:1"]`` (round-robin over workers); default: every
            worker uses ``default_device``.
        default_device: the device of workers without one in ``devices`` (the experiment's).
        threads: torch threads per CPU worker; default: the cores split evenly between the
            workers (at least 1), so that workers do not spin-wait on each other's cores.
    """

    name = "processes"

    def __init__(
        self,
        workers: int = 2,
        devices: Sequence[str] | str | None = None,
        default_device: str = "auto",
        threads: int | None = None,
    ) -> None:
        self.workers = check_workers(workers)
        self.devices = check_devices(devices)
        self.default_device = default_device
        self.threads = threads
        self._ctx = mp.get_context("spawn")
        self._slots: list[_Slot] = []
        self._payload: str | None = None  # the file holding the pickled evaluator and space
        self._cleanup: weakref.finalize | None = None
        self._decide: Decide | None = None

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self.workers}, devices={self.devices or 'default'})"

    # ---- starting -----------------------------------------------------------------------------

    def start(self, evaluator: Evaluator, space: Space, decide: Decide) -> None:
        self._decide = decide
        if self._slots:
            return
        import cloudpickle

        folder = tempfile.mkdtemp(prefix="nasforge-workers-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        self._payload = os.path.join(folder, "evaluator.pkl")
        with open(self._payload, "wb") as f:
            cloudpickle.dump((evaluator, space), f)
        cpu_workers = sum(1 for i in range(self.workers) if not self._device(i).startswith("cuda"))
        try:
            for i in range(self.workers):
                device = self._device(i)
                threads = None
                if not device.startswith("cuda"):
                    threads = self.threads or split_threads(cpu_workers)
                slot = _Slot(i, device, threads)
                self._slots.append(slot)
                self._spawn(slot)
            self._wait_ready()
        except BaseException:
            self.shutdown()
            raise

    def _wait_ready(self, timeout: float = 300.0) -> None:
        """Wait until every worker has loaded the evaluator; a worker that cannot load it
        (a module missing in the worker, say) stops the search with its error."""
        deadline = time.monotonic() + timeout
        while any(s.ready_at is None for s in self._slots):
            left = deadline - time.monotonic()
            if left <= 0:
                waiting = [s.index for s in self._slots if s.ready_at is None]
                raise ExecutionError(f"workers {waiting} did not start in {timeout:.0f} s")
            events: list[Event] = []
            self._wait(min(left, 1.0), events)

    def _device(self, index: int) -> str:
        return self.devices[index % len(self.devices)] if self.devices else self.default_device

    def _spawn(self, slot: _Slot) -> None:
        """Start a fresh worker process in ``slot`` (quickly: it reads the evaluator itself)."""
        conn, child = self._ctx.Pipe(duplex=True)
        slot.conn, slot.ready_at, slot.job = conn, None, None
        slot.process = self._ctx.Process(
            target=worker_main,
            args=(slot.index, self._payload, slot.device, slot.threads, child, os.getpid()),
            name=f"nasforge-worker-{slot.index}",
            daemon=True,
        )
        try:
            with main_module_hidden(), interrupts_deferred():
                slot.process.start()
        finally:
            child.close()  # the worker holds its end: a dead worker's pipe reads as closed

    # ---- running ------------------------------------------------------------------------------

    def free_slots(self) -> int:
        return sum(1 for s in self._slots if s.job is None)

    def submit(self, job: Job) -> None:
        idle = [s for s in self._slots if s.job is None]
        if not idle:
            raise RuntimeError("no free worker; check free_slots() before submit()")
        slot = next((s for s in idle if s.ready_at is not None), idle[0])  # a started one first
        slot.job, slot.sent_at = job, time.monotonic()
        with contextlib.suppress(OSError):  # a dead worker: the next poll reports the job lost
            slot.conn.send(job)

    def poll(self, timeout: float) -> list[Event]:
        events: list[Event] = []
        deadlines = [self._deadline(s) for s in self._slots]
        soonest = min((d for d in deadlines if d is not None), default=None)
        if soonest is not None:
            timeout = min(timeout, max(0.0, soonest - time.monotonic()))
        self._wait(timeout, events)
        self._enforce_time_limits(events)
        return events

    def _wait(self, timeout: float, events: list[Event]) -> None:
        """Read what the workers sent within ``timeout`` seconds, then restart dead ones."""
        waitables = [s.conn for s in self._slots] + [s.process.sentinel for s in self._slots]
        ready = set(wait(waitables, timeout))
        for slot in self._slots:
            if slot.conn in ready:
                self._read(slot, events)
        for slot in self._slots:
            if slot.process.sentinel in ready or not slot.process.is_alive():
                self._died(slot, events)

    def _read(self, slot: _Slot, events: list[Event]) -> None:
        """Handle every message waiting in ``slot``'s pipe: ready, failed, reports, results."""
        while True:
            try:
                if not slot.conn.poll():
                    return
                message = slot.conn.recv()
            except Exception:  # closed (the worker died) or cut short: its death is handled
                return
            if isinstance(message, tuple):
                self._started(slot, message)
            elif slot.job is None or message.number != slot.job.number:
                continue  # nothing of a job this slot no longer runs
            elif isinstance(message, Report):
                assert self._decide is not None
                stop = self._decide(message.number, message.step, message.metrics)
                if message.wait:
                    with contextlib.suppress(OSError):
                        slot.conn.send(bool(stop))
            elif isinstance(message, Done):
                slot.job = None
                events.append(message)

    def _started(self, slot: _Slot, message: tuple[Any, ...]) -> None:
        if message[0] == "ready":
            slot.ready_at, slot.start_failures = time.monotonic(), 0
            return
        self.shutdown()
        raise ExecutionError(
            f"worker {slot.index} could not load the evaluator and space: {message[2]}"
        )

    def _died(self, slot: _Slot, events: list[Event]) -> None:
        """``slot``'s process is gone: what it sent counts, its job is lost, a new one starts."""
        self._read(slot, events)
        process = slot.process
        process.join(1)
        code = process.exitcode
        starting = slot.ready_at is None
        if slot.job is not None:
            when = " while starting" if starting else ""
            reason = f"worker process {process.pid} died{when} (exit {code})"
            events.append(Lost(slot.job.number, reason))
        if starting:
            slot.start_failures += 1
            if slot.start_failures >= START_ATTEMPTS:
                self.shutdown()
                raise ExecutionError(
                    f"worker {slot.index} died {START_ATTEMPTS} times while starting (last exit "
                    f"code {code}); see its output above"
                )
        slot.conn.close()
        self._spawn(slot)

    def _deadline(self, slot: _Slot) -> float | None:
        started = slot.job_started()
        if slot.job is None or slot.job.timeout_s is None or started is None:
            return None
        return started + slot.job.timeout_s

    def _enforce_time_limits(self, events: list[Event]) -> None:
        """Kill the worker of each job past its time limit: the trial fails with the cause."""
        for slot in self._slots:
            deadline = self._deadline(slot)
            if deadline is None or time.monotonic() < deadline:
                continue
            self._read(slot, events)  # it may have ended just now
            job = slot.job
            if job is None or job.timeout_s is None:
                continue
            worker = slot.worker_name()
            slot.process.kill()
            slot.process.join(5)
            slot.job = None
            events.append(Done(job.number, {}, error=timeout_error(job.timeout_s), worker=worker))
            slot.conn.close()
            self._spawn(slot)

    def worker_pids(self) -> dict[int, int]:
        """Trial number -> pid of the process running it (for fault-injection tests)."""
        return {s.job.number: s.process.pid for s in self._slots if s.job is not None}

    # ---- stopping -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every worker: an idle one reads the closed pipe and exits, a busy one is
        terminated; any left after 5 seconds are killed."""
        started = [s for s in self._slots if s.process is not None and s.process.pid is not None]
        for slot in started:
            if slot.job is not None and slot.process.is_alive():
                slot.process.terminate()
            with contextlib.suppress(OSError):
                slot.conn.close()
        deadline = time.monotonic() + 5
        for slot in started:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(1)
        self._slots.clear()
        if self._cleanup is not None:
            self._cleanup()
