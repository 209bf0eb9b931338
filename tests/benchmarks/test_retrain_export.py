"""Smoke test of benchmarks/retrain_export.py: it runs and its JSON holds passing checks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_retrain_export_quick_prints_parity_and_timing_json_last(
    run_benchmark: RunBenchmark,
) -> None:
    done = run_benchmark("retrain_export.py", "--quick", timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    retrain = result["retrain"]
    assert retrain["epochs"] == 1 and retrain["seeds"] == [0] and retrain["seconds_per_seed"] > 0
    assert 0.0 <= retrain["test_acc_mean"] <= 100.0 and retrain["test_acc_std"] is None
    assert set(result["parity"]) == {"digits trained", "digits initial"}
    for row in result["parity"].values():
        assert list(row) == ["pytorch", "torchscript", "onnx", "code"]
        assert all(cell["passed"] and cell["max_abs_diff"] <= 1e-4 for cell in row.values())
