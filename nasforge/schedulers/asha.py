"""Asynchronous successive halving (ASHA, Li et al. 2020)."""

from __future__ import annotations

from nasforge.schedulers.base import Scheduler, check_int


class RungScheduler(Scheduler):
    """Base of the schedulers with rungs at ``min_step * reduction_factor**k`` (ASHA, Hyperband):
    their two options and the check that the first rung lies below the full step."""

    def __init__(
        self, min_step: int = 1, reduction_factor: int = 3, max_step: int | None = None
    ) -> None:
        self.min_step = check_int(self.name, "min_step", min_step, 1)
        self.reduction_factor = check_int(self.name, "reduction_factor", reduction_factor, 2)
        super().__init__(max_step)

    def check_options(self) -> None:
        self.check_below_max_step("min_step", self.min_step)


class SuccessiveHalving(RungScheduler):
    """Asynchronous successive halving: at each rung only the top ``1/eta`` go on.

    Li et al. 2020, "A System for Massively Parallel Hyperparameter Tuning" (ASHA): rungs sit at
    ``min_step * eta**k`` (below ``max_step``). When a trial reaches a rung its value is
    recorded there, and it continues only if it is among the top ``len(rung) // eta`` values
    recorded at that rung so far, itself included. The decision is taken at once with what the
    rung holds (asynchronous: no trial waits for others to catch up), so it works unchanged with
    parallel workers.

    Departures from the paper: ASHA promotes a *paused* configuration later when the rung has
    grown; nasforge trials are not paused and resumed, so a trial that is not promoted when it
    arrives is stopped for good (as Optuna's ``SuccessiveHalvingPruner`` does). For the same
    reason, while a rung holds fewer than ``eta`` values (``len // eta == 0``), a trial goes on
    only if it is the best there so far; a tie with the threshold goes on.

    A report that skips a rung (e.g. steps 2, 4 with a rung at 3) is judged at the first report
    at or past the rung.

    Args:
        min_step: the first rung (ASHA's minimum resource ``r``).
        reduction_factor: ``eta``; ``1/eta`` of the trials are promoted at each rung.
        max_step: the full step; default from the experiment.

    Example:
        >>> s = SuccessiveHalving(min_step=1, reduction_factor=2).bind(None, 4)
        >>> s.rungs()
        [1, 2]
        >>> [s.should_stop(t, 1, v) for t, v in enumerate([0.5, 0.7, 0.6, 0.4])]
        [False, False, True, True]
    """

    name = "asha"

    def reset(self) -> None:
        super().reset()
        #: per rung step, the values recorded there in arrival order (trial, value)
        self.rung_values_: dict[int, list[tuple[int, float]]] = {}
        self._judged: set[tuple[int, int]] = set()

    def rungs(self) -> list[int]:
        """The rung steps: ``min_step * eta**k`` below ``max_step``."""
        return rung_steps(self.min_step, self.reduction_factor, self.max_step_)

    def decide(self, trial: int, step: int, value: float) -> bool:
        return judge_rungs(self, self.rungs(), self.rung_values_, self._judged, trial, step)


def rung_steps(min_step: int, eta: int, max_step: int) -> list[int]:
    """``min_step * eta**k`` for ``k = 0, 1, ...`` while below ``max_step``."""
    out = []
    step = min_step
    while step < max_step:
        out.append(step)
        step *= eta
    return out


def promotable(value: float, competing: list[float], eta: int) -> bool:
    """Whether ``value`` is among the top ``max(1, len(competing) // eta)`` of ``competing``."""
    k = max(1, len(competing) // eta)
    threshold = sorted(competing, reverse=True)[k - 1]
    return value >= threshold


def judge_rungs(
    scheduler: RungScheduler,
    rungs: list[int],
    rung_values: dict[int, list[tuple[int, float]]],
    judged: set[tuple[int, int]],
    trial: int,
    step: int,
) -> bool:
    """Record ``trial`` at each rung it has reached and not yet passed; stop it if it loses one.

    The value recorded at a rung is the trial's value at the first reported step at or past it.
    Shared by ASHA and each Hyperband bracket.
    """
    eta = scheduler.reduction_factor
    curve = scheduler.curves_[trial]
    for rung in rungs:
        if rung > step or (trial, rung) in judged:
            continue
        judged.add((trial, rung))
        at = min(s for s in curve if s >= rung)
        value = curve[at]
        values = rung_values.setdefault(rung, [])
        values.append((trial, value))
        if not promotable(value, [v for _, v in values], eta):
            return True
    return False
