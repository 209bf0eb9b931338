"""The ``inception`` space: GoogLeNet-style networks of multi-branch blocks, 1-D and 2-D.

An Inception block (Szegedy et al. 2015) runs several branches side by side on its input and
concatenates their outputs along the channels. Here each block chooses how many branches it has
and what each branch does; the network is a stem, three stages of blocks with a 3x3 max pool of
stride 2 between stages (GoogLeNet's downsampling), global average pooling and a linear
classifier. Per stage ``s`` and block ``b`` (labels ``stage{s}_block{b}_...``):

- ``stage{s}_blocks``: 1 to 3 blocks in the stage (``ch.repeat``);
- ``branches``: 1 to 4 branches in the block (``ch.repeat``);
- ``branch{i}``: branch ``i``'s operation (``ch.op``), each ending in ``w`` channels, the
  stage's branch width ``channels * 2**s``:

  - ``conv1x1``: a 1x1 convolution;
  - ``conv3x3``: a 1x1 reduction to ``branch{i}_reduce3`` (1/4, 1/2 or 3/4 of ``w``), then
    3x3;
  - ``conv5x5``: a 1x1 reduction to ``branch{i}_reduce5`` of ``w``, then 5x5 (GoogLeNet's
    form; Inception-v2 factorises it into two 3x3, which a second ``conv3x3`` block gives);
  - ``pool``: a 3x3 max pool of stride 1, then a 1x1 projection;

  a block of ``k`` branches outputs ``k * w`` channels, the next block's input.

Each reduction width is the choice of its own operation, so it is active only when the branch
picks that operation. Every convolution is followed by batch norm and ReLU (Inception-v2's
form). The stem is a 3x3 convolution of stride 1 to ``channels``.

Example:
    >>> import numpy as np
    >>> space = InceptionSpace(channels=8)
    >>> arch = space.sample(np.random.default_rng(0))
    >>> model = space.build(arch, Task((1, 40), 10))
    >>> model(torch.zeros(2, 1, 40)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from nasforge.ops.layers import ConvNormAct
from nasforge.space import Task
from nasforge.spaces._options import check_positive_ints
from nasforge.spaces.define import Choices, DefinedSpace

#: the operations a branch picks among, in the order of the ``branch{i}`` dimensions
BRANCH_OPS: tuple[str, ...] = ("conv1x1", "conv3x3", "conv5x5", "pool")
#: a 1x1 reduction's width as a fraction of the branch width
REDUCTIONS: tuple[float, ...] = (0.25, 0.5, 0.75)
#: how many blocks a stage and how many branches a block may have
BLOCKS: tuple[int, ...] = (1, 2, 3)
BRANCHES: tuple[int, ...] = (1, 2, 3, 4)
#: stages of the network (GoogLeNet's inception 3, 4 and 5)
STAGES = 3


def _branch_candidates(
    ch: Choices, prefix: str, c_in: int, width: int, ndim: int
) -> dict[str, Callable[[], nn.Module]]:
    """The operations of branch ``prefix``, from ``c_in`` to ``width`` channels."""

    def unit(c: int, out: int, kernel: int) -> ConvNormAct:
        return ConvNormAct(c, out, kernel, ndim=ndim)

    def reduced(kernel: int) -> nn.Sequential:
        reduce = max(1, int(width * ch.value(f"{prefix}_reduce{kernel}", list(REDUCTIONS))))
        return nn.Sequential(unit(c_in, reduce, 1), unit(reduce, width, kernel))

    def pool() -> nn.Sequential:
        pooling = nn.MaxPool1d(3, 1, 1) if ndim == 1 else nn.MaxPool2d(3, 1, 1)
        return nn.Sequential(pooling, unit(c_in, width, 1))

    return {
        "conv1x1": lambda: unit(c_in, width, 1),
        "conv3x3": lambda: reduced(3),
        "conv5x5": lambda: reduced(5),
        "pool": pool,
    }


class InceptionBlock(nn.Module):
    """Branches run on the same input, their outputs concatenated along the channels."""

    def __init__(self, branches: list[nn.Module]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class InceptionNet(nn.Module):
    """The network of the ``inception`` space (see the module docstring); a space definition.

    Args:
        ch: the choice points.
        task: the input shape (1-D signals or 2-D images) and the number of classes.
        channels: the stem's width and stage 0's branch width; stage ``s``'s is
            ``channels * 2**s``.

    Attributes:
        stem: 3x3 convolution, batch norm, ReLU.
        stages: per stage an ``nn.Sequential`` of its :class:`InceptionBlock` s, after the
            first stage led by a 3x3 max pool of stride 2.
        head: global average pooling and a linear classifier.
    """

    def __init__(self, ch: Choices, task: Task, channels: int = 8) -> None:
        super().__init__()
        ndim = task.ndim
        self.stem = ConvNormAct(task.input_shape[0], channels, 3, ndim=ndim)
        c_in = channels
        stages = []
        for s in range(STAGES):
            width = channels * 2**s
            layers: list[nn.Module] = []
            if s > 0:
                layers.append(nn.MaxPool1d(3, 2, 1) if ndim == 1 else nn.MaxPool2d(3, 2, 1))
            for b in ch.repeat(f"stage{s}_blocks", list(BLOCKS)):
                prefix = f"stage{s}_block{b}"
                branches = [
                    ch.op(
                        f"{prefix}_branch{i}",
                        _branch_candidates(ch, f"{prefix}_branch{i}", c_in, width, ndim),
                    )
                    for i in ch.repeat(f"{prefix}_branches", list(BRANCHES))
                ]
                layers.append(InceptionBlock(branches))
                c_in = width * len(branches)
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        pool = nn.AdaptiveAvgPool1d(1) if ndim == 1 else nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(pool, nn.Flatten(), nn.Linear(c_in, task.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))  # type: ignore[no-any-return]


class InceptionSpace(DefinedSpace):
    """The ``inception`` space: :class:`InceptionNet` with its choices (module docstring).

    Args:
        channels: the stem's width and stage 0's branch width (stage ``s``'s is
            ``channels * 2**s``). A lower fidelity may shrink it.
    """

    registered_as = "inception"

    def __init__(self, channels: int = 8) -> None:
        check_positive_ints("space 'inception': ", channels=channels)
        self.channels = channels
        super().__init__(InceptionNet, sizes={"channels": channels})


__all__ = [
    "BLOCKS",
    "BRANCHES",
    "BRANCH_OPS",
    "REDUCTIONS",
    "STAGES",
    "InceptionBlock",
    "InceptionNet",
    "InceptionSpace",
]
