"""Large-Scale Evolution, Real et al. 2017, "Large-Scale Evolution of Image Classifiers"."""

from __future__ import annotations

from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial


class LargeScaleEvolution(Strategy):
    """Tournaments of two without aging: the worse of the pair dies, the better has a child.

    Real et al. (ICML 2017) evolve a population of image classifiers with many asynchronous
    workers. Each worker picks two individuals at random; the worse is removed from the
    population at once (it is *killed*), the better is copied and the copy mutated once. The
    child is trained and put back into the population, where it may become a parent itself.
    Nothing dies of old age (contrast :class:`~nasforge.strategies.RegularizedEvolution`, the
    same authors' 2019 method), so the best individual never leaves: it wins every tournament.

    Here the first ``population_size`` asks are random architectures. After that, each ask runs
    one tournament among the members alive at that moment, removes the loser and returns a
    mutated copy of the winner (``space.mutate``: one dimension changed); each finished trial
    with a score joins the population (an arch never asked too, and a repeat once per tell).
    Asks made before their tells (parallel workers) each kill a member, as the paper's workers
    do; with fewer than two members alive an ask mutates the one member left, or samples at
    random when none is.

    Departures from the paper, and why:

    - the initial population is the space's samples rather than copies of one trivial model:
      a general space has no "simplest" architecture, and on a benchmark table identical
      individuals waste queries (the ``large-scale-evolution`` space with ``start: empty``
      samples the paper's trivial model);
    - a child already evaluated is mutated again (up to ``Strategy.novelty_tries`` times): on
      a finite space a repeat costs a query and teaches nothing;
    - mutations are the space's own (``space.mutate``); the paper's growing networks and
      mutation list are the ``large-scale-evolution`` space, and its weight inheritance is the
      training evaluator's ``inherit`` option: each child names its parent's trial
      (:meth:`~nasforge.strategies.base.Strategy.parent_of`), whose weights it starts from;
      the "identity" mutation (retrain as is) is left out for the reason above;
    - failed and pruned trials do not join the population (no comparable score); the member
      their tournament killed at the ask stays dead, so failures shrink the population, down
      to the one-member and random fallbacks above;
    - the default population is 10, not 1,000: searches here run tens to hundreds of trials,
      and tournaments of two press weakly, so a small population is what lets them converge
      (on NAS-Bench-201, 5 to 15 all do about equally well; 50 is no better than random
      search at 100 queries).

    Args:
        space: the space to search (any dimensions: the space mutates them).
        seed: seed of the generator.
        population_size: size of the random initial population; tournaments then keep it
            there (one death per ask, one birth per scored tell).
    """

    name = "large-scale-evolution"
    reads_dimensions = False

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int = 10,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.population_size = positive_int(self.name, "population_size", population_size, 2)
        self.population_: list[tuple[Arch, float]] = []
        self.killed_: list[Arch] = []
        self._random_asked = 0

    def propose(self) -> Arch:
        if self._random_asked < self.population_size or not self.population_:
            self._random_asked += 1
            return self.novel(lambda: self.space.sample(self.rng))
        # with one member left (parallel asks, failures) there is no pair to compare
        parent = self.population_[0][0] if len(self.population_) == 1 else self._tournament()
        return self.novel(lambda: self.child_of(parent, self.space.mutate(parent, self.rng)))

    def _tournament(self) -> Arch:
        """Draw two members; kill the worse (the second drawn on a tie); return the better."""
        first, second = (int(i) for i in self.rng.choice(len(self.population_), 2, replace=False))
        if self.population_[second][1] > self.population_[first][1]:
            first, second = second, first
        winner = self.population_[first][0]
        self.killed_.append(self.population_.pop(second)[0])
        return winner

    def observe(self, trial: Trial) -> None:
        if trial.score is not None:
            self.population_.append((trial.arch, trial.score))
