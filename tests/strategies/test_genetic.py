"""Genetic CNN: generations of roulette selection, crossover and mutation, bred on a quorum."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Categorical, Float, Int, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.genetic import GeneticSearch
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import conv_count
from nasforge.testing.strategies import nb201_space as nb201
from nasforge.trial import Trial, TrialStatus


def test_registered_with_defaults() -> None:
    strategy = create_strategy("genetic", nb201(), seed=0)
    assert isinstance(strategy, GeneticSearch)
    assert (strategy.population_size, strategy.elite) == (10, 2)
    assert (strategy.crossover_prob, strategy.crossover_gene_prob) == (0.2, 0.2)
    assert strategy.mutation_prob == 0.8 and strategy.mutation_gene_prob == pytest.approx(1 / 6)
    assert strategy.quorum == 0.8


def test_first_generation_is_random_and_distinct() -> None:
    strategy = GeneticSearch(nb201(), seed=3, population_size=12)
    archs = [strategy.ask() for _ in range(12)]
    assert len(set(archs)) == 12 and strategy.generation_ == 0
    assert strategy.members_ == archs


def test_roulette_chances_follow_score_minus_the_worst() -> None:
    # Four told members scoring 10, 11, 12, 13: roulette weights 0, 1, 2, 3. Without crossover
    # and elites, each child is a parent moved a little in about one dim, so it names its parent.
    space = Space([Float(f"x{i}", 0.0, 1.0) for i in range(4)])
    strategy = GeneticSearch(
        space,
        seed=0,
        population_size=1200,
        elite=0,
        crossover_prob=0.0,
        mutation_prob=1.0,
        mutation_gene_prob=0.25,
    )
    score_of = {0.0: 12.0, 0.33: 10.0, 0.66: 13.0, 1.0: 11.0}
    for number, (level, score) in enumerate(score_of.items()):
        strategy.tell(done(number, space.make({d: level for d in space.names}), score))
    strategy.ask()
    assert strategy.generation_ == 0 and len(strategy.members_) == 1200
    parents: Counter[float] = Counter()
    for child in strategy.members_:
        values = np.array(list(child.values()))
        parents[score_of[min(score_of, key=lambda v: np.abs(values - v).sum())]] += 1
    assert parents[10.0] == 0
    for score, chance in ((13.0, 3 / 6), (12.0, 2 / 6), (11.0, 1 / 6)):
        assert abs(parents[score] / 1200 - chance) < 0.04


def test_elites_pass_unchanged_and_are_not_asked_again() -> None:
    space = nb201()
    strategy = GeneticSearch(space, seed=1, population_size=8, elite=2)
    first = [strategy.ask() for _ in range(8)]
    for number, arch in enumerate(first):
        strategy.tell(done(number, arch, float(number)))
    child = strategy.ask()
    assert strategy.generation_ == 1
    assert strategy.members_[:2] == [first[7], first[6]]
    assert child not in first and child in strategy.members_[2:]
    asked = [child] + [strategy.ask() for _ in range(len(strategy.queue_))]
    assert not set(asked) & set(first)  # known children (the elites, copies) cost no ask


def test_next_generation_waits_for_the_quorum_and_fillers_keep_workers_busy() -> None:
    space = nb201()
    strategy = GeneticSearch(space, seed=2, population_size=10, quorum=0.8)
    first = [strategy.ask() for _ in range(10)]
    for number, arch in enumerate(first[:7]):
        strategy.tell(done(number, arch, float(number)))
    fillers = [strategy.ask() for _ in range(3)]
    assert strategy.generation_ == 0
    # a filler is a scored member of the generation with one dimension changed
    for filler in fillers:
        assert min(sum(filler[e] != m[e] for e in space.edge_names) for m in first[:7]) == 1
    strategy.tell(done(7, first[7], 7.0))  # 8 of 10 told
    strategy.ask()
    assert strategy.generation_ == 1


def test_every_scored_tell_joins_the_generation() -> None:
    space = nb201()
    strategy = GeneticSearch(space, seed=0, population_size=4, quorum=1.0)
    first = [strategy.ask() for _ in range(4)]
    stranger = space.sample(np.random.default_rng(99))
    strategy.tell(done(0, stranger, 9.0))
    strategy.tell(done(1, stranger, 7.0))
    strategy.tell(Trial(2, first[0], TrialStatus.FAILED, error="oom"))
    assert strategy.members_ == [*first, stranger]
    assert strategy.scores_[stranger] == [9.0, 7.0] and first[0] not in strategy.scores_


def test_a_generation_of_failures_is_replaced_by_a_random_one() -> None:
    strategy = GeneticSearch(nb201(), seed=4, population_size=5, elite=1)
    first = [strategy.ask() for _ in range(5)]
    for number, arch in enumerate(first):
        strategy.tell(Trial(number, arch, TrialStatus.PRUNED))
    second = [strategy.ask() for _ in range(5)]
    assert strategy.generation_ == 1 and not set(first) & set(second)


def test_children_inherit_genes_of_the_generation() -> None:
    # Without mutation, every gene of every child comes from the same gene of some member.
    space = Space([Categorical(f"g{i}", list(range(10))) for i in range(8)])
    strategy = GeneticSearch(
        space, seed=5, population_size=30, elite=0, crossover_prob=1.0, mutation_prob=0.0
    )
    first = [strategy.ask() for _ in range(30)]
    for number, arch in enumerate(first):
        strategy.tell(done(number, arch, float(number)))
    strategy.ask()
    genes = {name: {arch[name] for arch in first} for name in space.names}
    assert all(child[n] in genes[n] for child in strategy.members_ for n in space.names)
    assert set(strategy.members_) - set(first)  # crossover made new combinations


def test_mixed_space_genes_stay_valid() -> None:
    space = Space(
        [
            Categorical("optimizer", ["sgd", "adam"]),
            Int("layers", 1, 8),
            Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
        ]
    )
    strategy = GeneticSearch(space, seed=0, population_size=6, crossover_prob=1.0)
    for number in range(60):
        arch = strategy.ask()
        assert space.validate(arch) == arch
        assert (arch["momentum"] is None) == (arch["optimizer"] == "adam")
        strategy.tell(done(number, arch, float(arch["layers"])))


def test_learns_a_simple_objective() -> None:
    best = []
    for seed in range(3):
        strategy = GeneticSearch(nb201(), seed=seed)
        counts = []
        for number in range(150):
            arch = strategy.ask()
            counts.append(conv_count(arch))
            strategy.tell(done(number, arch, float(conv_count(arch))))
        best.append(max(counts))
    assert min(best) >= 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"population_size": 1}, "population_size must be an integer >= 2, got 1"),
        ({"elite": -1}, "elite must be an integer >= 0, got -1"),
        ({"elite": 10}, "elite (10) must be below population_size (10)"),
        ({"crossover_prob": 1.5}, "crossover_prob must be a number with 0 <= value <= 1, got 1.5"),
        ({"crossover_gene_prob": "x"}, "crossover_gene_prob must be a number with 0 <= value"),
        ({"mutation_prob": -0.1}, "mutation_prob must be a number with 0 <= value <= 1"),
        ({"mutation_gene_prob": 0.0}, "mutation_gene_prob must be a number with 0 < value <= 1"),
        ({"quorum": 0}, "quorum must be a number with 0 < value <= 1, got 0"),
        ({"quorum": True}, "quorum must be a number with 0 < value <= 1, got True"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("genetic", nb201(), seed=0, **options)
    assert "strategy 'genetic'" in str(err.value) and message in str(err.value)
