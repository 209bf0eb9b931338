"""Hyperband (Li et al. 2018) as brackets of asynchronous successive halving."""

from __future__ import annotations

import math

from nasforge.schedulers.asha import RungScheduler, judge_rungs, rung_steps


class Hyperband(RungScheduler):
    """Several successive-halving brackets with different first rungs; each trial joins one.

    Li et al. 2018, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization":
    with ``s_max = floor(log_eta(max_step / min_step))``, bracket ``i`` (``0 .. s_max``) starts
    halving at ``min_step * eta**i``: bracket 0 is the most aggressive, bracket ``s_max`` stops
    (almost) nothing. Hyperband gives bracket ``i``, which halves ``s = s_max - i`` times,
    ``ceil((s_max + 1) / (s + 1) * eta**s)`` configurations; trials are dealt to brackets in
    those proportions by trial number (number modulo the total, walking the brackets in order),
    so the assignment is deterministic and the same on resume.

    Departures from the paper: the brackets run asynchronously, each as ASHA (see
    :class:`~nasforge.schedulers.SuccessiveHalving`), rather than as synchronous
    rounds, and trials of all brackets interleave instead of running bracket after bracket (as
    Optuna's ``HyperbandPruner`` does). Each bracket compares a trial only with trials of the
    same bracket.

    Args:
        min_step: the first rung of the most aggressive bracket.
        reduction_factor: ``eta``.
        max_step: the full step; default from the experiment.

    Example:
        >>> hb = Hyperband(min_step=1, reduction_factor=3).bind(None, 20)
        >>> hb.bracket_sizes(), [hb.bracket_rungs(i) for i in range(3)]
        ([9, 5, 3], [[1, 3, 9], [3, 9], [9]])
        >>> [hb.bracket_of(n) for n in (0, 8, 9, 13, 14, 16, 17)]
        [0, 0, 1, 1, 2, 2, 0]
    """

    name = "hyperband"

    def reset(self) -> None:
        super().reset()
        #: per bracket, per rung step, the values recorded there (trial, value)
        self.rung_values_: dict[int, dict[int, list[tuple[int, float]]]] = {}
        self._judged: set[tuple[int, int]] = set()

    @property
    def s_max(self) -> int:
        ratio = self.max_step_ / self.min_step
        s = 0
        while self.reduction_factor ** (s + 1) <= ratio:
            s += 1
        return s

    def bracket_sizes(self) -> list[int]:
        """Hyperband's number of configurations per bracket, most aggressive first."""
        s_max, eta = self.s_max, self.reduction_factor
        return [
            math.ceil((s_max + 1) / (s_max - i + 1) * eta ** (s_max - i)) for i in range(s_max + 1)
        ]

    def bracket_of(self, trial: int) -> int:
        """The bracket of trial number ``trial``."""
        sizes = self.bracket_sizes()
        position = trial % sum(sizes)
        for i, size in enumerate(sizes):
            if position < size:
                return i
            position -= size
        raise AssertionError("unreachable")  # pragma: no cover

    def bracket_rungs(self, bracket: int) -> list[int]:
        """The rung steps of ``bracket``."""
        first = self.min_step * self.reduction_factor**bracket
        return rung_steps(first, self.reduction_factor, self.max_step_)

    def decide(self, trial: int, step: int, value: float) -> bool:
        bracket = self.bracket_of(trial)
        rungs = self.rung_values_.setdefault(bracket, {})
        return judge_rungs(self, self.bracket_rungs(bracket), rungs, self._judged, trial, step)
