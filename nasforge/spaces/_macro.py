"""The NAS-Bench-201 macro network around a cell, in 1-D or 2-D (imported only by ``build``).

:class:`Cell` builds any :class:`~nasforge.space.CellGraph` (one module per edge);
:class:`MacroNetwork` holds the stem, the three stages and the classifier and asks a cell
factory for the cells, so another space can put its own cells in the same network.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from nasforge.errors import SpaceError
from nasforge.ops import create_op
from nasforge.ops.nb201 import ReLUConvBN, Zero, avg_pool, batch_norm, conv
from nasforge.space import CellEdge, CellGraph
from nasforge.spaces.define import Choices

#: ``cell_factory(channels) -> nn.Module``: a cell that keeps ``channels`` and the spatial size
CellFactory = Callable[[int], nn.Module]


class Cell(nn.Module):
    """A cell built from its graph: each non-input node sums ``op(source)`` over its incoming
    edges; the output is the output node (several: concatenated along channels).

    Edge modules are named ``"{src}_{dst}"`` (NAS-Bench-201's state-dict keys). ``none`` edges
    (:class:`~nasforge.ops.nb201.Zero`) are skipped when summing, a node with no other input is
    zero, and nodes that cannot reach an output are not computed (their parameters still exist
    and count). ``forward`` takes one tensor per input node.

    Args:
        graph: the realised cell (every edge holds its operation), or with ``choices`` the
            template (every edge names the dimension that decides it and its choices).
        channels: channels of every node.
        ndim: 1 for signals, 2 for images.
        affine: whether the operations' batch norms learn a scale and shift.
        choices: each edge's operation is ``choices.op(edge.dim, candidates)`` (the choice
            points of :mod:`nasforge.spaces.define`; the same dimension in several cells is one
            decision), instead of the graph's own.
    """

    def __init__(
        self,
        graph: CellGraph,
        channels: int,
        ndim: int,
        affine: bool = True,
        choices: Choices | None = None,
    ) -> None:
        super().__init__()
        self.graph = graph
        self.edges = nn.ModuleDict()
        names: list[str] = []
        live: list[bool] = []
        for edge in graph.edges:
            name = f"{edge.src}_{edge.dst}"
            copies = sum(1 for n in names if n == name or n.startswith(f"{name}_"))
            name = name if not copies else f"{name}_{copies}"  # parallel edges
            names.append(name)
            self.edges[name] = _edge_module(graph, edge, channels, ndim, affine, choices)
            live.append(not isinstance(self.edges[name], Zero))
        self._needed = _needed_nodes(graph, live)
        self._plan: list[tuple[int, list[tuple[int, str]]]] = []
        for node in range(graph.n_nodes):
            if node in graph.inputs:
                continue
            incoming = [
                (edge.src, name)
                for edge, name, alive in zip(graph.edges, names, live, strict=True)
                if edge.dst == node and alive
            ]
            self._plan.append((node, incoming))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        nodes: dict[int, torch.Tensor] = dict(zip(self.graph.inputs, inputs, strict=True))
        for node, live in self._plan:
            if node not in self._needed:
                continue
            out: torch.Tensor | None = None
            for src, name in live:
                y = self.edges[name](nodes[src])  # a needed node's sources are needed
                out = y if out is None else out + y
            nodes[node] = out if out is not None else torch.zeros_like(inputs[0])
        outputs = [nodes[n] for n in self.graph.outputs]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)


def _edge_module(
    graph: CellGraph,
    edge: CellEdge,
    channels: int,
    ndim: int,
    affine: bool,
    choices: Choices | None,
) -> nn.Module:
    if choices is not None and edge.dim is not None and edge.choices:
        candidates = {
            op: partial(create_op, op, channels, channels, 1, ndim, affine=affine)
            for op in edge.choices
        }
        return choices.op(edge.dim, candidates)  # type: ignore[no-any-return]
    if edge.op is None:
        raise SpaceError(
            f"cell {graph.name!r}: edge {edge.label} has no operation; allowed: a "
            "realised cell (space.cells(arch))"
        )
    return create_op(edge.op, channels, channels, 1, ndim, affine=affine)


def _needed_nodes(graph: CellGraph, live: list[bool]) -> frozenset[int]:
    """Nodes whose value reaches an output through live (not ``none``) edges."""
    needed = set(graph.outputs)
    for node in range(graph.n_nodes - 1, -1, -1):
        if node in needed:
            needed.update(
                e.src for e, alive in zip(graph.edges, live, strict=True) if e.dst == node and alive
            )
    return frozenset(needed)


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
    reductions, then BN-ReLU, global average pooling, dropout and a linear classifier.

    The dropout before the classifier has ``p = 0`` (NAS-Bench-201 trains without) and is
    then skipped; a searched ``train.dropout`` sets its ``p``. It holds no state, so the
    network's parameters and state-dict keys are NAS-Bench-201's either way.

    Args:
        cell_factory: ``cell_factory(channels)`` makes one cell of a stage (called once per
            cell, in order); a cell maps ``(batch, channels, *spatial)`` to the same shape.
        channels: C, the width of the first stage.
        n_cells: cells per stage.
        in_channels: channels of the input.
        num_classes: outputs of the classifier.
        ndim: 1 for signals, 2 for images.
        dropout: drop probability before the classifier.
    """

    def __init__(
        self,
        cell_factory: CellFactory,
        channels: int,
        n_cells: int,
        in_channels: int,
        num_classes: int,
        ndim: int,
        dropout: float = 0.0,
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
            layers.extend(cell_factory(width) for _ in range(n_cells))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(batch_norm(ndim, width), nn.ReLU(inplace=False))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.lastact(self.cells(self.stem(x)))
        pooled = features.flatten(2).mean(dim=2)
        if self.dropout.p > 0:  # p = 0 draws no random numbers, as before dropout was here
            pooled = self.dropout(pooled)
        logits: torch.Tensor = self.classifier(pooled)
        return logits
