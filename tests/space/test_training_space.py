"""Training dimensions attached to a space: their values, conditions, keys and options."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import (
    TRAINING_DEFAULTS,
    Categorical,
    Float,
    Int,
    Space,
    Task,
    TrainingModelSpace,
    TrainingSpace,
    training_values,
    with_training,
)
from nasforge.space.training import INITS, OPTIMIZERS, SCHEDULES
from nasforge.spaces import SPACES, create_space
from nasforge.testing.spaces import cell_space, sample_archs

NB201 = {"n_cells": 1, "channels": 4}


def test_defaults_give_every_field_with_momentum_only_for_momentum_optimisers() -> None:
    space = with_training(create_space("nb201", **NB201))
    train = [n for n in space.names if n.startswith("train.")]
    assert train == [f"train.{field}" for field in TRAINING_DEFAULTS]
    assert space.dim("train.momentum").when == {"train.optimizer": ("momentum", "nesterov")}
    lr, wd = space.dim("train.lr"), space.dim("train.weight_decay")
    assert isinstance(lr, Float) and (lr.low, lr.high, lr.log) == (1e-4, 0.1, True)
    assert isinstance(wd, Float) and (wd.low, wd.high, wd.log) == (1e-6, 1e-2, True)
    for arch in sample_archs(space, n=200, seed=0):
        values = training_values(arch)
        assert values["optimizer"] in OPTIMIZERS and values["schedule"] in SCHEDULES
        assert values["init"] in INITS and values["batch_size"] in (32, 64, 128, 256)
        assert 1e-4 <= values["lr"] <= 0.1 and 1e-6 <= values["weight_decay"] <= 1e-2
        assert 0.0 <= values["dropout"] <= 0.5
        uses_momentum = values["optimizer"] in ("momentum", "nesterov")
        assert ("momentum" in values) == uses_momentum
        if uses_momentum:
            assert 0.5 <= values["momentum"] <= 0.99
    seen = {a["train.optimizer"] for a in sample_archs(space, n=200, seed=0)}
    assert seen == set(OPTIMIZERS)


def test_the_inner_space_keeps_what_it_states() -> None:
    inner = create_space("nb201", **NB201)
    space = with_training(inner)
    assert isinstance(space, TrainingModelSpace) and space.name == "nb201"
    assert space.size_options == inner.size_options
    assert space.cell_templates() == inner.cell_templates()
    assert space.decision_groups()[: len(inner.decision_groups())] == inner.decision_groups()
    assert math.isinf(space.size())
    arch = space.sample(np.random.default_rng(3))
    cell, _, rest = arch.key.partition(",")
    assert inner.parse(cell) == space.split(arch)[0]
    assert rest.startswith("train.optimizer=")
    assert space.cells(arch) == inner.cells(inner.parse(cell))
    import torch

    task = Task((1, 16), 3)
    torch.manual_seed(0)
    a = space.build(arch, task)
    torch.manual_seed(0)
    b = inner.build(inner.parse(cell), task)
    assert a.state_dict().keys() == b.state_dict().keys()
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    assert all(torch.equal(x, y) for x, y in pairs)


def test_a_choices_only_space_stays_one() -> None:
    space = with_training(cell_space(), optimizer="adam")
    assert isinstance(space, TrainingSpace) and not isinstance(space, TrainingModelSpace)
    assert "train.momentum" not in space.names  # no optimizer of the choice uses it
    assert space.dim("train.optimizer").values() == ["adam"]


def test_user_restricts_and_fixes_fields() -> None:
    space = with_training(
        create_space("nb201", **NB201),
        optimizer=["sgd", "nesterov"],
        momentum=0.9,
        lr={"low": 0.01, "high": 0.1},
        schedule="cosine",
        weight_decay=None,
        batch_size={"low": 16, "high": 64, "log": True},
        dropout=[0.0, 0.25],
        init=None,
    )
    assert [n for n in space.names if n.startswith("train.")] == [
        "train.optimizer",
        "train.momentum",
        "train.lr",
        "train.schedule",
        "train.batch_size",
        "train.dropout",
    ]
    assert isinstance(space.dim("train.batch_size"), Int)
    assert isinstance(space.dim("train.dropout"), Categorical)
    for arch in sample_archs(space, n=50):
        assert arch["train.momentum"] == (0.9 if arch["train.optimizer"] == "nesterov" else None)
        assert arch["train.schedule"] == "cosine" and 16 <= arch["train.batch_size"] <= 64
    assert space.training["weight_decay"] is None
    assert space.training["lr"] == {"low": 0.01, "high": 0.1, "log": False}


def test_create_space_takes_training_and_reads_it_back() -> None:
    space = create_space("nb201", **NB201, training={"optimizer": ["adam", "adamw"]})
    assert isinstance(space, TrainingModelSpace)
    name, options = SPACES.options_of(space) or ("", {})
    assert name == "nb201" and options["training"]["optimizer"] == ["adam", "adamw"]
    assert options["training"]["momentum"] is None  # adam and adamw have none
    again = create_space(name, **options)
    assert again.names == space.names
    for arch in sample_archs(space, n=5):
        assert again.parse(arch.key) == arch
    assert not isinstance(create_space("nb201", training=None), TrainingSpace)
    assert isinstance(create_space("nb201", training=True), TrainingSpace)


@pytest.mark.parametrize(
    ("training", "message"),
    [
        ({"optimiser": ["sgd"]}, "training has unknown field 'optimiser'; allowed: "),
        ({"optimizer": ["sgd", "lamb"]}, "training.optimizer has 'lamb'; allowed: 'sgd'"),
        ({"schedule": []}, "training.schedule=[]; allowed: one of"),
        ({"lr": {"low": 0.1, "high": 0.01}}, "training.lr: low=0.1 must be below high=0.01"),
        ({"lr": 0}, "training.lr=0; allowed: a number > 0"),
        ({"lr": {"low": 1e-3, "hi": 1}}, "training.lr={'low': 0.001, 'hi': 1}; allowed: a range"),
        ({"weight_decay": {"low": 0, "high": 1, "log": True}}, "needs low > 0"),
        ({"batch_size": 1.5}, "training.batch_size=1.5; allowed: an integer >= 2"),
        ({"dropout": 1.0}, "training.dropout=1.0; allowed: a number with 0 <= dropout < 1"),
        ({"init": "he"}, "training.init has 'he'; allowed:"),
        ({"momentum": 0.9, "optimizer": ["adam"]}, "training.momentum is searched but no"),
        ({"dropout": True}, "training.dropout=True; allowed:"),
        ({f: None for f in TRAINING_DEFAULTS}, "training leaves every field out"),
        ("adam", "training='adam'; allowed: a mapping of training fields"),
    ],
)
def test_bad_training_options_are_one_line_config_errors(training: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        create_space("nb201", training=training)
    text = str(info.value)
    assert message in text and "\n" not in text, text


def test_names_that_would_clash_are_refused() -> None:
    prefixed = Space([Categorical("train.op", ["a", "b"])])
    with pytest.raises(ConfigError, match=r"do not start with 'train\.'"):
        with_training(prefixed)
    own_lr = create_space("nb201", hyperparameters=["lr"])
    with pytest.raises(ConfigError, match="searches 'lr' itself; allowed: training with lr: null"):
        with_training(own_lr)
    assert "lr" in with_training(own_lr, lr=None).names
    with pytest.raises(ConfigError, match="already has training dimensions"):
        with_training(with_training(own_lr, lr=None))


def test_parse_refuses_a_key_without_training_values() -> None:
    space = with_training(create_space("nb201", **NB201))
    arch = space.sample(np.random.default_rng(0))
    cell = arch.key.partition(",")[0]
    with pytest.raises(Exception, match="no training values"):
        space.parse(cell)
