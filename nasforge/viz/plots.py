"""Matplotlib plots of a search: history, learning curves, operation frequency, Pareto front and
hypervolume, cell.

Each ``plot_*`` takes an :class:`~nasforge.Experiment`, a stored experiment
(:func:`~nasforge.experiment.load_experiment`) or a list of :class:`~nasforge.trial.Trial`,
returns a :class:`matplotlib.figure.Figure` and, with ``out=``, also writes it (PNG, SVG or PDF
by the file's suffix). Figures are made without ``pyplot``, so no global figure state is
touched and nothing needs a display.

The plot of kind ``arch-weights`` (how a one-shot search's architecture weights evolved) is
:func:`~nasforge.viz.arch_weights.plot_arch_weights`; :func:`plot` picks it by name too.

Example:
    >>> import nasforge as nf
    >>> from nasforge.viz import plot_history
    >>> space = nf.CellSpace(4, ["skip_connect", "nor_conv_3x3"])
    >>> exp = nf.Experiment(space, strategy="random",
    ...                     evaluator=lambda a: {"convs": a.key.count("conv")},
    ...                     objectives={"convs": "max"}, storage="sqlite:///:memory:")
    >>> _ = exp.run(max_trials=5, progress=False)
    >>> fig = plot_history(exp)
    >>> len(fig.axes)
    2
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nasforge.errors import ConfigError
from nasforge.space import CellGraph, Space
from nasforge.trial import Trial, TrialStatus
from nasforge.viz import _data
from nasforge.viz._figure import figure as _figure
from nasforge.viz._figure import finish as _finish
from nasforge.viz._figure import place_labels as _place_labels
from nasforge.viz.arch_weights import plot_arch_weights
from nasforge.viz.cell import cell_aspect, cell_graphs, draw_cell
from nasforge.viz.lineage import plot_lineage

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from nasforge.experiment.front import ParetoSummary

STATUS_STYLE: dict[str, dict[str, Any]] = {
    "complete": {"color": "#1f77b4", "marker": "o"},
    "pruned": {"color": "#ff7f0e", "marker": "x"},
    "failed": {"color": "#d62728", "marker": "v"},
}
PLOT_KINDS = (
    "history",
    "curves",
    "ops",
    "pareto",
    "hypervolume",
    "cell",
    "arch-weights",
    "lineage",
)


def plot_history(
    source: Any,
    metric: str | None = None,
    objectives: Mapping[str, str] | None = None,
    out: str | Path | None = None,
) -> Figure:
    """Each finished trial's value and the best so far, against trial number and wall time.

    Complete trials are dots, pruned trials crosses at the last value they reported, failed
    trials triangles on the lower edge (they have no value); the step line is the best value
    among complete trials so far (``max`` or ``min`` as the objective says).
    """
    src = _data.resolve(source, objectives)
    metric = metric or src.metric
    direction = src.objectives.get(metric, "max")
    points = _data.history(src, metric)
    fig = _figure(11, 4, ncols=2)
    by_number, by_time = fig.axes
    values = [p.value for p in points if p.value is not None]
    floor = min(values) if values else 0.0
    for ax, xs in (
        (by_number, [p.number for p in points]),
        (by_time, [p.elapsed_s for p in points]),
    ):
        for status, style in STATUS_STYLE.items():
            chosen = [
                (x, p.value if p.value is not None else floor)
                for x, p in zip(xs, points, strict=True)
                if p.status == status and x is not None
            ]
            if chosen:
                ax.scatter(
                    [c[0] for c in chosen],
                    [c[1] for c in chosen],
                    label=f"{status} ({len(chosen)})",
                    s=22,
                    alpha=0.8,
                    gid=f"trials-{status}",
                    **style,
                )
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    best = [(p.number, p.best) for p in points if p.best is not None]
    if best:
        by_number.step(
            [b[0] for b in best],
            [b[1] for b in best],
            where="post",
            color="black",
            label="best so far",
            gid="best-by-number",
        )
    timed = _data.best_over_time(points, direction)
    if timed:
        by_time.step(
            [t[0] for t in timed],
            [t[1] for t in timed],
            where="post",
            color="black",
            label="best so far",
            gid="best-by-time",
        )
    by_number.set_xlabel("trial number")
    by_time.set_xlabel("wall time since the first trial started (s)")
    by_number.legend(fontsize=8)
    fig.suptitle(_title(src, f"{metric} ({direction})"))
    return _finish(fig, out)


def plot_curves(
    source: Any,
    metric: str | None = None,
    objectives: Mapping[str, str] | None = None,
    out: str | Path | None = None,
) -> Figure:
    """The intermediate values (learning curves) of every trial that reported any.

    Complete trials are solid blue lines, the best one thick black; pruned trials are dashed
    orange lines ending in a cross where they were stopped; others (failed, running) grey.
    """
    src = _data.resolve(source, objectives)
    metric = metric or src.metric
    best = _data.top_trials(src, 1)
    best_number = best[0].number if best else None
    fig = _figure(7, 4.5)
    ax = fig.axes[0]
    shown: set[str] = set()
    for c in _data.curves(src, metric):
        if c.number == best_number:
            style: dict[str, Any] = {"color": "black", "lw": 2.2, "zorder": 5}
            label = f"best (trial {c.number})"
        elif c.status == "complete":
            style, label = {"color": "#1f77b4", "lw": 1, "alpha": 0.6}, "complete"
        elif c.status == "pruned":
            style = {"color": "#ff7f0e", "lw": 1, "ls": "--", "alpha": 0.8}
            label = "pruned"
            ax.plot(c.steps[-1:], c.values[-1:], "x", color="#ff7f0e", gid=f"pruned-end-{c.number}")
        else:
            style, label = {"color": "grey", "lw": 1, "alpha": 0.6}, c.status
        ax.plot(
            c.steps,
            c.values,
            label=label if label not in shown else None,
            gid=f"curve-{c.number}",
            **style,
        )
        shown.add(label)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no 2.5
    ax.set_xlabel("step (epoch)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=8)
    else:
        ax.text(
            0.5, 0.5, "no trial reported intermediate values", ha="center", transform=ax.transAxes
        )
    fig.suptitle(_title(src, f"learning curves of {metric}"))
    return _finish(fig, out)


def plot_ops(
    source: Any,
    top_k: int = 10,
    objectives: Mapping[str, str] | None = None,
    out: str | Path | None = None,
    *,
    space: Space | None = None,
) -> Figure:
    """How often the ``top_k`` best complete trials pick each operation on each edge (each
    categorical dimension), as stacked bars; the bar heights are :func:`op_counts`'s.

    Bars of cell edges are labelled by the edge (``0→2``) when the space is known (a live or
    a stored experiment of a registered space, or ``space=``) or the keys are NAS-Bench-201
    cells, other dimensions by their names."""
    src = _data.resolve(source, objectives)
    counts = _data.op_counts(src, top_k)
    n_top = len(_data.top_trials(src, top_k))
    if not counts:
        raise ConfigError(
            f"no complete trial with categorical choices to count in {src.name or 'the trials'}"
        )
    names = list(counts)
    space = space or _data.space_of(source)
    labels = _data.dimension_labels(names, space, [t.arch.key for t in src.trials[:1]])
    ops = sorted({op for c in counts.values() for op in c})
    fig = _figure(max(6, 0.9 * len(names) + 3), 4.5)
    ax = fig.axes[0]
    bottom = [0] * len(names)
    for i, op in enumerate(ops):
        heights = [counts[n].get(op, 0) for n in names]
        ax.bar(
            labels,
            heights,
            bottom=bottom,
            label=op,
            color=f"C{i}",
            gid=f"op-{op}",
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel(f"count among the top {n_top}")
    ax.set_xlabel("edge (from→to node)" if labels[0] != names[0] else "dimension")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.suptitle(_title(src, f"operations of the {n_top} best trials"))
    return _finish(fig, out)


def plot_pareto(
    source: Any,
    x: str | None = None,
    y: str | None = None,
    objectives: Mapping[str, str] | None = None,
    out: str | Path | None = None,
    *,
    reference: Sequence[float] | None = None,
    ideal: Sequence[float] | None = None,
    nadir: Sequence[float] | None = None,
) -> Figure:
    """Complete trials on two objectives (default: the first two): the Pareto front of those
    two in red, joined by the staircase it dominates, the dominated trials in grey; the title
    gives the front's hypervolume over all objectives and how it was measured (``reference``,
    ``ideal``, ``nadir`` as :func:`~nasforge.experiment.front.pareto_summary` takes them;
    default: normalised by the front's own ideal and nadir, reference point 1.1)."""
    src = _data.resolve(source, objectives)
    data = _data.pareto(src, x, y)
    summary = _data.front_summary(src, reference, ideal, nadir)
    fig = _figure(6.5, 5)
    ax = fig.axes[0]
    where = {n: i for i, n in enumerate(data.numbers)}
    on_front = set(data.front)
    dominated = [i for i, n in enumerate(data.numbers) if n not in on_front]
    ax.scatter(
        [data.x[i] for i in dominated],
        [data.y[i] for i in dominated],
        s=18,
        color="#b8b8b8",
        label=f"dominated ({len(dominated)})",
        gid="dominated",
    )
    fx = [data.x[where[n]] for n in data.front]
    fy = [data.y[where[n]] for n in data.front]
    x_direction = src.objectives[data.x_metric]
    # the front is sorted by x: the staircase takes the y of the point that covers each step,
    # the one to its right when x is maximised, to its left when it is minimised
    staircase: Literal["pre", "post"] = "pre" if x_direction == "max" else "post"
    ax.step(fx, fy, where=staircase, color="#d62728", lw=1.2, gid="front-line")
    front = ax.scatter(fx, fy, s=36, color="#d62728", gid="front")
    ax.set_xlabel(f"{data.x_metric} ({x_direction})")
    ax.set_ylabel(f"{data.y_metric} ({src.objectives[data.y_metric]})")
    ax.grid(alpha=0.3)
    # trial numbers of the front, each where it overlaps no other; the legend counts the rest
    shown = _place_labels(ax, list(zip(fx, fy, strict=True)), [str(n) for n in data.front])
    for label in shown:
        label.set_gid("front-label")
    hidden = f"; {len(fx) - len(shown)} crowded unlabelled" if len(shown) < len(fx) else ""
    front.set_label(f"Pareto front ({len(fx)}{hidden}), labelled by trial")
    ax.legend(fontsize=8)
    volume = f"Pareto front, hypervolume {summary.hypervolume:.4g}\n({_how(summary)})"
    fig.suptitle(_title(src, volume), fontsize=10)
    return _finish(fig, out)


def plot_hypervolume(
    source: Any,
    objectives: Mapping[str, str] | None = None,
    out: str | Path | None = None,
    *,
    reference: Sequence[float] | None = None,
    ideal: Sequence[float] | None = None,
    nadir: Sequence[float] | None = None,
) -> Figure:
    """The hypervolume of the front of the complete trials so far, after each complete trial,
    against trial number and wall time; the setting it was measured under (see
    :func:`plot_pareto`) is written below."""
    src = _data.resolve(source, objectives)
    summary = _data.front_summary(src, reference, ideal, nadir)
    history = summary.history
    if not history.number:
        raise ConfigError(f"{_name(src)} has no complete trial with every objective yet")
    fig = _figure(11, 4.2, ncols=2, sharey=True)
    by_number, by_time = fig.axes
    for ax, xs, ys, gid in (
        (by_number, history.number, history.hypervolume, "hypervolume-by-number"),
        (by_time, history.elapsed_s, history.hypervolume_by_time, "hypervolume-by-time"),
    ):
        if xs:
            ax.step(xs, ys, where="post", color="black", lw=1.2, gid=gid)
            ax.scatter(xs, ys, s=10, color="#1f77b4", gid=f"{gid}-trials")
        ax.grid(alpha=0.3)
    by_number.set_ylabel("hypervolume")
    by_number.set_xlabel("trial number")
    by_time.set_xlabel("wall time since the first trial started (s)")
    assert summary.setting is not None  # there is a complete trial
    fig.supxlabel(textwrap.fill(summary.setting.statement(), 150), fontsize=8)
    title = f"the front's hypervolume after each complete trial, finally {summary.hypervolume:.4g}"
    fig.suptitle(_title(src, f"{title}\n({_how(summary)})"), fontsize=10)
    return _finish(fig, out)


def _how(summary: ParetoSummary) -> str:
    """Briefly, how the hypervolume of ``summary`` was measured."""
    setting = summary.setting
    if setting is None:
        return "no complete trial yet"
    over = f" over {len(summary.objectives)} objectives" if len(summary.objectives) > 2 else ""
    if not setting.normalised:
        return f"raw{over}, reference (" + ", ".join(f"{v:.4g}" for v in setting.reference) + ")"
    whose = {"front": "the front's", "true front": "the true front's"}.get(setting.basis, "given")
    scaled = setting.scaled_reference or ()
    level = ", ".join(f"{v:.3g}" for v in sorted(set(scaled), key=scaled.index))
    return f"normalised{over} by {whose} ideal and nadir, reference {level}"


def plot_cell(
    source: Any,
    trial: int | None = None,
    objectives: Mapping[str, str] | None = None,
    out: str | Path | None = None,
    *,
    space: Space | None = None,
) -> Figure:
    """The cells of the best complete trial (or of trial number ``trial``) as graphs, one
    subplot per cell.

    Each title names the trial and its value of the ranking metric; dead edges (out of a
    node that receives nothing) are drawn grey and dashed.

    The cells come from the space: ``space=``, a live experiment's, or a stored experiment's
    registered space; without one (a list of trials, a custom space of a stored experiment)
    from the arch key in NAS-Bench-201 notation. ``source`` may also be a single
    :class:`~nasforge.space.Arch`, an arch key string or a
    :class:`~nasforge.space.CellGraph`.
    """
    if isinstance(source, (str, CellGraph)) or (
        isinstance(source, Mapping) and not hasattr(source, "trials")
    ):
        arch, title = source, "cell"
    else:
        src = _data.resolve(source, objectives)
        chosen = pick_trial(src, trial)
        arch = chosen.arch
        space = space or _data.space_of(source)
        value = _data.metric_value(chosen, src.metric)
        direction = src.objectives.get(src.metric, "max")
        shown = "no value" if value is None else f"{value:.4g}"
        title = f"trial {chosen.number}: {src.metric} {shown} ({direction})"
    graphs = cell_graphs(arch, space)
    # as tall as the drawings are (plus their titles), so no empty band is left below them
    heights = [6.5 * cell_aspect(g) + 0.45 for g in graphs]
    fig = _figure(6.5, sum(heights), nrows=len(graphs))
    for ax, graph in zip(fig.axes, graphs, strict=True):
        draw_cell(ax, graph, title=title if len(graphs) == 1 else f"{title}: {graph.name}")
    return _finish(fig, out)


def pick_trial(src: _data.RankedTrials, number: int | None) -> Trial:
    """Trial ``number``, or the best complete one; errors name what exists."""
    if number is None:
        best = _data.top_trials(src, 1)
        if not best:
            raise ConfigError(f"{_name(src)} has no complete trial yet")
        return best[0]
    for t in src.trials:
        if t.number == number:
            if t.status == TrialStatus.RUNNING:
                raise ConfigError(f"trial {number} of {_name(src)} is still running")
            return t
    numbers = [t.number for t in src.trials]
    have = f"{min(numbers)}..{max(numbers)}" if numbers else "none"
    raise ConfigError(f"trial: {_name(src)} has no trial {number}; trials: {have}")


def plot(source: Any, kind: str, out: str | Path | None = None, **options: Any) -> Figure:
    """The plot ``kind`` (one of :data:`PLOT_KINDS`) of ``source``; ``options`` go to it."""
    functions: dict[str, Callable[..., Figure]] = {
        "history": plot_history,
        "curves": plot_curves,
        "ops": plot_ops,
        "pareto": plot_pareto,
        "hypervolume": plot_hypervolume,
        "cell": plot_cell,
        "arch-weights": plot_arch_weights,
        "lineage": plot_lineage,
    }
    if kind not in functions:
        raise ConfigError(f"kind: unknown plot {kind!r}; allowed: {', '.join(PLOT_KINDS)}")
    return functions[kind](source, out=out, **options)


def _name(src: _data.RankedTrials) -> str:
    return f"experiment {src.name!r}" if src.name else "these trials"


def _title(src: _data.RankedTrials, what: str) -> str:
    return f"{src.name}: {what}" if src.name else what
