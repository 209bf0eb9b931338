"""Generate, rank, evaluate: Schrimpf et al. 2017, "A Flexible Approach to Automated RNN
Architecture Generation" (their random search with a ranking function)."""

from __future__ import annotations

import numpy as np

from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.bananas import MLPEnsemble, standardise
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial


class GenerateRankEvaluate(Strategy):
    """Generate many random archs, rank them with a model learned from the trained ones, train
    the best-ranked.

    The first ``initial_random`` asks are random samples. Then each ask fits a ranking model to
    every scored trial (an ensemble of ``n_models`` MLPs over ``space.encode``, the targets the
    standardised primary scores), draws ``candidates`` novel archs from ``space.sample`` and
    returns the one the ensemble's mean ranks first. Unlike BANANAS, the candidates are fresh
    random archs (generation is not steered by the best ones): the learned model only filters
    the generator, as in the flexible approach.

    Departure from the paper: Schrimpf et al. rank with a recursive network over the cell's
    expression tree, trained on a few thousand evaluated cells; with the few tens a CPU search
    evaluates, a small ensemble over the fixed-length encoding (any nasforge surrogate input)
    is what can be fitted. Works on every space.

    Args:
        space: the space to search.
        seed: seed of the generator and the ensemble's initialisation.
        initial_random: random asks before the model ranks.
        candidates: random archs generated and ranked per ask.
        n_models: MLPs in the ensemble.
        epochs: full-batch Adam steps of the first fit.
        update_epochs: steps added to the warm-started ensemble after each new result (as
            BANANAS does: an ask stays at a few milliseconds).

    Example:
        >>> from nasforge.space import Categorical, Space
        >>> space = Space([Categorical("a", list(range(10))), Categorical("b", list(range(10)))])
        >>> strategy = GenerateRankEvaluate(space, seed=0, initial_random=2, candidates=20)
        >>> arch = strategy.ask()
        >>> arch in space.enumerate()
        True
    """

    name = "generate-rank"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        initial_random: int = 5,
        candidates: int = 100,
        n_models: int = 5,
        epochs: int = 200,
        update_epochs: int = 20,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.initial_random = positive_int(self.name, "initial_random", initial_random, 1)
        self.candidates = positive_int(self.name, "candidates", candidates, 1)
        self.n_models = positive_int(self.name, "n_models", n_models, 1)
        self.epochs = positive_int(self.name, "epochs", epochs, 1)
        self.update_epochs = positive_int(self.name, "update_epochs", update_epochs, 1)
        self.model_: MLPEnsemble | None = None
        self._fitted_on = -1
        self._asked = 0

    def propose(self) -> Arch:
        scored = self._scored()
        self._asked += 1
        if self._asked <= self.initial_random or len(scored) < 2:
            return self.novel(lambda: self.space.sample(self.rng))
        pool: dict[Arch, None] = {}
        for _ in range(4 * self.candidates):
            if len(pool) >= self.candidates:
                break
            arch = self.space.sample(self.rng)
            if arch not in self.seen_:
                pool[arch] = None
        if not pool:
            return self.novel(lambda: self.space.sample(self.rng))
        candidates = list(pool)
        model = self._fit(scored)
        predicted = model.predict(np.stack([self.space.encode(a) for a in candidates]))
        return candidates[int(np.argmax(predicted.mean(axis=0)))]

    def _scored(self) -> dict[Arch, float]:
        """Each scored arch with its mean primary score."""
        sums: dict[Arch, list[float]] = {}
        for trial in self.history_:
            if trial.score is not None:
                sums.setdefault(trial.arch, []).append(trial.score)
        return {arch: float(np.mean(v)) for arch, v in sums.items()}

    def _fit(self, scored: dict[Arch, float]) -> MLPEnsemble:
        if self.model_ is None or self._fitted_on != len(self.history_):
            x = np.stack([self.space.encode(a) for a in scored])
            y = standardise(list(scored.values()))
            if self.model_ is None:
                self.model_ = MLPEnsemble(self.n_models, seed=self.seed).fit(x, y, self.epochs)
            else:
                self.model_.update(x, y, self.update_epochs)
            self._fitted_on = len(self.history_)
        return self.model_

    def observe(self, trial: Trial) -> None:
        """Nothing to do at once: the model is refit by the next ask."""


__all__ = ["GenerateRankEvaluate"]
