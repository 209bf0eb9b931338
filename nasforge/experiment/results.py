"""Reading results from trials: the best one, and the Pareto front of several objectives."""

from __future__ import annotations

from collections.abc import Sequence

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
    """The feasible trials with scores that no other such trial beats on every objective, by
    number."""
    done = [t for t in trials if t.scores is not None and t.feasible]
    front = []
    for t in done:
        dominated = any(
            all(a >= b for a, b in zip(o.scores, t.scores, strict=True))  # type: ignore[arg-type]
            and any(a > b for a, b in zip(o.scores, t.scores, strict=True))  # type: ignore[arg-type]
            for o in done
        )
        if not dominated:
            front.append(t)
    return front


__all__ = ["best_trial", "pareto_trials"]
