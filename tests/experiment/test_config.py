from __future__ import annotations

import pytest

from nasforge.errors import ConfigError
from nasforge.experiment.config import SearchConfig, load_config, parse_config

GOOD = {
    "name": "demo",
    "seed": 1,
    "storage": "sqlite:///x.db",
    "space": {"name": "nb201", "options": {"n_cells": 1, "channels": 8}},
    "strategy": {
        "name": "regularized-evolution",
        "options": {"population_size": 10, "sample_size": 3},
    },
    "evaluator": {"name": "tabular", "options": {"epochs": 12}},
    "objectives": {"val_acc": "max"},
    "budget": {"max_trials": 5, "max_time": 60},
}


def with_(**changes):
    data = {**GOOD}
    data.update(changes)
    return data


def test_a_good_config_parses_with_defaults_filled():
    cfg = parse_config(GOOD)
    assert isinstance(cfg, SearchConfig)
    assert cfg.strategy.options == {"population_size": 10, "sample_size": 3}
    assert cfg.budget.max_trials == 5 and cfg.device == "auto" and cfg.max_retries == 2
    bare = parse_config({"space": "nb201", "strategy": "random"})
    assert bare.space.name == "nb201" and bare.strategy.options == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_(sed=1), "sed: unknown key; allowed: budget, constraints, device, evaluator"),
        (with_(space="nb999"), "space.name: unknown space 'nb999'; known: chain, darts, "),
        (
            with_(strategy="evolution"),
            "strategy.name: unknown strategy 'evolution'; known: bananas, bohb, cmaes, darts,",
        ),
        (
            with_(evaluator={"name": "train", "options": {"epoch": 3}}),
            "evaluator.options.epoch: unknown key; allowed:",
        ),
        (
            with_(evaluator={"name": "train", "options": {"epochs": "many"}}),
            "evaluator.options.epochs: Input should be a valid integer",
        ),
        (
            with_(strategy={"name": "regularized-evolution", "options": {"sample_size": [1]}}),
            "strategy.options.sample_size",
        ),
        (
            with_(budget={"max_trials": 0}),
            "budget.max_trials: Input should be greater than or equal to 1",
        ),
        (
            with_(budget={"max_trials": 3, "trials": 2}),
            "budget.trials: unknown key; allowed: max_time, max_trials",
        ),
        (
            with_(objectives={"val_acc": "maximise"}),
            "objectives.val_acc: Input should be 'max' or 'min'",
        ),
        (with_(seed="zero"), "seed: Input should be a valid integer"),
        ({"name": "x"}, "space: required key is missing"),
    ],
)
def test_bad_configs_name_the_key_and_what_is_allowed(data, message):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_space_options_are_checked_against_the_space(tmp_path):
    with pytest.raises(ConfigError, match=r"space\.options\.n_cell: unknown key"):
        parse_config(with_(space={"name": "nb201", "options": {"n_cell": 1}}))


def test_yaml_problems_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nspace: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml' line \d+: not valid YAML"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(listy)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


def test_shipped_example_configs_are_valid():
    from pathlib import Path

    examples = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
    assert examples
    for path in examples:
        load_config(path)
