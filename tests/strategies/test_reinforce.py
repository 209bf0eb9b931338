"""NAS-RL (Zoph & Le 2017): an LSTM controller trained with REINFORCE, moving-average baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge.errors import ConfigError
from nasforge.space import Categorical, CellSpace, Float, Int, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.reinforce import ReinforceController
from nasforge.testing.strategies import NB201_OPS
from nasforge.testing.strategies import complete as done
from nasforge.trial import Trial, TrialStatus


def letters(dims: int = 3) -> Space:
    return Space([Categorical(f"d{i}", ["a", "b", "c", "d"]) for i in range(dims)])


def test_registered_with_defaults() -> None:
    strategy = create_strategy("reinforce", CellSpace(4, NB201_OPS), seed=0)
    assert isinstance(strategy, ReinforceController)
    assert (strategy.hidden_size, strategy.baseline_decay) == (32, 0.9)


def test_the_rewarded_choice_becomes_likely() -> None:
    space = letters(6)  # 4,096 archs: few of the asks below are redrawn as seen
    strategy = ReinforceController(space, seed=0, learning_rate=0.02)
    before = strategy.probabilities(0)[2]
    assert abs(before - 0.25) < 0.05  # the paper's small uniform init: nearly uniform
    for number in range(60):
        arch = strategy.ask()
        strategy.tell(done(number, arch, 1.0 if arch["d0"] == "c" else 0.0))
    assert strategy.probabilities(0)[2] > 0.6
    asked = [strategy.ask()["d0"] for _ in range(20)]
    assert asked.count("c") >= 10


def test_a_tanh_constant_bounds_how_sure_the_controller_grows() -> None:
    # ENAS's sampling logits: / temperature, then C * tanh(.); no value gets more than
    # exp(2C) times another's probability however often it is rewarded
    space = letters(6)
    plain = ReinforceController(space, seed=0, learning_rate=0.05)
    bounded = ReinforceController(
        space, seed=0, learning_rate=0.05, temperature=5.0, tanh_constant=0.5
    )
    for number in range(80):
        for strategy in (plain, bounded):
            arch = strategy.ask()
            strategy.tell(done(number, arch, 1.0 if arch["d0"] == "c" else 0.0))
    assert plain.probabilities(0)[2] > 0.9
    probs = bounded.probabilities(0)
    assert probs[2] == probs.max() and probs.max() / probs.min() <= np.exp(1.0) + 1e-9
    # the torch controller that learns and the NumPy copy that samples agree
    logits = bounded.controller_.step(*bounded.controller_.start(), 0)[0]
    assert np.allclose(torch.softmax(logits, -1).detach().numpy(), probs, atol=1e-6)


def test_the_next_decision_depends_on_the_previous_one() -> None:
    # reward when d1 repeats d0: only an LSTM fed the previous decision can learn that
    space = letters()
    strategy = ReinforceController(space, seed=1, learning_rate=0.03)
    for number in range(200):
        arch = strategy.ask()
        strategy.tell(done(number, arch, float(arch["d0"] == arch["d1"])))
    follows = [int(np.argmax(strategy.probabilities(1, [(0, j)]))) == j for j in range(4)]
    assert sum(follows) >= 3  # one first letter may have been dropped before d1 learned it


def test_deterministic_with_torch_and_leaves_global_state_alone() -> None:
    space = CellSpace(4, NB201_OPS)
    torch.manual_seed(123)
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    runs = []
    for _ in range(2):
        strategy = ReinforceController(space, seed=5)
        keys = []
        for number in range(30):
            arch = strategy.ask()
            keys.append(arch.key)
            strategy.tell(done(number, arch, float(arch.key.count("conv"))))
        runs.append((keys, [p.detach().clone() for p in strategy.controller_.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1], strict=True))
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads
    other = ReinforceController(space, seed=6)
    assert not torch.equal(
        next(other.controller_.parameters()), next(iter(runs[0][1]))
    )  # another seed, another controller


def test_parallel_asks_then_tells_in_any_order() -> None:
    space = CellSpace(4, NB201_OPS)
    strategy = ReinforceController(space, seed=2)
    archs = [strategy.ask() for _ in range(8)]
    assert len(set(archs)) == 8 and sum(strategy.pending_.values()) == 8
    for number, arch in enumerate(reversed(archs)):
        strategy.tell(done(number, arch, float(number)))
    assert not strategy.pending_ and strategy.baseline_ is not None
    stranger = space.sample(np.random.default_rng(9))  # never asked: still learned from
    before = strategy.probabilities(0).copy()
    strategy.tell(done(8, stranger, 100.0))
    assert not np.allclose(before, strategy.probabilities(0))


def test_failed_trials_do_not_move_the_controller() -> None:
    strategy = ReinforceController(letters(), seed=3)
    for number in range(3):
        strategy.tell(done(number, strategy.ask(), float(number)))
    before = [p.detach().clone() for p in strategy.controller_.parameters()]
    strategy.tell(Trial(3, strategy.ask(), TrialStatus.FAILED, error="oom"))
    after = list(strategy.controller_.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_numeric_dimensions_are_discretised_into_bins() -> None:
    space = Space([Float("lr", 1e-4, 1e-1, log=True), Int("width", 8, 512), Int("depth", 1, 4)])
    strategy = ReinforceController(space, seed=0, bins=4)
    assert strategy.decisions.values[0] == (0.0001, 0.001, 0.01, 0.1)
    assert strategy.decisions.values[2] == (1, 2, 3, 4)  # few enough values: all kept
    for number in range(10):
        arch = strategy.ask()
        assert arch["lr"] in strategy.decisions.values[0]
        assert arch["width"] in strategy.decisions.values[1]
        strategy.tell(done(number, arch, arch["lr"]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hidden_size": 0}, "hidden_size must be an integer >= 1, got 0"),
        ({"learning_rate": -1.0}, "learning_rate must be a number in"),
        ({"baseline_decay": 1.0}, "baseline_decay must be a number in [0, 0.999], got 1.0"),
        ({"entropy_weight": "x"}, "entropy_weight must be a number in"),
        ({"bins": 1}, "bins must be an integer >= 2, got 1"),
        ({"temperature": 0}, "temperature must be a number in"),
        ({"tanh_constant": -1}, "tanh_constant must be a number in"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_strategy("reinforce", letters(), seed=0, **options)
    assert "strategy 'reinforce'" in str(err.value) and message in str(err.value)
