"""MetaQNN (Baker et al. 2017): Q-learning over decisions, epsilon-greedy, experience replay."""

from __future__ import annotations

import pytest

from nasforge.errors import ConfigError
from nasforge.space import Categorical, CellSpace, Float, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.metaqnn import MetaQNN
from nasforge.testing.strategies import NB201_OPS
from nasforge.testing.strategies import complete as done
from nasforge.trial import Trial, TrialStatus


def letters() -> Space:
    return Space([Categorical(f"d{i}", ["a", "b", "c", "d"]) for i in range(3)])


def test_registered_with_defaults() -> None:
    strategy = create_strategy("metaqnn", CellSpace(4, NB201_OPS), seed=0)
    assert isinstance(strategy, MetaQNN)
    assert (strategy.q_init, strategy.replay_size) == (0.5, 100)  # the paper's values
    assert strategy.epsilon_schedule[0][0] == 1.0 and strategy.epsilon_schedule[-1][0] == 0.1


def test_epsilon_follows_the_schedule_and_keeps_its_last_value() -> None:
    strategy = MetaQNN(letters(), epsilon_schedule=[(1.0, 3), (0.5, 2), (0.1, 1)])
    assert [strategy.epsilon(k) for k in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.1, 0.1, 0.1]


def test_q_update_goes_backwards_with_gamma_one() -> None:
    space = letters()
    strategy = MetaQNN(space, alpha=0.5, replay_size=0)
    low = space.make({"d0": "a", "d1": "a", "d2": "a"})
    high = space.make({"d0": "b", "d1": "c", "d2": "d"})
    strategy.tell(done(0, low, 70.0))
    strategy.tell(done(1, high, 90.0))  # min-max scaled reward: 1.0
    # state = (position, previous decision); the terminal step sees the reward ...
    assert strategy.q(2, (1, 2), 3) == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    # ... the earlier ones the best Q of the next state (gamma = 1, no reward before the end)
    assert strategy.q(1, (0, 1), 2) == pytest.approx(0.5 * 0.5 + 0.5 * 0.75)
    assert strategy.q(0, None, 1) == pytest.approx(0.5 * 0.5 + 0.5 * 0.625)
    assert strategy.q(0, None, 3) == 0.5  # untouched entries keep q_init


def test_replay_repeats_updates_from_memory() -> None:
    space = letters()
    runs = []
    for replay_size in (0, 20):
        strategy = MetaQNN(space, seed=0, alpha=0.1, replay_size=replay_size)
        for number in range(5):
            arch = strategy.ask()
            strategy.tell(done(number, arch, float(number)))
        assert len(strategy.memory_) == 5
        runs.append(strategy.q(0, None, strategy.decisions.decisions(arch)[0][1]))
    assert runs[1] > runs[0]  # the best episode is replayed: its Q is pulled further up


def test_greedy_phase_exploits_what_was_learned() -> None:
    space = letters()
    strategy = MetaQNN(space, seed=1, epsilon_schedule=[(1.0, 40), (0.0, 1)])
    for number in range(40):
        arch = strategy.ask()
        strategy.tell(done(number, arch, float(arch["d0"] == "c") + float(arch["d2"] == "b")))
    greedy = strategy.ask()
    assert (greedy["d0"], greedy["d2"]) == ("c", "b")


def test_parallel_asks_failures_and_strangers() -> None:
    space = CellSpace(4, NB201_OPS)
    strategy = MetaQNN(space, seed=2)
    archs = [strategy.ask() for _ in range(6)]
    assert len(set(archs)) == 6
    strategy.tell(Trial(0, archs[0], TrialStatus.FAILED, error="oom"))
    strategy.tell(Trial(1, archs[1], TrialStatus.PRUNED))
    assert not strategy.memory_ and not strategy.q_
    for number, arch in enumerate(archs[2:], start=2):
        strategy.tell(done(number, arch, float(number)))
    strategy.tell(done(6, space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), 0.0))
    assert len(strategy.memory_) == 5 and not strategy.pending_


def test_numeric_dimensions_use_a_grid() -> None:
    space = Space([Categorical("opt", ["sgd", "adam"]), Float("lr", 0.001, 0.1, log=True)])
    strategy = MetaQNN(space, seed=0, bins=3)
    assert strategy.decisions.values[1] == (0.001, 0.01, 0.1)
    arch = strategy.ask()
    assert arch["lr"] in (0.001, 0.01, 0.1)
    strategy.tell(done(0, space.make({"opt": "sgd", "lr": 0.012}), 1.0))  # off the grid
    assert strategy.memory_[0][0] == [(0, 0), (1, 1)]  # the nearest grid value, on a log scale


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": 0.0}, "alpha must be a number in"),
        ({"q_init": 2.0}, "q_init must be a number in [0.0, 1.0], got 2.0"),
        ({"replay_size": -1}, "replay_size must be an integer >= 0, got -1"),
        ({"epsilon_schedule": []}, "epsilon_schedule must be a non-empty list"),
        ({"epsilon_schedule": [(1.5, 10)]}, "epsilon_schedule must be a non-empty list"),
        ({"epsilon_schedule": [(0.5, 0)]}, "(epsilon in [0, 1], asks >= 1) pairs"),
        ({"epsilon_schedule": 3}, "epsilon_schedule must be a non-empty list"),
        ({"bins": 1}, "bins must be an integer >= 2, got 1"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("metaqnn", letters(), seed=0, **options)
    assert "strategy 'metaqnn'" in str(err.value) and message in str(err.value)
