"""A space written as PyTorch code with choice points: the example of the README.

:class:`ConvNet` is an ordinary ``nn.Module`` whose ``__init__`` asks its choices of ``ch``: the
width, how many blocks (1-3), each block's operation, one activation shared by every block (a
tied label), and for each later block which earlier output it adds as a skip connection. It
works on signals (1-D) and images (2-D). ``nasforge.spaces.DefinedSpace(ConvNet)`` (or
``space: {name: pytorch, options: {definition: "nasforge.spaces.examples:ConvNet"}}`` in YAML)
is its search space.
"""

from __future__ import annotations

import torch
from torch import nn

from nasforge.space import Task
from nasforge.spaces.define import Choices


class ConvBlock(nn.Sequential):
    """Convolution (plain or depthwise-separable), batch norm, activation; shape-preserving."""

    def __init__(self, ndim: int, width: int, kernel: int, act: str, separable: bool) -> None:
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        norm = nn.BatchNorm1d if ndim == 1 else nn.BatchNorm2d
        if separable:
            layers: list[nn.Module] = [
                conv(width, width, kernel, padding=kernel // 2, groups=width, bias=False),
                conv(width, width, 1, bias=False),
            ]
        else:
            layers = [conv(width, width, kernel, padding=kernel // 2, bias=False)]
        super().__init__(*layers, norm(width), nn.ReLU() if act == "relu" else nn.GELU())


class ConvNet(nn.Module):
    """Stem, 1-3 searched blocks with searched skip connections, global pooling, classifier."""

    def __init__(self, ch: Choices, task: Task, channels: int = 16) -> None:
        super().__init__()
        ndim = task.ndim
        width = channels * ch.value("width_mult", [1, 2])  # sizes scale it; choices stay fixed
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        pool = nn.MaxPool1d if ndim == 1 else nn.MaxPool2d
        self.stem = conv(task.input_shape[0], width, 3, padding=1)
        self.blocks = nn.ModuleList()
        skips: list[tuple[int, ...]] = []
        for i in ch.repeat("depth", [1, 2, 3]):
            self.blocks.append(
                ch.op(
                    f"block{i}",
                    {
                        "conv3": lambda: ConvBlock(
                            ndim, width, 3, ch.value("act", ["relu", "gelu"]), False
                        ),
                        "sep5": lambda: ConvBlock(
                            ndim, width, 5, ch.value("act", ["relu", "gelu"]), True
                        ),
                        "maxpool": lambda: pool(3, 1, 1),
                    },
                )
            )
            # block i adds the output of one earlier stage (0 is the stem) as a skip
            skips.append(ch.inputs(f"skip{i}", n=i + 1, k=1) if i > 0 else ())
        self.skips = skips
        pooled: nn.Module = nn.AdaptiveAvgPool1d(1) if ndim == 1 else nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(pooled, nn.Flatten(), nn.Linear(width, task.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [self.stem(x)]
        for block, skip in zip(self.blocks, self.skips, strict=True):
            out = block(outputs[-1])
            for index in skip:
                out = out + outputs[index]
            outputs.append(out)
        return self.head(outputs[-1])  # type: ignore[no-any-return]


__all__ = ["ConvBlock", "ConvNet"]
