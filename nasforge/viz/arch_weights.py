"""How a one-shot search's architecture weights evolved, epoch by epoch (matplotlib).

Up to :data:`~nasforge.viz._epochs.MAX_PANELS` choices (cell edges), a small panel per choice
with a line per candidate; above that, a heatmap of the last epoch's distributions beside the
probability of each choice's strongest candidate over the epochs.

Example:
    >>> from nasforge.viz import plot_arch_weights
    >>> records = [
    ...     {"epoch": e, "derived": "a", "trial": e - 1,
    ...      "weights": {"edge": {"conv": 0.5 + 0.1 * e, "skip": 0.5 - 0.1 * e}}}
    ...     for e in (1, 2, 3)
    ... ]
    >>> fig = plot_arch_weights(records, method="darts")
    >>> sorted(line.get_gid() for line in fig.axes[0].lines if line.get_label() != "uniform")
    ['weight-edge-conv', 'weight-edge-skip']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.space import Space
from nasforge.viz import _data, _epochs
from nasforge.viz._figure import figure, finish

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: panels per row of the small-multiples layout
PANEL_COLUMNS = 4


def plot_arch_weights(
    source: Any,
    out: str | Path | None = None,
    *,
    method: str | None = None,
    space: Space | None = None,
) -> Figure:
    """The architecture weights a one-shot search stored after each supernet epoch.

    ``source`` is an :class:`~nasforge.Experiment`, a stored experiment or a list of epoch
    records (the ``info`` of its ``oneshot_epoch`` artifacts). Each choice gets a panel with
    its candidates' probabilities against the epoch (the dotted line is the uniform
    distribution it starts from); with more than 16 choices, a heatmap of the last epoch's
    distributions (choices x candidates) and each choice's strongest probability per epoch
    instead. The title names the method and the epoch the derived arch came from.

    Choices that decide a cell edge are named by the edge (``0→2``), as in
    :func:`~nasforge.viz.plot_ops`. Raises ``ConfigError`` when the experiment stored no
    epochs (it was not a one-shot search).
    """
    data = _epochs.load_arch_weights(source, method)
    space = space or _data.space_of(source)
    names = _data.dimension_labels(data.labels, space, data.derived[-1:])
    fig = _panels(data, names) if data.layout == "panels" else _heatmap(data, names)
    title = data.caption()
    if data.name:
        title = f"{data.name}: {title}"
    if data.derived[-1]:
        title += f"\n{_epochs.shorten(data.derived[-1], 110)}"
    fig.suptitle(title, fontsize=10)
    return finish(fig, out)


def _panels(data: _epochs.ArchWeights, names: Sequence[str]) -> Figure:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    n = len(data.labels)
    ncols = min(PANEL_COLUMNS, n)
    nrows = math.ceil(n / ncols)
    fig = figure(3.0 * ncols + 1.8, 2.3 * nrows + 1.0, ncols=ncols, nrows=nrows, sharey=True)
    axes = list(fig.axes)
    for unused in axes[n:]:
        unused.remove()
    colors = _colors(data.candidates)
    marker = "o" if len(data.epochs) <= 30 else None
    for i, (ax, label, shown) in enumerate(zip(axes, data.labels, names, strict=False)):
        by_candidate = data.weights[label]
        for candidate, probs in by_candidate.items():
            xs, ys = _present(data.epochs, probs)
            ax.plot(
                xs,
                ys,
                color=colors[candidate],
                marker=marker,
                ms=3,
                lw=1.4,
                label=candidate,
                gid=f"weight-{label}-{candidate}",
            )
        ax.axhline(1 / len(by_candidate), color="grey", ls=":", lw=0.8, label="uniform")
        ax.set_title(shown, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel("probability")
        if i >= n - ncols:
            ax.set_xlabel("epoch")
    handles = [Line2D([], [], color=colors[c], marker=marker, ms=3, label=c) for c in colors]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, title="candidate")
    return fig


def _heatmap(data: _epochs.ArchWeights, names: Sequence[str]) -> Figure:
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    n, candidates = len(data.labels), data.candidates
    fig = figure(13, max(4.5, 0.2 * n + 2.0), ncols=2)
    heat, lines = fig.axes
    final = data.final()
    matrix = np.array(
        [[_nan(final[label].get(c)) for c in candidates] for label in data.labels], dtype=float
    )
    image = heat.imshow(matrix, aspect="auto", cmap="viridis", vmin=0.0, interpolation="nearest")
    image.set_gid("final-weights")
    small = 8 if n <= 40 else 6
    heat.set_yticks(range(n), list(names), fontsize=small)
    heat.set_xticks(range(len(candidates)), candidates, rotation=40, ha="right", fontsize=8)
    heat.set_title(f"distributions at epoch {data.epochs[-1]}", fontsize=9)
    fig.colorbar(image, ax=heat, label="probability", shrink=0.8)
    strongest = data.strongest()
    for label, series in strongest.items():
        xs, ys = _present(data.epochs, series)
        lines.plot(xs, ys, color="#1f77b4", alpha=0.35, lw=1, gid=f"strongest-{label}")
    _mean_line(lines, data.epochs, list(strongest.values()))
    lines.set_xlabel("epoch")
    lines.set_ylabel("probability of the strongest candidate")
    lines.set_title(f"each of the {n} choices (blue) and their mean", fontsize=9)
    lines.xaxis.set_major_locator(MaxNLocator(integer=True))
    lines.grid(alpha=0.3)
    return fig


def _mean_line(ax: Axes, epochs: Sequence[int], series: Sequence[Sequence[float | None]]) -> None:
    xs, ys = [], []
    for i, epoch in enumerate(epochs):
        values = [s[i] for s in series if s[i] is not None]
        if values:
            xs.append(epoch)
            ys.append(sum(values) / len(values))  # type: ignore[arg-type]
    ax.plot(xs, ys, color="black", lw=2, label="mean over choices", gid="strongest-mean")
    ax.legend(fontsize=8)


def _colors(candidates: Sequence[str]) -> dict[str, str]:
    """One colour per candidate, the same in every panel."""
    palette = [f"C{i}" for i in range(10)]
    return {c: palette[i % len(palette)] for i, c in enumerate(candidates)}


def _present(
    epochs: Sequence[int], values: Sequence[float | None]
) -> tuple[list[int], list[float]]:
    pairs = [(e, v) for e, v in zip(epochs, values, strict=True) if v is not None]
    return [e for e, _ in pairs], [v for _, v in pairs]


def _nan(value: float | None) -> float:
    return math.nan if value is None else value
