"""MetaQNN, Baker et al. 2017, "Designing Neural Network Architectures using Reinforcement
Learning" (ICLR 2017)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.space import Arch, Categorical, Float, Int, Space
from nasforge.space.dims import Dimension
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial

#: one decision: (index of the dimension in the space, index of the chosen value)
Decision = tuple[int, int]


class DecisionSequence:
    """A space seen as a sequence of discrete decisions, one per active dimension, in order.

    Categorical dimensions (and integer ones with at most ``bins`` values) offer their values;
    other numeric dimensions offer ``bins`` values evenly spaced on their (log) scale. A value
    that is not on that grid (an arch told but never asked) maps to the nearest grid value.
    Shared by the sequential controllers (``metaqnn``, ``reinforce``, ``renas``).
    """

    def __init__(self, space: Space, bins: int) -> None:
        self.space = space
        self.values: list[tuple[Any, ...]] = [_grid(dim, bins) for dim in space.dims]

    def sizes(self) -> list[int]:
        return [len(v) for v in self.values]

    def index(self, i: int, value: Any) -> int:
        """Index of ``value`` among the choices of dimension ``i`` (nearest grid value)."""
        dim, grid = self.space.dims[i], self.values[i]
        if isinstance(dim, (Int, Float)) and not (isinstance(dim, Int) and len(grid) == dim.size):
            units = [_unit(dim, v) for v in grid]
            target = _unit(dim, value)
            return int(np.argmin([abs(u - target) for u in units]))
        for j, choice in enumerate(grid):
            if value == choice:
                return j
        return 0  # unreachable for a validated arch

    def decisions(self, arch: Arch) -> list[Decision]:
        """The decisions that make ``arch`` (active dimensions only)."""
        return [
            (i, self.index(i, arch[dim.name]))
            for i, dim in enumerate(self.space.dims)
            if arch[dim.name] is not None
        ]

    def build(self, choose: Callable[[int, Decision | None], int]) -> tuple[Arch, list[Decision]]:
        """Walk the active dimensions; ``choose(i, previous decision)`` picks each value index."""
        values: dict[str, Any] = {}
        made: list[Decision] = []
        for i, dim in enumerate(self.space.dims):
            if not dim.is_active(values):
                values[dim.name] = None
                continue
            j = choose(i, made[-1] if made else None)
            values[dim.name] = self.values[i][j]
            made.append((i, j))
        return self.space.make(values), made


def _unit(dim: Int | Float, value: float) -> float:
    if dim.log:
        return (math.log(value) - math.log(dim.low)) / (math.log(dim.high) - math.log(dim.low))
    return (value - dim.low) / (dim.high - dim.low)


def _grid(dim: Dimension, bins: int) -> tuple[Any, ...]:
    if isinstance(dim, (Int, Float)) and dim.size > bins:
        if dim.log:
            points = np.exp(np.linspace(math.log(dim.low), math.log(dim.high), bins))
        else:
            points = np.linspace(dim.low, dim.high, bins)
        raw = [round(float(p)) if isinstance(dim, Int) else float(p) for p in points]
        grid: list[Any] = []
        for p in raw:
            value = dim.check(min(max(p, dim.low), dim.high))
            if value not in grid:
                grid.append(value)
        return tuple(grid)
    return tuple(dim.values())


def check_discrete(strategy: str, space: Space) -> None:
    """Refuse dimension types that :class:`DecisionSequence` cannot discretise."""
    for dim in space.dims:
        if not isinstance(dim, (Categorical, Int, Float)) and math.isinf(dim.size):
            raise ConfigError(
                f"strategy {strategy!r} cannot search dimension {dim.name!r} "
                f"({type(dim).__name__}); it supports Categorical, Int and Float dimensions"
            )


def check_bins(strategy: str, bins: Any) -> int:
    return positive_int(strategy, "bins", bins, 2)


def check_fraction(strategy: str, name: str, value: Any, low: float, high: float) -> float:
    """A float option in ``[low, high]``, with an error naming the strategy and the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(
            f"strategy {strategy!r}: {name} must be a number in [{low}, {high}], got {value!r}"
        )
    return float(value)


#: the paper's schedule for SVHN/CIFAR-10: (epsilon, models trained at that epsilon)
PAPER_SCHEDULE = (
    (1.0, 1500),
    (0.9, 100),
    (0.8, 100),
    (0.7, 100),
    (0.6, 150),
    (0.5, 150),
    (0.4, 150),
    (0.3, 150),
    (0.2, 150),
    (0.1, 150),
)


class MetaQNN(Strategy):
    """Tabular Q-learning over the sequence of decisions, epsilon-greedy, with experience replay.

    An architecture is an episode: one decision per active dimension, in the space's order. The
    state before a decision is *(position, previous decision)*, like the paper's layer states
    (layer depth and the layer just chosen); the action is the value taken at that position.
    The reward, given only at the end, is the trial's score; updates use the paper's rule
    ``Q(s, a) <- (1 - alpha) Q(s, a) + alpha [r + gamma max_a' Q(s', a')]`` with ``gamma = 1``,
    applied backwards along an episode. After every told trial, ``replay_size`` episodes are
    drawn (with replacement) from the replay memory of all scored episodes and replayed. Each
    decision is random with chance ``epsilon``, else greedy (ties broken at random); epsilon
    follows ``epsilon_schedule`` over the asks, staying at its last value.

    Departures from the paper, and why:

    - rewards are min-max scaled to [0, 1] over the scores seen so far (the paper's rewards
      are accuracies in [0, 1] and Q starts at 0.5), so any objective scale works;
    - the default schedule is the paper's shape compressed to 100 trials with a shorter random
      phase (the paper spends 1,500 of 2,700 models at epsilon 1); ``alpha`` defaults to 0.1
      instead of 0.01 for the same reason: the paper's budget is 27 times larger;
    - numeric dimensions are discretised into ``bins`` values; conditional dimensions are
      simply skipped when inactive (the paper's layer grammar has its own constraints);
    - an arch already seen is proposed again only after ``Strategy.novelty_tries`` fresh draws,
      and failed or pruned trials are not learned from (no reward to give).

    Args:
        space: the space to search.
        seed: seed of the generator.
        alpha: Q-learning rate (0, 1].
        q_init: initial Q value, on the [0, 1] reward scale (0.5 in the paper).
        replay_size: episodes replayed after each tell (100 in the paper).
        epsilon_schedule: ``(epsilon, asks)`` pairs, in order; the last epsilon stays.
        bins: values offered by a numeric dimension with more values than this.
    """

    name = "metaqnn"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        alpha: float = 0.1,
        q_init: float = 0.5,
        replay_size: int = 100,
        epsilon_schedule: Sequence[tuple[float, int]] = (
            (1.0, 20),
            (0.9, 5),
            (0.8, 5),
            (0.7, 5),
            (0.6, 10),
            (0.5, 10),
            (0.4, 10),
            (0.3, 10),
            (0.2, 10),
            (0.1, 15),
        ),
        bins: int = 10,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.alpha = check_fraction(self.name, "alpha", alpha, 1e-9, 1.0)
        self.q_init = check_fraction(self.name, "q_init", q_init, 0.0, 1.0)
        self.replay_size = positive_int(self.name, "replay_size", replay_size, 0)
        self.epsilon_schedule = _check_schedule(self.name, epsilon_schedule)
        self.bins = check_bins(self.name, bins)
        self.q_: dict[tuple[int, Decision | None, int], float] = {}
        self.memory_: list[tuple[list[Decision], float]] = []
        self._asked = 0
        self._decisions: DecisionSequence | None = None

    def check_space(self, space: Space) -> None:
        check_discrete(self.name, space)

    @property
    def decisions(self) -> DecisionSequence:
        if self._decisions is None:
            self._decisions = DecisionSequence(self.space, self.bins)
        return self._decisions

    def epsilon(self, ask: int) -> float:
        """Epsilon for the ``ask``-th ask (0-based)."""
        for epsilon, count in self.epsilon_schedule:
            if ask < count:
                return epsilon
            ask -= count
        return self.epsilon_schedule[-1][0]

    def q(self, position: int, previous: Decision | None, action: int) -> float:
        return self.q_.get((position, previous, action), self.q_init)

    def propose(self) -> Arch:
        epsilon = self.epsilon(self._asked)
        self._asked += 1
        return self.novel(lambda: self._episode(epsilon))

    def _episode(self, epsilon: float) -> Arch:
        sizes = self.decisions.sizes()

        def choose(i: int, previous: Decision | None) -> int:
            if self.rng.random() < epsilon:
                return int(self.rng.integers(sizes[i]))
            qs = np.array([self.q(i, previous, a) for a in range(sizes[i])])
            best = np.flatnonzero(qs == qs.max())
            return int(best[self.rng.integers(len(best))])

        return self.decisions.build(choose)[0]

    def observe(self, trial: Trial) -> None:
        if trial.score is None or not math.isfinite(trial.score):
            return
        self.memory_.append((self.decisions.decisions(trial.arch), float(trial.score)))
        scores = [score for _, score in self.memory_]
        low, high = min(scores), max(scores)
        self._update(*self.memory_[-1], low, high)
        for k in self.rng.integers(len(self.memory_), size=self.replay_size):
            self._update(*self.memory_[int(k)], low, high)

    def _update(self, episode: list[Decision], score: float, low: float, high: float) -> None:
        reward = (score - low) / (high - low) if high > low else 0.5
        sizes = self.decisions.sizes()
        target = reward  # gamma = 1, and the only reward comes at the end
        for step in range(len(episode) - 1, -1, -1):
            position, action = episode[step]
            previous = episode[step - 1] if step else None
            key = (position, previous, action)
            self.q_[key] = (1 - self.alpha) * self.q_.get(key, self.q_init) + self.alpha * target
            target = max(self.q(position, previous, a) for a in range(sizes[position]))


def _check_schedule(strategy: str, schedule: Any) -> tuple[tuple[float, int], ...]:
    message = (
        f"strategy {strategy!r}: epsilon_schedule must be a non-empty list of "
        f"(epsilon in [0, 1], asks >= 1) pairs, got {schedule!r}"
    )
    try:
        pairs = tuple((float(e), c) for e, c in schedule)
    except (TypeError, ValueError):
        raise ConfigError(message) from None
    if not pairs or any(
        not 0.0 <= e <= 1.0 or isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1
        for e, c in pairs
    ):
        raise ConfigError(message)
    return tuple((e, int(c)) for e, c in pairs)
