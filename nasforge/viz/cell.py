"""A cell drawn as a graph: nodes ``0..n-1`` left to right, one arc per edge.

What is drawn is a :class:`~nasforge.space.CellGraph`: the cells a space states for an arch
(``space.cells(arch)``), or, for a stored key whose space is unknown, the NAS-Bench-201 cell
its key spells (:func:`~nasforge.space.cell_graph_from_key`). Edges whose operation is
``none`` (the zero operation) carry nothing and are left out of the drawing, as in
NAS-Bench-201's figures; an edge out of a node that receives nothing (every edge into it is
``none``) is *dead*: it is drawn grey and dashed, and the legend says why.
The layout is computed once (:func:`cell_layout`) and drawn either with matplotlib
(:func:`draw_cell`) or as a standalone SVG string (:func:`cell_svg`, used by the dashboard);
networkx is not needed for a graph this small and regular.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from nasforge.errors import ConfigError
from nasforge.space import CellGraph, CellStringError, Space, cell_graph_from_key

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: what the drawing functions take: a cell, or an arch (its key, or an ``Arch``) whose cells
#: come from ``space`` (without a space: its key in NAS-Bench-201 notation)
CellLike: TypeAlias = CellGraph | Mapping[str, Any] | str
_NODE_SPACING, _NODE_RADIUS, _ARC_RISE, _LABEL_LIFT = 170.0, 20.0, 46.0, 14.0
#: one colour per operation, in order of first appearance in a drawing
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
#: the colour of a dead edge (one out of a node that receives nothing)
DEAD_COLOR = "#9a9a9a"
#: what the legend says of a dead edge
DEAD_LABEL = "dead: from a node that receives nothing"


@dataclass(frozen=True)
class Edge:
    """One drawn edge: from ``src`` into ``dst`` with ``op``; ``control`` bends the arc and
    ``label_at`` is the arc's midpoint (all in drawing units, y pointing up); ``dead``: its
    source node receives nothing, so it carries nothing either."""

    src: int
    dst: int
    op: str
    start: tuple[float, float]
    end: tuple[float, float]
    control: tuple[float, float]
    label_at: tuple[float, float]
    dead: bool = False


@dataclass(frozen=True)
class CellLayout:
    """Node centres and edges of one cell drawing; the drawing reaches ``top`` above the
    row of nodes and ``height - top`` below it."""

    nodes: list[tuple[float, float]]
    edges: list[Edge]
    width: float
    height: float
    top: float = 0.0


def cell_graphs(arch: CellLike, space: Space | None = None) -> tuple[CellGraph, ...]:
    """The cells to draw for ``arch``: itself if it is a :class:`CellGraph`, else the
    ``space``'s cells of the arch, else (no space) the cell its key spells in NAS-Bench-201
    notation.

    Raises:
        ConfigError: the space states no cells, or without a space the arch's key is not a
            cell string (one line, naming the arch).
    """
    if isinstance(arch, CellGraph):
        return (arch,)
    key = arch if isinstance(arch, str) else getattr(arch, "key", None)
    if space is not None:
        made = space.parse(key) if isinstance(key, str) else space.make(arch)  # type: ignore[arg-type]
        cells = space.cells(made)
        if not cells:
            raise ConfigError(
                f"space {space.name!r} states no cells to draw; its dimensions: "
                f"{', '.join(space.names)}"
            )
        return cells
    if not isinstance(key, str):
        dims = ", ".join(map(str, arch)) or "none"
        raise ConfigError(
            f"arch has no key and no space was given to find its cells; its dimensions: {dims}"
        )
    try:
        return (cell_graph_from_key(key),)
    except CellStringError as exc:
        raise ConfigError(
            f"arch {key!r} is not a cell string like '|op~0|+|op~0|op~1|' ({exc.reason}); "
            "pass its space to draw the cells it states"
        ) from None


def cell_layout(
    cell: CellLike, omit: tuple[str, ...] = ("none",), *, space: Space | None = None
) -> CellLayout:
    """Positions of the nodes and the arcs of the edges whose op is not in ``omit``, for
    ``cell`` (the first cell of an arch with several; see :func:`cell_graphs`).

    Neighbouring nodes are joined by a straight line; an edge that skips ``k`` nodes bows
    above (even source) or below (odd source) the row by a height growing with ``k``, so arcs
    between the same span never overlap. An edge out of a node that receives nothing (no
    edge into it from a live node has an op outside ``omit``) is marked ``dead``.
    """
    graph = cell_graphs(cell, space)[0]
    n_nodes = graph.n_nodes
    nodes = [(i * _NODE_SPACING, 0.0) for i in range(n_nodes)]
    live = set(graph.inputs)
    for node in range(n_nodes):  # edges go forward: a node's sources are decided before it
        if any(e.src in live and str(e.op) not in omit for e in graph.incoming(node)):
            live.add(node)
    drawn = []
    rise_up = rise_down = 0.0
    for edge in sorted(graph.edges, key=lambda e: (e.dst, e.src)):
        src, dst, op = edge.src, edge.dst, str(edge.op)
        if op in omit:
            continue
        span = dst - src
        side = 1.0 if (src % 2 == 0) else -1.0
        rise = 0.0 if span == 1 else side * _ARC_RISE * (span - 1) * 1.6
        rise_up, rise_down = max(rise_up, rise), max(rise_down, -rise)
        (x0, _), (x1, _) = nodes[src], nodes[dst]
        control = ((x0 + x1) / 2, 2 * rise)  # a quadratic Bezier's midpoint is half the control
        label_y = rise if rise else _LABEL_LIFT  # above a straight line, not on top of it
        label_at = ((x0 + x1) / 2, label_y)
        dead = src not in live
        drawn.append(Edge(src, dst, op, (x0, 0.0), (x1, 0.0), control, label_at, dead))
    width = (n_nodes - 1) * _NODE_SPACING
    margin = 2 * _NODE_RADIUS  # room for a node's circle, or a label above a straight edge
    return CellLayout(nodes, drawn, width, rise_up + rise_down + 2 * margin, rise_up + margin)


def op_colors(layout: CellLayout) -> dict[str, str]:
    """A colour per operation in the drawing, in alphabetical order of the ops."""
    ops = sorted({e.op for e in layout.edges})
    return {op: PALETTE[i % len(PALETTE)] for i, op in enumerate(ops)}


def draw_cell(
    ax: Axes, cell: CellLike, title: str | None = None, *, space: Space | None = None
) -> CellLayout:
    """Draw ``cell`` (the first cell of an arch with several) on a matplotlib ``ax``; returns
    the layout it drew. Dead edges are grey and dashed, and then a legend says what that
    means."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch

    layout = cell_layout(cell, space=space)
    colors = op_colors(layout)
    for e in layout.edges:
        color = DEAD_COLOR if e.dead else colors[e.op]
        rad = 0.0
        if e.control[1] != 0.0:  # arc3's rad is the bend relative to the chord, signed
            rad = -e.control[1] / (e.end[0] - e.start[0])
        ax.add_patch(
            FancyArrowPatch(
                e.start,
                e.end,
                connectionstyle=f"arc3,rad={rad:.4f}",
                arrowstyle="-|>",
                mutation_scale=14,
                shrinkA=_NODE_RADIUS,
                shrinkB=_NODE_RADIUS,
                color=color,
                linewidth=1.2 if e.dead else 2,
                linestyle="--" if e.dead else "-",
                gid=f"edge {e.src}->{e.dst}",
            )
        )
        ax.text(
            *e.label_at,
            e.op,
            ha="center",
            va="center",
            fontsize=8,
            color=color,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": color, "lw": 0.8},
            gid="edge-label",
        )
    for i, (x, y) in enumerate(layout.nodes):
        ax.add_patch(Circle((x, y), _NODE_RADIUS, fc="#f0f0f0", ec="black", zorder=3, gid="node"))
        ax.text(x, y, str(i), ha="center", va="center", zorder=4, fontsize=11, gid="node-label")
    pad = _NODE_RADIUS
    ax.set_xlim(-2 * pad, layout.width + 2 * pad)
    ax.set_ylim(layout.top - layout.height - pad, layout.top + pad)
    ax.set_aspect("equal")
    ax.axis("off")
    if any(e.dead for e in layout.edges):
        dead = Line2D([], [], color=DEAD_COLOR, linestyle="--", linewidth=1.2, label=DEAD_LABEL)
        ax.legend(handles=[dead], loc="lower right", fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    return layout


def cell_aspect(cell: CellLike, *, space: Space | None = None) -> float:
    """Height over width of :func:`draw_cell`'s drawing of ``cell``: what a figure needs to
    hold it without empty bands."""
    layout = cell_layout(cell, space=space)
    return (layout.height + 2 * _NODE_RADIUS) / (layout.width + 4 * _NODE_RADIUS)


def cell_svg(cell: CellLike, title: str | None = None, *, space: Space | None = None) -> str:
    """The cells of ``cell`` (see :func:`cell_graphs`) as one standalone ``<svg>`` element (no
    script, no external refs); several cells are stacked, each titled with its name."""
    graphs = cell_graphs(cell, space)
    if len(graphs) == 1:
        return _one_svg(graphs[0], title)[0]
    parts, y, width = [], 0.0, 0.0
    for k, graph in enumerate(graphs):
        name = f"{title}: {graph.name}" if title else graph.name
        svg, w, h = _one_svg(graph, name, at_y=y, ids=f"c{k}-")
        parts.append(svg)
        y, width = y + h, max(width, w)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cell-graphs" '
        f'viewBox="0 0 {width:.0f} {y:.0f}" width="{width:.0f}" height="{y:.0f}" role="img">'
        + "".join(parts)
        + "</svg>"
    )


def _one_svg(
    graph: CellGraph, title: str | None, at_y: float | None = None, ids: str = ""
) -> tuple[str, float, float]:
    """One cell's ``<svg>`` with its width and height; ``at_y`` places it inside another SVG and
    ``ids`` prefixes its marker ids (unique within that SVG)."""
    layout = cell_layout(graph)
    colors = op_colors(layout)
    pad = 2 * _NODE_RADIUS
    top = layout.top + pad
    width, height = layout.width + 2 * pad, layout.height + 2 * pad
    title_h = 18.0 if title else 0.0

    def at(point: tuple[float, float]) -> str:  # drawing units (y up) to SVG (y down)
        return f"{point[0] + pad:.1f},{top - point[1] + title_h:.1f}"

    place = "" if at_y is None else f'y="{at_y:.0f}" '
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cell-graph" {place}'
        f'viewBox="0 0 {width:.0f} {height + title_h:.0f}" width="{width:.0f}" '
        f'height="{height + title_h:.0f}" role="img">',
        "<defs>",
    ]
    for op, color in colors.items():
        parts.append(
            f'<marker id="arrow-{ids}{_ident(op)}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
        )
    parts.append("</defs>")
    if title:
        parts.append(
            f'<text x="{width / 2:.1f}" y="13" text-anchor="middle" font-size="12" '
            f'font-family="sans-serif">{html.escape(title)}</text>'
        )
    for e in layout.edges:
        start, end = _trim(e, _NODE_RADIUS)
        parts.append(
            f'<path class="edge" data-src="{e.src}" data-dst="{e.dst}" '
            f'data-op="{html.escape(e.op)}" '
            f'd="M{at(start)} Q{at(e.control)} {at(end)}" fill="none" '
            + (
                f'stroke="{DEAD_COLOR}" stroke-width="1.5" stroke-dasharray="5 4" data-dead="1" '
                if e.dead
                else f'stroke="{colors[e.op]}" stroke-width="2" '
            )
            + f'marker-end="url(#arrow-{ids}{_ident(e.op)})"/>'
        )
    for e in layout.edges:
        x, y = at(e.label_at).split(",")
        parts.append(
            f'<text class="edge-label" x="{x}" y="{y}" text-anchor="middle" '
            f'dominant-baseline="middle" font-size="11" font-family="sans-serif" '
            f'fill="{DEAD_COLOR if e.dead else colors[e.op]}" stroke="white" stroke-width="3" '
            'paint-order="stroke">'
            f"{html.escape(e.op)}</text>"
        )
    for i, node in enumerate(layout.nodes):
        x, y = at(node).split(",")
        parts.append(
            f'<circle class="node" cx="{x}" cy="{y}" r="{_NODE_RADIUS:.0f}" fill="#f0f0f0" '
            f'stroke="black"/><text x="{x}" y="{y}" text-anchor="middle" '
            f'dominant-baseline="central" font-size="13" font-family="sans-serif">{i}</text>'
        )
    parts.append("</svg>")
    return "".join(parts), width, height + title_h


def _trim(edge: Edge, radius: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """End points moved ``radius`` along the curve's tangents, so arrows stop at the circles."""
    import math

    def toward(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
        dx, dy = q[0] - p[0], q[1] - p[1]
        norm = math.hypot(dx, dy) or 1.0
        return p[0] + radius * dx / norm, p[1] + radius * dy / norm

    return toward(edge.start, edge.control), toward(edge.end, edge.control)


def _ident(op: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", op)
