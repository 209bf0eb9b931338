"""Optuna's samplers as strategies: the study mirrors the asks and tells, define-by-run."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.space import Arch, Categorical, CellSpace, Float, Int, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.optuna_adapter import (
    OptunaGP,
    OptunaNSGA2,
    OptunaRandom,
    OptunaStrategy,
    OptunaTPE,
)
from nasforge.testing.strategies import NB201_OPS
from nasforge.testing.strategies import complete as done
from nasforge.trial import Trial, TrialStatus

NAMES = ("optuna:tpe", "optuna:gp", "optuna:nsga2", "optuna:random")
#: small options so the model-based samplers start modelling within a few trials
QUICK: dict[str, dict[str, Any]] = {
    "optuna:tpe": {"n_startup_trials": 3},
    "optuna:gp": {"n_startup_trials": 3},
    "optuna:nsga2": {"population_size": 4},
    "optuna:random": {},
}


def cell() -> CellSpace:
    return CellSpace(4, NB201_OPS)


def mixed() -> Space:
    return Space(
        [
            Categorical("optimizer", ["sgd", "adam"]),
            Float("lr", 1e-4, 1e-1, log=True),
            Int("width", 8, 256, log=True),
            Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
        ]
    )


def make(name: str, space: Space, seed: int = 0, **options: Any) -> OptunaStrategy:
    strategy = create_strategy(name, space, seed=seed, **{**QUICK[name], **options})
    assert isinstance(strategy, OptunaStrategy)
    return strategy


def mixed_score(arch: Arch) -> float:
    """Best near lr=1e-2, width=64, sgd with momentum 0.9."""
    score = -abs(np.log10(arch["lr"]) + 2) - abs(np.log2(arch["width"]) - 6) / 4
    if arch["optimizer"] == "sgd":
        score += 0.5 - abs(arch["momentum"] - 0.9)
    return float(score)


@pytest.mark.parametrize("name", NAMES)
def test_each_sampler_searches_a_cell_space(name: str) -> None:
    space = cell()
    strategy = make(name, space, seed=3)
    for number in range(12):
        arch = strategy.ask()
        assert space.validate(arch) == arch
        strategy.tell(done(number, arch, float(sum(v == "nor_conv_3x3" for v in arch.values()))))
    study = strategy.study_
    assert study is not None and len(study.trials) == 12
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    # the study holds exactly the arch's choices, one parameter per edge
    assert study.trials[-1].params == {e: arch[e] for e in space.edge_names}


@pytest.mark.parametrize("name", NAMES)
def test_conditional_dims_are_suggested_only_when_active(name: str) -> None:
    space = mixed()
    strategy = make(name, space, seed=1)
    optimizers = set()
    for number in range(14):
        arch = strategy.ask()
        assert space.validate(arch) == arch
        optimizers.add(arch["optimizer"])
        params = strategy.study_.trials[-1].params  # type: ignore[union-attr]
        if arch["optimizer"] == "adam":
            assert arch["momentum"] is None and "momentum" not in params
        else:
            assert 0.0 <= arch["momentum"] <= 0.99 and "momentum" in params
        assert isinstance(arch["width"], int) and 8 <= arch["width"] <= 256
        strategy.tell(done(number, arch, mixed_score(arch)))
    assert optimizers == {"sgd", "adam"}
    dist = strategy.study_.trials[-1].distributions  # type: ignore[union-attr]
    assert dist["lr"].log and dist["width"].log  # type: ignore[union-attr]


def test_failed_and_pruned_trials_are_told_as_such() -> None:
    strategy = make("optuna:tpe", mixed())
    archs = [strategy.ask() for _ in range(4)]
    strategy.tell(Trial(0, archs[0], TrialStatus.FAILED, error="boom"))
    strategy.tell(Trial(1, archs[1], TrialStatus.PRUNED, intermediate={1: {"acc": 0.1}}))
    strategy.tell(done(2, archs[2], 0.7))
    strategy.tell(done(3, archs[3], float("nan")))  # a NaN score is a failure, not a result
    states = [t.state for t in strategy.study_.trials]  # type: ignore[union-attr]
    assert states == [TrialState.FAIL, TrialState.PRUNED, TrialState.COMPLETE, TrialState.FAIL]
    assert strategy.study_.trials[2].value == 0.7  # type: ignore[union-attr]


def test_duplicate_asks_close_their_trials_in_order() -> None:
    space = CellSpace(2, NB201_OPS[:2])  # 2 archs: the random sampler repeats at once
    strategy = make("optuna:random", space, seed=0)
    archs = [strategy.ask() for _ in range(6)]
    target = archs[0]
    numbers = [i for i, a in enumerate(archs) if a == target]
    assert len(numbers) >= 2
    for k in range(len(numbers)):
        strategy.tell(done(k, target, float(k)))
    trials = strategy.study_.trials  # type: ignore[union-attr]
    assert [trials[i].value for i in numbers] == [float(k) for k in range(len(numbers))]
    others = [t for i, t in enumerate(trials) if i not in numbers]
    assert all(t.state is TrialState.RUNNING for t in others)


def test_foreign_and_extra_tells_are_added_to_the_study() -> None:
    space = mixed()
    strategy = make("optuna:tpe", space)
    asked = strategy.ask()
    stranger = space.make({"optimizer": "sgd", "lr": 0.01, "width": 64, "momentum": 0.9})
    strategy.tell(done(0, stranger, 1.5))
    strategy.tell(done(1, asked, 0.5))
    strategy.tell(done(2, asked, 0.6))  # told once more than asked
    adam = space.make({"optimizer": "adam", "lr": 0.1, "width": 8})
    strategy.tell(Trial(3, adam, TrialStatus.FAILED, error="boom"))
    trials = strategy.study_.trials  # type: ignore[union-attr]
    assert len(trials) == 4
    assert trials[0].value == 0.5  # the asked trial
    assert trials[1].params == {"optimizer": "sgd", "lr": 0.01, "width": 64, "momentum": 0.9}
    assert trials[1].value == 1.5
    assert trials[2].value == 0.6  # a new trial with the arch's values (6 significant digits)
    assert trials[2].params == {k: v for k, v in asked.items() if v is not None}
    assert trials[3].state is TrialState.FAIL and "momentum" not in trials[3].params
    assert not strategy.pending_


def test_choices_optuna_cannot_store_are_suggested_by_index() -> None:
    space = Space([Categorical("kernel", [(3, 3), (5, 5)]), Int("depth", 1, 4)])
    strategy = make("optuna:tpe", space)
    for number in range(8):
        arch = strategy.ask()
        assert arch["kernel"] in ((3, 3), (5, 5))
        strategy.tell(done(number, arch, float(arch["depth"])))
    strategy.tell(done(8, space.make({"kernel": (5, 5), "depth": 2}), 0.0))
    assert strategy.study_.trials[-1].params["kernel"] == 1  # type: ignore[union-attr]


def test_tpe_improves_over_its_startup_phase() -> None:
    """On the NB201 cell with score = number of 3x3 convolutions, the modelled trials beat the
    random startup ones in every seed."""
    space = cell()
    bests = []
    for seed in range(3):
        strategy = OptunaTPE(space, seed=seed, n_startup_trials=10)
        scores = []
        for number in range(40):
            arch = strategy.ask()
            scores.append(float(sum(v == "nor_conv_3x3" for v in arch.values())))
            strategy.tell(done(number, arch, scores[-1]))
        assert np.mean(scores[20:]) > np.mean(scores[:10]) + 1.5, (seed, scores)
        bests.append(max(scores[10:]))
    assert max(bests) >= 5, bests


def test_gp_beats_many_random_draws_on_a_smooth_objective() -> None:
    space = Space([Float("x", -1.0, 1.0), Float("lr", 1e-4, 1e-1, log=True), Int("w", 8, 256)])

    def score(arch: Arch) -> float:
        return (
            -((arch["x"] - 0.3) ** 2)
            - (np.log10(arch["lr"]) + 2) ** 2 / 4
            - (arch["w"] / 64 - 1) ** 2 / 16
        )

    strategy = OptunaGP(space, seed=0, n_startup_trials=4)
    best = -np.inf
    for number in range(15):  # a GP fit costs about a second here
        arch = strategy.ask()
        best = max(best, score(arch))
        strategy.tell(done(number, arch, score(arch)))
    rng = np.random.default_rng(0)
    random_best = max(score(space.sample(rng)) for _ in range(100))
    assert best > random_best


def test_nsga2_with_two_objectives_keeps_both_scores() -> None:
    objectives = Objectives.parse({"convs": "max", "fewer_convs": "max"})
    strategy = OptunaNSGA2(cell(), seed=0, population_size=4, objectives=objectives)
    for number in range(10):
        arch = strategy.ask()
        convs = float(sum(v == "nor_conv_3x3" for v in arch.values()))
        trial = Trial(number, arch, TrialStatus.COMPLETE, scores=(convs, -convs))
        strategy.tell(trial)
    study = strategy.study_
    assert study is not None and len(study.directions) == 2
    assert all(t.values[0] == -t.values[1] for t in study.trials)
    # a trial with one score only cannot be placed on a two-objective front: told as failed
    arch = strategy.ask()
    strategy.tell(done(10, arch, 1.0))
    assert study.trials[-1].state is TrialState.FAIL


def test_logging_is_quiet_and_restored(capsys: pytest.CaptureFixture[str]) -> None:
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no experimental or deprecation warnings either
            for name in NAMES:
                strategy = make(name, cell())
                for number in range(6):
                    arch = strategy.ask()
                    strategy.tell(done(number, arch, 0.1 * number))
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(previous)
    assert "A new study created" not in capsys.readouterr().err


def test_constructor_only_stores_options() -> None:
    strategy = OptunaTPE(cell(), seed=0)
    assert strategy.study_ is None  # the study is made on first use
    assert (strategy.n_startup_trials, strategy.n_ei_candidates) == (10, 24)
    assert isinstance(create_strategy("optuna:random", cell()), OptunaRandom)


@pytest.mark.parametrize(
    ("name", "option", "replaced_by"),
    [
        ("optuna:nsga2", "n_objectives", "objectives"),
        ("optuna:tpe", "n_objectives", "objectives"),
        ("bohb", "metric", "primary objective"),
        ("bohb", "direction", "primary objective"),
    ],
)
def test_options_of_earlier_versions_are_refused_naming_what_replaces_them(
    name: str, option: str, replaced_by: str
) -> None:
    with pytest.raises(ConfigError, match=f"{option}.*{replaced_by}"):
        create_strategy(name, cell(), seed=0, **{option: 2})


@pytest.mark.parametrize(
    ("cls", "options", "option"),
    [
        (OptunaTPE, {"n_startup_trials": -1}, "n_startup_trials"),
        (OptunaTPE, {"multivariate": "yes"}, "multivariate"),
        (OptunaTPE, {"group": True, "multivariate": False}, "group"),
        (OptunaGP, {"deterministic_objective": 1}, "deterministic_objective"),
        (OptunaNSGA2, {"population_size": 1}, "population_size"),
        (OptunaNSGA2, {"crossover_prob": 1.5}, "crossover_prob"),
    ],
)
def test_bad_options_name_the_strategy_and_the_option(
    cls: type[OptunaStrategy], options: dict[str, Any], option: str
) -> None:
    with pytest.raises(ConfigError, match=option) as err:
        cls(cell(), seed=0, **options)
    assert cls.name in str(err.value)
