"""Smoke test of benchmarks/main_job.py: both arms, the thread timing and the recipes run,
JSON last."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


def test_main_job_names_the_arms_it_knows(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("main_job.py", "--part", "search", "--arms", "tpe", timeout=120)
    assert done.returncode != 0
    assert "--arms='tpe'; allowed: nasforge and/or optuna_tpe" in done.stderr
