"""The ``mobile`` space: its choices per stage, the blocks each kind builds, where it strides."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops.blocks import DepthwiseSeparableConv, FireModule, InvertedResidual, SqueezeExcite
from nasforge.space import Task
from nasforge.spaces import SPACES, create_space
from nasforge.spaces.mobile import BLOCK_KINDS, MobileSpace, round_width

SIGNAL, IMAGE = Task((1, 16), 3), Task((2, 8, 8), 3)
STAGE_DIMS = [
    "width",
    "depth",
    "block",
    "dwsep_kernel",
    "mbconv_kernel",
    "mbconv_expansion",
    "mbconv_se",
    "grouped_groups",
    "grouped_kernel",
    "fire_squeeze",
]
#: the kind-specific choices of each block kind, with a value for each
KIND_CHOICES: dict[str, dict[str, Any]] = {
    "dwsep": {"dwsep_kernel": 5},
    "mbconv": {"mbconv_kernel": 7, "mbconv_expansion": 3, "mbconv_se": True},
    "grouped": {"grouped_groups": 4, "grouped_kernel": 5},
    "fire": {"fire_squeeze": 0.25},
}


def stage_values(s: int, kind: str, depth: int = 2, width: float = 1.0) -> dict[str, Any]:
    extra = {f"stage{s}_{k}": v for k, v in KIND_CHOICES[kind].items()}
    return {f"stage{s}_width": width, f"stage{s}_depth": depth, f"stage{s}_block": kind, **extra}


def test_dims_conditions_and_size() -> None:
    space = MobileSpace(channels=8, stages=2)
    assert space.names == [f"stage{s}_{d}" for s in range(2) for d in STAGE_DIMS]
    assert space.dim("stage1_mbconv_se").when == {"stage1_block": ("mbconv",)}
    assert space.dim("stage0_depth").when == {}
    # per stage: 4 depths x 3 widths x (dwsep 3 + mbconv 3*3*2 + grouped 2*2 + fire 2)
    per_stage = 4 * 3 * (3 + 18 + 4 + 2)
    assert space.size() == per_stage**2
    default = create_space("mobile")
    assert default.size_options == {"channels": 8, "stages": 4}
    assert len(default.names) == 40 and default.size() == per_stage**4


def test_options_are_kept_and_checked() -> None:
    space = create_space("mobile", channels=4, stages=3)
    assert SPACES.options_of(space) == ("mobile", {"channels": 4, "stages": 3})
    with pytest.raises(ConfigError, match="space 'mobile': stages=0; allowed: an integer >= 1"):
        MobileSpace(stages=0)


def test_widths_are_multiples_of_four() -> None:
    assert [round_width(w) for w in (1, 4, 6, 9, 12, 24, 96)] == [4, 4, 8, 8, 12, 24, 96]


@pytest.mark.parametrize("task", [SIGNAL, IMAGE], ids=["1d", "2d"])
def test_sampled_archs_run_forward_and_backward(task: Task) -> None:
    space = MobileSpace(channels=4, stages=3)
    rng = np.random.default_rng(0)
    for _ in range(3):
        model = space.build(space.sample(rng), task)
        out = model(torch.randn(2, *task.input_shape))
        assert out.shape == (2, 3)
        out.sum().backward()
        assert all(p.grad is not None for p in model.parameters())


def convs(module: nn.Module) -> list[nn.Conv1d | nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]


@pytest.mark.parametrize("kind", BLOCK_KINDS)
def test_each_block_kind_builds_its_module(kind: str) -> None:
    space = MobileSpace(channels=8, stages=1)
    model = space.build(space.make(stage_values(0, kind, depth=3)), SIGNAL)
    blocks = list(model.stages[0])
    assert len(blocks) == 3
    if kind == "dwsep":
        assert all(isinstance(b, DepthwiseSeparableConv) for b in blocks)
        depthwise = convs(blocks[1])[0]
        assert depthwise.kernel_size == (5,) and depthwise.groups == depthwise.in_channels
    elif kind == "mbconv":
        assert all(isinstance(b, InvertedResidual) for b in blocks)
        assert any(isinstance(m, SqueezeExcite) for m in blocks[1].modules())
        expand, depthwise = convs(blocks[1])[:2]
        assert expand.out_channels == 3 * expand.in_channels and depthwise.kernel_size == (7,)
        assert blocks[1].residual and not blocks[0].residual  # the first block strides
    elif kind == "grouped":
        grouped, pointwise = convs(blocks[1])
        assert grouped.groups == 4 and grouped.kernel_size == (5,)
        assert pointwise.kernel_size == (1,) and pointwise.groups == 1
    else:
        assert isinstance(blocks[0][0], nn.MaxPool1d) and isinstance(blocks[0][1], FireModule)
        assert all(isinstance(b, FireModule) for b in blocks[1:])
        assert blocks[1].squeeze[0].out_channels == 8 // 4  # stage width 8, squeeze 1/4


def test_no_se_and_no_expansion_leave_those_layers_out() -> None:
    space = MobileSpace(channels=8, stages=1)
    values = {**stage_values(0, "mbconv", depth=1), "stage0_mbconv_expansion": 1}
    model = space.build(space.make({**values, "stage0_mbconv_se": False}), SIGNAL)
    (block,) = model.stages[0]
    assert not any(isinstance(m, SqueezeExcite) for m in block.modules())
    assert len(convs(block)) == 2  # depthwise and projection only


@pytest.mark.parametrize("kind", BLOCK_KINDS)
@pytest.mark.parametrize("task", [SIGNAL, IMAGE], ids=["1d", "2d"])
def test_each_stage_halves_the_size_in_its_first_block_and_sets_its_width(
    kind: str, task: Task
) -> None:
    space = MobileSpace(channels=8, stages=3)
    values = {**stage_values(0, kind), **stage_values(1, kind, width=1.5)}
    model = space.build(space.make({**values, **stage_values(2, kind, width=0.5)}), task)
    x = model.stem(torch.randn(2, *task.input_shape))
    size = task.input_shape[1]
    for stage, width in zip(model.stages, (8, 24, 16), strict=True):
        first = stage[0](x)
        assert first.shape[1:] == (width, *[(size + 1) // 2] * task.ndim)
        assert stage[1](first).shape == first.shape  # later blocks keep the size
        x, size = stage(x), (size + 1) // 2
    assert model.head(x).shape == (2, 3)
    assert model.head[0][0].out_channels == 64  # twice the last stage's base width


def test_a_lower_fidelity_builds_fewer_stages_and_narrower() -> None:
    space = MobileSpace(channels=8, stages=3)
    arch = space.sample(np.random.default_rng(1))
    small = space.build(arch, SIGNAL, channels=4, stages=2)
    assert len(small.stages) == 2 and small.stem[0].out_channels == 4
    assert small(torch.randn(2, 1, 16)).shape == (2, 3)
