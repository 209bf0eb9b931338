"""Early-stopping schedulers: the shared conformance check and each rule's numbers."""

from __future__ import annotations

import pytest

from nasforge.errors import ConfigError, UnknownNameError
from nasforge.schedulers import (
    Hyperband,
    MedianStopping,
    SuccessiveHalving,
    create_scheduler,
    list_schedulers,
)
from nasforge.space import Arch
from nasforge.testing.schedulers import ORACLES, check_scheduler
from nasforge.trial import Trial, TrialStatus


def finished(number: int, curve: list[float], status: str = "complete") -> Trial:
    return Trial(
        number,
        Arch({"n": number}),
        TrialStatus(status),
        metrics={"value": curve[-1]},
        intermediate={s: {"value": v} for s, v in enumerate(curve, start=1)},
        tell_seq=number,
    )


@pytest.mark.parametrize("name", list_schedulers())
def test_every_scheduler_stops_what_its_rule_says_with_parallel_workers_and_resumes(
    name: str,
) -> None:
    sim = check_scheduler(name, n_trials=40, max_step=9, workers=4)
    assert 0 < len(sim.trials) == 40


@pytest.mark.parametrize("name", list_schedulers())
def test_every_scheduler_has_an_oracle_and_refuses_a_missing_max_step(name: str) -> None:
    assert name in ORACLES
    with pytest.raises(ConfigError, match="max_step is unknown"):
        create_scheduler(name).bind(None, None, "value")


def test_unknown_scheduler_names_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="asha"):
        create_scheduler("nope")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("asha", {"reduction_factor": 1}, "reduction_factor must be an integer >= 2, got 1"),
        ("asha", {"min_step": 0}, "min_step must be an integer >= 1, got 0"),
        ("median", {"min_trials": 0}, "min_trials must be an integer >= 1"),
        ("hyperband", {"max_step": True}, "max_step must be an integer >= 1, got True"),
        ("learning-curve", {"delta": 1.5}, r"delta must be a number in \(0.0, 1.0\), got 1.5"),
    ],
)
def test_bad_options_name_the_scheduler_and_the_option(
    name: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"scheduler {name!r}: {message}"):
        create_scheduler(name, **options)


def test_min_step_at_or_past_max_step_is_refused() -> None:
    with pytest.raises(ConfigError, match="min_step=9 must be below max_step=9"):
        SuccessiveHalving(min_step=9).bind(None, 9, "value")


def test_asha_rungs_and_top_third_promotion() -> None:
    asha = SuccessiveHalving(min_step=1, reduction_factor=3).bind(None, 27, "value")
    assert asha.rungs() == [1, 3, 9]
    # rung 1 fills with 0.1 .. 0.9: with n values the top n // 3 (at least 1) go on
    decisions = [asha.should_stop(t, 1, v / 10) for t, v in enumerate([5, 3, 7, 1, 9, 8, 2, 6, 4])]
    #            n=1 keep, n=2 top1=5 stop, n=3 top1=7 keep, n=4 top1 stop, 9 keep,
    #            n=6 top2 {9,8} keep, 2 stop, n=8 top2 {9,8}: 6 stop, n=9 top3 {9,8,7}: 4 stop
    assert decisions == [False, True, False, True, False, False, True, True, True]
    assert [v for _, v in asha.rung_values_[1]] == [0.5, 0.3, 0.7, 0.1, 0.9, 0.8, 0.2, 0.6, 0.4]
    # steps between rungs never stop; the final step never stops
    assert asha.should_stop(0, 2, 0.0) is False
    assert asha.should_stop(99, 27, 0.0) is False


def test_asha_judges_a_skipped_rung_at_the_first_report_past_it() -> None:
    asha = SuccessiveHalving(min_step=2, reduction_factor=2).bind(None, 8, "value")
    assert asha.rungs() == [2, 4]
    assert asha.should_stop(0, 3, 0.9) is False  # reported 3 first: judged at rung 2 with 0.9
    assert asha.rung_values_[2] == [(0, 0.9)]
    assert asha.should_stop(1, 2, 0.5) is True


def test_hyperband_brackets_follow_hyperband_sizes_and_compare_within_a_bracket() -> None:
    hb = Hyperband(min_step=1, reduction_factor=3).bind(None, 20, "value")
    assert hb.s_max == 2
    assert hb.bracket_sizes() == [9, 5, 3]
    assert [hb.bracket_rungs(i) for i in range(3)] == [[1, 3, 9], [3, 9], [9]]
    counts = [sum(hb.bracket_of(n) == b for n in range(170)) for b in range(3)]
    assert counts == [90, 50, 30]
    # trial 9 is the first of bracket 1: nothing recorded there, so it goes on at step 3
    assert hb.should_stop(0, 1, 0.9) is False
    assert hb.should_stop(1, 1, 0.1) is True
    assert hb.should_stop(9, 1, 0.0) is False  # bracket 1 has no rung at step 1
    assert hb.should_stop(9, 3, 0.0) is False
    assert hb.should_stop(10, 3, -1.0) is True


def test_median_rule_uses_running_averages_of_completed_trials_only() -> None:
    median = MedianStopping(warmup_steps=1, min_trials=3).bind(None, 4, "value")
    for number, curve in enumerate([[1, 2, 3, 4], [2, 4, 6, 8], [3, 3, 3, 3]]):
        median.replay_trial(finished(number, [float(v) for v in curve]))
    median.replay_trial(finished(3, [100.0, 100.0], "pruned"))  # pruned: not counted
    # running averages at step 2: 1.5, 3, 3 -> median 3; at step 3: 2, 4, 3 -> 3
    assert median.median_at(2) == 3.0 and median.median_at(3) == 3.0
    assert median.should_stop(10, 1, 0.0) is False  # warm-up
    assert median.should_stop(10, 2, 2.9) is True
    assert median.should_stop(11, 2, 3.0) is False  # equal to the median goes on
    assert median.should_stop(11, 3, 1.0) is False  # best so far (3.0) counts, not the last


def test_minimised_objectives_are_negated_and_reports_without_it_ignored() -> None:
    asha = SuccessiveHalving(reduction_factor=2).bind(None, 4, {"loss": "min"})
    assert asha.report(0, 1, {"loss": 0.2}) is False
    assert asha.report(1, 1, {"loss": 0.9}) is True  # larger loss = worse
    assert asha.report(2, 1, {"accuracy": 0.0}) is False
    assert asha.report(3, 1, {"loss": float("nan")}) is False
    assert asha.curves_ == {0: {1: -0.2}, 1: {1: -0.9}}


def test_replay_skips_unfinished_trials_and_orders_by_tell() -> None:
    curves = [[0.5, 0.6], [0.9, 0.95], [0.1, 0.2]]
    trials = [finished(n, c) for n, c in enumerate(curves)]
    running = Trial(7, Arch({"n": 7}), TrialStatus.INTERRUPTED, intermediate={1: {"value": 5.0}})
    asha = SuccessiveHalving(reduction_factor=2).bind(None, 3, "value")
    asha.replay([trials[2], running, trials[0], trials[1]])
    assert asha.rung_values_[1] == [(0, 0.5), (1, 0.9), (2, 0.1)]
    assert sorted(asha.finals_) == [0, 1, 2] and 7 not in asha.curves_
