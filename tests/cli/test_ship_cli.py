"""``nasforge search`` -> ``retrain`` -> ``export`` (every format), and their one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasforge.cli.main import app
from nasforge.export import load_model
from nasforge.storage import Storage

CONFIG = """\
name: tiny
seed: 0
storage: sqlite:///{db}
space: {{name: nb201, options: {{n_cells: 1, channels: 8}}}}
strategy: random
evaluator: {{name: train, options: {{dataset: digits, epochs: 1, threads: 1}}}}
budget: {{max_trials: 2}}
"""


def run(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.stdout, done.stderr


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_search_retrain_and_export_every_format(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    (tmp_path / "search.yaml").write_text(CONFIG.format(db=db))
    code, out, err = run("search", str(tmp_path / "search.yaml"), "--quiet")
    assert code == 0, err
    store = Storage(db)
    record = store.get_experiment("tiny")
    trials = store.trials(record.id)
    best = max(trials, key=lambda t: (t.metrics["val_acc"], -t.number))

    # before any retrain: the export says its weights are untrained
    code, out, err = run(
        "export",
        "tiny",
        "--storage",
        str(db),
        "--format",
        "pytorch",
        "--out",
        str(tmp_path / "a.pt"),
    )
    assert code == 0, err
    assert f"for trial {best.number}: {best.arch.key}" in out
    assert "UNTRAINED: initialised with the trial's seed" in out and "nasforge retrain" in out

    code, out, err = run("retrain", "tiny", "--storage", str(db), "--seeds", "0,1", "--quiet")
    assert code == 0, err
    per_seed = re.findall(r"seed (\d): test_acc ([\d.]+)  val_acc ([\d.]+)", out)
    assert [s for s, _, _ in per_seed] == ["0", "1"]
    artifacts = store.artifacts(record.id, best.number, kind="retrain")
    assert [a.seed for a in artifacts] == [0, 1]
    accs = [a.metrics["test_acc"] for a in artifacts]
    assert [float(t) for _, t, _ in per_seed] == [round(a, 2) for a in accs]
    mean, std = (accs[0] + accs[1]) / 2, abs(accs[0] - accs[1]) / 2**0.5  # sample std
    assert (
        f"trial {best.number}: test_acc {mean:.2f} ± {std:.2f} (sample std) over seeds 0, 1" in out
    )

    winner = max(artifacts, key=lambda a: (a.metrics["val_acc"], a.id))
    for fmt, name in [("pytorch", "m.pt"), ("torchscript", "m.ts"), ("onnx", "m.onnx")]:
        code, out, err = run(
            "export", "tiny", "--storage", str(db), "--format", fmt, "--out", str(tmp_path / name)
        )
        assert code == 0, err
        assert f"weights: retrained seed {winner.seed} (epochs=1" in out
        diff = re.search(
            r"check passed: max \|exported - nasforge\| = (\S+) \(tolerance 1e-04\)", out
        )
        assert diff is not None and float(diff.group(1)) <= 1e-4, out
        assert "on 64 real test inputs (digits)" in out
    model = load_model(tmp_path / "m.pt")
    assert sum(p.numel() for p in model.parameters()) == best.metrics["params"]

    other = next(t for t in trials if t.number != best.number)
    code, out, err = run(
        "export",
        "tiny",
        "--storage",
        str(db),
        "--trial",
        str(other.number),
        "--format",
        "code",
        "--out",
        str(tmp_path / "net.py"),
    )
    assert code == 0, err
    assert "UNTRAINED" in out and "check passed" in out
    # the file a user pastes runs on its own with plain torch (its __main__ prints the shape)
    ran = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "net.py")], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"{other.arch.key} -> (2, 10)"


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_a_search_that_keeps_weights_ends_with_an_ensemble_that_exports(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    config = CONFIG.format(db=db).replace("threads: 1}", "threads: 1, keep_weights: true}")
    (tmp_path / "search.yaml").write_text(config.replace("max_trials: 2", "max_trials: 3"))
    code, out, err = run("search", str(tmp_path / "search.yaml"), "--quiet")
    assert code == 0, err
    store = Storage(db)
    trials = store.trials(store.get_experiment("tiny").id)
    ranked = sorted(trials, key=lambda t: (-t.metrics["val_acc"], t.number))
    numbers = ", ".join(str(t.number) for t in ranked)
    summary = re.search(rf"ensemble of trials {numbers}: test_acc ([\d.]+) \(trial ", out)
    assert summary is not None, out
    assert "nasforge export tiny --ensemble 3 --format onnx" in out

    code, out, err = run("ensemble", "tiny", "--storage", str(db), "--size", "2", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert [m["trial"] for m in result["members"]] == [t.number for t in ranked[:2]]
    code, out, err = run("ensemble", "tiny", "--storage", str(db))
    assert code == 0, err
    assert f"ensemble of trials {numbers}: test_acc {summary.group(1)}" in out
    assert f"  trial {ranked[0].number}: val_acc " in out

    target = tmp_path / "e.onnx"
    code, out, err = run(
        "export",
        "tiny",
        "--storage",
        str(db),
        "--ensemble",
        "3",
        "--format",
        "onnx",
        "--out",
        str(target),
    )
    assert code == 0, err
    assert f"wrote {target} (onnx): the ensemble of trials {numbers}" in out
    assert "check passed" in out and target.is_file()
    # a trial that kept its weights exports trained, without a retrain
    code, out, err = run(
        "export",
        "tiny",
        "--storage",
        str(db),
        "--format",
        "pytorch",
        "--out",
        str(tmp_path / "one.pt"),
    )
    assert code == 0, err
    assert "weights: the search's own training (trial seed" in out and "UNTRAINED" not in out


def test_bad_input_is_one_line_with_exit_status_2(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    (tmp_path / "search.yaml").write_text(CONFIG.format(db=db))
    assert run("search", str(tmp_path / "search.yaml"), "--quiet", "--max-trials", "1")[0] == 0
    out = str(tmp_path / "m.pt")
    cases = [
        (["retrain", "nope", "--storage", str(db)], "no experiment 'nope'", "experiments: 'tiny'"),
        (["retrain", "tiny", "--storage", str(db), "--trial", "3"], "trial=3", "trials: 0..0"),
        (["retrain", "tiny", "--storage", str(db), "--seeds", "0,a"], "--seeds", "'0,a'"),
        (["export", "tiny", "--storage", str(db), "--format", "tf", "--out", out], "'tf'", "onnx"),
        (
            [
                "export",
                "tiny",
                "--storage",
                str(tmp_path / "x.db"),
                "--format",
                "onnx",
                "--out",
                out,
            ],
            "no store",
            "does not exist",
        ),
    ]
    for args, *parts in cases:
        code, _, err = run(*args)
        assert code == 2, (args, err)
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert all(part in err for part in parts), err


def test_a_search_on_a_benchmark_table_is_retrained_on_a_dataset_given_by_name(
    tmp_path: Path,
) -> None:
    db = tmp_path / "runs.db"
    config = CONFIG.format(db=db).replace(
        "{name: train, options: {dataset: digits, epochs: 1, threads: 1}}", "tabular"
    )
    (tmp_path / "search.yaml").write_text(config)
    assert run("search", str(tmp_path / "search.yaml"), "--quiet")[0] == 0
    code, _, err = run("retrain", "tiny", "--storage", str(db))
    assert code == 2 and "cannot be retrained with it" in err and "--dataset NAME" in err
    args = ["retrain", "tiny", "--storage", str(db), "--dataset", "digits", "--epochs", "1"]
    code, out, err = run(*args, "--seeds", "0")
    assert code == 0, err
    assert "(epochs=1, seeds 0)" in out and "over seed 0 (epochs=1)" in out
    # the retrained weights remember their dataset: the check runs on its real inputs
    code, out, err = run(
        "export", "tiny", "--storage", str(db), "--format", "code", "--out", str(tmp_path / "n.py")
    )
    assert code == 0, err
    assert "weights: retrained seed 0 (epochs=1" in out and "real test inputs (digits)" in out


def test_an_experiment_made_from_python_is_retrained_and_exported_from_the_cli(
    tmp_path: Path,
) -> None:
    from nasforge import Experiment
    from nasforge.estimation.train import TrainEvaluator
    from nasforge.spaces import NB201Space

    db = tmp_path / "runs.db"
    exp = Experiment(
        NB201Space(n_cells=1, channels=8),
        strategy="random",
        evaluator=TrainEvaluator("digits", epochs=1, threads=1),
        objectives={"val_acc": "max"},
        storage=db,
        name="py",
        device="cpu",
    )
    exp.run(max_trials=2, progress=False)
    rebuild = exp.record.spec["rebuild"]
    assert rebuild["space"]["name"] == "nb201" and rebuild["device"] == "cpu"
    assert NB201Space(**rebuild["space"]["options"]).size() == exp.space.size()
    options = rebuild["evaluator"]["options"]
    assert rebuild["evaluator"]["name"] == "train"
    assert (options["dataset"], options["epochs"], options["threads"]) == ("digits", 1, 1)
    code, out, err = run("retrain", "py", "--storage", str(db), "--seeds", "0", "--quiet")
    assert code == 0, err
    assert "over seed 0 (epochs=1)" in out
    code, out, err = run(
        "export", "py", "--storage", str(db), "--format", "pytorch", "--out", str(tmp_path / "m.pt")
    )
    assert code == 0, err
    assert "weights: retrained seed 0" in out and "check passed" in out
    # a custom evaluator is not recorded: retraining it from the CLI says what to do
    Experiment(
        NB201Space(n_cells=1, channels=8),
        strategy="random",
        evaluator=lambda arch: {"val_acc": 1.0},
        objectives={"val_acc": "max"},
        storage=db,
        name="custom",
    ).run(max_trials=1, progress=False)
    code, _, err = run("retrain", "custom", "--storage", str(db))
    assert code == 2 and err.count("\n") == 1, err
    assert "cannot be retrained with it" in err and "--dataset NAME" in err
