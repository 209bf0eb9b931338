"""The median stopping rule of Google Vizier (Golovin et al. 2017)."""

from __future__ import annotations

import numpy as np

from nasforge.schedulers.base import Scheduler, check_int


class MedianStopping(Scheduler):
    """Stop a trial whose best value so far is below the median of completed trials' averages.

    Golovin et al. 2017, "Google Vizier: A Service for Black-Box Optimization", section 3.2.2:
    trial ``t`` is stopped at step ``s`` if its best objective value up to ``s`` is strictly
    worse than the median of the running averages ``mean(v_1..v_s)`` of the completed trials'
    curves up to ``s``. As in the paper only trials that finished ``complete`` count (pruned
    trials would drag the median down); a completed trial counts at ``s`` if it reported some
    step ``<= s``.

    Args:
        warmup_steps: no trial is stopped at a step ``<= warmup_steps``.
        min_trials: completed trials (counting at ``s``) needed before anything is stopped.
        max_step: the full step; default from the experiment.

    Example:
        >>> s = MedianStopping(min_trials=1).bind(None, 10)
        >>> s.should_stop(0, 1, 0.9), s.should_stop(0, 10, 0.9)
        (False, False)
        >>> from nasforge.trial import Trial, TrialStatus
        >>> from nasforge.space import Arch
        >>> s.complete(Trial(0, Arch({"x": 0}), TrialStatus.COMPLETE, {"value": 0.9}))
        >>> s.should_stop(1, 1, 0.5), s.should_stop(2, 1, 0.95)
        (True, False)
    """

    name = "median"

    def __init__(
        self, warmup_steps: int = 0, min_trials: int = 5, max_step: int | None = None
    ) -> None:
        self.warmup_steps = check_int(self.name, "warmup_steps", warmup_steps, 0)
        self.min_trials = check_int(self.name, "min_trials", min_trials, 1)
        super().__init__(max_step)

    def median_at(self, step: int) -> float | None:
        """The median of completed trials' running averages up to ``step`` (``None``: too few)."""
        averages = []
        for curve in self.completed_curves().values():
            values = [v for s, v in curve.items() if s <= step]
            if values:
                averages.append(float(np.mean(values)))
        if len(averages) < self.min_trials:
            return None
        return float(np.median(averages))

    def decide(self, trial: int, step: int, value: float) -> bool:
        if step <= self.warmup_steps:
            return False
        median = self.median_at(step)
        if median is None:
            return False
        best = max(v for s, v in self.curves_[trial].items() if s <= step)
        return best < median
