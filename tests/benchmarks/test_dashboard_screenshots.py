from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark


@pytest.mark.usefixtures("chromium")
def test_dashboard_screenshots_quick_writes_the_pages_and_plots(
    tmp_path: Path, run_benchmark: RunBenchmark
) -> None:
    done = run_benchmark("dashboard_screenshots.py", "--quick", "--out", str(tmp_path), timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    shots = [Path(p) for p in result["screenshots"]]
    assert [p.name for p in shots] == [
        "index.png",
        "experiment-digits-nb201.png",
        "trial-digits-nb201.png",  # the page with the best trial's panel open
    ]
    plots = {Path(p).name for p in result["plots"]}
    assert {"digits-nb201-pareto.png", "digits-nb201-cell.png"} <= plots
    assert "nb201-cifar10-table-pareto.png" not in plots  # one objective: no front
    assert "nb201-cifar10-table-pareto.png: a Pareto front needs 2 objectives" in done.stderr
    for path in [*shots, *(Path(p) for p in result["plots"])]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(shots[1]) as page:  # the whole experiment page, not just the window
        assert page.width == 1400 and page.height > 1500


def test_dashboard_screenshots_on_a_missing_store_exits_2_even_without_a_browser(
    tmp_path: Path, run_benchmark: RunBenchmark
) -> None:
    done = run_benchmark(
        "dashboard_screenshots.py", "--storage", str(tmp_path / "none.db"), "--out", str(tmp_path)
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: no store at")
