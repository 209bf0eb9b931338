"""The ``inception`` space: branch counts and operations, reductions, concatenation, pooling
between stages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.ops.layers import ConvNormAct
from nasforge.space import Task
from nasforge.spaces import SPACES, create_space
from nasforge.spaces.inception import InceptionBlock, InceptionSpace

SIGNAL, IMAGE = Task((1, 16), 3), Task((2, 8, 8), 3)


def block_values(prefix: str, ops: list[str]) -> dict[str, Any]:
    """The values of a block whose branches are ``ops`` (reductions of 1/2)."""
    values: dict[str, Any] = {f"{prefix}_branches": len(ops)}
    for i, op in enumerate(ops):
        values[f"{prefix}_branch{i}"] = op
        if op in ("conv3x3", "conv5x5"):
            values[f"{prefix}_branch{i}_reduce{op[4]}"] = 0.5
    return values


def one_block_per_stage(ops: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for s in range(3):
        values[f"stage{s}_blocks"] = 1
        values.update(block_values(f"stage{s}_block0", ops))
    return values


def test_dims_conditions_and_size() -> None:
    space = create_space("inception")
    assert space.size_options == {"channels": 8}
    # per stage: blocks; per block: branches; per branch: op and the two reductions
    assert len(space.names) == 3 * (1 + 3 * (1 + 4 * 3)) == 120
    assert space.names[:6] == [
        "stage0_blocks",
        "stage0_block0_branches",
        "stage0_block0_branch0",
        "stage0_block0_branch0_reduce3",
        "stage0_block0_branch0_reduce5",
        "stage0_block0_branch1",
    ]
    assert space.dim("stage1_block2_branch3_reduce5").when == {
        "stage1_blocks": (3,),
        "stage1_block2_branches": (4,),
        "stage1_block2_branch3": ("conv5x5",),
    }
    # a branch: conv1x1 1 + conv3x3 3 + conv5x5 3 + pool 1; a block of 1-4 branches; 1-3 blocks
    block = sum(8**k for k in range(1, 5))
    assert space.size() == sum(block**k for k in range(1, 4)) ** 3


def test_options_are_kept_and_checked() -> None:
    assert SPACES.options_of(create_space("inception", channels=4)) == (
        "inception",
        {"channels": 4},
    )
    with pytest.raises(ConfigError, match="space 'inception': channels=0; allowed: an integer"):
        InceptionSpace(channels=0)


@pytest.mark.parametrize("task", [SIGNAL, IMAGE], ids=["1d", "2d"])
def test_sampled_archs_run_forward_and_backward(task: Task) -> None:
    space = InceptionSpace(channels=4)
    rng = np.random.default_rng(0)
    for _ in range(3):
        model = space.build(space.sample(rng), task)
        out = model(torch.randn(2, *task.input_shape))
        assert out.shape == (2, 3)
        out.sum().backward()
        assert all(p.grad is not None for p in model.parameters())


def kernels(module: nn.Module) -> list[tuple[int, int, int]]:
    """(in, out, kernel) of each convolution in ``module``, in order."""
    return [
        (m.in_channels, m.out_channels, m.kernel_size[0])
        for m in module.modules()
        if isinstance(m, (nn.Conv1d, nn.Conv2d))
    ]


def test_each_branch_builds_its_operation_and_the_outputs_concatenate() -> None:
    space = InceptionSpace(channels=8)
    ops = ["conv1x1", "conv3x3", "conv5x5", "pool"]
    model = space.build(space.make(one_block_per_stage(ops)), SIGNAL)
    block = model.stages[0][0]
    assert isinstance(block, InceptionBlock) and len(block.branches) == 4
    one, three, five, pool = block.branches
    assert isinstance(one, ConvNormAct) and kernels(one) == [(8, 8, 1)]
    assert kernels(three) == [(8, 4, 1), (4, 8, 3)]  # reduction to half the branch width
    assert kernels(five) == [(8, 4, 1), (4, 8, 5)]
    assert isinstance(pool[0], nn.MaxPool1d) and kernels(pool) == [(8, 8, 1)]
    x = model.stem(torch.randn(2, 1, 16))
    assert block(x).shape == (2, 4 * 8, 16)
    assert kernels(model.stages[1][1].branches[0]) == [(32, 16, 1)]  # 4 x 8 channels in


@pytest.mark.parametrize("task", [SIGNAL, IMAGE], ids=["1d", "2d"])
def test_stages_downsample_between_them_only(task: Task) -> None:
    space = InceptionSpace(channels=4)
    values = one_block_per_stage(["conv3x3", "pool"])
    values.update({"stage1_blocks": 2, **block_values("stage1_block1", ["conv1x1"])})
    model = space.build(space.make(values), task)
    x = model.stem(torch.randn(2, *task.input_shape))
    size = task.input_shape[1]
    sizes, widths = [], []
    for stage in model.stages:
        x = stage(x)
        sizes.append(x.shape[2:])
        widths.append(x.shape[1])
    assert sizes == [(size,) * task.ndim, (size // 2,) * task.ndim, (size // 4,) * task.ndim]
    assert widths == [2 * 4, 8, 2 * 16]  # branches x branch width; stage 1 ends in one branch
    pools = [type(m) for m in model.stages[1]]
    assert pools[0] in (nn.MaxPool1d, nn.MaxPool2d) and pools[1:] == [InceptionBlock] * 2
    assert isinstance(model.stages[0][0], InceptionBlock)  # no pooling before the first stage
