"""The recurrent cell as a value: nodes over ``x``, ``h`` and ``c``, its canonical form and its
text (the arch key of the ``rnn-cell`` space).

A cell computes, at each time step, nodes ``n0, n1, ...`` in order. Node ``i`` applies an
operator to one to three *sources*: the input ``x`` (``x_t``), the previous hidden state ``h``,
the previous memory ``c`` (zeros in a cell without memory) or an earlier node ``nj``; then an
activation. The new hidden state is node ``h_out``, the new memory node ``c_out`` (``None``:
the cell keeps no memory). This module imports no torch.

The key writes each node as a formula, the activation around the operator (``identity`` and
the one-source ``pass`` operator are left out), then the outputs:

    ``n0=tanh(linear(x,h));h=n0`` (the vanilla RNN)

Example:
    >>> g = parse_genome("n0=sigmoid(linear(x,h));n1=mul(n0,h);n2=add(n1,x);h=n1")
    >>> format_genome(canonical(g))  # n2 reaches no output; mul's inputs sorted
    'n0=sigmoid(linear(x,h));n1=mul(h,n0);h=n1'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nasforge.errors import SpaceError, one_of

#: operators and how many sources each reads; ``linear`` is ``W [a; b] + bias`` (the only one
#: with weights), ``blend`` is ``g * a + (1 - g) * b`` read as ``blend(g, a, b)``, ``div`` is
#: ``a / (b + sign(b))`` (guarded: the divisor is at least 1 in size), ``pass`` is ``a``
OP_ARITY: dict[str, int] = {
    "linear": 2,
    "add": 2,
    "mul": 2,
    "sub": 2,
    "div": 2,
    "blend": 3,
    "pass": 1,
}
OPS: tuple[str, ...] = tuple(OP_ARITY)
#: operators whose sources may be swapped without changing the cell (``linear`` up to which
#: half of its weight matrix reads which source: the same distribution of cells)
COMMUTATIVE: frozenset[str] = frozenset({"linear", "add", "mul"})
#: activations: Jozefowicz et al.'s (identity, tanh, sigmoid, ReLU) and leaky ReLU, with the
#: flexible approach's extras (Schrimpf et al. 2017: sine, cosine, SELU, layer normalisation)
ACTIVATIONS: tuple[str, ...] = (
    "identity",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "sin",
    "cos",
    "selu",
    "layer_norm",
)
#: the sources every node may read besides earlier nodes
STATE_SOURCES: tuple[str, ...] = ("x", "h", "c")

_NODE = re.compile(r"n(\d+)")
_CALL = re.compile(r"(\w+)\((.*)\)")


@dataclass(frozen=True)
class CellNode:
    """One node: ``act(op(*inputs))``; ``inputs`` are source names (``x``, ``h``, ``c``,
    ``n0``, ...)."""

    op: str
    act: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class CellGenome:
    """A recurrent cell: its nodes in order, the node giving the new hidden state and the one
    giving the new memory (``None``: no memory)."""

    nodes: tuple[CellNode, ...]
    h_out: int
    c_out: int | None

    @property
    def has_memory(self) -> bool:
        return self.c_out is not None

    def live(self) -> list[int]:
        """The nodes an output depends on, in order (the others are dead and pruned)."""
        seen: set[int] = set()
        stack = [self.h_out] + ([self.c_out] if self.c_out is not None else [])
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            stack.extend(node_index(s) for s in self.nodes[i].inputs if s.startswith("n"))
        return sorted(seen)


def node_index(source: str) -> int:
    """``7`` for ``"n7"``."""
    return int(source[1:])


def source_rank(source: str) -> int:
    """The canonical order of sources: ``x``, ``h``, ``c``, then nodes by index."""
    if source in STATE_SOURCES:
        return STATE_SOURCES.index(source)
    return len(STATE_SOURCES) + node_index(source)


def canonical(genome: CellGenome) -> CellGenome:
    """The canonical form of ``genome``: dead nodes pruned, the live ones renumbered in order,
    the sources of commutative operators sorted. Equal cells up to those differences get the
    same form (and so the same key)."""
    live = genome.live()
    new = {old: i for i, old in enumerate(live)}

    def rename(source: str) -> str:
        return f"n{new[node_index(source)]}" if source.startswith("n") else source

    nodes = []
    for old in live:
        node = genome.nodes[old]
        inputs = tuple(rename(s) for s in node.inputs)
        if node.op in COMMUTATIVE:
            inputs = tuple(sorted(inputs, key=source_rank))
        nodes.append(CellNode(node.op, node.act, inputs))
    c_out = None if genome.c_out is None else new[genome.c_out]
    return CellGenome(tuple(nodes), new[genome.h_out], c_out)


def format_node(node: CellNode) -> str:
    """The formula of one node, e.g. ``sigmoid(linear(x,h))`` or ``tanh(n6)``."""
    if node.op == "pass":
        inner = node.inputs[0] if node.act != "identity" else f"pass({node.inputs[0]})"
    else:
        inner = f"{node.op}({','.join(node.inputs)})"
    return inner if node.act == "identity" else f"{node.act}({inner})"


def format_genome(genome: CellGenome) -> str:
    """The key text of ``genome`` (as given: call :func:`canonical` first for the key)."""
    parts = [f"n{i}={format_node(node)}" for i, node in enumerate(genome.nodes)]
    parts.append(f"h=n{genome.h_out}")
    if genome.c_out is not None:
        parts.append(f"c=n{genome.c_out}")
    return ";".join(parts)


def parse_genome(text: str) -> CellGenome:
    """The genome written as ``text`` (the inverse of :func:`format_genome`).

    Raises:
        SpaceError: the text is not a cell formula, naming the part that is not.
    """
    if not isinstance(text, str) or not text:
        raise SpaceError(f"rnn-cell key {text!r}: expected 'n0=...;...;h=nK[;c=nJ]'")
    nodes: list[CellNode] = []
    outputs: dict[str, int] = {}
    for part in text.split(";"):
        name, sep, formula = part.partition("=")
        if not sep:
            raise SpaceError(f"rnn-cell key: cannot parse {part!r}; expected name=formula")
        if name in ("h", "c"):
            match = _NODE.fullmatch(formula)
            if name in outputs or match is None:
                raise SpaceError(f"rnn-cell key: bad output {part!r}; expected {name}=nK, once")
            outputs[name] = int(match.group(1))
            continue
        if name != f"n{len(nodes)}" or outputs:
            raise SpaceError(
                f"rnn-cell key: {part!r} out of place; nodes come first as n0, n1, ... "
                "then h= and c="
            )
        nodes.append(_parse_node(formula, len(nodes)))
    if "h" not in outputs:
        raise SpaceError(f"rnn-cell key {text!r} names no hidden state output (h=nK)")
    genome = CellGenome(tuple(nodes), outputs["h"], outputs.get("c"))
    for field, out in (("h", genome.h_out), ("c", genome.c_out)):
        if out is not None and out >= len(nodes):
            raise SpaceError(f"rnn-cell key: {field}=n{out} but the cell has {len(nodes)} nodes")
    return genome


def _parse_node(formula: str, index: int) -> CellNode:
    act = "identity"
    call = _CALL.fullmatch(formula)
    if call is not None and call.group(1) in ACTIVATIONS[1:]:
        act, formula = call.group(1), call.group(2)
        call = _CALL.fullmatch(formula)
    if call is not None:
        op, inputs = call.group(1), tuple(call.group(2).split(","))
        if op not in OP_ARITY:
            raise SpaceError(
                f"rnn-cell key: n{index} uses unknown operator {op!r}; allowed: {one_of(OPS)}"
            )
    else:
        op, inputs = "pass", (formula,)
    if len(inputs) != OP_ARITY[op]:
        raise SpaceError(
            f"rnn-cell key: n{index}={formula!r}: {op} reads {OP_ARITY[op]} source(s), "
            f"got {len(inputs)}"
        )
    allowed = [*STATE_SOURCES, *(f"n{j}" for j in range(index))]
    for source in inputs:
        if source not in allowed:
            raise SpaceError(f"rnn-cell key: n{index} reads {source!r}; allowed: {one_of(allowed)}")
    return CellNode(op, act, inputs)


def cell_mermaid(genome: CellGenome) -> str:
    """A Mermaid flowchart of the cell (Markdown renders it on GitHub): sources, each node as
    its operator and activation, an edge per source read, the outputs ``h_t`` and ``c_t``.

    Example:
        >>> print(cell_mermaid(parse_genome("n0=tanh(linear(x,h));h=n0")))
        flowchart LR
          x([x_t]) --> n0
          h([h_t-1]) --> n0
          n0["n0: linear, tanh"]
          n0 --> h_out([h_t])
    """
    names = {"x": "x([x_t])", "h": "h([h_t-1])", "c": "c([c_t-1])"}
    lines = ["flowchart LR"]
    for i, node in enumerate(genome.nodes):
        for source in node.inputs:
            lines.append(f"  {names.get(source, source)} --> n{i}")
        label = node.op if node.act == "identity" else f"{node.op}, {node.act}"
        lines.append(f'  n{i}["n{i}: {label}"]')
    lines.append(f"  n{genome.h_out} --> h_out([h_t])")
    if genome.c_out is not None:
        lines.append(f"  n{genome.c_out} --> c_out([c_t])")
    return "\n".join(lines)


#: the reference cells (Elman's vanilla RNN; the LSTM of Hochreiter & Schmidhuber with Gers et
#: al.'s forget gate; Cho et al. 2014's GRU, its candidate reading ``r * h``), as keys
REFERENCE_CELLS: dict[str, str] = {
    "rnn": "n0=tanh(linear(x,h));h=n0",
    "lstm": (
        "n0=sigmoid(linear(x,h));n1=sigmoid(linear(x,h));n2=tanh(linear(x,h));"
        "n3=sigmoid(linear(x,h));n4=mul(c,n0);n5=mul(n1,n2);n6=add(n4,n5);n7=tanh(n6);"
        "n8=mul(n3,n7);h=n8;c=n6"
    ),
    "gru": (
        "n0=sigmoid(linear(x,h));n1=sigmoid(linear(x,h));n2=mul(h,n1);"
        "n3=tanh(linear(x,n2));n4=blend(n0,h,n3);h=n4"
    ),
}


__all__ = [
    "ACTIVATIONS",
    "COMMUTATIVE",
    "OPS",
    "OP_ARITY",
    "REFERENCE_CELLS",
    "STATE_SOURCES",
    "CellGenome",
    "CellNode",
    "canonical",
    "cell_mermaid",
    "format_genome",
    "format_node",
    "node_index",
    "parse_genome",
    "source_rank",
]
