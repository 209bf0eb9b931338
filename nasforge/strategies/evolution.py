"""Regularized (aging) evolution, Real et al. 2019, "Regularized Evolution for Image Classifier
Architecture Search"."""

from __future__ import annotations

from collections import deque

from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.base import Strategy, tournament_sizes
from nasforge.trial import Trial


class RegularizedEvolution(Strategy):
    """Tournament selection with aging: the oldest member dies, not the worst.

    The first ``population_size`` asks are random. After that, each ask draws ``sample_size``
    members of the population at random (without replacement), takes the one with the best score
    and returns a copy with one dimension mutated. Each finished trial joins the population and
    the oldest member leaves, so a lucky architecture cannot stay forever (the "regularization"
    of the paper).

    Departures from the paper, and why:

    - a child already evaluated is mutated again (up to ``Strategy.novelty_tries`` times): on a
      finite space such as NAS-Bench-201 a repeat costs a query and teaches nothing;
    - failed and pruned trials do not join the population: they have no comparable score.

    Args:
        space: the space to search.
        seed: seed of the generator.
        population_size: members kept alive (P in the paper).
        sample_size: members drawn per tournament (S in the paper); ``<= population_size``.
    """

    name = "regularized-evolution"
    reads_dimensions = False

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int = 20,
        sample_size: int = 5,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.population_size, self.sample_size = tournament_sizes(
            self.name, population_size, sample_size
        )
        self.population_: deque[tuple[Arch, float]] = deque()
        self._random_asked = 0

    def propose(self) -> Arch:
        if self._random_asked < self.population_size or not self.population_:
            self._random_asked += 1
            return self.novel(lambda: self.space.sample(self.rng))
        return self.novel(self._child)

    def _child(self) -> Arch:
        members = list(self.population_)
        k = min(self.sample_size, len(members))
        picks = self.rng.choice(len(members), size=k, replace=False)
        parent = max((members[i] for i in picks), key=lambda m: m[1])[0]
        return self.child_of(parent, self.space.mutate(parent, self.rng))

    def observe(self, trial: Trial) -> None:
        if trial.score is None:
            return
        self.population_.append((trial.arch, trial.score))
        if len(self.population_) > self.population_size:
            self.population_.popleft()
