"""Random search: the baseline every other strategy must beat."""

from __future__ import annotations

from nasforge.space import Arch, Space
from nasforge.strategies.base import Strategy


class RandomSearch(Strategy):
    """Sample every architecture uniformly at random, preferring ones not tried yet.

    Li & Talwalkar (2019) showed random search is a strong baseline for NAS; it needs no
    feedback, so parallel asks cost nothing.

    Args:
        space: the space to search.
        seed: seed of the generator.
        dedupe: skip archs already asked while unseen ones remain likely (``True``).
    """

    name = "random"

    def __init__(self, space: Space, seed: int = 0, dedupe: bool = True) -> None:
        super().__init__(space, seed)
        self.dedupe = dedupe

    def propose(self) -> Arch:
        sample = lambda: self.space.sample(self.rng)  # noqa: E731
        return self.novel(sample) if self.dedupe else sample()
