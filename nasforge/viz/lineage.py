"""An experiment's lineage: which trial each child was mutated from (matplotlib).

Each complete trial is a point (trial number across, the ranking metric up); a line joins each
child to its parent (:mod:`nasforge.experiment.lineage`), solid when the child inherited some
of its parent's weights and dotted when it trained from scratch; the ancestry of the best trial
is drawn in red. ``nasforge plot NAME --kind lineage`` draws it from a store.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError
from nasforge.viz import _data
from nasforge.viz._figure import figure, finish

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def load_lineage(source: Any) -> dict[int, dict[str, Any]]:
    """``{child: {"parent": number, "reused": [...], ...}}`` of an experiment (live or stored:
    anything with ``storage`` and ``record``)."""
    from nasforge.experiment.lineage import lineage

    storage, record = getattr(source, "storage", None), getattr(source, "record", None)
    if storage is None or record is None:
        raise ConfigError(
            f"expected an Experiment or a stored experiment, got {type(source).__name__}"
        )
    return lineage(storage, record.id)


def plot_lineage(source: Any, out: str | Path | None = None) -> Figure:
    """The parent-to-child lineage of ``source``'s trials (see the module docstring).

    Raises ``ConfigError`` when no trial names a parent (the strategy does not mutate, or
    nothing was mutated yet).
    """
    parents = load_lineage(source)
    src = _data.resolve(source)
    if not parents:
        raise ConfigError(
            f"{src.name or 'the experiment'} has no lineage: no trial was mutated from another "
            "(use an evolution strategy such as large-scale-evolution)"
        )
    value: dict[int, float] = {}
    for t in src.trials:
        measured = _data.metric_value(t, src.metric)
        if measured is not None:
            value[t.number] = measured
    fig = figure(9.0, 4.8)
    ax = fig.axes[0]
    for child, info in sorted(parents.items()):
        parent = info["parent"]
        if child not in value or parent not in value:
            continue
        style = "-" if info.get("reused") else ":"
        ax.plot([parent, child], [value[parent], value[child]], style, color="0.6", lw=0.8)
    shown = list(value.items())
    if shown:
        xs, ys = zip(*shown, strict=True)
        ax.scatter(xs, ys, s=14, color="tab:blue", zorder=3, label="trial")
        best = (max if src.direction == "max" else min)(shown, key=lambda p: p[1])[0]
        line, node = [best], best
        while node in parents and parents[node]["parent"] not in line:
            node = parents[node]["parent"]
            line.append(node)
        kept = [n for n in line if n in value]
        ax.plot(
            kept,
            [value[n] for n in kept],
            "-o",
            color="tab:red",
            ms=4,
            zorder=4,
            label=f"ancestry of the best (trial {best})",
        )
    ax.set_xlabel("trial")
    ax.set_ylabel(src.metric)
    inherited = sum(1 for info in parents.values() if info.get("reused"))
    title = f"lineage: {len(parents)} children, {inherited} inherited weights"
    ax.set_title(f"{src.name}: {title}" if src.name else title)
    ax.legend(loc="lower right", fontsize=8)
    return finish(fig, out)


__all__ = ["load_lineage", "plot_lineage"]
