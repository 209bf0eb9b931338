"""Smoke test of benchmarks/main_job.py: both arms, the thread timing and the recipes run,
JSON last; the selection rules read the stores a search kept."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from tests.benchmarks.conftest import RunBenchmark


def test_main_job_quick_compares_both_arms_and_threads(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("main_job.py", "--quick", timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    threads = result["threads"]
    for label in ("1", "default"):
        assert threads[label]["idle"] > 0 and threads[label]["loaded"] > 0
    (recipe,) = result["recipes"].values()  # --quick: the first recipe, one epoch
    assert 0.0 <= recipe["test_acc_mean"] <= 100.0 and len(recipe["test_acc"]) == 1
    arms = result["search"]["0.02min"]
    assert set(arms) == {"nasforge", "optuna_tpe"}
    for arm in arms.values():
        assert arm["trials_mean"] >= 1 and 0.0 <= arm["test_acc_mean"] <= 100.0
    # the main job keeps its trials' weights and ends with the ensemble of its five best
    (run,) = arms["nasforge"]["runs"]
    assert 1 <= run["ensemble_members"] <= 5 and 0.0 <= run["ensemble_test_acc"] <= 100.0
    assert set(run["ensembles"]) == {"1", "3", "5", "10"}
    assert run["ensembles"]["1"] == run["test_acc"]  # one member: the best trial itself


def test_main_job_names_the_arms_it_knows(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("main_job.py", "--part", "search", "--arms", "tpe", timeout=120)
    assert done.returncode != 0
    assert "--arms='tpe'; allowed: nasforge and/or optuna_tpe" in done.stderr


def test_selection_rules_read_the_stores_a_search_kept(
    run_benchmark: RunBenchmark, tmp_path: Path
) -> None:
    kept = tmp_path / "runs"
    search = run_benchmark(
        "main_job.py", "--quick", "--part", "search", "--arms", "nasforge", "--keep", str(kept)
    )
    assert search.returncode == 0, search.stderr
    assert len(list(kept.glob("main-0-*.db"))) == 1  # the quick search's one store, kept
    done = run_benchmark("main_job.py", "--quick", "--part", "selection", "--stores", str(kept))
    assert done.returncode == 0, done.stderr
    (rules,) = json.loads(done.stdout.strip().splitlines()[-1])["selection"].values()
    assert rules["trials"]["values"][0] >= 1
    picked = {rule: rules[rule]["values"][0] for rule in ("val_acc", "val_loss")}
    oracle = rules["oracle (test_acc)"]["values"][0]
    assert all(0.0 <= test <= oracle for test in picked.values())  # nothing beats the oracle


def test_selection_needs_a_folder_of_stores(run_benchmark: RunBenchmark, tmp_path: Path) -> None:
    done = run_benchmark("main_job.py", "--part", "selection", "--stores", str(tmp_path))
    assert done.returncode != 0
    assert "no main-<seed>-<seconds>.db store in it" in done.stderr
