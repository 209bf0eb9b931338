"""BOHB's model-based sampler (Falkner et al. 2018); with the Hyperband scheduler it is BOHB."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial

#: the budget of a final score (a complete trial without a curve for the metric)
FINAL = math.inf


class BOHB(Strategy):
    """Tree-Parzen-style densities fitted on the largest budget with enough observations.

    Falkner, Klein, Hutter 2018, "BOHB: Robust and Efficient Hyperparameter Optimization at
    Scale": Hyperband decides how long each trial trains (use the ``hyperband`` scheduler); this
    strategy decides which architecture to try. Every told trial contributes one observation per
    budget it reached: its value of the primary objective at each reported step (pruned trials
    included,
    with their partial curve), and a complete trial its final score at the full budget. The model
    uses the largest budget ``b`` with at least ``min_points + 2`` observations: the best
    ``max(min_points, top_fraction * n_b)`` of them make the "good" density ``l(x)``, the worst
    ``max(min_points, (1 - top_fraction) * n_b)`` the "bad" density ``g(x)``, each a Parzen
    estimator with a product Gaussian kernel on ``space.encode(arch)`` and per-dimension
    bandwidths by Scott's rule (floored at ``min_bandwidth``). A proposal draws
    ``n_candidates`` candidates around good points and returns the one with the largest
    ``l(x) / g(x)``; a share ``random_fraction`` of the proposals (and all of them before a model
    exists) is uniform random, as in the paper.

    Departures from the paper, and why:

    - candidates are drawn by mutating a random good architecture (1 + a geometric number of
      ``space.mutate`` steps) rather than by sampling the KDE with widened bandwidths: the
      encoding of a cell is one-hot, and a point drawn from a Gaussian around a one-hot vector
      does not decode to an architecture; mutation is the local move every nasforge space has;
    - categorical dimensions get a Gaussian kernel on their one-hot encoding instead of the
      Aitchison-Aitken kernel, hence the larger default ``min_bandwidth`` (0.3 instead of 1e-3):
      one mismatched operation then costs a bounded factor rather than annihilating the density;
    - ``min_points`` defaults to ``d + 1`` of the *original* dimensions (``len(space.names)``),
      not of the one-hot encoding, which would need hundreds of observations per budget;
    - already-seen architectures are avoided (``Strategy.novel``), as a repeat teaches nothing.

    Args:
        space: the space to search.
        seed: seed of the generator.
        random_fraction: share of uniformly random proposals (paper: 1/3).
        top_fraction: share of a budget's observations in the good density (paper: 0.15).
        n_candidates: candidates scored per proposal (paper: 64).
        min_points: observations a density needs (``None``: number of dimensions + 1).
        min_bandwidth: floor of every kernel bandwidth.
        objectives: the experiment's; the budgets are read from the primary objective's
            intermediate values (``val_acc`` by default, as ``TrainEvaluator`` reports it).

    Example:
        >>> from nasforge.space import CellSpace
        >>> from nasforge.trial import TrialStatus
        >>> s = BOHB(CellSpace(4, ["skip_connect", "nor_conv_3x3"]), seed=0)
        >>> arch = s.ask()
        >>> s.tell(Trial(0, arch, TrialStatus.PRUNED, intermediate={1: {"val_acc": 80.0}}))
        >>> s.observations_[1] == [(arch, 80.0)]
        True
    """

    name = "bohb"
    replaced_options: ClassVar[dict[str, str]] = {
        "metric": "the experiment's primary objective (its name)",
        "direction": "the experiment's primary objective (its direction)",
    }

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        random_fraction: float = 1 / 3,
        top_fraction: float = 0.15,
        n_candidates: int = 64,
        min_points: int | None = None,
        min_bandwidth: float = 0.3,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.random_fraction = _fraction("random_fraction", random_fraction, closed=True)
        self.top_fraction = _fraction("top_fraction", top_fraction, closed=False)
        self.n_candidates = positive_int(self.name, "n_candidates", n_candidates)
        default_points = len(space.names) + 1
        self.min_points = (
            default_points
            if min_points is None
            else positive_int(self.name, "min_points", min_points)
        )
        if not (isinstance(min_bandwidth, (int, float)) and 0 < min_bandwidth < math.inf):
            raise ConfigError(
                f"strategy 'bohb': min_bandwidth must be a number > 0, got {min_bandwidth!r}"
            )
        self.min_bandwidth = float(min_bandwidth)
        #: per budget (step, or ``FINAL``), the (arch, value larger-is-better) observed there
        self.observations_: dict[float, list[tuple[Arch, float]]] = {}
        self._encoded: dict[Arch, np.ndarray] = {}

    # ---- learning ----------------------------------------------------------------------------

    def observe(self, trial: Trial) -> None:
        steps = []
        for step, metrics in sorted(trial.intermediate.items()):
            value = self.objectives.value(metrics)
            if value is not None:
                self.observations_.setdefault(float(step), []).append((trial.arch, value))
                steps.append(step)
        if trial.score is not None and not steps:
            self.observations_.setdefault(FINAL, []).append((trial.arch, float(trial.score)))

    def model_budget(self) -> float | None:
        """The largest budget with enough observations for both densities, if any."""
        ready = [b for b, obs in self.observations_.items() if len(obs) >= self.min_points + 2]
        return max(ready) if ready else None

    # ---- proposing ---------------------------------------------------------------------------

    def propose(self) -> Arch:
        budget = self.model_budget()
        if budget is None or self.rng.random() < self.random_fraction:
            return self.novel(lambda: self.space.sample(self.rng))
        good, bad = self._split(self.observations_[budget])
        candidates = []
        for _ in range(self.n_candidates):
            arch = good[int(self.rng.integers(len(good)))]
            for _ in range(int(self.rng.geometric(0.5))):  # 1, 2, 3... steps w.p. 1/2, 1/4...
                arch = self.space.mutate(arch, self.rng)
            candidates.append(arch)
        x = self._encode(candidates)
        score = self._log_density(x, self._encode(good)) - self._log_density(x, self._encode(bad))
        for i in np.argsort(-score, kind="stable"):
            if candidates[i] not in self.seen_:
                return candidates[i]
        return self.novel(lambda: self.space.sample(self.rng))  # every candidate was seen

    def _split(self, observations: list[tuple[Arch, float]]) -> tuple[list[Arch], list[Arch]]:
        ranked = sorted(observations, key=lambda o: -o[1])  # stable: ties keep arrival order
        n = len(ranked)
        n_good = max(self.min_points, math.ceil(self.top_fraction * n))
        n_bad = max(self.min_points, math.ceil((1 - self.top_fraction) * n))
        return [a for a, _ in ranked[:n_good]], [a for a, _ in ranked[n - n_bad :]]

    def _encode(self, archs: list[Arch]) -> np.ndarray:
        rows = []
        for arch in archs:
            if arch not in self._encoded:
                self._encoded[arch] = np.asarray(self.space.encode(arch), dtype=float)
            rows.append(self._encoded[arch])
        return np.array(rows)

    def _log_density(self, x: np.ndarray, data: np.ndarray) -> np.ndarray:
        """Log of a product-Gaussian Parzen density of the rows of ``data`` at each row of ``x``."""
        from scipy.special import logsumexp

        n, d = data.shape
        bandwidth = np.maximum(data.std(axis=0) * n ** (-1.0 / (d + 4)), self.min_bandwidth)
        z = (x[:, None, :] - data[None, :, :]) / bandwidth
        log_kernel = -0.5 * (z**2).sum(axis=2) - np.log(bandwidth).sum()
        return np.asarray(logsumexp(log_kernel, axis=1) - math.log(n))


def _fraction(name: str, value: Any, closed: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = 0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0
    if not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ConfigError(f"strategy 'bohb': {name} must be a number in {interval}, got {value!r}")
    return float(value)
