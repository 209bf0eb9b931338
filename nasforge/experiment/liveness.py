"""Liveness: telling a live search from a dead one, and taking back a dead one's trials.

A running trial's driver writes a heartbeat every few seconds (one thread of the search loop,
whatever the executor). On start, a trial left ``running`` is taken back (marked
``interrupted``, then retried) when its driver is gone: it ran on this machine and its process
no longer exists, or its heartbeat is too old. A trial whose driver is alive means another
process is running the experiment, which is refused.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from nasforge.errors import StorageError
from nasforge.storage import Storage


def reclaim_running(
    storage: Storage, experiment_id: int, name: str, stale_after: float
) -> list[int]:
    """Mark ``interrupted`` the trials left ``running`` by a driver that is gone; returns
    their numbers (see the module docstring); raises ``StorageError`` for a live driver, and
    for an experiment with trials the store cannot read (replaying the others would resume a
    different search, and a new trial could take the number of one that cannot be read)."""
    unreadable = storage.unreadable_trials(experiment_id)
    if unreadable:
        first = next(iter(unreadable))
        numbers = ", ".join(str(n) for n in unreadable)
        trials = "trial" if len(unreadable) == 1 else "trials"
        raise StorageError(
            f"experiment {name!r} in {storage.url!r} cannot be resumed: the store cannot read "
            f"{trials} {numbers} (trial {first}: {unreadable[first]}); repair or restore the "
            "store, or search under another name"
        )
    host = socket.gethostname()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    gone = []
    for number, worker, last in storage.running_trials(experiment_id):
        where, _, pid_text = (worker or "").partition("/")[0].rpartition(":")
        age = max(0.0, (now - last).total_seconds()) if last is not None else math.inf
        if where == host and pid_text.isdigit():
            pid = int(pid_text)
            dead = pid == os.getpid() or not process_exists(pid) or age > stale_after
        else:
            dead = age > stale_after or not where
        if not dead:
            raise StorageError(
                f"experiment {name!r} is being run by {worker} (trial {number} running, "
                f"heartbeat {age:.0f} s ago); stop that process, or wait {stale_after:.0f} s "
                "after it died, then run again"
            )
        gone.append(number)
    return storage.mark_interrupted(experiment_id, numbers=gone) if gone else []


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat:
    """Calls ``beat(running())`` every ``every`` seconds from a thread, while in a ``with``.

    ``running`` returns the numbers of the trials running now; nothing is written when there
    are none. A failed write is skipped (the next one comes ``every`` seconds later).
    """

    def __init__(
        self,
        beat: Callable[[Sequence[int]], None],
        running: Callable[[], Sequence[int]],
        every: float,
    ) -> None:
        self.beat, self.running, self.every = beat, running, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nasforge-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            numbers = self.running()
            if numbers:
                with contextlib.suppress(Exception):  # a missed beat is only a later one
                    self.beat(numbers)


__all__ = ["Heartbeat", "process_exists", "reclaim_running"]
