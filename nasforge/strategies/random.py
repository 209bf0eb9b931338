"""Random search: the baseline every other strategy must beat."""

from __future__ import annotations

from typing import ClassVar

from nasforge.objectives import Objectives
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
    reads_dimensions = False
    #: it proposes uniformly whatever the objectives are, so several are no concern
    multi_objective = True

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        dedupe: bool = True,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.dedupe = dedupe
        self._every_arch: list[Arch] | None = None

    #: largest space whose unseen archs are listed when sampling keeps finding seen ones
    enumerate_limit: ClassVar[int] = 100_000

    def propose(self) -> Arch:
        sample = lambda: self.space.sample(self.rng)  # noqa: E731
        if not self.dedupe:
            return sample()
        arch = self.novel(sample)
        if (
            arch in self.seen_
            and not self.space_exhausted
            and self.space.size() <= self.enumerate_limit
        ):
            if self._every_arch is None:  # listed once: the space never changes
                self._every_arch = list(self.space.enumerate())
            unseen = [a for a in self._every_arch if a not in self.seen_]
            if unseen:
                arch = unseen[int(self.rng.integers(len(unseen)))]
        return arch
