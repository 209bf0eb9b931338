"""Recurrent cells of the ``rnn-cell`` space as ``torch.nn.Module`` objects.

:class:`RecurrentLayer` runs one cell (a :class:`~nasforge.spaces._cell_genome.CellGenome`)
over a batch-first sequence; :class:`RecurrentStack` stacks layers with dropout between them
(the drop-in for ``nn.LSTM(batch_first=True)`` in one's own model); :class:`SequenceClassifier`
classifies a ``(features, steps)`` signal from the last hidden state.

**Weights.** Only ``linear`` nodes have weights: ``W [a; b] + bias``, initialised as
``nn.LSTM`` initialises its own (uniform in ``±1/sqrt(hidden)``), biases at 0 except forget
gates (see :mod:`nasforge.spaces.rnn_cell`). The parts of all linear nodes that read the same
source are one matrix: the input's projection is computed for the whole sequence at once and
each state's once per step, as a hand-written LSTM does. Any other operator that reads ``x``
reads its map to the hidden size by one more learned matrix (``x_map``, there only when such a
node exists), so every node's value has the hidden size.

**Kept finite.** Any cell of the space must run on long sequences: a node with an unbounded
activation (identity, ReLU, leaky ReLU, SELU) is clamped to ``±VALUE_BOUND``, and the gradient
flowing back into a state through time is clamped to ``±GRADIENT_BOUND`` (NaN to 0), so a cell
whose states grow (``h + h``) saturates instead of overflowing. The reference cells never get
near either bound in practice.

Example:
    >>> from nasforge.spaces.rnn_cell import RnnCellSpace
    >>> space = RnnCellSpace()
    >>> stack = space.recurrent(space.reference("lstm"), input_size=3, hidden=8, layers=2)
    >>> out, states = stack(torch.randn(4, 5, 3))
    >>> tuple(out.shape), len(states)
    ((4, 5, 8), 2)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's usual name
from torch import nn

from nasforge.spaces._cell_genome import CellGenome

#: the largest magnitude of a node with an unbounded activation
VALUE_BOUND = 1000.0
#: the largest magnitude of a gradient flowing back into a state through time
GRADIENT_BOUND = 1000.0
#: activations whose values stay bounded (no clamp needed)
_BOUNDED = frozenset({"tanh", "sigmoid", "sin", "cos", "layer_norm"})

State = tuple[torch.Tensor, torch.Tensor]


def _bound_gradient(grad: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(grad, nan=0.0).clamp(-GRADIENT_BOUND, GRADIENT_BOUND)


def _activate(name: str, v: torch.Tensor) -> torch.Tensor:
    if name == "tanh":
        return torch.tanh(v)
    if name == "sigmoid":
        return torch.sigmoid(v)
    if name == "relu":
        return F.relu(v)
    if name == "leaky_relu":
        return F.leaky_relu(v, 0.01)
    if name == "sin":
        return torch.sin(v)
    if name == "cos":
        return torch.cos(v)
    if name == "selu":
        return F.selu(v)
    if name == "layer_norm":
        return F.layer_norm(v, v.shape[-1:])
    return v


class RecurrentLayer(nn.Module):
    """One cell run over a sequence.

    Args:
        genome: the (canonical) cell.
        input_size: features of ``x_t``.
        hidden: size of the hidden state and the memory.
        forget_bias: initial bias of forget gates.
    """

    def __init__(
        self, genome: CellGenome, input_size: int, hidden: int, forget_bias: float = 1.0
    ) -> None:
        super().__init__()
        self.genome = genome
        self.hidden = hidden
        self.input_size = input_size
        # per linear node, the (source, slot in that source's fused matrix) of each part
        self.parts: dict[int, list[tuple[str, int]]] = {}
        uses: dict[str, int] = {}
        for i, node in enumerate(genome.nodes):
            if node.op != "linear":
                continue
            self.parts[i] = []
            for source in node.inputs:
                self.parts[i].append((source, uses.get(source, 0)))
                uses[source] = uses.get(source, 0) + 1
        self.linear_nodes = sorted(self.parts)
        self.weights = nn.ParameterDict(
            {
                s: nn.Parameter(torch.empty(n * hidden, input_size if s == "x" else hidden))
                for s, n in uses.items()
            }
        )
        count = len(self.linear_nodes)
        self.bias = nn.Parameter(torch.zeros(count, hidden)) if count else None
        # a node other than linear reads x through one learned map to the hidden size
        reads_x = any(n.op != "linear" and "x" in n.inputs for n in genome.nodes)
        self.x_map = nn.Parameter(torch.empty(hidden, input_size)) if reads_x else None
        bound = 1.0 / math.sqrt(hidden)
        for weight in [*self.weights.values(), *([self.x_map] if reads_x else [])]:
            nn.init.uniform_(weight, -bound, bound)
        with torch.no_grad():
            for row, i in enumerate(self.linear_nodes):
                if self.bias is not None and self._is_forget_gate(i):
                    self.bias[row].fill_(forget_bias)

    def _is_forget_gate(self, i: int) -> bool:
        """A linear node with a sigmoid whose value multiplies the memory."""
        if self.genome.nodes[i].act != "sigmoid":
            return False
        return any(
            n.op == "mul" and "c" in n.inputs and f"n{i}" in n.inputs for n in self.genome.nodes
        )

    def extra_repr(self) -> str:
        from nasforge.spaces._cell_genome import format_genome

        return f"{self.input_size}, {self.hidden}, cell={format_genome(self.genome)!r}"

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """``x``: ``(batch, steps, input_size)``; returns the hidden states of every step
        ``(batch, steps, hidden)`` and the last ``(h, c)``."""
        batch, steps = x.shape[0], x.shape[1]
        if state is None:
            zeros = x.new_zeros(batch, self.hidden)
            h, c = zeros, zeros
        else:
            h, c = state
        x_proj = x @ self.weights["x"].t() if "x" in self.weights else None
        x_mapped = x @ self.x_map.t() if self.x_map is not None else None
        rows = {i: row for row, i in enumerate(self.linear_nodes)}
        genome, size = self.genome, self.hidden
        outputs = []
        for t in range(steps):
            values: dict[str, torch.Tensor] = {"x": x[:, t], "h": h, "c": c}
            if x_mapped is not None:
                values["x_mapped"] = x_mapped[:, t]
            proj: dict[str, torch.Tensor] = {}
            if x_proj is not None:
                proj["x"] = x_proj[:, t]
            for i, node in enumerate(genome.nodes):
                if node.op == "linear" and self.bias is not None:
                    v = self.bias[rows[i]]
                    for source, slot in self.parts[i]:
                        if source not in proj:
                            proj[source] = values[source] @ self.weights[source].t()
                        v = v + proj[source][:, slot * size : (slot + 1) * size]
                else:
                    args = [values["x_mapped" if s == "x" else s] for s in node.inputs]
                    v = _combine(node.op, args)
                v = _activate(node.act, v)
                if node.act not in _BOUNDED:
                    v = v.clamp(-VALUE_BOUND, VALUE_BOUND)
                values[f"n{i}"] = v
            h = values[f"n{genome.h_out}"]
            if genome.c_out is not None:
                c = values[f"n{genome.c_out}"]
            if h.requires_grad:
                h.register_hook(_bound_gradient)
            if genome.c_out is not None and c.requires_grad:
                c.register_hook(_bound_gradient)
            outputs.append(h)
        return torch.stack(outputs, dim=1), (h, c)


def _combine(op: str, args: list[torch.Tensor]) -> torch.Tensor:
    if op == "add":
        return args[0] + args[1]
    if op == "mul":
        return args[0] * args[1]
    if op == "sub":
        return args[0] - args[1]
    if op == "div":
        b = args[1]
        return args[0] / (b + torch.where(b >= 0, 1.0, -1.0))
    if op == "blend":
        g, a, b = args
        return g * a + (1.0 - g) * b
    return args[0]  # pass


class RecurrentStack(nn.Module):
    """``layers`` cells stacked, batch first, dropout between layers (like ``nn.LSTM(...,
    batch_first=True, dropout=...)``).

    Args:
        genome: the (canonical) cell, the same in every layer.
        input_size: features of ``x_t``.
        hidden: hidden state size of every layer.
        layers: how many layers.
        dropout: dropout on each layer's outputs but the last's.
        forget_bias: initial bias of forget gates.
    """

    def __init__(
        self,
        genome: CellGenome,
        input_size: int,
        hidden: int,
        layers: int = 1,
        dropout: float = 0.0,
        forget_bias: float = 1.0,
    ) -> None:
        super().__init__()
        sizes = [input_size] + [hidden] * (layers - 1)
        self.layers = nn.ModuleList(
            RecurrentLayer(genome, size, hidden, forget_bias) for size in sizes
        )
        self.dropout = nn.Dropout(dropout)
        self.hidden = hidden

    def forward(
        self, x: torch.Tensor, states: list[State] | None = None
    ) -> tuple[torch.Tensor, list[State]]:
        """``x``: ``(batch, steps, input_size)``; returns the top layer's outputs
        ``(batch, steps, hidden)`` and each layer's last ``(h, c)``."""
        last: list[State] = []
        for k, layer in enumerate(self.layers):
            if k:
                x = self.dropout(x)
            x, state = layer(x, None if states is None else states[k])
            last.append(state)
        return x, last


class SequenceClassifier(nn.Module):
    """Classify a ``(batch, features, steps)`` signal, or a ``(batch, channels, height,
    width)`` image read row by row, from the top layer's last hidden state (what
    :meth:`~nasforge.spaces.rnn_cell.RnnCellSpace.build` returns)."""

    def __init__(self, stack: RecurrentStack, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.stack = stack
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(stack.hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # an image's rows are its steps: (batch, height, channels * width)
        steps = x.permute(0, 2, 1, 3).flatten(2) if x.dim() == 4 else x.transpose(1, 2)
        out, _ = self.stack(steps)
        logits: torch.Tensor = self.head(self.dropout(out[:, -1]))
        return logits


__all__ = [
    "GRADIENT_BOUND",
    "VALUE_BOUND",
    "RecurrentLayer",
    "RecurrentStack",
    "SequenceClassifier",
]
