"""Hierarchical evolution: a diversified trivial population, 5% tournaments, a growing one."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch
from nasforge.spaces.hierarchical import HierarchicalSpace
from nasforge.strategies import create_strategy
from nasforge.strategies.hierarchical_evolution import HierarchicalEvolution
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import nb201_space as nb201
from nasforge.trial import Trial, TrialStatus


def sep_convs(arch: Arch) -> float:
    """A score the search can climb: separable convolutions in the genotype."""
    return float(arch.key.count("sep_conv_3x3"))


def test_registered_with_defaults() -> None:
    strategy = create_strategy("hierarchical-evolution", HierarchicalSpace(), seed=0)
    assert isinstance(strategy, HierarchicalEvolution)
    assert (strategy.population_size, strategy.tournament_fraction) == (10, 0.05)
    assert (strategy.min_tournament, strategy.init_mutations, strategy.selection) == (
        2,
        1000,
        "tournament",
    )


def test_initial_population_is_the_trivial_genotype_diversified() -> None:
    space = HierarchicalSpace()
    few = HierarchicalEvolution(space, seed=0, population_size=6, init_mutations=3)
    for arch in [few.ask() for _ in range(6)]:
        differ = sum(arch[n] != space.trivial()[n] for n in space.names)
        assert 1 <= differ <= 3  # three mutations change at most three edges
    many = HierarchicalEvolution(space, seed=0, population_size=4)
    archs = [many.ask() for _ in range(4)]
    assert len(set(archs)) == 4
    assert all(sum(a[n] != space.trivial()[n] for n in space.names) > 20 for a in archs)
    again = HierarchicalEvolution(space, seed=0, population_size=4)
    assert [again.ask() for _ in range(4)] == archs  # the seed decides


def test_tournaments_draw_five_percent_and_never_fewer_than_two() -> None:
    strategy = HierarchicalEvolution(nb201(), seed=0, population_size=1)
    sizes = {}
    for n in (1, 2, 30, 41, 100):
        strategy.population_ = [(strategy.space.sample(strategy.rng), 0.0)] * n
        sizes[n] = strategy.tournament_size()
    assert sizes == {1: 1, 2: 2, 30: 2, 41: 3, 100: 5}
    strategy.min_tournament = 1
    assert strategy.tournament_size() == 5


def test_the_population_only_grows_and_the_tournament_winner_is_mutated() -> None:
    space = HierarchicalSpace()
    # a tournament of the whole population always picks the best member
    strategy = HierarchicalEvolution(space, seed=1, population_size=5, min_tournament=1000)
    first = [strategy.ask() for _ in range(5)]
    for number, arch in enumerate(first):
        strategy.tell(done(number, arch, float(number)))
    for number in range(5, 25):
        best = max(strategy.population_, key=lambda m: m[1])[0]
        child = strategy.ask()
        assert sum(child[n] != best[n] for n in space.names) == 1
        strategy.tell(done(number, child, float(number)))
    strategy.tell(Trial(25, first[0], TrialStatus.FAILED, error="oom"))
    assert len(strategy.population_) == 25 and strategy.population_[0][0] == first[0]


def test_random_selection_ignores_the_scores() -> None:
    asked = []
    for scale in (1.0, -1.0):
        strategy = HierarchicalEvolution(
            HierarchicalSpace(), seed=2, population_size=4, selection="random"
        )
        archs = []
        for number in range(20):
            arch = strategy.ask()
            archs.append(arch)
            strategy.tell(done(number, arch, scale * sep_convs(arch)))
        asked.append(archs)
    assert asked[0] == asked[1]


def test_asks_before_tells_keep_coming() -> None:
    strategy = HierarchicalEvolution(HierarchicalSpace(), seed=3, population_size=2)
    archs = [strategy.ask() for _ in range(5)]  # nothing told: initial genotypes
    assert len(set(archs)) == 5
    strategy.tell(done(0, archs[0], 1.0))
    child = strategy.ask()
    assert sum(child[n] != archs[0][n] for n in strategy.space.names) == 1


def test_tournaments_climb_faster_than_random_selection() -> None:
    best = {}
    for selection in ("tournament", "random"):
        found = []
        for seed in range(3):
            strategy = HierarchicalEvolution(
                HierarchicalSpace(), seed=seed, selection=selection, init_mutations=200
            )
            scores = []
            for number in range(200):
                arch = strategy.ask()
                scores.append(sep_convs(arch))
                strategy.tell(done(number, arch, scores[-1]))
            found.append(max(scores))
        best[selection] = float(np.mean(found))
    assert best["tournament"] >= best["random"] + 2  # 12.3 against 10 with these seeds


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"population_size": 0}, "population_size must be an integer >= 1, got 0"),
        ({"tournament_fraction": 0.0}, "tournament_fraction must be a number with 0 < value"),
        ({"tournament_fraction": True}, "tournament_fraction must be a number with 0 < value"),
        ({"min_tournament": 0}, "min_tournament must be an integer >= 1, got 0"),
        ({"init_mutations": -1}, "init_mutations must be an integer >= 0, got -1"),
        ({"selection": "roulette"}, "selection must be one of 'tournament', 'random'"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("hierarchical-evolution", HierarchicalSpace(), seed=0, **options)
    assert "strategy 'hierarchical-evolution'" in str(err.value) and message in str(err.value)
