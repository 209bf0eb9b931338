"""The ``prefilter`` option of Experiment and YAML: a zero-cost proxy picks what is trained."""

from __future__ import annotations

from pathlib import Path

import pytest

import nasforge as nf
from nasforge.errors import ConfigError, StorageError, UnknownNameError
from nasforge.estimation.train import TrainEvaluator
from nasforge.estimation.zero_cost import ZeroCostEvaluator
from nasforge.experiment.config import parse_config
from nasforge.spaces import NB201Space
from nasforge.strategies import RandomSearch
from nasforge.strategies.prefilter import ZeroCostPrefilter

SPACE = NB201Space(n_cells=1, channels=4)


def evaluator() -> TrainEvaluator:
    return TrainEvaluator("digits", epochs=1, batch_size=64, threads=1)


def experiment(storage: str, prefilter: dict | None, **kwargs) -> nf.Experiment:
    return nf.Experiment(
        SPACE,
        strategy="random",
        evaluator=evaluator(),
        storage=storage,
        seed=3,
        prefilter=prefilter,
        **kwargs,
    )


def test_each_trained_arch_is_the_proxy_best_of_its_candidates(tmp_path: Path) -> None:
    exp = experiment(f"sqlite:///{tmp_path / 'a.db'}", {"proxy": "synflow", "candidates": 4})
    exp.run(max_trials=3, progress=False)
    trained = [t.arch for t in exp.trials()]
    score = ZeroCostEvaluator("digits", device="cpu").scorer(SPACE, "synflow", seed=3)
    twin = ZeroCostPrefilter(RandomSearch(SPACE, seed=3), score, candidates=4)
    assert trained == [twin.ask() for _ in range(3)]
    plain = RandomSearch(SPACE, seed=3)
    assert trained[0] != plain.ask() or score(trained[0]) >= score(plain.ask())
    assert exp.record.spec["prefilter"] == {"proxy": "synflow", "candidates": 4}


def test_a_resumed_prefiltered_search_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    whole = experiment(f"sqlite:///{tmp_path / 'w.db'}", {"proxy": "naswot", "candidates": 3})
    whole.run(max_trials=3, progress=False)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    experiment(url, {"proxy": "naswot", "candidates": 3}).run(max_trials=1, progress=False)
    resumed = experiment(url, {"proxy": "naswot", "candidates": 3})
    resumed.run(max_trials=3, progress=False)
    assert [t.arch for t in resumed.trials()] == [t.arch for t in whole.trials()]
    with pytest.raises(StorageError, match="prefilter"):
        experiment(url, {"proxy": "synflow", "candidates": 3}).trials()
    with pytest.raises(StorageError, match="prefilter"):
        experiment(url, None).trials()


@pytest.mark.parametrize(
    ("prefilter", "error", "message"),
    [
        ({"proxy": "magic"}, UnknownNameError, "proxy"),
        ({"proxy": "synflow", "candidates": 0}, ConfigError, "prefilter.candidates"),
        ({"proxy": "synflow", "n": 3}, ConfigError, "unknown key 'n'; allowed: proxy, candidates"),
    ],
)
def test_bad_prefilter_options_are_named(
    tmp_path: Path, prefilter: dict, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        experiment(f"sqlite:///{tmp_path / 'x.db'}", prefilter)


def test_the_prefilter_needs_training_data() -> None:
    with pytest.raises(ConfigError, match="prefilter needs an evaluator with training data"):
        nf.Experiment(
            SPACE,
            strategy="random",
            evaluator=lambda arch: 1.0,
            objectives=["value"],
            storage="sqlite:///:memory:",
            prefilter={"proxy": "synflow"},
        )


def test_yaml_prefilter_is_parsed_and_checked() -> None:
    base = {"space": "nb201", "evaluator": {"name": "train", "options": {"dataset": "digits"}}}
    config = parse_config({**base, "prefilter": {"proxy": "snip"}})
    assert config.prefilter is not None and config.prefilter.model_dump() == {
        "proxy": "snip",
        "candidates": 10,
    }
    with pytest.raises(ConfigError, match=r"prefilter\.proxy: unknown proxy 'magic'; known: "):
        parse_config({**base, "prefilter": {"proxy": "magic"}})
    with pytest.raises(ConfigError, match="prefilter"):
        parse_config({**base, "prefilter": {"proxy": "snip", "candidates": 0}})
