"""The fault campaign's smoke run: real searches killed and signalled, then checked."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_faults_quick_loses_nothing_and_prints_one_json_object_last(
    run_benchmark: RunBenchmark,
) -> None:
    done = run_benchmark("faults.py", "--quick", timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["runs"] == 3
    for key in ("lost", "duplicated", "wrongly_failed", "left_running", "hangs", "tracebacks"):
        assert result[key] == 0, (key, done.stderr[-3000:])
