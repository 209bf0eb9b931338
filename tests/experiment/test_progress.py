"""The search's progress bar: its time left comes from the mean time per finished trial."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

import nasforge as nf
from nasforge.experiment._progress import (
    SearchProgress,
    TrialTimeLeftColumn,
    estimate_time_left,
)
from nasforge.objectives import Objectives
from nasforge.trial import Trial, TrialStatus

ARCH = nf.CellSpace(3, ["skip_connect", "conv", "pool"]).sample(np.random.default_rng(0))
ACC = Objectives.parse({"acc": "max"})


class Clock:
    """A clock a test sets by hand: ``clock.now = 30.0``."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def finished(number: int, acc: float) -> Trial:
    return Trial(number, ARCH, TrialStatus.COMPLETE, metrics={"acc": acc}, scores=(acc,))


def left(bar: SearchProgress) -> str:
    return TrialTimeLeftColumn().render(bar.progress.tasks[0]).plain


def test_estimate_is_mean_time_per_finished_trial_times_trials_left() -> None:
    assert estimate_time_left(elapsed=60.0, finished=4, left=6) == 90.0
    assert estimate_time_left(elapsed=10.0, finished=0.25, left=9.75) == 390.0
    assert estimate_time_left(elapsed=60.0, finished=4, left=0) == 0.0
    assert estimate_time_left(elapsed=60.0, finished=0, left=6) is None


def test_the_bar_shows_a_steady_estimate_from_finished_trials() -> None:
    clock = Clock()
    console = Console(file=io.StringIO(), width=200)
    bar = SearchProgress(
        "demo", ACC, [], max_trials=10, steps_per_trial=4, console=console, clock=clock
    )
    assert left(bar) == "-:--:--"  # nothing to estimate from yet
    clock.now = 10.0
    bar.on_report(0, 1, {"acc": 0.1})  # a quarter of the first trial in 10 s
    assert left(bar) == "0:06:30"  # 10 s / 0.25 x 9.75 trials left
    clock.now = 30.0
    bar.on_trial(finished(0, 0.5))
    assert left(bar) == "0:04:30"  # 30 s per trial x 9 left
    clock.now = 40.0
    bar.on_trial(finished(1, 0.6))  # a quick trial moves the estimate a little, not 10-fold
    assert left(bar) == "0:02:40"  # 20 s per trial x 8 left
    clock.now = 44.0
    bar.on_report(2, 2, {"acc": 0.2})  # half of the next one done: 7.5 trials left
    assert left(bar) == "0:02:45"


def test_trials_stored_before_a_resume_do_not_count_as_time_spent_here() -> None:
    clock = Clock()
    stored = [finished(n, 0.5) for n in range(5)]
    bar = SearchProgress(
        "demo", ACC, stored, max_trials=10, console=Console(file=io.StringIO()), clock=clock
    )
    assert left(bar) == "-:--:--"
    clock.now = 12.0
    bar.on_trial(finished(5, 0.7))
    assert left(bar) == "0:00:48"  # 12 s for the one trial run here x 4 left
    assert bar.best == 0.7


def test_without_a_trial_budget_there_is_no_time_left() -> None:
    clock = Clock()
    bar = SearchProgress(
        "demo", ACC, [], max_trials=None, console=Console(file=io.StringIO()), clock=clock
    )
    clock.now = 5.0
    bar.on_trial(finished(0, 0.5))
    assert left(bar) == "-:--:--"
