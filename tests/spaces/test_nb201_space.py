from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest
import torch

from nasforge.errors import ConfigError, SpaceError, UnknownNameError
from nasforge.space import CellSpace, Float, Task
from nasforge.spaces import NB201Space, create_space, list_spaces

TASKS = {
    "signal": Task(input_shape=(1, 40), num_classes=10),
    "odd-signal": Task(input_shape=(2, 27), num_classes=3),
    "image": Task(input_shape=(1, 8, 8), num_classes=10),
    "odd-image": Task(input_shape=(3, 7, 9), num_classes=5),
}

ALL_CONV3 = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ARCHS = [
    ALL_CONV3,
    ALL_NONE,
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    # the output hangs on node 1 only; node 2 is dead
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|none~2|",
    # disconnected: node 3 has only ``none`` inputs
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|none~1|none~2|",
]


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def table_rows(limit: int | None = None) -> list[dict[str, str]]:
    text = resources.files("nasforge").joinpath("_resources/nb201_cifar10.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    return rows[:limit] if limit else rows


# ---- every registered space -----------------------------------------------------------------


@pytest.mark.parametrize("name", list_spaces())
@pytest.mark.parametrize("task", list(TASKS))
def test_registered_space_builds_sampled_archs(name: str, task: str) -> None:
    space = create_space(name)
    rng = np.random.default_rng(0)
    for _ in range(3):
        arch = space.sample(rng)
        assert space.parse(arch.key) == arch
        model = space.build(arch, TASKS[task])
        model.eval()
        x = torch.randn(2, *TASKS[task].input_shape)
        out = model(x)
        assert out.shape == (2, TASKS[task].num_classes)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list_spaces())
def test_registered_space_rejects_unknown_option(name: str) -> None:
    with pytest.raises(ConfigError, match="no option 'colour'"):
        create_space(name, colour="blue")


def test_unknown_space_names_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="nb201"):
        create_space("nb301")


# ---- NAS-Bench-201 ---------------------------------------------------------------------------


def test_is_a_cell_space_of_the_benchmark_size() -> None:
    space = create_space("nb201")
    assert isinstance(space, NB201Space) and isinstance(space, CellSpace)
    assert space.n_nodes == 4 and len(space.edges) == 6
    assert space.size() == 15625
    assert NB201Space(ops=["none", "nor_conv_3x3"]).size() == 64


def test_table_keys_parse_back_to_themselves() -> None:
    space = NB201Space()
    rows = table_rows()
    assert len(rows) == 15625
    keys = {space.parse(row["arch"]).key for row in rows}
    assert keys == {row["arch"] for row in rows}


@pytest.mark.parametrize("key", ARCHS)
@pytest.mark.parametrize("task", list(TASKS))
def test_arch_builds_and_runs(key: str, task: str) -> None:
    space = NB201Space(n_cells=2, channels=4)
    model = space.build(space.parse(key), TASKS[task])
    x = torch.randn(4, *TASKS[task].input_shape)
    out = model(x)  # train mode: batch norm uses the batch
    assert out.shape == (4, TASKS[task].num_classes)
    out.sum().backward()
    model.eval()
    assert torch.isfinite(model(x)).all()


def test_disconnected_arch_predicts_the_bias_only() -> None:
    space = NB201Space(n_cells=1, channels=4)
    model = space.build(space.parse(ARCHS[-1]), TASKS["signal"]).eval()
    out = model(torch.randn(5, 1, 40))
    assert torch.allclose(out, out[0].expand_as(out))
    assert torch.allclose(out[0], model.classifier.bias)  # type: ignore[union-attr]


@pytest.mark.parametrize("task", ["signal", "image"])
def test_parameter_counts_follow_the_ops(task: str) -> None:
    space = NB201Space(n_cells=1, channels=8)
    counts = {key: n_params(space.build(space.parse(key), TASKS[task])) for key in ARCHS[:5]}
    conv3, none, skip, pool, conv1 = (counts[k] for k in ARCHS[:5])
    assert none == skip == pool < conv1 < conv3


@pytest.mark.parametrize("row", [0, 1, 2, 100, 1000, 15624])
def test_parameter_counts_match_the_benchmark(row: int) -> None:
    """The default network on CIFAR-10 shapes has NAS-Bench-201's parameter counts."""
    entry = table_rows()[row]
    space = NB201Space()
    model = space.build(space.parse(entry["arch"]), Task(input_shape=(3, 32, 32), num_classes=10))
    assert n_params(model) / 1e6 == pytest.approx(float(entry["params_m"]), abs=1e-6)


def test_same_seed_builds_the_same_weights() -> None:
    space = NB201Space(n_cells=1, channels=4)
    arch = space.parse(ALL_CONV3)
    torch.manual_seed(3)
    a = space.build(arch, TASKS["signal"]).state_dict()
    torch.manual_seed(3)
    b = space.build(arch, TASKS["signal"]).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_hyperparameters_become_extra_dimensions() -> None:
    space = create_space("nb201", n_cells=1, hyperparameters=["width", "lr"])
    assert [d.name for d in space.extra] == ["lr", "width"]  # menu order, whatever the input
    assert isinstance(space.dim("lr"), Float) and space.dim("lr").log
    arch = space.parse(ALL_CONV3 + ",lr=0.05,width=8")
    assert arch.key == ALL_CONV3 + ",lr=0.05,width=8"
    wide = space.parse(ALL_CONV3 + ",lr=0.05,width=32")
    assert n_params(space.build(arch, TASKS["signal"])) < n_params(
        space.build(wide, TASKS["signal"])
    )
    sampled = space.sample(np.random.default_rng(0))
    assert space.parse(sampled.key) == sampled
    assert space.encode(sampled).shape == (6 * 5 + 1 + 3,)


def test_width_replaces_channels() -> None:
    plain = NB201Space(n_cells=1, channels=16)
    searched = NB201Space(n_cells=1, channels=8, hyperparameters=["width"])
    a = searched.parse(ALL_CONV3 + ",width=16")
    assert n_params(searched.build(a, TASKS["image"])) == n_params(
        plain.build(plain.parse(ALL_CONV3), TASKS["image"])
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hyperparameters": ["momentum"]}, "hyperparameters.*'momentum'.*'lr'"),
        ({"hyperparameters": ["lr", "lr"]}, "hyperparameters"),
        ({"ops": ["nor_conv_3x3", "conv_7x7"]}, "ops.*'conv_7x7'.*'skip_connect'"),
        ({"ops": []}, "ops"),
        ({"ops": "nor_conv_3x3"}, "ops='nor_conv_3x3'.*a list"),
        ({"hyperparameters": "lr"}, "hyperparameters='lr'.*a list"),
        ({"ops": ["none", "none"]}, "ops"),
        ({"n_cells": 0}, "n_cells=0"),
        ({"channels": "wide"}, "channels='wide'"),
    ],
)
def test_bad_options_raise_config_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_space("nb201", **options)


def test_task_with_three_spatial_dimensions_is_refused() -> None:
    space = NB201Space(n_cells=1, channels=4)
    with pytest.raises(SpaceError, match="input_shape"):
        space.build(space.parse(ALL_CONV3), Task(input_shape=(1, 4, 4, 4), num_classes=2))


def test_arch_outside_the_space_is_refused() -> None:
    small = NB201Space(ops=["none", "skip_connect"])
    with pytest.raises(SpaceError, match="nor_conv_3x3"):
        small.parse(ALL_CONV3)
