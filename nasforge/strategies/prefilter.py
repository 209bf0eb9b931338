"""A zero-cost pre-filter for any strategy: score many candidates, train only the best.

Abdelfattah et al. (2021), "Zero-Cost Proxies for Lightweight NAS", Section 5, use a proxy to
warm up or to filter the proposals of random search, evolution and reinforcement learning: of
each batch of proposals only the one the proxy ranks first is trained. This module does that
for every strategy, with the score injected as a plain function (strategies import no torch
training code; :meth:`nasforge.estimation.zero_cost.ZeroCostEvaluator.scorer` makes one).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from nasforge.errors import ConfigError
from nasforge.space import Arch
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial, TrialStatus

#: the number stored in the trials the pre-filter tells its inner strategy (they are never run)
FILTERED_TRIAL_NUMBER = -1


class ZeroCostPrefilter(Strategy):
    """Wrap a strategy: of every ``candidates`` archs it proposes, return the best-scored one.

    Each :meth:`ask` asks the inner strategy ``candidates`` times (strategies accept several
    asks before any tell), scores each arch with ``score`` (cached by arch key: an arch is
    scored once), returns the best one (ties: the first asked) and tells the inner strategy at
    once about each of the others as a ``pruned`` trial with no score, its ``metrics`` holding
    the proxy value under ``metric``, so the inner strategy's bookkeeping of asks and tells stays
    consistent and it does not propose them again as if they were pending. :meth:`tell`
    forwards the trained trial to the inner strategy.

    Deterministic when the inner strategy and ``score`` are: a resumed experiment replays the
    same asks and tells. Inner strategies learn nothing from the filtered-out candidates
    beyond "pruned" (they have no comparable score); model-based ones thus still fit only the
    trained archs.

    Departure from the paper: Abdelfattah et al. filter a pool sampled once up front (warm-up)
    or the proposals of each step; here the filter wraps each ask, which covers both for the
    strategies that propose step by step, and works with parallel workers.

    Args:
        inner: the strategy whose proposals are filtered.
        score: ``arch -> float``, larger is better (e.g. a zero-cost proxy of the arch).
        candidates: proposals scored per trained arch (1 disables the filter).
        metric: the metric name under which filtered-out trials hold their score.

    Example:
        >>> from nasforge.space import CellSpace
        >>> from nasforge.strategies import RandomSearch
        >>> space = CellSpace(4, ["skip_connect", "nor_conv_3x3"])
        >>> count = lambda arch: float(arch.key.count("conv"))
        >>> strategy = ZeroCostPrefilter(RandomSearch(space, seed=0), count, candidates=8)
        >>> count(strategy.ask()) >= 4
        True
    """

    name = "zero-cost-prefilter"

    def __init__(
        self,
        inner: Strategy,
        score: Callable[[Arch], float],
        candidates: int = 10,
        metric: str = "zero_cost",
    ) -> None:
        if not isinstance(inner, Strategy):
            raise ConfigError(f"prefilter: inner must be a nasforge Strategy, got {inner!r}")
        if not callable(score):
            raise ConfigError(f"prefilter: score must be a callable arch -> float, got {score!r}")
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"prefilter: metric={metric!r}; allowed: a non-empty name")
        super().__init__(inner.space, inner.seed, objectives=inner.objectives)
        self.multi_objective = inner.multi_objective
        self.inner = inner
        self.score = score
        self.candidates = positive_int(self.name, "candidates", candidates)
        self.metric = metric
        self.scores_: dict[str, float] = {}
        #: how many archs the filter scored and how many it passed on
        self.n_scored_ = 0
        self.n_passed_ = 0

    def arch_score(self, arch: Arch) -> float:
        """The score of ``arch`` (computed once per key; NaN counts as the lowest)."""
        value = self.scores_.get(arch.key)
        if value is None:
            value = float(self.score(arch))
            if math.isnan(value):
                value = -math.inf
            self.scores_[arch.key] = value
        return value

    def propose(self) -> Arch:
        proposals = [self.inner.ask() for _ in range(self.candidates)]
        values = [self.arch_score(arch) for arch in proposals]
        best = max(range(len(proposals)), key=lambda i: (values[i], -i))
        self.n_scored_ += len(proposals)
        self.n_passed_ += 1
        for i, arch in enumerate(proposals):
            if i != best:
                self.inner.tell(
                    Trial(
                        FILTERED_TRIAL_NUMBER,
                        arch,
                        TrialStatus.PRUNED,
                        metrics={self.metric: values[i]},
                        user_attrs={"filtered_by": self.name},
                    )
                )
        return proposals[best]

    def observe(self, trial: Trial) -> None:
        self.inner.tell(trial)

    def __repr__(self) -> str:
        return f"ZeroCostPrefilter({self.inner!r}, candidates={self.candidates})"


def prefiltered(
    strategy: Strategy, score: Callable[[Arch], float], candidates: int = 10, metric: str = ""
) -> Strategy:
    """``strategy`` behind a :class:`ZeroCostPrefilter`, or itself when ``candidates`` is 1.

    What an experiment's ``prefilter: {proxy: synflow, candidates: 10}`` option calls, with
    ``score = ZeroCostEvaluator(dataset).scorer(space, "synflow")``.
    """
    candidates = positive_int(ZeroCostPrefilter.name, "candidates", candidates)
    if candidates == 1:
        return strategy
    return ZeroCostPrefilter(strategy, score, candidates, metric or "zero_cost")


__all__ = ["FILTERED_TRIAL_NUMBER", "ZeroCostPrefilter", "prefiltered"]
