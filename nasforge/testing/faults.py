"""A quick evaluator with faults injected on request, for fault-injection tests and benchmarks,
and the checks those tests make after a fault.

It lives in the package (not in a test file) so that worker processes and Ray workers, which
import the evaluator by reference, find it wherever nasforge is installed.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from nasforge.estimation.base import Evaluator, TrialContext
from nasforge.space import Arch
from nasforge.trial import Trial, TrialStatus

T = TypeVar("T")


def arch_score(arch: Arch) -> float:
    """A deterministic score in [0, 100) of an arch: the same arch always scores the same."""
    import zlib

    return (zlib.crc32(arch.key.encode()) % 10_000) / 100.0


class FaultyEvaluator(Evaluator):
    """Reports ``steps`` intermediate values over ``delay`` seconds and returns ``val_acc``.

    Args:
        delay: seconds each trial takes (slept, so cores are not the limit).
        steps: intermediate reports per trial (``val_acc`` rising to the final value).
        raise_on: trial numbers whose evaluation raises ``ValueError``.
        hang_on: trial numbers that write their process id to ``pid_dir/<number>.pid`` and then
            sleep for ``hang_s`` seconds: a test kills that process to simulate a dead worker.
        pid_dir: the folder for those files.
        hang_s: how long a hanging trial sleeps.
        exit_after_on: trial numbers whose worker process exits ``exit_after_s`` seconds after
            the evaluation returned (its result sent): a worker that dies just after its result.
        exit_after_s: that delay.
        ballast_mb: megabytes of bytes the evaluator carries, so that its pickled form is as
            large as a real one's (the tabular evaluator pickles to about 2 MB).
        odd_steps: trial number -> the step to report instead of its last one (e.g. ``2.5``):
            a faulty ``ctx.report`` in the evaluator.
    """

    metric_names = ("val_acc",)

    def __init__(
        self,
        delay: float = 0.0,
        steps: int = 3,
        raise_on: Iterable[int] = (),
        hang_on: Iterable[int] = (),
        pid_dir: str | Path | None = None,
        hang_s: float = 120.0,
        exit_after_on: Iterable[int] = (),
        exit_after_s: float = 0.005,
        ballast_mb: float = 0.0,
        odd_steps: Mapping[int, Any] | None = None,
    ) -> None:
        self.delay = float(delay)
        self.steps = int(steps)
        self.raise_on = frozenset(raise_on)
        self.hang_on = frozenset(hang_on)
        self.pid_dir = None if pid_dir is None else str(pid_dir)
        self.hang_s = float(hang_s)
        self.exit_after_on = frozenset(exit_after_on)
        self.exit_after_s = float(exit_after_s)
        self.ballast = bytes(int(ballast_mb * 2**20))
        self.odd_steps = dict(odd_steps or {})

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        if ctx.number in self.raise_on:
            raise ValueError(f"injected failure in trial {ctx.number}")
        if ctx.number in self.hang_on and self.pid_dir is not None:
            path = Path(self.pid_dir) / f"{ctx.number}.pid"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(str(os.getpid()))
            tmp.rename(path)  # whole or absent: the test never reads half a pid
            time.sleep(self.hang_s)
        score = arch_score(arch)
        for step in range(1, self.steps + 1):
            if self.delay:
                time.sleep(self.delay / self.steps)
            shown = self.odd_steps.get(ctx.number, step) if step == self.steps else step
            ctx.report(shown, {"val_acc": score * step / self.steps})
        if ctx.number in self.exit_after_on:
            threading.Thread(target=_exit_after, args=(self.exit_after_s,), daemon=True).start()
        return {"val_acc": score, "test_acc": score}


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    os._exit(7)


def wait_for(predicate: Callable[[], T], what: str, timeout: float = 120.0) -> T:
    """Poll until ``predicate()`` is true and return it (a liveness wait, not a speed check);
    ``AssertionError`` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


def is_worker(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) multiprocessing worker (a ``spawn_main``
    process; Linux ``/proc``)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z" and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def worker_processes(pid: int) -> set[int]:
    """The live worker processes (:func:`is_worker`) whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if parent == pid and is_worker(int(entry.name)):
            found.add(int(entry.name))
    return found


def trial_statuses(db: Path) -> list[str]:
    """The status of each trial of a SQLite store, by number, read directly (while a search
    writes it: no tables yet reads as no trials)."""
    import sqlite3

    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return [r[0] for r in conn.execute("SELECT status FROM trials ORDER BY number")]
    except sqlite3.OperationalError:  # tables not created yet
        return []


def check_invariants(trials: Sequence[Trial], budget: int) -> None:
    """After faults: every ask stored once and answered once, each trial number once, every
    interrupted trial retried, and every complete trial with the score of its arch."""
    finished = [t for t in trials if t.status.finished]
    asks = Counter(t.ask_seq for t in trials if t.ask_seq is not None)
    assert all(n == 1 for n in asks.values()), "an ask stored twice"
    assert len(asks) == budget, f"{len(asks)} asks stored, not {budget}"
    answered = Counter(t.number if t.retry_of is None else t.retry_of for t in finished)
    assert len(answered) == budget and set(answered.values()) == {1}, f"answers: {answered}"
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)), "a trial number stored twice"
    for t in trials:
        if t.status == TrialStatus.INTERRUPTED:
            root = t.number if t.retry_of is None else t.retry_of
            retried = any(r.retry_of == root and r.number > t.number for r in trials)
            assert retried, f"trial {t.number} not retried"
    for t in finished:
        if t.status == TrialStatus.COMPLETE:
            assert math.isclose(t.metrics["val_acc"], arch_score(t.arch), abs_tol=1e-9)
