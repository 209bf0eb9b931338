"""Genetic CNN, Xie & Yuille 2017, "Genetic CNN"."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial

#: generations bred in one ask, at most, while every child is one already known
_MAX_BREEDS = 10


class GeneticSearch(Strategy):
    """Generations of roulette selection, crossover and mutation over a fixed-length genome.

    Xie & Yuille (ICCV 2017) encode a network as a fixed-length binary string (the connections
    inside each stage) and run a classic genetic algorithm: a random population of ``N``, then,
    each generation, *selection* (Russian roulette: individual ``n`` is drawn, with replacement,
    with probability proportional to ``r_n - r_min``, its fitness minus the worst), *crossover*
    (each pair of neighbours in the new population, with probability ``p_C``, swaps each stage
    with probability ``q_C``) and *mutation* (each individual, with probability ``p_M``, flips
    each bit with probability ``q_M``); then the new individuals are evaluated.

    Here the genome is the arch's values, one gene per dimension of the space (a categorical
    gene for a ``Categorical``, e.g. one operation per edge of a cell, a number for an ``Int``
    or a ``Float``; on the ``genetic-cnn`` space, the paper's own genome: one two-valued gene
    per connection bit, so that a mutation flips bits); a mutated gene takes the dimension's
    own ``mutate`` (another category, a step of an integer, a Gaussian move of a float) and a
    conditional gene that becomes active is sampled. Asks hand out the children not evaluated
    yet; a child equal to an arch already scored keeps that score (the mean, if told more than
    once) and costs no ask, like the paper's unchanged survivors.

    Parallel workers: the next generation is bred once ``quorum`` of the current one has been
    told. An ask made before that, with every child handed out, gets a *filler*: a roulette
    parent of the current generation mutated once (a random arch if nothing has scored yet).
    Every scored tell that is not yet in the current generation joins it (fillers, late results
    of an older generation, archs never asked), so it takes part in the next selection.

    Departures from the paper, and why:

    - genes are categorical or numeric, not bits, so that any space of the library has a genome
      (a binary encoding is the special case of two-valued dimensions, the ``genetic-cnn``
      space's);
    - crossover swaps the space's crossover groups (:meth:`~nasforge.space.Space.crossover_groups`),
      each with probability ``q_C``: whole stages on the ``genetic-cnn`` space, as in the paper,
      whole motifs on ``hierarchical``, single genes on a space without groups (there, an edge
      of a cell plays the stage's role);
    - ``mutation_gene_prob`` defaults to one over the number of genes, about one change per
      mutated individual, which is what the paper's ``q_M = 0.05`` gives its genomes of about
      twenty bits; a fixed 0.05 would leave a six-gene cell nearly always unchanged;
    - an individual already evaluated is not trained again: re-evaluating a survivor, which
      noisy training may warrant, costs a query on a benchmark table and teaches nothing;
    - the ``elite`` best individuals pass unchanged into the next generation (they cost no
      ask: their scores are known). Roulette on ``r_n - r_min`` presses weakly when accuracies
      bunch together (on NAS-Bench-201 most archs score 65-80%), and without elites a
      generation of poor children can lose the best parent; on that benchmark at 100 queries
      the paper's scheme is no better than random search (93.8) and two elites reach 94.0;
    - the default population is 10, not 20: the paper ran tens of generations of 20; at the
      hundred-odd trials a search here affords, 20 leaves only about five generations;
    - generations are bred on ``quorum`` of the results rather than all of them, so that one
      slow or lost trial does not stall parallel workers.

    Args:
        space: the space to search (any dimensions).
        seed: seed of the generator.
        population_size: individuals per generation (``N``; 20 in the paper).
        elite: best distinct individuals copied unchanged into the next generation (0 in the
            paper); ``< population_size``.
        crossover_prob: chance that a pair of neighbours crosses over (``p_C``; 0.2).
        crossover_gene_prob: chance that a crossing pair swaps each crossover group of the
            space (``q_C``; 0.2): a stage of ``genetic-cnn``, else a gene.
        mutation_prob: chance that an individual mutates (``p_M``; 0.8).
        mutation_gene_prob: chance that a mutating individual changes each gene (``q_M``);
            ``None`` for one over the number of dimensions.
        quorum: fraction of a generation that must be told before the next is bred.
    """

    name = "genetic"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int = 10,
        elite: int = 2,
        crossover_prob: float = 0.2,
        crossover_gene_prob: float = 0.2,
        mutation_prob: float = 0.8,
        mutation_gene_prob: float | None = None,
        quorum: float = 0.8,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.population_size = positive_int(self.name, "population_size", population_size, 2)
        self.elite = positive_int(self.name, "elite", elite, 0)
        if self.elite >= self.population_size:
            raise ConfigError(
                f"strategy {self.name!r}: elite ({elite}) must be below population_size "
                f"({population_size})"
            )
        self.crossover_prob = self._fraction("crossover_prob", crossover_prob)
        self.crossover_gene_prob = self._fraction("crossover_gene_prob", crossover_gene_prob)
        self.mutation_prob = self._fraction("mutation_prob", mutation_prob)
        if mutation_gene_prob is None:
            self.mutation_gene_prob = 1.0 / len(space.dims)
        else:
            self.mutation_gene_prob = self._fraction(
                "mutation_gene_prob", mutation_gene_prob, positive=True
            )
        self.quorum = self._fraction("quorum", quorum, positive=True)
        # the units crossover swaps: Genetic CNN's stages on its own space, else single genes
        self._groups = space.crossover_groups()
        self.generation_ = -1
        self.members_: list[Arch] = []
        self.queue_: deque[Arch] = deque()
        self.scores_: dict[Arch, list[float]] = {}
        self.told_: set[Arch] = set()
        self._member_set: set[Arch] = set()

    def _fraction(self, option: str, value: Any, positive: bool = False) -> float:
        low = "0 < " if positive else "0 <= "
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not (0.0 < value <= 1.0 if positive else 0.0 <= value <= 1.0)
        ):
            raise ConfigError(
                f"strategy {self.name!r}: {option} must be a number with {low}value <= 1, "
                f"got {value!r}"
            )
        return float(value)

    # ---- asking --------------------------------------------------------------------------

    def propose(self) -> Arch:
        for _ in range(_MAX_BREEDS):
            while self.queue_:
                arch = self.queue_.popleft()
                if arch not in self.seen_:
                    return arch
            if not self._ready_to_breed() or not self._breed():
                break
        return self._filler()

    def _ready_to_breed(self) -> bool:
        """Whether ``quorum`` of the current generation is told (true before the first one)."""
        if not self.members_:
            return True
        told = sum(1 for arch in self.members_ if arch in self.told_)
        return told >= self.quorum * len(self.members_)

    def _filler(self) -> Arch:
        """A roulette parent of the current generation, mutated once; random if none scored."""
        pool = self._pool()
        if not pool:
            return self.novel(lambda: self.space.sample(self.rng))
        chances = self._roulette(pool)
        return self.novel(
            lambda: self.space.mutate(pool[int(self.rng.choice(len(pool), p=chances))][0], self.rng)
        )

    # ---- breeding ------------------------------------------------------------------------

    def _pool(self) -> list[tuple[Arch, float]]:
        """The scored members of the current generation, with their mean scores."""
        return [
            (arch, sum(self.scores_[arch]) / len(self.scores_[arch]))
            for arch in self.members_
            if self.scores_.get(arch)
        ]

    @staticmethod
    def _roulette(pool: list[tuple[Arch, float]]) -> np.ndarray | None:
        """Russian roulette: chances proportional to ``score - min score`` (``None``: uniform)."""
        scores = np.array([score for _, score in pool])
        weights = scores - scores.min()
        total = weights.sum()
        if not np.isfinite(total) or total <= 0.0:
            return None
        return weights / total

    def _breed(self) -> bool:
        """Replace the current generation by the next one and queue its unknown children.

        Returns whether breeding again might give new children: not after a random generation
        that found nothing new (a used-up space), where a further try would only cost time.
        """
        pool = self._pool()
        if pool:
            ranked = sorted(range(len(pool)), key=lambda i: -pool[i][1])
            elites = list(dict.fromkeys(pool[i][0] for i in ranked))[: self.elite]
            picks = self.rng.choice(
                len(pool), size=self.population_size - len(elites), p=self._roulette(pool)
            )
            genomes = [dict(pool[int(i)][0]) for i in picks]
            self._crossover(genomes)
            children = elites + [self._mutate(genome) for genome in genomes]
        else:  # the first generation, or one where nothing scored: start afresh
            children = [
                self.novel(lambda: self.space.sample(self.rng)) for _ in range(self.population_size)
            ]
        self.generation_ += 1
        self.members_ = children
        self._member_set = set(children)
        self.queue_ = deque(dict.fromkeys(a for a in children if a not in self.seen_))
        return bool(pool or self.queue_)

    def _crossover(self, genomes: list[dict[str, Any]]) -> None:
        for first, second in zip(genomes[0::2], genomes[1::2], strict=False):  # odd one out
            if self.rng.random() >= self.crossover_prob:
                continue
            for group in self._groups:
                if self.rng.random() < self.crossover_gene_prob:
                    for name in group:
                        first[name], second[name] = second[name], first[name]

    def _mutate(self, genome: dict[str, Any]) -> Arch:
        if self.rng.random() < self.mutation_prob:
            for dim in self.space.dims:
                if self.rng.random() < self.mutation_gene_prob and genome[dim.name] is not None:
                    genome[dim.name] = dim.mutate(genome[dim.name], self.rng)
        return self._arch(genome)

    def _arch(self, genome: dict[str, Any]) -> Arch:
        """The arch of a genome: inactive genes cleared, newly active ones sampled."""
        values: dict[str, Any] = {}
        for dim in self.space.dims:
            if not dim.is_active(values):
                values[dim.name] = None
            elif genome.get(dim.name) is None:
                values[dim.name] = dim.sample(self.rng)
            else:
                values[dim.name] = genome[dim.name]
        return self.space.make(values)

    # ---- telling -------------------------------------------------------------------------

    def observe(self, trial: Trial) -> None:
        self.told_.add(trial.arch)
        if trial.score is None:
            return
        self.scores_.setdefault(trial.arch, []).append(trial.score)
        if trial.arch not in self._member_set:
            self.members_.append(trial.arch)
            self._member_set.add(trial.arch)
