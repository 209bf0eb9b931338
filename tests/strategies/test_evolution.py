"""Regularized (aging) evolution: random start, tournament of the sample, the oldest dies."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch, CellSpace, Float, Space
from nasforge.strategies import RandomSearch, RegularizedEvolution, create_strategy
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import nb201_space as nb201
from nasforge.trial import Trial, TrialStatus


def edges_apart(space: CellSpace, a: Arch, b: Arch) -> int:
    return sum(a[e] != b[e] for e in space.edge_names)


def uniform(space: CellSpace, op: str) -> Arch:
    return space.make({e: op for e in space.edge_names})


def test_registered_with_paper_defaults() -> None:
    strategy = create_strategy("regularized-evolution", nb201(), seed=0)
    assert isinstance(strategy, RegularizedEvolution)
    assert (strategy.population_size, strategy.sample_size) == (20, 5)


def test_first_population_size_asks_are_random_whatever_the_scores() -> None:
    space = nb201()
    runs = []
    for sign in (1.0, -1.0):
        strategy = RegularizedEvolution(space, seed=4, population_size=10, sample_size=3)
        keys = []
        for number in range(14):
            arch = strategy.ask()
            keys.append(arch.key)
            strategy.tell(done(number, arch, sign * number))
        runs.append(keys)
    random = RandomSearch(space, seed=4)
    assert runs[0][:10] == runs[1][:10] == [random.ask().key for _ in range(10)]
    assert runs[0][10:] != runs[1][10:]  # from then on the scores steer the search


def test_children_are_one_mutation_from_a_member() -> None:
    space = nb201()
    strategy = RegularizedEvolution(space, seed=1, population_size=6, sample_size=2)
    for number in range(60):
        arch = strategy.ask()
        if number >= 6:
            members = [member for member, _ in strategy.population_]
            assert min(edges_apart(space, arch, m) for m in members) == 1
        strategy.tell(done(number, arch, float(np.sin(number))))


def test_population_never_exceeds_its_size() -> None:
    strategy = RegularizedEvolution(nb201(), seed=2, population_size=5, sample_size=2)
    for number in range(40):
        arch = strategy.ask()
        strategy.tell(done(number, arch, float(number % 7)))
        assert len(strategy.population_) == min(number + 1, 5)


def test_the_oldest_dies_not_the_worst() -> None:
    space = nb201()
    strategy = RegularizedEvolution(space, seed=0, population_size=3, sample_size=2)
    archs = [strategy.ask() for _ in range(4)]
    for number, (arch, score) in enumerate(zip(archs, [10.0, 1.0, 5.0, 7.0], strict=True)):
        strategy.tell(done(number, arch, score))
    assert list(strategy.population_) == [(archs[1], 1.0), (archs[2], 5.0), (archs[3], 7.0)]


def test_failed_and_pruned_trials_do_not_join() -> None:
    space = nb201()
    strategy = RegularizedEvolution(space, seed=0, population_size=3, sample_size=2)
    a, b, c = (strategy.ask() for _ in range(3))
    strategy.tell(done(0, a, 1.0))
    strategy.tell(Trial(1, b, TrialStatus.FAILED, error="oom"))
    strategy.tell(Trial(2, c, TrialStatus.PRUNED, intermediate={1: {"acc": 0.3}}))
    assert list(strategy.population_) == [(a, 1.0)] and len(strategy.history_) == 3


def test_random_until_something_scores() -> None:
    space = nb201()
    strategy = RegularizedEvolution(space, seed=6, population_size=2, sample_size=1)
    random = RandomSearch(space, seed=6)
    for number in range(8):
        arch = strategy.ask()
        assert arch == random.ask()
        strategy.tell(Trial(number, arch, TrialStatus.FAILED))


def test_tournament_takes_the_best_of_the_whole_population() -> None:
    space = nb201()
    strategy = RegularizedEvolution(space, seed=3, population_size=4, sample_size=4)
    for _ in range(4):
        strategy.ask()  # the random start
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
    for number, (op, score) in enumerate(zip(ops, [0.2, 0.9, 0.5, 0.1], strict=True)):
        strategy.tell(done(number, uniform(space, op), score))  # never asked: accepted
    best = uniform(space, "skip_connect")
    for _ in range(20):
        assert edges_apart(space, strategy.ask(), best) == 1


def test_tournament_picks_the_best_of_its_sample() -> None:
    # Members far apart (every dim 0, 0.33, 0.66 or 1) so that a child, one dim moved a little,
    # names its parent; continuous dims so that the novelty retries never bias the tournament.
    # With 2 drawn of 4, the best member is the parent with chance 3/6, the second 2/6, the
    # third 1/6 and the worst never.
    space = Space([Float(f"x{i}", 0.0, 1.0) for i in range(4)])
    strategy = RegularizedEvolution(space, seed=8, population_size=4, sample_size=2)
    for _ in range(4):
        strategy.ask()
    score_of = {0.0: 3.0, 0.33: 1.0, 0.66: 4.0, 1.0: 2.0}
    for number, (level, score) in enumerate(score_of.items()):
        strategy.tell(done(number, space.make({d: level for d in space.names}), score))
    parents: Counter[float] = Counter()
    for _ in range(1200):
        child = np.array(list(strategy.ask().values()))
        parents[score_of[min(score_of, key=lambda v: np.abs(child - v).sum())]] += 1
    assert parents[1.0] == 0
    assert abs(parents[4.0] / 1200 - 1 / 2) < 0.05
    assert abs(parents[3.0] / 1200 - 1 / 3) < 0.05
    assert abs(parents[2.0] / 1200 - 1 / 6) < 0.04


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"population_size": 5, "sample_size": 6},
            "sample_size (6) must not exceed population_size",
        ),
        ({"population_size": -1}, "population_size must be an integer >= 2, got -1"),
        (
            {"population_size": 1, "sample_size": 1},
            "population_size must be an integer >= 2, got 1",
        ),
        ({"population_size": 20.0}, "population_size must be an integer >= 2, got 20.0"),
        ({"sample_size": 0}, "sample_size must be an integer >= 1, got 0"),
        ({"sample_size": -3}, "sample_size must be an integer >= 1, got -3"),
        ({"sample_size": 2.5}, "sample_size must be an integer >= 1, got 2.5"),
        ({"sample_size": "5"}, "sample_size must be an integer >= 1, got '5'"),
        ({"sample_size": True}, "sample_size must be an integer >= 1, got True"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("regularized-evolution", nb201(), seed=0, **options)
    assert "strategy 'regularized-evolution'" in str(err.value) and message in str(err.value)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"strategy 'regularized-evolution': .*tournament"):
        create_strategy("regularized-evolution", nb201(), seed=0, tournament=3)
