"""The network of a ``genetic-cnn`` arch (imported only by ``build``): stages of summed
convolutions joined by max pooling, then global average pooling and a linear classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nasforge.ops.layers import ConvNormAct
from nasforge.space import Task
from nasforge.spaces.chain import max_pool

#: a stage's connections, ``(src, dst, kind)``, nodes ``0`` (default input) to ``K + 1``
StageEdges = Sequence[tuple[int, int, str]]


class GeneticStage(nn.Module):
    """One stage: every node that takes part is a 3x3 convolution, BN and ReLU of the sum of
    its sources' outputs, in node order; the default output node's value is the stage's.

    Args:
        edges: the stage's connections (:meth:`GeneticCNNSpace.stage_edges`), default ones
            included; ``[(0, K + 1, ...)]`` alone is the all-zero stage's single convolution.
        nodes: ``K``, the ordinary nodes.
        c_in: channels of the stage's input.
        channels: filters of every convolution of the stage.
        ndim: 1 for signals, 2 for images.
    """

    def __init__(self, edges: StageEdges, nodes: int, c_in: int, channels: int, ndim: int) -> None:
        super().__init__()
        self.output_node = nodes + 1
        self.single: ConvNormAct | None = None
        self.sources: dict[int, list[int]] = {}
        for src, dst, _ in edges:
            self.sources.setdefault(dst, []).append(src)
        if list(self.sources) == [self.output_node] and self.sources[self.output_node] == [0]:
            # the all-zero stage: one convolution, straight from the stage's input
            self.order: list[int] = []
            self.single = ConvNormAct(c_in, channels, 3, ndim=ndim)
            self.convs = nn.ModuleDict()
            return
        self.order = sorted(self.sources)
        self.convs = nn.ModuleDict({"0": ConvNormAct(c_in, channels, 3, ndim=ndim)})
        for node in self.order:
            self.convs[str(node)] = ConvNormAct(channels, channels, 3, ndim=ndim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.single is not None:
            out: torch.Tensor = self.single(x)
            return out
        values = {0: self.convs["0"](x)}
        for node in self.order:
            total = values[self.sources[node][0]]
            for src in self.sources[node][1:]:
                total = total + values[src]
            values[node] = self.convs[str(node)](total)
        return values[self.output_node]


class GeneticNetwork(nn.Module):
    """Stages (:class:`GeneticStage`), each followed by 2x2 max pooling of stride 2 (rounding
    up), then global average pooling and a linear classifier.

    Args:
        stage_edges: each stage's connections.
        stages: ordinary nodes of each stage.
        task: input shape (1-D or 2-D) and classes.
        channels: filters of the first stage; stage ``s`` (1-based) has
            ``channels * 2**(s-1)``.
    """

    def __init__(
        self, stage_edges: Sequence[StageEdges], stages: Sequence[int], task: Task, channels: int
    ) -> None:
        super().__init__()
        ndim = task.ndim
        layers: list[nn.Module] = []
        c_in = task.input_shape[0]
        for s, (edges, nodes) in enumerate(zip(stage_edges, stages, strict=True)):
            width = channels * 2**s
            layers += [GeneticStage(edges, nodes, c_in, width, ndim), max_pool(ndim, 2, 2)]
            c_in = width
        self.stages = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in, task.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.stages(x).flatten(2).mean(dim=2)
        logits: torch.Tensor = self.classifier(pooled)
        return logits


__all__ = ["GeneticNetwork", "GeneticStage"]
