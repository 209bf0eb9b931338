"""The macro network and its cells: built from a ``CellGraph`` and a cell factory, with the
state-dict keys that stored weights and exports depend on."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasforge.errors import SpaceError
from nasforge.space import CellEdge, CellGraph, Task
from nasforge.spaces import NB201Space
from nasforge.spaces._macro import Cell, MacroNetwork

KEY = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"
BN = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def relu_conv_bn(prefix: str) -> list[str]:
    return [f"{prefix}.1.weight", *(f"{prefix}.2.{name}" for name in BN)]


def test_nb201_state_dict_keys_are_unchanged() -> None:
    """Stored retrained weights and exported code load by these names."""
    space = NB201Space(n_cells=1, channels=4)
    net = space.build(space.parse(KEY), Task(input_shape=(1, 12), num_classes=3))
    expected = ["stem.0.weight", *(f"stem.1.{name}" for name in BN)]
    for position in (0, 2, 4):  # cells; 1 and 3 are the residual reductions
        if position:
            block = f"cells.{position - 1}"
            expected += relu_conv_bn(f"{block}.conv_a") + relu_conv_bn(f"{block}.conv_b")
            expected.append(f"{block}.downsample.1.weight")
        # edges with parameters: 0->1 (3x3 conv) and 1->3 (1x1 conv); pool, skip, none have none
        expected += relu_conv_bn(f"cells.{position}.edges.0_1")
        expected += relu_conv_bn(f"cells.{position}.edges.1_3")
    expected += [f"lastact.0.{name}" for name in BN] + ["classifier.weight", "classifier.bias"]
    assert list(net.state_dict()) == expected
    assert list(net.cells[0].edges) == ["0_1", "0_2", "1_2", "0_3", "1_3", "2_3"]


def test_a_cell_with_two_inputs_concatenates_its_outputs() -> None:
    graph = CellGraph(
        "normal",
        4,
        inputs=(0, 1),
        outputs=(2, 3),
        edges=(
            CellEdge(0, 2, "nor_conv_3x3"),
            CellEdge(1, 2, "skip_connect"),
            CellEdge(1, 3, "none"),
            CellEdge(2, 3, "avg_pool_3x3"),
            CellEdge(2, 3, "skip_connect"),  # a parallel edge gets its own name
        ),
    )
    cell = Cell(graph, channels=4, ndim=1, affine=False)
    assert list(cell.edges) == ["0_2", "1_2", "1_3", "2_3", "2_3_1"]
    assert not any(name.endswith(".2.weight") for name in cell.state_dict())  # affine=False
    a, b = torch.randn(2, 4, 9), torch.randn(2, 4, 9)
    out = cell(a, b)
    node2 = cell.edges["0_2"](a) + b
    assert out.shape == (2, 8, 9)
    assert torch.allclose(out[:, :4], node2)
    assert torch.allclose(out[:, 4:], cell.edges["2_3"](node2) + node2)


def test_the_macro_network_takes_any_cell_factory() -> None:
    widths: list[int] = []

    def factory(channels: int) -> nn.Module:
        widths.append(channels)
        return nn.Identity()

    net = MacroNetwork(factory, channels=4, n_cells=2, in_channels=3, num_classes=5, ndim=2)
    assert widths == [4, 4, 8, 8, 16, 16]
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 5)


def test_a_template_cannot_be_built() -> None:
    (template,) = NB201Space(n_cells=1).cell_templates()
    with pytest.raises(SpaceError, match="edge 0→1 has no operation; allowed: a realised cell"):
        Cell(template, channels=4, ndim=1)
