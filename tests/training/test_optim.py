"""Optimisers, schedules, dropout and initialisation by the names of the training dimensions."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.training import initialise, make_optimizer, make_schedule, set_dropout


def params() -> list[nn.Parameter]:
    return list(nn.Linear(3, 2).parameters())


@pytest.mark.parametrize(
    ("name", "momentum", "kind", "expected"),
    [
        ("sgd", 0.9, torch.optim.SGD, {"momentum": 0, "nesterov": False}),
        ("momentum", 0.8, torch.optim.SGD, {"momentum": 0.8, "nesterov": False}),
        ("nesterov", 0.8, torch.optim.SGD, {"momentum": 0.8, "nesterov": True}),
        (None, 0.9, torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
        (None, 0.0, torch.optim.SGD, {"momentum": 0.0, "nesterov": False}),
        ("adam", 0.9, torch.optim.Adam, {"weight_decay": 1e-3}),
        ("adamw", 0.9, torch.optim.AdamW, {"weight_decay": 1e-3}),
    ],
)
def test_optimisers_by_name(
    name: str | None, momentum: float, kind: type, expected: dict[str, object]
) -> None:
    opt = make_optimizer(params(), name, 0.05, momentum, 1e-3)
    assert type(opt) is kind and opt.defaults["lr"] == 0.05
    for key, value in expected.items():
        assert opt.defaults[key] == value, key


def lrs(schedule: str, steps: int = 8) -> list[float]:
    opt = torch.optim.SGD(params(), lr=1.0)
    sched = make_schedule(opt, schedule, steps)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedules_by_name() -> None:
    assert lrs("constant") == [1.0] * 8
    assert [round(x, 6) for x in lrs("step")] == [1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01]
    cosine = lrs("cosine")
    assert cosine[0] == 1.0 and all(a > b for a, b in itertools.pairwise(cosine))
    assert cosine[4] == pytest.approx(0.5 * (1 + math.cos(math.pi * 4 / 8)))


def test_dropout_reaches_every_dropout_module() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1), nn.Sequential(nn.AlphaDropout(0.0)))
    assert set_dropout(model, 0.3) == 2
    assert [m.p for m in model.modules() if isinstance(m, (nn.Dropout, nn.AlphaDropout))] == [
        0.3,
        0.3,
    ]
    assert set_dropout(nn.Linear(2, 2), 0.3) == 0
    with pytest.raises(ConfigError, match=r"dropout=1\.0; allowed"):
        set_dropout(model, 1.0)


@pytest.mark.parametrize(
    ("scheme", "std"),
    [("kaiming", math.sqrt(2 / 400)), ("lecun", math.sqrt(1 / 400)), ("xavier", None)],
)
def test_initialisation_schemes_draw_the_weights(scheme: str, std: float | None) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(100, 200, 4), nn.BatchNorm1d(200), nn.Linear(400, 300))
    norm = model[1].weight.clone()
    initialise(model, scheme)
    conv = model[0].weight.detach()
    if std is not None:
        assert float(conv.std()) == pytest.approx(std, rel=0.05)
    else:  # Glorot-uniform: bound sqrt(6 / (fan_in + fan_out))
        bound = math.sqrt(6 / (400 + 800))
        assert float(conv.abs().max()) <= bound and float(conv.abs().max()) > 0.9 * bound
    for layer in (model[0], model[2]):
        assert float(layer.bias.detach().abs().sum()) == 0
    assert torch.equal(model[1].weight, norm)  # normalisation keeps its own


def test_default_initialisation_keeps_pytorchs_and_unknown_names_are_refused() -> None:
    model = nn.Linear(3, 2)
    before = model.weight.clone()
    initialise(model, "default")
    assert torch.equal(model.weight, before)
    with pytest.raises(ConfigError, match="init='he'; allowed: 'default'"):
        initialise(model, "he")
    with pytest.raises(ConfigError, match="optimizer='lamb'; allowed"):
        make_optimizer(params(), "lamb", 0.1, 0.9, 0.0)
    with pytest.raises(ConfigError, match="schedule='poly'; allowed"):
        make_schedule(torch.optim.SGD(params(), lr=0.1), "poly", 4)
