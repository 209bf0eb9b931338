"""A space's rules (``Space.violation``): refused by ``make``, respected by every move, counted
by ``size``, and no change at all to a space without rules."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from nasforge.errors import SpaceError
from nasforge.space import Categorical, Int, Space
from nasforge.testing.spaces import check_moves_give_valid_archs, check_size_matches_enumerate


def dims() -> list[Any]:
    return [Int("a", 0, 3), Int("b", 0, 3), Categorical("c", ["x", "y"], when={"a": [1, 2, 3]})]


class AtMostThree(Space):
    """``a + b <= 3``: 10 of the 16 (a, b) pairs, each with ``c`` when ``a > 0``."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        super().__init__(dims(), name="at-most")

    def violation(self, values: Mapping[str, Any]) -> str | None:
        total = values["a"] + values["b"]
        return None if total <= self.limit else f"a + b <= {self.limit} (a + b = {total})"


class NoRuleBroken(Space):
    """Overrides the hook but never objects: must draw exactly as a plain space."""

    def violation(self, values: Mapping[str, Any]) -> str | None:
        return None


def test_make_refuses_an_arch_that_breaks_a_rule_naming_it() -> None:
    space = AtMostThree()
    with pytest.raises(SpaceError, match=r"breaks a rule: a \+ b <= 3 \(a \+ b = 5\)"):
        space.make({"a": 2, "b": 3, "c": "x"})
    with pytest.raises(SpaceError, match="breaks a rule"):
        space.parse("a=3,b=3,c=y")
    assert space.make({"a": 1, "b": 2, "c": "x"})["b"] == 2


def test_moves_enumerate_and_size_respect_the_rule() -> None:
    space = AtMostThree()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(200)]
    assert all(a["a"] + a["b"] <= 3 for a in archs)
    assert len({a.key for a in archs}) > 1
    for a, b in itertools.pairwise(archs):
        for arch in (space.mutate(a, rng), space.crossover(a, b, rng), *space.neighbors(a)):
            assert arch["a"] + arch["b"] <= 3, arch.key
    # pairs: 4 + 3 + 2 + 1 = 10; c doubles the 6 with a > 0
    assert space.size() == 4 * 1 + 6 * 2 == len(list(space.enumerate()))
    check_moves_give_valid_archs(space)
    check_size_matches_enumerate(space)


def test_a_space_without_rules_draws_exactly_as_before() -> None:
    plain, hooked = Space(dims()), NoRuleBroken(dims())
    for seed in range(5):
        r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
        a1, a2 = plain.sample(r1), hooked.sample(r2)
        b1, b2 = plain.sample(r1), hooked.sample(r2)
        assert a1 == a2 and b1 == b2
        assert plain.mutate(a1, r1) == hooked.mutate(a2, r2)
        assert plain.crossover(a1, b1, r1) == hooked.crossover(a2, b2, r2)
        assert r1.random() == r2.random()  # the same number of draws
    assert plain.size() == hooked.size() == 4 * 1 + 12 * 2


def test_impossible_rules_fail_in_one_line_and_moves_keep_the_arch() -> None:
    never = AtMostThree(limit=-1)
    with pytest.raises(SpaceError, match=r"no arch obeying its rules in 100 samples"):
        never.sample(np.random.default_rng(0))
    only_zero = AtMostThree(limit=0)
    arch = only_zero.make({"a": 0, "b": 0})
    assert only_zero.mutate(arch, np.random.default_rng(0)) == arch
    assert only_zero.neighbors(arch) == [] and only_zero.size() == 1


def test_a_huge_space_with_rules_must_count_itself() -> None:
    class Huge(AtMostThree):
        def __init__(self) -> None:
            Space.__init__(self, [Int(f"d{i}", 0, 99) for i in range(4)] + dims(), name="huge")
            self.limit = 3

    with pytest.raises(SpaceError, match="override size"):
        Huge().size()
