from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_parallel_quick_prints_rates_per_mode_last(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("parallel.py", "--quick", timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"serial", "processes_2", "processes_4"} <= set(result)
    assert result["trials"] == 8 and result["delay_s"] == 0.05
    for mode in ("serial", "processes_2", "processes_4"):
        assert 0 < result[mode] <= result["details"][mode]["ideal_per_s"]
    assert result["store_ms_per_trial"] > 0
