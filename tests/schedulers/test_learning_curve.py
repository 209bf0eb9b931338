"""Learning-curve prediction (Baker et al. 2017): features, predictor accuracy, stopping rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.schedulers import create_scheduler
from nasforge.schedulers.learning_curve import LearningCurveScheduler, Prediction
from nasforge.space import Arch, Categorical, Space
from nasforge.trial import Trial, TrialStatus

MAX_STEP = 8


def curve_of(q: float, a: float) -> list[float]:
    return [q - a / s for s in range(1, MAX_STEP + 1)]


def trial(number: int, curve: list[float], arch: Arch | None = None) -> Trial:
    return Trial(
        number,
        arch or Arch({"width": 0}),
        TrialStatus.COMPLETE,
        metrics={"value": curve[-1]},
        intermediate={s: {"value": v} for s, v in enumerate(curve, start=1)},
        tell_seq=number,
    )


def test_features_are_values_differences_and_the_arch_encoding() -> None:
    space = Space([Categorical("width", [8, 16, 32])])
    lc = LearningCurveScheduler().bind(space, MAX_STEP, "value")
    x = lc.features([1.0, 3.0, 4.0], Arch({"width": 16}))
    assert x.tolist() == [1.0, 3.0, 4.0, 2.0, 1.0, -1.0, *space.encode(Arch({"width": 16}))]
    assert LearningCurveScheduler().bind(None, MAX_STEP, "value").features(
        [2.0], None
    ).tolist() == [2.0]


def test_prediction_probability_is_the_gaussian_tail() -> None:
    assert Prediction(90.0, 1.0).prob_above(90.0) == pytest.approx(0.5)
    assert Prediction(90.0, 1.0).prob_above(91.645) == pytest.approx(0.05, abs=1e-3)
    assert Prediction(90.0, 0.0).prob_above(89.0) == 1.0


def test_residual_tail_ignores_diverged_trials_that_inflate_a_gaussian() -> None:
    # out-of-bag residuals of 18 ordinary curves (about ±0.5) and two diverged ones (-80)
    residuals = (*np.linspace(-0.5, 0.5, 18), -80.0, -85.0)
    rms = float(np.sqrt(np.mean(np.square(residuals))))  # about 26
    gaussian = Prediction(97.0, rms, rms)
    empirical = Prediction(97.0, rms, rms, residuals, kernel=0.2)
    # beating 98.5 needs a residual of +1.5: never seen; the Gaussian calls it likely
    assert gaussian.prob_above(98.5) > 0.45
    assert empirical.prob_above(98.5) < 1e-6
    # the kernel-smoothed mixture is the mean of each residual's Gaussian tail
    expected = np.mean([norm_sf(97.2 - (97.0 + r), 0.2) for r in residuals])
    assert empirical.prob_above(97.2) == pytest.approx(expected)
    assert Prediction(97.0, 1.0, 1.0, (-1.0, 0.0, 1.0)).prob_above(97.5) == pytest.approx(1 / 3)


def norm_sf(x: float, scale: float) -> float:
    return 0.5 * math.erfc(x / (scale * math.sqrt(2.0)))


def test_default_uncertainty_uses_the_out_of_bag_residuals() -> None:
    rng = np.random.default_rng(0)
    lc = LearningCurveScheduler(min_trials=10).bind(None, MAX_STEP, "value")
    assert lc.uncertainty == "residuals"
    for number in range(20):
        lc.replay_trial(trial(number, curve_of(rng.uniform(50, 95), 20.0)))
    p = lc.predict(curve_of(80.0, 20.0)[:2], None)
    assert p is not None and 5 <= len(p.residuals) <= 20 and p.kernel > 0
    assert p.held_out_error == pytest.approx(float(np.sqrt(np.mean(np.square(p.residuals)))))


def test_predictor_learns_final_values_from_early_curves_and_logs_its_accuracy() -> None:
    rng = np.random.default_rng(0)
    lc = LearningCurveScheduler(min_trials=10, accuracy_window=5).bind(None, MAX_STEP, "value")
    for number in range(40):
        lc.replay_trial(trial(number, curve_of(rng.uniform(50, 95), rng.uniform(5, 40))))
    assert lc.logged_steps() == [1, 2, 3, 4]
    # 30 trials predicted before they were learned, per logged step: 6 windows of 5
    assert len(lc.predictions_) == 30 * 4
    rows = [r for r in lc.accuracy_ if r["step"] == 3 and r["kind"] == "next"]
    assert [r["trained_on"] for r in rows] == [10, 15, 20, 25, 30, 35]
    assert all(r["n"] == 5 for r in rows)
    # from three epochs q - a/s is fully determined: the predictor ranks the next trials well
    assert min(r["spearman"] for r in rows[2:]) >= 0.8
    assert np.mean([r["r2"] for r in rows[2:]]) > 0.8
    # leave-one-out rows every 5 completions, from 5 curves on
    loo = [r for r in lc.accuracy_ if r["step"] == 3 and r["kind"] == "leave-one-out"]
    assert [r["n"] for r in loo] == [5, 10, 15, 20, 25, 30, 35, 40]
    assert loo[-1]["r2"] > 0.8 and loo[-1]["spearman"] > 0.9
    # and predicts a held-out curve's final value closely
    prediction = lc.predict(curve_of(80.0, 20.0)[:3], None)
    assert prediction is not None and abs(prediction.mean - 80.0) < 3.0


def test_stops_when_beating_the_best_is_unlikely_and_not_before_min_trials() -> None:
    lc = create_scheduler("learning-curve", min_trials=10, delta=0.05).bind(None, MAX_STEP, "value")
    levels = np.linspace(55.0, 90.0, 10)
    for number, q in enumerate(levels[:-1]):
        lc.replay_trial(trial(number, curve_of(q, 20.0)))
    assert lc.should_stop(10, 1, 40.0) is False  # nine completed: too few to judge
    lc.replay_trial(trial(9, curve_of(levels[-1], 20.0)))
    assert lc.should_stop(11, 1, 40.0) is True  # a 60-level start cannot reach 90
    assert lc.should_stop(12, 1, 70.0) is False  # the best trial's own start goes on
    assert lc.should_stop(12, MAX_STEP, 0.0) is False


def noise_curve(rng: np.random.Generator) -> list[float]:
    """Early values that say nothing about the final one (as MNIST-1D's first epochs)."""
    return [*rng.uniform(20.0, 60.0, size=MAX_STEP - 1), float(rng.uniform(95.0, 99.0))]


def test_an_uninformative_predictor_gets_a_wide_std_and_stops_almost_nothing() -> None:
    stopped, predictions = {}, {}
    for uncertainty in ("ensemble", "held-out"):
        rng = np.random.default_rng(0)
        lc = LearningCurveScheduler(min_trials=10, uncertainty=uncertainty).bind(
            None, MAX_STEP, "value"
        )
        for number in range(12):
            lc.replay_trial(trial(number, noise_curve(rng)))
        best = max(lc.finals_.values())
        mine = [lc.predict(noise_curve(rng)[:2], None) for _ in range(40)]
        predictions[uncertainty] = [p for p in mine if p is not None]
        stopped[uncertainty] = sum(p.prob_above(best) < 0.05 for p in predictions[uncertainty])
    finals_sd = float(np.std(list(lc.finals_.values())))  # about 1.07
    for spread_only, held in zip(predictions["ensemble"], predictions["held-out"], strict=True):
        assert spread_only.held_out_error == 0.0 and spread_only.mean == held.mean
        assert held.std == pytest.approx(math.hypot(spread_only.std, held.held_out_error))
        assert held.held_out_error > 0.9 * finals_sd > 1.5 * spread_only.std
    # the bootstrap spread alone (about 0.35) is sure of a predictor that has no skill: it
    # stops all 40 typical trials; with the out-of-bag error it stops at most one
    assert len(predictions["held-out"]) == 40
    assert stopped["ensemble"] == 40
    assert stopped["held-out"] <= 1


def test_held_out_error_is_small_when_the_curve_predicts_and_spares_a_better_trial() -> None:
    verdicts = {}
    for uncertainty in ("ensemble", "held-out"):
        rng = np.random.default_rng(0)
        lc = LearningCurveScheduler(min_trials=10, uncertainty=uncertainty).bind(
            None, MAX_STEP, "value"
        )
        for number in range(20):
            lc.replay_trial(trial(number, curve_of(rng.uniform(50, 95), 20.0)))
        best = max(lc.finals_.values())  # about 89.6
        verdict = []
        for q in (60.0, 80.0, 92.0):
            p = lc.predict(curve_of(q, 20.0)[:2], None)
            assert p is not None
            verdict.append(p.prob_above(best) < 0.05)
            if uncertainty == "held-out":
                assert 0.5 < p.held_out_error < 2.0  # a few points on a 45-point range
        verdicts[uncertainty] = verdict
    # both stop the clearly worse curves; the SVR shrinks extremes towards the mean, and only
    # the measured error keeps the spread-only rule from stopping a trial that beats the best
    assert verdicts["held-out"] == [True, True, False]
    assert verdicts["ensemble"] == [True, True, True]


def test_uncertainty_option_is_checked() -> None:
    with pytest.raises(
        ConfigError, match="uncertainty='bayes'; use one of residuals, held-out, ensemble"
    ):
        LearningCurveScheduler(uncertainty="bayes")


def test_replay_rebuilds_the_same_predictions_and_accuracy_log() -> None:
    rng = np.random.default_rng(1)
    trials = [trial(n, curve_of(rng.uniform(50, 95), rng.uniform(5, 40))) for n in range(20)]
    live = LearningCurveScheduler(min_trials=5).bind(None, MAX_STEP, "value")
    for t in trials:
        for step, metrics in t.intermediate.items():
            live.report(t.number, step, metrics, t.arch)
        live.complete(t)
    again = LearningCurveScheduler(min_trials=5).bind(None, MAX_STEP, "value")
    again.replay(trials[::-1])
    assert again.accuracy_ == live.accuracy_ and again.predictions_ == live.predictions_
    probe = curve_of(70.0, 30.0)[:2]
    a, b = live.predict(probe, None), again.predict(probe, None)
    assert a is not None and b is not None and a == b
