from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark

VIEWS = {
    "index",
    "page",
    "summary",
    "history",
    "history_since",
    "pareto",
    "hypervolume",
    "trials_page",
    "trials_by_metric",
    "trials_pruned_later_page",
    "trial",
    "curves",
    "ops",
    "cell_svg",
}


def test_dashboard_scale_quick_times_every_view(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("dashboard_scale.py", "--quick", timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["trials"] == 500 and result["intermediate_rows"] > 1000
    assert set(result["views"]) == VIEWS
    for view, times in result["views"].items():
        assert times["status"] == 200, view
        assert times["first_ms"] > 0 and 0 < times["median_ms"] <= times["max_ms"], view
    assert result["slowest_median_ms"] == max(v["median_ms"] for v in result["views"].values())
    assert result["quiet_poll_ms"] > 0 and result["goal_ms"] == 100.0
