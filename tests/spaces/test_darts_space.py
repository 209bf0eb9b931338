"""The DARTS space: its choices and size, the networks it builds, and the genotype form."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest
import torch

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Task
from nasforge.spaces import create_space
from nasforge.spaces.darts import (
    DARTS_V2,
    DartsNetwork,
    DartsSpace,
    Genotype,
    dim_names,
    reduction_cells,
)

SIGNALS = Task(input_shape=(1, 20), num_classes=3)
IMAGES = Task(input_shape=(3, 9, 9), num_classes=4)  # odd sizes: every path must round alike

SEVEN = ["max_pool_3x3", "avg_pool_3x3", "skip_connect"] + [
    f"{kind}_conv_{k}x{k}" for kind in ("sep", "dil") for k in (3, 5)
]


@pytest.fixture(scope="module")
def space() -> DartsSpace:
    return DartsSpace(n_cells=2, channels=4)


def test_dims_and_size_counted_by_hand(space: DartsSpace) -> None:
    assert len(space.dims) == 2 * 4 * 3
    assert space.names[:3] == ["normal_node2_inputs", "normal_node2_op1", "normal_node2_op2"]
    assert space.names[-1] == "reduce_node5_op2"
    assert space.dim("normal_node2_inputs").values() == ["0+1"]
    assert space.dim("reduce_node5_inputs").values() == [
        "0+1", "0+2", "0+3", "0+4", "1+2", "1+3", "1+4", "2+3", "2+4", "3+4"
    ]  # fmt: skip
    assert sorted(space.dim("reduce_node3_op1").values()) == sorted(SEVEN)  # no "none"
    # node j: C(j, 2) pairs of inputs times 7 ** 2 pairs of operations; two cells
    per_cell = math.comb(2, 2) * math.comb(3, 2) * math.comb(4, 2) * math.comb(5, 2) * 7**8
    assert per_cell == 1_037_664_180
    assert space.size() == pytest.approx(per_cell**2, rel=1e-12)  # ~1.08e18
    assert DartsSpace(n_cells=2, channels=4, ops=["skip_connect"]).size() == 180**2
    assert space.decision_groups()[0] == list(dim_names("normal", 2))


def test_the_space_is_the_same_at_every_size() -> None:
    one, eight = DartsSpace(n_cells=1, channels=2), DartsSpace(n_cells=8, channels=16)
    assert [repr(d) for d in one.dims] == [repr(d) for d in eight.dims]
    assert one.size_options == {"n_cells": 1, "channels": 2}


@pytest.mark.parametrize(
    ("n_cells", "kinds"),
    [
        (1, ["normal"]),
        (2, ["normal", "reduce"]),
        (3, ["normal", "reduce", "reduce"]),
        (8, ["normal"] * 2 + ["reduce"] + ["normal"] * 2 + ["reduce"] + ["normal"] * 2),
    ],
)
def test_reduction_cells_go_at_a_third_and_two_thirds(n_cells: int, kinds: list[str]) -> None:
    reductions = reduction_cells(n_cells)
    assert ["reduce" if i in reductions else "normal" for i in range(n_cells)] == kinds
    assert reduction_cells(20) == (6, 13)  # DARTS's CIFAR-10 network


@pytest.mark.parametrize("task", [SIGNALS, IMAGES], ids=["1d", "2d"])
@pytest.mark.parametrize("n_cells", [1, 2, 3])
def test_a_sampled_arch_runs_forward_and_backward(
    space: DartsSpace, task: Task, n_cells: int
) -> None:
    arch = space.sample(np.random.default_rng(n_cells))
    torch.manual_seed(0)
    model = space.build(arch, task, n_cells=n_cells)
    assert isinstance(model, DartsNetwork) and len(model.cells) == n_cells
    # 4 nodes of C channels per cell, C doubled at each reduction
    assert model.classifier.in_features == 4 * 4 * 2 ** len(reduction_cells(n_cells))
    x = torch.randn(2, *task.input_shape)
    out = model(x)
    assert out.shape == (2, task.num_classes)
    out.sum().backward()
    assert all(p.grad is not None for p in model.stem.parameters())


def test_the_darts_v2_genotype_round_trips(space: DartsSpace) -> None:
    arch = space.from_genotype(DARTS_V2)
    assert arch["normal_node5_inputs"] == "0+2" and arch["normal_node5_op2"] == "dil_conv_3x3"
    assert arch["reduce_node3_inputs"] == "1+2" and arch["reduce_node3_op2"] == "skip_connect"
    assert space.genotype(arch) == DARTS_V2
    assert space.parse(arch.key) == arch
    # DARTS's own namedtuple, lists, and a node's pairs in the order its code prints them
    darts_form = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")
    published = [list(pair) for pair in DARTS_V2.normal]
    published[4:6] = [["sep_conv_3x3", 1], ["skip_connect", 0]]
    same = darts_form(published, [2, 3, 4, 5], list(DARTS_V2.reduce), [2, 3, 4, 5])
    assert space.from_genotype(same) == arch
    for sampled in (space.sample(np.random.default_rng(seed)) for seed in range(5)):
        genotype = space.genotype(sampled)
        assert isinstance(genotype, Genotype) and space.from_genotype(genotype) == sampled


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"normal_concat": (2, 3, 4)}, r"normal_concat=\[2, 3, 4\]; allowed: \[2, 3, 4, 5\]"),
        ({"reduce": DARTS_V2.reduce[:6]}, "reduce has 6 pairs; allowed: 8"),
        (
            {"normal": (("skip_connect", 1), ("sep_conv_3x3", 1), *DARTS_V2.normal[2:])},
            "normal node 2 reads nodes 1 and 1; allowed: two distinct nodes in 0..1",
        ),
        (
            {"normal": (("none", 0), *DARTS_V2.normal[1:])},
            "'none'",
        ),
    ],
)
def test_a_genotype_outside_the_space_is_refused(
    space: DartsSpace, change: dict[str, object], says: str
) -> None:
    with pytest.raises(SpaceError, match=says) as info:
        space.from_genotype(DARTS_V2._replace(**change))
    assert "\n" not in str(info.value)


def test_cell_graphs_of_the_genotype() -> None:
    normal, reduce = DARTS_V2.cell_graphs()
    assert (normal.inputs, normal.outputs, len(normal.edges)) == ((0, 1), (2, 3, 4, 5), 8)
    assert [(e.src, e.dst, e.op) for e in normal.incoming(5)] == [
        (0, 5, "skip_connect"),
        (2, 5, "dil_conv_3x3"),
    ]
    # from node 0: to 2, 2-3, 2-4, 2-5 and 4; from node 1: to 2, 2-3, 2-4, 2-5, 3 and 5
    assert reduce.name == "reduce" and len(reduce.paths()) == 11


def test_darts_v2_at_the_papers_cifar10_size_has_its_parameter_count(space: DartsSpace) -> None:
    """DARTS reports 3.3M parameters (20 cells, 36 channels, without the auxiliary head)."""
    with torch.device("meta"):  # counting needs no weights
        model = space.build(
            space.from_genotype(DARTS_V2), Task((3, 32, 32), 10), n_cells=20, channels=36
        )
    assert sum(p.numel() for p in model.parameters()) == 3_349_342


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"n_cells": 0}, "darts: n_cells=0; allowed: an integer >= 1"),
        ({"ops": "skip_connect"}, "not a string"),
        ({"ops": ["conv_9x9"]}, "unknown operation 'conv_9x9'"),
        ({"ops": ["skip_connect", "skip_connect"]}, "distinct"),
    ],
)
def test_bad_options_are_one_line(options: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        create_space("darts", **options)
