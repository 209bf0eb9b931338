"""``CellSpace``: a cell is a DAG of nodes, and every edge picks one operation.

The notation is NAS-Bench-201's: node ``j`` sums the outputs of the edges from every earlier
node ``i``, and the arch key lists, node by node, ``op~i`` for each incoming edge::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

This module holds the one parser of that notation (:func:`parse_cell_string`), used by
:meth:`CellSpace.parse`, the benchmark-table loader and the drawing of a stored key whose
space is unknown (:func:`cell_graph_from_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nasforge.errors import SpaceError, one_of
from nasforge.space.arch import Arch, default_key
from nasforge.space.base import Space
from nasforge.space.dims import Categorical, Dimension
from nasforge.space.graph import CellEdge, CellGraph, node_groups


def edge_name(src: int, dst: int) -> str:
    """Name of the dimension for the edge from node ``src`` into node ``dst``."""
    return f"edge_{dst}_{src}"


class CellStringError(SpaceError):
    """A text is not a cell in NAS-Bench-201 notation; ``reason`` says why, in a few words."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"cannot parse cell {text!r}: {reason}")
        self.text, self.reason = text, reason


def parse_cell_string(text: str, n_nodes: int | None = None) -> list[tuple[str, ...]]:
    """The operations of a cell in NAS-Bench-201 notation: for each node ``j = 1..n-1``, the ops
    of its edges from nodes ``0..j-1``.

    Spaces around an operation or a source node are ignored (tables written by hand have
    them); the canonical text is :func:`format_cell_string`'s.

    Args:
        text: the cell, e.g. ``|conv~0|+|skip~0|none~1|`` (no ``,extra=...`` part).
        n_nodes: the number of nodes the cell must have (``None``: any).

    Raises:
        CellStringError: naming the first problem (its ``reason`` without the text).

    Example:
        >>> parse_cell_string("|conv~0|+|skip~0|none~1|")
        [('conv',), ('skip', 'none')]
    """
    nodes = text.split("+")
    if n_nodes is not None and len(nodes) != n_nodes - 1:
        raise CellStringError(
            text, f"expected {n_nodes - 1} nodes separated by '+', found {len(nodes)}"
        )
    if not text:
        raise CellStringError(text, "it is empty")
    parsed: list[tuple[str, ...]] = []
    for j, node in enumerate(nodes, start=1):
        if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
            raise CellStringError(text, f"node {j} ({node!r}) must look like '|op~0|...|'")
        entries = node[1:-1].split("|")
        if len(entries) != j:
            raise CellStringError(text, f"node {j} must have {j} inputs, found {len(entries)}")
        ops = []
        for i, entry in enumerate(entries):
            op, sep, src = entry.strip().partition("~")
            op = op.strip()
            if not sep or src.strip() != str(i):
                raise CellStringError(text, f"expected 'op~{i}' in node {j}, got {entry!r}")
            if not op or any(c in op for c in "|~+,="):
                raise CellStringError(
                    text, f"operation {op!r} in node {j} must be a non-empty name without '|~+,='"
                )
            ops.append(op)
        parsed.append(tuple(ops))
    return parsed


def format_cell_string(nodes: Sequence[Sequence[str]]) -> str:
    """The canonical NAS-Bench-201 text of the ops per node (the inverse of
    :func:`parse_cell_string`)."""
    texts = ("|".join(f"{op}~{i}" for i, op in enumerate(node)) for node in nodes)
    return "+".join(f"|{text}|" for text in texts)


def nb201_graph(
    n_nodes: int, ops: Sequence[str | None], choices: Sequence[str] = (), name: str = "cell"
) -> CellGraph:
    """The NAS-Bench-201 cell of ``n_nodes`` nodes: input ``0``, output ``n - 1``, an edge
    ``i -> j`` for every ``i < j`` (ordered by ``j``, then ``i``) decided by dimension
    ``edge_j_i``, holding ``ops[k]`` on the ``k``-th edge (``None``: undecided)."""
    pairs = [(i, j) for j in range(1, n_nodes) for i in range(j)]
    edges = tuple(
        CellEdge(i, j, op, dim=edge_name(i, j), choices=tuple(choices))
        for (i, j), op in zip(pairs, ops, strict=True)
    )
    return CellGraph(name, n_nodes, inputs=(0,), outputs=(n_nodes - 1,), edges=edges)


def cell_graph_from_key(key: str) -> CellGraph:
    """The cell of a stored arch key in NAS-Bench-201 notation, for when its space is unknown
    (a custom space of a stored experiment). Extra dimensions after a comma are ignored; edges
    name their ``edge_j_i`` dimension, as a :class:`CellSpace` would, and know no choices.

    Raises:
        CellStringError: ``key`` is not in that notation.

    Example:
        >>> [(e.src, e.dst, e.op) for e in cell_graph_from_key("|a~0|+|b~0|c~1|,lr=0.1").edges]
        [(0, 1, 'a'), (0, 2, 'b'), (1, 2, 'c')]
    """
    if not isinstance(key, str):
        raise CellStringError(repr(key), f"expected a string, got {type(key).__name__}")
    nodes = parse_cell_string(key.partition(",")[0])
    return nb201_graph(len(nodes) + 1, [op for node in nodes for op in node])


class CellSpace(Space):
    """A cell of ``n_nodes`` nodes where each edge ``i -> j`` (``i < j``) picks one of ``ops``.

    ``extra`` dimensions (learning rate, width, ...) may follow the edges; their values follow the
    cell string in the key, after a comma: ``|...|,lr=0.05``.

    Example:
        >>> space = CellSpace(n_nodes=4, ops=["none", "skip_connect", "nor_conv_3x3"])
        >>> space.size()
        729
        >>> arch = space.parse(
        ...     "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
        ... )
        >>> arch["edge_3_2"]
        'skip_connect'
        >>> [(e.src, e.dst, e.op) for e in space.cells(arch)[0].incoming(1)]
        [(0, 1, 'nor_conv_3x3')]
        >>> space.decision_groups()[:2]
        [['edge_1_0'], ['edge_2_0', 'edge_2_1']]
    """

    def __init__(
        self,
        n_nodes: int = 4,
        ops: Sequence[str] = (),
        extra: Sequence[Dimension] = (),
        name: str = "cell",
    ) -> None:
        if not isinstance(n_nodes, int) or n_nodes < 2:
            raise SpaceError(f"n_nodes must be an integer >= 2, got {n_nodes!r}")
        ops = tuple(ops)
        if not ops:
            raise SpaceError("ops must name at least one operation")
        for op in ops:
            bad = not isinstance(op, str) or not op or op != op.strip()
            if bad or any(c in op for c in "|~+,="):
                raise SpaceError(
                    f"operation name {op!r} must be a non-empty string without '|~+,=' "
                    "or surrounding spaces"
                )
        self.n_nodes, self.ops = n_nodes, ops
        self.edges: tuple[tuple[int, int], ...] = tuple(
            (i, j) for j in range(1, n_nodes) for i in range(j)
        )
        edge_dims = [Categorical(edge_name(i, j), ops) for i, j in self.edges]
        for dim in extra:
            if dim.name.startswith("edge_"):
                raise SpaceError(f"extra dimension {dim.name!r} must not start with 'edge_'")
        self.extra: tuple[Dimension, ...] = tuple(extra)
        super().__init__([*edge_dims, *self.extra], name=name)
        self._template = nb201_graph(n_nodes, [None] * len(self.edges), ops)

    @property
    def edge_names(self) -> list[str]:
        return [edge_name(i, j) for i, j in self.edges]

    def cell_templates(self) -> tuple[CellGraph, ...]:
        """One cell: input node ``0``, output node ``n - 1``, edge ``i -> j`` decided by the
        dimension ``edge_j_i`` among :attr:`ops`."""
        return (self._template,)

    def decision_groups(self) -> list[list[str]]:
        """The incoming edges of node 1, of node 2, ..., then each extra dimension alone."""
        return [*node_groups(self._template), *([d.name] for d in self.extra)]

    def cell_string(self, values: Mapping[str, Any]) -> str:
        """The NAS-Bench-201 text of the cell part of ``values``."""
        return format_cell_string(
            [[values[edge_name(i, j)] for i in range(j)] for j in range(1, self.n_nodes)]
        )

    def key(self, values: Mapping[str, Any]) -> str:
        cell = self.cell_string(values)
        rest = default_key({d.name: values[d.name] for d in self.extra})
        return f"{cell},{rest}" if rest else cell

    def parse(self, key: str) -> Arch:
        if not isinstance(key, str):
            raise SpaceError(f"arch key must be a string, got {type(key).__name__}")
        cell, _, rest = key.partition(",")
        try:
            nodes = parse_cell_string(cell, self.n_nodes)
        except CellStringError as exc:
            raise SpaceError(f"cannot parse arch {key!r}: {exc.reason}") from None
        values: dict[str, Any] = {}
        for j, ops in enumerate(nodes, start=1):
            for i, op in enumerate(ops):
                if op not in self.ops:
                    raise SpaceError(
                        f"cannot parse arch {key!r}: unknown operation {op!r}; "
                        f"allowed: {one_of(self.ops)}"
                    )
                values[edge_name(i, j)] = op
        for name, value in self._parse_pairs(rest).items():
            if name in values:
                raise SpaceError(f"cannot parse arch {key!r}: {name!r} belongs in the cell string")
            values[name] = value
        return self.make(values)
