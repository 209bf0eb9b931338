"""Large-Scale Evolution: tournaments of two, the loser dies at once, no aging."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch, CellSpace, Float, Space
from nasforge.strategies import RandomSearch, create_strategy
from nasforge.strategies.large_scale_evolution import LargeScaleEvolution
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import nb201_space as nb201
from nasforge.trial import Trial, TrialStatus


def edges_apart(space: CellSpace, a: Arch, b: Arch) -> int:
    return sum(a[e] != b[e] for e in space.edge_names)


def test_registered_with_defaults() -> None:
    strategy = create_strategy("large-scale-evolution", nb201(), seed=0)
    assert isinstance(strategy, LargeScaleEvolution)
    assert strategy.population_size == 10


def test_first_population_size_asks_are_random_whatever_the_scores() -> None:
    space = nb201()
    runs = []
    for sign in (1.0, -1.0):
        strategy = LargeScaleEvolution(space, seed=4, population_size=8)
        keys = []
        for number in range(12):
            arch = strategy.ask()
            keys.append(arch.key)
            strategy.tell(done(number, arch, sign * number))
        runs.append(keys)
    random = RandomSearch(space, seed=4)
    assert runs[0][:8] == runs[1][:8] == [random.ask().key for _ in range(8)]
    assert runs[0][8:] != runs[1][8:]


def test_each_ask_kills_the_worse_of_a_pair_and_mutates_the_better() -> None:
    space = nb201()
    strategy = LargeScaleEvolution(space, seed=2, population_size=6)
    score_of: dict[Arch, float] = {}
    for number in range(6):
        arch = strategy.ask()
        score_of[arch] = float(np.cos(3.0 * number))
        strategy.tell(done(number, arch, score_of[arch]))
    for number in range(6, 80):
        before = list(strategy.population_)
        child = strategy.ask()
        after = list(strategy.population_)
        assert len(after) == len(before) - 1  # killed at once, before the child is told
        (killed,) = [m for m in before if m not in after]
        assert strategy.killed_[-1] == killed[0]
        # the parent, one edge away, survived and is at least as good as the one killed
        parents = [m for m in after if edges_apart(space, child, m[0]) == 1]
        assert parents and max(score for _, score in parents) >= killed[1]
        score_of[child] = float(np.cos(3.0 * number))
        strategy.tell(done(number, child, score_of[child]))
        assert len(strategy.population_) == 6


def test_no_aging_the_best_never_dies() -> None:
    space = nb201()
    strategy = LargeScaleEvolution(space, seed=5, population_size=5)
    first = [strategy.ask() for _ in range(5)]
    for number, arch in enumerate(first):
        strategy.tell(done(number, arch, 100.0 if number == 0 else 0.0))
    for number in range(5, 200):
        strategy.tell(done(number, strategy.ask(), float(number % 11)))
    # regularized evolution would have removed it after 5 more tells; here it wins every pair
    assert first[0] in [arch for arch, _ in strategy.population_]
    assert first[0] not in strategy.killed_ and len(strategy.killed_) == 195


def test_tournament_of_two_odds() -> None:
    # With 4 members, each of the 6 pairs is equally likely: the best is the parent with chance
    # 3/6, the second 2/6, the third 1/6, the worst never; the killed one mirrors that. Members
    # far apart in continuous dims so that a child, one dim moved a little, names its parent.
    space = Space([Float(f"x{i}", 0.0, 1.0) for i in range(4)])
    score_of = {0.0: 3.0, 0.33: 1.0, 0.66: 4.0, 1.0: 2.0}
    parents: Counter[float] = Counter()
    killed: Counter[float] = Counter()
    runs = 1200
    for seed in range(runs):
        strategy = LargeScaleEvolution(space, seed=seed, population_size=4)
        for _ in range(4):
            strategy.ask()
        for number, (level, score) in enumerate(score_of.items()):
            strategy.tell(done(number, space.make({d: level for d in space.names}), score))
        child = np.array(list(strategy.ask().values()))
        parents[score_of[min(score_of, key=lambda v: np.abs(child - v).sum())]] += 1
        killed[score_of[strategy.killed_[0]["x0"]]] += 1
    assert parents[1.0] == 0 and killed[4.0] == 0
    for rank, chance in ((4.0, 1 / 2), (3.0, 1 / 3), (2.0, 1 / 6)):
        assert abs(parents[rank] / runs - chance) < 0.05
    for rank, chance in ((1.0, 1 / 2), (2.0, 1 / 3), (3.0, 1 / 6)):
        assert abs(killed[rank] / runs - chance) < 0.05


def test_failed_children_shrink_the_population() -> None:
    space = nb201()
    strategy = LargeScaleEvolution(space, seed=3, population_size=3)
    for number in range(3):
        arch = strategy.ask()
        strategy.tell(done(number, arch, float(number)))
    for number in range(3, 5):  # two failed children: two members killed, none born
        strategy.tell(Trial(number, strategy.ask(), TrialStatus.FAILED, error="oom"))
    (last,) = strategy.population_
    assert last[1] == 2.0  # the best survived both tournaments
    child = strategy.ask()  # one member: mutated without a tournament
    assert edges_apart(space, child, last[0]) == 1 and len(strategy.population_) == 1
    strategy.tell(Trial(5, child, TrialStatus.PRUNED))
    assert strategy.population_ == [last]


def test_random_until_something_scores() -> None:
    space = nb201()
    strategy = LargeScaleEvolution(space, seed=6, population_size=2)
    random = RandomSearch(space, seed=6)
    for number in range(8):
        arch = strategy.ask()
        assert arch == random.ask()
        strategy.tell(Trial(number, arch, TrialStatus.FAILED))


def test_parallel_asks_kill_down_to_one_member() -> None:
    space = nb201()
    strategy = LargeScaleEvolution(space, seed=1, population_size=4)
    for number in range(4):
        strategy.tell(done(number, strategy.ask(), float(number)))
    children = [strategy.ask() for _ in range(6)]
    assert len(strategy.killed_) == 3 and strategy.population_[0][1] == 3.0
    assert all(edges_apart(space, c, strategy.population_[0][0]) == 1 for c in children[3:])
    for number, child in enumerate(children, start=4):
        strategy.tell(done(number, child, 0.0))
    assert len(strategy.population_) == 7


def test_never_asked_and_repeated_tells_join_the_population() -> None:
    space = nb201()
    strategy = LargeScaleEvolution(space, seed=0, population_size=3)
    stranger = space.sample(np.random.default_rng(9))
    strategy.tell(done(0, stranger, 0.5))
    strategy.tell(done(1, stranger, 0.7))
    assert strategy.population_ == [(stranger, 0.5), (stranger, 0.7)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"population_size": 1}, "population_size must be an integer >= 2, got 1"),
        ({"population_size": 10.0}, "population_size must be an integer >= 2, got 10.0"),
        ({"population_size": True}, "population_size must be an integer >= 2, got True"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("large-scale-evolution", nb201(), seed=0, **options)
    assert "strategy 'large-scale-evolution'" in str(err.value) and message in str(err.value)
