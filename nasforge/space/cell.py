"""``CellSpace``: a cell is a DAG of nodes, and every edge picks one operation.

The notation is NAS-Bench-201's: node ``j`` sums the outputs of the edges from every earlier
node ``i``, and the arch key lists, node by node, ``op~i`` for each incoming edge::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nasforge.errors import SpaceError, one_of
from nasforge.space.arch import Arch, default_key
from nasforge.space.base import Space
from nasforge.space.dims import Categorical, Dimension


def edge_name(src: int, dst: int) -> str:
    """Name of the dimension for the edge from node ``src`` into node ``dst``."""
    return f"edge_{dst}_{src}"


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
        >>> space.genotype(arch)[0]
        [('nor_conv_3x3', 0)]
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
            if not isinstance(op, str) or not op or any(c in op for c in "|~+,="):
                raise SpaceError(
                    f"operation name {op!r} must be a non-empty string without '|~+,='"
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

    @property
    def edge_names(self) -> list[str]:
        return [edge_name(i, j) for i, j in self.edges]

    def cell_string(self, values: Mapping[str, Any]) -> str:
        nodes = []
        for j in range(1, self.n_nodes):
            nodes.append("|" + "|".join(f"{values[edge_name(i, j)]}~{i}" for i in range(j)) + "|")
        return "+".join(nodes)

    def key(self, values: Mapping[str, Any]) -> str:
        cell = self.cell_string(values)
        rest = default_key({d.name: values[d.name] for d in self.extra})
        return f"{cell},{rest}" if rest else cell

    def parse(self, key: str) -> Arch:
        if not isinstance(key, str):
            raise SpaceError(f"arch key must be a string, got {type(key).__name__}")
        cell, _, rest = key.partition(",")
        nodes = cell.split("+")
        if len(nodes) != self.n_nodes - 1:
            raise SpaceError(
                f"cannot parse arch {key!r}: expected {self.n_nodes - 1} nodes separated by '+', "
                f"found {len(nodes)}"
            )
        values: dict[str, Any] = {}
        for j, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise SpaceError(f"cannot parse arch {key!r}: node {node!r} must be '|op~i|...|'")
            entries = node[1:-1].split("|")
            if len(entries) != j:
                raise SpaceError(
                    f"cannot parse arch {key!r}: node {j} must have {j} inputs, "
                    f"found {len(entries)}"
                )
            for i, entry in enumerate(entries):
                op, sep, src = entry.partition("~")
                if not sep or src != str(i):
                    raise SpaceError(
                        f"cannot parse arch {key!r}: expected 'op~{i}' in node {j}, got {entry!r}"
                    )
                if op not in self.ops:
                    raise SpaceError(
                        f"cannot parse arch {key!r}: unknown operation {op!r}; "
                        f"allowed: {one_of(self.ops)}"
                    )
                values[edge_name(i, j)] = op
        for name, value in self._parse_pairs(rest).items():
            if name.startswith("edge_"):
                raise SpaceError(f"cannot parse arch {key!r}: {name!r} belongs in the cell string")
            values[name] = value
        return self.make(values)

    def genotype(self, arch: Arch) -> list[list[tuple[str, int]]]:
        """Per node ``1..n-1``, the list of ``(op, source node)`` of its incoming edges."""
        return [[(arch[edge_name(i, j)], i) for i in range(j)] for j in range(1, self.n_nodes)]
