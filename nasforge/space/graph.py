"""``CellGraph``: the structure of a cell as a value, so that no module parses dimension names.

A cell is a small DAG. Nodes are numbered in topological order (every edge goes from a lower to
a higher node); the *input* nodes receive the cell's input(s) and have no incoming edge, every
other node sums what its incoming edges carry, and the *output* nodes' values form the cell's
output (one output node: its value; several, as in DARTS: their concatenation along channels).
Each edge applies one operation.

A space states its cells twice (see :meth:`nasforge.space.Space.cell_templates` and
:meth:`~nasforge.space.Space.cells`): as *templates*, where each candidate edge names the
dimension that decides its operation (``dim``) and that dimension's ``choices``, and as the
*realised* cells of one arch, where each edge holds its operation. Shapes this covers:

- NAS-Bench-201: 4 nodes, input ``(0,)``, output ``(3,)``, an edge ``i -> j`` for every
  ``i < j``, each decided by its own dimension;
- DARTS: inputs ``(0, 1)`` (the two previous cells), outputs the intermediate nodes
  ``(2, 3, 4, 5)``; a candidate edge whose choices include an absent operation (``none``) may
  be missing from a realised cell;
- several cells per space (a normal and a reduction cell): one graph each, told apart by
  ``name``.

This module imports nothing of nasforge but its errors.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nasforge.errors import SpaceError

#: operation names that mean "no edge": a path through one carries nothing
ABSENT_OPS: frozenset[str] = frozenset({"none", "zero"})


@dataclass(frozen=True)
class CellEdge:
    """One edge of a cell: from node ``src`` into node ``dst`` it applies ``op``.

    In a template ``op`` is ``None`` when the dimension ``dim`` decides it among ``choices``;
    an edge without ``dim`` is fixed (its ``op`` always holds). A realised edge keeps ``dim``
    and ``choices`` and holds the chosen ``op``.

    Example:
        >>> CellEdge(0, 2, "nor_conv_3x3", dim="edge_2_0").label
        '0→2'
    """

    src: int
    dst: int
    op: str | None
    dim: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``src→dst``, how plots name the edge."""
        return f"{self.src}→{self.dst}"


@dataclass(frozen=True)
class CellGraph:
    """A cell: ``n_nodes`` nodes, the ``inputs`` and ``outputs`` among them, and its edges.

    Example (a 3-node NAS-Bench-201-style cell):
        >>> g = CellGraph("cell", 3, inputs=(0,), outputs=(2,), edges=(
        ...     CellEdge(0, 1, "conv"), CellEdge(0, 2, "skip"), CellEdge(1, 2, "none")))
        >>> g.paths()
        [('skip',)]
        >>> sorted(g.needed_nodes())
        [0, 2]
        >>> [e.src for e in g.incoming(2)]
        [0, 1]

    Raises:
        SpaceError: an edge does not go forward between existing nodes, an input node has an
            incoming edge, or ``inputs``/``outputs`` name nodes that do not exist.
    """

    name: str
    n_nodes: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    edges: tuple[CellEdge, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        where = f"cell {self.name!r}"
        if isinstance(self.n_nodes, bool) or not isinstance(self.n_nodes, int) or self.n_nodes < 1:
            raise SpaceError(f"{where}: n_nodes={self.n_nodes!r}; allowed: an integer >= 1")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "edges", tuple(self.edges))
        for role, nodes in (("inputs", self.inputs), ("outputs", self.outputs)):
            if not nodes or any(not 0 <= n < self.n_nodes for n in nodes):
                raise SpaceError(
                    f"{where}: {role}={nodes!r}; allowed: one or more nodes in "
                    f"0..{self.n_nodes - 1}"
                )
        for edge in self.edges:
            if not 0 <= edge.src < edge.dst < self.n_nodes:
                raise SpaceError(
                    f"{where}: edge {edge.src}->{edge.dst}; allowed: src < dst, both in "
                    f"0..{self.n_nodes - 1}"
                )
            if edge.dst in self.inputs:
                raise SpaceError(
                    f"{where}: edge {edge.src}->{edge.dst} enters input node {edge.dst}; "
                    "allowed: edges into non-input nodes"
                )

    # ---- reading the structure ---------------------------------------------------------------

    def incoming(self, node: int) -> tuple[CellEdge, ...]:
        """The edges into ``node``, in the cell's edge order."""
        return tuple(e for e in self.edges if e.dst == node)

    def outgoing(self, node: int) -> tuple[CellEdge, ...]:
        """The edges out of ``node``, in the cell's edge order."""
        return tuple(e for e in self.edges if e.src == node)

    @property
    def dims(self) -> tuple[str, ...]:
        """The dimensions that decide this cell's edges, in edge order (each once)."""
        return tuple(dict.fromkeys(e.dim for e in self.edges if e.dim is not None))

    @property
    def ops(self) -> tuple[str, ...]:
        """Every operation an edge may hold (its choices, or its op when fixed), in order of
        first appearance."""
        seen: dict[str, None] = {}
        for e in self.edges:
            for op in e.choices or ((e.op,) if e.op is not None else ()):
                seen.setdefault(op)
        return tuple(seen)

    def routes(self, absent_ops: Collection[str] = ABSENT_OPS) -> list[tuple[CellEdge, ...]]:
        """Every path from an input node to an output node, as its edges, over edges whose op
        is not in ``absent_ops`` (a template's undecided edges count as present).

        Paths are listed by input node, then depth first in edge order.
        """
        out: list[tuple[CellEdge, ...]] = []
        targets = set(self.outputs)

        def walk(node: int, path: tuple[CellEdge, ...]) -> None:
            if node in targets and path:
                out.append(path)
            for edge in self.outgoing(node):
                if edge.op is None or edge.op not in absent_ops:
                    walk(edge.dst, (*path, edge))

        for start in self.inputs:
            walk(start, ())
        return out

    def paths(self, absent_ops: Collection[str] = ABSENT_OPS) -> list[tuple[str, ...]]:
        """The operation sequence of every input-to-output path (see :meth:`routes`); an edge
        without an op (an undecided template edge) contributes ``"?"``."""
        routes = self.routes(absent_ops)
        return [tuple(e.op if e.op is not None else "?" for e in route) for route in routes]

    def needed_nodes(self, absent_ops: Collection[str] = ABSENT_OPS) -> frozenset[int]:
        """Nodes whose value reaches an output through edges whose op is not in
        ``absent_ops`` (the outputs included): the nodes a network must compute."""
        needed = set(self.outputs)
        for node in range(self.n_nodes - 1, -1, -1):
            if node in needed:
                needed.update(
                    e.src for e in self.incoming(node) if e.op is None or e.op not in absent_ops
                )
        return frozenset(needed)

    # ---- templates and archs -----------------------------------------------------------------

    def realise(self, values: Mapping[str, Any]) -> CellGraph:
        """This template with each edge's op taken from ``values[edge.dim]``.

        Edges without ``dim`` keep their op; an edge whose dimension is inactive (``None``)
        is left out.
        """
        edges = []
        for edge in self.edges:
            if edge.dim is None:
                edges.append(edge)
            elif values.get(edge.dim) is not None:
                edges.append(replace(edge, op=str(values[edge.dim])))
        return replace(self, edges=tuple(edges))

    def template(self) -> CellGraph:
        """This cell with the ops of decided edges cleared: what a template of it looks like."""
        edges = tuple(replace(e, op=None) if e.dim is not None else e for e in self.edges)
        return replace(self, edges=edges)


def node_groups(cell: CellGraph) -> list[list[str]]:
    """The dimensions of each non-input node's incoming edges, node by node (nodes without a
    decided edge left out): the step-wise decisions of a cell, as PNAS takes them."""
    groups = []
    for node in range(cell.n_nodes):
        dims = list(dict.fromkeys(e.dim for e in cell.incoming(node) if e.dim is not None))
        if dims:
            groups.append(dims)
    return groups


__all__ = ["ABSENT_OPS", "CellEdge", "CellGraph", "node_groups"]
