"""Learning-curve prediction as an early-stopping rule (Baker et al. 2017)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from nasforge.errors import ConfigError
from nasforge.schedulers.base import Scheduler, check_float, check_int
from nasforge.space import Arch

UNCERTAINTIES = ("residuals", "held-out", "ensemble")


@dataclass(frozen=True)
class Prediction:
    """A predicted final value: ``mean`` and ``std``, and the distribution around them.

    ``held_out_error`` is the predictor's out-of-bag root-mean-square error (0 when
    ``uncertainty="ensemble"``). With ``residuals`` (``uncertainty="residuals"``) the final
    value is distributed as ``mean + r`` for ``r`` drawn from the out-of-bag residuals, each
    smoothed by a Gaussian of standard deviation ``kernel``; without them, as a Gaussian with
    ``mean`` and ``std``.
    """

    mean: float
    std: float
    held_out_error: float = 0.0
    residuals: tuple[float, ...] = ()
    kernel: float = 0.0

    def prob_above(self, threshold: float) -> float:
        """P(final > threshold) under this prediction's distribution."""
        from scipy.stats import norm

        if self.residuals:
            centres = self.mean + np.asarray(self.residuals)
            if self.kernel <= 0.0:
                return float(np.mean(centres > threshold))
            return float(np.mean(norm.sf(threshold, loc=centres, scale=self.kernel)))
        if self.std <= 0.0:
            return 1.0 if self.mean > threshold else 0.0
        return float(norm.sf(threshold, loc=self.mean, scale=self.std))


class _Fitted(NamedTuple):
    """The ensemble for one prefix length, its scalers and its out-of-bag residuals."""

    x_scaler: Any
    y_scaler: Any
    models: list[Any]
    error: float
    residuals: tuple[float, ...] = ()
    kernel: float = 0.0


class LearningCurveScheduler(Scheduler):
    """Stop a trial whose predicted final value is unlikely to beat the best so far.

    Baker et al. 2017, "Accelerating Neural Architecture Search using Performance Prediction":
    for each prefix length ``k`` a regression model maps the first ``k`` values of a curve, its
    first and second differences, and the architecture/hyperparameter features
    (``space.encode(arch)``) to the final value. The model is an ensemble of ``n_models``
    ν-support-vector regressors (scikit-learn ``NuSVR``, RBF kernel), each trained on a
    bootstrap sample of the completed trials' curves. The final value is taken as Gaussian
    around the ensemble mean, spread by the predictor's measured error: each completed curve is
    predicted by the models whose bootstrap sample left it out, and its out-of-bag residual
    (final minus that prediction) kept. With the default ``uncertainty="residuals"`` the final
    value is the ensemble mean plus one of these residuals drawn at random, each blurred by a
    Gaussian whose width combines the ensemble spread and a kernel bandwidth (Silverman's rule
    on a robust scale of the residuals): an empirical, conformal-style predictive distribution.
    A trial is stopped at step ``k`` when ``P(final > best complete final so far) < delta``.
    Nothing is stopped before ``min_trials`` trials have completed (the warm-up).

    Why measured residuals: the bootstrap spread measures how much the models disagree, not how
    wrong they are. With tens of curves whose early values say little about the final one (as
    on MNIST-1D, where epoch-1 accuracy has Spearman ≈ 0.1 with the final), the ensemble agrees
    on a wrong answer, its spread is small, and the paper's rule stops nearly every trial
    (``uncertainty="ensemble"`` gives that rule). The out-of-bag residuals are the predictor's
    error on curves it did not see. Summarising them by their root-mean-square as a Gaussian
    (``uncertainty="held-out"``, the previous default) fails the other way: a few diverged
    trials (final ≈ 10% among finals of 97–99%) give residuals of −80 that make the Gaussian so
    wide that no trial is ever unlikely to beat the best, although such residuals say nothing
    about how far above its prediction a trial can end. The empirical residuals keep the two
    tails apart. On the stored MNIST-1D searches (60 complete curves each, predictions at steps
    1, 3, 5 and 10 of 20 after ten completions) the share of finals above the predicted upper
    10% quantile was 0.00 with the Gaussian and 0.02–0.12 with the residuals (calibrated: 0.10).

    Training data: only completed trials, whose final value is known. A pruned trial's partial
    curve has no target, and filling one in with the predictor's own guess would train the
    model on its decisions, so pruned curves are left out of the fit (they stay in ``curves_``
    for the other bookkeeping); so are failed trials.

    The predictor's accuracy is logged in ``accuracy_`` as it learns, at a few prefix lengths
    (:meth:`logged_steps`), as rows ``{"kind", "trained_on", "step", "n", "r2", "spearman",
    "rmse"}``: ``"next"`` rows score the predictions made for each trial that completes, by the
    models trained on the trials completed before it, every ``accuracy_window`` such trials;
    ``"leave-one-out"`` rows score leave-one-out predictions (one ``NuSVR`` per fold) on all
    completed curves, each time ``accuracy_window`` more trials have completed.

    Departures from the paper: Baker et al. train on ~100 curves, choose the SVR
    hyperparameters by cross-validation, and use the ensemble spread alone as the uncertainty;
    here ``min_trials`` defaults to 10 (searches of tens of trials), ``nu``/``C`` are fixed
    options on standardised features and target (cross-validating on ten curves is noise), and
    the out-of-bag residuals widen the spread (see above) because with so few curves the
    spread alone is overconfident. The "next trials" of the accuracy log are the trials the
    scheduler let complete, not a random sample.

    Args:
        min_trials: completed trials needed before the scheduler stops anything.
        delta: stop when the probability of beating the best so far is below this (on the
            MNIST-1D benchmark search, 0.2 trains about a quarter of the epochs and keeps the
            best accuracy on 4 of 5 seeds; BENCHMARKS.md).
        min_step: no trial is stopped before this step.
        n_models: ensemble size (bootstrap samples).
        nu: ν of each ``NuSVR``.
        C: regularisation of each ``NuSVR``.
        accuracy_window: completed trials per row of the accuracy log.
        uncertainty: ``"residuals"`` (spread and the out-of-bag residuals, the default),
            ``"held-out"`` (spread and a Gaussian with the out-of-bag RMS error) or
            ``"ensemble"`` (the paper's spread alone).
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
        uncertainty: str = "residuals",
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
        if uncertainty not in UNCERTAINTIES:
            raise ConfigError(
                f"scheduler {self.name!r}: uncertainty={uncertainty!r}; "
                f"use one of {', '.join(UNCERTAINTIES)}"
            )
        self.uncertainty = uncertainty
        self.seed = check_int(self.name, "seed", seed, 0)
        super().__init__(max_step)

    def check_options(self) -> None:
        self.check_below_max_step("min_step", self.min_step)

    def reset(self) -> None:
        super().reset()
        self._models: dict[int, _Fitted] = {}
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

    def _fit(self, k: int) -> _Fitted | None:
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
        # out-of-bag: each curve is predicted by the models whose bootstrap sample left it out
        oob_sum, oob_count = np.zeros(len(y)), np.zeros(len(y))
        for _ in range(self.n_models):
            index = rng.integers(0, len(y), size=len(y))
            model = NuSVR(nu=self.nu, C=self.C, kernel="rbf", gamma="scale")
            models.append(model.fit(xs[index], ys[index]))
            out = np.setdiff1d(np.arange(len(y)), index)
            if len(out):
                oob_sum[out] += model.predict(xs[out])
                oob_count[out] += 1
        seen = oob_count > 0
        residuals = np.array([])
        if seen.sum() >= 2:
            scaled = (oob_sum[seen] / oob_count[seen]).reshape(-1, 1)
            residuals = y[seen] - y_scaler.inverse_transform(scaled).ravel()
        if self.uncertainty == "ensemble":
            fitted = _Fitted(x_scaler, y_scaler, models, 0.0)
        elif len(residuals) < 2:  # nothing held out yet: assume no skill
            fitted = _Fitted(x_scaler, y_scaler, models, float(np.std(y)))
        else:
            rms = float(np.sqrt(np.mean(residuals**2)))
            fitted = _Fitted(x_scaler, y_scaler, models, rms)
            if self.uncertainty == "residuals":
                kept = tuple(float(r) for r in residuals)
                fitted = fitted._replace(residuals=kept, kernel=_bandwidth(residuals))
        self._models[k] = fitted
        return fitted

    def predict(self, prefix: list[float], arch: Arch | None) -> Prediction | None:
        """The predicted final value of a curve starting with ``prefix`` (``None``: too few).

        ``mean`` is the ensemble mean. With ``uncertainty="residuals"`` the prediction carries
        the out-of-bag residuals of the completed curves at this prefix length and a kernel
        width ``hypot(spread, bandwidth)``, and ``std`` is the standard deviation of that
        mixture; with ``"held-out"`` ``std`` is ``sqrt(spread² + held_out_error²)`` (the
        out-of-bag root-mean-square error); with ``"ensemble"`` the spread alone (the paper).
        """
        fitted = self._fit(len(prefix))
        if fitted is None:
            return None
        x = fitted.x_scaler.transform(self.features(prefix, arch).reshape(1, -1))
        scaled = np.array([m.predict(x)[0] for m in fitted.models]).reshape(-1, 1)
        values = fitted.y_scaler.inverse_transform(scaled).ravel()
        spread = float(values.std())
        if fitted.residuals:
            kernel = math.hypot(spread, fitted.kernel)
            std = math.sqrt(spread**2 + fitted.kernel**2 + float(np.var(fitted.residuals)))
            return Prediction(float(values.mean()), std, fitted.error, fitted.residuals, kernel)
        return Prediction(float(values.mean()), math.hypot(spread, fitted.error), fitted.error)

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
                "rmse": _finite(_rmse(y, predicted)),
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
                "rmse": _finite(_rmse(actual, predicted)),
            }
        )

    def logged_steps(self) -> list[int]:
        """The prefix lengths the accuracy log follows."""
        candidates = {1, 2, 3, self.max_step_ // 4, self.max_step_ // 2}
        return sorted(s for s in candidates if self.min_step <= s < self.max_step_)


def _bandwidth(residuals: np.ndarray) -> float:
    """Silverman's rule of thumb on a robust scale (outliers do not widen the kernel)."""
    q75, q25 = np.percentile(residuals, [75, 25])
    scale = min(float(np.std(residuals)), float(q75 - q25) / 1.349)
    if scale <= 0.0:
        scale = float(np.std(residuals))
    return 0.9 * scale * len(residuals) ** -0.2


def _r2(actual: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(actual, predicted))


def _rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def _spearman(actual: np.ndarray, predicted: np.ndarray) -> float:
    if np.ptp(actual) == 0 or np.ptp(predicted) == 0:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(actual, predicted).statistic)


def _finite(x: float) -> float | None:
    """``x`` rounded, or ``None`` when undefined (e.g. constant values), so it stays JSON."""
    return round(x, 4) if math.isfinite(x) else None
