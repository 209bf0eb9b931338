"""``nasforge pareto NAME``: the front of a stored multi-objective search on the NAS-Bench-201
table, its hypervolume and the reference point it was measured against."""

from __future__ import annotations

import json
import warnings

import pytest
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli.main import app
from nasforge.experiment import load_experiment
from nasforge.trial import Trial

TWO = {"val_acc_12": "max", "params_m": "min"}


def run(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.stdout, done.stderr


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``mo``: 30 random NAS-Bench-201 cells looked up in the table on two objectives;
    ``single``: 3 on one."""
    path = tmp_path_factory.mktemp("pareto") / "runs.db"
    evaluator = nf.create_evaluator("tabular", epochs=12)
    for name, objectives, trials in (("mo", TWO, 30), ("single", {"val_acc_12": "max"}, 3)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", nf.NasforgeWarning)  # random searches the front
            exp = nf.Experiment(
                evaluator.space(),
                strategy="random",
                evaluator=evaluator,
                objectives=objectives,
                storage=path,
                name=name,
                seed=3,
            )
        exp.run(max_trials=trials, progress=False)
    return str(path)


def brute_front(trials: list[Trial]) -> list[int]:
    """The stored trials no other beats on both objectives, pairwise, by number."""
    points = {
        t.number: (t.metrics["val_acc_12"], t.metrics["params_m"])
        for t in trials
        if t.status.value == "complete"
    }
    return sorted(
        n
        for n, (acc, params) in points.items()
        if not any(a >= acc and p <= params and (a > acc or p < params) for a, p in points.values())
    )


def test_json_holds_the_front_of_the_stored_trials_and_the_stated_hypervolume(store: str) -> None:
    code, out, err = run("pareto", "mo", "--storage", store, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    exp = load_experiment("mo", store)
    trials = exp.trials()
    assert data["experiment"] == "mo" and data["objectives"] == TWO
    assert data["n_complete"] == 30
    numbers = [row["number"] for row in data["front"]]
    assert sorted(numbers) == brute_front(trials)
    by_number = {t.number: t for t in trials}
    for row in data["front"]:
        trial = by_number[row["number"]]
        assert row["arch"] == trial.arch.key
        assert row["values"] == {name: trial.metrics[name] for name in TWO}
    accs = [row["values"]["val_acc_12"] for row in data["front"]]
    assert accs == sorted(accs, reverse=True)  # best first on the primary objective
    assert data["hypervolume"] == pytest.approx(exp.hypervolume())
    setting = data["setting"]
    assert setting["normalised"] and setting["basis"] == "front"
    assert setting["scaled_reference"] == [1.1, 1.1]
    front = [(row["values"]["val_acc_12"], row["values"]["params_m"]) for row in data["front"]]
    assert setting["ideal"] == {
        "val_acc_12": max(a for a, _ in front),
        "params_m": min(p for _, p in front),
    }
    assert setting["nadir"] == {
        "val_acc_12": min(a for a, _ in front),
        "params_m": max(p for _, p in front),
    }
    assert setting["statement"].startswith("normalised hypervolume: each objective mapped")
    history = data["history"]
    assert history["number"] == sorted(t.number for t in trials if t.status.value == "complete")
    assert history["hypervolume"] == sorted(history["hypervolume"])
    assert history["hypervolume"][-1] == pytest.approx(data["hypervolume"])


def test_the_table_lists_the_front_with_the_hypervolume_and_its_reference(store: str) -> None:
    code, out, err = run("pareto", "mo", "--storage", store)
    assert (code, err) == (0, "")
    summary = load_experiment("mo", store).pareto_summary()
    assert f"Pareto front of mo: {len(summary.front)} of 30 complete trials" in out
    assert "val_acc_12 (max)" in out and "params_m (min)" in out
    lines = out.splitlines()
    for trial in summary.front:
        row = next(line for line in lines if line.startswith(f"│ {trial.number:>2} │"))
        assert trial.arch.key[:20] in row and f"{trial.metrics['params_m']:.6g}" in row
    assert f"hypervolume: {summary.hypervolume:.6g}" in out
    assert summary.setting is not None
    assert summary.setting.statement() in out.replace("\n", " ")
    assert "reference point 1.1 (val_acc_12 " in out


def test_a_reference_point_gives_the_raw_hypervolume(store: str) -> None:
    code, out, _ = run("pareto", "mo", "--storage", store, "--json", "--reference", "0, 2")
    assert code == 0
    data = json.loads(out)
    assert not data["setting"]["normalised"]
    assert data["setting"]["reference"] == {"val_acc_12": 0.0, "params_m": 2.0}
    # the area (accuracy points x millions of parameters) the front covers, by a sweep
    front = sorted((r["values"]["val_acc_12"], r["values"]["params_m"]) for r in data["front"])
    area, low = 0.0, 0.0
    for i, (acc, _) in enumerate(front):
        area += (acc - low) * (2.0 - min(p for _, p in front[i:]))
        low = acc
    assert data["hypervolume"] == pytest.approx(area)
    code, out, _ = run("pareto", "mo", "--storage", store, "--ideal", "95,0", "--nadir", "80,1.5")
    assert code == 0
    assert "(val_acc_12 95, params_m 0) and nadir (val_acc_12 80, params_m 1.5) as given" in (
        out.replace("\n", " ")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["single"],
            "error: experiment 'single' has one objective (val_acc_12), so its front is its "
            "best trial: nasforge best single",
        ),
        (["mo", "--reference", "1,2,3"], "error: reference: expected 2 finite numbers"),
        (["mo", "--reference", "a,b"], "error: --reference: expected comma-separated floats"),
        (["mo", "--ideal", "95,0"], "error: ideal and nadir: give both or neither"),
        (["nope"], "error: no experiment 'nope'"),
    ],
)
def test_user_errors_are_one_line(store: str, args: list[str], message: str) -> None:
    code, out, err = run("pareto", *args, "--storage", store)
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1
