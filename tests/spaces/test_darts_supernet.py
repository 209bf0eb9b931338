"""DARTS's supernet of the darts space: every-edge cells, DARTS's derive rule, the path of an
arch, and PC-DARTS's partial channels."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
import torch

from nasforge.errors import ConfigError
from nasforge.oneshot.supernet import MODES, MixedOp, Supernet, estimate_memory
from nasforge.space import Arch, Task
from nasforge.spaces.darts import NODES, DartsSpace, dim_names, reduction_cells
from nasforge.spaces.darts_supernet import PartialChannels

SIGNALS = Task(input_shape=(1, 12), num_classes=3)
IMAGES = Task(input_shape=(3, 7, 7), num_classes=4)  # odd sizes: every path must round alike
EDGES = sum(NODES)  # 2 + 3 + 4 + 5 edges per cell


@pytest.fixture(scope="module")
def space() -> DartsSpace:
    return DartsSpace(n_cells=2, channels=4)


@pytest.fixture(scope="module")
def supernets(space: DartsSpace) -> dict[Task, Supernet]:
    """One supernet per task, shared by the tests of the modes (each resets its gradients)."""
    return {task: Supernet(space, task) for task in (SIGNALS, IMAGES)}


def one_hot(path: Mapping[str, str], candidates: list[str]) -> dict[str, dict[str, float]]:
    return {label: {op: float(op == chosen) for op in candidates} for label, chosen in path.items()}


def sources(arch: Arch, kind: str, node: int) -> list[int]:
    return [int(i) for i in str(arch[dim_names(kind, node)[0]]).split("+")]


@pytest.mark.parametrize("task", [SIGNALS, IMAGES], ids=["1d", "2d"])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_runs_forward_and_backward(
    space: DartsSpace, supernets: dict[Task, Supernet], task: Task, mode: str
) -> None:
    net = supernets[task]
    net.zero_grad(set_to_none=True)
    assert len(net.labels) == 2 * EDGES and not net.input_labels
    assert all(names == ["none", *space.ops] for names in net.labels.values())
    net.set_mode(mode)
    net.set_generator(torch.Generator().manual_seed(0))
    if mode == "path":
        net.sample_uniform(torch.Generator().manual_seed(1))
    out = net(torch.randn(2, *task.input_shape))
    assert out.shape == (2, task.num_classes)
    out.square().sum().backward()
    assert net.net.stem[0].weight.grad is not None
    moved = [a.grad is not None and bool(a.grad.abs().sum() > 0) for a in net.arch_parameters()]
    expected = {"softmax": all, "dirichlet": all, "gumbel": any}.get(mode)
    if expected is None:
        assert not any(moved)  # a path trains weights only
    else:  # Gumbel: an edge that drew none has a zero output and so no gradient
        assert expected(moved)


def test_labels_are_tied_across_the_cells_of_a_kind(space: DartsSpace) -> None:
    net = Supernet(space, SIGNALS, sizes={"n_cells": 3})  # normal, reduce, reduce
    assert len(net.labels) == 2 * EDGES  # the same labels as two cells
    count = {
        label: sum(isinstance(m, MixedOp) and m.label == label for m in net.modules())
        for label in ("normal_edge5_4", "reduce_edge2_0")
    }
    assert count == {"normal_edge5_4": 1, "reduce_edge2_0": 2}
    assert space.supernet_definition()[1] == {"n_cells": 2, "channels": 4, "partial_channels": 1}


def test_derive_keeps_each_nodes_two_strongest_edges_ignoring_none(space: DartsSpace) -> None:
    names = ["none", *space.ops]
    labels = Supernet(space, SIGNALS).labels
    weights = {label: dict.fromkeys(names, 1 / len(names)) for label in labels}
    # normal node 4: edge 0 is mostly none (its best other weight 0.05: dropped), edges 1 and
    # 3 are strongest by skip_connect and sep_conv_3x3
    weights["normal_edge4_0"] = {**dict.fromkeys(names, 0.0), "none": 0.9, "sep_conv_5x5": 0.05}
    weights["normal_edge4_1"] = {**dict.fromkeys(names, 0.1), "skip_connect": 0.3}
    weights["normal_edge4_2"] = {**dict.fromkeys(names, 0.1), "dil_conv_5x5": 0.2}
    weights["normal_edge4_3"] = {**dict.fromkeys(names, 0.0), "none": 0.5, "sep_conv_3x3": 0.5}
    arch = space.derive(weights, {})
    assert (arch["normal_node4_inputs"], arch["normal_node4_op1"], arch["normal_node4_op2"]) == (
        "1+3",
        "skip_connect",
        "sep_conv_3x3",
    )
    # equal weights elsewhere: the lower nodes and the first operation other than none
    assert arch["reduce_node5_inputs"] == "0+1" and arch["reduce_node5_op2"] == "max_pool_3x3"
    # an edge the supernet held fixed counts as certain
    held = {"reduce_edge3_2": "dil_conv_3x3"}
    derived = space.derive({k: v for k, v in weights.items() if k not in held}, held)
    assert derived["reduce_node3_inputs"] == "0+2" and derived["reduce_node3_op2"] == "dil_conv_3x3"
    with pytest.raises(ConfigError, match="weights have no edge 'normal_edge2_0'"):
        space.derive({}, {})


def test_derive_of_an_archs_path_is_the_arch(space: DartsSpace) -> None:
    labels = list(Supernet(space, SIGNALS).labels)
    names = ["none", *space.ops]
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = space.sample(rng)
        path = space.supernet_path(arch)
        assert list(path) == labels
        assert sum(op != "none" for op in path.values()) == 2 * 2 * len(NODES)
        assert space.derive(one_hot(path, names), {}) == arch


@pytest.mark.parametrize("task", [SIGNALS, IMAGES], ids=["1d", "2d"])
def test_path_mode_computes_the_archs_network(space: DartsSpace, task: Task) -> None:
    n_cells = 3  # normal, reduce, reduce: a tied label serves two cells
    arch = space.sample(np.random.default_rng(3))
    torch.manual_seed(0)
    net = Supernet(space, task, bn_affine=True, bn_track_stats=True, sizes={"n_cells": n_cells})
    with torch.no_grad():
        for p in net.weight_parameters():
            p.uniform_(-0.5, 0.5)
    path = space.supernet_path(arch)
    net.set_mode("path")
    net.use(path)
    model = space.build(arch, task, n_cells=n_cells)

    # stem, preprocessing and classifier by name; each edge from the chosen candidate
    shared = {
        k.removeprefix("net."): v
        for k, v in net.state_dict().items()
        if k.startswith("net.") and ".edges." not in k
    }
    missing, unexpected = model.load_state_dict(shared, strict=False)
    assert not unexpected
    assert missing and all(".edges." in k for k in missing)
    for c, (cell, supercell) in enumerate(zip(model.cells, net.net.cells, strict=True)):
        kind = "reduce" if c in reduction_cells(n_cells) else "normal"
        for index, node in enumerate(NODES):
            op_labels = dim_names(kind, node)[1:]
            for t, (src, label) in enumerate(
                zip(sources(arch, kind, node), op_labels, strict=True)
            ):
                chosen = supercell.edges[f"{node}_{src}"].candidates[arch[label]]
                cell.edges[2 * index + t].load_state_dict(chosen.state_dict(), strict=True)

    x = torch.randn(4, *task.input_shape)
    for train in (True, False):  # batch statistics, then the running ones both updated alike
        net.train(train)
        model.train(train)
        out = net(x)
        assert torch.allclose(out, model(x), rtol=1e-4, atol=1e-5)

    out.square().sum().backward()  # only the chosen candidates learn
    for module in net.modules():
        if isinstance(module, MixedOp):
            for name, candidate in module.candidates.items():
                grads = [p.grad for p in candidate.parameters()]
                if name == path[module.label]:
                    assert all(g is not None for g in grads)
                else:
                    assert all(g is None for g in grads)


@pytest.mark.parametrize("task", [SIGNALS, IMAGES], ids=["1d", "2d"])
@pytest.mark.parametrize("k", [2, 4])
def test_partial_channels_run_a_fraction_through_the_mixed_op(
    space: DartsSpace, task: Task, k: int
) -> None:
    net = Supernet(space, task, sizes={"partial_channels": k})
    edge = net.net.cells[1].edges["2_0"]  # a reduction cell's stride-2 edge
    assert isinstance(edge, PartialChannels) and edge.bypass is not None
    assert edge.op.candidates["sep_conv_3x3"][1].in_channels == 8 // k  # reduction: 2 x 4
    out = net(torch.randn(2, *task.input_shape))
    assert out.shape == (2, task.num_classes)
    out.square().sum().backward()
    assert all(a.grad is not None for a in net.arch_parameters())


def test_partial_channels_must_divide_the_channels(space: DartsSpace) -> None:
    with pytest.raises(ConfigError) as error:
        Supernet(space, SIGNALS, sizes={"partial_channels": 3})
    assert str(error.value) == (
        "darts supernet: partial_channels=3 does not divide channels=4; allowed: 1, 2 or 4"
    )


def test_memory_estimate_shrinks_with_partial_channels(space: DartsSpace) -> None:
    full = Supernet(space, SIGNALS)
    partial = Supernet(space, SIGNALS, sizes={"partial_channels": 4})
    peak = {
        (k, batch): estimate_memory(net, SIGNALS, batch)["peak_bytes"]
        for k, net in ((1, full), (4, partial))
        for batch in (32, 64)
    }
    assert 0 < peak[4, 32] < peak[1, 32] < peak[1, 64]
    assert peak[4, 32] < peak[4, 64]
    activations = [estimate_memory(n, SIGNALS, 32)["activation_bytes"] for n in (full, partial)]
    assert activations[1] < 0.5 * activations[0]
