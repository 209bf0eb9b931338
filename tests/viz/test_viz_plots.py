"""The matplotlib plots draw the numbers the trials hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from viz_trials import MakeExperiment, TwoCells, key, trial

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.experiment import load_experiment, pareto_summary
from nasforge.testing.spaces import LadderSpace
from nasforge.viz import (
    op_counts,
    plot,
    plot_cell,
    plot_curves,
    plot_history,
    plot_hypervolume,
    plot_ops,
    plot_pareto,
)


def artist(fig: Figure, gid: str, ax: int = 0) -> object:
    found = [a for a in fig.axes[ax].get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} artists"
    return found[0]


def offsets(fig: Figure, gid: str, ax: int = 0) -> np.ndarray:
    collection = artist(fig, gid, ax)
    assert isinstance(collection, PathCollection)
    return np.asarray(collection.get_offsets())


HISTORY = [
    trial(0, "complete", 1.0),
    trial(1, "pruned", 0.4, curve={1: 0.2, 2: 0.5}),
    trial(2, "complete", 3.0),
    trial(3, "failed"),
    trial(4, "complete", 2.0),
    trial(5, "running"),
]


def test_history_marks_each_status_and_steps_the_best_so_far() -> None:
    fig = plot_history(HISTORY, objectives={"acc": "max"})
    assert offsets(fig, "trials-complete").tolist() == [[0, 1.0], [2, 3.0], [4, 2.0]]
    assert offsets(fig, "trials-pruned").tolist() == [[1, 0.5]]  # where it was stopped
    assert offsets(fig, "trials-failed").tolist() == [[3, 0.5]]  # no value: on the floor
    best = artist(fig, "best-by-number")
    assert list(best.get_xdata()) == [0, 1, 2, 3, 4]  # running trial 5 is not drawn
    assert list(best.get_ydata()) == [1.0, 1.0, 3.0, 3.0, 3.0]
    timed = artist(fig, "best-by-time", ax=1)
    assert list(timed.get_xdata()) == [10.0, 30.0, 50.0]  # seconds since trial 0 started
    assert list(timed.get_ydata()) == [1.0, 3.0, 3.0]


def test_history_of_a_minimised_metric_keeps_the_lowest() -> None:
    trials = [trial(i, "complete", v) for i, v in enumerate([5.0, 7.0, 2.0, 4.0])]
    fig = plot_history(trials, objectives={"acc": "min"})
    assert list(artist(fig, "best-by-number").get_ydata()) == [5.0, 5.0, 2.0, 2.0]


def test_history_of_a_real_search_matches_the_store(make_experiment: MakeExperiment) -> None:
    exp = make_experiment(trials=10)
    stored = load_experiment("demo", exp.storage)
    fig = plot_history(stored, out=None)
    finished = [t for t in exp.trials() if t.status.finished]
    done = [t.metrics["acc"] for t in finished if t.status.value == "complete"]
    assert len(offsets(fig, "trials-complete")) == len(done)
    assert artist(fig, "best-by-number").get_ydata()[-1] == max(done) == exp.best().metrics["acc"]


def test_curves_show_pruned_trials_dashed_and_the_best_in_black() -> None:
    trials = [
        trial(0, "complete", 0.6, curve={1: 0.2, 2: 0.4, 3: 0.6}),
        trial(1, "pruned", 0.1, curve={1: 0.1}),
        trial(2, "complete", 0.9, curve={1: 0.5, 2: 0.7, 3: 0.9}),
        trial(3, "failed"),
    ]
    fig = plot_curves(trials, objectives={"acc": "max"})
    best = artist(fig, "curve-2")
    assert list(best.get_ydata()) == [0.5, 0.7, 0.9] and best.get_color() == "black"
    pruned = artist(fig, "curve-1")
    assert pruned.get_linestyle() == "--" and list(pruned.get_xdata()) == [1]
    assert list(artist(fig, "pruned-end-1").get_ydata()) == [0.1]
    assert artist(fig, "curve-0").get_linestyle() == "-"
    assert not [a for a in fig.axes[0].get_children() if a.get_gid() == "curve-3"]


def test_ops_counts_each_edge_among_the_top_trials() -> None:
    conv, skip, pool, none = "nor_conv_3x3", "skip_connect", "avg_pool_3x3", "none"
    trials = [
        trial(0, "complete", 9.0, arch=key(conv, conv, skip, conv, none, pool)),
        trial(1, "complete", 8.0, arch=key(conv, skip, skip, conv, none, pool)),
        trial(2, "complete", 1.0, arch=key(pool, pool, pool, pool, pool, pool)),  # not top-2
        trial(3, "pruned", 0.5, arch=key(pool, pool, pool, pool, pool, pool)),
    ]
    counts = op_counts(trials, top_k=2)
    assert counts["edge_1_0"] == {conv: 2}
    assert counts["edge_2_0"] == {conv: 1, skip: 1}
    assert counts["edge_3_1"] == {"none": 2}
    fig = plot_ops(trials, top_k=2)
    heights = {
        bar.get_label(): [p.get_height() for p in bar.patches] for bar in fig.axes[0].containers
    }
    # edges in arch order: 0→1, 0→2, 1→2, 0→3, 1→3, 2→3
    assert heights[conv] == [2, 1, 0, 2, 0, 0]
    assert heights[pool] == [0, 0, 0, 0, 0, 2]
    assert heights["none"] == [0, 0, 0, 0, 2, 0]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][:2] == ["0→1", "0→2"]
    with pytest.raises(ConfigError, match="top_k must be an integer >= 1, got 0"):
        plot_ops(trials, top_k=0)


def test_pareto_needs_two_objectives_and_finds_the_front() -> None:
    trials = [
        trial(0, "complete", 0.9, second=5.0),
        trial(1, "complete", 0.8, second=2.0),
        trial(2, "complete", 0.7, second=3.0),  # beaten by trial 1 on both
        trial(3, "complete", 0.95, second=9.0),
        trial(4, "failed"),
    ]
    fig = plot_pareto(trials, objectives={"acc": "max", "params": "min"})
    assert offsets(fig, "dominated").tolist() == [[0.7, 3.0]]
    assert offsets(fig, "front").tolist() == [[0.8, 2.0], [0.9, 5.0], [0.95, 9.0]]
    # the staircase bounds what the front dominates: acc is maximised, so each step up is taken
    # at the point on its left (matplotlib's "pre" steps)
    line = artist(fig, "front-line")
    assert isinstance(line, Line2D)
    assert line.get_drawstyle() == "steps-pre"
    title = fig.get_suptitle()
    summary = pareto_summary(trials, {"acc": "max", "params": "min"})
    assert f"hypervolume {summary.hypervolume:.4g}" in title
    assert "(normalised by the front's ideal and nadir, reference 1.1)" in title
    raw = plot_pareto(trials, objectives={"acc": "max", "params": "min"}, reference=(0.0, 10.0))
    # the area (0.8 x 8) + (0.1 x 5) + (0.05 x 1): each strip of acc down to its best params
    assert "hypervolume 6.95\n(raw, reference (0, 10))" in raw.get_suptitle()
    with pytest.raises(
        ConfigError, match=r"needs 2 objectives; the objectives of these trials: acc$"
    ) as err:
        plot_pareto(trials, objectives={"acc": "max"})
    assert "\n" not in str(err.value)


def test_a_minimised_x_steps_the_other_way() -> None:
    trials = [trial(0, "complete", 0.9, second=5.0), trial(1, "complete", 0.8, second=2.0)]
    fig = plot_pareto(trials, x="params", y="acc", objectives={"acc": "max", "params": "min"})
    line = artist(fig, "front-line")
    assert isinstance(line, Line2D) and line.get_drawstyle() == "steps-post"
    assert offsets(fig, "front").tolist() == [[2.0, 0.8], [5.0, 0.9]]


def test_the_hypervolume_grows_after_each_complete_trial() -> None:
    objectives = {"acc": "max", "params": "min"}
    trials = [
        trial(0, "complete", 0.5, second=5.0),
        trial(1, "pruned", 0.9, curve={1: 0.9}),  # no final values: not on any front
        trial(2, "complete", 0.8, second=2.0),
        trial(3, "complete", 0.7, second=3.0),  # dominated: the hypervolume stays
        trial(4, "complete", 0.95, second=9.0),
    ]
    fig = plot_hypervolume(trials, objectives=objectives, reference=(0.0, 10.0))
    by_number = artist(fig, "hypervolume-by-number", 0)
    by_time = artist(fig, "hypervolume-by-time", 1)
    assert isinstance(by_number, Line2D) and isinstance(by_time, Line2D)
    assert by_number.get_xdata().tolist() == [0, 2, 3, 4]
    assert np.allclose(by_number.get_ydata(), [2.5, 6.4, 6.4, 6.55])
    assert by_time.get_xdata().tolist() == [10.0, 30.0, 40.0, 50.0]  # seconds from the start
    assert np.allclose(by_time.get_ydata(), [2.5, 6.4, 6.4, 6.55])
    assert "raw hypervolume in the objectives' own units, reference point (acc 0, params 10)" in (
        fig.get_supxlabel()
    )
    normalised = plot_hypervolume(trials, objectives=objectives)
    assert "reference point 1.1" in normalised.get_supxlabel()
    # two points, each the ideal on one objective and the nadir on the other: each covers a
    # strip a tenth wide up to the reference 1.1, 2 x 0.11 less the 0.01 they share
    assert "finally 0.21\n(normalised by the front's ideal" in normalised.get_suptitle()
    with pytest.raises(ConfigError, match="these trials has no complete trial with every"):
        plot_hypervolume([trial(0, "failed")], objectives=objectives)


def test_cell_draws_the_best_trial_without_none_edges(tmp_path: Path) -> None:
    trials = [
        trial(0, "complete", 1.0),
        trial(1, "complete", 5.0, arch=key("nor_conv_3x3", "none", "skip_connect", *["none"] * 3)),
    ]
    out = tmp_path / "cell.png"
    fig = plot_cell(trials, out=out)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "edge-label"]
    assert sorted(texts) == ["nor_conv_3x3", "skip_connect"]
    nodes = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "node-label"]
    assert nodes == ["0", "1", "2", "3"]
    assert fig.axes[0].get_title() == "trial 1: score 5 (max)"  # the metric it ranks by
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    six = plot_cell(trials, trial=0)
    assert len([t for t in six.axes[0].texts if t.get_gid() == "edge-label"]) == 6
    with pytest.raises(ConfigError, match=r"has no trial 7; trials: 0\.\.1"):
        plot_cell(trials, trial=7)


def test_plot_by_kind_rejects_unknown_kinds_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown plot 'bars'; allowed: history, curves, ops"):
        plot(HISTORY, "bars")
    with pytest.raises(ConfigError, match="does not exist"):
        plot(HISTORY, "history", out=tmp_path / "missing" / "h.png")
    assert isinstance(plot(HISTORY, "curves", objectives={"acc": "max"}), Figure)


def test_cells_and_edge_labels_come_from_the_space(tmp_path: Path) -> None:
    """A live experiment on a cell space whose keys are not NAS-Bench-201 strings."""
    space = LadderSpace()
    exp = nf.Experiment(
        space,
        strategy="random",
        evaluator=lambda arch: {"acc": float(arch["a"] == "conv") + arch["lr"]},
        objectives={"acc": "max"},
        storage="sqlite:///:memory:",
    )
    exp.run(max_trials=6, progress=False)
    fig = plot_cell(exp)
    drawn = {t.get_text() for t in fig.axes[0].texts if t.get_gid() == "edge-label"}
    best = exp.best().arch
    assert drawn == {best[d] for d in "abc"}
    ops = plot_ops(exp, top_k=3)
    labels = [t.get_text() for t in ops.axes[0].get_xticklabels()]
    assert labels == ["0→1", "1→2", "0→2"] and ops.axes[0].get_xlabel() == "edge (from→to node)"
    with pytest.raises(ConfigError, match="is not a cell string"):
        plot_cell(exp.trials())  # the bare trials know no space, and the keys are no cells


def test_a_stored_experiment_rebuilds_its_registered_space(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nb.db'}"
    exp = nf.Experiment(
        "nb201",
        strategy="random",
        evaluator=lambda arch: {"acc": float(arch.key.count("conv"))},
        space_options={"n_cells": 1, "hyperparameters": ["lr"]},
        objectives={"acc": "max"},
        storage=url,
        name="nb",
    )
    exp.run(max_trials=4, progress=False)
    stored = load_experiment("nb", url)
    assert stored.space() is not None
    fig = plot_cell(stored)
    assert fig.axes[0].get_title().startswith(f"trial {exp.best().number}")
    labels = [t.get_text() for t in plot_ops(stored).axes[0].get_xticklabels()]
    assert labels[:2] == ["0→1", "0→2"]


def test_each_cell_of_a_space_gets_a_subplot() -> None:
    space = TwoCells()
    fig = plot_cell(space.make({"n": "skip", "r": "pool"}).key, space=space)
    assert [ax.get_title() for ax in fig.axes] == ["cell: normal", "cell: reduce"]


def test_curves_tick_whole_epochs_only() -> None:
    curve = {step: 0.1 * step for step in range(1, 11)}  # matplotlib would tick 2.5, 7.5
    fig = plot_curves([trial(0, "complete", 1.0, curve=curve)], objectives={"acc": "max"})
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)


def test_pareto_labels_of_crowded_points_do_not_overlap() -> None:
    # a front of 12 points packed into a hundredth of the range, and two far apart
    close = [trial(i, "complete", 0.5 + 0.0001 * i, second=1.0 - 0.0001 * i) for i in range(12)]
    far = [trial(20, "complete", 0.1, second=9.0), trial(21, "complete", 0.9, second=0.0)]
    fig = plot_pareto(close + far, objectives={"acc": "max", "params": "max"})
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_gid() == "front-label"]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    texts = {t.get_text() for t in labels}
    assert {"20", "21"} <= texts and len(texts) < 14  # the crowded ones give way
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"Pareto front (14; {14 - len(texts)} crowded unlabelled), labelled by trial" in legend
