"""``nasforge plot`` and ``nasforge dashboard`` on a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner
from viz_trials import MakeExperiment

from nasforge.cli.main import app

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def store(make_experiment: MakeExperiment, tmp_path: Path) -> str:
    make_experiment("demo", trials=8)
    make_experiment("single", trials=3, two_objectives=False, pruning=False)
    return str(tmp_path / "store.db")


@pytest.mark.parametrize("kind", ["history", "curves", "ops", "pareto", "hypervolume", "cell"])
def test_plot_writes_each_kind(store: str, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.png"
    done = CliRunner().invoke(
        app, ["plot", "demo", "--kind", kind, "--out", str(out), "--storage", store, "--top", "3"]
    )
    assert done.exit_code == 0, done.output
    assert f"wrote {out}" in done.output
    assert out.read_bytes()[:8] == PNG


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["plot", "nope"],
            "error: no experiment 'nope' in 'sqlite:///{store}'; experiments: 'demo', 'single'",
        ),
        (
            ["plot", "single", "--kind", "pareto"],
            "error: a Pareto front needs 2 objectives; the objectives of experiment 'single': acc",
        ),
        (
            ["plot", "demo", "--kind", "bars"],
            "error: --kind: unknown plot 'bars'; allowed: history, curves, ops, pareto, "
            "hypervolume, cell, arch-weights, lineage",
        ),
        (
            ["plot", "single", "--kind", "hypervolume"],
            "error: a Pareto front needs 2 objectives; the objectives of experiment 'single': acc",
        ),
        (
            ["plot", "demo", "--kind", "pareto", "--reference", "1"],
            "error: reference: expected 2 finite numbers, one per objective (acc, params), got "
            "[1.0]",
        ),
        (
            ["plot", "demo", "--kind", "cell", "--trial", "99"],
            "error: trial: experiment 'demo' has no trial 99; trials: 0..7",
        ),
        (
            ["plot", "demo", "--kind", "ops", "--top", "0"],
            "error: top_k must be an integer >= 1, got 0",
        ),
    ],
)
def test_plot_user_errors_are_one_line_with_status_2(
    store: str, tmp_path: Path, args: list[str], message: str
) -> None:
    done = CliRunner().invoke(app, [*args, "--storage", store, "--out", str(tmp_path / "x.png")])
    assert done.exit_code == 2
    assert done.output.strip() == message.format(store=store)


def test_dashboard_on_a_missing_store_fails_in_one_line(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["dashboard", "--storage", str(tmp_path / "none.db")])
    assert done.exit_code == 2
    assert done.output.startswith("error: no store at") and done.output.count("\n") == 1


def test_dashboard_serves_the_store_until_stopped(store: str) -> None:
    import json
    import subprocess
    import sys
    import time
    import urllib.request

    from nasforge.viz.dashboard.browser import free_port

    port = free_port()
    args = ["dashboard", "--storage", store, "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasforge", *args], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline, rows = time.monotonic() + 60, None
        while rows is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/experiments") as r:
                    rows = json.load(r)
            except OSError:
                time.sleep(0.1)
        assert rows is not None, "the dashboard did not answer"
        assert [r["name"] for r in rows] == ["demo", "single"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"nasforge dashboard on http://127.0.0.1:{port}/" in out


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("../escape", "escape-history.png"),
        ("team/run", "team_run-history.png"),
        ("../../x/..", "x_..-history.png"),
        ("/abs/path", "abs_path-history.png"),
        ("..", "experiment-history.png"),
    ],
)
def test_plot_writes_its_default_file_in_the_working_directory_whatever_the_name(
    make_experiment: MakeExperiment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    written: str,
) -> None:
    make_experiment(name, trials=2, two_objectives=False, pruning=False)
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    done = CliRunner().invoke(app, ["plot", name, "--storage", str(tmp_path / "store.db")])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"wrote {written}"
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert new == {work / written}  # nothing outside the working directory
    assert (work / written).read_bytes()[:8] == PNG


def test_dashboard_answers_the_hosts_it_is_told(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    import nasforge.cli.viz as cli_viz

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    # this machine has no 10.1.2.3 to listen on; the check of the port is tested on its own
    monkeypatch.setattr(cli_viz, "check_port_free", lambda host, port: None)
    args = ["dashboard", "--storage", store, "--host", "10.1.2.3", "--allow-host", "nas.lab"]
    done = CliRunner().invoke(app, [*args, "--allow-host", "nas"])
    assert done.exit_code == 0, done.output
    assert served["host"] == "10.1.2.3"
    hosts = served["app"].state.allowed_hosts
    assert hosts == ["127.0.0.1", "localhost", "::1", "10.1.2.3", "nas.lab", "nas"]
    done = CliRunner().invoke(app, ["dashboard", "--storage", store, "--host", "0.0.0.0"])
    assert done.exit_code == 0 and "--allow-host NAME" in done.output
    assert served["app"].state.allowed_hosts == ["127.0.0.1", "localhost", "::1"]
