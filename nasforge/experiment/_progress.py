"""A Rich progress bar for a running search: trials done, best value, time left."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from nasforge.objectives import Objectives
from nasforge.trial import Trial


def estimate_time_left(elapsed: float, finished: float, left: float) -> float | None:
    """Seconds left: the mean wall time per finished trial times the trials ``left``.

    ``elapsed`` is the wall time since this run started and ``finished`` the trials it finished
    (a fraction of the first trial before one has finished). With parallel workers ``elapsed /
    finished`` is already the time per trial of all of them together, so nothing more is divided.
    ``None`` while nothing has finished, so there is nothing to estimate from.

    >>> estimate_time_left(elapsed=60.0, finished=4, left=6)
    90.0
    >>> estimate_time_left(elapsed=5.0, finished=0, left=10) is None
    True
    """
    if finished <= 0:
        return None
    return elapsed / finished * max(left, 0.0)


class TrialTimeLeftColumn(ProgressColumn):
    """The time left from the mean time per finished trial (:func:`estimate_time_left`).

    Rich's own ``TimeRemainingColumn`` divides by the speed over its last few updates, which
    swings widely when trials take uneven times (0:13, 2:08, 0:08 within a minute and a half).
    The task's ``finished`` field counts the trials this run finished (stored ones from before a
    resume took no time here) and ``running`` the reported fraction of the trial in progress.
    """

    def render(self, task: Task) -> Text:
        """``h:mm:ss`` left, or ``-:--:--`` without a total or before any progress."""
        finished = float(task.fields.get("finished", 0))
        running = float(task.fields.get("running", 0.0))
        seconds = None
        if task.total is not None and task.elapsed is not None:
            seconds = estimate_time_left(
                task.elapsed, finished or running, task.total - task.completed
            )
        if seconds is None:
            return Text("-:--:--", style="progress.remaining")
        return Text(str(timedelta(seconds=round(seconds))), style="progress.remaining")


class SearchProgress:
    """Shows ``trials done/total``, the best primary objective so far, elapsed and remaining time.

    The bar advances by a fraction of a trial at every reported step (``steps_per_trial`` of a
    whole trial: the evaluator's ``max_step``). The time left is the mean time per trial finished
    in this run times the trials left (:class:`TrialTimeLeftColumn`); before the first trial
    finishes it is estimated from that trial's reported fraction. ``clock`` (seconds, by default
    Rich's monotonic clock) lets a test set the time.
    """

    def __init__(
        self,
        name: str,
        objectives: Objectives,
        stored: Sequence[Trial],
        max_trials: int | None,
        steps_per_trial: int | None = None,
        console: Console | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.name = name
        self.metric, self.direction = objectives.primary, objectives.primary_direction
        # each ask ends in exactly one finished trial (its retries were interrupted ones)
        done = sum(1 for t in stored if t.status.finished)
        self.best: float | None = None
        for t in stored:
            self._update_best(t)
        self.done = done
        self.finished_here = 0
        self.steps_per_trial = steps_per_trial
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TrialTimeLeftColumn(),
            console=console or Console(stderr=True),
            transient=False,
            get_time=clock,  # None: Rich's monotonic clock
        )
        self.task = self.progress.add_task(
            name, total=max_trials, completed=done, best=self._best_text(), finished=0, running=0.0
        )

    def _update_best(self, trial: Trial) -> None:
        value = trial.metrics.get(self.metric)
        if trial.score is None or value is None or not math.isfinite(value):
            return
        if self.best is None or (
            value > self.best if self.direction == "max" else value < self.best
        ):
            self.best = value

    def _best_text(self) -> str:
        return f"{self.metric}={self.best:.4g}" if self.best is not None else f"{self.metric}=-"

    def on_report(self, number: int, step: int, metrics: Mapping[str, float]) -> None:
        if self.steps_per_trial:
            fraction = min(step / float(self.steps_per_trial), 1.0)
            self.progress.update(self.task, completed=self.done + fraction, running=fraction)
        self.progress.update(self.task, description=f"{self.name} · trial {number} step {step}")

    def on_trial(self, trial: Trial) -> None:
        self._update_best(trial)
        self.done += 1
        self.finished_here += 1
        self.progress.update(
            self.task,
            completed=self.done,
            finished=self.finished_here,
            running=0.0,
            best=self._best_text(),
            description=self.name,
        )

    def note(self, text: str) -> None:
        """Print plain ``text`` above the bar (a one-shot search's honesty report)."""
        self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def __enter__(self) -> SearchProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()
