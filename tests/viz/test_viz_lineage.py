"""An evolution's lineage is stored per child and drawn by ``nasforge plot --kind lineage``;
``--kind cell`` draws a grown network."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli.main import app
from nasforge.errors import ConfigError
from nasforge.experiment.lineage import lineage
from nasforge.spaces import create_space
from nasforge.viz import PLOT_KINDS, plot_lineage

PNG = b"\x89PNG\r\n\x1a\n"


def depth(arch: nf.Arch) -> dict[str, float]:
    return {"depth": float(len(arch["layers"])) - 0.1 * len(arch["skips"])}


def search(url: str, strategy: str = "large-scale-evolution", trials: int = 12) -> nf.Experiment:
    exp = nf.Experiment(
        create_space("large-scale-evolution", start="empty"),
        strategy=strategy,
        strategy_options={"population_size": 3} if strategy != "random" else {},
        evaluator=nf.FunctionEvaluator(depth, metric_names=("depth",)),
        objectives={"depth": "max"},
        storage=url,
        name=f"grow-{strategy}",
        seed=0,
    )
    exp.run(max_trials=trials, progress=False)
    return exp


def test_every_mutated_child_names_its_parent(tmp_path: Path) -> None:
    exp = search(f"sqlite:///{tmp_path / 's.db'}")
    found = lineage(exp.storage, exp.record.id)
    numbers = {t.number for t in exp.trials()}
    assert set(found) == numbers - {0, 1, 2}  # the first three are the random population
    assert all(info["parent"] < child for child, info in found.items())
    fig = plot_lineage(exp, out=tmp_path / "l.png")
    assert "lineage" in PLOT_KINDS and fig.axes[0].get_xlabel() == "trial"
    assert (tmp_path / "l.png").read_bytes()[:8] == PNG


def test_cli_draws_the_lineage_and_a_grown_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    search(url)
    monkeypatch.chdir(tmp_path)
    for kind in ("lineage", "cell"):
        done = CliRunner().invoke(
            app, ["plot", "grow-large-scale-evolution", "--kind", kind, "--storage", url]
        )
        assert done.exit_code == 0, done.output
        assert (tmp_path / f"grow-large-scale-evolution-{kind}.png").read_bytes()[:8] == PNG


def test_random_search_has_no_lineage_to_draw(tmp_path: Path) -> None:
    exp = search(f"sqlite:///{tmp_path / 'r.db'}", strategy="random", trials=3)
    with pytest.raises(ConfigError, match="no lineage"):
        plot_lineage(exp)


def test_the_dashboard_serves_the_lineage(tmp_path: Path) -> None:
    import warnings

    from nasforge.viz.dashboard import create_app

    with warnings.catch_warnings():  # starlette's TestClient warns about httpx; fine for tests
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    exp = search(f"sqlite:///{tmp_path / 's.db'}", trials=6)
    search(f"sqlite:///{tmp_path / 's.db'}", strategy="random", trials=2)
    found = lineage(exp.storage, exp.record.id)
    with TestClient(create_app(tmp_path / "s.db"), base_url="http://127.0.0.1") as client:
        shown = client.get("/api/experiments/grow-large-scale-evolution/lineage").json()
        assert shown["children"] == [
            {"trial": child, "parent": info["parent"], "reused": 0, "tensors": None}
            for child, info in sorted(found.items())
        ]
        missing = client.get("/api/experiments/grow-random/lineage")
        assert missing.status_code == 404 and "no lineage" in missing.json()["detail"]
