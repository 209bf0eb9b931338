"""``hierarchical``: Liu et al.'s (ICLR 2018) motifs of motifs, and their flat variant.

A genotype has levels. Level 1 is six primitives (1x1 convolution, 3x3 depthwise convolution,
3x3 separable convolution, 3x3 max pooling, 3x3 average pooling, identity) and ``none`` (no
edge). A level-``l`` motif (``l >= 2``) is a DAG of ``n_l`` nodes, node 0 its input and node
``n_l - 1`` its output, where every edge ``i -> j`` holds ``none`` or one of the level-``l-1``
motifs; a node sums what its edges bring. The single motif of the top level is the *cell*.
The paper's setting, the default here: three levels, six level-2 motifs of 4 nodes, one
level-3 motif of 5 nodes. The *flat* variant (``flat=True``) is one graph of primitives of 11
nodes (the paper's, for a comparable number of edges).

**The network** (the paper's small CIFAR model): a 3x3 convolution to ``channels``, then three
stages of ``n_cells`` cells at ``channels``, ``2x`` and ``4x`` width, joined by 3x3 separable
convolutions of stride 2, then global average pooling and a linear classifier. Every use of a
motif is a fresh copy with its own weights.

**Mutation** (the paper's only one): pick a non-primitive level, a motif of it, a successor
node ``j``, a predecessor ``i < j``, and replace the op of edge ``i -> j`` by another one of the
level below (``none`` included: a mutation adds, removes or changes an edge). ``sample`` draws
every edge uniformly, the distribution the paper's initialisation (a trivial genotype, every
motif a chain of identities, then 1000 random mutations) converges to; the
``hierarchical-evolution`` strategy starts from :meth:`HierarchicalSpace.trivial` and
mutates, as the paper does. ``crossover`` (not in the paper) takes whole motifs from one
parent or the other.

**Keys** list each motif's edge ops, edges ordered by target node then source node:
``l2m0=identity,none,identity,...;...;l3m0=l2m3,none,...``. The encoding for surrogate models is
one-hot per motif edge. Each motif is drawn as a cell (``space.cells(arch)``).

Every motif used as an edge of a higher one ends in a 1x1 convolution, BN and ReLU (the
paper's, after each level-2 motif); the cell and the primitives do not.

**Departures, and why.** Nodes sum their inputs instead of the paper's depthwise
concatenation, so every node keeps the width without more 1x1 convolutions, and the same code
serves 1-D and 2-D (without the 1x1 convolution after each lower motif, sums nested three
levels deep reach scales SGD cannot train: 11-18% on MNIST-1D after 5 epochs, 84-87% with it);
``channels`` defaults to 8 (the paper: 16) so that a trial trains in seconds on a CPU.

Example:
    >>> space = HierarchicalSpace()
    >>> len(space.dims), space.encoding_size  # 6 motifs x 6 edges, then 10 edges
    (46, 322)
    >>> trivial = space.trivial()
    >>> trivial.key.split(";")[0]
    'l2m0=identity,none,identity,none,none,identity'
    >>> space.parse(trivial.key) == trivial
    True
    >>> HierarchicalSpace(flat=True).names[:2]
    ['l2m0_0_1', 'l2m0_0_2']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Arch, Categorical, CellEdge, CellGraph, ModelSpace, Task
from nasforge.spaces._options import check_positive_ints

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is imported by ``build``
    from torch import nn

#: the level-1 primitives, in the paper's order (``none``, no edge, comes first in a choice)
PRIMITIVES: tuple[str, ...] = (
    "conv_1x1",
    "dw_conv_3x3",
    "sep_conv_3x3",
    "max_pool_3x3",
    "avg_pool_3x3",
    "identity",
)
NONE = "none"
#: the paper's hierarchical setting: motifs and nodes per level from level 2 up
PAPER_MOTIFS, PAPER_NODES = (6, 1), (4, 5)
#: the paper's flat setting: one graph of primitives of 11 nodes
FLAT_NODES = 11
#: the most levels and the most nodes of a motif
MAX_LEVELS, MAX_NODES = 5, 12


def motif_name(level: int, motif: int) -> str:
    """The name of motif ``motif`` of ``level`` (``"l2m0"``), as the ops of the level above
    call it."""
    return f"l{level}m{motif}"


def edge_name(level: int, motif: int, src: int, dst: int) -> str:
    """The dimension of edge ``src -> dst`` of a motif (``"l2m0_0_1"``)."""
    return f"{motif_name(level, motif)}_{src}_{dst}"


def motif_edges(nodes: int) -> list[tuple[int, int]]:
    """The ``(src, dst)`` pairs of a motif of ``nodes`` nodes, by target node, then source."""
    return [(i, j) for j in range(1, nodes) for i in range(j)]


def _int_list(field: str, value: Any, length: int, high: int) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != length:
        raise ConfigError(
            f"hierarchical {field}={value!r}; allowed: a list of {length} integers, one per "
            "level from level 2 up"
        )
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= high:
            raise ConfigError(f"hierarchical {field} has {v!r}; allowed: integers in [1, {high}]")
    return list(value)


class HierarchicalSpace(ModelSpace):
    """Liu et al.'s hierarchical genotype (see the module docstring).

    Args:
        flat: the flat variant: one graph of primitives (``levels`` 2, ``motifs`` ``[1]``,
            ``nodes`` by default ``[11]``).
        levels: levels of the genotype, primitives included (2 to 5; default 3, flat: 2).
        motifs: motifs of each level from level 2 up; the top level has exactly one, the cell
            (default the paper's ``[6, 1]``; levels other than 3: 6 per level, then 1).
        nodes: nodes of the motifs of each level from level 2 up, 2 to 12 (default the
            paper's ``[4, 5]``; flat: ``[11]``; other levels: 4 per level, then 5).
        channels: width of the first stage (the paper: 16); a network size a lower fidelity
            may shrink.
        n_cells: cells per stage (the paper's small search model: 1); a network size.
    """

    def __init__(
        self,
        flat: bool = False,
        levels: int | None = None,
        motifs: list[int] | None = None,
        nodes: list[int] | None = None,
        channels: int = 8,
        n_cells: int = 1,
    ) -> None:
        if not isinstance(flat, bool):
            raise ConfigError(f"hierarchical flat={flat!r}; allowed: true or false")
        check_positive_ints("hierarchical ", channels=channels, n_cells=n_cells)
        if levels is None:
            levels = 2 if flat else 3
        if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= MAX_LEVELS:
            raise ConfigError(
                f"hierarchical levels={levels!r}; allowed: an integer in [2, {MAX_LEVELS}]"
            )
        if flat and levels != 2:
            raise ConfigError(f"hierarchical levels={levels!r} with flat=true; allowed: 2")
        n = levels - 1
        if motifs is None:
            motifs = [1] if flat else (list(PAPER_MOTIFS) if levels == 3 else [6] * (n - 1) + [1])
        if nodes is None:
            nodes = (
                [FLAT_NODES]
                if flat
                else (list(PAPER_NODES) if levels == 3 else [4] * (n - 1) + [5])
            )
        self.flat, self.levels, self.channels, self.n_cells = flat, levels, channels, n_cells
        self.motifs = _int_list("motifs", motifs, n, 32)
        self.nodes = _int_list("nodes", nodes, n, MAX_NODES)
        if self.motifs[-1] != 1:
            raise ConfigError(
                f"hierarchical motifs={self.motifs!r}; allowed: exactly 1 motif at the top "
                f"level (level {levels}, the cell)"
            )
        if min(self.nodes) < 2:
            raise ConfigError(f"hierarchical nodes={self.nodes!r}; allowed: integers in [2, 12]")
        dims = [
            Categorical(edge_name(level, m, i, j), self.choices(level))
            for level, m in self.motif_ids()
            for i, j in motif_edges(self.nodes_of(level))
        ]
        super().__init__(dims, name="hierarchical")

    # ---- the structure of the genotype --------------------------------------------------------

    def motif_ids(self) -> list[tuple[int, int]]:
        """Every motif as ``(level, index)``, level 2 first, the cell last."""
        return [
            (level, m) for level in range(2, self.levels + 1) for m in range(self.motifs[level - 2])
        ]

    def nodes_of(self, level: int) -> int:
        """Nodes of a motif of ``level``."""
        return self.nodes[level - 2]

    def choices(self, level: int) -> tuple[str, ...]:
        """What an edge of a level-``level`` motif may hold: ``none``, then the level below."""
        if level == 2:
            return (NONE, *PRIMITIVES)
        return (NONE, *(motif_name(level - 1, m) for m in range(self.motifs[level - 3])))

    def trivial(self) -> Arch:
        """The paper's trivial genotype: every motif a chain of identities (``identity`` at level
        2, the first motif of the level below above it), every other edge ``none``."""
        values = {}
        for level, m in self.motif_ids():
            chain = "identity" if level == 2 else motif_name(level - 1, 0)
            for i, j in motif_edges(self.nodes_of(level)):
                values[edge_name(level, m, i, j)] = chain if j == i + 1 else NONE
        return self.make(values)

    # ---- keys and encodings -------------------------------------------------------------------

    def key(self, values: Mapping[str, Any]) -> str:
        return ";".join(
            motif_name(level, m)
            + "="
            + ",".join(
                str(values[edge_name(level, m, i, j)]) for i, j in motif_edges(self.nodes_of(level))
            )
            for level, m in self.motif_ids()
        )

    def parse(self, key: str) -> Arch:
        """The arch of a key ``l2m0=op,op,...;...`` (every motif, in order)."""
        if not isinstance(key, str):
            raise SpaceError(f"arch key must be a string, got {type(key).__name__}")
        parts = key.split(";")
        ids = self.motif_ids()
        if len(parts) != len(ids):
            raise SpaceError(
                f"hierarchical key has {len(parts)} motifs; allowed: {len(ids)} "
                f"('{motif_name(*ids[0])}=op,op,...' joined by ';')"
            )
        values: dict[str, Any] = {}
        for part, (level, m) in zip(parts, ids, strict=True):
            name, _, ops = part.partition("=")
            edges = motif_edges(self.nodes_of(level))
            found = ops.split(",")
            if name != motif_name(level, m) or len(found) != len(edges):
                raise SpaceError(
                    f"hierarchical key: motif {part[:40]!r}; allowed: "
                    f"'{motif_name(level, m)}=' then {len(edges)} ops joined by ','"
                )
            for (i, j), op in zip(edges, found, strict=True):
                values[edge_name(level, m, i, j)] = op
        return self.make(values)

    def crossover_groups(self) -> list[list[str]]:
        """One group per motif: crossover passes whole motifs on."""
        return [
            [edge_name(level, m, i, j) for i, j in motif_edges(self.nodes_of(level))]
            for level, m in self.motif_ids()
        ]

    # ---- the paper's mutation -----------------------------------------------------------------

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Liu et al.'s mutation: a level, a motif of it, a successor node, a predecessor and
        another op for that edge, each drawn uniformly."""
        return self.make(self.mutate_values(dict(arch), rng))

    def mutate_values(self, values: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """One mutation applied to ``values`` in place (and returned); no checks, for the many
        mutations of an initialisation."""
        level = int(rng.integers(2, self.levels + 1))
        m = int(rng.integers(self.motifs[level - 2]))
        j = int(rng.integers(1, self.nodes_of(level)))
        i = int(rng.integers(j))
        name = edge_name(level, m, i, j)
        others = [op for op in self.choices(level) if op != values[name]]
        values[name] = others[int(rng.integers(len(others)))]
        return values

    # ---- cells --------------------------------------------------------------------------------

    def cell_templates(self) -> tuple[CellGraph, ...]:
        """One graph per motif (named ``"level 2 motif 0"``, ..., the cell last), every edge
        decided by its dimension among ``none`` and the level below."""
        graphs = []
        for level, m in self.motif_ids():
            n = self.nodes_of(level)
            edges = tuple(
                CellEdge(i, j, None, dim=edge_name(level, m, i, j), choices=self.choices(level))
                for i, j in motif_edges(n)
            )
            name = "cell" if level == self.levels else f"level {level} motif {m}"
            graphs.append(CellGraph(f"{name} ({motif_name(level, m)})", n, (0,), (n - 1,), edges))
        return tuple(graphs)

    # ---- the network --------------------------------------------------------------------------

    @property
    def size_options(self) -> Mapping[str, int]:
        """``channels`` (width of the first stage) and ``n_cells`` (cells per stage)."""
        return {"channels": self.channels, "n_cells": self.n_cells}

    def build(  # type: ignore[override]
        self,
        arch: Arch,
        task: Task,
        *,
        channels: int | None = None,
        n_cells: int | None = None,
    ) -> nn.Module:
        """The network of ``arch``, with 1-D or 2-D layers as ``task.ndim`` says."""
        width = self.channels if channels is None else channels
        repeats = self.n_cells if n_cells is None else n_cells
        check_positive_ints("hierarchical: build ", channels=width, n_cells=repeats)
        arch = self.validate(arch)
        if task.ndim not in (1, 2):
            raise SpaceError(
                f"hierarchical: task input_shape={task.input_shape!r} has {task.ndim} spatial "
                "dimensions; allowed: (channels, length) or (channels, height, width)"
            )
        from nasforge.spaces._hierarchical_net import HierarchicalNetwork

        graphs = dict(
            zip([motif_name(*ids) for ids in self.motif_ids()], self.cells(arch), strict=True)
        )
        return HierarchicalNetwork(graphs, motif_name(self.levels, 0), task, width, repeats)


__all__ = [
    "FLAT_NODES",
    "NONE",
    "PRIMITIVES",
    "HierarchicalSpace",
    "edge_name",
    "motif_edges",
    "motif_name",
]
