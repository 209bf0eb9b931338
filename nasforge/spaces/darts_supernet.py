"""DARTS's supernet of the ``darts`` space (Liu et al. 2019), with PC-DARTS's partial channels.

The discrete space chooses which two earlier nodes a node reads (``ch.inputs``), so the edges of
its network depend on a choice and a continuous relaxation cannot weigh them. DARTS's search
network has every edge instead: intermediate node ``j`` reads *every* earlier node ``i``
through ``ch.op(f"{kind}_edge{j}_{i}", ...)`` among the space's operations and ``none``, and is
the sum over its edges (:class:`DartsSupernetCell`, in the same stem, macro network and input
preprocessing as :class:`~nasforge.spaces.darts.DartsNetwork`; the labels are tied across the
cells of a kind). :meth:`DartsSpace.derive <nasforge.spaces.darts.DartsSpace.derive>` reads the
arch back with DARTS's rule and :meth:`~nasforge.spaces.darts.DartsSpace.supernet_path` gives
the path that computes an arch's network.

The candidates are the operations the discrete network builds (its batch norms affine; the
supernet's ``bn_affine`` and ``bn_track_stats`` set them for the search), so in ``"path"`` mode
the supernet computes exactly the arch's network. DARTS's search network also appends a
non-affine batch norm to its pooling candidates; that is left out for this exactness.

**Partial channels** (PC-DARTS, Xu et al. 2020): with ``partial_channels=K > 1`` each edge's
mixed operation runs on the first ``C / K`` of its ``C`` channels (its candidates built for
``C / K``) and the others bypass it (max-pooled 2x2 with stride 2 on a stride-2 edge); the two
parts are concatenated and the channels shuffled in ``K`` groups (:class:`PartialChannels`).
That cuts the memory of the mixed operations about ``K`` times; the bypass also means that the
supernet with ``K > 1`` computes no single arch's network in ``"path"`` mode. PC-DARTS's edge
normalisation is not included.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from nasforge.errors import ConfigError, one_of
from nasforge.space import Task
from nasforge.spaces._darts_base import (
    DARTS_SPACE_OPS,
    NODES,
    CellBase,
    NetworkBase,
    edge_candidates,
    edge_label,
)
from nasforge.spaces.define import Choices


def supernet_ops(ops: Sequence[str]) -> tuple[str, ...]:
    """The candidates of a supernet edge: ``none`` (first, as in DARTS's ``PRIMITIVES``) and
    ``ops``.

    Example:
        >>> supernet_ops(["skip_connect", "sep_conv_3x3"])
        ('none', 'skip_connect', 'sep_conv_3x3')
    """
    return tuple(ops) if "none" in ops else ("none", *ops)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``x`` from ``groups`` groups (ShuffleNet's shuffle).

    Example:
        >>> channel_shuffle(torch.arange(6.0).view(1, 6, 1), 2).flatten().tolist()
        [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """
    batch, channels, *spatial = x.shape
    grouped = x.view(batch, groups, channels // groups, *spatial).transpose(1, 2)
    return grouped.reshape(batch, channels, *spatial)


class PartialChannels(nn.Module):
    """PC-DARTS's partial channel connection around the mixed operation ``op`` of an edge.

    Args:
        op: the mixed operation, built for ``1 / k`` of the edge's channels.
        k: the channel fraction's denominator (and the shuffle's groups).
        stride: the edge's stride (2: the bypassed channels are max-pooled 2x2 with stride 2).
        ndim: 1 for signals, 2 for images.
    """

    def __init__(self, op: nn.Module, k: int, stride: int, ndim: int) -> None:
        super().__init__()
        self.op, self.k = op, k
        pool = nn.MaxPool1d if ndim == 1 else nn.MaxPool2d
        # ceil_mode: a length n becomes ceil(n / 2), as every operation's output
        self.bypass = pool(2, 2, ceil_mode=True) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1] // self.k
        rest = x[:, c:] if self.bypass is None else self.bypass(x[:, c:])
        return channel_shuffle(torch.cat([self.op(x[:, :c]), rest], dim=1), self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


class DartsSupernetCell(CellBase):
    """A cell of DARTS's search network: node ``j`` sums an edge from every earlier node.

    Args:
        ch: the choices: one operation choice per edge, ``edge_label(kind, j, i)``, shared
            by every cell of ``kind``.
        kind: ``"normal"`` or ``"reduce"`` (a reduction cell: stride 2 from nodes 0 and 1).
        c_prev_prev: channels of the output of the cell before the previous one.
        c_prev: channels of the previous cell's output.
        channels: channels of each node.
        reduction_prev: whether the previous cell halved the resolution.
        ndim: 1 for signals, 2 for images.
        ops: the space's operations (an edge's candidates add ``none``).
        partial_channels: PC-DARTS's ``K`` (1: every channel through the mixed operation).
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
        partial_channels: int = 1,
    ) -> None:
        super().__init__(c_prev_prev, c_prev, channels, reduction_prev, ndim)
        names, k = supernet_ops(ops), partial_channels
        self.edges = nn.ModuleDict()  # "j_i": the edge from node i to node j
        for node in NODES:
            for src in range(node):
                stride = 2 if kind == "reduce" and src < 2 else 1
                candidates = edge_candidates(names, channels // k, stride, ndim)
                op = ch.op(edge_label(kind, node, src), candidates)
                self.edges[f"{node}_{src}"] = op if k == 1 else PartialChannels(op, k, stride, ndim)

    def node(self, index: int, states: list[torch.Tensor]) -> torch.Tensor:
        node = NODES[index]
        out: torch.Tensor = self.edges[f"{node}_0"](states[0])
        for src in range(1, node):
            out = out + self.edges[f"{node}_{src}"](states[src])
        return out


class DartsSupernet(NetworkBase):
    """DARTS's search network: the DARTS network with :class:`DartsSupernetCell` cells.

    The definition :meth:`DartsSpace.supernet_definition
    <nasforge.spaces.darts.DartsSpace.supernet_definition>` gives a supernet.

    Args:
        ch: the choices.
        task: input shape ``(channels, length)`` or ``(channels, height, width)`` and classes.
        n_cells: cells in the network.
        channels: channels per node in the first cells.
        partial_channels: PC-DARTS's ``K``, a divisor of ``channels`` (default 1: off).
        ops: the space's operations.

    Raises:
        ConfigError: ``partial_channels`` does not divide ``channels``.
    """

    def __init__(
        self,
        ch: Choices,
        task: Task,
        n_cells: int = 8,
        channels: int = 16,
        partial_channels: int = 1,
        ops: Sequence[str] = DARTS_SPACE_OPS,
    ) -> None:
        k = partial_channels
        if isinstance(k, bool) or not isinstance(k, int) or k < 1 or channels % k:
            divisors = [d for d in range(1, channels + 1) if channels % d == 0]
            raise ConfigError(
                f"darts supernet: partial_channels={k!r} does not divide channels={channels}; "
                f"allowed: {one_of(divisors)}"
            )
        make_cell = partial(DartsSupernetCell, ch, ops=ops, partial_channels=k)
        super().__init__(task, n_cells, channels, make_cell)


__all__ = [
    "DartsSupernet",
    "DartsSupernetCell",
    "PartialChannels",
    "channel_shuffle",
    "supernet_ops",
]
