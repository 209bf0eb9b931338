"""The learning-curve calibration replay's smoke run prints its JSON summary last."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_lc_calibration_quick_prints_one_json_object_last(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("lc_calibration.py", "--quick", timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    (store,) = result.values()
    assert list(store) == ["residuals", "held-out", "ensemble"]
    for cell in store.values():
        for tail in ("above_q90", "above_q95"):
            assert set(cell[tail]) == {"1", "2"}
            assert all(0.0 <= share <= 1.0 for share in cell[tail].values())
        assert 0.0 < cell["epochs_share"] <= 1.0
        assert 0 <= cell["wrong"] <= cell["stopped"] <= 10
        if cell["stopped"] == 0:  # nothing stopped: the search's own best is kept
            assert cell["epochs_share"] == 1.0 and cell["d_val"] == 0.0
