"""A cell drawn as a graph: the cells a space states, or the cell a stored key spells, as SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from viz_trials import SPACE, TwoCells, key

from nasforge.errors import ConfigError
from nasforge.space import Categorical, CellGraph, Space
from nasforge.testing.spaces import LadderSpace
from nasforge.viz import cell_graphs, cell_layout, cell_svg

BEST = key("nor_conv_3x3", "skip_connect", "avg_pool_3x3", "none", "nor_conv_3x3", "none")


def edges(graph: CellGraph) -> list[tuple[int, int, str | None]]:
    return [(e.src, e.dst, e.op) for e in graph.edges]


def test_the_cell_of_a_key_and_of_its_arch_in_its_space_agree() -> None:
    (from_key,) = cell_graphs(BEST)
    (from_space,) = cell_graphs(SPACE.parse(BEST), SPACE)
    assert cell_graphs(SPACE.parse(BEST)) == (from_key,)  # an Arch without a space: its key
    assert edges(from_key) == edges(from_space) and from_key.n_nodes == 4
    assert cell_graphs(from_space) == (from_space,)
    assert cell_svg(BEST) == cell_svg(from_space) == cell_svg(BEST, space=SPACE)
    assert edges(from_key) == [
        (0, 1, "nor_conv_3x3"),
        (0, 2, "skip_connect"),
        (1, 2, "avg_pool_3x3"),
        (0, 3, "none"),
        (1, 3, "nor_conv_3x3"),
        (2, 3, "none"),
    ]


def test_layout_omits_none_edges_and_bends_only_skipping_edges() -> None:
    layout = cell_layout(BEST)
    assert [(e.src, e.dst) for e in layout.edges] == [(0, 1), (0, 2), (1, 2), (1, 3)]
    bends = {(e.src, e.dst): e.control[1] for e in layout.edges}
    assert bends[(0, 1)] == bends[(1, 2)] == 0.0
    assert bends[(0, 2)] > 0 > bends[(1, 3)]  # one above the row, one below: no overlap
    assert [x for x, _ in layout.nodes] == sorted(x for x, _ in layout.nodes)


def test_svg_has_one_path_and_label_per_drawn_edge() -> None:
    svg = cell_svg(BEST, title="trial <3>")
    root = ET.fromstring(svg)  # well-formed XML, title escaped
    ns = "{http://www.w3.org/2000/svg}"
    paths = root.findall(f"{ns}path[@class='edge']")
    assert sorted((p.get("data-src"), p.get("data-dst"), p.get("data-op")) for p in paths) == [
        ("0", "1", "nor_conv_3x3"),
        ("0", "2", "skip_connect"),
        ("1", "2", "avg_pool_3x3"),
        ("1", "3", "nor_conv_3x3"),
    ]
    labels = [t.text for t in root.findall(f"{ns}text[@class='edge-label']")]
    assert sorted(labels) == ["avg_pool_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect"]
    assert len(root.findall(f"{ns}circle[@class='node']")) == 4
    assert "trial &lt;3&gt;" in svg and "<script" not in svg
    # the same op has the same colour wherever it appears
    colors = {p.get("data-op"): p.get("stroke") for p in paths}
    assert len(set(colors.values())) == 3
    assert re.search(r'viewBox="0 0 \d+ \d+"', svg)


@pytest.mark.parametrize("bad", ["not a cell", "|conv~x|", "|~0|"])
def test_bad_keys_are_one_line_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="is not a cell string") as err:
        cell_graphs(bad)
    assert "\n" not in str(err.value)


def test_an_arch_without_cells_names_its_dimensions() -> None:
    with pytest.raises(ConfigError, match="its dimensions: lr, depth"):
        cell_graphs({"lr": 0.1, "depth": 3})
    plain = Space([Categorical("lr", [0.1, 0.2]), Categorical("depth", [3, 4])], name="plain")
    with pytest.raises(ConfigError, match="space 'plain' states no cells to draw; its dim"):
        cell_graphs("lr=0.1,depth=3", plain)


def test_a_cell_of_another_form_is_drawn_from_its_space() -> None:
    space = LadderSpace()
    arch = space.make({"a": "conv", "b": "pool", "c": "zero", "lr": 0.1})
    layout = cell_layout(arch.key, omit=("zero",), space=space)
    assert [(e.src, e.dst, e.op) for e in layout.edges] == [(0, 1, "conv"), (1, 2, "pool")]


def test_several_cells_are_stacked_in_one_svg() -> None:
    space = TwoCells()
    svg = cell_svg(space.make({"n": "conv", "r": "conv"}).key, title="best", space=space)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    inner = root.findall(f"{ns}svg")
    assert [s.get("y") for s in inner] == ["0", inner[0].get("height")]
    titles = [t.text for s in inner for t in s.findall(f"{ns}text") if t.get("class") is None][:1]
    assert titles == ["best: normal"] and "best: reduce" in svg
    # marker ids stay unique although both cells use "conv"
    ids = [m.get("id") for m in root.iter(f"{ns}marker")]
    assert len(ids) == len(set(ids)) == 2


def test_edges_out_of_a_node_that_receives_nothing_are_dead() -> None:
    # node 1 receives only a `none` edge: its edges to 2 and 3 carry nothing
    cut = key("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "none")
    layout = cell_layout(cut)
    assert {(e.src, e.dst) for e in layout.edges if e.dead} == {(1, 2), (1, 3)}
    assert not any(e.dead for e in cell_layout(BEST).edges)
    root = ET.fromstring(cell_svg(cut))
    dashed = root.findall("{http://www.w3.org/2000/svg}path[@data-dead='1']")
    assert sorted((p.get("data-src"), p.get("data-dst")) for p in dashed) == [
        ("1", "2"),
        ("1", "3"),
    ]
    assert all(p.get("stroke-dasharray") for p in dashed)


def test_the_cell_plot_greys_dead_edges_and_fits_the_drawing() -> None:
    from matplotlib.patches import FancyArrowPatch

    from nasforge.viz import plot_cell
    from nasforge.viz.cell import DEAD_COLOR, DEAD_LABEL

    cut = key("none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "none")
    fig = plot_cell(cut)
    ax = fig.axes[0]
    arrows = {p.get_gid(): p for p in ax.patches if isinstance(p, FancyArrowPatch)}
    assert arrows["edge 1->2"].get_linestyle() == "--"
    assert arrows["edge 0->2"].get_linestyle() == "-"
    grey = tuple(int(DEAD_COLOR[i : i + 2], 16) / 255 for i in (1, 3, 5))
    assert tuple(arrows["edge 1->3"].get_edgecolor()[:3]) == pytest.approx(grey)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [DEAD_LABEL]
    assert ax.get_legend() is not None and plot_cell(BEST).axes[0].get_legend() is None
    # arcs rise 147 above the row and 74 below it: the view is not padded to the taller side
    bottom, top = ax.get_ylim()
    assert -bottom < 0.7 * top
