from __future__ import annotations

import math

import pytest

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives


def test_parse_accepts_a_mapping_a_list_a_name_or_nothing() -> None:
    assert dict(Objectives.parse({"val_acc": "max", "params": "min"})) == {
        "val_acc": "max",
        "params": "min",
    }
    assert dict(Objectives.parse(["a", "b"])) == {"a": "max", "b": "max"}
    assert dict(Objectives.parse("loss")) == {"loss": "max"}
    assert dict(Objectives.parse(None)) == {"val_acc": "max"}
    same = Objectives.parse({"x": "min"})
    assert Objectives.parse(same) is same


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({}, "at least one metric"),
        (
            {"val_acc": "up"},
            r"objectives.val_acc: direction 'up' is not allowed; use 'max' or 'min'",
        ),
        ([1, 2], "expected metric names, got 1"),
        (3.5, "must be a mapping"),
        ({"": "max"}, "non-empty"),
    ],
)
def test_bad_objectives_name_the_entry(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Objectives.parse(value)  # type: ignore[arg-type]


def test_scores_are_oriented_larger_is_better_in_order() -> None:
    objectives = Objectives.parse({"val_acc": "max", "latency_ms": "min"})
    assert objectives.primary == "val_acc"
    assert objectives.directions == ("max", "min")
    assert objectives.multi
    assert objectives.scores({"latency_ms": 2.0, "val_acc": 90.0, "other": 1.0}) == (90.0, -2.0)
    assert objectives.scores({"val_acc": 90.0}) is None
    assert objectives.scores({"val_acc": 90.0, "latency_ms": math.nan}) is None
    assert objectives.missing({"val_acc": 90.0, "latency_ms": math.inf}) == "latency_ms"
    assert objectives.missing({"val_acc": 1.0, "latency_ms": 2.0}) is None
    assert objectives.value({"latency_ms": 3.0}, "latency_ms") == -3.0
    assert objectives.value({"val_acc": 3.0}) == 3.0


def test_equality_order_and_json_round_trip() -> None:
    a = Objectives.parse({"a": "max", "b": "min"})
    assert a == {"a": "max", "b": "min"}
    assert a != Objectives.parse({"b": "min", "a": "max"})  # the primary differs
    assert Objectives.from_json(a.to_json()) == a
    assert hash(a) == hash(Objectives.parse({"a": "max", "b": "min"}))


def test_check_metrics_refuses_an_objective_the_evaluator_never_returns() -> None:
    objectives = Objectives.parse({"val_acc": "max", "latency_ms": "min"})
    with pytest.raises(
        ConfigError,
        match=r"objectives.latency_ms: evaluator TrainEvaluator does not return 'latency_ms'; "
        r"it returns val_acc, test_acc",
    ):
        objectives.check_metrics(("val_acc", "test_acc"), "TrainEvaluator")
    objectives.check_metrics(None, "FunctionEvaluator")  # unknown until a trial returns
    objectives.check_metrics(("latency_ms", "val_acc"), "Mine")
