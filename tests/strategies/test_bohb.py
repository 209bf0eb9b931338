"""BOHB's sampler: budgets from curves, the good/bad split, and that its model pays off."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.strategies.bohb import BOHB, FINAL
from nasforge.testing.strategies import conv_count, nb201_space
from nasforge.trial import Trial, TrialStatus


def curve_trial(number: int, arch: nf.Arch, values: list[float], status: str) -> Trial:
    final = values[-1]
    return Trial(
        number,
        arch,
        TrialStatus(status),
        metrics={"val_loss": final},
        scores=(-final,) if status == "complete" else None,
        intermediate={s: {"val_loss": v} for s, v in enumerate(values, start=1)},
    )


def test_each_reported_step_is_a_budget_pruned_trials_included() -> None:
    space = nb201_space()
    bohb = BOHB(space, seed=0, objectives={"val_loss": "min"}, min_points=1)
    archs = [space.sample(np.random.default_rng(i)) for i in range(3)]
    bohb.tell(curve_trial(0, archs[0], [3.0, 2.0, 1.0], "complete"))
    bohb.tell(curve_trial(1, archs[1], [4.0], "pruned"))
    bohb.tell(Trial(2, archs[2], TrialStatus.COMPLETE, {"x": 1.0}, scores=(0.5,)))  # no curve
    assert bohb.observations_ == {
        1.0: [(archs[0], -3.0), (archs[1], -4.0)],
        2.0: [(archs[0], -2.0)],
        3.0: [(archs[0], -1.0)],
        FINAL: [(archs[2], 0.5)],
    }
    assert bohb.model_budget() is None  # min_points + 2 = 3 observations needed
    bohb.tell(curve_trial(3, archs[1], [5.0], "pruned"))
    assert bohb.model_budget() == 1.0


def test_good_and_bad_sets_follow_the_paper_sizes() -> None:
    space = nb201_space()
    bohb = BOHB(space, seed=0, top_fraction=0.15, min_points=3)
    archs = list(space.enumerate())[:20]
    good, bad = bohb._split([(a, float(i)) for i, a in enumerate(archs)])
    assert good == archs[19:16:-1]  # max(3, ceil(0.15 * 20)) = 3 best
    assert bad == archs[16::-1]  # max(3, ceil(0.85 * 20)) = 17 worst


def test_the_density_ratio_proposes_better_archs_than_random_sampling() -> None:
    space = nb201_space()
    rng = np.random.default_rng(0)
    bohb = BOHB(space, seed=1, objectives={"val_loss": "min"}, random_fraction=0.0)
    for number in range(60):
        arch = space.sample(rng)
        bohb.tell(curve_trial(number, arch, [float(-conv_count(arch))], "pruned"))
    assert bohb.model_budget() == 1.0
    proposed = [conv_count(bohb.ask()) for _ in range(30)]
    sampled = [conv_count(space.sample(rng)) for _ in range(300)]
    # val_loss = -convs at budget 1: the model should propose conv-heavy cells
    assert np.mean(proposed) > np.mean(sampled) + 1.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"random_fraction": 1.5}, r"random_fraction must be a number in \[0, 1\], got 1.5"),
        ({"top_fraction": 0.0}, r"top_fraction must be a number in \(0, 1\), got 0.0"),
        ({"min_bandwidth": 0}, "min_bandwidth must be a number > 0, got 0"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BOHB(nb201_space(), **options)  # type: ignore[arg-type]


def test_bohb_is_hyperband_plus_the_sampler_in_an_experiment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def evaluator(arch: nf.Arch, ctx: nf.TrialContext) -> dict[str, float]:
        level = 50.0 + 8.0 * conv_count(arch)
        value = math.nan
        for epoch in range(1, 10):
            value = level - 30.0 / epoch
            ctx.report(epoch, {"val_acc": value})
        return {"val_acc": value}

    exp = nf.Experiment(
        nb201_space(),
        strategy="bohb",
        evaluator=evaluator,
        storage=tmp_path / "b.db",
        fidelity={"epochs": 9},
        scheduler="hyperband",
        strategy_options={"min_points": 4},
    )
    exp.run(max_trials=40, progress=False)
    statuses = [t.status for t in exp.trials()]
    assert statuses.count(TrialStatus.PRUNED) >= 10
    strategy = exp.strategy_
    assert isinstance(strategy, BOHB)
    # every trial reached step 1, so the model was fitted on more than the complete trials
    assert len(strategy.observations_[1.0]) == 40
    budget = strategy.model_budget()
    assert budget is not None and budget >= 3.0
    assert exp.best().metrics["val_acc"] >= 50.0 + 8.0 * 4 - 30.0 / 9  # type: ignore[union-attr]
