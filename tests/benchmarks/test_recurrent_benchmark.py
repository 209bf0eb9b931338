from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_recurrent_quick_compares_the_found_cell_with_lstm_and_gru(
    run_benchmark: RunBenchmark, tmp_path: Path
) -> None:
    plot = tmp_path / "cells.png"
    done = run_benchmark(
        "recurrent.py",
        "--quick",
        "--tasks",
        "adding,chars",
        "--seed-cells",
        "gru",
        "--plot",
        str(plot),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(result) == ["adding", "chars", "beats_lstm_on"]
    for task, metric in (("adding", "test_mse"), ("chars", "test_bpc")):
        row = result[task]
        assert row["metric"] == metric and row["search_trials"] == 3
        assert row["seeded_with"] == [
            "n0=sigmoid(linear(x,h));n1=sigmoid(linear(x,h));"
            "n2=mul(h,n1);n3=tanh(linear(x,n2));n4=blend(n0,h,n3);h=n4"
        ]
        assert set(row["params"]) == {"found", "lstm", "gru"}
        counts = row["params"].values()
        assert max(counts) - min(counts) < 0.05 * max(counts)  # the same parameter budget
        assert row["drawing"].startswith("flowchart LR") and "h_out" in row["drawing"]
        for name in ("found", "lstm", "gru"):
            assert row[f"{name}_mean"] > 0
    assert set(result["beats_lstm_on"]) <= {"adding", "chars"}
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_recurrent_refuses_an_unknown_task(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("recurrent.py", "--quick", "--tasks", "speech", timeout=120)
    assert done.returncode == 2 and "--tasks: unknown 'speech'" in done.stderr
