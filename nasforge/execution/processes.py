"""``ProcessExecutor``: trials in local worker processes, each pinned to a device.

Workers are started with ``spawn`` (a forked copy of a process that already ran torch can hang
in its thread pools), receive the evaluator and space once, pickled with ``cloudpickle`` so that
a lambda or a notebook function works too, and then take jobs from their own queue. A worker
whose process dies (killed, out of host memory, a crash in native code) is noticed at the next
poll: its trial is reported :class:`~nasforge.execution.base.Lost` and the slot gets a fresh
process. A worker exits by itself when the driver dies, so no orphan keeps training.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from nasforge.errors import ExecutionError
from nasforge.estimation.base import Evaluator
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
    run_job,
    split_threads,
)
from nasforge.space import Space


@dataclass
class _Slot:
    index: int
    device: str
    threads: int | None
    process: Any = None
    jobs: Any = None
    decisions: Any = None
    job: Job | None = None


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
        self._events: Any = None
        self._payload: bytes | None = None
        self._by_trial: dict[int, _Slot] = {}  # trial number -> the slot running it
        self._decide: Decide | None = None

    def __repr__(self) -> str:
        return f"ProcessExecutor(workers={self.workers}, devices={self.devices or 'default'})"

    def start(self, evaluator: Evaluator, space: Space, decide: Decide) -> None:
        self._decide = decide
        if self._slots:
            return
        import cloudpickle

        self._payload = cloudpickle.dumps((evaluator, space))
        self._events = self._ctx.Queue()
        cpu_workers = sum(1 for i in range(self.workers) if not self._device(i).startswith("cuda"))
        for i in range(self.workers):
            device = self._device(i)
            threads = None
            if not device.startswith("cuda"):
                threads = self.threads or split_threads(cpu_workers)
            slot = _Slot(i, device, threads)
            self._spawn(slot)
            self._slots.append(slot)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 300.0) -> None:
        """Wait until every worker has loaded the evaluator; a worker that cannot load it
        (a module missing in the worker, say) stops the search with its error."""
        waiting = {s.index for s in self._slots}
        deadline = time.monotonic() + timeout
        while waiting:
            try:
                message = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.shutdown()
                raise ExecutionError(
                    f"workers {sorted(waiting)} did not start in {timeout:.0f} s"
                ) from None
            self._check_started(message)
            waiting.discard(message[1])

    def _check_started(self, message: Any) -> None:
        if isinstance(message, tuple) and message[0] == "failed":
            self.shutdown()
            raise ExecutionError(
                f"worker {message[1]} could not load the evaluator and space: {message[2]}"
            )

    def _device(self, index: int) -> str:
        return self.devices[index % len(self.devices)] if self.devices else self.default_device

    def _spawn(self, slot: _Slot) -> None:
        slot.jobs = self._ctx.Queue()
        slot.decisions = self._ctx.Queue()
        slot.job = None
        slot.process = self._ctx.Process(
            target=_worker_main,
            args=(
                slot.index,
                self._payload,
                slot.device,
                slot.threads,
                slot.jobs,
                self._events,
                slot.decisions,
                os.getpid(),
            ),
            name=f"nasforge-worker-{slot.index}",
            daemon=True,
        )
        with _main_module_hidden():
            slot.process.start()

    def free_slots(self) -> int:
        return sum(1 for s in self._slots if s.job is None)

    def submit(self, job: Job) -> None:
        slot = next((s for s in self._slots if s.job is None), None)
        if slot is None:
            raise RuntimeError("no free worker; check free_slots() before submit()")
        slot.job = job
        self._by_trial[job.number] = slot
        slot.jobs.put(job)

    def poll(self, timeout: float) -> list[Event]:
        events = self._receive(timeout)
        for slot in self._slots:
            if slot.process.is_alive():
                continue
            events.extend(self._receive(0.0))  # what it sent before dying counts
            job = slot.job
            if job is not None and job.number in self._by_trial:
                code = slot.process.exitcode
                events.append(
                    Lost(job.number, f"worker process {slot.process.pid} died (exit {code})")
                )
                del self._by_trial[job.number]
            self._spawn(slot)
        return events

    def _receive(self, timeout: float) -> list[Event]:
        """The jobs that ended, after up to ``timeout`` seconds for the first message; reports
        go to ``decide`` (answered when the worker waits), a restarted worker's ready (or
        failed) message is checked, late messages of a job already reported lost dropped."""
        out: list[Event] = []
        wait: float | None = timeout
        while True:
            try:
                message = self._events.get(timeout=wait) if wait else self._events.get_nowait()
            except queue.Empty:
                return out
            wait = None
            if isinstance(message, tuple):
                self._check_started(message)
                continue
            slot = self._by_trial.get(message.number)
            if slot is None:
                continue  # a late message of a job already reported lost
            if isinstance(message, Report):
                assert self._decide is not None
                stop = self._decide(message.number, message.step, message.metrics)
                if message.wait:
                    slot.decisions.put(bool(stop))
            elif isinstance(message, Done):
                del self._by_trial[message.number]
                slot.job = None
                out.append(message)

    def worker_pids(self) -> dict[int, int]:
        """Trial number -> pid of the process running it (for fault-injection tests)."""
        return {t: s.process.pid for t, s in self._by_trial.items()}

    def shutdown(self) -> None:
        for slot in self._slots:
            if slot.process.is_alive():
                if slot.job is None:
                    slot.jobs.put(None)
                else:
                    slot.process.terminate()
        deadline = time.monotonic() + 5
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(1)
        self._slots.clear()
        self._by_trial.clear()


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a worker without re-running the user's script in it.

    ``spawn`` imports the parent's ``__main__`` in each child, which runs a script that has no
    ``if __name__ == "__main__":`` guard all over again (and starts workers from workers). The
    worker needs nothing from it: the evaluator travels by value through cloudpickle. So the
    child is told there is no main module to import.
    """
    main = sys.modules.get("__main__")
    names: tuple[str, ...] = ("__file__", "__spec__")
    saved = {k: main.__dict__[k] for k in names if main is not None and k in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            main.__dict__["__spec__"] = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
            if "__spec__" not in saved:
                main.__dict__.pop("__spec__", None)


def _watch_parent(parent_pid: int) -> None:
    """Exit when the driver is gone (a SIGKILLed driver leaves no orphan training)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(3)


def _worker_main(
    index: int,
    payload: bytes,
    device: str,
    threads: int | None,
    jobs: Any,
    events: Any,
    decisions: Any,
    parent_pid: int,
) -> None:
    import pickle

    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if threads is not None:  # read by torch when it starts, whoever imports it
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        evaluator, space = pickle.loads(payload)
    except BaseException as exc:
        events.put(("failed", index, f"{type(exc).__name__}: {exc}"))
        return
    if threads is not None and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    events.put(("ready", index, None))
    name = f"{socket.gethostname()}:{os.getpid()}/w{index}"
    while True:
        job = jobs.get()
        if job is None:
            return

        def report(step: int, metrics: dict[str, float], job: Job = job) -> bool:
            events.put(Report(job.number, step, metrics, wait=job.wait_decision))
            return job.wait_decision and bool(decisions.get())

        events.put(run_job(job, evaluator, space, device, report, name))
