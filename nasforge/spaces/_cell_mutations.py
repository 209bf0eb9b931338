"""Jozefowicz et al. 2015's mutations of a recurrent cell (the ``rnn-cell`` space's
``mutate``): replace an activation, swap sum and product, insert a node on an edge, remove a
node, change a source; plus replace an operator, so the flexible approach's operators are
reached. Each works on a canonical :class:`~nasforge.spaces._cell_genome.CellGenome`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nasforge.spaces._cell_genome import OP_ARITY, STATE_SOURCES, CellGenome, CellNode, node_index

#: the mutations, each as likely
MUTATIONS: tuple[str, ...] = (
    "activation",
    "swap_add_mul",
    "insert",
    "remove",
    "input",
    "operator",
)


@dataclass(frozen=True)
class CellChoices:
    """What a space lets a cell use: its operators, activations and most nodes."""

    ops: tuple[str, ...]
    activations: tuple[str, ...]
    nodes: int


def mutate_genome(
    move: str, g: CellGenome, rng: np.random.Generator, choices: CellChoices
) -> CellGenome | None:
    """``g`` changed by the mutation ``move`` (one of :data:`MUTATIONS`), or ``None`` when the
    move does not apply (no node to swap, no room to insert, ...)."""
    nodes = list(g.nodes)
    pick = int(rng.integers(len(nodes)))
    node = nodes[pick]
    if move == "activation":
        acts = [a for a in choices.activations if a != node.act]
        if not acts:
            return None
        nodes[pick] = CellNode(node.op, _choice(rng, acts), node.inputs)
    elif move == "swap_add_mul":
        summed = [i for i, n in enumerate(nodes) if n.op in ("add", "mul")]
        if not summed or not {"add", "mul"} <= set(choices.ops):
            return None
        i = _choice(rng, summed)
        swapped = "mul" if nodes[i].op == "add" else "add"
        nodes[i] = CellNode(swapped, nodes[i].act, nodes[i].inputs)
    elif move == "input":
        k = int(rng.integers(len(node.inputs)))
        sources = [s for s in _sources(pick) if s != node.inputs[k]]
        inputs = list(node.inputs)
        inputs[k] = _choice(rng, sources)
        nodes[pick] = CellNode(node.op, node.act, tuple(inputs))
    elif move == "operator":
        ops = [o for o in choices.ops if o != node.op]
        if not ops:
            return None
        op = _choice(rng, ops)
        inputs = [*node.inputs[: OP_ARITY[op]]]
        while len(inputs) < OP_ARITY[op]:
            inputs.append(_choice(rng, _sources(pick)))
        nodes[pick] = CellNode(op, node.act, tuple(inputs))
    elif move == "insert":
        return _insert(g, pick, rng, choices)
    else:
        return _remove(g, pick)
    return CellGenome(tuple(nodes), g.h_out, g.c_out)


def _insert(
    g: CellGenome, at: int, rng: np.random.Generator, choices: CellChoices
) -> CellGenome | None:
    """A new node on one of node ``at``'s incoming edges: it reads that source (and random
    earlier ones), node ``at`` reads it instead."""
    if len(g.nodes) >= choices.nodes:
        return None
    target = g.nodes[at]
    k = int(rng.integers(len(target.inputs)))

    def shift(source: str) -> str:
        if source.startswith("n") and node_index(source) >= at:
            return f"n{node_index(source) + 1}"
        return source

    op = _choice(rng, list(choices.ops))
    inputs = [target.inputs[k]]
    while len(inputs) < OP_ARITY[op]:
        inputs.append(_choice(rng, _sources(at)))
    new = CellNode(op, _choice(rng, list(choices.activations)), tuple(inputs))
    nodes = [*g.nodes[:at], new]
    for i, node in enumerate(g.nodes[at:], start=at):
        moved = [shift(s) for s in node.inputs]
        if i == at:
            moved[k] = f"n{at}"
        nodes.append(CellNode(node.op, node.act, tuple(moved)))
    c_out = None if g.c_out is None else g.c_out + (g.c_out >= at)
    return CellGenome(tuple(nodes), g.h_out + (g.h_out >= at), c_out)


def _choice(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _sources(i: int) -> list[str]:
    """What node ``i`` may read."""
    return [*STATE_SOURCES, *(f"n{j}" for j in range(i))]


def _remove(g: CellGenome, gone: int) -> CellGenome | None:
    """Node ``gone`` removed: what read it reads its first source instead (not possible when an
    output is a node whose first source is a state: the output would be no node)."""
    first = g.nodes[gone].inputs[0]
    if len(g.nodes) == 1 or (not first.startswith("n") and gone in (g.h_out, g.c_out)):
        return None

    def redirect(source: str) -> str:
        if not source.startswith("n"):
            return source
        j = node_index(source)
        if j == gone:
            return redirect(first)
        return f"n{j - 1}" if j > gone else source

    nodes = [
        CellNode(n.op, n.act, tuple(redirect(s) for s in n.inputs))
        for i, n in enumerate(g.nodes)
        if i != gone
    ]

    def output(i: int) -> int:
        return node_index(redirect(f"n{i}"))

    return CellGenome(tuple(nodes), output(g.h_out), None if g.c_out is None else output(g.c_out))


__all__ = ["MUTATIONS", "CellChoices", "mutate_genome"]
