"""Seeds, budgets and free-form settings have bounds, said in one line before anything is stored
(issue 13): a seed in 0..2**63-1, no booleans for numbers, at most a million trials or a year,
and at most 64 KiB of JSON per free-form section."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.experiment.components import MAX_SECTION_BYTES, check_stored

OPS = ["none", "skip_connect", "nor_conv_3x3"]


def experiment(path: Path, **kw: Any) -> nf.Experiment:
    kw.setdefault("strategy", "random")
    return nf.Experiment(
        nf.CellSpace(3, OPS), evaluator=lambda arch: 1.0, objectives=["value"], storage=path, **kw
    )


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64 + 5, True, 1.0, "0"])
def test_a_seed_outside_0_to_2_63_is_refused(tmp_path: Path, seed: Any) -> None:
    message = f"seed must be an integer from 0 to 2**63-1, got {seed!r}"
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        experiment(tmp_path / "s.db", seed=seed)
    assert not (tmp_path / "s.db").exists()


def test_the_largest_seed_searches(tmp_path: Path) -> None:
    exp = experiment(tmp_path / "s.db", seed=2**63 - 1)
    assert len(exp.run(max_trials=3, progress=False)) == 3
    assert exp.record.seed == 2**63 - 1


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"max_trials": 0}, "max_trials must be an integer from 1 to 1,000,000, got 0"),
        ({"max_trials": True}, "max_trials must be an integer from 1 to 1,000,000, got True"),
        ({"max_trials": 10**30}, "max_trials must be an integer from 1 to 1,000,000, got 10"),
        ({"max_trials": 2.0}, "max_trials must be an integer from 1 to 1,000,000, got 2.0"),
        ({"max_time": 0}, "max_time must be a number of seconds > 0 and at most 31,622,400"),
        ({"max_time": 1e30}, "max_time must be a number of seconds > 0 and at most 31,622,400"),
        ({"max_time": True}, "max_time must be a number of seconds > 0"),
        ({"max_time": float("nan")}, "max_time must be a number of seconds > 0"),
    ],
)
def test_a_budget_out_of_bounds_is_refused(
    tmp_path: Path, budget: dict[str, Any], message: str
) -> None:
    exp = experiment(tmp_path / "s.db")
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        exp.run(progress=False, **budget)
    assert not (tmp_path / "s.db").exists()


def test_a_free_form_section_over_64_kib_is_refused(tmp_path: Path) -> None:
    big = {"note": "x" * MAX_SECTION_BYTES}
    for section in ("fidelity", "scheduler_options"):
        kw: dict[str, Any] = {section: big}
        if section == "scheduler_options":
            kw["scheduler"] = lambda **options: pytest.fail("made")  # never reached
        with pytest.raises(ConfigError, match=f"^{section} takes more than 65,536 bytes as JSON"):
            experiment(tmp_path / "s.db", **kw)
    with pytest.raises(ConfigError, match=r"^config takes more than 1,048,576 bytes"):
        experiment(tmp_path / "s.db", config={"notes": ["x" * 1000] * 2000})
    assert not (tmp_path / "s.db").exists()


def test_a_section_that_repeats_itself_is_refused_without_expanding_it(tmp_path: Path) -> None:
    bomb: Any = ["lol"] * 10
    for _ in range(12):  # 10**13 strings once written out; a few hundred objects here
        bomb = [bomb] * 10
    with pytest.raises(ConfigError, match=r"^fidelity takes more than 65,536 bytes as JSON"):
        experiment(tmp_path / "s.db", fidelity={"levels": bomb})


def test_a_section_that_is_no_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^fidelity cannot be stored: .*object"):
        experiment(tmp_path / "s.db", fidelity={"when": object()})
    circular: dict[str, Any] = {}
    circular["self"] = circular
    with pytest.raises(ConfigError, match=r"^fidelity cannot be stored: Circular reference"):
        experiment(tmp_path / "s.db", fidelity=circular)
    assert not (tmp_path / "s.db").exists()


def test_check_stored_counts_bytes_not_characters() -> None:
    check_stored("x", "a" * 100, limit=102)  # with the quotes
    with pytest.raises(ConfigError, match=r"^x takes more than 102 bytes"):
        check_stored("x", "é" * 60, limit=102)  # JSON escapes each as 6 ASCII bytes
