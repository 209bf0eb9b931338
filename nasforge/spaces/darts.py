"""The DARTS space (Liu, Simonyan & Yang 2019): normal and reduction cells in a stack of cells.

The space is written once as PyTorch code with choice points (:mod:`nasforge.spaces.define`):
:class:`DartsNetwork` is the network, :class:`DartsSpace` the registered space (``darts``).

**A cell** has two input nodes, 0 and 1 (the outputs of the cell before the previous one and of
the previous one, each brought to the cell's channel count: a 1x1 ReLU-Conv-BN, or a factorized
reduce when the older output still has twice the resolution because the previous cell was a
reduction cell), four intermediate nodes 2-5 and an output that concatenates the four
intermediate nodes (so a cell of ``C`` channels outputs ``4C``). Intermediate node ``j`` reads
two distinct earlier nodes (``ch.inputs(k=2)`` among nodes ``0..j-1``) and applies one operation
to each (the first operation to the lower-numbered input), and sums the two. In a reduction
cell the edges from the input nodes have stride 2. All normal cells share one choice, all
reduction cells another (tied labels), as in DARTS.

**The macro network**: a 3x3 convolution and batch norm with ``3 * channels`` outputs (the stem
multiplier 3), ``n_cells`` cells, global average pooling and a linear classifier. The reduction
cells sit at ``n_cells // 3`` and ``2 * n_cells // 3`` (DARTS's places; its ``layers`` is our
``n_cells``), where the channels double and the resolution halves, except that the first cell
is always a normal cell: one cell is one normal cell, two are a normal and a reduction cell.
DARTS's auxiliary head and drop-path belong to its training recipe and are left out.

**Operations**: the seven non-zero DARTS operations. ``none`` is not a candidate by default:
DARTS's search keeps it only as a way for its continuous relaxation to weaken an edge, and its
genotype is derived by picking the strongest operations *other than* ``none`` on each node's two
strongest inputs, so no DARTS genotype holds it; in the discrete space it would only repeat
narrower networks under many keys (``none`` on one input is a one-input node, on both a zero
node). A space with it can be asked for (``ops=[...]``).

**Size**: node ``j`` has ``C(j, 2)`` input pairs and ``ops ** 2`` operation pairs, so a cell has
``(1 * 3 * 6 * 10) * 7 ** 8 = 1,037,664,180`` choices and the space, with two cells, about
``1.08e18`` archs (``(1,037,664,180) ** 2``).

The genotype in DARTS's form: :meth:`DartsSpace.genotype` and :meth:`DartsSpace.from_genotype`
convert an arch to and from a :class:`Genotype`; :data:`DARTS_V2` is the cell found by
second-order DARTS on CIFAR-10 (the paper's Figures 4 and 5).

**Its supernet** (:meth:`DartsSpace.supernet_definition`, for
:class:`~nasforge.oneshot.supernet.Supernet`) is DARTS's search network
(:mod:`nasforge.spaces.darts_supernet`): every intermediate node reads every earlier node
through an edge among the operations and ``none``; :meth:`DartsSpace.derive` keeps each node's
two edges of the strongest operation other than ``none`` (DARTS's rule), and
:meth:`DartsSpace.supernet_path` gives the path that computes an arch's network. The size
``partial_channels`` (PC-DARTS's ``K``) sends only ``1 / K`` of each edge's channels through it.

The cells are not stated as :meth:`~nasforge.space.Space.cell_templates`: a template edge is
decided by one dimension holding its operation, while here which edges exist is decided by the
``inputs`` dimensions and their operations by others. :meth:`Genotype.cell_graphs` gives an
arch's realised cells as :class:`~nasforge.space.CellGraph` values for drawing them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

import torch
from torch import nn

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Arch, CellEdge, CellGraph, Dimension, Task
from nasforge.spaces._darts_base import (
    DARTS_SPACE_OPS,
    NODES,
    CellBase,
    NetworkBase,
    edge_candidates,
    edge_label,
    reduction_cells,
)
from nasforge.spaces._options import check_operations, check_positive_ints
from nasforge.spaces.darts_supernet import DartsSupernet
from nasforge.spaces.define import Choices, DefinedSpace, inputs_value

#: the cell kinds, in the order their choices appear in an arch
CELL_KINDS: tuple[str, ...] = ("normal", "reduce")


class Genotype(NamedTuple):
    """An arch in DARTS's genotype form: per cell, two ``(operation, input node)`` pairs per
    intermediate node (nodes 2-5 in order; 0 and 1 are the cell's inputs), and the nodes whose
    concatenation is the cell's output.

    Example:
        >>> [node for _, node in DARTS_V2.normal[:4]]
        [0, 1, 0, 1]
    """

    normal: tuple[tuple[str, int], ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[tuple[str, int], ...]
    reduce_concat: tuple[int, ...]

    def cell_graphs(self) -> tuple[CellGraph, CellGraph]:
        """The normal and the reduction cell as realised :class:`CellGraph` values."""
        graphs = []
        for kind, pairs, concat in (
            ("normal", self.normal, self.normal_concat),
            ("reduce", self.reduce, self.reduce_concat),
        ):
            edges = tuple(CellEdge(src, NODES[i // 2], op) for i, (op, src) in enumerate(pairs))
            graphs.append(CellGraph(kind, 6, inputs=(0, 1), outputs=tuple(concat), edges=edges))
        return graphs[0], graphs[1]


#: second-order DARTS's cells on CIFAR-10 (Liu et al. 2019, Figures 4 and 5): 2.76% test error
#: with 3.3M parameters at 20 cells of 36 channels. Each node's pairs are by input node.
DARTS_V2 = Genotype(
    normal=(
        ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),  # node 2
        ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),  # node 3
        ("skip_connect", 0), ("sep_conv_3x3", 1),  # node 4
        ("skip_connect", 0), ("dil_conv_3x3", 2),  # node 5
    ),
    normal_concat=NODES,
    reduce=(
        ("max_pool_3x3", 0), ("max_pool_3x3", 1),  # node 2
        ("max_pool_3x3", 1), ("skip_connect", 2),  # node 3
        ("max_pool_3x3", 0), ("skip_connect", 2),  # node 4
        ("max_pool_3x3", 1), ("skip_connect", 2),  # node 5
    ),
    reduce_concat=NODES,
)  # fmt: skip


def dim_names(kind: str, node: int) -> tuple[str, str, str]:
    """The dimensions of ``node`` in cells of ``kind``: its inputs, then the operation on the
    first and on the second input (``normal_node2_inputs``, ``normal_node2_op1``, ...)."""
    prefix = f"{kind}_node{node}"
    return f"{prefix}_inputs", f"{prefix}_op1", f"{prefix}_op2"


class DartsCell(CellBase):
    """One DARTS cell of ``channels`` channels per node (output: ``4 * channels``).

    Args:
        ch: the choices (asked under labels shared by every cell of ``kind``).
        kind: ``"normal"`` or ``"reduce"`` (a reduction cell: stride 2 from its inputs).
        c_prev_prev: channels of the output of the cell before the previous one.
        c_prev: channels of the previous cell's output.
        channels: channels of each node.
        reduction_prev: whether the previous cell halved the resolution.
        ndim: 1 for signals, 2 for images.
        ops: the operations an edge may pick.
    """

    def __init__(
        self,
        ch: Choices,
        kind: str,
        c_prev_prev: int,
        c_prev: int,
        channels: int,
        reduction_prev: bool,
        ndim: int,
        ops: Sequence[str],
    ) -> None:
        super().__init__(c_prev_prev, c_prev, channels, reduction_prev, ndim)
        self.edges = nn.ModuleList()
        self.node_inputs: list[tuple[int, ...]] = []
        for node in NODES:
            inputs_label, *op_labels = dim_names(kind, node)
            pair = ch.inputs(inputs_label, n=node, k=2)
            for src, label in zip(pair, op_labels, strict=True):
                stride = 2 if kind == "reduce" and src < 2 else 1
                self.edges.append(ch.op(label, edge_candidates(ops, channels, stride, ndim)))
            self.node_inputs.append(pair)

    def node(self, index: int, states: list[torch.Tensor]) -> torch.Tensor:
        a, b = self.node_inputs[index]
        out: torch.Tensor = self.edges[2 * index](states[a]) + self.edges[2 * index + 1](states[b])
        return out


class DartsNetwork(NetworkBase):
    """The DARTS network: stem, ``n_cells`` cells, global average pooling, classifier.

    The space definition behind :class:`DartsSpace` (``definition(ch, task, **sizes)``).

    Args:
        ch: the choices.
        task: input shape ``(channels, length)`` or ``(channels, height, width)`` and classes.
        n_cells: cells in the network (DARTS: 8 while searching, 20 for CIFAR-10).
        channels: channels per node in the first cells (DARTS: 16 while searching, 36 after).
        ops: the operations an edge may pick.
    """

    def __init__(
        self,
        ch: Choices,
        task: Task,
        n_cells: int = 8,
        channels: int = 16,
        ops: Sequence[str] = DARTS_SPACE_OPS,
    ) -> None:
        super().__init__(task, n_cells, channels, partial(DartsCell, ch, ops=ops))


class DartsSpace(DefinedSpace):
    """The DARTS space: a normal and a reduction cell, each of four nodes that read two
    earlier nodes through one operation each (see the module docstring).

    Args:
        n_cells: cells in the network (default 8, DARTS's search network; 1 is one normal
            cell, 2 a normal and a reduction cell).
        channels: channels per node in the first cells (default 16; the stem has 3x).
        ops: the operations an edge may pick, registered operations (default: the seven
            DARTS operations other than ``none``).

    Example:
        >>> space = DartsSpace(n_cells=2, channels=4)
        >>> f"{space.size():.3g}"
        '1.08e+18'
        >>> arch = space.from_genotype(DARTS_V2)
        >>> space.genotype(arch) == DARTS_V2
        True
        >>> net = space.build(arch, Task(input_shape=(1, 40), num_classes=10))
    """

    registered_as = "darts"

    def __init__(self, n_cells: int = 8, channels: int = 16, ops: list[str] | None = None) -> None:
        check_positive_ints("darts: ", n_cells=n_cells, channels=channels)
        chosen = check_operations("darts: ", ops, DARTS_SPACE_OPS)
        self.n_cells, self.channels, self.ops = n_cells, channels, chosen
        super().__init__(DartsNetwork, sizes={"n_cells": n_cells, "channels": channels})

    def _run(self, choices: Choices, task: Task, sizes: Mapping[str, int]) -> Any:
        return self.definition_(choices, task, ops=tuple(self.ops), **sizes)

    def _discover(self) -> list[Dimension]:
        # every normal cell asks the normal cell's choices and every reduction cell the
        # reduction cell's, so a network of two cells (one of each) asks them all: find them
        # there, fast at any size and the same space for every size (one cell asks fewer)
        sizes = self.sizes
        self.sizes = {**sizes, "n_cells": 2}
        try:
            return super()._discover()
        finally:
            self.sizes = sizes

    def decision_groups(self) -> list[list[str]]:
        """One group per node of each cell: its inputs and their two operations."""
        return [list(dim_names(kind, node)) for kind in CELL_KINDS for node in NODES]

    def supernet_definition(self) -> tuple[Callable[..., nn.Module], dict[str, int]]:
        """DARTS's search network (:class:`~nasforge.spaces.darts_supernet.DartsSupernet`: every
        earlier node feeds every node through the space's operations and ``none``) and its
        sizes: the space's, and ``partial_channels`` (PC-DARTS's ``K``; 1, off).

        Example:
            >>> from nasforge.oneshot.supernet import Supernet
            >>> space = DartsSpace(n_cells=2, channels=4)
            >>> net = Supernet(space, Task((1, 12), 3), sizes={"partial_channels": 2})
            >>> len(net.labels), net.labels["normal_edge2_0"][:2]
            (28, ['none', 'max_pool_3x3'])
            >>> net(torch.zeros(2, 1, 12)).shape
            torch.Size([2, 3])
            >>> path = space.supernet_path(space.from_genotype(DARTS_V2))
            >>> path["normal_edge2_0"], path["normal_edge5_1"]  # node 5 reads nodes 0 and 2
            ('sep_conv_3x3', 'none')
            >>> one_hot = {e: {op: float(op == path[e]) for op in net.labels[e]} for e in path}
            >>> space.genotype(net.derive(one_hot)) == DARTS_V2
            True
        """
        definition = partial(DartsSupernet, ops=tuple(self.ops))
        return definition, {**self.sizes, "partial_channels": 1}

    def derive(
        self, weights: Mapping[str, Mapping[str, float]], held: Mapping[str, Any] | None = None
    ) -> Arch:
        """The arch DARTS derives from the supernet's edge weights: each node keeps the two
        edges whose strongest operation other than ``none`` weighs most, each with that
        operation (ties: the lower node, the earlier operation). The derived arch of an arch's
        path (:meth:`supernet_path`) weighted one-hot is the arch, unless it uses ``none``.

        Args:
            weights: each edge label's weight per candidate.
            held: edges the supernet held fixed (label -> operation), taken as certain.

        Raises:
            ConfigError: an edge has no weights, or a node has fewer than two edges with an
                operation other than ``none``.
        """
        weights = {**{label: {str(op): 1.0} for label, op in (held or {}).items()}, **weights}
        values: dict[str, Any] = {}
        for kind in CELL_KINDS:
            for node in NODES:
                best: dict[int, tuple[str, float]] = {}
                for src in range(node):
                    label = edge_label(kind, node, src)
                    if label not in weights:
                        raise ConfigError(f"darts derive: weights have no edge {label!r}")
                    ops = {str(k): float(w) for k, w in weights[label].items() if k != "none"}
                    if ops:
                        op = max(ops, key=ops.__getitem__)
                        best[src] = op, ops[op]
                kept = sorted(best, key=lambda src: -best[src][1])[:2]
                if len(kept) < 2:
                    raise ConfigError(
                        f"darts derive: {kind} node {node} has {len(kept)} edges with an "
                        "operation other than 'none'; allowed: at least 2"
                    )
                first, second = sorted(kept)
                inputs_label, op1, op2 = dim_names(kind, node)
                values[inputs_label] = inputs_value((first, second))
                values[op1], values[op2] = best[first][0], best[second][0]
        return self.make(values)

    def supernet_path(self, arch: Arch) -> dict[str, str]:
        """The supernet path that computes ``arch``'s network: each node's two edges carry
        their operations, every other edge ``none``."""
        arch = self.validate(arch)
        path: dict[str, str] = {}
        for kind in CELL_KINDS:
            for node in NODES:
                inputs_label, *op_labels = dim_names(kind, node)
                sources = (int(i) for i in str(arch[inputs_label]).split("+"))
                chosen = {src: str(arch[op]) for src, op in zip(sources, op_labels, strict=True)}
                for src in range(node):
                    path[edge_label(kind, node, src)] = chosen.get(src, "none")
        return path

    def genotype(self, arch: Arch) -> Genotype:
        """``arch`` in DARTS's genotype form (each node's pairs ordered by input node)."""
        arch = self.validate(arch)
        cells: dict[str, tuple[tuple[str, int], ...]] = {}
        for kind in CELL_KINDS:
            pairs: list[tuple[str, int]] = []
            for node in NODES:
                inputs_label, *op_labels = dim_names(kind, node)
                inputs = [int(i) for i in str(arch[inputs_label]).split("+")]
                pairs.extend(
                    (str(arch[op]), src) for op, src in zip(op_labels, inputs, strict=True)
                )
            cells[kind] = tuple(pairs)
        return Genotype(cells["normal"], NODES, cells["reduce"], NODES)

    def from_genotype(self, genotype: Any) -> Arch:
        """The arch of a genotype in DARTS's form (this module's :class:`Genotype`, DARTS's
        own namedtuple, or anything with ``normal``, ``normal_concat``, ``reduce`` and
        ``reduce_concat``); a node's two pairs may come in either order.

        Raises:
            SpaceError: the genotype does not have two pairs of distinct earlier inputs per
                node, concatenates other nodes than 2-5, or uses an operation outside ``ops``.
        """
        values: dict[str, Any] = {}
        for kind in CELL_KINDS:
            pairs = list(getattr(genotype, kind))
            concat = [int(n) for n in getattr(genotype, f"{kind}_concat")]
            if concat != list(NODES):
                raise SpaceError(
                    f"darts genotype: {kind}_concat={concat!r}; allowed: [2, 3, 4, 5] (every "
                    "intermediate node)"
                )
            if len(pairs) != 2 * len(NODES):
                raise SpaceError(
                    f"darts genotype: {kind} has {len(pairs)} pairs; allowed: 8, (operation, "
                    "input) twice for each of nodes 2-5"
                )
            for i, node in enumerate(NODES):
                first, second = sorted((int(src), str(op)) for op, src in pairs[2 * i : 2 * i + 2])
                if first[0] == second[0] or not 0 <= first[0] < second[0] < node:
                    raise SpaceError(
                        f"darts genotype: {kind} node {node} reads nodes {first[0]} and "
                        f"{second[0]}; allowed: two distinct nodes in 0..{node - 1}"
                    )
                inputs_label, op1, op2 = dim_names(kind, node)
                values[inputs_label] = inputs_value((first[0], second[0]))
                values[op1], values[op2] = first[1], second[1]
        return self.make(values)


__all__ = [
    "CELL_KINDS",
    "DARTS_SPACE_OPS",
    "DARTS_V2",
    "NODES",
    "DartsCell",
    "DartsNetwork",
    "DartsSpace",
    "Genotype",
    "dim_names",
    "edge_label",
    "reduction_cells",
]
