"""``benchmarks/topologies.py --quick``: every registered case runs, an unregistered one is
skipped with a note, the last line is one JSON object, and the plot is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


def test_topologies_quick(run_benchmark: RunBenchmark, tmp_path: Path) -> None:
    png = tmp_path / "topologies.png"
    done = run_benchmark(
        "topologies.py",
        "--quick",
        "--cases",
        "large-scale-evolution,genetic-cnn",
        "--plot",
        str(png),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    from nasforge.spaces import list_spaces

    if "genetic-cnn" not in list_spaces():
        assert result["skipped"] == ["genetic-cnn"] and "skipped" in done.stderr
    case = result["large-scale-evolution"]
    assert case["evolution"]["trials"] == case["random"]["trials"] == 3
    for run in ("evolution", "random", "inherit", "scratch"):
        assert 0 <= case[run]["best_test_acc"] <= 100 and case[run]["curve"]
    assert case["inherit"]["trials"] >= 1 and case["scratch"]["trials"] >= 1
    assert set(case["graph_properties"]["best"][0]) >= {"depth", "skip_edges", "max_fan_in"}
    assert png.stat().st_size > 0


def test_topologies_refuses_an_unknown_case(run_benchmark: RunBenchmark) -> None:
    done = run_benchmark("topologies.py", "--quick", "--cases", "nowhere", timeout=120)
    assert done.returncode == 2 and "--cases: unknown 'nowhere'" in done.stderr
