"""MOASHA: promotion by non-dominated rank and crowding, replay, and a tabular search it prunes."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import ConfigError, NasforgeWarning
from nasforge.estimation.tabular import TabularEvaluator
from nasforge.schedulers import (
    MOSuccessiveHalving,
    SuccessiveHalving,
    create_scheduler,
    promotion_order,
)
from nasforge.space import Arch
from nasforge.testing.schedulers import nsga2_order
from nasforge.trial import Trial, TrialStatus

OBJECTIVES = {"acc": "max", "mb": "min"}

# Nine trials reach rung 1 in the order G B F A E D H C I, eta = 3. The front of all nine is
# A, B, C, D: A and C are its extremes (crowding inf; C first, better on acc), then D (crowding
# 10/20 + 3/4 = 1.25) before B (12/20 + 2/4 = 1.1). F has the second-best acc but C dominates
# it, so ASHA would keep C, F, D and MOASHA keeps C, A, D.
POINTS = {
    "A": (70.0, 1.0),
    "B": (80.0, 2.0),
    "C": (90.0, 5.0),
    "D": (82.0, 3.0),
    "E": (75.0, 2.5),  # dominated by B
    "F": (85.0, 6.0),  # dominated by C
    "G": (60.0, 1.5),  # dominated by A
    "H": (78.0, 3.5),  # dominated by B
    "I": (65.0, 5.0),  # dominated by A
}
ARRIVALS = "GBFAEDHCI"


def reports() -> list[dict[str, float]]:
    return [{"acc": POINTS[k][0], "mb": POINTS[k][1]} for k in ARRIVALS]


@pytest.mark.parametrize("selection", ["nsga2", "epsilon-net"])
def test_nine_trials_at_a_rung_promote_the_front_by_crowding(selection: str) -> None:
    moasha = MOSuccessiveHalving(reduction_factor=3, selection=selection)
    moasha.bind(None, 9, OBJECTIVES)
    stops = [moasha.report(n, 1, m) for n, m in enumerate(reports())]
    # each arrival against the rung so far, keep max(1, n // 3):
    # G alone; B ties G on the front (crowding inf both), wins on acc; F likewise; A (front
    # B F A: F and A are the extremes) loses the tie to F; E dominated; D (n=6, keep F, A);
    # H dominated; C (n=8) dominates F and is kept with A; I (n=9) dominated
    assert [ARRIVALS[n] for n, stop in enumerate(stops) if not stop] == ["G", "B", "F", "C"]
    assert [ARRIVALS[n] for n in moasha.promoted(1)] == ["C", "A", "D"]
    assert [p for _, p in moasha.rung_points_[1]] == [
        (a, -mb) for a, mb in map(POINTS.get, ARRIVALS)
    ]

    asha = SuccessiveHalving(reduction_factor=3).bind(None, 9, OBJECTIVES)
    for n, metrics in enumerate(reports()):
        asha.report(n, 1, metrics)
    top = sorted(asha.rung_values_[1], key=lambda item: -item[1])[:3]
    assert [ARRIVALS[n] for n, _ in top] == ["C", "F", "D"]  # the primary alone


def test_epsilon_net_spreads_where_crowding_ties() -> None:
    # one front on a line, in arrival order; larger is better on both
    front = [(0.0, 10.0), (1.0, 9.0), (2.0, 8.0), (9.0, 1.0), (10.0, 0.0)]
    # crowding: the extremes, then (2, 8) and (9, 1) tie at 1.6 (the better first acc wins)
    assert promotion_order(front, "nsga2") == [4, 0, 3, 2, 1]
    # epsilon-net: best acc first, then the farthest from those picked: (0, 10), then (2, 8)
    assert promotion_order(front, "epsilon-net") == [4, 0, 2, 3, 1]
    # dominated points come after the front either way
    assert promotion_order([(1.0, 8.0), *front], "epsilon-net")[-1] == 0


def test_promotion_order_matches_a_brute_force_nsga2_with_ties_and_duplicates() -> None:
    rng = np.random.default_rng(0)
    for n, m in [(1, 2), (2, 2), (3, 2), (12, 2), (30, 2), (15, 3), (20, 1)]:
        for _ in range(20):
            points = rng.integers(0, 6, size=(n, m)).astype(float)  # many ties
            expected = nsga2_order([tuple(p) for p in points.tolist()])
            assert promotion_order(points, "nsga2") == expected


def test_one_objective_promotes_like_asha() -> None:
    values = [5, 3, 7, 1, 9, 8, 2, 6, 4]
    moasha = MOSuccessiveHalving(min_step=1, reduction_factor=3).bind(None, 27, "value")
    asha = SuccessiveHalving(min_step=1, reduction_factor=3).bind(None, 27, "value")
    for t, v in enumerate(values):
        assert moasha.report(t, 1, {"value": v}) == asha.report(t, 1, {"value": v})
    assert moasha.rungs() == [1, 3, 9]


def test_an_objective_reported_once_is_carried_and_one_never_reported_warns() -> None:
    moasha = MOSuccessiveHalving(min_step=2, reduction_factor=2).bind(None, 8, OBJECTIVES)
    assert moasha.report(0, 1, {"acc": 50.0, "mb": 3.0}) is False
    assert moasha.report(0, 2, {"acc": 60.0}) is False  # mb carried from step 1
    assert moasha.points_[0] == {1: (50.0, -3.0), 2: (60.0, -3.0)}
    assert moasha.rung_points_[2] == [(0, (60.0, -3.0))]
    assert moasha.report(1, 2, {"acc": 70.0, "mb": 3.0}) is False  # dominates trial 0
    # a report without the primary is ignored, but its other objectives are remembered
    assert moasha.report(2, 1, {"mb": 9.0}) is False and 2 not in moasha.points_
    assert moasha.report(2, 2, {"acc": 40.0}) is True
    assert moasha.rung_points_[2][-1] == (2, (40.0, -9.0))
    with pytest.warns(NasforgeWarning, match="trial 3 reported without objective 'mb'"):
        assert moasha.report(3, 2, {"acc": 99.0}) is False
    assert 3 not in moasha.points_ and len(moasha.rung_points_[2]) == 3
    # judged at its first report that carries every objective (past the rung)
    assert moasha.report(3, 3, {"acc": 99.0, "mb": 1.0}) is False
    assert moasha.rung_points_[2][-1] == (3, (99.0, -1.0))


def test_bad_selection_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="scheduler 'moasha': selection must be 'nsga2' or"):
        create_scheduler("moasha", selection="crowding")


# ---- parallel workers and replay ---------------------------------------------------------------


def run_trials(
    scheduler: MOSuccessiveHalving,
    first: int,
    count: int,
    seed: int,
    told: list[Trial],
    workers: int = 4,
) -> list[tuple[int, int, bool]]:
    """Trials ``first .. first+count-1`` with rising accuracy curves and a size reported at step
    1 only, ``workers`` at a time in a seeded interleaving; every stop is checked against a
    brute-force NSGA-II order of the rung."""
    rng = np.random.default_rng(seed)
    level = {n: 50.0 + 40.0 * ((n * 7919) % 101) / 100 for n in range(first, first + count)}
    size = {n: 0.1 + ((n * 104729) % 97) / 20 for n in level}
    queue, active = list(level), {}
    decisions = []
    while queue or active:
        while queue and len(active) < workers:
            active[queue.pop(0)] = 0
        number = list(active)[int(rng.integers(len(active)))]
        step = active[number] + 1
        metrics = {"acc": level[number] - 30.0 / step}
        if step == 1:
            metrics["mb"] = size[number]
        stop = scheduler.report(number, step, metrics)
        if step in scheduler.rungs():
            rung = [p for _, p in scheduler.rung_points_[step]]
            keep = max(1, len(rung) // scheduler.reduction_factor)
            assert stop == (len(rung) - 1 not in nsga2_order(rung)[:keep])
        decisions.append((number, step, stop))
        if stop or step == scheduler.max_step_:
            del active[number]
            curve = {
                s: {"acc": level[number] - 30.0 / s, **({"mb": size[number]} if s == 1 else {})}
                for s in range(1, step + 1)
            }
            status = TrialStatus.PRUNED if stop else TrialStatus.COMPLETE
            metrics = dict(curve[step])
            arch = Arch({"n": number})
            told.append(Trial(number, arch, status, metrics, None, curve, tell_seq=len(told)))
            scheduler.complete(told[-1])
        else:
            active[number] = step
    return decisions


def test_parallel_decisions_and_a_replayed_scheduler_decide_the_same() -> None:
    live = MOSuccessiveHalving(min_step=1, reduction_factor=3).bind(None, 9, OBJECTIVES)
    told: list[Trial] = []
    first = run_trials(live, 0, 30, seed=0, told=told)
    assert any(stop for *_, stop in first) and not all(stop for *_, stop in first)
    resumed = MOSuccessiveHalving(min_step=1, reduction_factor=3).bind(None, 9, OBJECTIVES)
    resumed.replay(list(reversed(told)))
    # the rungs hold the same points, in the order of the tells rather than of arrival (which
    # breaks ties between identical points only, and a newcomer loses those either way)
    assert {r: sorted(p) for r, p in resumed.rung_points_.items()} == {
        r: sorted(p) for r, p in live.rung_points_.items()
    }
    assert resumed.points_ == live.points_
    a = run_trials(live, 30, 30, seed=1, told=[])
    b = run_trials(resumed, 30, 30, seed=1, told=[])
    assert a == b


# ---- a multi-objective search on the NAS-Bench-201 table -----------------------------------------


def tabular_search(path: Path, scheduler: str | None = "moasha") -> nf.Experiment:
    evaluator = TabularEvaluator(epochs=200, curve=True)
    return nf.Experiment(
        evaluator.space(),
        strategy="random",
        evaluator=evaluator,
        objectives={"val_acc": "max", "params_m": "min"},
        storage=path,
        name="mo",
        seed=3,
        fidelity={"epochs": 200},
        scheduler=scheduler,
        scheduler_options={"min_step": 12, "reduction_factor": 3} if scheduler else None,
    )


def test_a_tabular_multi_objective_search_prunes_after_12_epochs_and_resumes(
    tmp_path: Path,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", NasforgeWarning)  # moasha judges every objective
        whole = tabular_search(tmp_path / "whole.db")
    whole.run(max_trials=40, progress=False)
    trials = whole.trials()
    table = whole.evaluator.table_  # type: ignore[attr-defined]
    pruned = [t for t in trials if t.status == TrialStatus.PRUNED]
    complete = [t for t in trials if t.status == TrialStatus.COMPLETE]
    assert len(pruned) + len(complete) == 40 and len(complete) < 20 and pruned
    for t in pruned:  # stored as pruned with the 12-epoch report as curve and metrics
        row = table.lookup(t.arch)
        assert sorted(t.intermediate) == [12] and t.scores is None
        assert t.metrics == {"val_acc": row["val_acc_12"], "params_m": row["params_m"]}
    for t in complete:
        assert sorted(t.intermediate) == [12, 200]
        assert t.scores == (table.lookup(t.arch)["val_acc_200"], -t.metrics["params_m"])
    # each stop is what the rung held when the trial arrived at it (one worker: in order)
    rung = []
    for t in sorted(trials, key=lambda t: t.number):
        rung.append((t.intermediate[12]["val_acc"], -t.intermediate[12]["params_m"]))
        kept = len(rung) - 1 in nsga2_order(rung)[: max(1, len(rung) // 3)]
        assert kept == (t.status == TrialStatus.COMPLETE)

    def kill_after_ten(exp: nf.Experiment, trial: Trial) -> None:
        if trial.number == 9:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tabular_search(tmp_path / "killed.db").run(
            max_trials=40, progress=False, callbacks=[kill_after_ten]
        )
    resumed = tabular_search(tmp_path / "killed.db")
    resumed.run(max_trials=40, progress=False)
    assert [(t.arch, t.status) for t in resumed.trials()] == [(t.arch, t.status) for t in trials]


def test_a_single_objective_scheduler_on_several_objectives_still_warns(tmp_path: Path) -> None:
    with pytest.warns(NasforgeWarning, match="scheduler 'asha' stops trials by the primary"):
        evaluator = TabularEvaluator(epochs=200, curve=True)
        nf.Experiment(
            evaluator.space(),
            strategy="random",
            evaluator=evaluator,
            objectives={"val_acc": "max", "params_m": "min"},
            storage=tmp_path / "a.db",
            fidelity={"epochs": 200},
            scheduler="asha",
            scheduler_options={"min_step": 12},
        )
