"""Look at a search: matplotlib plots, a cell drawn as a graph, the architecture weights of a
one-shot search, and a live web dashboard.

The plots take an :class:`~nasforge.Experiment`, a stored experiment or a list of trials; the
dashboard (:func:`nasforge.viz.dashboard.create_app`, ``nasforge dashboard``) reads a store
while a search writes to it.
"""

from __future__ import annotations

from nasforge.viz._data import op_counts as _op_counts
from nasforge.viz._data import resolve
from nasforge.viz.arch_weights import plot_arch_weights
from nasforge.viz.cell import cell_graphs, cell_layout, cell_svg, draw_cell
from nasforge.viz.lineage import plot_lineage
from nasforge.viz.plots import (
    PLOT_KINDS,
    plot,
    plot_cell,
    plot_curves,
    plot_history,
    plot_hypervolume,
    plot_ops,
    plot_pareto,
)


def op_counts(source: object, top_k: int | None = 10) -> dict[str, dict[str, int]]:
    """Per categorical dimension (e.g. cell edge), how often the ``top_k`` best complete trials of
    ``source`` (an experiment or a list of trials) picked each value."""
    return _op_counts(resolve(source), top_k)  # type: ignore[arg-type]


__all__ = [
    "PLOT_KINDS",
    "cell_graphs",
    "cell_layout",
    "cell_svg",
    "draw_cell",
    "op_counts",
    "plot",
    "plot_arch_weights",
    "plot_cell",
    "plot_curves",
    "plot_history",
    "plot_hypervolume",
    "plot_lineage",
    "plot_ops",
    "plot_pareto",
]
