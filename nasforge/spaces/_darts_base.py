"""What DARTS's network and its supernet share (:mod:`nasforge.spaces.darts`,
:mod:`nasforge.spaces.darts_supernet`): the intermediate nodes, the places of the reduction
cells, a cell's input nodes and output, and the macro network around the cells."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from nasforge.errors import SpaceError
from nasforge.ops import DARTS_OPS, create_op
from nasforge.ops.nb201 import FactorizedReduce, ReLUConvBN, batch_norm, conv
from nasforge.space import Task

#: the operations a DARTS edge picks by default: DARTS's eight without ``none``
DARTS_SPACE_OPS: tuple[str, ...] = tuple(op for op in DARTS_OPS if op != "none")

#: the intermediate nodes of a cell (0 and 1 are its inputs)
NODES: tuple[int, ...] = (2, 3, 4, 5)


def edge_label(kind: str, node: int, src: int) -> str:
    """The label of the supernet's edge from node ``src`` to ``node`` in cells of ``kind``
    (``normal_edge3_1``; see :mod:`nasforge.spaces.darts_supernet`)."""
    return f"{kind}_edge{node}_{src}"


def reduction_cells(n_cells: int) -> tuple[int, ...]:
    """Where the reduction cells go among ``n_cells``: DARTS's ``n // 3`` and ``2n // 3``,
    never the first cell.

    Example:
        >>> reduction_cells(8), reduction_cells(20), reduction_cells(2), reduction_cells(1)
        ((2, 5), (6, 13), (1,), ())
    """
    return tuple(sorted({n_cells // 3, 2 * n_cells // 3} - {0}))


class CellBase(nn.Module):
    """What every DARTS cell shares (the discrete one and the supernet's): input nodes 0 and 1,
    the two previous cells' outputs brought to ``channels``, and the output, the concatenation
    of the intermediate nodes; :meth:`node` computes intermediate node ``NODES[index]``."""

    def __init__(
        self, c_prev_prev: int, c_prev: int, channels: int, reduction_prev: bool, ndim: int
    ) -> None:
        super().__init__()
        self.preprocess0: nn.Module = (
            FactorizedReduce(c_prev_prev, channels, 2, ndim)
            if reduction_prev
            else ReLUConvBN(c_prev_prev, channels, 1, 1, ndim)
        )
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, ndim)

    def node(self, index: int, states: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for index in range(len(NODES)):
            states.append(self.node(index, states))
        return torch.cat(states[2:], dim=1)


def edge_candidates(ops: Sequence[str], channels: int, stride: int, ndim: int) -> dict[str, Any]:
    """The candidates of an edge for ``ch.op``: name -> function that builds the operation
    (``channels`` in and out)."""
    return {
        name: (lambda name=name: create_op(name, channels, channels, stride, ndim)) for name in ops
    }


#: ``make_cell(kind, c_prev_prev, c_prev, channels, reduction_prev, ndim)``: one cell
CellFactory = Callable[[str, int, int, int, bool, int], nn.Module]


class NetworkBase(nn.Module):
    """The DARTS macro network around cells made by ``make_cell``: stem, ``n_cells`` cells
    (reduction cells at a third and two thirds), global average pooling, classifier."""

    def __init__(self, task: Task, n_cells: int, channels: int, make_cell: CellFactory) -> None:
        super().__init__()
        ndim = task.ndim
        if ndim not in (1, 2):
            raise SpaceError(
                f"darts: task input_shape={task.input_shape!r} has {ndim} spatial dimensions; "
                "allowed: (channels, length) or (channels, height, width)"
            )
        stem = 3 * channels
        self.stem = nn.Sequential(
            conv(ndim, task.input_shape[0], stem, 3, 1, 1), batch_norm(ndim, stem)
        )
        c_prev_prev, c_prev, width = stem, stem, channels
        reductions, reduction_prev = reduction_cells(n_cells), False
        self.cells = nn.ModuleList()
        for index in range(n_cells):
            reduction = index in reductions
            width = 2 * width if reduction else width
            kind = "reduce" if reduction else "normal"
            self.cells.append(make_cell(kind, c_prev_prev, c_prev, width, reduction_prev, ndim))
            c_prev_prev, c_prev, reduction_prev = c_prev, len(NODES) * width, reduction
        self.classifier = nn.Linear(c_prev, task.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        logits: torch.Tensor = self.classifier(s1.flatten(2).mean(dim=2))
        return logits


__all__ = [
    "DARTS_SPACE_OPS",
    "NODES",
    "CellBase",
    "CellFactory",
    "NetworkBase",
    "edge_candidates",
    "edge_label",
    "reduction_cells",
]
