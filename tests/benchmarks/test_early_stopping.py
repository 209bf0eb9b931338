"""The early-stopping benchmark's smoke run prints its JSON summary last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_early_stopping_quick_prints_one_json_object_last(
    tmp_path: Path, run_benchmark: RunBenchmark
) -> None:
    results = tmp_path / "runs.jsonl"
    args = ["--quick", "--schedulers", "none,asha", "--results", str(results)]
    done = run_benchmark("early_stopping.py", *args, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(summary) == ["none", "asha"]
    for cell in summary.values():
        assert {"best_test_acc", "epochs", "wall_s"} <= set(cell)
        assert 10.0 < cell["best_test_acc"] <= 100.0
    assert summary["none"]["epochs"] == 4 * 2  # 4 trials x 2 epochs, nothing stopped
    assert summary["asha"]["epochs"] < summary["none"]["epochs"]  # rung at epoch 1 of 2
    # each run is kept, so a later call reads it back instead of training again
    assert len(results.read_text().splitlines()) == 2


def test_scheduler_variants_keep_their_commas() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from early_stopping import parse_variant, split_schedulers

    names = split_schedulers(["none,asha", "learning-curve@delta=0.2,min_trials=5,median"])
    assert names == ["none", "asha", "learning-curve@delta=0.2,min_trials=5", "median"]
    assert parse_variant(names[2]) == ("learning-curve", {"delta": 0.2, "min_trials": 5})
    assert parse_variant("learning-curve@uncertainty=ensemble")[1] == {"uncertainty": "ensemble"}


def test_early_stopping_plot_reads_the_stores(tmp_path: Path, run_benchmark: RunBenchmark) -> None:
    plot = tmp_path / "es.png"
    args = ["--quick", "--schedulers", "none,asha", "--storage", str(tmp_path), "--plot", str(plot)]
    done = run_benchmark("early_stopping.py", *args, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"plot written to {plot}" in done.stdout and "not plotted" not in done.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    refused = run_benchmark("early_stopping.py", "--quick", "--plot", str(plot), timeout=60)
    assert refused.returncode == 2 and "give --storage DIR" in refused.stderr
