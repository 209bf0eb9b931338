from __future__ import annotations

import json
from typing import TYPE_CHECKING

from nasforge.estimation.proxies import list_proxies

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_zero_cost_quick_prints_spearman_per_proxy_last(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("zero_cost.py", "--quick", "--prefilter", timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert list(result)[: len(list_proxies()) + 1] == [*list_proxies(), "vote"]
    assert result["n_archs"] == 10 and result["epochs"] == 1
    for name in [*list_proxies(), "vote"]:
        assert -1.0 <= result[name] <= 1.0, name
    searches = result["prefilter"]
    assert searches["trials"] == 3 and searches["candidates"] == 3
    for label in ("random", "random+synflow"):
        assert len(searches[label]["best_test_acc"]) == 1
        assert 0.0 < searches[label]["mean"] <= 100.0
    assert any(line.startswith("synflow") and line.endswith("0.74") for line in lines)
