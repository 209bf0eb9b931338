"""The series behind the plots and the dashboard: the Pareto front equals the pairwise
definition, and the history of rows equals the history of trials."""

from __future__ import annotations

import numpy as np
import pytest
from viz_trials import trial

from nasforge.experiment import pareto_trials
from nasforge.trial import Trial, TrialStatus
from nasforge.viz import _data


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("directions", [("max", "min"), ("min", "min"), ("max", "max")])
def test_the_front_is_the_pairwise_front(seed: int, directions: tuple[str, str]) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    xs = rng.integers(0, 8, n).astype(float)  # few distinct values: ties and duplicates
    ys = rng.integers(0, 8, n).astype(float)
    rows = [(i, float(x), float(y)) for i, (x, y) in enumerate(zip(xs, ys, strict=True))]
    signs = [1.0 if d == "max" else -1.0 for d in directions]
    as_trials = [
        Trial(
            i, trial(0, "complete").arch, TrialStatus.COMPLETE, scores=(signs[0] * x, signs[1] * y)
        )
        for i, x, y in rows
    ]
    pairwise = sorted(pareto_trials(as_trials), key=lambda t: (xs[t.number], t.number))
    assert _data.pareto_front(rows, *directions) == [t.number for t in pairwise]
    # both by moocore now: and both the pairwise definition, written out here
    oriented = [(i, signs[0] * x, signs[1] * y) for i, x, y in rows]
    brute = [
        i
        for i, x, y in oriented
        if not any(a >= x and b >= y and (a > x or b > y) for _, a, b in oriented)
    ]
    assert sorted(_data.pareto_front(rows, *directions)) == brute


def test_the_front_of_many_trials_is_a_staircase() -> None:
    rng = np.random.default_rng(0)
    rows = [(i, float(x), float(y)) for i, (x, y) in enumerate(rng.random((20_000, 2)))]
    front = _data.pareto_front(rows, "max", "max")  # pairwise: 4e8 comparisons
    xs = [rows[n][1] for n in front]
    ys = [rows[n][2] for n in front]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # a staircase
    assert rows[max(range(len(rows)), key=lambda i: rows[i][1])][0] in front


def test_history_of_rows_is_the_history_of_trials() -> None:
    trials = [
        trial(0, "complete", 3.0),
        trial(1, "pruned", None, curve={1: 1.0, 2: 2.5}),
        trial(2, "failed"),
        trial(3, "complete", 5.0),
        trial(4, "running"),
        trial(5, "complete", 4.0),
    ]
    src = _data.RankedTrials(trials, {"acc": "max"})
    points = _data.history(src)
    assert [(p.number, p.value, p.best) for p in points] == [
        (0, 3.0, 3.0),
        (1, 2.5, 3.0),
        (2, None, 3.0),
        (3, 5.0, 5.0),
        (5, 4.0, 5.0),
    ]
    rows = [_data.HistoryRow(p.number, p.status, p.value, p.elapsed_s) for p in points]
    assert _data.history_points(list(reversed(rows)), "max") == points
    assert [p.elapsed_s for p in points] == [10.0, 20.0, 30.0, 40.0, 60.0]
