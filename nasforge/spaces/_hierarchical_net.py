"""The network of a ``hierarchical`` arch (imported only by ``build``): motifs built
recursively from their graphs, in the paper's small model."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from nasforge.ops.blocks import DepthwiseSeparableConv
from nasforge.ops.layers import ConvNormAct
from nasforge.space import ABSENT_OPS, CellGraph, Task


def primitive(name: str, channels: int, ndim: int) -> nn.Module:
    """A level-1 primitive of ``channels`` in and out, stride 1 (convolutions with BN, ReLU)."""
    if name == "conv_1x1":
        return ConvNormAct(channels, channels, 1, ndim=ndim)
    if name == "dw_conv_3x3":
        return ConvNormAct(channels, channels, 3, groups=channels, ndim=ndim)
    if name == "sep_conv_3x3":
        return DepthwiseSeparableConv(channels, channels, 3, ndim=ndim)
    if name == "max_pool_3x3":
        return (nn.MaxPool1d if ndim == 1 else nn.MaxPool2d)(3, 1, 1)
    if name == "avg_pool_3x3":
        cls = nn.AvgPool1d if ndim == 1 else nn.AvgPool2d
        return cls(3, 1, 1, count_include_pad=False)
    if name == "identity":
        return nn.Identity()
    raise ValueError(f"unknown primitive {name!r}")  # the space's choices never reach here


class Motif(nn.Module):
    """A motif: node 0 is the input, each later node sums its live incoming edges (each a
    primitive or a fresh copy of a lower motif), the last node is the output. A node that
    receives nothing is zero and its edges carry nothing; nodes that cannot reach the output
    are not built. A motif used as an edge of another (``project``) ends in a 1x1
    convolution, BN and ReLU."""

    def __init__(
        self,
        graph: CellGraph,
        graphs: Mapping[str, CellGraph],
        channels: int,
        ndim: int,
        project: bool = False,
    ) -> None:
        super().__init__()
        self.n_nodes = graph.n_nodes
        # a motif used as an edge ends in a 1x1 convolution, BN and ReLU (the paper's, after
        # each level-2 motif): it keeps the scale of nested sums in check
        self.project = ConvNormAct(channels, channels, 1, ndim=ndim) if project else None
        needed = graph.needed_nodes()
        self.edges = nn.ModuleDict()
        self.incoming: list[list[tuple[int, str]]] = [[] for _ in range(graph.n_nodes)]
        for edge in graph.edges:
            if edge.op is None or edge.op in ABSENT_OPS or edge.dst not in needed:
                continue
            op = str(edge.op)
            name = f"{edge.src}_{edge.dst}"
            self.edges[name] = (
                Motif(graphs[op], graphs, channels, ndim, project=True)
                if op in graphs
                else primitive(op, channels, ndim)
            )
            self.incoming[edge.dst].append((edge.src, name))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: list[torch.Tensor | None] = [x] + [None] * (self.n_nodes - 1)
        for node in range(1, self.n_nodes):
            total: torch.Tensor | None = None
            for src, name in self.incoming[node]:
                value = values[src]
                if value is None:
                    continue
                y = self.edges[name](value)
                total = y if total is None else total + y
            values[node] = total
        out = values[-1]
        if out is None:
            return torch.zeros_like(x)
        return self.project(out) if self.project is not None else out


class HierarchicalNetwork(nn.Module):
    """A 3x3 convolution to ``channels``, three stages of ``cells`` cells (the top motif) at
    ``channels``, ``2x`` and ``4x`` width joined by separable convolutions of stride 2, then
    global average pooling and a linear classifier (Liu et al.'s small model)."""

    def __init__(
        self,
        graphs: Mapping[str, CellGraph],
        cell: str,
        task: Task,
        channels: int,
        cells: int,
    ) -> None:
        super().__init__()
        ndim = task.ndim
        layers: list[nn.Module] = [ConvNormAct(task.input_shape[0], channels, 3, ndim=ndim)]
        width = channels
        for stage in range(3):
            if stage > 0:
                layers.append(DepthwiseSeparableConv(width, width * 2, 3, stride=2, ndim=ndim))
                width *= 2
            layers.extend(Motif(graphs[cell], graphs, width, ndim) for _ in range(cells))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, task.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x).flatten(2).mean(dim=2)
        logits: torch.Tensor = self.classifier(pooled)
        return logits


__all__ = ["HierarchicalNetwork", "Motif", "primitive"]
