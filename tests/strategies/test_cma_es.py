"""CMA-ES over numeric dimensions: finds a quadratic's optimum, buffers whole generations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch, Categorical, CellSpace, Float, Int, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.cma_es import CMAES
from nasforge.testing.strategies import complete as done
from nasforge.trial import Trial, TrialStatus


def numeric() -> Space:
    return Space(
        [
            Float("x", -5.0, 5.0),
            Float("lr", 1e-5, 1.0, log=True),
            Int("layers", 1, 20),
            Int("width", 8, 512, log=True),
        ]
    )


def quadratic(arch: Arch) -> float:
    """Largest (0) at x=1.5, lr=1e-3, layers=7, width=128."""
    return -(
        (arch["x"] - 1.5) ** 2
        + (math.log10(arch["lr"]) + 3) ** 2
        + ((arch["layers"] - 7) / 3) ** 2
        + (math.log2(arch["width"]) - 7) ** 2
    )


def test_registered_with_hansens_default_population() -> None:
    strategy = create_strategy("cmaes", numeric(), seed=0)
    assert isinstance(strategy, CMAES)
    strategy.ask()
    assert strategy.optimizer_ is not None
    assert strategy.optimizer_.population_size == 4 + math.floor(3 * math.log(4))


@pytest.mark.parametrize("seed", [0, 1])
def test_finds_the_optimum_of_a_quadratic_over_float_int_and_log_dims(seed: int) -> None:
    strategy = CMAES(numeric(), seed=seed)
    best: tuple[float, Arch | None] = (-math.inf, None)
    for number in range(400):
        arch = strategy.ask()
        score = quadratic(arch)
        best = max(best, (score, arch), key=lambda b: b[0])
        strategy.tell(done(number, arch, score))
    top = best[1]
    assert top is not None
    arch = top
    assert abs(arch["x"] - 1.5) < 0.1
    assert 10**-3.1 < arch["lr"] < 10**-2.9
    assert arch["layers"] == 7 and isinstance(arch["layers"], int)
    assert 120 <= arch["width"] <= 136
    assert strategy.generation_ >= 400 // 12 - 1  # every generation was told


def test_log_dims_start_centred_in_log_space() -> None:
    strategy = CMAES(numeric(), seed=0, sigma0=0.1)
    archs = [strategy.ask() for _ in range(60)]
    assert 10**-3.5 < np.median([a["lr"] for a in archs]) < 10**-2
    assert 45 <= np.median([a["width"] for a in archs]) <= 90  # around sqrt(8 * 512) = 64


def test_a_cell_space_is_refused_naming_the_strategy_and_the_dimension() -> None:
    with pytest.raises(ConfigError) as err:
        CMAES(CellSpace(4, ["none", "skip_connect", "nor_conv_3x3"]), seed=0)
    message = str(err.value)
    assert "'cmaes'" in message and "'edge_1_0'" in message and "Int and Float" in message
    assert "\n" not in message


def test_categorical_dims_are_drawn_at_random_and_conditional_ones_follow() -> None:
    space = Space(
        [
            Categorical("optimizer", ["sgd", "adam"]),
            Float("lr", 1e-4, 1e-1, log=True),
            Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
        ]
    )
    strategy = CMAES(space, seed=0)
    seen = set()
    for number in range(40):
        arch = strategy.ask()
        assert space.validate(arch) == arch
        assert (arch["momentum"] is None) == (arch["optimizer"] == "adam")
        seen.add(arch["optimizer"])
        strategy.tell(done(number, arch, -abs(math.log10(arch["lr"]) + 2)))
    assert seen == {"sgd", "adam"}
    assert [d.name for d in strategy.numeric_] == ["lr", "momentum"]


class Recorder:
    """Stands in for ``CMA.tell`` and keeps what it was told."""

    def __init__(self, strategy: CMAES) -> None:
        self.calls: list[list[tuple[np.ndarray, float]]] = []
        cma = strategy._cma()
        self._tell = cma.tell
        cma.tell = self  # type: ignore[method-assign]

    def __call__(self, solutions: list[tuple[np.ndarray, float]]) -> None:
        self.calls.append(list(solutions))
        self._tell(solutions)


def test_parallel_asks_beyond_a_generation_tell_one_full_generation() -> None:
    strategy = CMAES(numeric(), seed=0, population_size=4)
    recorder = Recorder(strategy)
    archs = [strategy.ask() for _ in range(7)]  # more asks than a generation, before any tell
    assert len(set(archs)) == 7
    for number, arch in enumerate(archs[:3]):
        strategy.tell(done(number, arch, quadratic(arch)))
    assert recorder.calls == [] and strategy.generation_ == 0  # buffered until 4 are in
    for number, arch in enumerate(archs[3:], start=3):
        strategy.tell(done(number, arch, quadratic(arch)))
    assert len(recorder.calls) == 1 and len(recorder.calls[0]) == 4
    assert sorted(v for _, v in recorder.calls[0]) == sorted(-quadratic(a) for a in archs[:4])
    assert strategy.generation_ == 1  # results 5-7 belong to the old generation: history only
    assert len(strategy.history_) == 7 and not strategy.pending_
    for number in range(7, 11):
        strategy.tell(done(number, strategy.ask(), 0.0))
    assert len(recorder.calls) == 2 and strategy.generation_ == 2


def test_failed_and_pruned_rank_below_every_complete_trial() -> None:
    strategy = CMAES(numeric(), seed=0, population_size=4)
    recorder = Recorder(strategy)
    archs = [strategy.ask() for _ in range(4)]
    points = [strategy._open[arch][0][1] for arch in archs]  # what CMA-ES drew for each
    strategy.tell(Trial(0, archs[0], TrialStatus.FAILED, error="boom"))
    strategy.tell(done(1, archs[1], -10.0))
    strategy.tell(Trial(2, archs[2], TrialStatus.PRUNED, intermediate={1: {"acc": 0.1}}))
    strategy.tell(done(3, archs[3], 5.0))
    (told,) = recorder.calls
    losses = [next(v for x, v in told if np.array_equal(x, p)) for p in points]
    # loss = -score; pruned just above the worst complete loss (10), failed above that
    assert losses == [12.0, 10.0, 11.0, -5.0]


def test_duplicates_and_unasked_tells_are_recorded_not_told() -> None:
    strategy = CMAES(numeric(), seed=0, population_size=4)
    recorder = Recorder(strategy)
    stranger = numeric().make({"x": 1.5, "lr": 1e-3, "layers": 7, "width": 128})
    strategy.tell(done(0, stranger, 0.0))
    archs = [strategy.ask() for _ in range(4)]
    strategy.tell(done(1, archs[0], 1.0))
    strategy.tell(done(2, archs[0], 1.0))  # told twice, asked once
    assert recorder.calls == [] and len(strategy.history_) == 3
    for number, arch in enumerate(archs[1:], start=3):
        strategy.tell(done(number, arch, 0.0))
    assert len(recorder.calls) == 1


def test_replay_gives_the_same_asks() -> None:
    def run() -> list[str]:
        strategy = CMAES(numeric(), seed=5, population_size=5)
        keys = []
        for number in range(30):
            arch = strategy.ask()
            keys.append(arch.key)
            strategy.tell(done(number, arch, quadratic(arch)))
        return keys

    assert run() == run()


def test_restarts_with_a_larger_population_when_converged() -> None:
    space = Space([Int("depth", 1, 3), Int("width", 1, 3)])  # converges fast: 9 archs
    strategy = CMAES(space, seed=0, population_size=4)
    for number in range(600):
        arch = strategy.ask()
        strategy.tell(done(number, arch, -float((arch["depth"] - 2) ** 2 + arch["width"])))
        if strategy.restarts_:
            break
    assert strategy.restarts_ == 1
    strategy.ask()
    assert strategy.optimizer_ is not None and strategy.optimizer_.population_size == 8


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"population_size": 1}, "population_size"),
        ({"population_size": 2.5}, "population_size"),
        ({"sigma0": 0.0}, "sigma0"),
        ({"sigma0": 2.0}, "sigma0"),
        ({"sigma0": True}, "sigma0"),
    ],
)
def test_bad_options_name_the_strategy_and_the_option(options: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigError, match=option) as err:
        CMAES(numeric(), seed=0, **options)
    assert "'cmaes'" in str(err.value)
