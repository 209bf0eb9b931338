"""A cell arch as a graph: edges parsed from keys and archs alike, drawn as SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from viz_trials import SPACE, key

from nasforge.errors import ConfigError
from nasforge.viz import cell_edges, cell_layout, cell_svg

BEST = key("nor_conv_3x3", "skip_connect", "avg_pool_3x3", "none", "nor_conv_3x3", "none")


def test_edges_of_a_key_and_of_its_arch_agree() -> None:
    from_key = cell_edges(BEST)
    assert from_key == cell_edges(SPACE.parse(BEST))
    n_nodes, edges = from_key
    assert n_nodes == 4
    assert edges == [
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
    with pytest.raises(ConfigError, match="is not a cell string"):
        cell_edges(bad)


def test_an_arch_without_edges_names_its_dimensions() -> None:
    with pytest.raises(ConfigError, match="its dimensions: lr, depth"):
        cell_edges({"lr": 0.1, "depth": 3})
