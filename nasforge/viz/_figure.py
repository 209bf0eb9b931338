"""Making and writing the plots' figures, without ``pyplot`` (no global figure state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox


def figure(
    width: float, height: float, ncols: int = 1, nrows: int = 1, sharey: bool = False
) -> Figure:
    """A figure of ``nrows`` x ``ncols`` axes with a constrained layout (``sharey``: one
    y range for all)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    fig.subplots(nrows, ncols, sharey=sharey)
    return fig


def finish(fig: Figure, out: str | Path | None) -> Figure:
    """Write ``fig`` to ``out`` (PNG, SVG or PDF by the suffix) when given; returns it."""
    if out is not None:
        path = Path(out)
        if path.parent and not path.parent.exists():
            raise ConfigError(f"out: folder {str(path.parent)!r} does not exist")
        fig.savefig(path, dpi=120)
    return fig


#: where a point's label may go, in points from the point, tried in this order
LABEL_OFFSETS = ((4, 4), (4, -11), (-12, 4), (-12, -11), (4, 12), (-12, -19))


def place_labels(
    ax: Axes, points: Sequence[tuple[float, float]], texts: Sequence[str], **style: Any
) -> list[Annotation]:
    """Label each point with its text where the label overlaps no label placed before it
    (trying :data:`LABEL_OFFSETS` in turn); a label that fits nowhere is left out. Returns the
    labels drawn, in the order of ``points``.

    Overlaps are judged on the figure as laid out now (the layout is run once first).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = ax.figure
    assert isinstance(fig, Figure)
    labels = [
        ax.annotate(text, xy, textcoords="offset points", xytext=LABEL_OFFSETS[0], **style)
        for xy, text in zip(points, texts, strict=True)
    ]
    if not labels:
        return []

    canvas = FigureCanvasAgg(fig)  # a renderer to measure text with; savefig still picks its own
    fig.draw_without_rendering()  # runs the constrained layout: boxes as they will be drawn
    renderer = canvas.get_renderer()
    placed: list[Bbox] = []
    kept = []
    for label in labels:
        for offset in LABEL_OFFSETS:
            label.xyann = offset
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                placed.append(box)
                kept.append(label)
                break
        else:
            label.remove()
    return kept
