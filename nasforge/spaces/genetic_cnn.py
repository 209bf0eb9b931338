"""``genetic-cnn``: Xie & Yuille's (ICCV 2017) fixed-length binary genotype, in 1-D and 2-D.

A network is ``S`` stages joined by 2x2 max pooling of stride 2. Stage ``s`` has ``K_s``
ordered *ordinary* nodes ``v_1 .. v_K``, each a convolution (3x3, then batch norm and ReLU) of
``channels * 2**(s-1)`` filters whose input is the sum of its predecessors' outputs. One bit for
every pair ``i < j`` says whether ``v_i`` feeds ``v_j``: ``1 + 2 + ... + (K_s - 1)`` bits per
stage, ordered as in the paper, ``(1,2)``, then ``(1,3), (2,3)``, then ``(1,4), (2,4), (3,4)``...
The paper's CIFAR-10 setting, ``S = 3`` and ``K = (3, 4, 5)``, gives 19 bits and 2^19 =
524,288 networks; its MNIST setting is ``K = (3, 5)``.

**The default nodes (not encoded).** Each stage also has a *default input node* ``v_0``, a
convolution of the previous stage's output that feeds every ordinary node without a
predecessor, and a *default output node* ``v_{K+1}``, a convolution of the sum of every
ordinary node without a successor, whose output is pooled. The paper's two special cases:

- an *isolated* ordinary node (connected to no other ordinary node) is dropped, not wired to
  the default nodes, so a stage of more nodes can express every stage of fewer;
- a stage whose bits are all 0 performs its convolution once, not twice (one default node).

**Keys** are the paper's notation: each stage's bits grouped by their target node and joined
by ``-`` (``1-01-001``: ``v_1 -> v_2``, ``v_2 -> v_3``, ``v_3 -> v_4``), stages joined by
``|``. The encoding for surrogate models is the bit string itself.

**Moves.** ``mutate`` flips one bit; ``crossover`` takes each whole stage from one parent or
the other (its :meth:`~nasforge.space.Space.crossover_groups` are the stages), and the
``genetic`` strategy swaps whole stages between two parents with probability ``q_C`` each and
flips each bit with probability ``q_M``, as the paper does.

**Departures, and why.** The fully connected layers after the last stage, which the paper
does not encode either, are global average pooling and one linear classifier here (what the
other spaces of the library end with, and small enough to train in seconds on a CPU); the
pooling rounds up (``ceil_mode``) so a short signal or small image never pools to nothing.

Example:
    >>> space = GeneticCNNSpace(stages=[3, 4, 5], channels=4)
    >>> space.size(), space.encoding_size
    (524288, 19)
    >>> arch = space.parse("1-01|1-00-111|0-00-000-0000")
    >>> space.encode(arch)[:6].tolist()
    [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    >>> [(e.src, e.dst, e.op) for e in space.cells(arch)[0].edges]
    [(1, 2, 'encoded'), (2, 3, 'encoded'), (0, 1, 'default'), (3, 4, 'default')]
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

#: the paper's CIFAR-10 stages: ``S = 3`` with ``K = (3, 4, 5)`` ordinary nodes
CIFAR_STAGES: tuple[int, ...] = (3, 4, 5)
#: the fewest and most ordinary nodes a stage may have
MIN_NODES, MAX_NODES = 2, 10
#: how a drawn stage labels its edges: a connection the bits encode, one to a default node
ENCODED, DEFAULT = "encoded", "default"


def bit_name(stage: int, src: int, dst: int) -> str:
    """The dimension of the bit ``v_src -> v_dst`` of ``stage`` (all 1-based, as the paper)."""
    return f"s{stage}_{src}_{dst}"


def stage_bits(nodes: int) -> list[tuple[int, int]]:
    """The ``(src, dst)`` pairs of a stage of ``nodes`` ordinary nodes, in the paper's order."""
    return [(i, j) for j in range(2, nodes + 1) for i in range(1, j)]


def _check_stages(stages: Any) -> list[int]:
    if stages is None:
        return list(CIFAR_STAGES)
    if isinstance(stages, (str, bytes)) or not isinstance(stages, Sequence) or not stages:
        raise ConfigError(
            f"genetic-cnn stages={stages!r}; allowed: a non-empty list of node counts per "
            f"stage, each an integer in [{MIN_NODES}, {MAX_NODES}]"
        )
    for k in stages:
        if isinstance(k, bool) or not isinstance(k, int) or not MIN_NODES <= k <= MAX_NODES:
            raise ConfigError(
                f"genetic-cnn stages has {k!r}; allowed: integers in [{MIN_NODES}, {MAX_NODES}]"
            )
    return list(stages)


class GeneticCNNSpace(ModelSpace):
    """Xie & Yuille's Genetic CNN genotype: one connection bit per pair of ordinary nodes of each
    stage (see the module docstring).

    Args:
        stages: ordinary nodes ``K_s`` of each stage (default the paper's CIFAR-10 ``[3, 4,
            5]``; MNIST: ``[3, 5]``), each 2 to 10.
        channels: filters of the first stage; stage ``s`` has ``channels * 2**(s-1)``. A network
            size a lower fidelity may shrink.
    """

    def __init__(self, stages: list[int] | None = None, channels: int = 8) -> None:
        self.stages = _check_stages(stages)
        check_positive_ints("genetic-cnn ", channels=channels)
        self.channels = channels
        dims = [
            Categorical(bit_name(s, i, j), [0, 1])
            for s, nodes in enumerate(self.stages, start=1)
            for i, j in stage_bits(nodes)
        ]
        super().__init__(dims, name="genetic-cnn")

    # ---- the genotype as the paper writes it -------------------------------------------------

    def stage_codes(self, values: Mapping[str, Any]) -> list[str]:
        """Each stage's bits in the paper's notation (``"1-01-001"``)."""
        codes = []
        for s, nodes in enumerate(self.stages, start=1):
            groups = [
                "".join(str(values[bit_name(s, i, j)]) for i in range(1, j))
                for j in range(2, nodes + 1)
            ]
            codes.append("-".join(groups))
        return codes

    def key(self, values: Mapping[str, Any]) -> str:
        return "|".join(self.stage_codes(values))

    def parse(self, key: str) -> Arch:
        """The arch of a key in the paper's notation, stages joined by ``|``
        (``"1-01|1-00-111|0-00-000-0000"``)."""
        if not isinstance(key, str):
            raise SpaceError(f"arch key must be a string, got {type(key).__name__}")
        expected = "|".join("-".join("0" * (j - 1) for j in range(2, k + 1)) for k in self.stages)
        codes = key.split("|")
        if len(codes) != len(self.stages):
            raise SpaceError(
                f"genetic-cnn key {key!r} has {len(codes)} stages; allowed: {len(self.stages)} "
                f"stage codes joined by '|', shaped like {expected!r}"
            )
        values: dict[str, Any] = {}
        for s, (code, nodes) in enumerate(zip(codes, self.stages, strict=True), start=1):
            groups = code.split("-")
            if [len(g) for g in groups] != list(range(1, nodes)) or set(code) - set("01-"):
                raise SpaceError(
                    f"genetic-cnn key {key!r}: stage {s} code {code!r}; allowed: {nodes - 1} "
                    f"groups of 1 to {nodes - 1} bits (0 or 1) joined by '-', shaped like "
                    f"{expected!r}"
                )
            for j, group in enumerate(groups, start=2):
                for i, bit in enumerate(group, start=1):
                    values[bit_name(s, i, j)] = int(bit)
        return self.make(values)

    @property
    def encoding_size(self) -> int:
        return len(self.dims)

    def encode(self, arch: Arch) -> np.ndarray:
        """The bit string (one float per bit, in the paper's order)."""
        return np.asarray([float(arch[d.name]) for d in self.dims], dtype=np.float64)

    def crossover_groups(self) -> list[list[str]]:
        """One group per stage: crossover exchanges whole stages (the paper's crossover)."""
        return [
            [bit_name(s, i, j) for i, j in stage_bits(nodes)]
            for s, nodes in enumerate(self.stages, start=1)
        ]

    # ---- the structure the bits decode to ----------------------------------------------------

    def stage_edges(self, arch: Mapping[str, Any], stage: int) -> list[tuple[int, int, str]]:
        """The connections of ``stage`` (1-based) as ``(src, dst, kind)``, nodes numbered ``0``
        (default input) to ``K + 1`` (default output): the encoded ones, then those the
        paper's rules add to the default nodes. An all-zero stage is ``[(0, K + 1,
        "default")]``: its single convolution."""
        nodes = self.stages[stage - 1]
        encoded = [(i, j) for i, j in stage_bits(nodes) if arch[bit_name(stage, i, j)]]
        if not encoded:
            return [(0, nodes + 1, DEFAULT)]
        used = sorted({n for edge in encoded for n in edge})
        heads = [n for n in used if not any(dst == n for _, dst in encoded)]
        tails = [n for n in used if not any(src == n for src, _ in encoded)]
        return [
            *((i, j, ENCODED) for i, j in encoded),
            *((0, n, DEFAULT) for n in heads),
            *((n, nodes + 1, DEFAULT) for n in tails),
        ]

    def cells(self, arch: Arch) -> tuple[CellGraph, ...]:
        """One graph per stage, ``v_0`` to ``v_{K+1}``: the encoded connections and the default
        nodes' ones (isolated nodes drawn without edges), for the cell drawing."""
        graphs = []
        for s, nodes in enumerate(self.stages, start=1):
            edges = tuple(CellEdge(src, dst, kind) for src, dst, kind in self.stage_edges(arch, s))
            graphs.append(CellGraph(f"stage {s}", nodes + 2, (0,), (nodes + 1,), edges))
        return tuple(graphs)

    # ---- the network -------------------------------------------------------------------------

    @property
    def size_options(self) -> Mapping[str, int]:
        """``channels`` (filters of the first stage), which :meth:`build` may change."""
        return {"channels": self.channels}

    def build(  # type: ignore[override]
        self, arch: Arch, task: Task, *, channels: int | None = None
    ) -> nn.Module:
        """The network of ``arch``, with 1-D or 2-D layers as ``task.ndim`` says."""
        width = self.channels if channels is None else channels
        check_positive_ints("genetic-cnn: build ", channels=width)
        arch = self.validate(arch)
        if task.ndim not in (1, 2):
            raise SpaceError(
                f"genetic-cnn: task input_shape={task.input_shape!r} has {task.ndim} spatial "
                "dimensions; allowed: (channels, length) or (channels, height, width)"
            )
        from nasforge.spaces._genetic_net import GeneticNetwork

        return GeneticNetwork(
            [self.stage_edges(arch, s) for s in range(1, len(self.stages) + 1)],
            self.stages,
            task,
            width,
        )


__all__ = [
    "CIFAR_STAGES",
    "DEFAULT",
    "ENCODED",
    "GeneticCNNSpace",
    "bit_name",
    "stage_bits",
]
