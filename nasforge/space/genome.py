"""``GenomeSpace``: model spaces whose archs are variable-size genomes that grow by mutation.

The evolution papers did not search a fixed cell: Large-Scale Evolution (Real et al. 2017)
starts from networks without a convolution and grows them, and Zhang et al. (2018) evolve the
DAG of each stage by adding nodes and edges. Their archs have no fixed list of dimensions, so a
genome space overrides every move of :class:`~nasforge.space.Space` itself:

- an arch's values are plain JSON (numbers, strings and lists), one per *field* of the genome
  (:class:`GenomeField`: no values to enumerate, no width in the encoding); its key is the
  canonical JSON of the values (sorted keys, no spaces), so ``parse(key)`` and the JSON
  round trip give the same arch;
- ``mutate`` applies one of the space's named mutations (:meth:`GenomeSpace.mutations`),
  chosen uniformly among those that apply to the arch; ``neighbors`` lists every result of
  one mutation that needs no random draw;
- ``encode`` is a fixed-length summary of the genome (depth, counts of each kind of layer,
  skips, ...) that each space documents, for surrogate models;
- ``size()`` is ``math.inf`` and ``enumerate()`` refuses;
- ``cells(arch)`` is the grown graph, one :class:`~nasforge.space.CellGraph` per stage, with
  no templates (``cell_templates()`` is ``()``): the cell drawing and
  :func:`graph_properties` read it.

Strategies that search through the space's moves (random search, the evolutions, local
search) search a genome space as they search any other; those that read the space's
dimensions refuse it (see :attr:`GenomeSpace.variable_size`).

This module imports nothing of nasforge outside ``space`` and no torch.
"""

from __future__ import annotations

import json
import math
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from nasforge.errors import SpaceError, one_of
from nasforge.space.arch import Arch
from nasforge.space.dims import Dimension
from nasforge.space.graph import CellGraph
from nasforge.space.model import ModelSpace

#: a mutation: ``(values, rng) -> new values``; ``rng`` is ``None`` for a deterministic
#: variant (what ``neighbors`` lists)
Move = Callable[[dict[str, Any], np.random.Generator], dict[str, Any]]


class GenomeField(Dimension):
    """One field of a genome: a JSON value the space checks as a whole (see the module
    docstring). It has no values of its own to sample, enumerate or encode."""

    def __repr__(self) -> str:
        return f"GenomeField({self.name!r})"

    def sample(self, rng: np.random.Generator) -> Any:
        raise SpaceError(f"genome field {self.name!r} is drawn by its space, not on its own")

    @property
    def default(self) -> Any:
        return None

    def check(self, value: Any) -> Any:
        return value

    def mutate(self, value: Any, rng: np.random.Generator) -> Any:
        return value

    def neighbors(self, value: Any) -> list[Any]:
        return []

    @property
    def size(self) -> float:
        return math.inf

    def values(self) -> list[Any]:
        raise SpaceError(f"genome field {self.name!r} has no list of values")

    @property
    def width(self) -> int:
        return 0

    def encode(self, value: Any) -> list[float]:
        return []

    def from_text(self, text: str) -> Any:
        return json.loads(text)


def genome_key(values: Mapping[str, Any]) -> str:
    """The canonical JSON of a genome's values: sorted keys, no spaces.

    Example:
        >>> genome_key({"lr": 0.1, "layers": [[1, "one"]]})
        '{"layers":[[1,"one"]],"lr":0.1}'
    """
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":"))


class GenomeSpace(ModelSpace):
    """Base of the model spaces whose archs are variable-size genomes (module docstring).

    Subclasses give their fields to ``__init__`` and implement :meth:`check_genome` (the
    values in canonical form, or a :class:`SpaceError` naming the bad field), :meth:`initial`
    (a fresh genome), :meth:`mutations` (the named mutations that apply to a genome),
    :meth:`splice` (crossover), :meth:`summary` (the encoding) and :meth:`graphs`; and
    :meth:`~nasforge.space.ModelSpace.build`.
    """

    #: a genome space has no fixed dimensions: strategies that read ``space.dims`` (one-hot
    #: encodings, per-dimension samplers) refuse it
    variable_size: ClassVar[bool] = True
    #: how many draws ``mutate`` makes before it keeps the arch (a mutation that gives back
    #: the same genome, e.g. a channel count already at its bound, is drawn again)
    mutate_tries: ClassVar[int] = 20

    def __init__(self, fields: tuple[str, ...], name: str) -> None:
        super().__init__([GenomeField(f) for f in fields], name=name)

    # ---- what subclasses write ----------------------------------------------------------------

    @abstractmethod
    def check_genome(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` in canonical form (lists, sorted where order does not matter)."""

    @abstractmethod
    def initial(self, rng: np.random.Generator) -> dict[str, Any]:
        """A fresh genome (what ``sample`` returns, checked)."""

    @abstractmethod
    def mutations(self, values: Mapping[str, Any]) -> dict[str, Move]:
        """The named mutations that apply to ``values``, in a fixed order."""

    @abstractmethod
    def splice(
        self, a: Mapping[str, Any], b: Mapping[str, Any], rng: np.random.Generator
    ) -> dict[str, Any]:
        """A child genome made of parts of ``a`` and ``b`` (before checking)."""

    @abstractmethod
    def summary(self, values: Mapping[str, Any]) -> list[float]:
        """The fixed-length encoding of a genome (:attr:`encoding_size` numbers)."""

    @property
    @abstractmethod
    def summary_names(self) -> tuple[str, ...]:
        """What each number of :meth:`summary` is, in order."""

    @abstractmethod
    def graphs(self, values: Mapping[str, Any]) -> tuple[CellGraph, ...]:
        """The grown graph of a genome, one cell per stage."""

    # ---- the Space protocol -------------------------------------------------------------------

    def key(self, values: Mapping[str, Any]) -> str:
        return genome_key(values)

    def make(self, values: Mapping[str, Any]) -> Arch:
        if not isinstance(values, Mapping):
            raise SpaceError(f"space {self.name!r}: a genome is a mapping, got {values!r}")
        unknown = [k for k in values if k not in self.names]
        if unknown:
            raise SpaceError(
                f"space {self.name!r} has no field {unknown[0]!r}; it has {one_of(self.names)}"
            )
        missing = [k for k in self.names if k not in values]
        if missing:
            raise SpaceError(f"space {self.name!r}: genome field {missing[0]!r} has no value")
        checked = self.check_genome(values)
        return Arch(checked, key=self.key(checked))

    def parse(self, key: str) -> Arch:
        if not isinstance(key, str):
            raise SpaceError(f"arch key must be a string, got {type(key).__name__}")
        try:
            values = json.loads(key)
        except json.JSONDecodeError as exc:
            raise SpaceError(
                f"space {self.name!r}: arch key {key[:80]!r} is not a genome's JSON: {exc.msg}"
            ) from None
        return self.make(values)

    def sample(self, rng: np.random.Generator) -> Arch:
        return self.make(self.initial(rng))

    def mutation_names(self, arch: Arch) -> list[str]:
        """The names of the mutations that apply to ``arch``."""
        return list(self.mutations(dict(arch)))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One of the space's mutations, chosen uniformly among those that apply (drawn again,
        up to :attr:`mutate_tries` times, while it gives back the same genome)."""
        return self.mutate_named(arch, rng)[0]

    def mutate_named(self, arch: Arch, rng: np.random.Generator) -> tuple[Arch, str | None]:
        """:meth:`mutate`, and the name of the mutation applied (``None``: none changed it)."""
        values = dict(arch)
        moves = self.mutations(values)
        names = list(moves)
        for _ in range(self.mutate_tries if names else 0):
            name = names[int(rng.integers(len(names)))]
            child = self.make(moves[name](json.loads(json.dumps(values)), rng))
            if child != arch:
                return child, name
        return arch, None

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        return self.make(self.splice(dict(a), dict(b), rng))

    def neighbors(self, arch: Arch) -> list[Arch]:
        """The archs one deterministic mutation away (each variant of each mutation that needs
        no random draw), without repeats."""
        out: dict[str, Arch] = {}
        for values in self.variants(dict(arch)):
            near = self.make(values)
            if near != arch:
                out.setdefault(near.key, near)
        return list(out.values())

    def variants(self, values: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every genome one deterministic mutation away from ``values`` (for ``neighbors``)."""
        return iter(())

    @property
    def encoding_size(self) -> int:
        return len(self.summary_names)

    def encode(self, arch: Arch) -> np.ndarray:
        return np.asarray(self.summary(arch), dtype=np.float64)

    def size(self) -> float:
        return math.inf

    def enumerate(self) -> Iterator[Arch]:
        raise SpaceError(f"space {self.name!r} grows without bound and cannot be enumerated")

    def cells(self, arch: Arch) -> tuple[CellGraph, ...]:
        return self.graphs(arch)


def graph_properties(cells: tuple[CellGraph, ...]) -> dict[str, float]:
    """Depth and connectivity of a grown network (Zhang et al. 2018 report these against
    accuracy), over all its cells (stages), from ``space.cells(arch)``:

    - ``depth``: the edges on the longest input-to-output path, summed over the cells;
    - ``nodes``: the non-input nodes (the blocks that compute something);
    - ``edges``: all edges;
    - ``skip_edges``: edges ``a -> b`` such that ``b`` is also reached from ``a`` by a longer
      path (shortcuts around other nodes);
    - ``mean_fan_in`` and ``max_fan_in``: incoming edges of the non-input nodes.

    Example:
        >>> from nasforge.space import CellEdge
        >>> g = CellGraph("s", 3, inputs=(0,), outputs=(2,), edges=(
        ...     CellEdge(0, 1, "conv"), CellEdge(1, 2, "conv"), CellEdge(0, 2, "conv")))
        >>> graph_properties((g,))["skip_edges"], graph_properties((g,))["depth"]
        (1.0, 2.0)
    """
    depth = nodes = edges = skips = 0
    fan_ins: list[int] = []
    for cell in cells:
        longest = dict.fromkeys(range(cell.n_nodes), -math.inf)
        for start in cell.inputs:
            longest[start] = 0
        for node in range(cell.n_nodes):
            for edge in cell.incoming(node):
                longest[node] = max(longest[node], longest[edge.src] + 1)
        depth += int(max((longest[o] for o in cell.outputs), default=0))
        computing = [n for n in range(cell.n_nodes) if n not in cell.inputs]
        nodes += len(computing)
        edges += len(cell.edges)
        fan_ins += [len(cell.incoming(n)) for n in computing]
        skips += sum(1 for e in cell.edges if _reached_without(cell, e))
    return {
        "depth": float(depth),
        "nodes": float(nodes),
        "edges": float(edges),
        "skip_edges": float(skips),
        "mean_fan_in": float(np.mean(fan_ins)) if fan_ins else 0.0,
        "max_fan_in": float(max(fan_ins, default=0)),
    }


def _reached_without(cell: CellGraph, edge: Any) -> bool:
    """Whether ``edge.dst`` is reached from ``edge.src`` without taking ``edge`` itself."""
    frontier, seen = [edge.src], {edge.src}
    while frontier:
        node = frontier.pop()
        for out in cell.outgoing(node):
            if out is edge or out.dst in seen or out.dst > edge.dst:
                continue
            if out.dst == edge.dst:
                return True
            seen.add(out.dst)
            frontier.append(out.dst)
    return False


__all__ = ["GenomeField", "GenomeSpace", "Move", "genome_key", "graph_properties"]
