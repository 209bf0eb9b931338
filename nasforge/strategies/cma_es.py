"""CMA-ES for numeric hyperparameters, Loshchilov & Hutter 2016, "CMA-ES for Hyperparameter
Optimization of Deep Neural Networks", through the ``cmaes`` package."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from cmaes import CMA

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.space import Arch, Categorical, Float, Int, Space
from nasforge.space.dims import Dimension
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial, TrialStatus

#: half-width of an integer's cell, a little under 0.5 so rounding never leaves the range
_HALF = 0.4999


class CMAES(Strategy):
    """Covariance matrix adaptation evolution strategy over the numeric dimensions of a space.

    Every ``Int`` and ``Float`` dimension is one coordinate in ``[0, 1]`` (linear, or linear in
    the logarithm for a log-scale dimension; an ``Int`` covers ``[low - 0.5, high + 0.5]`` and is
    rounded). Each ``ask`` samples a point from CMA-ES's Gaussian (``cmaes.CMA``, bounded to the
    unit cube) and maps it to an arch. CMA-ES maximises the score by minimising ``-score``, and
    updates its mean, step size and covariance once a generation of ``population_size`` results
    is in.

    - Parallel asks: every ask belongs to the current generation, also past ``population_size``
      of them. The first ``population_size`` results of the generation are told to CMA-ES; later
      results of an older generation only join ``history_`` (as Optuna's ``CmaEsSampler`` does).
    - Failed and pruned trials are told as worse than every result of their generation: a pruned
      one ranks just below the worst complete one, a failed one below that. CMA-ES only uses the
      ranking of a generation, so no arbitrary constant enters the update.
    - Duplicates and archs never asked are recorded but not told to CMA-ES: its update assumes
      the points were drawn from its current distribution.
    - When ``cmaes`` reports convergence (``should_stop``) the search restarts from a random
      point with twice the population (IPOP-CMA-ES, Auger & Hansen 2005).

    Departures from the paper, and why: the paper optimises numeric hyperparameters only. Here
    ``Categorical`` dimensions (and the numeric dimensions they switch on: a conditional ``Int``
    or ``Float`` keeps its coordinate, ignored while inactive) are drawn uniformly at random at
    each ask, like the independent sampler of Optuna's ``CmaEsSampler``, so a mixed space can be
    searched; a space without an ``Int`` or ``Float`` dimension (a pure cell) is refused, since
    CMA-ES would have nothing to do. Restarts (IPOP) are not in the paper; they keep a long search
    from collapsing onto one point.

    Args:
        space: the space to search; needs at least one ``Int`` or ``Float`` dimension.
        seed: seed of the generator and of CMA-ES.
        population_size: points per generation (lambda); ``None``: ``4 + floor(3 ln n)`` for
            ``n`` numeric dimensions (Hansen's default).
        sigma0: initial step size in the unit cube (0.25: a quarter of each range).
    """

    name = "cmaes"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int | None = None,
        sigma0: float = 0.25,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.population_size = (
            None
            if population_size is None
            else positive_int(self.name, "population_size", population_size, 2)
        )
        if (
            isinstance(sigma0, bool)
            or not isinstance(sigma0, (int, float))
            or not 0.0 < sigma0 <= 1.0
        ):
            raise ConfigError(
                f"strategy {self.name!r}: sigma0 must be a number in (0, 1], got {sigma0!r}"
            )
        self.sigma0 = float(sigma0)
        self.numeric_: list[Dimension] = [d for d in space.dims if isinstance(d, (Int, Float))]
        self.optimizer_: CMA | None = None
        self.generation_ = 0
        self.restarts_ = 0
        # results of the current generation, (point, status rank, loss)
        self._results: list[tuple[np.ndarray, int, float]] = []
        # per arch, the asked points not yet told, oldest first: (generation, point)
        self._open: dict[Arch, deque[tuple[int, np.ndarray]]] = {}

    def check_space(self, space: Space) -> None:
        for dim in space.dims:
            if not isinstance(dim, (Categorical, Int, Float)):
                raise ConfigError(
                    f"strategy {self.name!r} cannot search dimension {dim.name!r} "
                    f"({type(dim).__name__}); it supports Int and Float dimensions "
                    "(Categorical ones are drawn at random)"
                )
        if not any(isinstance(d, (Int, Float)) for d in space.dims):
            dim = space.dims[0]
            raise ConfigError(
                f"strategy {self.name!r} cannot search dimension {dim.name!r} "
                f"({type(dim).__name__}): CMA-ES supports Int and Float dimensions and space "
                f"{space.name!r} has none; use e.g. 'regularized-evolution' or 'optuna:tpe'"
            )

    # ---- CMA-ES --------------------------------------------------------------------------

    def _cma(self) -> CMA:
        if self.optimizer_ is None:
            n = len(self.numeric_)
            popsize = self.population_size or 4 + math.floor(3 * math.log(n))
            # the first run starts at the centre, a restart at a random point (as IPOP does)
            mean = np.full(n, 0.5) if not self.restarts_ else self.rng.uniform(0.0, 1.0, n)
            self.optimizer_ = CMA(
                mean=mean,
                sigma=self.sigma0,
                bounds=np.tile([0.0, 1.0], (n, 1)),
                seed=self.seed + 1000 * self.restarts_,
                population_size=popsize * 2**self.restarts_,
            )
        return self.optimizer_

    def propose(self) -> Arch:
        point = self._cma().ask()
        values: dict[str, Any] = {}
        coords = dict(zip((d.name for d in self.numeric_), point, strict=True))
        for dim in self.space.dims:
            if not dim.is_active(values):
                values[dim.name] = None
            elif dim.name in coords:
                values[dim.name] = _from_unit(dim, float(coords[dim.name]))
            else:
                values[dim.name] = dim.sample(self.rng)
        arch = self.space.make(values)
        self._open.setdefault(arch, deque()).append((self.generation_, point))
        return arch

    def observe(self, trial: Trial) -> None:
        queue = self._open.get(trial.arch)
        if not queue:
            return  # never asked, or told more often than asked
        generation, point = queue.popleft()
        if not queue:
            del self._open[trial.arch]
        if generation != self.generation_:
            return
        score = trial.score
        if trial.status is TrialStatus.COMPLETE and score is not None and math.isfinite(score):
            self._results.append((point, 0, -float(score)))
        else:
            self._results.append((point, 1 if trial.status is TrialStatus.PRUNED else 2, 0.0))
        cma = self._cma()
        if len(self._results) == cma.population_size:
            cma.tell(_losses(self._results))
            self._results = []
            self.generation_ += 1
            if cma.should_stop():
                self.restarts_ += 1
                self.optimizer_ = None


def _losses(results: list[tuple[np.ndarray, int, float]]) -> list[tuple[np.ndarray, float]]:
    """What CMA-ES is told: ``-score`` for complete trials; pruned ones just worse than the worst
    complete one, failed ones worse still (only the ranking matters to CMA-ES)."""
    worst = max((loss for _, rank, loss in results if rank == 0), default=0.0)
    return [(point, loss if rank == 0 else worst + rank) for point, rank, loss in results]


def _from_unit(dim: Dimension, u: float) -> Any:
    """The value of ``dim`` at ``u`` in ``[0, 1]`` (log-linear on a log scale)."""
    u = min(max(u, 0.0), 1.0)
    low, high = float(dim.low), float(dim.high)  # type: ignore[attr-defined]
    if isinstance(dim, Int):
        low, high = low - _HALF, high + _HALF
    log = dim.log  # type: ignore[attr-defined]
    if log:
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        value = low + u * (high - low)
    if isinstance(dim, Int):
        return int(min(max(round(value), dim.low), dim.high))
    return dim.check(min(max(value, low), high))


__all__ = ["CMAES"]
