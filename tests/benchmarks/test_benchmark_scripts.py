from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from nasforge.space import CellSpace

if TYPE_CHECKING:
    from tests.benchmarks.conftest import RunBenchmark

NB201_SCRIPT = "nb201_strategies.py"


def test_nb201_strategies_quick_prints_the_bench_json_last(
    tmp_path: Path, run_benchmark: RunBenchmark
) -> None:
    plot = tmp_path / "plot.png"
    done = run_benchmark(NB201_SCRIPT, "--quick", "--plot", str(plot), timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert list(result) == ["random", "regularized-evolution"]
    for by_q in result.values():
        assert list(by_q) == ["25", "50"]
        for cell in by_q.values():
            assert set(cell) == {"mean", "std", "runs"} and cell["runs"] == 3
            assert 85.0 < cell["mean"] <= 94.38
    assert any(line.startswith("overhead regularized-evolution:") for line in lines)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nb201_strategies_traces_cache_is_read_back(
    tmp_path: Path, run_benchmark: RunBenchmark
) -> None:
    args = ["--quick", "--plot", str(tmp_path / "p.png"), "--traces", str(tmp_path / "traces")]
    first = run_benchmark(NB201_SCRIPT, *args, timeout=120)
    assert first.returncode == 0, first.stderr
    assert len(list((tmp_path / "traces").glob("*.json"))) == 2
    again = run_benchmark(NB201_SCRIPT, *args, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("traces read from") == 2
    assert again.stdout.splitlines()[-1] == first.stdout.splitlines()[-1]


def test_nb201_strategies_on_a_user_table(tmp_path: Path, run_benchmark: RunBenchmark) -> None:
    lines = ["arch,val_acc_12,test_acc_12,val_acc_200,test_acc_200,params_m"]
    for i, arch in enumerate(CellSpace(3, ["x", "y"]).enumerate()):
        lines.append(f"{arch.key},{i},{i},{i},{10 + i},1")
    table = tmp_path / "mine.csv"
    table.write_text("\n".join(lines))
    plot = tmp_path / "mine.png"
    args = ["--table", str(table), "--repeats", "2", "--queries", "4", "8", "--plot", str(plot)]
    strategies = ["--strategies", "random,regularized-evolution"]
    done = run_benchmark(NB201_SCRIPT, *args, *strategies, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["random"]["8"] == {"mean": 17.0, "std": 0.0, "runs": 2}
    assert plot.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "missing.csv"], "file not found"),
        (["--strategies", "nope"], "unknown strategy"),
    ],
)
def test_nb201_strategies_user_errors_exit_2(
    tmp_path: Path, run_benchmark: RunBenchmark, args: list[str], message: str
) -> None:
    plot = ["--plot", str(tmp_path / "p.png")]
    done = run_benchmark(NB201_SCRIPT, "--quick", *plot, *args, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_nb201_tables_quick_compares_the_strategy_with_tpe_on_each_table(
    run_benchmark: RunBenchmark,
) -> None:
    done = run_benchmark("nb201_tables.py", "--quick", timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(result) == ["cifar10", "synthetic-1"]
    for row in result.values():
        assert set(row) == {
            "pnas@10",
            "optuna:tpe@20",
            "random@10",
            "random@20",
            "optimum",
            "best_by_val",
        }
        assert 0 < row["pnas@10"]["val_acc_12"] <= 100
        assert row["random@20"]["mean"] <= row["optimum"]["mean"]
    assert result["synthetic-1"]["optimum"]["mean"] != result["cifar10"]["optimum"]["mean"]


def test_nb201_tables_takes_any_synthetic_seed() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from nb201_tables import TABLES, make_table

    assert make_table("cifar10") is TABLES["cifar10"]
    assert make_table("synthetic-7") is not None
    assert make_table("synthetic-0") is None and make_table("nope") is None
