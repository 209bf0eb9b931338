"""The network of a ``large-scale-evolution`` genome: the backbone in order, skips added after
a layer (resized without parameters), global average pooling and a linear classifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's usual name
from torch import nn

from nasforge.ops.layers import ConvNormAct, create_norm
from nasforge.space import Task


class GrowingNet(nn.Module):
    """The network of a Large-Scale Evolution genome (see the module docstring)."""

    def __init__(self, values: Mapping[str, Any], task: Task) -> None:
        super().__init__()
        ndim = task.ndim
        self.layers = nn.ModuleDict()
        self.order: list[str] = []
        channels = [task.input_shape[0]]  # of each node: the input, then each layer
        self.node_of = {0: 0}  # genome id -> node position
        for position, layer in enumerate(values["layers"], start=1):
            name, c_in = f"l{layer[0]}", channels[-1]
            if layer[1] == "conv":
                _, _, kernel, c_out, stride = layer
                module: nn.Module = ConvNormAct(c_in, c_out, kernel, stride=stride, ndim=ndim)
            else:
                c_out = c_in
                module = nn.Sequential(create_norm("batch", c_in, ndim), nn.ReLU())
            self.layers[name] = module
            self.order.append(name)
            channels.append(c_out)
            self.node_of[layer[0]] = position
        self.skips: dict[int, list[int]] = {}
        for src, dst in values["skips"]:
            self.skips.setdefault(self.node_of[dst], []).append(self.node_of[src])
        self.head = nn.Linear(channels[-1], task.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for position, name in enumerate(self.order, start=1):
            h = self.layers[name](nodes[-1])
            for src in self.skips.get(position, []):
                h = h + _fit(nodes[src], h)
            nodes.append(h)
        logits: torch.Tensor = self.head(nodes[-1].flatten(2).mean(dim=2))
        return logits


def _fit(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` average-pooled to ``like``'s spatial size, its channels cut or zero-padded."""
    if x.shape[2:] != like.shape[2:]:
        pool = F.adaptive_avg_pool1d if x.dim() == 3 else F.adaptive_avg_pool2d
        x = pool(x, tuple(like.shape[2:]))  # type: ignore[operator,arg-type]
    c, target = int(x.shape[1]), int(like.shape[1])
    if c > target:
        return x[:, :target]
    if c < target:
        pad = [0, 0] * (x.dim() - 2) + [0, target - c]
        return F.pad(x, pad)
    return x


__all__ = ["GrowingNet"]
