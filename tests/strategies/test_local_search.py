"""Local search: best of a random start, every neighbour, best improvement, random restarts."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Categorical, CellSpace, Float, Int, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.local_search import LocalSearch
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import conv_count
from nasforge.testing.strategies import nb201_space as nb201
from nasforge.trial import Trial, TrialStatus


def test_registered_with_defaults() -> None:
    strategy = create_strategy("local-search", nb201(), seed=0)
    assert isinstance(strategy, LocalSearch) and strategy.initial_samples == 10


def test_starts_at_the_best_sample_then_asks_all_its_neighbours() -> None:
    space = nb201()
    strategy = LocalSearch(space, seed=1, initial_samples=5)
    start = [strategy.ask() for _ in range(5)]
    assert len(set(start)) == 5
    for number, arch in enumerate(start):
        strategy.tell(done(number, arch, [3.0, 1.0, 9.0, 2.0, 4.0][number]))
    neighbours = set(space.neighbors(start[2]))
    asked = [strategy.ask() for _ in range(len(neighbours))]
    assert strategy.center_ == start[2] and len(neighbours) == 24
    assert set(asked) == neighbours and asked != space.neighbors(start[2])  # a random order


def test_moves_to_the_best_neighbour_and_skips_known_ones() -> None:
    space = nb201()
    strategy = LocalSearch(space, seed=2, initial_samples=1)
    center = strategy.ask()
    strategy.tell(done(0, center, 0.0))
    neighbours = [strategy.ask() for _ in range(24)]
    score_of = {arch: float(np.sin(i)) + 0.5 for i, arch in enumerate(neighbours)}
    for number, arch in enumerate(neighbours, start=1):
        strategy.tell(done(number, arch, score_of[arch]))
    best = max(neighbours, key=score_of.__getitem__)
    first = strategy.ask()
    assert strategy.center_ == best and strategy.steps_ == 1
    # the old centre and the 3 other archs differing on the same edge are known: 20 asks remain
    rest = [first] + [strategy.ask() for _ in range(19)]
    assert set(rest) == set(space.neighbors(best)) - set(neighbours) - {center}


def test_restarts_at_random_from_a_local_optimum() -> None:
    space = nb201()
    strategy = LocalSearch(space, seed=3, initial_samples=2)
    start = [strategy.ask(), strategy.ask()]
    strategy.tell(done(0, start[0], 5.0))
    strategy.tell(done(1, start[1], 1.0))
    for number in range(24):
        strategy.tell(done(2 + number, strategy.ask(), 5.0))  # ties do not improve
    restart = strategy.ask()
    assert strategy.restarts_ == 1 and strategy.center_ is None
    assert restart not in strategy.space.neighbors(start[0]) and restart not in start
    strategy.tell(done(26, restart, 0.0))  # a restart samples one arch and starts there
    assert strategy.ask() in space.neighbors(restart) and strategy.center_ == restart


def test_reaches_the_top_of_a_smooth_objective() -> None:
    # conv_count rises by one edge at a time: best improvement climbs to 6 convs quickly
    for seed in range(3):
        strategy = LocalSearch(nb201(), seed=seed)
        for number in range(120):
            arch = strategy.ask()
            if conv_count(arch) == 6:
                break
            strategy.tell(done(number, arch, float(conv_count(arch))))
        assert conv_count(arch) == 6 and strategy.restarts_ == 0  # one climb, no restart


def test_no_arch_is_asked_twice_before_the_space_is_used_up() -> None:
    space = CellSpace(3, ("none", "skip_connect", "nor_conv_3x3"))  # 27 archs
    strategy = LocalSearch(space, seed=0, initial_samples=3)
    keys = []
    for number in range(27):
        arch = strategy.ask()
        keys.append(arch.key)
        strategy.tell(done(number, arch, float(np.cos(number))))
    assert len(set(keys)) == 27
    for number in range(27, 40):  # afterwards repeats, never a hang
        strategy.tell(done(number, strategy.ask(), 0.0))


def test_parallel_asks_get_random_fillers_until_the_step_is_told() -> None:
    space = nb201()
    strategy = LocalSearch(space, seed=4, initial_samples=1)
    center = strategy.ask()
    filler = strategy.ask()  # the start is not told yet
    assert filler != center and strategy.center_ is None
    strategy.tell(done(0, center, 1.0))
    strategy.tell(done(1, filler, 100.0))  # not part of the step: it does not steer the walk
    neighbours = [strategy.ask() for _ in range(24)]
    assert strategy.center_ == center and set(neighbours) == set(space.neighbors(center))
    extra = strategy.ask()
    assert extra not in neighbours and strategy.center_ == center


def test_a_start_that_fails_is_started_again() -> None:
    strategy = LocalSearch(nb201(), seed=5, initial_samples=3)
    for number in range(3):
        strategy.tell(Trial(number, strategy.ask(), TrialStatus.FAILED, error="oom"))
    again = strategy.ask()
    assert strategy.center_ is None and again not in [t.arch for t in strategy.history_]
    strategy.tell(done(3, again, 1.0))
    strategy.ask()
    assert strategy.center_ == again


def test_numeric_dimensions_take_one_step_moves() -> None:
    space = Space([Int("layers", 1, 8), Float("lr", 0.0, 1.0), Categorical("act", ["a", "b"])])
    strategy = LocalSearch(space, seed=0, initial_samples=4)
    for number in range(60):
        arch = strategy.ask()
        score = -abs(arch["layers"] - 6) - abs(arch["lr"] - 0.7) + (arch["act"] == "b")
        strategy.tell(done(number, arch, score))
    best = strategy.best_()
    assert best is not None and best.arch["layers"] == 6 and best.arch["act"] == "b"
    assert abs(best.arch["lr"] - 0.7) <= 0.05


@pytest.mark.parametrize("value", [0, -2, 1.5, "3", True])
def test_bad_initial_samples_is_refused(value: object) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("local-search", nb201(), seed=0, initial_samples=value)
    message = str(err.value)
    assert "strategy 'local-search'" in message
    assert f"initial_samples must be an integer >= 1, got {value!r}" in message
