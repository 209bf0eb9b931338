"""``CellSpace``: NAS-Bench-201 string keys, counting, neighbors and the bundled table's archs."""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import pytest

from nasforge.errors import SpaceError
from nasforge.space import (
    Categorical,
    CellSpace,
    CellStringError,
    Float,
    Int,
    cell_graph_from_key,
    edge_name,
    format_cell_string,
    parse_cell_string,
)

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EXAMPLE = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"


@pytest.fixture(scope="module")
def nb201() -> CellSpace:
    return CellSpace(4, NB201_OPS, name="nb201")


def table_archs() -> list[str]:
    path = resources.files("nasforge") / "_resources" / "nb201_cifar10.csv"
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        assert next(rows)[0] == "arch"
        return [row[0] for row in rows]


def test_edges_and_key(nb201: CellSpace) -> None:
    assert nb201.edges == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    assert nb201.edge_names == [f"edge_{j}_{i}" for i, j in nb201.edges]
    assert nb201.edge_names[:3] == ["edge_1_0", "edge_2_0", "edge_2_1"]
    assert edge_name(1, 3) == "edge_3_1"
    arch = nb201.parse(EXAMPLE)
    assert arch.key == EXAMPLE
    assert arch["edge_1_0"] == "nor_conv_3x3" and arch["edge_3_2"] == "skip_connect"
    assert nb201.make(dict(arch)) == arch
    (cell,) = nb201.cells(arch)
    assert [[(e.op, e.src) for e in cell.incoming(j)] for j in (1, 2, 3)] == [
        [("nor_conv_3x3", 0)],
        [("none", 0), ("skip_connect", 1)],
        [("none", 0), ("none", 1), ("skip_connect", 2)],
    ]


def test_cells_state_the_structure(nb201: CellSpace) -> None:
    (template,) = nb201.cell_templates()
    assert (template.n_nodes, template.inputs, template.outputs) == (4, (0,), (3,))
    assert [(e.src, e.dst, e.dim) for e in template.edges] == [
        (i, j, edge_name(i, j)) for i, j in nb201.edges
    ]
    assert all(e.op is None and e.choices == NB201_OPS for e in template.edges)
    assert template.ops == NB201_OPS and template.dims == tuple(nb201.edge_names)
    (cell,) = nb201.cells(nb201.parse(EXAMPLE))
    assert cell.template() == template
    assert cell.paths() == [("nor_conv_3x3", "skip_connect", "skip_connect")]
    assert cell.needed_nodes() == {0, 1, 2, 3}
    extra = CellSpace(3, ["a", "b"], extra=[Int("depth", 1, 3), Float("lr", 0.1, 1.0)])
    assert extra.decision_groups() == [["edge_1_0"], ["edge_2_0", "edge_2_1"], ["depth"], ["lr"]]
    assert nb201.decision_groups() == [
        ["edge_1_0"],
        ["edge_2_0", "edge_2_1"],
        ["edge_3_0", "edge_3_1", "edge_3_2"],
    ]


def test_cell_strings_have_one_parser() -> None:
    assert parse_cell_string(EXAMPLE) == [
        ("nor_conv_3x3",),
        ("none", "skip_connect"),
        ("none", "none", "skip_connect"),
    ]
    assert format_cell_string(parse_cell_string(EXAMPLE)) == EXAMPLE
    assert parse_cell_string("| a ~ 0 |+|b~0| c~1|") == [("a",), ("b", "c")]  # hand-typed spaces
    with pytest.raises(CellStringError, match="found 1") as err:
        parse_cell_string("|a~0|", n_nodes=4)
    assert err.value.reason == "expected 3 nodes separated by '+', found 1"
    graph = cell_graph_from_key(EXAMPLE + ",lr=0.1")
    assert [(e.src, e.dst, e.op, e.dim) for e in graph.incoming(2)] == [
        (0, 2, "none", "edge_2_0"),
        (1, 2, "skip_connect", "edge_2_1"),
    ]
    assert (graph.n_nodes, graph.inputs, graph.outputs) == (4, (0,), (3,))
    for bad in ("lr=0.1", "", "|a~0|+|b~1|"):
        with pytest.raises(CellStringError):
            cell_graph_from_key(bad)


def test_size_and_enumerate(nb201: CellSpace) -> None:
    assert nb201.size() == 15625 == 5**6
    keys = [arch.key for arch in nb201.enumerate()]
    assert len(keys) == len(set(keys)) == 15625
    assert CellSpace(4, ("none", "skip_connect", "nor_conv_3x3")).size() == 729
    assert CellSpace(2, NB201_OPS[:4]).size() == 4


def test_every_table_arch_round_trips(nb201: CellSpace) -> None:
    keys = table_archs()
    assert len(keys) == 15625
    for key in keys:
        assert nb201.parse(key).key == key
    assert set(keys) == {arch.key for arch in nb201.enumerate()}


def test_neighbors_change_one_edge(nb201: CellSpace) -> None:
    arch = nb201.parse(EXAMPLE)
    near = nb201.neighbors(arch)
    assert len(near) == 6 * 4 and len({n.key for n in near}) == 24 and arch not in near
    for other in near:
        assert sum(arch[e] != other[e] for e in nb201.edge_names) == 1
        assert nb201.parse(other.key) == other


def test_mutate_changes_one_edge(nb201: CellSpace) -> None:
    rng = np.random.default_rng(0)
    arch = nb201.sample(rng)
    for _ in range(300):
        child = nb201.mutate(arch, rng)
        assert sum(arch[e] != child[e] for e in nb201.edge_names) == 1
        arch = child


def test_sample_is_uniform_over_ops(nb201: CellSpace) -> None:
    rng = np.random.default_rng(1)
    ops = [nb201.sample(rng)["edge_2_1"] for _ in range(5_000)]
    counts = np.array([ops.count(op) for op in NB201_OPS]) / len(ops)
    assert np.all(np.abs(counts - 0.2) < 0.025), counts


def test_encode_is_one_hot_per_edge(nb201: CellSpace) -> None:
    vec = nb201.encode(nb201.parse(EXAMPLE))
    assert vec.shape == (30,) and vec.sum() == 6.0
    assert vec.reshape(6, 5).argmax(axis=1).tolist() == [3, 0, 1, 0, 0, 1]


def test_extra_dimensions_follow_the_cell() -> None:
    space = CellSpace(
        3,
        ("none", "nor_conv_3x3"),
        extra=[
            Float("lr", 1e-3, 1.0, log=True),
            Int("channels", 8, 64, log=True),
            Categorical("kernel", [3, 5], when={"edge_1_0": ["nor_conv_3x3"]}),
        ],
    )
    arch = space.make(
        {
            "edge_1_0": "none",
            "edge_2_0": "nor_conv_3x3",
            "edge_2_1": "none",
            "lr": 0.05,
            "channels": 16,
        }
    )
    assert arch.key == "|none~0|+|nor_conv_3x3~0|none~1|,lr=0.05,channels=16"
    rng = np.random.default_rng(2)
    for _ in range(300):
        sample = space.sample(rng)
        assert space.parse(sample.key) == sample and dict(space.parse(sample.key)) == dict(sample)
    assert space.size() == float("inf")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "expected 3 nodes separated by '+', found 1"),
        ("|none~0|+|none~0|none~1|", "expected 3 nodes separated by '+', found 2"),
        (EXAMPLE.replace("~0|+", "~0|++", 1), "expected 3 nodes separated by '+', found 4"),
        (
            "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "node 1 ('none~0|') must look like '|op~0|...|'",
        ),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must have 2 inputs, found 1"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "expected 'op~1' in node 2, got"),
        (
            "|none0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "expected 'op~0' in node 1, got 'none0'",
        ),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv'; allowed: "),
        (EXAMPLE + ",edge_1_0=none", "'edge_1_0' belongs in the cell string"),
        (EXAMPLE + ",lr=0.1", "space 'nb201' has no dimension 'lr'"),
    ],
)
def test_parse_errors_are_one_line(nb201: CellSpace, key: str, problem: str) -> None:
    with pytest.raises(SpaceError) as err:
        nb201.parse(key)
    message = str(err.value)
    assert problem in message and "\n" not in message


def test_parse_needs_a_string(nb201: CellSpace) -> None:
    with pytest.raises(SpaceError, match="arch key must be a string, got NoneType"):
        nb201.parse(None)  # type: ignore[arg-type]


def test_parse_refuses_a_repeated_name() -> None:
    space = CellSpace(2, ("none",), extra=[Int("channels", 8, 64)])
    with pytest.raises(SpaceError, match="'channels'"):
        space.parse("|none~0|,channels=16,channels=32")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CellSpace(1, NB201_OPS), "n_nodes must be an integer >= 2, got 1"),
        (lambda: CellSpace(4.0, NB201_OPS), "n_nodes must be an integer >= 2, got 4.0"),
        (lambda: CellSpace(4, []), "ops must name at least one operation"),
        (lambda: CellSpace(4, ["a|b"]), "operation name 'a|b' must be a non-empty string"),
        (lambda: CellSpace(4, ["a", "a"]), "choices must be distinct"),
        (
            lambda: CellSpace(4, NB201_OPS, extra=[Int("edge_x", 1, 2)]),
            "extra dimension 'edge_x' must not start with 'edge_'",
        ),
    ],
)
def test_bad_cells_raise(make: object, message: str) -> None:
    with pytest.raises(SpaceError) as err:
        make()  # type: ignore[operator]
    assert message in str(err.value)
