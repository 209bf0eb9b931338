"""A Rich progress bar for a running search: trials done, best value, time left."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from nasforge.objectives import Objectives
from nasforge.trial import Trial


class SearchProgress:
    """Shows ``trials done/total``, the best primary objective so far, elapsed and remaining time.

    The bar advances by a fraction of a trial at every reported step (``steps_per_trial`` of a
    whole trial: the evaluator's ``max_step``), so the time left is estimated from the start,
    not only after whole trials.
    """

    def __init__(
        self,
        name: str,
        objectives: Objectives,
        stored: Sequence[Trial],
        max_trials: int | None,
        steps_per_trial: int | None = None,
        console: Console | None = None,
    ) -> None:
        self.name = name
        self.metric, self.direction = objectives.primary, objectives.primary_direction
        # each ask ends in exactly one finished trial (its retries were interrupted ones)
        done = sum(1 for t in stored if t.status.finished)
        self.best: float | None = None
        for t in stored:
            self._update_best(t)
        self.done = done
        self.steps_per_trial = steps_per_trial
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self.task = self.progress.add_task(
            name, total=max_trials, completed=done, best=self._best_text()
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
            self.progress.update(self.task, completed=self.done + fraction)
        self.progress.update(self.task, description=f"{self.name} · trial {number} step {step}")

    def on_trial(self, trial: Trial) -> None:
        self._update_best(trial)
        self.done += 1
        self.progress.update(
            self.task,
            completed=self.done,
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
