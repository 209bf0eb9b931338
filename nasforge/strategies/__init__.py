"""Multi-trial search strategies behind one ask/tell interface, chosen by name.

Example:
    >>> from nasforge.space import CellSpace
    >>> strategy = create_strategy("random", CellSpace(4, ["skip_connect", "nor_conv_3x3"]), seed=0)
    >>> "regularized-evolution" in list_strategies()
    True
"""

from __future__ import annotations

from typing import Any

from nasforge.registry import Registry
from nasforge.space import Space
from nasforge.strategies.base import Strategy
from nasforge.strategies.evolution import RegularizedEvolution
from nasforge.strategies.random import RandomSearch

STRATEGIES: Registry[Strategy] = Registry("strategy")
STRATEGIES.register("random", RandomSearch, "Uniform random sampling; the baseline to beat.")
STRATEGIES.register(
    "regularized-evolution",
    RegularizedEvolution,
    "Aging evolution (Real et al. 2019): tournament, one mutation, oldest dies. A strong default.",
)


def register_strategy(name: str, factory: type[Strategy], summary: str = "") -> None:
    """Make ``factory(space, seed=..., **options)`` available as strategy ``name``."""
    STRATEGIES.register(name, factory, summary)


def create_strategy(name: str, space: Space, seed: int = 0, **options: Any) -> Strategy:
    """Construct the strategy registered as ``name``."""
    return STRATEGIES.create(name, space, seed=seed, **options)


def list_strategies() -> list[str]:
    return STRATEGIES.names()


__all__ = [
    "STRATEGIES",
    "RandomSearch",
    "RegularizedEvolution",
    "Strategy",
    "create_strategy",
    "list_strategies",
    "register_strategy",
]
