"""The NAS-Bench-201 macro network around a cell, in 1-D or 2-D (imported only by ``build``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nasforge.ops import create_op
from nasforge.ops.nb201 import ReLUConvBN, Zero, avg_pool, batch_norm, conv

#: per node ``1..n-1`` of a cell, its incoming edges as ``(operation name, source node)``
Genotype = Sequence[Sequence[tuple[str, int]]]


class Cell(nn.Module):
    """A NAS-Bench-201 cell: node ``j`` sums ``op_ij(node i)`` over ``i < j``; the last is output.

    ``none`` edges (:class:`~nasforge.ops.nb201.Zero`) are skipped when summing, a node with no
    other input is zero, and nodes that cannot reach the output are not computed (their
    parameters still exist and count).
    """

    def __init__(self, genotype: Genotype, channels: int, ndim: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict()
        plan: list[list[tuple[int, str]]] = []
        for j, incoming in enumerate(genotype, start=1):
            inputs = []
            for op_name, i in incoming:
                key = f"{i}_{j}"
                self.edges[key] = create_op(op_name, channels, channels, 1, ndim)
                if not isinstance(self.edges[key], Zero):
                    inputs.append((i, key))
            plan.append(inputs)
        self._plan = plan
        self._needed = _needed_nodes(plan)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x]
        for j, inputs in enumerate(self._plan, start=1):
            if j not in self._needed:
                nodes.append(None)
                continue
            out: torch.Tensor | None = None
            for i, key in inputs:
                source = nodes[i]
                assert source is not None  # a needed node's inputs are needed
                y = self.edges[key](source)
                out = y if out is None else out + y
            nodes.append(out if out is not None else torch.zeros_like(x))
        last = nodes[-1]
        assert last is not None
        return last


def _needed_nodes(plan: list[list[tuple[int, str]]]) -> set[int]:
    """Nodes whose value reaches the output node through non-zero edges (the output included)."""
    last = len(plan)
    needed = {last}
    for j in range(last, 0, -1):
        if j in needed:
            needed.update(i for i, _ in plan[j - 1])
    return needed


class ResidualReduction(nn.Module):
    """ResNet basic block of stride 2 between stages (NAS-Bench-201's ``ResNetBasicblock``)."""

    def __init__(self, c_in: int, c_out: int, ndim: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, ndim)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, ndim)
        # ceil_mode keeps odd sizes in step with the stride-2 convolution
        self.downsample = nn.Sequential(
            avg_pool(ndim, 2, 2, padding=0, ceil_mode=True), conv(ndim, c_in, c_out, 1, 1, 0)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class MacroNetwork(nn.Module):
    """Stem, three stages of ``n_cells`` cells (C, 2C, 4C channels) joined by residual
    reductions, then BN-ReLU, global average pooling and a linear classifier.

    Args:
        genotype: the cell, as :meth:`nasforge.space.CellSpace.genotype` gives it.
        channels: C, the width of the first stage.
        n_cells: cells per stage.
        in_channels: channels of the input.
        num_classes: outputs of the classifier.
        ndim: 1 for signals, 2 for images.
    """

    def __init__(
        self,
        genotype: Genotype,
        channels: int,
        n_cells: int,
        in_channels: int,
        num_classes: int,
        ndim: int,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            conv(ndim, in_channels, channels, 3, 1, 1), batch_norm(ndim, channels)
        )
        layers: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(width, width * 2, ndim))
                width *= 2
            layers.extend(Cell(genotype, width, ndim) for _ in range(n_cells))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(batch_norm(ndim, width), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.lastact(self.cells(self.stem(x)))
        pooled = features.flatten(2).mean(dim=2)
        logits: torch.Tensor = self.classifier(pooled)
        return logits
