"""Novelty retries stop once a finite space is exhausted: an ask, and a replayed ask on resume,
then costs one proposal, so resuming takes time proportional to the stored trials."""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from nasforge.experiment.replay import replay
from nasforge.space import Arch, Categorical, CellSpace
from nasforge.strategies import RandomSearch, Strategy
from nasforge.testing.strategies import complete
from nasforge.trial import Trial

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")


class CountingSpace(CellSpace):
    """16 archs (4 ops on one edge, 4 widths) that count their samples and enumerations."""

    def __init__(self) -> None:
        super().__init__(2, OPS, extra=[Categorical("width", [8, 16, 32, 64])])
        self.samples = 0
        self.enumerations = 0

    def sample(self, rng: np.random.Generator) -> Arch:
        self.samples += 1
        return super().sample(rng)

    def enumerate(self) -> Any:
        self.enumerations += 1
        return super().enumerate()


class Sampler(Strategy):
    """The simplest user of :meth:`Strategy.novel`: fresh samples first."""

    name = "sampler"

    def propose(self) -> Arch:
        return self.novel(lambda: self.space.sample(self.rng))


def stored_run(strategy: Strategy, asks: int) -> list[Trial]:
    """``asks`` asks, each told at once, as the store keeps them (ask and tell sequence)."""
    trials = []
    for number in range(asks):
        arch = strategy.ask()
        trial = replace(
            complete(number, arch, float(number % 7)), ask_seq=2 * number, tell_seq=2 * number + 1
        )
        strategy.tell(trial)
        trials.append(trial)
    return trials


ASKS = 416  # 16 archs, then 400 asks with nothing new to find
#: at most every ask once plus the full retries while the 16 archs are still being found
BOUND = ASKS + Strategy.novelty_tries * 16


def test_replaying_many_asks_on_an_exhausted_space_costs_one_proposal_each() -> None:
    trials = stored_run(Sampler(CountingSpace(), seed=0), ASKS)
    assert len({t.arch for t in trials}) == 16
    space = CountingSpace()
    strategy = Sampler(space, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a replayed ask that differs from the stored one
        state = replay(strategy, trials, max_retries=0)
    assert state.asked == ASKS and len(strategy.seen_) == 16
    assert space.samples <= BOUND  # before the fix: 100 per ask once exhausted (> 40,000)


def test_random_search_neither_retries_nor_lists_the_space_once_it_is_exhausted() -> None:
    trials = stored_run(RandomSearch(CountingSpace(), seed=1), ASKS)
    space = CountingSpace()
    strategy = RandomSearch(space, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replay(strategy, trials, max_retries=0)
    assert space.samples <= BOUND
    assert space.enumerations <= 1  # before the fix: once per ask after exhaustion


def test_an_exhausted_space_still_gives_an_arch_of_the_space() -> None:
    space = CountingSpace()
    strategy = RandomSearch(space, seed=2)
    keys = [strategy.ask().key for _ in range(64)]
    assert len(set(keys)) == 16 and len(set(keys[:16])) == 16
    assert strategy.space_exhausted
    assert {strategy.ask() for _ in range(50)} <= set(space.enumerate())


def test_an_infinite_space_is_never_exhausted() -> None:
    from nasforge.space import Float, Space

    strategy = Sampler(Space([Float("lr", 1e-4, 1e-1, log=True)]), seed=0)
    for _ in range(5):
        strategy.ask()
    assert not strategy.space_exhausted
