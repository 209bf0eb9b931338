from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch, CellSpace
from nasforge.strategies import RandomSearch, RegularizedEvolution
from nasforge.strategies.prefilter import ZeroCostPrefilter, prefiltered
from nasforge.trial import Trial, TrialStatus

SPACE = CellSpace(4, ["none", "skip_connect", "nor_conv_3x3"])


def convs(arch: Arch) -> float:
    return float(arch.key.count("conv"))


def finish(strategy: RandomSearch | ZeroCostPrefilter, arch: Arch, number: int) -> Trial:
    trial = Trial(number, arch, TrialStatus.COMPLETE, {"acc": convs(arch)}, scores=(convs(arch),))
    strategy.tell(trial)
    return trial


def test_each_ask_is_the_best_of_the_inner_proposals_and_the_rest_are_told_pruned() -> None:
    twin = RandomSearch(SPACE, seed=3)
    inner = RandomSearch(SPACE, seed=3)
    strategy = ZeroCostPrefilter(inner, convs, candidates=5, metric="synflow")
    arch = strategy.ask()
    proposals = [twin.ask() for _ in range(5)]
    assert arch == max(proposals, key=convs)  # ties: the first proposal
    assert arch == next(p for p in proposals if convs(p) == max(map(convs, proposals)))
    told = inner.history_
    assert len(told) == 4 and all(t.status is TrialStatus.PRUNED for t in told)
    assert all(t.score is None and t.metrics == {"synflow": convs(t.arch)} for t in told)
    assert Counter(t.arch for t in told) + Counter([arch]) == Counter(proposals)
    assert inner.pending_ == Counter([arch])
    finish(strategy, arch, 0)
    assert not inner.pending_ and inner.history_[-1].status is TrialStatus.COMPLETE
    assert strategy.n_scored_ == 5 and strategy.n_passed_ == 1


def test_the_filter_raises_the_score_of_what_is_trained() -> None:
    plain = RandomSearch(SPACE, seed=0)
    filtered = prefiltered(RandomSearch(SPACE, seed=0), convs, candidates=10)
    plain_scores = [convs(plain.ask()) for _ in range(30)]
    filtered_scores = [convs(filtered.ask()) for _ in range(30)]
    # 6 edges, each a conv with probability 1/3: 2 on average, the best of 10 draws about 3.8
    assert np.mean(plain_scores) < 2.5 and np.mean(filtered_scores) > 3.4


def test_scores_are_cached_by_arch_key() -> None:
    calls: Counter[str] = Counter()

    def counting(arch: Arch) -> float:
        calls[arch.key] += 1
        return convs(arch)

    small = CellSpace(3, ["none", "skip_connect"])  # 8 archs: repeats are certain
    strategy = ZeroCostPrefilter(RandomSearch(small, seed=0, dedupe=False), counting, 6)
    for number in range(5):
        finish(strategy, strategy.ask(), number)
    assert strategy.n_scored_ == 30 and max(calls.values()) == 1
    assert len(strategy.scores_) == len(calls) <= 8


def test_same_seed_same_asks_and_replay_resumes() -> None:
    def run(n: int) -> tuple[list[Trial], ZeroCostPrefilter]:
        strategy = ZeroCostPrefilter(RegularizedEvolution(SPACE, 1, 4, 2), convs, candidates=3)
        return [finish(strategy, strategy.ask(), i) for i in range(n)], strategy

    trials, _ = run(12)
    again, _ = run(12)
    assert [t.arch for t in trials] == [t.arch for t in again]
    # resume: a new filter replays the first 8 asks and tells, then goes on as the first did
    resumed = ZeroCostPrefilter(RegularizedEvolution(SPACE, 1, 4, 2), convs, candidates=3)
    for trial in trials[:8]:
        assert resumed.ask() == trial.arch
        resumed.tell(trial)
    assert [finish(resumed, resumed.ask(), i).arch for i in range(8, 12)] == [
        t.arch for t in trials[8:]
    ]


def test_parallel_asks_and_pruned_or_failed_tells_are_forwarded() -> None:
    inner = RegularizedEvolution(SPACE, seed=0, population_size=3, sample_size=2)
    strategy = ZeroCostPrefilter(inner, convs, candidates=4)
    asked = [strategy.ask() for _ in range(3)]
    strategy.tell(Trial(0, asked[0], TrialStatus.FAILED, error="oom"))
    strategy.tell(Trial(1, asked[1], TrialStatus.PRUNED, {"val_acc": 50.0}))
    finish(strategy, asked[2], 2)
    assert not inner.pending_ and len(inner.history_) == 3 * 3 + 3
    assert [m[0] for m in inner.population_] == [asked[2]]


def test_options_are_checked() -> None:
    inner = RandomSearch(SPACE, seed=0)
    assert prefiltered(inner, convs, candidates=1) is inner
    with pytest.raises(ConfigError, match="candidates must be an integer >= 1, got 0"):
        prefiltered(inner, convs, candidates=0)
    with pytest.raises(ConfigError, match="score must be a callable"):
        ZeroCostPrefilter(inner, 3.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="inner must be a nasforge Strategy"):
        ZeroCostPrefilter("random", convs)  # type: ignore[arg-type]


def test_an_experiment_runs_and_resumes_through_the_filter(tmp_path: Path) -> None:
    from nasforge.experiment import Experiment

    def factory(space: CellSpace, seed: int = 0, objectives: Any = None) -> ZeroCostPrefilter:
        inner = RandomSearch(space, seed=seed, objectives=objectives)
        return ZeroCostPrefilter(inner, convs, candidates=6)

    def make() -> Experiment:
        return Experiment(
            SPACE,
            strategy=factory,
            evaluator=lambda arch: {"convs": convs(arch)},
            objectives={"convs": "max"},
            storage=tmp_path / "runs.db",
            seed=4,
        )

    first = make()
    first.run(max_trials=5, progress=False)
    resumed = make()
    resumed.run(max_trials=10, progress=False)
    trials = resumed.trials()
    assert len(trials) == 10 and all(t.status is TrialStatus.COMPLETE for t in trials)
    assert np.mean([t.metrics["convs"] for t in trials]) > 3.0
    straight = Experiment(
        SPACE,
        strategy=factory,
        evaluator=lambda arch: {"convs": convs(arch)},
        objectives={"convs": "max"},
        storage=tmp_path / "straight.db",
        seed=4,
    )
    straight.run(max_trials=10, progress=False)
    assert [t.arch for t in straight.trials()] == [t.arch for t in trials]
