"""``rnn-cell``: recurrent cells as graphs over ``x_t``, ``h_{t-1}`` and ``c_{t-1}``.

The space of NAS-RL's recurrent cells (Zoph & Le 2017), of Jozefowicz et al. 2015's evolved
LSTM/GRU-like graphs and of the flexible approach's DSL (Schrimpf et al. 2017): a cell is up to
``nodes`` nodes, each an operator (``linear`` maps, sum, product, difference, guarded division,
blend ``g * a + (1 - g) * b``, ``pass``) over one to three earlier sources, then an activation
(tanh, sigmoid, ReLU, leaky ReLU, sine, cosine, SELU, layer normalisation or none); one node is
the new hidden state, optionally another the new memory. See
:mod:`nasforge.spaces._cell_genome` for the cell as a value and its key.

**Dimensions.** Node ``i`` is decided by ``op{i}``, ``act{i}`` and its sources ``in{i}_0`` to
``in{i}_2`` (those its operator does not read are inactive); then ``h_out`` and ``c_out``
(``none``: no memory). Node by node, in that order: the NAS-RL controller (``reinforce``)
generates a cell node by node, and every strategy that works on dimensions works here.

**Canonical archs.** One rule (:meth:`RnnCellSpace.violation`): the new hidden state depends
on the input ``x``. Every other assignment is a valid cell: nodes no output depends on are dead.
``make`` (and so ``sample``, ``crossover``, ``neighbors``, ``parse``) returns the canonical
form: dead nodes pruned, live ones renumbered first, unused slots filled with ``pass(h)``, the
sources of ``add``, ``mul`` and ``linear`` sorted. Cells that differ only there share one key.

**Mutations are Jozefowicz et al.'s** (:mod:`nasforge.spaces._cell_mutations`): replace an
activation, swap sum and product, insert a node on an edge, remove a node (its readers read its
first source), change a source; plus replace an operator (so the DSL's operators are reached),
each as likely.

**Reference cells** :meth:`RnnCellSpace.reference` (``"rnn"``, ``"lstm"``, ``"gru"``). A linear
map with a sigmoid whose value multiplies the memory (a forget gate) starts with bias
``forget_bias`` (1 by default, Jozefowicz et al.'s finding that closes the LSTM's gap to the
GRU); every other bias starts at 0.

**Building.** :meth:`RnnCellSpace.build` gives a sequence classifier for a ``Task`` of shape
``(features, steps)`` (a 1-D signal read as ``steps`` time steps; an image row by row);
:meth:`~RnnCellSpace.recurrent` gives the batch-first stack of cells alone, an ``nn.Module``
for one's own model.

Example:
    >>> space = RnnCellSpace(nodes=10)
    >>> space.reference("rnn").key
    'n0=tanh(linear(x,h));h=n0'
    >>> arch = space.sample(np.random.default_rng(0))
    >>> space.parse(arch.key) == arch and space.encode(arch).shape == (space.encoding_size,)
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from nasforge.errors import ConfigError, RuleViolation, SpaceError, one_of
from nasforge.space import (
    Arch,
    Categorical,
    CellEdge,
    CellGraph,
    Dimension,
    ModelSpace,
    Space,
    Task,
)
from nasforge.space.base import RULE_COUNT_LIMIT
from nasforge.spaces._cell_genome import (
    ACTIVATIONS,
    OP_ARITY,
    OPS,
    REFERENCE_CELLS,
    STATE_SOURCES,
    CellGenome,
    CellNode,
    canonical,
    format_genome,
    node_index,
    parse_genome,
)
from nasforge.spaces._cell_mutations import MUTATIONS, CellChoices, mutate_genome

if TYPE_CHECKING:  # pragma: no cover - typing only; importing the space imports no torch
    from torch import nn

    from nasforge.spaces.recurrent import RecurrentStack

#: the filler of a slot no output reads (canonical form)
_FILLER = CellNode("pass", "identity", ("h",))
#: the largest ``nodes`` (the dimensions grow with it, the sources of a node too)
NODE_LIMIT = 24
_NODE_DIM = re.compile(r"(?:op|act|in)(\d+)(?:_\d)?")


def _check_names(field: str, chosen: object, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if chosen is None:
        return allowed
    if isinstance(chosen, str) or not isinstance(chosen, (list, tuple)) or not chosen:
        raise ConfigError(f"rnn-cell {field}={chosen!r}; allowed: a non-empty list of names")
    for name in chosen:
        if name not in allowed:
            raise ConfigError(
                f"rnn-cell {field} has unknown name {name!r}; allowed: {one_of(allowed)}"
            )
    if len(set(chosen)) != len(chosen):
        raise ConfigError(f"rnn-cell {field}={list(chosen)!r}; allowed: distinct names")
    return tuple(chosen)


class RnnCellSpace(ModelSpace):
    """Recurrent cells of up to ``nodes`` nodes (see the module docstring).

    Args:
        nodes: the most nodes a cell has (the LSTM needs 9).
        hidden: hidden state size of the networks :meth:`build` makes (a network size).
        layers: stacked cells of those networks (a network size).
        dropout: dropout between stacked layers and before the classifier.
        forget_bias: initial bias of forget gates (linear + sigmoid multiplying the memory).
        ops: the operators cells may use (``None``: all of :data:`OPS`; ``pass`` is always
            kept, it fills unused slots).
        activations: the activations cells may use (``None``: all; ``identity`` always kept).
    """

    registered_as = "rnn-cell"

    def __init__(
        self,
        nodes: int = 10,
        hidden: int = 64,
        layers: int = 1,
        dropout: float = 0.0,
        forget_bias: float = 1.0,
        ops: list[str] | None = None,
        activations: list[str] | None = None,
    ) -> None:
        for field, value in (("nodes", nodes), ("hidden", hidden), ("layers", layers)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"rnn-cell {field}={value!r}; allowed: an integer >= 1")
        if nodes > NODE_LIMIT:
            raise ConfigError(f"rnn-cell nodes={nodes!r}; allowed: an integer in [1, {NODE_LIMIT}]")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ConfigError(f"rnn-cell dropout={dropout!r}; allowed: a number in [0, 1)")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"rnn-cell dropout={dropout!r}; allowed: a number in [0, 1)")
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)):
            raise ConfigError(f"rnn-cell forget_bias={forget_bias!r}; allowed: a number")
        self.nodes = nodes
        self.hidden = hidden
        self.layers = layers
        self.dropout = float(dropout)
        self.forget_bias = float(forget_bias)
        self.ops = None if ops is None else list(ops)
        self.activations = None if activations is None else list(activations)
        chosen_ops = _check_names("ops", ops, OPS)
        chosen_acts = _check_names("activations", activations, ACTIVATIONS)
        self.op_choices = tuple(o for o in OPS if o in chosen_ops or o == "pass")
        self.act_choices = tuple(a for a in ACTIVATIONS if a in chosen_acts or a == "identity")
        dims: list[Dimension] = []
        for i in range(nodes):
            sources = [*STATE_SOURCES, *(f"n{j}" for j in range(i))]
            dims += [
                Categorical(f"op{i}", self.op_choices),
                Categorical(f"act{i}", self.act_choices),
            ]
            for k in range(3):
                readers = [o for o in self.op_choices if OP_ARITY[o] > k]
                if readers:
                    when = None if k == 0 else {f"op{i}": readers}
                    dims.append(Categorical(f"in{i}_{k}", sources, when=when))
        outputs = [f"n{i}" for i in range(nodes)]
        dims += [Categorical("h_out", outputs), Categorical("c_out", ["none", *outputs])]
        super().__init__(dims, name="rnn-cell")

    # ---- the cell as a value -----------------------------------------------------------------

    def genome(self, values: Mapping[str, Any]) -> CellGenome:
        """The cell of an arch (or of checked values), as given: dead nodes included."""
        nodes = []
        for i in range(self.nodes):
            op = values[f"op{i}"]
            inputs = tuple(values[f"in{i}_{k}"] for k in range(OP_ARITY[op]))
            nodes.append(CellNode(op, values[f"act{i}"], inputs))
        c_out = values["c_out"]
        return CellGenome(
            tuple(nodes),
            node_index(values["h_out"]),
            None if c_out == "none" else node_index(c_out),
        )

    def cell(self, arch: Mapping[str, Any]) -> CellGenome:
        """The canonical cell of ``arch``: only the nodes an output depends on."""
        return canonical(self.genome(arch))

    def _values(self, genome: CellGenome) -> dict[str, Any]:
        """The canonical values of ``genome`` (which must fit in ``nodes``)."""
        genome = canonical(genome)
        if len(genome.nodes) > self.nodes:
            raise SpaceError(
                f"space {self.name!r}: the cell has {len(genome.nodes)} live nodes; this space "
                f"allows nodes={self.nodes}"
            )
        values: dict[str, Any] = {}
        padded = list(genome.nodes) + [_FILLER] * (self.nodes - len(genome.nodes))
        for i, node in enumerate(padded):
            values[f"op{i}"], values[f"act{i}"] = node.op, node.act
            for k in range(3):
                name = f"in{i}_{k}"
                if name in self._by_name:
                    values[name] = node.inputs[k] if k < len(node.inputs) else None
        values["h_out"] = f"n{genome.h_out}"
        values["c_out"] = "none" if genome.c_out is None else f"n{genome.c_out}"
        return values

    def key(self, values: Mapping[str, Any]) -> str:
        return format_genome(canonical(self.genome(values)))

    def violation(self, values: Mapping[str, Any]) -> str | None:
        """The one rule: the new hidden state depends on the input ``x`` (a cell that never
        reads its input learns nothing)."""
        genome = self.genome(values)
        if not _depends_on_input(genome):
            return f"h_out={values['h_out']} does not depend on the input x"
        return None

    def make(self, values: Mapping[str, Any]) -> Arch:
        """Check ``values`` as every space does, then return the canonical arch of the cell."""
        checked = super().make(values)
        return Arch(self._values(self.genome(checked)), key=checked.key)

    def from_genome(self, genome: CellGenome) -> Arch:
        """The arch of a cell (refused when it needs more nodes, or an operator or activation
        this space leaves out)."""
        return self.make(self._values(genome))

    def parse(self, key: str) -> Arch:
        """The arch whose key is ``key`` (any cell formula; the canonical one is returned)."""
        return self.from_genome(parse_genome(key))

    def reference(self, name: str) -> Arch:
        """A named reference cell: ``"rnn"``, ``"lstm"`` or ``"gru"``."""
        if name not in REFERENCE_CELLS:
            raise ConfigError(
                f"rnn-cell reference={name!r}; allowed: {one_of(list(REFERENCE_CELLS))}"
            )
        return self.parse(REFERENCE_CELLS[name])

    def _complete(self, values: dict[str, Any], rng: np.random.Generator) -> Arch:
        made = super()._complete(values, rng)
        return Arch(self._values(self.genome(made)), key=made.key)

    def _complete_first(self, values: dict[str, Any]) -> Arch:
        made = super()._complete_first(values)
        return Arch(self._values(self.genome(made)), key=made.key)

    # ---- moves -------------------------------------------------------------------------------

    def neighbors(self, arch: Arch) -> list[Arch]:
        """The distinct cells one dimension away from ``arch`` (itself left out)."""
        seen = {arch.key}
        out = []
        for near in super().neighbors(arch):
            if near.key not in seen:
                seen.add(near.key)
                out.append(near)
        return out

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """One of Jozefowicz et al.'s mutations (see :data:`MUTATIONS`), drawn uniformly among
        those that change the cell; ``arch`` itself when none can."""
        genome = self.cell(arch)
        choices = CellChoices(self.op_choices, self.act_choices, self.nodes)
        moves = list(MUTATIONS)
        while moves:
            move = moves.pop(int(rng.integers(len(moves))))
            for _ in range(8):  # a move's random draw may give the same cell: draw again
                mutant = mutate_genome(move, genome, rng, choices)
                if mutant is None or len(mutant.nodes) > self.nodes:
                    continue
                try:
                    child = self.from_genome(mutant)
                except RuleViolation:
                    continue
                if child != arch:
                    return child
        return arch

    # ---- counting ----------------------------------------------------------------------------

    def size(self) -> float:
        """The number of distinct (canonical) cells when the assignments are few enough to
        enumerate (:data:`~nasforge.space.base.RULE_COUNT_LIMIT`); otherwise the number of
        assignments, an upper bound (many assignments share a canonical cell)."""
        total = self._size_without_rules()
        if total > RULE_COUNT_LIMIT:
            return total
        return sum(1 for _ in self.enumerate())

    def enumerate(self) -> Iterator[Arch]:
        """Every distinct canonical cell once, in the order of the assignments."""
        seen: set[str] = set()
        for arch in Space.enumerate(self):
            if arch.key not in seen:
                seen.add(arch.key)
                yield self.make(arch)

    def cell_graph(self, arch: Arch) -> CellGraph:
        """``arch``'s cell as a :class:`~nasforge.space.CellGraph` for drawing
        (:func:`nasforge.viz.cell.draw_cell`): nodes 0, 1, 2 are ``x``, ``h`` and ``c``, node
        ``3 + i`` is ``n{i}``, each edge labelled with the operator and activation of the node
        it enters; the outputs are the nodes giving ``h`` (then ``c``).

        Not :meth:`cells`: a cell's edges here are decided by several dimensions together, so
        the space states no templates (as ``darts``; its genotypes draw the same way).
        """
        genome = self.cell(self.validate(arch))
        offset = len(STATE_SOURCES)

        def index(source: str) -> int:
            if source in STATE_SOURCES:
                return STATE_SOURCES.index(source)
            return offset + node_index(source)

        edges: list[CellEdge] = []
        for i, node in enumerate(genome.nodes):
            label = node.op if node.act == "identity" else f"{node.op}/{node.act}"
            edges.extend(CellEdge(index(s), offset + i, label) for s in node.inputs)
        outputs = [offset + genome.h_out]
        if genome.c_out is not None and genome.c_out != genome.h_out:
            outputs.append(offset + genome.c_out)
        return CellGraph(
            "rnn-cell",
            offset + len(genome.nodes),
            inputs=tuple(range(offset)),
            outputs=tuple(outputs),
            edges=tuple(edges),
        )

    def decision_groups(self) -> list[list[str]]:
        """One group per node (its operator, activation and sources), then the outputs."""
        groups = [[n for n in self.names if _node_of(n) == i] for i in range(self.nodes)]
        return [*groups, ["h_out", "c_out"]]

    # ---- models ------------------------------------------------------------------------------

    @property
    def size_options(self) -> Mapping[str, int]:
        return {"hidden": self.hidden, "layers": self.layers}

    def recurrent(
        self,
        arch: Arch,
        input_size: int,
        hidden: int | None = None,
        layers: int | None = None,
        dropout: float | None = None,
    ) -> RecurrentStack:
        """The batch-first stack of ``arch``'s cell: ``(batch, steps, input_size)`` in,
        ``(outputs (batch, steps, hidden), [(h, c) per layer])`` out
        (:class:`~nasforge.spaces.recurrent.RecurrentStack`)."""
        from nasforge.spaces.recurrent import RecurrentStack

        return RecurrentStack(
            self.cell(self.validate(arch)),
            input_size,
            hidden or self.hidden,
            layers or self.layers,
            self.dropout if dropout is None else dropout,
            self.forget_bias,
        )

    def build(self, arch: Arch, task: Task, **sizes: int) -> nn.Module:
        """A sequence classifier: a ``(features, steps)`` signal read step by step (an image
        ``(channels, height, width)`` row by row: ``height`` steps of ``channels * width``
        features), the last hidden state of the top layer classified."""
        from nasforge.spaces.recurrent import SequenceClassifier

        self.check_sizes(sizes)
        if len(task.input_shape) not in (2, 3):
            raise ConfigError(
                f"rnn-cell builds for inputs of shape (features, steps) or (channels, height, "
                f"width); got {task.input_shape}"
            )
        features = task.input_shape[0] * (task.input_shape[2] if task.ndim == 2 else 1)
        merged = {**self.size_options, **sizes}
        stack = self.recurrent(arch, features, merged["hidden"], merged["layers"])
        return SequenceClassifier(stack, task.num_classes, self.dropout)


def _depends_on_input(genome: CellGenome) -> bool:
    """Whether the hidden state output reads ``x`` through some path."""
    reads: list[bool] = []
    for node in genome.nodes:
        reads.append(
            any(s == "x" or (s.startswith("n") and reads[node_index(s)]) for s in node.inputs)
        )
    return reads[genome.h_out]


def _node_of(name: str) -> int | None:
    """The node a dimension decides (``None`` for the outputs)."""
    match = _NODE_DIM.fullmatch(name)
    return int(match.group(1)) if match else None


__all__ = ["MUTATIONS", "NODE_LIMIT", "RnnCellSpace"]
