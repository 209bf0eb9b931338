"""Measures of the trained network: by name or as objects, declared in the evaluator's
metric names, checked in YAML, reused per arch when they depend on the arch alone."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import nasforge as nf
from nasforge.errors import ConfigError, UnknownNameError
from nasforge.estimation import (
    EVALUATORS,
    MEASURES,
    Measure,
    TrialContext,
    create_evaluator,
    create_measure,
    list_measures,
)
from nasforge.estimation.measures import ParameterCount, run_measures
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.config import build_experiment, parse_config
from nasforge.space import Task
from nasforge.spaces import NB201Space

ARCH = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
BASE = ("val_acc", "test_acc", "train_loss", "val_loss")


class Counting(Measure):
    """Counts its calls; records whether the model was in eval mode on the device."""

    name = "counting"
    metric_names = ("calls", "training")

    def __init__(self, per_arch: bool = False) -> None:
        self.per_arch = per_arch
        self.calls = 0

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        self.calls += 1
        return {"calls": float(self.calls), "training": float(model.training)}


def tiny() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 1, 8)).astype(np.float32), np.arange(40) % 2


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space(n_cells=1, channels=4)


def evaluate(evaluator: TrainEvaluator, space: NB201Space, **fidelity: object) -> dict[str, float]:
    ctx = TrialContext(space=space, seed=0, fidelity={"epochs": 1, **fidelity})
    return evaluator.evaluate(space.parse(ARCH), ctx)


def test_the_registry_has_the_parameter_count() -> None:
    assert "params" in list_measures() and "params" in MEASURES
    measure = create_measure("params")
    assert isinstance(measure, ParameterCount) and measure.metric_names == ("params",)
    assert measure.measure(nn.Linear(4, 3), Task((4,), 3), None) == {"params": 15.0}
    with pytest.raises(UnknownNameError, match=r"^unknown measure 'macs'; known: .*params"):
        create_measure("macs")


def test_params_by_default_and_the_metrics_unchanged(space: NB201Space) -> None:
    evaluator = TrainEvaluator(tiny(), batch_size=16)
    assert evaluator.measures == ("params",)
    assert evaluator.metric_names == (*BASE, "params", "epochs")
    metrics = evaluate(evaluator, space)
    assert list(metrics) == list(evaluator.metric_names)
    model = space.build(space.parse(ARCH), evaluator.load_data().task)
    assert metrics["params"] == sum(p.numel() for p in model.parameters())
    named = evaluate(TrainEvaluator(tiny(), batch_size=16, measures=["params"]), space)
    assert named == metrics


def test_no_measures(space: NB201Space) -> None:
    evaluator = TrainEvaluator(tiny(), batch_size=16, measures=[])
    assert evaluator.metric_names == (*BASE, "epochs")
    assert list(evaluate(evaluator, space)) == [*BASE, "epochs"]


def test_a_measure_object_adds_its_metrics_on_the_model_in_eval_mode(space: NB201Space) -> None:
    counting = Counting()
    evaluator = TrainEvaluator(tiny(), batch_size=16, measures=["params", counting])
    assert evaluator.metric_names == (*BASE, "params", "calls", "training", "epochs")
    metrics = evaluate(evaluator, space)
    assert metrics["calls"] == 1.0 and metrics["training"] == 0.0
    assert list(metrics) == list(evaluator.metric_names)
    assert evaluate(evaluator, space)["calls"] == 2.0  # measured again: not per arch


def test_a_per_arch_measure_is_measured_once_per_network(space: NB201Space) -> None:
    counting = Counting(per_arch=True)
    evaluator = TrainEvaluator(tiny(), batch_size=16, measures=[counting])
    assert evaluate(evaluator, space)["calls"] == 1.0
    assert evaluate(evaluator, space)["calls"] == 1.0  # the same network: reused
    assert evaluate(evaluator, space, channels=2)["calls"] == 2.0  # another size: measured
    assert evaluate(evaluator, NB201Space(n_cells=1, channels=2))["calls"] == 2.0  # same net
    assert evaluate(evaluator, NB201Space(n_cells=2, channels=4))["calls"] == 3.0
    assert counting.calls == 3


def test_a_measure_must_return_what_it_declares() -> None:
    class Liar(Counting):
        metric_names = ("calls",)

    with pytest.raises(ValueError, match=r"measure 'counting' returned \['calls', 'training'\]"):
        run_measures([Liar()], nn.Linear(2, 2), Task((2,), 2), None, "key")


@pytest.mark.parametrize(
    ("measures", "error", "message"),
    [
        (
            ["macs"],
            UnknownNameError,
            "unknown measure 'macs'; known: flops, latency, mflops, params",
        ),
        ("params", ConfigError, "measures='params'; allowed: a list of measure names (params"),
        ([3], ConfigError, "measures has 3; allowed: a list of measure names"),
        (["params", "params"], ConfigError, "measures: metric 'params' of measure 'params' is"),
        ([Counting(), ParameterCount(), Counting()], ConfigError, "metric 'calls' of measure"),
    ],
)
def test_bad_measures_are_refused_in_one_line(
    measures: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)) as info:
        TrainEvaluator("digits", measures=measures)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_a_measure_may_not_shadow_a_training_metric() -> None:
    class Shadow(Counting):
        name, metric_names = "shadow", ("val_acc",)

    with pytest.raises(ConfigError, match="metric 'val_acc' of measure 'shadow' is also returned"):
        TrainEvaluator("digits", measures=[Shadow()])


def test_measure_names_rebuild_the_evaluator_objects_do_not() -> None:
    evaluator = create_evaluator("train", dataset="digits", epochs=1, measures=[])
    found = EVALUATORS.options_of(evaluator)
    assert found is not None and found[0] == "train" and found[1]["measures"] == []
    assert create_evaluator("train", **found[1]).metric_names == evaluator.metric_names
    assert EVALUATORS.options_of(TrainEvaluator("digits", measures=[Counting()])) is None


def config(measures: object, tmp_path: Path) -> dict[str, object]:
    return {
        "space": {"name": "nb201", "options": {"n_cells": 1, "channels": 4}},
        "strategy": "random",
        "evaluator": {"name": "train", "options": {"dataset": "digits", "measures": measures}},
        "objectives": {"val_acc": "max", "params": "min"},
        "storage": f"sqlite:///{tmp_path / 'runs.db'}",
    }


def test_yaml_names_measures(tmp_path: Path) -> None:
    parsed = parse_config(config(["params"], tmp_path))
    assert parsed.evaluator.options["measures"] == ["params"]
    experiment = build_experiment(parsed)
    assert experiment.evaluator.metric_names == (*BASE, "params", "epochs")
    with pytest.raises(ConfigError, match=r"evaluator\.options\.measures"):
        parse_config(config("params", tmp_path))  # a name, not a list
    with pytest.raises(
        UnknownNameError, match=r"^evaluator: unknown measure 'macs'; known: flops, "
    ):
        build_experiment(parse_config(config(["macs"], tmp_path)))


def test_an_objective_no_measure_returns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^objectives\.params: evaluator TrainEvaluator does"):
        nf.Experiment(
            nf.create_space("nb201", n_cells=1, channels=4),
            evaluator=TrainEvaluator("digits", measures=[]),
            objectives={"val_acc": "max", "params": "min"},
            storage=tmp_path / "runs.db",
        )
