"""Multi-objective asynchronous successive halving (MOASHA, Schmucker et al. 2021)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasforge.errors import ConfigError, one_of
from nasforge.pareto import crowding_distance, pareto_ranks
from nasforge.schedulers.asha import RungScheduler, rung_steps

#: how a rung's points are ordered to pick the ones that go on
SELECTIONS: tuple[str, ...] = ("nsga2", "epsilon-net")

Point = tuple[float, ...]


class MOSuccessiveHalving(RungScheduler):
    """Successive halving that promotes by Pareto rank: the top ``1/eta`` of a rung go on.

    Schmucker et al. 2021, "Multi-objective Multi-fidelity Hyperparameter Optimization with
    Application to Fairness" (MOASHA; Salinas et al. 2021 before them): ASHA's rungs
    (``min_step * eta**k`` below ``max_step``), but a rung records each arriving trial's point
    of *every* objective, and a trial goes on only if it is among the first
    ``len(rung) // eta`` (at least 1) when the rung's points, itself included, are ordered
    best first by :func:`promotion_order`:

    - ``selection="nsga2"`` (default): by non-dominated rank (the Pareto front first, then the
      front of the rest, ...), then within a rank by crowding distance, larger first, computed
      within that front (NSGA-II's selection, Deb et al. 2002): a front's extreme points first,
      then the most isolated ones;
    - ``selection="epsilon-net"``: by rank, then within a rank in the greedy order of an
      epsilon-net (Salinas et al. 2021): the front's point best on the primary objective first,
      then each time the one farthest (Euclidean, each objective scaled to the rung's range)
      from those already picked.

    Ties (equal rank and crowding, or equal distance) go to the better point on the objectives
    taken in order, primary first, then to the earlier arrival, so every decision is
    deterministic and a rebuilt scheduler (:meth:`~nasforge.schedulers.Scheduler.replay`)
    decides the same. As in :class:`~nasforge.schedulers.SuccessiveHalving` the decision is
    taken at once with what the rung holds (asynchronous; parallel workers need nothing else),
    a trial that is not promoted when it arrives is stopped for good, and a report that skips
    a rung is judged at the first report past it. With one objective the order is ASHA's
    (ties aside).

    Which values a rung records: each report's point (see
    :meth:`~nasforge.schedulers.Scheduler.point_of`): the primary objective from the report,
    and an objective the report lacks (a parameter count, FLOPs or latency an evaluator reports
    once) from the trial's last report of it. A trial whose reports have not yet carried every
    objective is judged at its first report that completes them.

    Args:
        min_step: the first rung.
        reduction_factor: ``eta``; ``1/eta`` of the trials go on at each rung.
        selection: ``"nsga2"`` or ``"epsilon-net"``, the order within a non-dominated rank.
        max_step: the full step; default from the experiment.

    Example:
        >>> s = MOSuccessiveHalving(reduction_factor=2).bind(None, 4, {"acc": "max", "mb": "min"})
        >>> reports = [{"acc": 90, "mb": 5}, {"acc": 80, "mb": 1}, {"acc": 70, "mb": 4}]
        >>> [s.report(t, 1, m) for t, m in enumerate(reports)]
        [False, True, True]
        >>> s.report(3, 1, {"acc": 95, "mb": 9}), s.promoted(1)
        (False, [3, 1])
    """

    name = "moasha"
    multi_objective: ClassVar[bool] = True

    def __init__(
        self,
        min_step: int = 1,
        reduction_factor: int = 3,
        selection: str = "nsga2",
        max_step: int | None = None,
    ) -> None:
        if selection not in SELECTIONS:
            raise ConfigError(
                f"scheduler {self.name!r}: selection must be {one_of(SELECTIONS)}, "
                f"got {selection!r}"
            )
        self.selection = selection
        super().__init__(min_step, reduction_factor, max_step)

    def reset(self) -> None:
        super().reset()
        #: per rung step, the points recorded there in arrival order (trial, point)
        self.rung_points_: dict[int, list[tuple[int, Point]]] = {}
        self._judged: set[tuple[int, int]] = set()

    def rungs(self) -> list[int]:
        """The rung steps: ``min_step * eta**k`` below ``max_step``."""
        return rung_steps(self.min_step, self.reduction_factor, self.max_step_)

    def promoted(self, rung: int) -> list[int]:
        """The trials that rank in the top ``len // eta`` (at least 1) of ``rung`` now, best
        first (a trial that arrived earlier may have been stopped though it ranks there now)."""
        recorded = self.rung_points_.get(rung, [])
        if not recorded:
            return []
        order = promotion_order([p for _, p in recorded], self.selection)
        keep = max(1, len(recorded) // self.reduction_factor)
        return [recorded[i][0] for i in order[:keep]]

    def decide(self, trial: int, step: int, value: float) -> bool:
        points = self.points_[trial]
        for rung in self.rungs():
            if rung > step or (trial, rung) in self._judged:
                continue
            self._judged.add((trial, rung))
            at = min(s for s in points if s >= rung)
            self.rung_points_.setdefault(rung, []).append((trial, points[at]))
            if trial not in self.promoted(rung):
                return True
        return False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(min_step={self.min_step}, "
            f"reduction_factor={self.reduction_factor}, selection={self.selection!r}, "
            f"max_step={self.max_step})"
        )


def promotion_order(points: Any, selection: str = "nsga2") -> list[int]:
    """The indices of ``points`` (rows of objective values, each larger-is-better, in arrival
    order) best first: by non-dominated rank, then by ``selection`` within a rank (see
    :class:`MOSuccessiveHalving`).

    Example:
        >>> promotion_order([[1.0, 1.0], [3.0, 0.0], [2.0, 2.0], [0.0, 3.0], [0.0, 0.0]])
        [1, 3, 2, 0, 4]
    """
    array = np.asarray(points, dtype=float)
    if array.ndim != 2 or len(array) == 0:
        return []
    maximise = ("max",) * array.shape[1]
    ranks = pareto_ranks(array, maximise)

    def tie(i: int) -> tuple[float, ...]:
        # the better point on the objectives in order, then the earlier arrival
        return (*(-array[i]), float(i))

    order: list[int] = []
    if selection == "epsilon-net":
        low, high = array.min(axis=0), array.max(axis=0)
        scaled = (array - low) / np.where(high > low, high - low, 1.0)
        for rank in np.unique(ranks):
            front = sorted(np.flatnonzero(ranks == rank).tolist(), key=tie)
            order.extend(_epsilon_net(scaled, front))
        return order
    crowding = np.zeros(len(array))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        crowding[members] = crowding_distance(array[members], maximise)
    return sorted(range(len(array)), key=lambda i: (int(ranks[i]), -crowding[i], *tie(i)))


def _epsilon_net(scaled: np.ndarray, front: list[int]) -> list[int]:
    """Greedy farthest-point order of ``front`` (indices, already in tie order): its first
    point, then each time the one farthest from those picked (the first of equals)."""
    picked = [front[0]]
    rest = front[1:]
    nearest = np.linalg.norm(scaled[rest] - scaled[front[0]], axis=1)
    while rest:
        j = int(np.argmax(nearest))  # argmax takes the first of equals
        chosen = rest.pop(j)
        nearest = np.delete(nearest, j)
        picked.append(chosen)
        if rest:
            distance = np.linalg.norm(scaled[rest] - scaled[chosen], axis=1)
            nearest = np.minimum(nearest, distance)
    return picked


__all__ = ["SELECTIONS", "MOSuccessiveHalving", "promotion_order"]
