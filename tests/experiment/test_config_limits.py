"""What a YAML search file may not do (issue 13): give a key twice, expand through aliases,
hold megabytes in a free-form section, put booleans where numbers go, leave seeds and budgets
unbounded, or name a device or liveness settings that cannot work."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from nasforge.errors import ConfigError
from nasforge.experiment.config import load_config, parse_config

GOOD: dict[str, Any] = {
    "name": "demo",
    "space": "nb201",
    "strategy": "random",
    "evaluator": {"name": "tabular", "options": {"epochs": 12}},
    "budget": {"max_trials": 5},
}


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="c.yaml")
    text = str(info.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": -1}, "c.yaml: seed: Input should be greater than or equal to 0 (got -1)"),
        (
            {"seed": 2**63},
            "c.yaml: seed: Input should be less than or equal to 9223372036854775807 (got 9223",
        ),
        ({"seed": True}, "c.yaml: seed: must be a number, not true or false (got True)"),
        (
            {"budget": {"max_trials": True}},
            "c.yaml: budget.max_trials: must be a number, not true or false (got True)",
        ),
        (
            {"budget": {"max_trials": 10**7}},
            "c.yaml: budget.max_trials: Input should be less than or equal to 1000000",
        ),
        (
            {"budget": {"max_time": 1e30}},
            "c.yaml: budget.max_time: Input should be less than or equal to 31622400",
        ),
        (
            {"budget": {"max_time": False}},
            "c.yaml: budget.max_time: must be a number, not true or false (got False)",
        ),
        (
            {"execution": {"workers": True}},
            "c.yaml: execution.workers: must be a number, not true or false (got True)",
        ),
        (
            {"prefilter": {"candidates": True}},
            "c.yaml: prefilter.candidates: must be a number, not true or false",
        ),
        ({"max_retries": True}, "c.yaml: max_retries: must be a number, not true or false"),
        (
            {"evaluator": {"name": "tabular", "options": {"epochs": True}}},
            "c.yaml: evaluator.options.epochs: must be a number, not true or false (got True)",
        ),
        (
            {"strategy": {"name": "regularized-evolution", "options": {"population_size": True}}},
            "c.yaml: strategy.options.population_size: must be a number, not true or false",
        ),
        (
            {"device": "gpu"},
            "c.yaml: device: not a device; allowed: 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' "
            "(got 'gpu')",
        ),
        (
            {"execution": {"heartbeat_s": 30, "stale_after": 10}},
            "c.yaml: execution: stale_after=10.0 must be larger than heartbeat_s=30.0, or a "
            "live trial's heartbeat would look stale",
        ),
        (
            {"fidelity": {"notes": "x" * 70_000}},
            "c.yaml: fidelity takes more than 65,536 bytes as JSON; allowed: at most 65,536",
        ),
        (
            {"evaluator": {"name": "tabular", "options": {"table": "t" * 70_000}}},
            "c.yaml: evaluator.options takes more than 65,536 bytes as JSON",
        ),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(
    changes: dict[str, Any], message: str
) -> None:
    assert refused({**GOOD, **changes}).startswith(message)


def test_numbers_and_bounds_that_are_fine() -> None:
    config = parse_config(
        {
            **GOOD,
            "seed": 2**63 - 1,
            "device": "cuda:1",
            "budget": {"max_trials": 1_000_000, "max_time": 600},
            "execution": {"heartbeat_s": 1, "stale_after": 1.5, "gpus_per_trial": 0},
            "evaluator": {"name": "tabular", "options": {"epochs": 200.0}},
        }
    )
    assert config.seed == 2**63 - 1 and config.budget.max_time == 600.0
    assert config.execution.stale_after == 1.5


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "search.yaml"
    path.write_text(text)
    return path


def test_a_key_given_twice_names_the_key_and_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\nseed: 1\nspace: nb201\n\nseed: 2\n")
    message = f"config {str(path)!r} line 5: duplicate key 'seed' (first on line 2)"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_config(path)
    nested = write(tmp_path, "space: nb201\nevaluator:\n  name: tabular\n  name: train\n")
    with pytest.raises(ConfigError, match=r"line 4: duplicate key 'name' \(first on line 3\)$"):
        load_config(nested)


#: about 500 bytes that expand to 9**9 strings, as in the issue
BOMB = """\
name: bomb
space: nb201
evaluator: tabular
budget: {max_trials: 1}
fidelity:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_aliases_that_expand_past_the_bound_are_refused(tmp_path: Path) -> None:
    assert len(BOMB) < 600
    path = write(tmp_path, BOMB)
    message = (
        f"config {str(path)!r} line 6: fidelity: its aliases expand the file past 100,000 "
        "values; allowed: at most 100,000 (write the values out)"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        load_config(path)
    endless = write(tmp_path, "space: nb201\nfidelity: &x {a: *x}\n")
    with pytest.raises(ConfigError, match="line 2: fidelity: its aliases expand the file past"):
        load_config(endless)


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "space: {name: nb201, options: &sizes {n_cells: 1, channels: 8}}\n"
        "evaluator: {name: tabular, options: {epochs: 12}}\n"
        "scheduler: {name: asha, options: {<<: {max_step: 3}, max_step: 9}}\n"
        "budget: {max_trials: 2}\n",
    )
    config = load_config(path)
    assert config.space.options == {"n_cells": 1, "channels": 8}
    # a merge key's values may be overridden: that is no duplicate
    assert config.scheduler is not None and config.scheduler.options == {"max_step": 9}
