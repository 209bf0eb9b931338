"""Liu et al. 2018, "Hierarchical Representations for Efficient Architecture Search": asynchronous
tournament evolution over a population that only grows."""

from __future__ import annotations

import math
from typing import Any

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.spaces.hierarchical import HierarchicalSpace
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial

#: how a parent is chosen: the paper's tournament, or uniformly (its random-search comparison)
SELECTIONS = ("tournament", "random")


class HierarchicalEvolution(Strategy):
    """Tournament selection of a fraction of the population, one mutation, nobody dies.

    Liu et al. (ICLR 2018) start from a population of genotypes each made from the *trivial*
    genotype (every motif a chain of identities) by many random mutations (1000), so that the
    population is diverse yet every member is reachable by the one mutation. Then, whenever a
    worker is free, the controller draws 5% of the evaluated population at random, mutates the
    best of them once, and the child, once trained, *joins* the population: nothing is ever
    removed (contrast :class:`~nasforge.strategies.RegularizedEvolution`, where the oldest
    dies). The workers run asynchronously: the controller never waits for a generation.

    Here the first ``population_size`` asks are that initial population (on the
    ``hierarchical`` space, :meth:`~nasforge.spaces.hierarchical.HierarchicalSpace.trivial`
    mutated ``init_mutations`` times; on any other space, ``space.sample``). Every later ask
    is one tournament among the members scored so far and a ``space.mutate`` of the winner;
    every scored tell joins the population, whenever it arrives (several asks may come before
    their tells, as with the paper's workers). An ask with nothing scored yet is one more
    initial genotype.

    ``selection="random"`` draws the parent uniformly instead of by tournament: the paper's
    random-search comparison, whose asks do not depend on the scores (the plain ``random``
    strategy, on the ``hierarchical`` space, samples the distribution the initialisation
    converges to).

    Departures from the paper, and why:

    - the defaults suit tens of trials, not its 200 initial genotypes and 7000 steps: an
      initial population of 10;
    - a tournament has at least ``min_tournament`` (2) members: 5% of a population of tens is
      one member, and a tournament of one is random selection;
    - a child already evaluated is mutated again (up to ``Strategy.novelty_tries`` times): on a
      small or finite space a repeat costs a trial and teaches nothing;
    - failed and pruned trials do not join the population (no comparable score).

    Args:
        space: the space to search (any space: the initial population and the mutation are
            the space's own; the ``hierarchical`` space gives the paper's).
        seed: seed of the generator.
        population_size: genotypes of the initial population (the paper: 200).
        tournament_fraction: the share of the population drawn for each tournament (the
            paper: 0.05), in (0, 1].
        min_tournament: the fewest members a tournament draws (1 for the paper's rule).
        init_mutations: random mutations of the trivial genotype per initial genotype (the
            paper: 1000); used on the ``hierarchical`` space.
        selection: ``"tournament"`` (the method) or ``"random"`` (its random-search
            comparison).
    """

    name = "hierarchical-evolution"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int = 10,
        tournament_fraction: float = 0.05,
        min_tournament: int = 2,
        init_mutations: int = 1000,
        selection: str = "tournament",
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.population_size = positive_int(self.name, "population_size", population_size, 1)
        self.min_tournament = positive_int(self.name, "min_tournament", min_tournament, 1)
        self.init_mutations = positive_int(self.name, "init_mutations", init_mutations, 0)
        if (
            isinstance(tournament_fraction, bool)
            or not isinstance(tournament_fraction, (int, float))
            or not 0.0 < tournament_fraction <= 1.0
        ):
            raise ConfigError(
                f"strategy {self.name!r}: tournament_fraction must be a number with "
                f"0 < value <= 1, got {tournament_fraction!r}"
            )
        self.tournament_fraction = float(tournament_fraction)
        if selection not in SELECTIONS:
            raise ConfigError(
                f"strategy {self.name!r}: selection must be one of "
                f"{', '.join(map(repr, SELECTIONS))}, got {selection!r}"
            )
        self.selection = selection
        self.population_: list[tuple[Arch, float]] = []
        self._initial_asked = 0

    # ---- asking --------------------------------------------------------------------------

    def propose(self) -> Arch:
        if self._initial_asked < self.population_size or not self.population_:
            self._initial_asked += 1
            return self.novel(self._initial)
        parent = self._parent()
        return self.novel(lambda: self.space.mutate(parent, self.rng))

    def _initial(self) -> Arch:
        """A genotype of the initial population: the trivial one diversified by mutations."""
        space = self.space
        if not isinstance(space, HierarchicalSpace):
            return space.sample(self.rng)
        values: dict[str, Any] = dict(space.trivial())
        for _ in range(self.init_mutations):
            space.mutate_values(values, self.rng)
        return space.make(values)

    def tournament_size(self) -> int:
        """How many members the next tournament draws: ``tournament_fraction`` of the
        population (rounded up), at least ``min_tournament``, at most all of it."""
        n = len(self.population_)
        return min(n, max(self.min_tournament, math.ceil(self.tournament_fraction * n)))

    def _parent(self) -> Arch:
        if self.selection == "random":
            return self.population_[int(self.rng.integers(len(self.population_)))][0]
        picks = self.rng.choice(len(self.population_), size=self.tournament_size(), replace=False)
        return max((self.population_[int(i)] for i in picks), key=lambda m: m[1])[0]

    # ---- telling -------------------------------------------------------------------------

    def observe(self, trial: Trial) -> None:
        if trial.score is not None:
            self.population_.append((trial.arch, trial.score))
