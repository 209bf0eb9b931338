"""Property-based checks (Hypothesis) that every registered space's moves only make valid
archs: ``sample``, ``mutate``, ``crossover`` and ``neighbors`` from any seed, and that the
archs they make parse back from their keys. A newly registered space is checked with no change
here."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasforge.space import Space
from nasforge.spaces import create_space, list_spaces

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def space_named(name: str) -> Space:
    return create_space(name)


def check(space: Space, arch: object) -> None:
    made = space.validate(arch)  # type: ignore[arg-type]
    assert space.parse(made.key) == made


@pytest.mark.parametrize("name", list_spaces())
@SETTINGS
@given(seed=SEEDS, other=SEEDS)
def test_moves_from_any_seed_give_valid_archs(name: str, seed: int, other: int) -> None:
    space = space_named(name)
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(np.random.default_rng(other))
    check(space, a)
    check(space, space.mutate(a, rng))
    check(space, space.crossover(a, b, rng))


@pytest.mark.parametrize("name", list_spaces())
@settings(max_examples=10, deadline=None)
@given(seed=SEEDS)
def test_every_neighbour_is_valid_and_differs(name: str, seed: int) -> None:
    space = space_named(name)
    arch = space.sample(np.random.default_rng(seed))
    for near in space.neighbors(arch):
        check(space, near)
        assert near != arch
