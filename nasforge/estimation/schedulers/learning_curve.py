"""Learning-curve prediction as an early-stopping rule (Baker et al. 2017)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasforge.errors import ConfigError
from nasforge.estimation.schedulers.base import Scheduler, check_float, check_int
from nasforge.space import Arch


@dataclass(frozen=True)
class Prediction:
    """A predicted final value: the ensemble mean and spread."""

    mean: float
    std: float

    def prob_above(self, threshold: float) -> float:
        """P(final > threshold) under a Gaussian with this mean and std."""
        if self.std <= 0.0:
            return 1.0 if self.mean > threshold else 0.0
        from scipy.stats import norm

        return float(norm.sf(threshold, loc=self.mean, scale=self.std))


class LearningCurveScheduler(Scheduler):
    """Stop a trial whose predicted final value is unlikely to beat the best so far.

    Baker et al. 2017, "Accelerating Neural Architecture Search using Performance Prediction":
    for each prefix length ``k`` a regression model maps the first ``k`` values of a curve, its
    first and second differences, and the architecture/hyperparameter features
    (``space.encode(arch)``) to the final value. The model is an ensemble of ``n_models``
    ν-support-vector regressors (scikit-learn ``NuSVR``, RBF kernel), each trained on a
    bootstrap sample of the completed trials' curves; the ensemble's mean and standard deviation
    give a Gaussian estimate of the final value, and a trial is stopped at step ``k`` when
    ``P(final > best final so far) < delta``. Nothing is stopped before ``min_trials`` trials
    have completed.

    The predictor's accuracy is logged in ``accuracy_`` as it learns, at a few prefix lengths
    (:meth:`logged_steps`), as rows ``{"kind", "trained_on", "step", "n", "r2", "spearman"}``:
    ``"next"`` rows score the predictions made for each trial that completes, by the models
    trained on the trials completed before it, every ``accuracy_window`` such trials;
    ``"leave-one-out"`` rows score leave-one-out predictions (one ``NuSVR`` per fold) on all
    completed curves, each time ``accuracy_window`` more trials have completed (the only
    held-out estimate when the scheduler lets few trials complete).

    Departures from the paper: Baker et al. train on ~100 curves and choose the SVR
    hyperparameters by cross-validation; here ``min_trials`` defaults to 10 (searches of tens
    of trials) and ``nu``/``C`` are fixed options on standardised features and target, as
    cross-validating on ten curves is noise. The "next trials" of the accuracy log are the
    trials the scheduler let complete, not a random sample.

    Args:
        min_trials: completed trials needed before the scheduler stops anything.
        delta: stop when the probability of beating the best so far is below this.
        min_step: no trial is stopped before this step.
        n_models: ensemble size (bootstrap samples).
        nu: ν of each ``NuSVR``.
        C: regularisation of each ``NuSVR``.
        accuracy_window: completed trials per row of the accuracy log.
        seed: seeds the bootstrap samples.
        max_step: the full step; default from the experiment.
    """

    name = "learning-curve"

    def __init__(
        self,
        min_trials: int = 10,
        delta: float = 0.05,
        min_step: int = 1,
        n_models: int = 10,
        nu: float = 0.5,
        C: float = 1.0,  # noqa: N803 - the name scikit-learn and the SVR literature use
        accuracy_window: int = 5,
        seed: int = 0,
        max_step: int | None = None,
    ) -> None:
        self.min_trials = check_int(self.name, "min_trials", min_trials, 2)
        self.delta = check_float(self.name, "delta", delta, 0.0, 1.0)
        self.min_step = check_int(self.name, "min_step", min_step, 1)
        self.n_models = check_int(self.name, "n_models", n_models, 1)
        self.nu = check_float(self.name, "nu", nu, 0.0, 1.0 + 1e-12)
        self.C = check_float(self.name, "C", C, 0.0, math.inf)
        self.accuracy_window = check_int(self.name, "accuracy_window", accuracy_window, 2)
        self.seed = check_int(self.name, "seed", seed, 0)
        super().__init__(max_step)

    def check_options(self) -> None:
        if self.min_step >= self.max_step_:
            raise ConfigError(
                f"scheduler {self.name!r}: min_step={self.min_step} must be below "
                f"max_step={self.max_step_}"
            )

    def reset(self) -> None:
        super().reset()
        self._models: dict[int, tuple[Any, Any, list[Any]]] = {}
        #: (trained_on, step, predicted, actual) for each completed trial predicted beforehand
        self.predictions_: list[tuple[int, int, float, float]] = []
        #: rows {"kind", "trained_on", "step", "n", "r2", "spearman"} (see the class docstring)
        self.accuracy_: list[dict[str, Any]] = []

    # ---- features and models -----------------------------------------------------------------

    def features(self, prefix: list[float], arch: Arch | None) -> np.ndarray:
        """Curve values, their first and second differences, and the arch encoding."""
        values = np.asarray(prefix, dtype=float)
        parts = [values, np.diff(values), np.diff(values, n=2)]
        if self.space_ is not None and arch is not None:
            parts.append(np.asarray(self.space_.encode(arch), dtype=float))
        return np.concatenate(parts)

    def _training_set(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows, targets = [], []
        for number, curve in self.completed_curves().items():
            values = [curve[s] for s in sorted(curve)]
            if len(values) < k:
                continue
            rows.append(self.features(values[:k], self.archs_.get(number)))
            targets.append(self.finals_[number])
        return np.array(rows), np.array(targets)

    def _fit(self, k: int) -> tuple[Any, Any, list[Any]] | None:
        if k in self._models:
            return self._models[k]
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import NuSVR

        x, y = self._training_set(k)
        if len(y) < self.min_trials:
            return None
        x_scaler = StandardScaler().fit(x)
        y_scaler = StandardScaler().fit(y.reshape(-1, 1))
        xs = x_scaler.transform(x)
        ys = y_scaler.transform(y.reshape(-1, 1)).ravel()
        rng = np.random.default_rng([self.seed, k, len(y)])
        models = []
        for _ in range(self.n_models):
            index = rng.integers(0, len(y), size=len(y))
            model = NuSVR(nu=self.nu, C=self.C, kernel="rbf", gamma="scale")
            models.append(model.fit(xs[index], ys[index]))
        self._models[k] = (x_scaler, y_scaler, models)
        return self._models[k]

    def predict(self, prefix: list[float], arch: Arch | None) -> Prediction | None:
        """The predicted final value of a curve starting with ``prefix`` (``None``: too few)."""
        fitted = self._fit(len(prefix))
        if fitted is None:
            return None
        x_scaler, y_scaler, models = fitted
        x = x_scaler.transform(self.features(prefix, arch).reshape(1, -1))
        scaled = np.array([m.predict(x)[0] for m in models]).reshape(-1, 1)
        values = y_scaler.inverse_transform(scaled).ravel()
        return Prediction(float(values.mean()), float(values.std()))

    # ---- the rule ----------------------------------------------------------------------------

    def decide(self, trial: int, step: int, value: float) -> bool:
        if step < self.min_step or len(self.finals_) < self.min_trials:
            return False
        curve = self.curves_[trial]
        prefix = [curve[s] for s in sorted(curve) if s <= step]
        prediction = self.predict(prefix, self.archs_.get(trial))
        if prediction is None:
            return False
        return prediction.prob_above(max(self.finals_.values())) < self.delta

    def on_complete(self, trial: int) -> None:
        if trial not in self.finals_:
            return
        final = self.finals_.pop(trial)  # predict it with the models that have not seen it
        trained_on = len(self.finals_)
        if trained_on >= self.min_trials:
            curve = self.curves_.get(trial, {})
            values = [curve[s] for s in sorted(curve)]
            for step in self.logged_steps():
                if len(values) <= step:
                    continue
                prediction = self.predict(values[:step], self.archs_.get(trial))
                if prediction is not None:
                    self.predictions_.append((trained_on, step, prediction.mean, final))
                    self._log_accuracy(step)
        self.finals_[trial] = final
        self._models.clear()
        if len(self.finals_) >= 5 and len(self.finals_) % self.accuracy_window == 0:
            for step in self.logged_steps():
                self._log_cross_validation(step)

    def _log_cross_validation(self, step: int) -> None:
        """Leave-one-out accuracy of one ``NuSVR`` per fold on the completed curves at ``step``.

        Logged beside the "next trials" rows because a scheduler that stops most trials sees
        few trials complete after it starts: the held-out curves are then the training ones.
        """
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import NuSVR

        x, y = self._training_set(step)
        if len(y) < 5:
            return
        predicted = np.empty(len(y))
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            x_scaler = StandardScaler().fit(x[keep])
            y_scaler = StandardScaler().fit(y[keep].reshape(-1, 1))
            model = NuSVR(nu=self.nu, C=self.C, kernel="rbf", gamma="scale")
            model.fit(
                x_scaler.transform(x[keep]), y_scaler.transform(y[keep].reshape(-1, 1)).ravel()
            )
            scaled = model.predict(x_scaler.transform(x[i : i + 1])).reshape(-1, 1)
            predicted[i] = y_scaler.inverse_transform(scaled)[0, 0]
        self.accuracy_.append(
            {
                "kind": "leave-one-out",
                "trained_on": len(y) - 1,
                "step": step,
                "n": len(y),
                "r2": _finite(_r2(y, predicted)),
                "spearman": _finite(_spearman(y, predicted)),
            }
        )

    def _log_accuracy(self, step: int) -> None:
        mine = [p for p in self.predictions_ if p[1] == step]
        if len(mine) % self.accuracy_window:
            return
        window = mine[-self.accuracy_window :]
        predicted = np.array([p[2] for p in window])
        actual = np.array([p[3] for p in window])
        self.accuracy_.append(
            {
                "kind": "next",
                "trained_on": window[0][0],
                "step": step,
                "n": len(window),
                "r2": _finite(_r2(actual, predicted)),
                "spearman": _finite(_spearman(actual, predicted)),
            }
        )

    def logged_steps(self) -> list[int]:
        """The prefix lengths the accuracy log follows."""
        candidates = {1, 2, 3, self.max_step_ // 4, self.max_step_ // 2}
        return sorted(s for s in candidates if self.min_step <= s < self.max_step_)


def _r2(actual: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(actual, predicted))


def _spearman(actual: np.ndarray, predicted: np.ndarray) -> float:
    if np.ptp(actual) == 0 or np.ptp(predicted) == 0:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(actual, predicted).statistic)


def _finite(x: float) -> float | None:
    """``x`` rounded, or ``None`` when undefined (e.g. constant values), so it stays JSON."""
    return round(x, 4) if math.isfinite(x) else None
