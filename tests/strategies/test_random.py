"""Random search: uniform samples, fresh archs first, no use of scores."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Categorical, CellSpace
from nasforge.strategies import RandomSearch, create_strategy
from nasforge.testing.strategies import complete as done


def space16() -> CellSpace:
    """4 operations on one edge times 4 widths: 16 archs."""
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
    return CellSpace(2, ops, extra=[Categorical("width", [8, 16, 32, 64])])


@pytest.mark.parametrize("seed", range(20))
def test_first_asks_on_a_small_space_are_distinct(seed: int) -> None:
    strategy = RandomSearch(space16(), seed=seed)
    keys = []
    for number in range(16):
        arch = strategy.ask()
        keys.append(arch.key)
        if number % 2:
            strategy.tell(done(number, arch, 0.5))
    assert len(set(keys)) == 16
    assert space16().size() == 16


def test_first_asks_are_distinct_for_every_seed() -> None:
    strategy = RandomSearch(space16(), seed=466)
    assert len({strategy.ask().key for _ in range(16)}) == 16


def test_more_asks_than_archs_repeat_without_hanging() -> None:
    strategy = RandomSearch(space16(), seed=0)
    keys = [strategy.ask().key for _ in range(40)]
    assert len(set(keys)) == 16 and len(set(keys[:16])) == 16


def test_without_dedupe_it_is_plain_sampling() -> None:
    space = space16()
    strategy = RandomSearch(space, seed=5, dedupe=False)
    rng = np.random.default_rng(5)
    asked = [strategy.ask() for _ in range(400)]
    assert asked == [space.sample(rng) for _ in range(400)]
    counts = np.unique([a.key for a in asked], return_counts=True)[1]
    assert len(counts) == 16 and counts.min() > 10  # 25 expected per arch


def test_scores_do_not_change_the_asks() -> None:
    space = space16()
    runs = []
    for scale in (1.0, -3.0):
        strategy = create_strategy("random", space, seed=3)
        keys = []
        for number in range(12):
            arch = strategy.ask()
            keys.append(arch.key)
            strategy.tell(done(number, arch, scale * number))
        runs.append(keys)
    assert runs[0] == runs[1]


def test_bad_seed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="strategy 'random': seed must be an integer, got 'a'"):
        RandomSearch(space16(), seed="a")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="space must be a nasforge Space"):
        RandomSearch({"width": [8, 16]}, seed=0)  # type: ignore[arg-type]
