"""RENAS (Chen et al. 2019): regularized evolution whose mutations a learned policy chooses."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch, Categorical, Space
from nasforge.strategies import RandomSearch, create_strategy
from nasforge.strategies.renas import ReinforcedEvolution
from nasforge.testing.strategies import NB201_OPS
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import nb201_space as nb201
from nasforge.trial import Trial, TrialStatus


def differing(a: Arch, b: Arch) -> int:
    return sum(a[k] != b[k] for k in a)


def test_registered_with_defaults() -> None:
    strategy = create_strategy("renas", nb201(), seed=0)
    assert isinstance(strategy, ReinforcedEvolution)
    assert (strategy.population_size, strategy.sample_size) == (20, 5)


def test_random_start_then_one_mutation_from_a_member() -> None:
    space = nb201()
    strategy = ReinforcedEvolution(space, seed=4, population_size=8, sample_size=3)
    random = RandomSearch(space, seed=4)
    for number in range(60):
        arch = strategy.ask()
        if number < 8:
            assert arch == random.ask()
        else:
            assert min(differing(arch, m) for m, _ in strategy.population_) == 1
        strategy.tell(done(number, arch, float(np.sin(number))))
        assert len(strategy.population_) == min(number + 1, 8)


def test_the_policy_learns_which_move_pays() -> None:
    # the score counts nor_conv_3x3 edges: "replace none by nor_conv_3x3" is the move to learn
    space = nb201()
    strategy = ReinforcedEvolution(
        space, seed=0, population_size=10, sample_size=3, learning_rate=0.3
    )
    none, conv = NB201_OPS.index("none"), NB201_OPS.index("nor_conv_3x3")
    before = strategy.value_probabilities(0, none)[conv]
    assert before == pytest.approx(0.25)  # uniform over the four other ops
    noise = np.random.default_rng(1)
    for number in range(150):
        arch = strategy.ask()
        score = sum(v == "nor_conv_3x3" for v in arch.values()) + noise.normal(0, 0.1)
        strategy.tell(done(number, arch, float(score)))
    others = [k for k in range(5) if k != conv]
    learned = np.mean([strategy.value_probabilities(0, old)[conv] for old in others])
    assert learned > 0.35
    # the edges share their move table (the same ops on every edge)
    assert (
        strategy.value_probabilities(5, none)[conv] == strategy.value_probabilities(0, none)[conv]
    )


def test_the_policy_learns_to_leave_alone_a_dimension_whose_change_hurts() -> None:
    # the good members hold d2 = 0; changing d2 costs 10, changing anything else costs nothing
    space = Space([Categorical(f"d{i}", list(range(6))) for i in range(5)])
    strategy = ReinforcedEvolution(space, seed=3, population_size=10, sample_size=3)
    noise = np.random.default_rng(0)
    for number in range(150):
        arch = strategy.ask()
        strategy.tell(done(number, arch, -10.0 * (arch["d2"] != 0) + noise.normal(0, 0.1)))
    probs = strategy.dimension_probabilities((0, 1, 2, 3, 4))
    assert probs[2] == probs.min() and probs[2] < 0.1


def test_reward_is_the_gain_over_the_parent_and_parallel_children_keep_theirs() -> None:
    space = nb201()
    strategy = ReinforcedEvolution(space, seed=5, population_size=2, sample_size=2)
    for number in range(2):
        strategy.tell(done(number, strategy.ask(), 10.0 * (number + 1)))  # members: 10, 20
    children = [strategy.ask() for _ in range(4)]  # parallel asks: every parent is the 20
    assert all(differing(c, strategy.population_[1][0]) == 1 for c in children)
    strategy.tell(done(2, children[3], 26.0))
    assert strategy.baseline_ == pytest.approx(6.0)  # first gain: 26 - 20
    strategy.tell(done(3, children[0], 17.0))
    assert strategy._gains == [6.0, -3.0]


def test_failed_children_and_strangers_teach_nothing() -> None:
    space = nb201()
    strategy = ReinforcedEvolution(space, seed=6, population_size=2, sample_size=1)
    for number in range(2):
        strategy.tell(done(number, strategy.ask(), float(number)))
    child = strategy.ask()
    strategy.tell(Trial(2, child, TrialStatus.FAILED, error="oom"))
    stranger = space.sample(np.random.default_rng(7))
    strategy.tell(done(3, stranger, 5.0))
    assert strategy.baseline_ is None and strategy.population_[-1] == (stranger, 5.0)
    strategy.tell(done(4, child, 3.0))  # the failed child told again, now scored: no parent left
    assert strategy.baseline_ is None


def test_deterministic_policy() -> None:
    space = nb201()
    runs = []
    for _ in range(2):
        strategy = ReinforcedEvolution(space, seed=9, population_size=5, sample_size=2)
        keys = []
        for number in range(40):
            arch = strategy.ask()
            keys.append(arch.key)
            strategy.tell(done(number, arch, float(arch.key.count("conv"))))
        runs.append((keys, strategy.dimension_probabilities(tuple(range(6)))))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"population_size": 5, "sample_size": 6}, "sample_size (6) must not exceed"),
        ({"population_size": 1}, "population_size must be an integer >= 2, got 1"),
        ({"learning_rate": 0}, "learning_rate must be a number in"),
        ({"baseline_decay": -0.1}, "baseline_decay must be a number in"),
        ({"entropy_weight": None}, "entropy_weight must be a number in"),
        ({"bins": 0}, "bins must be an integer >= 2, got 0"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("renas", nb201(), seed=0, **options)
    assert "strategy 'renas'" in str(err.value) and message in str(err.value)
