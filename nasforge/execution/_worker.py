"""The worker side of :class:`~nasforge.execution.processes.ProcessExecutor`, and how the
driver starts one.

A worker loads the evaluator and space from the file the driver wrote, says it is ready, then
runs the jobs that come down its pipe, sending reports (and waiting for the driver's decision
when asked to) and each job's end back up the same pipe. It ignores Ctrl-C (the driver decides
when workers stop), exits quietly when the driver closes the pipe, and exits by itself when the
driver dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from nasforge.execution.base import Job, Report, run_job


@contextlib.contextmanager
def main_module_hidden() -> Iterator[None]:
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


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Start a process whole: Ctrl-C and a Python SIGTERM handler wait until it has started.

    An interrupt inside ``Process.start`` would leave the child reading a half-written start-up
    message (it prints an ``UnpicklingError``) and the ``Process`` half started. SIGINT is also
    blocked in this thread meanwhile, and the child inherits that mask, so it cannot be stopped
    by Ctrl-C before it has set SIGINT aside (see :func:`worker_main`). A signal that arrives
    meanwhile is raised again afterwards. Only in the main thread (signals are handled there).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def defer(signum: int, _frame: Any) -> None:
        pending.append(signum)

    saved: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if callable(signal.getsignal(sig)):
            saved[sig] = signal.signal(sig, defer)
    masked = hasattr(signal, "pthread_sigmask")
    if masked:
        # started on the first spawn, the resource tracker unblocks SIGINT after itself
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        for signum in pending:
            signal.raise_signal(signum)


def _watch_parent(parent_pid: int) -> None:
    """Exit when the driver is gone (a SIGKILLed driver leaves no orphan training)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(3)


def worker_main(
    index: int,
    payload: str,
    device: str,
    threads: int | None,
    conn: Any,
    parent_pid: int,
) -> None:
    """A worker: load the evaluator, say ready, then run the jobs that come down the pipe."""
    import pickle

    # Ctrl-C goes to the whole process group; the driver stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the driver while this one started
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if threads is not None:  # read by torch when it starts, whoever imports it
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        try:
            with open(payload, "rb") as f:
                evaluator, space = pickle.load(f)
        except Exception as exc:
            conn.send(("failed", index, f"{type(exc).__name__}: {exc}"))
            return
        if threads is not None and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        conn.send(("ready", index))
        name = f"{socket.gethostname()}:{os.getpid()}/w{index}"
        while True:
            job = conn.recv()
            if job is None:
                return

            def report(step: int, metrics: dict[str, float], job: Job = job) -> bool:
                conn.send(Report(job.number, step, metrics, wait=job.wait_decision))
                return job.wait_decision and bool(conn.recv())

            conn.send(run_job(job, evaluator, space, device, report, name))
    except (EOFError, OSError):
        return  # the driver closed the pipe (it stops the search) or is gone
