"""The ``rnn-cell`` space: canonical keys, reference cells, Jozefowicz et al.'s mutations, and
cells that run over sequences as modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge.errors import ConfigError, RuleViolation, SpaceError
from nasforge.space import Space, Task
from nasforge.spaces import create_space
from nasforge.spaces._cell_genome import canonical, format_genome, parse_genome
from nasforge.spaces.rnn_cell import RnnCellSpace
from nasforge.testing.spaces import SpaceConformance


class TestConformance(SpaceConformance):
    @pytest.fixture(params=[{}, {"nodes": 3, "ops": ["linear", "add"], "activations": ["tanh"]}])
    def space(self, request: pytest.FixtureRequest) -> Space:
        return create_space("rnn-cell", **request.param)


def test_small_space_counts_distinct_cells() -> None:
    space = RnnCellSpace(nodes=1, ops=["linear", "add"], activations=["tanh"])
    keys = [a.key for a in space.enumerate()]
    # one node reading x: linear or add of x with x, h or c, or pass(x) ('pass' is always
    # there); identity or tanh; with or without memory
    assert len(keys) == len(set(keys)) == space.size() == (2 * 3 + 1) * 2 * 2


def test_reference_cells_round_trip_and_count_like_torch() -> None:
    space = RnnCellSpace()
    for name, module in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("rnn", torch.nn.RNN)):
        arch = space.reference(name)
        assert space.parse(arch.key) == arch
        ours = sum(p.numel() for p in space.recurrent(arch, 5, 16).parameters())
        theirs = sum(p.numel() for p in module(5, 16).parameters())
        # torch keeps two bias vectors per gate where one suffices
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[name]
        assert ours == theirs - gates * 16
    with pytest.raises(ConfigError, match="allowed: 'rnn', 'lstm' or 'gru'"):
        space.reference("transformer")


def test_lstm_forget_gate_starts_with_bias_one() -> None:
    space = RnnCellSpace(forget_bias=1.0)
    layer = space.recurrent(space.reference("lstm"), 3, 4).layers[0]
    assert layer.bias.sum(dim=1).tolist() == [4.0, 0.0, 0.0, 0.0]  # n0 multiplies c


def test_canonical_keys_prune_dead_nodes_and_sort_commutative_sources() -> None:
    space = RnnCellSpace(nodes=4)
    a = space.parse("n0=tanh(linear(h,x));n1=relu(add(x,x));h=n0")
    b = space.parse("n0=relu(sub(x,h));n1=tanh(linear(x,h));h=n1")
    assert a == b and a.key == "n0=tanh(linear(x,h));h=n0"
    assert dict(a) == dict(b)
    g = parse_genome(a.key)
    assert format_genome(canonical(g)) == a.key


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("n0=tanh(linear(x,h))", "names no hidden state output"),
        ("n0=tanh(conv(x,h));h=n0", "unknown operator 'conv'"),
        ("n0=add(x);h=n0", "add reads 2 source"),
        ("n0=add(x,n0);h=n0", "n0 reads 'n0'"),
        ("n0=add(x,h);h=n3", "h=n3 but the cell has 1 nodes"),
    ],
)
def test_bad_keys_name_the_problem(key: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        RnnCellSpace().parse(key)


def test_rule_hidden_state_reads_input_and_node_limit() -> None:
    with pytest.raises(RuleViolation, match="does not depend on the input x"):
        RnnCellSpace().parse("n0=tanh(linear(h,c));h=n0")
    with pytest.raises(SpaceError, match="allows nodes=8"):
        RnnCellSpace(nodes=8).reference("lstm")


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="rnn-cell nodes=0; allowed: an integer >= 1"):
        RnnCellSpace(nodes=0)
    with pytest.raises(ConfigError, match="unknown name 'exp'"):
        RnnCellSpace(activations=["exp"])
    with pytest.raises(ConfigError, match="dropout"):
        RnnCellSpace(dropout=1.5)


def test_mutations_are_jozefowicz_moves() -> None:
    space = RnnCellSpace()
    rng = np.random.default_rng(0)
    lstm = space.reference("lstm")
    sizes = set()
    for _ in range(60):
        child = space.mutate(lstm, rng)
        assert child != lstm
        sizes.add(len(space.cell(child).nodes))
    assert {8, 9, 10} <= sizes  # removals, same-size edits and insertions all occur
    gru = space.cell(space.reference("gru"))
    swapped = space.cell(
        space.parse(
            "n0=sigmoid(linear(x,h));n1=sigmoid(linear(x,h));"
            "n2=add(h,n1);n3=tanh(linear(x,n2));n4=blend(n0,h,n3);h=n4"
        )
    )
    assert [n.op for n in swapped.nodes] != [n.op for n in gru.nodes]


def test_mutate_is_deterministic_for_a_seed() -> None:
    space = RnnCellSpace()
    arch = space.reference("gru")
    first = [space.mutate(arch, np.random.default_rng(3)).key for _ in range(2)]
    assert first[0] == first[1]


@pytest.mark.parametrize("steps", [1, 200])
def test_sampled_cells_run_forward_and_backward_without_nan(steps: int) -> None:
    space = RnnCellSpace()
    rng = np.random.default_rng(steps)
    torch.manual_seed(0)
    for _ in range(12):
        arch = space.sample(rng)
        model = space.build(arch, Task(input_shape=(2, steps), num_classes=3))
        out = model(torch.randn(3, 2, steps) * 3)
        out.pow(2).sum().backward()
        assert torch.isfinite(out).all(), arch.key
        assert model.head.weight.grad is not None
        for p in model.parameters():
            assert p.grad is None or torch.isfinite(p.grad).all(), arch.key


def test_stack_is_batch_first_with_dropout_between_layers() -> None:
    space = RnnCellSpace()
    stack = space.recurrent(space.reference("gru"), 3, 8, layers=3, dropout=0.5)
    out, states = stack(torch.randn(2, 7, 3))
    assert out.shape == (2, 7, 8) and len(states) == 3
    assert states[-1][0].shape == (2, 8)
    assert stack.dropout.p == 0.5


def test_images_are_read_row_by_row() -> None:
    space = RnnCellSpace(hidden=8)
    model = space.build(space.reference("rnn"), Task(input_shape=(2, 5, 3), num_classes=4))
    assert model.stack.layers[0].input_size == 6
    assert model(torch.randn(2, 2, 5, 3)).shape == (2, 4)


def test_cell_graph_draws_the_cell() -> None:
    space = RnnCellSpace()
    graph = space.cell_graph(space.reference("gru"))
    assert graph.inputs == (0, 1, 2) and graph.outputs == (7,) and graph.n_nodes == 8
    assert [(e.src, e.dst, e.op) for e in graph.incoming(7)] == [
        (3, 7, "blend"),
        (1, 7, "blend"),
        (6, 7, "blend"),
    ]
