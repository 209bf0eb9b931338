"""Strategies that read a space's structure (PNAS' decision groups, BANANAS' cell paths) work
on a model space with the default training dimensions attached."""

from __future__ import annotations

import pytest

from nasforge.space import with_training
from nasforge.spaces import create_space
from nasforge.strategies import create_strategy
from nasforge.testing.strategies import assert_valid, drive


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("pnas", {"epochs": 30}),
        ("bananas", {"epochs": 30, "update_epochs": 5, "encoding": "path"}),
        ("regularized-evolution", {"population_size": 5, "sample_size": 2}),
    ],
)
def test_structured_strategies_search_nb201_with_training(
    name: str, options: dict[str, object]
) -> None:
    space = with_training(create_space("nb201", n_cells=1, channels=4))
    strategy = create_strategy(name, space, seed=0, **options)
    log = drive(strategy, steps=6)
    archs = [entry for entry in log if not hasattr(entry, "status")]
    assert archs
    for arch in archs:
        assert_valid(space, arch)
    assert any(a["train.optimizer"] != archs[0]["train.optimizer"] for a in archs[1:])
