"""Making and writing the plots' figures, without ``pyplot`` (no global figure state)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nasforge.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
