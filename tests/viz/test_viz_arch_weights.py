"""The architecture weights of a one-shot search: read from the epoch records, drawn as a panel
per choice (or a heatmap for many), and written by ``nasforge plot --kind arch-weights``."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from oneshot_epochs import (
    CANDIDATES,
    DERIVED,
    EDGES,
    epoch_record,
    probabilities,
    store_with_epochs,
)
from typer.testing import CliRunner

from nasforge.cli.main import app
from nasforge.errors import ConfigError
from nasforge.experiment import load_experiment
from nasforge.strategies import list_strategies
from nasforge.viz import PLOT_KINDS, plot, plot_arch_weights
from nasforge.viz._epochs import MAX_PANELS, arch_weights

PNG = b"\x89PNG\r\n\x1a\n"


def lines_by_gid(fig: Figure, prefix: str) -> dict[str, Line2D]:
    return {
        line.get_gid(): line
        for ax in fig.axes
        for line in ax.lines
        if (line.get_gid() or "").startswith(prefix)
    }


def test_a_panel_per_choice_with_a_line_per_candidate(tmp_path: Path) -> None:
    store_with_epochs(tmp_path / "store.db", epochs=3)
    fig = plot_arch_weights(load_experiment("oneshot", tmp_path / "store.db"))
    lines = lines_by_gid(fig, "weight-")
    assert set(lines) == {f"weight-{e}-{c}" for e in EDGES for c in CANDIDATES}
    line = lines["weight-edge_2_1-nor_conv_3x3"]
    assert list(line.get_xdata()) == [1, 2, 3]
    expected = [probabilities(e, EDGES, CANDIDATES)["edge_2_1"]["nor_conv_3x3"] for e in (1, 2, 3)]
    assert list(line.get_ydata()) == pytest.approx(expected)
    assert [ax.get_title() for ax in fig.axes] == ["0→1", "0→2", "1→2", "0→3", "1→3", "2→3"]
    title = fig.get_suptitle()
    assert title.startswith("oneshot: architecture weights of darts, epochs 1–3; ")
    assert "derived arch from epoch 3, trial 2" in title and DERIVED in title


def test_many_choices_become_a_heatmap_and_the_strongest_weight_per_epoch() -> None:
    labels = [f"choice_{i}" for i in range(MAX_PANELS + 4)]
    records = [epoch_record(e, labels, CANDIDATES[:3]) for e in (2, 1)]  # any order
    fig = plot_arch_weights(records, method="drnas")
    heat, lines = fig.axes[:2]
    (image,) = heat.images
    assert image.get_gid() == "final-weights"
    final = probabilities(2, labels, CANDIDATES[:3])
    shown = image.get_array()
    assert shown is not None and shown.shape == (len(labels), 3)
    assert list(shown.ravel()) == pytest.approx(
        [final[label][c] for label in labels for c in CANDIDATES[:3]]
    )
    strongest = lines_by_gid(fig, "strongest-")
    assert len(strongest) == len(labels) + 1  # and the mean
    assert all(line.axes is lines for line in strongest.values())
    assert list(strongest["strongest-choice_0"].get_ydata()) == pytest.approx(
        [max(probabilities(e, labels, CANDIDATES[:3])["choice_0"].values()) for e in (1, 2)]
    )
    assert fig.get_suptitle().startswith("architecture weights of drnas, epochs 1–2; ")


def test_records_are_read_by_epoch_and_the_later_of_two_counts() -> None:
    old, new = epoch_record(1), epoch_record(1)
    new["weights"] = {"edge_1_0": {"none": 0.25, "skip_connect": float("nan")}}
    data = arch_weights([epoch_record(2), old, new])
    assert data.epochs == [1, 2] and data.trials == [0, 1]
    assert data.weights["edge_1_0"]["none"][0] == 0.25
    assert data.weights["edge_1_0"]["skip_connect"][0] is None  # not a number: a gap
    assert data.weights["edge_2_0"]["none"][0] is None  # epoch 1 no longer stores it
    assert (
        data.layout == "panels"
        and data.final()["edge_1_0"]["none"] == data.weights["edge_1_0"]["none"][1]
    )


def test_bad_records_are_named() -> None:
    with pytest.raises(ConfigError, match=r"^records\[1\]: an epoch record needs an integer"):
        arch_weights([epoch_record(1), {"epoch": "2", "weights": {}}])
    with pytest.raises(ConfigError, match="these records hold no supernet epochs"):
        plot_arch_weights([])


def test_plot_kind_arch_weights(tmp_path: Path) -> None:
    assert "arch-weights" in PLOT_KINDS
    records = [epoch_record(e) for e in (1, 2)]
    fig = plot(records, "arch-weights", out=tmp_path / "w.svg", method="gdas")
    assert len(lines_by_gid(fig, "weight-")) == len(EDGES) * len(CANDIDATES)
    assert (tmp_path / "w.svg").read_text().lstrip().startswith("<?xml")


def test_cli_writes_the_plot_and_refuses_an_experiment_without_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_with_epochs(tmp_path / "store.db")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["plot", "oneshot", "--kind", "arch-weights", "--storage", url])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "wrote oneshot-arch-weights.png"
    assert (tmp_path / "oneshot-arch-weights.png").read_bytes()[:8] == PNG
    refused = CliRunner().invoke(
        app, ["plot", "plain", "--kind", "arch-weights", "--storage", url, "--out", "x.png"]
    )
    assert refused.exit_code == 2
    assert refused.output == (
        "error: experiment 'plain' has no supernet epochs; only one-shot methods "
        f"({', '.join(list_strategies('one-shot'))}) store architecture weights\n"
    )
    assert not (tmp_path / "x.png").exists()
