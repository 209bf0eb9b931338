"""The multi-objective benchmark's smoke run: every part runs and the JSON comes last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_multiobjective_quick_prints_the_comparison_last(
    run_benchmark: RunBenchmark, tmp_path: Path
) -> None:
    plot = tmp_path / "front.png"
    done = run_benchmark(
        "multiobjective.py",
        "--quick",
        "--strategies",
        "random,dpp-net,optuna-nsga2-direct",
        "--plot",
        str(plot),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["reference_point"] == [1.1, 1.1] and result["seeds"] == 2
    truth = result["true_front"]["hypervolume"]
    for name in ("random", "dpp-net", "optuna-nsga2-direct"):
        assert 0 < result[name]["hypervolume"] <= truth and result[name]["igd"] >= 0
    assert result["best_nasforge"] in ("random", "dpp-net")
    assert plot.stat().st_size > 0
    moasha = result["moasha"]
    assert moasha["moasha"]["20"]["epochs"]["mean"] < moasha["full"]["20"]["epochs"]["mean"]
    latency = result["latency"]
    assert latency["front"] and all(row["remeasured_ms"] > 0 for row in latency["front"])
