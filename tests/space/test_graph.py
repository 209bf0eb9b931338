"""``CellGraph``: paths, needed nodes, realising templates, and cells that are not NB201's."""

from __future__ import annotations

import pytest

from nasforge.errors import SpaceError
from nasforge.space import CellEdge, CellGraph
from nasforge.space.graph import node_groups


def darts_like() -> CellGraph:
    """Two input nodes (0, 1), intermediate nodes 2 and 3 with two inputs each, output = both."""
    edges = (
        CellEdge(0, 2, "sep_conv", dim="n2_a", choices=("sep_conv", "skip", "none")),
        CellEdge(1, 2, "skip", dim="n2_b", choices=("sep_conv", "skip", "none")),
        CellEdge(1, 3, "none", dim="n3_a", choices=("sep_conv", "skip", "none")),
        CellEdge(2, 3, "sep_conv", dim="n3_b", choices=("sep_conv", "skip", "none")),
    )
    return CellGraph("normal", 4, inputs=(0, 1), outputs=(2, 3), edges=edges)


def test_paths_start_at_every_input_and_skip_absent_edges() -> None:
    cell = darts_like()
    assert cell.paths() == [
        ("sep_conv",),
        ("sep_conv", "sep_conv"),
        ("skip",),
        ("skip", "sep_conv"),
    ]
    assert cell.paths(absent_ops=()) == [*cell.paths()[:3], ("skip", "sep_conv"), ("none",)]
    assert [e.dst for e in cell.routes()[1]] == [2, 3]
    assert cell.ops == ("sep_conv", "skip", "none") and cell.dims == (
        "n2_a",
        "n2_b",
        "n3_a",
        "n3_b",
    )


def test_needed_nodes_follow_live_edges_back_from_the_outputs() -> None:
    edges = (
        CellEdge(0, 1, "conv"),
        CellEdge(0, 2, "conv"),
        CellEdge(1, 2, "none"),
        CellEdge(0, 3, "skip"),
        CellEdge(1, 3, "none"),
        CellEdge(2, 3, "none"),
    )
    cell = CellGraph("cell", 4, (0,), (3,), edges)
    assert cell.needed_nodes() == {0, 3}  # nodes 1 and 2 never reach the output
    assert cell.needed_nodes(absent_ops=()) == {0, 1, 2, 3}
    assert cell.incoming(3) == edges[3:] and cell.outgoing(1) == (edges[2], edges[4])
    assert darts_like().needed_nodes() == {0, 1, 2, 3}


def test_realise_fills_ops_and_drops_inactive_edges() -> None:
    template = darts_like().template()
    assert all(e.op is None for e in template.edges)
    assert template.paths()[0] == ("?",)  # undecided edges count as present
    values = {"n2_a": "skip", "n2_b": "none", "n3_a": None, "n3_b": "sep_conv"}
    cell = template.realise(values)
    assert [(e.src, e.dst, e.op) for e in cell.edges] == [
        (0, 2, "skip"),
        (1, 2, "none"),
        (2, 3, "sep_conv"),
    ]
    assert cell.template() == CellGraph(
        "normal", 4, (0, 1), (2, 3), (*template.edges[:2], template.edges[3])
    )
    fixed = CellGraph("c", 2, (0,), (1,), (CellEdge(0, 1, "conv"),))
    assert fixed.realise({}) == fixed and fixed.template() == fixed


def test_node_groups_are_the_incoming_dimensions_node_by_node() -> None:
    assert node_groups(darts_like()) == [["n2_a", "n2_b"], ["n3_a", "n3_b"]]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (
            lambda: CellGraph("c", 3, (0,), (2,), (CellEdge(2, 1, "x"),)),
            "edge 2->1; allowed: src < dst",
        ),
        (
            lambda: CellGraph("c", 3, (0,), (3,), ()),
            "outputs=(3,); allowed: one or more nodes in 0..2",
        ),
        (lambda: CellGraph("c", 3, (), (2,), ()), "inputs=(); allowed"),
        (lambda: CellGraph("c", 3, (0, 1), (2,), (CellEdge(0, 1, "x"),)), "enters input node 1"),
        (lambda: CellGraph("c", 0, (0,), (0,), ()), "n_nodes=0; allowed: an integer >= 1"),
    ],
)
def test_malformed_cells_are_one_line_space_errors(make: object, problem: str) -> None:
    with pytest.raises(SpaceError) as err:
        make()  # type: ignore[operator]
    assert problem in str(err.value) and "\n" not in str(err.value)
