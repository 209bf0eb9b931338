"""``Constraints``: parsed once from the forms a user writes, one canonical form, one-line
errors naming the entry and what is allowed."""

from __future__ import annotations

import math
import sys

import pytest

from nasforge.constraints import Constraint, Constraints
from nasforge.errors import ConfigError
from nasforge.space import Arch
from nasforge.trial import Trial, TrialStatus


def test_every_form_gives_the_same_canonical_constraints() -> None:
    canonical = {"params_m": "<= 0.5", "latency_ms": "< 2"}
    forms = [
        canonical,
        {"params_m": "<=0.5", "latency_ms": " <  2.0 "},
        ["params_m <= 0.5", "latency_ms<2"],
        ("params_m <= 5e-1", "latency_ms < 2"),
    ]
    parsed = [Constraints.parse(form) for form in forms]
    assert all(p == parsed[0] for p in parsed)
    assert parsed[0].to_json() == canonical
    assert Constraints.from_json(parsed[0].to_json()) == parsed[0]
    assert Constraints.parse(parsed[0]) is parsed[0]
    assert parsed[0].names == ("params_m", "latency_ms")
    assert str(parsed[0]) == "params_m <= 0.5, latency_ms < 2"
    assert Constraints.parse("flops > 10").to_json() == {"flops": "> 10"}


def test_no_constraints_is_empty_and_false() -> None:
    for value in (None, {}, [], ()):
        constraints = Constraints.parse(value)
        assert not constraints and len(constraints) == 0 and constraints.to_json() == {}
        assert constraints.feasible({"anything": 1.0})
    assert Constraints.from_json(None) == Constraints()


@pytest.mark.parametrize(
    ("op", "bound", "value", "margin", "holds"),
    [
        ("<=", 0.5, 0.75, 0.25, False),
        ("<=", 0.5, 0.5, 0.0, True),
        ("<=", 0.5, 0.25, -0.25, True),
        ("<", 0.5, 0.5, 0.0, False),
        (">=", 90.0, 80.0, 10.0, False),
        (">=", 90.0, 90.0, 0.0, True),
        (">", 90.0, 90.0, 0.0, False),
        (">", 90.0, 95.0, -5.0, True),
    ],
)
def test_each_operator_keeps_or_breaks(
    op: str, bound: float, value: float, margin: float, holds: bool
) -> None:
    constraint = Constraint("m", op, bound)
    assert constraint.margin(value) == margin
    assert constraint.holds(value) is holds
    constraints = Constraints([constraint])
    assert constraints.feasible({"m": value}) is holds
    broken = constraints.violations({"m": value})
    assert (not broken) is holds
    if not holds:  # by how much; on the bound of a strict one, by the least positive float
        assert broken == {"m": margin if margin > 0 else sys.float_info.min}
    assert constraints.margins({"m": value})["m"] == (broken["m"] if broken else margin)


def test_unmeasured_metrics_break_nothing_and_are_named() -> None:
    constraints = Constraints.parse({"params_m": "<= 0.5", "latency_ms": "<= 2"})
    assert constraints.violations({"params_m": 0.4}) == {}
    assert constraints.margins({"params_m": 0.4}) == pytest.approx({"params_m": -0.1})
    assert constraints.missing({"params_m": 0.4}) == "latency_ms"
    assert constraints.missing({"params_m": math.nan, "latency_ms": 1.0}) == "params_m"
    assert constraints.violations({"params_m": math.inf, "latency_ms": 3.0}) == {"latency_ms": 1.0}
    assert constraints.missing({"params_m": 0.1, "latency_ms": 1.0}) is None


def test_explain_names_the_value_and_the_constraint() -> None:
    constraints = Constraints.parse(["params_m <= 0.5", "val_acc >= 90"])
    metrics = {"params_m": 0.75, "val_acc": 80.0}
    assert constraints.explain(constraints.violations(metrics), metrics) == (
        "params_m = 0.75 breaks params_m <= 0.5; val_acc = 80 breaks val_acc >= 90"
    )


def test_judge_gives_stored_trials_their_verdict() -> None:
    constraints = Constraints.parse({"params_m": "<= 0.5"})
    arch = Arch({"x": 1})
    small = Trial(0, arch, TrialStatus.COMPLETE, {"params_m": 0.25}, scores=(1.0,))
    large = Trial(1, arch, TrialStatus.PRUNED, {"params_m": 0.75})
    failed = Trial(2, arch, TrialStatus.FAILED)
    judged = constraints.judge([small, large, failed])
    assert [t.feasible for t in judged] == [True, False, True]
    assert judged[1].violations == {"params_m": 0.25}
    assert judged[0].constraint_values == {"params_m": -0.25} and judged[0].violations == {}
    assert judged[2].constraint_values == {}  # not checked: it measured nothing
    assert Constraints().judge([large]) == [large]  # no constraint: as stored


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"params_m": "=< 0.5"},
            "constraints.params_m: '=< 0.5' is not a condition; write an operator (<=, <, >= or "
            ">) and a finite number, e.g. '<= 0.5' (operators allowed: '<=', '<', '>=' or '>')",
        ),
        ({"params_m": 0.5}, "constraints.params_m: 0.5 is not a condition"),
        ({"params_m": "== 0.5"}, "constraints.params_m: '== 0.5' is not a condition"),
        ({"params_m": "<= 1e999"}, "constraints.params_m: bound '1e999' is not a finite number"),
        ({"params_m": "<= half"}, "constraints.params_m: '<= half' is not a condition"),
        ({"": "<= 1"}, "constraints: '' is not a metric name"),
        ({"a b": "<= 1"}, "constraints: 'a b' is not a metric name"),
        (
            ["params_m = 0.5"],
            "constraints: 'params_m = 0.5' is not a constraint; write a metric name, then an "
            "operator",
        ),
        (["<= 0.5"], "constraints: '<= 0.5' is not a constraint"),
        ([3], "constraints: 3 is not a constraint"),
        (
            ["params_m <= 0.5", "params_m >= 0.1"],
            "constraints.params_m: named twice; give each metric one constraint",
        ),
        (5, "constraints must be a mapping like {'params_m': '<= 0.5'} or a list like"),
    ],
)
def test_bad_constraints_are_one_line_naming_the_entry(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Constraints.parse(value)  # type: ignore[arg-type]
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_a_constraint_the_evaluator_never_returns_is_refused() -> None:
    constraints = Constraints.parse({"latency_ms": "<= 2"})
    constraints.check_metrics(None, "FunctionEvaluator")  # unknown: checked on the trials
    with pytest.raises(ConfigError, match=r"^constraints.latency_ms: evaluator Tab does not "):
        constraints.check_metrics(("val_acc", "params_m"), "Tab")
