"""Multi-objective strategies search the front of the NAS-Bench-201 table; the others refuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.estimation.tabular import BenchmarkTable, load_table
from nasforge.experiment.components import check_multi_objective
from nasforge.objectives import Objectives
from nasforge.pareto import ideal_nadir, nondominated, normalised_hypervolume
from nasforge.space import Arch, CellSpace
from nasforge.strategies import (
    MULTI_OBJECTIVE_STRATEGIES,
    STRATEGIES,
    Strategy,
    create_strategy,
    list_strategies,
)
from nasforge.strategies.dpp_net import DppNet
from nasforge.strategies.mo_evolution import MultiObjectiveEvolution, crowded_order, crowded_ranks
from nasforge.strategies.monas import MonasReward
from nasforge.testing.strategies import NB201_OPS
from nasforge.trial import Trial, TrialStatus

TWO = Objectives.parse({"val_acc_12": "max", "params_m": "min"})
DIRECTIONS = ("max", "min")
PENALTY = {"kind": "penalty", "weights": {"params_m": 10}}
#: each multi-objective strategy with options that keep it fast here
MULTI: dict[str, dict[str, Any]] = {
    "mo-regularized-evolution": {},
    "dpp-net": {"epochs": 60},
    "reinforce": {"reward": PENALTY},
    "optuna:nsga3": {},
    "optuna:tpe": {},
}


@pytest.fixture(scope="module")
def table() -> BenchmarkTable:
    return load_table()


def search(
    table: BenchmarkTable,
    name: str,
    seed: int,
    queries: int,
    told: Callable[[int, Arch, dict[str, float]], Trial] | None = None,
    **options: Any,
) -> tuple[list[Arch], np.ndarray]:
    """``queries`` sequential asks of ``name`` on the table: the archs and their
    ``(val_acc_12, params_m)``."""
    strategy = create_strategy(name, table.space(), seed=seed, objectives=TWO, **options)
    archs, points = [], []
    for number in range(queries):
        arch = strategy.ask()
        metrics = table.lookup(arch)
        trial = Trial(number, arch, TrialStatus.COMPLETE, metrics, scores=TWO.scores(metrics))
        strategy.tell(trial if told is None else told(number, arch, metrics))
        archs.append(arch)
        points.append((metrics["val_acc_12"], metrics["params_m"]))
    return archs, np.asarray(points)


def mean_hypervolume(table: BenchmarkTable, name: str, **options: Any) -> float:
    """The mean normalised hypervolume of 80 queries over seeds 0-5, against the table's true
    front."""
    every = np.stack([table.val_acc_12, table.params_m], axis=1)
    ideal, nadir = ideal_nadir(every[nondominated(every, DIRECTIONS)], DIRECTIONS)
    volumes = []
    for seed in range(6):
        _, points = search(table, name, seed, 80, **options)
        volumes.append(normalised_hypervolume(points, DIRECTIONS, ideal, nadir))
    return float(np.mean(volumes))


@pytest.fixture(scope="module")
def random_hypervolume(table: BenchmarkTable) -> float:
    return mean_hypervolume(table, "random")


# ---- every multi-objective strategy -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MULTI))
def test_deterministic_on_two_objectives(table: BenchmarkTable, name: str) -> None:
    first, _ = search(table, name, 3, 25, **MULTI[name])
    second, _ = search(table, name, 3, 25, **MULTI[name])
    assert first == second
    other, _ = search(table, name, 4, 25, **MULTI[name])
    assert other != first


@pytest.mark.parametrize("name", sorted(MULTI))
def test_front_beats_random_search(
    table: BenchmarkTable, random_hypervolume: float, name: str
) -> None:
    # random search: 0.875; the strategies 0.904 (mo-regularized-evolution) to 0.956 (dpp-net)
    assert mean_hypervolume(table, name, **MULTI[name]) > random_hypervolume + 0.015


@pytest.mark.parametrize("name", sorted(MULTI))
def test_resumes_by_replay_with_failures_and_parallel_asks(
    table: BenchmarkTable, name: str
) -> None:
    """A fresh strategy fed the same asks and tells asks next what the original asks."""
    rng = np.random.default_rng(0)
    original = create_strategy(name, table.space(), seed=9, objectives=TWO, **MULTI[name])
    log: list[Arch | Trial] = []
    pending: list[Arch] = []
    for number in range(30):
        for _ in range(int(rng.integers(1, 3))):
            pending.append(original.ask())
            log.append(pending[-1])
        arch = pending.pop(int(rng.integers(len(pending))))
        if number % 7 == 3:
            trial = Trial(number, arch, TrialStatus.FAILED, error="RuntimeError: boom")
        else:
            metrics = table.lookup(arch)
            trial = Trial(number, arch, TrialStatus.COMPLETE, metrics, scores=TWO.scores(metrics))
        original.tell(trial)
        log.append(trial)
    replica = create_strategy(name, table.space(), seed=9, objectives=TWO, **MULTI[name])
    for entry in log:
        if isinstance(entry, Arch):
            assert replica.ask() == entry
        else:
            replica.tell(entry)
    assert [original.ask() for _ in range(5)] == [replica.ask() for _ in range(5)]


def test_the_list_of_multi_objective_strategies_is_that_of_the_registry() -> None:
    flagged = set()
    for name in list_strategies():
        target = STRATEGIES.get(name)
        if getattr(target, "multi_objective", False) is True:
            flagged.add(name)
    assert flagged == set(MULTI_OBJECTIVE_STRATEGIES)
    assert "optuna:tpe" in flagged  # several objectives make it multi-objective TPE (MOTPE)


@pytest.mark.parametrize(
    "name", [n for n in list_strategies("all") if n not in MULTI_OBJECTIVE_STRATEGIES]
)
def test_single_objective_strategies_refuse_several_in_one_line(name: str) -> None:
    space = CellSpace(4, NB201_OPS)
    # one-shot methods estimate val_acc and val_loss only: give them two of those
    one_shot = name in list_strategies("one-shot")
    objectives = Objectives.parse({"val_acc": "max", "val_loss": "min"}) if one_shot else TWO
    try:
        method = create_strategy(name, space, seed=0, objectives=objectives)
    except ConfigError as err:  # a strategy that cannot search this space at all (CMA-ES)
        assert name in str(err)
        return
    with pytest.raises(ConfigError) as caught:
        check_multi_objective(objectives, method, name)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"strategy {name!r} optimises one objective and cannot search")
    assert all(repr(n) in message for n in objectives)
    assert all(n in message for n in MULTI_OBJECTIVE_STRATEGIES)


# ---- multi-objective regularized evolution ----------------------------------------------------


def test_crowded_ranks_and_order() -> None:
    scores = [(1.0, -10.0), (0.5, -1.0), (0.6, -20.0), (0.8, -5.0), (0.1, -0.5)]
    ranks, crowding = crowded_ranks(scores)
    assert ranks.tolist() == [0, 0, 1, 0, 0]
    assert np.isinf(crowding[[0, 2, 4]]).all() and np.isfinite(crowding[[1, 3]]).all()
    assert crowded_order(scores)[:2] == [0, 4] and crowded_order(scores)[-1] == 2


def differing(a: Arch, b: Arch) -> int:
    return sum(a[name] != b[name] for name in a)


def test_tournaments_never_pick_a_dominated_member_over_a_front_one() -> None:
    space = CellSpace(4, NB201_OPS)
    names = space.edge_names
    members = [space.make(dict.fromkeys(names, op)) for op in NB201_OPS[2:]]
    # A: best primary; B: cheap; C: second primary but dominated by A (what aging evolution
    # on the primary would pick over B)
    scores = [(1.0, -10.0), (0.5, -1.0), (0.6, -20.0)]

    def parents(strategy: Strategy) -> set[int]:
        for number, (arch, pair) in enumerate(zip(members, scores, strict=True)):
            strategy.tell(Trial(number, arch, TrialStatus.COMPLETE, scores=pair))
        found = set()
        for _ in range(40):
            child = strategy.ask()
            found |= {i for i, m in enumerate(members) if differing(child, m) <= 1}
        return found

    objectives = Objectives.parse({"a": "max", "b": "max"})
    mo = MultiObjectiveEvolution(space, 0, 3, 2, objectives=objectives)
    mo._random_asked = 3  # the population is full: every ask is a child
    assert parents(mo) == {0, 1}
    single = create_strategy("regularized-evolution", space, 0, population_size=3, sample_size=2)
    single._random_asked = 3  # type: ignore[attr-defined]
    assert 2 in parents(single)


# ---- DPP-Net --------------------------------------------------------------------------------


def test_dpp_net_keeps_the_ends_of_the_front_in_its_beam(table: BenchmarkTable) -> None:
    strategy = create_strategy(
        "dpp-net", table.space(), seed=0, objectives=TWO, epochs=60, beam_size=2
    )
    assert isinstance(strategy, DppNet)
    level0: dict[Arch, tuple[float, float]] = {}
    number = 0
    while strategy.level_ < 1:
        arch = strategy.ask()
        metrics = table.lookup(arch)
        if strategy.level_ == 0:
            level0[arch] = (metrics["val_acc_12"], metrics["params_m"])
        strategy.tell(Trial(number, arch, TrialStatus.COMPLETE, scores=TWO.scores(metrics)))
        number += 1
    # node 1's operations, but for the filler's own uniform cell (asked by the probe before)
    assert len(level0) == 4
    beam = {strategy._fill(decided) for decided in strategy.beam_}
    cheapest = min(level0, key=lambda a: (level0[a][1], -level0[a][0]))
    best = max(level0, key=lambda a: level0[a][0])
    assert beam == {cheapest, best} and cheapest != best  # pnas would keep the best two


# ---- MONAS rewards for reinforce -------------------------------------------------------------


def test_reinforce_takes_several_objectives_only_with_a_reward() -> None:
    space = CellSpace(4, NB201_OPS)
    plain = create_strategy("reinforce", space, objectives=TWO)
    assert plain.multi_objective is False and plain.reward_ is None
    rewarded = create_strategy("reinforce", space, objectives=TWO, reward=PENALTY)
    assert rewarded.multi_objective is True
    check_multi_objective(TWO, rewarded, "reinforce")  # accepted


def test_penalty_and_constrained_rewards() -> None:
    penalty = MonasReward.parse(PENALTY, TWO)
    assert penalty((80.0, -0.5)) == 75.0
    objectives = Objectives.parse({"acc": "max", "params": "min", "speed": "max"})
    both = MonasReward.parse({"kind": "penalty", "weights": {"params": 2, "speed": 1}}, objectives)
    assert both((80.0, -3.0, 4.0)) == 80.0 - 6.0 + 4.0
    budget = MonasReward.parse(
        {"kind": "constrained", "budgets": {"params": 1.0, "speed": 2.0}}, objectives
    )
    assert budget((70.0, -0.5, 3.0)) == 70.0  # within both budgets
    assert budget((90.0, -1.5, 3.0)) == 70.0  # over the params budget: the worst seen
    assert budget((60.0, -0.5, 1.0)) == 60.0  # under the speed floor, and the worst itself
    assert budget((95.0, -1.0, 2.0)) == 95.0  # on the budgets: within


@pytest.mark.parametrize(
    ("reward", "message"),
    [
        ("penalty", "reward must be a mapping like"),
        ({"kind": "mixed"}, "reward must be a mapping like"),
        ({"kind": "penalty", "weights": {"params_m": 1}, "alpha": 1}, "reward.alpha: a 'penalty'"),
        ({"kind": "penalty", "weights": {}}, "reward.weights must map objectives other than"),
        ({"kind": "penalty", "weights": {"val_acc_12": 1}}, "reward.weights.val_acc_12: not an"),
        ({"kind": "penalty", "weights": {"params_m": -1}}, "weights.params_m must be a number >="),
        (
            {"kind": "constrained", "budgets": {"params_m": "1"}},
            "budgets.params_m must be a finite",
        ),
    ],
)
def test_bad_rewards_are_refused_in_one_line(reward: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^strategy 'reinforce': ") as caught:
        create_strategy("reinforce", CellSpace(4, NB201_OPS), objectives=TWO, reward=reward)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_reward_needs_a_second_objective_and_a_weight_for_each() -> None:
    space = CellSpace(4, NB201_OPS)
    with pytest.raises(ConfigError, match="needs a second objective"):
        create_strategy("reinforce", space, reward=PENALTY)
    three = Objectives.parse({"val_acc_12": "max", "params_m": "min", "latency": "min"})
    with pytest.raises(ConfigError, match="no weight for 'latency'"):
        create_strategy("reinforce", space, objectives=three, reward=PENALTY)
    budget = {"kind": "constrained", "budgets": {"params_m": 0.5}}
    assert create_strategy("reinforce", space, objectives=three, reward=budget).multi_objective


def test_constrained_reinforce_learns_to_stay_within_budget(table: BenchmarkTable) -> None:
    budget = {"kind": "constrained", "budgets": {"params_m": 0.3}}
    _, constrained = search(table, "reinforce", 0, 150, reward=budget, learning_rate=0.02)
    _, plain = search(table, "reinforce", 0, 150, learning_rate=0.02)  # val_acc_12 alone
    within = np.mean(constrained[-50:, 1] <= 0.3)
    assert within > np.mean(constrained[:50, 1] <= 0.3) + 0.1
    assert within > np.mean(plain[-50:, 1] <= 0.3) + 0.15  # 0.54 against 0.34 and 0.32
