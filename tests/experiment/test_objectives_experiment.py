"""Objectives reach every part of a search: the defects of single-objective plumbing."""

from __future__ import annotations

import statistics
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import nasforge as nf
from nasforge.errors import ConfigError, NasforgeWarning
from nasforge.experiment.components import check_multi_objective
from nasforge.trial import Trial

TWO = {"val_acc": "max", "params_m": "min"}


def _front(trials: list[Trial]) -> list[tuple[float, float]]:
    points = [(t.metrics["val_acc"], t.metrics["params_m"]) for t in trials]
    return sorted(
        {a for a in points if not any(b[0] >= a[0] and b[1] <= a[1] and b != a for b in points)}
    )


def _nsga2(objectives: dict[str, str], seed: int = 3) -> nf.Experiment:
    evaluator = nf.create_evaluator("tabular", epochs=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NasforgeWarning)
        exp = nf.Experiment(
            evaluator.space(),
            strategy="optuna:nsga2",
            evaluator=evaluator,
            objectives=objectives,
            storage="sqlite:///:memory:",
            seed=seed,
            strategy_options={"population_size": 10},
        )
    exp.run(max_trials=60, progress=False)
    return exp


def test_nsga2_on_two_objectives_moves_the_front_on_both() -> None:
    exp = _nsga2(TWO)
    study = exp.strategy_.study_  # type: ignore[attr-defined]
    assert len(study.directions) == 2
    trials = exp.trials()
    first, later = _front(trials[:10]), _front(trials[30:])
    # the later generations improve accuracy and still hold the smallest networks
    assert max(v for v, _ in later) > max(v for v, _ in first)
    assert min(p for _, p in later) <= min(p for _, p in first)
    # the second objective pulls the search toward small networks: with the primary objective
    # alone (what optuna:nsga2 did before objectives reached the strategy) it drifts to large ones
    primary_only = _nsga2({"val_acc": "max"})
    late_params = statistics.median(t.metrics["params_m"] for t in trials[30:])
    late_params_primary = statistics.median(
        t.metrics["params_m"] for t in primary_only.trials()[30:]
    )
    assert late_params < 0.5 * late_params_primary
    # every complete trial carries both scores, the minimised one negated
    done = [t for t in trials if t.scores is not None]
    assert all(t.scores == (t.metrics["val_acc"], -t.metrics["params_m"]) for t in done)


def test_an_objective_the_evaluator_never_returns_is_refused_before_any_trial(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as err:
        nf.Experiment(
            nf.create_space("nb201", n_cells=1, channels=8),
            evaluator=nf.create_evaluator("train", dataset="digits", epochs=1),
            objectives={"val_acc": "max", "latency_ms": "min"},
            storage=tmp_path / "runs.db",
        )
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("objectives.latency_ms: evaluator TrainEvaluator does not return")
    assert "val_acc, test_acc" in message
    assert not (tmp_path / "runs.db").exists()  # refused before anything was stored


def test_the_cli_refuses_a_typo_in_the_objectives_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text(
        "name: typo\nspace: nb201\nevaluator: {name: tabular}\n"
        "objectives: {val_accc: max}\nbudget: {max_trials: 3}\n"
        f"storage: sqlite:///{tmp_path / 'runs.db'}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "nasforge", "search", str(config), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "objectives.val_accc: evaluator TabularEvaluator does not return 'val_accc'" in (
        done.stderr
    )


def test_a_single_objective_strategy_refuses_several_objectives_in_one_line() -> None:
    evaluator = nf.create_evaluator("tabular", epochs=12)
    for strategy in ("regularized-evolution", "reinforce", "pnas"):
        with pytest.raises(ConfigError) as caught:
            nf.Experiment(
                evaluator.space(),
                strategy=strategy,
                evaluator=evaluator,
                objectives=TWO,
                storage="sqlite:///:memory:",
            )
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(
            f"strategy {strategy!r} optimises one objective and cannot search several "
            "('val_acc' (max), 'params_m' (min)); use random, mo-regularized-evolution, dpp-net,"
        )
        assert message.endswith("or reinforce with a reward option, or keep one objective")
    # a one-shot method optimises one objective too (of those its supernet estimates)
    objectives = nf.Objectives.parse({"val_acc": "max", "val_loss": "min"})
    darts = nf.create_strategy("darts", evaluator.space(), objectives=objectives)
    with pytest.raises(ConfigError, match=r"^strategy 'darts' optimises one objective and"):
        check_multi_objective(objectives, darts, "darts")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NasforgeWarning)  # a multi-objective strategy: silent
        for strategy, options in (
            ("optuna:nsga2", {}),
            ("mo-regularized-evolution", {}),
            ("reinforce", {"reward": {"kind": "penalty", "weights": {"params_m": 10}}}),
        ):
            nf.Experiment(
                evaluator.space(),
                strategy=strategy,
                evaluator=evaluator,
                objectives=TWO,
                storage="sqlite:///:memory:",
                strategy_options=options,
            )
