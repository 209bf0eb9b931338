"""Genotypes that are not one cell are drawn whole: Genetic CNN's stages and the hierarchical
space's motifs, by ``nasforge plot --kind cell`` and by the dashboard, from the stored space."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli.main import app
from nasforge.space import Arch
from nasforge.spaces import create_space
from nasforge.viz import cell_graphs, cell_svg
from nasforge.viz.dashboard import create_app

with warnings.catch_warnings():  # starlette's TestClient warns about httpx; fine for tests
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PNG = b"\x89PNG\r\n\x1a\n"
#: per space: its options, a strategy native to it, and the names of the graphs it draws
CASES: dict[str, tuple[dict[str, Any], str, list[str]]] = {
    "genetic-cnn": ({"stages": [3, 4]}, "genetic", ["stage 1", "stage 2"]),
    "hierarchical": (
        {"motifs": [2, 1], "nodes": [3, 4]},
        "hierarchical-evolution",
        ["level 2 motif 0 (l2m0)", "level 2 motif 1 (l2m1)", "cell (l3m0)"],
    ),
}


def edges_on(arch: Arch) -> dict[str, float]:
    """A cheap score: how many edges the genotype switches on."""
    return {"acc": float(sum(v not in (0, "none") for v in arch.values()))}


def run(space_name: str, store: Path) -> nf.Experiment:
    options, strategy, _ = CASES[space_name]
    exp = nf.Experiment(
        create_space(space_name, **options),
        strategy=strategy,
        evaluator=edges_on,
        objectives={"acc": "max"},
        storage=store,
        name=space_name,
    )
    exp.run(max_trials=6, progress=False)
    return exp


@pytest.mark.parametrize("space_name", sorted(CASES))
def test_plot_cell_draws_every_stage_or_motif(space_name: str, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    exp = run(space_name, store)
    names = [g.name for g in cell_graphs(exp.best().arch, exp.space)]
    assert names == CASES[space_name][2]
    out = tmp_path / "cell.png"
    done = CliRunner().invoke(
        app, ["plot", space_name, "--kind", "cell", "--out", str(out), "--storage", str(store)]
    )
    assert done.exit_code == 0, done.output
    assert out.read_bytes()[:8] == PNG


@pytest.mark.parametrize("space_name", sorted(CASES))
def test_the_dashboard_draws_every_stage_or_motif(space_name: str, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    exp = run(space_name, store)
    with TestClient(create_app(store), base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        summary = client.get(f"/api/experiments/{space_name}").json()
        svg = client.get(f"/api/experiments/{space_name}/cell.svg")
    assert svg.status_code == 200
    for name in CASES[space_name][2]:
        assert name in summary["best_cell_svg"] and name in svg.text
    assert svg.text == cell_svg(exp.best().arch.key, title=f"trial {exp.best().number}",
                                space=exp.space)  # fmt: skip
