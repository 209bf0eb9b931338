"""The MOASHA part of the multi-objective benchmark: a smoke run prints its JSON last."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_moasha_part_spends_fewer_epochs_and_prints_the_json_last(
    run_benchmark: RunBenchmark,
) -> None:
    done = run_benchmark("_moasha_part.py", "--seeds", "0", "--queries", "10", "30", timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    full, moasha = result["full"]["30"], result["moasha"]["30"]
    assert full["epochs"]["mean"] == 30 * 200 and full["complete"]["mean"] == 30
    assert moasha["epochs"]["mean"] < full["epochs"]["mean"] / 2
    assert 0 < moasha["hv"]["mean"] <= full["hv"]["mean"] <= result["true_front_hv"]
    same = result["full_same_epochs"]["30"]
    assert same["epochs"]["mean"] <= moasha["epochs"]["mean"]
    assert list(result["moasha"]) == ["10", "30"]
