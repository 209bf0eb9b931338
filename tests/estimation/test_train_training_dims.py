"""TrainEvaluator honours an arch's training dimensions (``train.*``), and a search over
nb201 with them runs end to end."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.estimation import TrialContext
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.config import parse_config
from nasforge.space import Categorical, ModelSpace, Space, Task, with_training
from nasforge.spaces import create_space
from nasforge.training import loop

CELL = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
FIXED = {"optimizer": None, "momentum": None, "lr": None, "schedule": None}
FIXED |= {"weight_decay": None, "batch_size": None, "dropout": None, "init": None}


@pytest.fixture(scope="module")
def space() -> ModelSpace:
    return with_training(create_space("nb201", n_cells=1, channels=4))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def evaluator() -> TrainEvaluator:
    ev = TrainEvaluator("digits", epochs=2, train_fraction=0.25, batch_size=64, lr=0.05)
    ev.load_data()
    return ev


def arch_of(space: Space, **training: Any) -> Any:
    values = {f"edge_{j}_{i}": op for (i, j), op in zip(EDGES, OPS, strict=True)}
    defaults = {"optimizer": "sgd", "lr": 0.05, "schedule": "constant", "weight_decay": 1e-4}
    defaults |= {"batch_size": 64, "dropout": 0.0, "init": "default"}
    return space.make(values | {f"train.{k}": v for k, v in (defaults | training).items()})


EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
OPS = ["nor_conv_3x3", "skip_connect", "nor_conv_1x1", "skip_connect", "none", "avg_pool_3x3"]


class Spy:
    """Records the optimiser, schedule steps and learning rate per epoch of each training."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.optimizers: list[torch.optim.Optimizer] = []
        self.total_steps: list[int] = []
        real_opt, real_sched = loop.make_optimizer, loop.make_schedule

        def make_optimizer(*args: Any, **kw: Any) -> torch.optim.Optimizer:
            self.optimizers.append(real_opt(*args, **kw))
            return self.optimizers[-1]

        def make_schedule(opt: torch.optim.Optimizer, schedule: str, total: int) -> Any:
            self.total_steps.append(total)
            return real_sched(opt, schedule, total)

        monkeypatch.setattr(loop, "make_optimizer", make_optimizer)
        monkeypatch.setattr(loop, "make_schedule", make_schedule)

    def lr_now(self) -> float:
        return float(self.optimizers[-1].param_groups[0]["lr"])


def fit(evaluator: TrainEvaluator, space: Space, arch: Any, spy: Spy | None = None) -> Any:
    lrs: list[float] = []
    model, metrics = evaluator.fit(
        arch, space, seed=0, on_epoch=lambda *_: lrs.append(spy.lr_now()) if spy else None
    )
    return model, metrics, lrs


def test_the_arch_chooses_the_optimiser(
    evaluator: TrainEvaluator, space: ModelSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    fit(evaluator, space, arch_of(space, optimizer="adam", lr=0.003, weight_decay=1e-5))
    fit(evaluator, space, arch_of(space, optimizer="nesterov", momentum=0.7))
    fit(evaluator, space, arch_of(space, optimizer="adamw"))
    adam, nesterov, adamw = spy.optimizers
    assert type(adam) is torch.optim.Adam
    assert adam.defaults["lr"] == 0.003 and adam.defaults["weight_decay"] == 1e-5
    assert type(nesterov) is torch.optim.SGD
    assert nesterov.defaults["nesterov"] and nesterov.defaults["momentum"] == 0.7
    assert type(adamw) is torch.optim.AdamW


def test_the_schedule_changes_the_lr_over_epochs(
    evaluator: TrainEvaluator, space: ModelSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    _, _, constant = fit(evaluator, space, arch_of(space, schedule="constant"), spy)
    _, _, cosine = fit(evaluator, space, arch_of(space, schedule="cosine"), spy)
    _, _, step = fit(evaluator, space, arch_of(space, schedule="step"), spy)
    assert constant == [0.05, 0.05]
    assert cosine[0] == pytest.approx(0.025) and cosine[1] == pytest.approx(0.0, abs=1e-12)
    assert step == pytest.approx([0.005, 0.0005])  # x0.1 after half, again after 3/4


def test_the_batch_size_changes_the_steps_per_epoch(
    evaluator: TrainEvaluator, space: ModelSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    _, small, _ = fit(evaluator, space, arch_of(space, batch_size=32))
    _, large, _ = fit(evaluator, space, arch_of(space, batch_size=128))
    rows = round(0.25 * 1293)  # digits: 1293 training samples after the validation split
    assert spy.total_steps == [2 * -(-rows // 32), 2 * -(-rows // 128)]
    assert small["train.batch_size"] == 32 and large["train.batch_size"] == 128


def test_dropout_and_init_reach_the_model(evaluator: TrainEvaluator, space: ModelSpace) -> None:
    model, metrics, _ = fit(evaluator, space, arch_of(space, dropout=0.3))
    assert model.dropout.p == 0.3 and metrics["train.dropout"] == 0.3
    seen: list[str] = []
    real = nf.estimation.train.initialise

    def spy(model: torch.nn.Module, scheme: str) -> None:
        seen.append(scheme)
        real(model, scheme)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nf.estimation.train, "initialise", spy)
        _, kaiming, _ = fit(evaluator, space, arch_of(space, init="kaiming"))
        _, default, _ = fit(evaluator, space, arch_of(space, init="default"))
    assert seen == ["kaiming", "default"]
    assert kaiming["train_loss"] != default["train_loss"]  # other initial weights


def test_training_is_deterministic_and_recorded(
    evaluator: TrainEvaluator, space: ModelSpace
) -> None:
    arch = arch_of(space, optimizer="momentum", momentum=0.8, dropout=0.2, init="xavier")
    ctx = TrialContext(space=space, seed=4)
    first, again = evaluator.evaluate(arch, ctx), evaluator.evaluate(arch, ctx)
    assert first == again
    assert first["train.lr"] == 0.05 and first["train.momentum"] == 0.8
    assert first["train.weight_decay"] == 1e-4 and first["train.dropout"] == 0.2
    plain = create_space("nb201", n_cells=1, channels=4)
    plain_ctx = TrialContext(space=plain, seed=4)
    assert not any(k.startswith("train.") for k in evaluator.evaluate(plain.parse(CELL), plain_ctx))


def test_unsearched_fields_come_from_the_evaluator(monkeypatch: pytest.MonkeyPatch) -> None:
    space = with_training(create_space("nb201", n_cells=1, channels=4), FIXED | {"init": "lecun"})
    ev = TrainEvaluator("digits", epochs=1, train_fraction=0.1, optimizer="adam", lr=0.002)
    spy = Spy(monkeypatch)
    arch = space.make(
        {f"edge_{j}_{i}": op for (i, j), op in zip(EDGES, OPS, strict=True)}
        | {"train.init": "lecun"}
    )
    metrics = ev.evaluate(arch, TrialContext(space=space))
    assert type(spy.optimizers[0]) is torch.optim.Adam and spy.optimizers[0].defaults["lr"] == 0.002
    assert metrics["train.batch_size"] == 128  # the evaluator's


def test_dropout_needs_a_network_with_dropout() -> None:
    class NoDropout(ModelSpace):
        def __init__(self) -> None:
            super().__init__([Categorical("width", [4, 8])], name="plain")

        def build(self, arch: Any, task: Task, **sizes: int) -> torch.nn.Module:
            n = math.prod(task.input_shape)
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n, task.num_classes))

    space = with_training(NoDropout(), FIXED | {"dropout": [0.0, 0.3]})
    ev = TrainEvaluator("digits", epochs=1, train_fraction=0.1)
    ctx = TrialContext(space=space)
    ev.evaluate(space.make({"width": 4, "train.dropout": 0.0}), ctx)  # nothing to reach
    refused = r"dropout=0\.3 cannot reach the network of space 'plain': it has no dropout"
    with pytest.raises(ConfigError, match=refused):
        ev.evaluate(space.make({"width": 4, "train.dropout": 0.3}), ctx)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"optimizer": "lamb"}, "optimizer='lamb'; allowed: None, 'sgd'"),
        ({"schedule": "poly"}, "schedule='poly'; allowed: 'constant'"),
        ({"init": "he"}, "init='he'; allowed: 'default'"),
        ({"dropout": 1.5}, "dropout=1.5; allowed: a number with 0.0 <= dropout < 1.0"),
    ],
)
def test_bad_evaluator_training_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        TrainEvaluator("digits", **options)


def test_random_search_over_nb201_with_training_runs_end_to_end(tmp_path: Any) -> None:
    config = parse_config(
        {
            "name": "nb201-training",
            "space": {
                "name": "nb201",
                "options": {
                    "n_cells": 1,
                    "channels": 4,
                    "training": {"optimizer": ["sgd", "adam"], "batch_size": [64, 128]},
                },
            },
            "strategy": "random",
            "evaluator": {
                "name": "train",
                "options": {"dataset": "digits", "epochs": 1, "train_fraction": 0.2},
            },
            "objectives": {"val_acc": "max"},
            "budget": {"max_trials": 3},
            "storage": str(tmp_path / "s.db"),
        }
    )
    from nasforge.experiment.config import build_experiment

    exp = build_experiment(config)
    exp.run(max_trials=config.budget.max_trials, progress=False)
    trials = exp.trials()
    assert len(trials) == 3 and all(t.status.value == "complete" for t in trials)
    for trial in trials:
        assert trial.arch["train.optimizer"] in ("sgd", "adam")
        assert trial.metrics["train.batch_size"] == trial.arch["train.batch_size"]
    again = nf.load_experiment("nb201-training", str(tmp_path / "s.db"))
    assert [t.arch for t in again.trials()] == [t.arch for t in trials]


def test_yaml_training_options_are_checked_in_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            {"space": {"name": "nb201", "options": {"training": {"lr": [0.1, -1]}}}}
            | {"strategy": "random"}
        )
    text = str(info.value)
    assert "space.options.training.lr=-1; allowed: a number > 0" in text and "\n" not in text
