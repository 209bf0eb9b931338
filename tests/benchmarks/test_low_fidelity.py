from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_low_fidelity_quick_prints_one_json_object_last(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("low_fidelity.py", "--quick", timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(result) == ["full", "train_fraction=0.25", "channels=4", "epochs=1", "n_archs"]
    assert result["n_archs"] == 2
    for name in ("train_fraction=0.25", "channels=4", "epochs=1"):
        assert result[name]["wall_s"] > 0
        assert 0 <= result[name]["test_acc"] <= 100
