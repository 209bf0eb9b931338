"""Reading results from trials: the best one, and the Pareto front of several objectives."""

from __future__ import annotations

from collections.abc import Sequence

from nasforge.pareto import nondominated
from nasforge.trial import Trial, TrialStatus


def best_trial(trials: Sequence[Trial]) -> Trial | None:
    """The complete, feasible trial with the largest ``score`` (the primary objective, larger
    is better); ties go to the lower number. (An infeasible trial is stored without scores;
    ``feasible`` is checked too for trials made by hand.)"""
    done = [
        t for t in trials if t.status == TrialStatus.COMPLETE and t.score is not None and t.feasible
    ]
    if not done:
        return None
    return min(done, key=lambda t: (-t.score, t.number))  # type: ignore[operator]


def pareto_trials(trials: Sequence[Trial]) -> list[Trial]:
    """The feasible trials with scores that no other such trial beats on every objective (at
    least as good on all, better on one), in the order given; equal trials on the front are all
    kept."""
    done = [t for t in trials if t.scores is not None and t.feasible]
    if not done:
        return []
    scores = [t.scores for t in done]
    mask = nondominated(scores, ("max",) * len(scores[0]))  # type: ignore[arg-type]
    return [t for t, keep in zip(done, mask, strict=True) if keep]


__all__ = ["best_trial", "pareto_trials"]
