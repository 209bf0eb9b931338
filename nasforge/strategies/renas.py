"""Reinforced evolutionary NAS, Chen et al. 2019, "RENAS: Reinforced Evolutionary Neural
Architecture Search" (CVPR 2019)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.base import Strategy, tournament_sizes
from nasforge.strategies.metaqnn import DecisionSequence, check_bins, check_fraction
from nasforge.trial import Trial


@dataclass(frozen=True)
class _Mutation:
    parent_score: float
    dim: int  # index among the space's dimensions
    movable: tuple[int, ...]  # the dimensions that could have been chosen
    old: int  # value indices on the decision grid
    new: int


class ReinforcedEvolution(Strategy):
    """Regularized evolution whose mutations a policy learns to choose, rewarded by the gain.

    The evolution is that of ``regularized-evolution``: ``population_size`` random archs first,
    then tournaments of ``sample_size`` members, the best one the parent, and the oldest member
    dies. The mutation is not uniform: a softmax policy picks *which dimension* to change (one
    logit per dimension) and *its new value* (logits per old value and new value, so the policy
    learns moves such as "replace ``none`` by ``nor_conv_3x3``"; dimensions offering the same
    values, such as the edges of a cell, share that table). When the child's trial is told, the
    reward is its score minus its parent's, and one REINFORCE step with a moving-average
    baseline (advantage divided by the standard deviation of the rewards seen so far) updates
    both softmaxes; an entropy bonus keeps them from collapsing.

    Departures from the paper, and why:

    - the paper's mutation controller is an LSTM that reads an embedding of the parent's cell;
      here the policy is tabular (dimension; old value -> new value), which learns from the few
      dozen rewards a tabular benchmark search gives, and costs microseconds in numpy;
    - the paper grows the population with the children of one generation at a time; this is
      the ask/tell (steady-state) form of regularized evolution, which the paper builds on;
    - numeric dimensions with more than ``bins`` values mutate on a grid of ``bins`` values;
    - a child already seen is redrawn (up to ``Strategy.novelty_tries`` times, the later tries
      with a uniform mutation that the policy does not learn from, so that a policy grown too
      sure cannot stall the search on seen archs);
    - failed and pruned trials neither join the population nor teach the policy, and a told
      arch that was never asked as a child joins the population only.

    Args:
        space: the space to search.
        seed: seed of the generator.
        population_size: members kept alive.
        sample_size: members drawn per tournament; ``<= population_size``.
        learning_rate: step size of the policy's gradient ascent.
        baseline_decay: decay of the moving-average baseline, in [0, 1).
        entropy_weight: weight of the entropy bonus (>= 0).
        bins: values offered by a numeric dimension with more values than this.
    """

    name = "renas"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int = 20,
        sample_size: int = 5,
        learning_rate: float = 0.1,
        baseline_decay: float = 0.9,
        entropy_weight: float = 0.01,
        bins: int = 10,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.population_size, self.sample_size = tournament_sizes(
            self.name, population_size, sample_size
        )
        self.learning_rate = check_fraction(self.name, "learning_rate", learning_rate, 1e-12, 1e3)
        self.baseline_decay = check_fraction(self.name, "baseline_decay", baseline_decay, 0, 0.999)
        self.entropy_weight = check_fraction(self.name, "entropy_weight", entropy_weight, 0, 1e3)
        self.bins = check_bins(self.name, bins)
        self.population_: deque[tuple[Arch, float]] = deque()
        self.baseline_: float | None = None
        self._random_asked = 0
        self._children: dict[Arch, list[_Mutation]] = {}
        self._gains: list[float] = []
        self._decisions: DecisionSequence | None = None
        self._dim_logits: np.ndarray | None = None
        self._value_logits: list[np.ndarray] = []

    @property
    def decisions(self) -> DecisionSequence:
        if self._decisions is None:
            self._decisions = DecisionSequence(self.space, self.bins)
        return self._decisions

    # ---- the policy ----------------------------------------------------------------------

    def _policy(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The dimension logits and, per dimension, the (old value, new value) logits."""
        if self._dim_logits is None:
            grids = self.decisions.values
            self._dim_logits = np.zeros(len(grids))
            # dimensions offering the same values (the edges of a cell) share one move table
            tables: dict[str, np.ndarray] = {}
            for grid in grids:
                tables.setdefault(repr(grid), np.zeros((len(grid), len(grid))))
            self._value_logits = [tables[repr(grid)] for grid in grids]
        return self._dim_logits, self._value_logits

    def dimension_probabilities(self, movable: tuple[int, ...]) -> np.ndarray:
        """Chance of mutating each of the ``movable`` dimensions (indices into ``space.dims``)."""
        return _softmax(self._policy()[0][list(movable)])

    def value_probabilities(self, dim: int, old: int) -> np.ndarray:
        """Chance of each new value index of dimension ``dim`` replacing ``old`` (never itself)."""
        logits = self._policy()[1][dim][old].copy()
        logits[old] = -np.inf
        return _softmax(logits)

    # ---- ask and tell --------------------------------------------------------------------

    def propose(self) -> Arch:
        if self._random_asked < self.population_size or not self.population_:
            self._random_asked += 1
            return self.novel(lambda: self.space.sample(self.rng))
        child, mutation = self._child()
        for attempt in range(1, self.novelty_tries):
            if child not in self.seen_:
                break
            # a policy that has grown too sure keeps proposing seen children: fall back to
            # uniform mutations, which it does not learn from (they are not its samples)
            child, mutation = self._child(uniform=attempt >= self.novelty_tries // 4)
        if mutation is not None:
            self._children.setdefault(child, []).append(mutation)
        return child

    def _child(self, uniform: bool = False) -> tuple[Arch, _Mutation | None]:
        members = list(self.population_)
        k = min(self.sample_size, len(members))
        picks = self.rng.choice(len(members), size=k, replace=False)
        parent, parent_score = max((members[i] for i in picks), key=lambda m: m[1])
        grid = self.decisions
        current = dict(grid.decisions(parent))
        movable = tuple(i for i in current if grid.sizes()[i] > 1)
        if not movable:
            return parent, None
        if uniform:
            dim = movable[int(self.rng.integers(len(movable)))]
            old = current[dim]
            new = int(self.rng.choice([j for j in range(grid.sizes()[dim]) if j != old]))
        else:
            p_dim = self.dimension_probabilities(movable)
            dim = movable[int(self.rng.choice(len(movable), p=p_dim))]
            old = current[dim]
            new = int(self.rng.choice(grid.sizes()[dim], p=self.value_probabilities(dim, old)))
        changed = parent.replace(**{self.space.dims[dim].name: grid.values[dim][new]})
        values: dict[str, object] = {}
        for d in self.space.dims:  # switched-on dimensions are sampled, as in ``Space.mutate``
            if not d.is_active(values):
                values[d.name] = None
            else:
                values[d.name] = d.sample(self.rng) if changed[d.name] is None else changed[d.name]
        mutation = None if uniform else _Mutation(parent_score, dim, movable, old, new)
        return self.space.make(values), mutation

    def observe(self, trial: Trial) -> None:
        mutations = self._children.get(trial.arch)
        mutation = mutations.pop(0) if mutations else None
        if mutations == []:
            del self._children[trial.arch]
        if trial.score is None or not math.isfinite(trial.score):
            return
        self.population_.append((trial.arch, trial.score))
        if len(self.population_) > self.population_size:
            self.population_.popleft()
        if mutation is not None:
            self._learn(mutation, trial.score - mutation.parent_score)

    def _learn(self, mutation: _Mutation, gain: float) -> None:
        self._gains.append(gain)
        baseline = gain if self.baseline_ is None else self.baseline_
        self.baseline_ = self.baseline_decay * baseline + (1 - self.baseline_decay) * gain
        scale = float(np.std(self._gains))
        if scale <= 0.0:
            return
        advantage = (gain - baseline) / scale
        dim_logits, value_logits = self._policy()
        # d log softmax(z)[a] / dz = onehot(a) - p;  d entropy / dz = -p * (log p + H)
        movable = list(mutation.movable)
        p = self.dimension_probabilities(mutation.movable)
        step = advantage * (np.eye(len(movable))[movable.index(mutation.dim)] - p)
        step += self.entropy_weight * _entropy_gradient(p)
        dim_logits[movable] += self.learning_rate * step
        p = self.value_probabilities(mutation.dim, mutation.old)
        others = [j for j in range(len(p)) if j != mutation.old]
        q = p[others]
        step = advantage * (np.eye(len(others))[others.index(mutation.new)] - q)
        step += self.entropy_weight * _entropy_gradient(q)
        value_logits[mutation.dim][mutation.old, others] += self.learning_rate * step


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - np.max(logits))
    return z / z.sum()


def _entropy_gradient(p: np.ndarray) -> np.ndarray:
    logp = np.log(np.clip(p, 1e-300, None))
    return -p * (logp + float(-(p * logp).sum()))
