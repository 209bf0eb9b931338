"""``evolved-topology``: stages of DAGs of convolutional blocks that grow by evolution.

"Finding Better Topologies for Deep Convolutional Neural Networks by Evolution" (Zhang et al.
2018) evolves the depth and the connectivity of a network: each stage is a DAG whose nodes are
convolutional blocks (convolution, batch norm, ReLU), and mutations add a node (splitting an
edge), add an edge (keeping the graph acyclic) or remove one (keeping every node on a path
from the stage's input to its output). A child inherits the knowledge of its parent: every
block it keeps starts from the parent's trained weights (the training evaluator's ``inherit``
option). The paper then relates the graph properties of the best networks (depth, skip
edges, fan-in: :func:`~nasforge.space.genome.graph_properties`) to their accuracy.

**The genome** (plain JSON; the key is its canonical JSON): ``stages``, one per stage, each
``{"nodes": [id, ...], "edges": [[src, dst], ...]}``. ``nodes`` lists the stage's blocks in
topological order, each by an integer id (>= 1) unique in the genome, kept by every mutation
so that a block's weights are named after it (``stages.<s>.n<id>``) and a child finds its
parent's. ``0`` in an edge is the stage's input; the stage's output is its last node. Every
edge goes forward in that order, and every node is on a path from the input to the output.

**The network**: a stem (convolution of ``channels`` filters), then each stage: its input (the
previous stage's output, halved in size and doubled in channels by a strided 1x1 convolution
block, ``down<s>``, from the second stage on), each node summing the maps of its incoming
edges before its 3x3 (or 3) block; then global average pooling and a linear classifier.

**Drawing** (``space.cells(arch)``): one cell per stage, node 0 its input; each edge is
labelled ``conv3``, the block of the node it feeds.

**Encoding** (for surrogates): the :func:`~nasforge.space.genome.graph_properties` of the
network (depth, nodes and edges over ``stages * max_nodes``, skip edges likewise, mean and
largest fan-in over ``max_nodes``), then each stage's node count over ``max_nodes``.

Example:
    >>> import numpy as np
    >>> space = EvolvedTopologySpace(stages=2, init_mutations=0)
    >>> arch = space.sample(np.random.default_rng(0))
    >>> arch.key
    '{"stages":[{"edges":[[0,1]],"nodes":[1]},{"edges":[[0,2]],"nodes":[2]}]}'
    >>> sorted(space.mutation_names(arch))
    ['add-node']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from nasforge.errors import ConfigError, SpaceError
from nasforge.ops.layers import ConvNormAct
from nasforge.space import Arch, CellEdge, CellGraph, Task
from nasforge.space.genome import GenomeSpace, Move, graph_properties
from nasforge.spaces._options import check_positive_ints


class _Stage(nn.Module):
    def __init__(self, stage: Mapping[str, Any], channels: int, ndim: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict(
            {f"n{node}": ConvNormAct(channels, channels, 3, ndim=ndim) for node in stage["nodes"]}
        )
        self.order = [int(node) for node in stage["nodes"]]
        self.inputs = {n: [s for s, d in stage["edges"] if d == n] for n in self.order}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = {0: x}
        for node in self.order:
            sources = self.inputs[node]
            h = maps[sources[0]]
            for src in sources[1:]:
                h = h + maps[src]
            maps[node] = self.blocks[f"n{node}"](h)
        return maps[self.order[-1]]


class TopologyNet(nn.Module):
    """The network of an evolved-topology genome (see the module docstring)."""

    def __init__(self, values: Mapping[str, Any], task: Task, channels: int) -> None:
        super().__init__()
        ndim = task.ndim
        self.stem = ConvNormAct(task.input_shape[0], channels, 3, ndim=ndim)
        self.stages = nn.ModuleList()
        self.down = nn.ModuleDict()
        width = channels
        for s, stage in enumerate(values["stages"]):
            if s:
                self.down[f"down{s}"] = ConvNormAct(width, width * 2, 1, stride=2, ndim=ndim)
                width *= 2
            self.stages.append(_Stage(stage, width, ndim))
        self.head = nn.Linear(width, task.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for s, stage in enumerate(self.stages):
            if s:
                h = self.down[f"down{s}"](h)
            h = stage(h)
        logits: torch.Tensor = self.head(h.flatten(2).mean(dim=2))
        return logits


class EvolvedTopologySpace(GenomeSpace):
    """Stages of DAGs of convolutional blocks (Zhang et al. 2018); see the module docstring.

    Args:
        stages: the number of stages (each after the first halves the map and doubles the
            channels).
        channels: the channels of the first stage (a network size a lower fidelity may
            shrink).
        max_nodes: the most blocks a stage grows to.
        init_mutations: a sampled network is the minimal one (one block per stage) after
            0 to this many random mutations; 0 samples the minimal network only.
    """

    registered_as = "evolved-topology"

    def __init__(
        self, stages: int = 3, channels: int = 16, max_nodes: int = 8, init_mutations: int = 4
    ) -> None:
        where = "evolved-topology "
        check_positive_ints(where, stages=stages, channels=channels, max_nodes=max_nodes)
        if (
            isinstance(init_mutations, bool)
            or not isinstance(init_mutations, int)
            or (init_mutations < 0)
        ):
            raise ConfigError(f"{where}init_mutations={init_mutations!r}; allowed: an integer >= 0")
        self.stages = stages
        self.channels = channels
        self.max_nodes = max_nodes
        self.init_mutations = init_mutations
        super().__init__(("stages",), name="evolved-topology")

    @property
    def size_options(self) -> Mapping[str, int]:
        return {"channels": self.channels}

    # ---- checking -----------------------------------------------------------------------------

    def check_genome(self, values: Mapping[str, Any]) -> dict[str, Any]:
        where = f"space {self.name!r}"
        stages = values["stages"]
        if not isinstance(stages, (list, tuple)) or len(stages) != self.stages:
            raise SpaceError(f"{where}: stages must be a list of {self.stages} stages")
        seen: set[int] = set()
        out = [self._check_stage(stage, s, seen) for s, stage in enumerate(stages)]
        return {"stages": out}

    def _check_stage(self, stage: Any, s: int, seen: set[int]) -> dict[str, Any]:
        where = f"space {self.name!r}: stage {s}"
        if not isinstance(stage, Mapping) or set(stage) != {"nodes", "edges"}:
            raise SpaceError(f"{where}: allowed: a mapping with 'nodes' and 'edges'")
        nodes = stage["nodes"]
        if not isinstance(nodes, (list, tuple)) or not 1 <= len(nodes) <= self.max_nodes:
            raise SpaceError(f"{where}: nodes must list 1 to max_nodes={self.max_nodes} ids")
        for node in nodes:
            if isinstance(node, bool) or not isinstance(node, int) or node < 1 or node in seen:
                raise SpaceError(f"{where}: node id {node!r}; allowed: distinct integers >= 1")
            seen.add(node)
        position = {0: 0, **{node: i + 1 for i, node in enumerate(nodes)}}
        edges: set[tuple[int, int]] = set()
        for edge in stage["edges"] if isinstance(stage["edges"], (list, tuple)) else [None]:
            if (
                not isinstance(edge, (list, tuple))
                or len(edge) != 2
                or any(isinstance(e, bool) or e not in position for e in edge)
                or position[edge[0]] >= position[edge[1]]
            ):
                raise SpaceError(
                    f"{where}: edge {edge!r}; allowed: [src, dst] of the input (0) or its nodes, "
                    "src before dst"
                )
            edges.add((int(edge[0]), int(edge[1])))
        order = [int(n) for n in nodes]
        if not _connected(order, edges):
            raise SpaceError(
                f"{where}: every node must be on a path from the input (0) to the last node"
            )
        ordered = sorted(edges, key=lambda e: (position[e[1]], position[e[0]]))
        return {"edges": [list(e) for e in ordered], "nodes": order}

    # ---- drawing and mutating -----------------------------------------------------------------

    def initial(self, rng: np.random.Generator) -> dict[str, Any]:
        values: dict[str, Any] = {
            "stages": [{"nodes": [s + 1], "edges": [[0, s + 1]]} for s in range(self.stages)]
        }
        for _ in range(int(rng.integers(0, self.init_mutations + 1))):
            moves = self.mutations(values)
            names = list(moves)
            values = moves[names[int(rng.integers(len(names)))]](values, rng)
        return values

    def mutations(self, values: Mapping[str, Any]) -> dict[str, Move]:
        stages = values["stages"]
        moves: dict[str, Move] = {}
        if any(len(stage["nodes"]) < self.max_nodes for stage in stages):
            moves["add-node"] = self._add_node
        if any(_missing_edges(stage) for stage in stages):
            moves["add-edge"] = self._add_edge
        if any(_removable_edges(stage) for stage in stages):
            moves["remove-edge"] = self._remove_edge
        return moves

    def _add_node(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        growable = [s for s, st in enumerate(v["stages"]) if len(st["nodes"]) < self.max_nodes]
        s = growable[int(rng.integers(len(growable)))]
        edges = v["stages"][s]["edges"]
        return self._split(v, s, edges[int(rng.integers(len(edges)))])

    def _split(self, v: dict[str, Any], s: int, edge: list[int]) -> dict[str, Any]:
        """Put a new node on ``edge`` of stage ``s``: ``a -> new -> b`` replaces ``a -> b``."""
        new = max(n for stage in v["stages"] for n in stage["nodes"]) + 1
        stage = v["stages"][s]
        a, b = edge
        at = stage["nodes"].index(b)
        nodes = [*stage["nodes"][:at], new, *stage["nodes"][at:]]
        edges = [e for e in stage["edges"] if e != [a, b]] + [[a, new], [new, b]]
        return self._with_stage(v, s, {"nodes": nodes, "edges": edges})

    def _with_stage(self, v: dict[str, Any], s: int, stage: dict[str, Any]) -> dict[str, Any]:
        stages = list(v["stages"])
        stages[s] = stage
        return {**v, "stages": stages}

    def _add_edge(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        options = [(s, e) for s, st in enumerate(v["stages"]) for e in _missing_edges(st)]
        s, edge = options[int(rng.integers(len(options)))]
        stage = v["stages"][s]
        return self._with_stage(v, s, {**stage, "edges": [*stage["edges"], edge]})

    def _remove_edge(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        options = [(s, e) for s, st in enumerate(v["stages"]) for e in _removable_edges(st)]
        s, edge = options[int(rng.integers(len(options)))]
        stage = v["stages"][s]
        return self._with_stage(v, s, {**stage, "edges": [e for e in stage["edges"] if e != edge]})

    def variants(self, values: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        v = dict(values)
        for s, stage in enumerate(v["stages"]):
            if len(stage["nodes"]) < self.max_nodes:
                for edge in stage["edges"]:
                    yield self._split(v, s, edge)
            for edge in _missing_edges(stage):
                yield self._with_stage(v, s, {**stage, "edges": [*stage["edges"], edge]})
            for edge in _removable_edges(stage):
                kept = [e for e in stage["edges"] if e != edge]
                yield self._with_stage(v, s, {**stage, "edges": kept})

    def splice(
        self, a: Mapping[str, Any], b: Mapping[str, Any], rng: np.random.Generator
    ) -> dict[str, Any]:
        """Each stage from ``a`` or ``b`` with equal chance (the ids of ``b``'s stages
        renumbered after ``a``'s, so ids stay distinct)."""
        offset = max(n for stage in a["stages"] for n in stage["nodes"])
        stages = []
        for mine, theirs in zip(a["stages"], b["stages"], strict=True):
            if rng.random() < 0.5:
                stages.append(mine)
                continue
            renumber = {0: 0, **{n: n + offset for n in theirs["nodes"]}}
            stages.append(
                {
                    "nodes": [renumber[n] for n in theirs["nodes"]],
                    "edges": [[renumber[x], renumber[y]] for x, y in theirs["edges"]],
                }
            )
        return {"stages": stages}

    # ---- reading the genome -------------------------------------------------------------------

    @property
    def summary_names(self) -> tuple[str, ...]:
        return (
            "depth",
            "nodes",
            "edges",
            "skip_edges",
            "mean_fan_in",
            "max_fan_in",
            *(f"stage{s}_nodes" for s in range(self.stages)),
        )

    def summary(self, values: Mapping[str, Any]) -> list[float]:
        props = graph_properties(self.graphs(values))
        total = float(self.stages * self.max_nodes)
        return [
            props["depth"] / total,
            props["nodes"] / total,
            props["edges"] / (total * self.max_nodes),
            props["skip_edges"] / (total * self.max_nodes),
            props["mean_fan_in"] / self.max_nodes,
            props["max_fan_in"] / self.max_nodes,
            *(len(stage["nodes"]) / self.max_nodes for stage in values["stages"]),
        ]

    def graphs(self, values: Mapping[str, Any]) -> tuple[CellGraph, ...]:
        cells = []
        for s, stage in enumerate(values["stages"]):
            position = {0: 0, **{n: i + 1 for i, n in enumerate(stage["nodes"])}}
            edges = tuple(
                CellEdge(position[a], position[b], "conv3")
                for a, b in sorted(stage["edges"], key=lambda e: (position[e[1]], position[e[0]]))
            )
            n = len(stage["nodes"]) + 1
            cells.append(CellGraph(f"stage{s}", n, inputs=(0,), outputs=(n - 1,), edges=edges))
        return tuple(cells)

    def build(self, arch: Arch, task: Task, **sizes: int) -> nn.Module:
        self.check_sizes(sizes)
        return TopologyNet(arch, task, sizes.get("channels", self.channels))


def _connected(nodes: list[int], edges: set[tuple[int, int]]) -> bool:
    """Whether every node is reached from the input (0) and reaches the last node."""
    reached = {0}
    for node in nodes:  # topological order: sources come first
        if any((src, node) in edges for src in reached):
            reached.add(node)
    reaches = {nodes[-1]}
    for node in reversed(nodes):
        if any((node, dst) in edges for dst in reaches):
            reaches.add(node)
    return set(nodes) <= reached and set(nodes) <= reaches


def _missing_edges(stage: Mapping[str, Any]) -> list[list[int]]:
    order = [0, *stage["nodes"]]
    present = {tuple(e) for e in stage["edges"]}
    return [
        [order[i], order[j]]
        for j in range(1, len(order))
        for i in range(j)
        if (order[i], order[j]) not in present
    ]


def _removable_edges(stage: Mapping[str, Any]) -> list[list[int]]:
    edges = {tuple(e) for e in stage["edges"]}
    nodes = list(stage["nodes"])
    return [list(e) for e in stage["edges"] if _connected(nodes, edges - {tuple(e)})]


__all__ = ["EvolvedTopologySpace", "TopologyNet"]
