from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_spaces_quick_prints_one_row_per_space_last(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("spaces.py", "--quick", "--spaces", "pytorch", timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(result) == ["pytorch"]
    row = result["pytorch"]
    assert row["trials"] == 6 and row["s_per_trial"] > 0
    for key in ("rea_best_test_acc", "random_mean_test_acc", "random_best_test_acc"):
        assert 0 <= row[key] <= 100


def test_spaces_refuses_an_unknown_space(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("spaces.py", "--quick", "--spaces", "nowhere", timeout=120)
    assert done.returncode == 2 and "--spaces: unknown 'nowhere'" in done.stderr
