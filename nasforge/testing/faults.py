"""A quick evaluator with faults injected on request, for fault-injection tests and benchmarks.

It lives in the package (not in a test file) so that worker processes and Ray workers, which
import the evaluator by reference, find it wherever nasforge is installed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from nasforge.estimation.base import Evaluator, TrialContext
from nasforge.space import Arch


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
    ) -> None:
        self.delay = float(delay)
        self.steps = int(steps)
        self.raise_on = frozenset(raise_on)
        self.hang_on = frozenset(hang_on)
        self.pid_dir = None if pid_dir is None else str(pid_dir)
        self.hang_s = float(hang_s)

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
            ctx.report(step, {"val_acc": score * step / self.steps})
        return {"val_acc": score, "test_acc": score}
