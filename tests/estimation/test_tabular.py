from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasforge.errors import ConfigError, TableError
from nasforge.estimation import TrialContext, create_evaluator
from nasforge.estimation.tabular import (
    REQUIRED_COLUMNS,
    BenchmarkTable,
    TabularEvaluator,
    load_table,
    shipped_table_path,
)
from nasforge.space import CellSpace

HEADER = "arch,val_acc_12,test_acc_12,val_acc_200,test_acc_200,params_m"
ARCH_A = "|a~0|+|a~0|b~1|"
ARCH_B = "|b~0|+|a~0|b~1|"


def write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def tiny_table(tmp_path: Path) -> Path:
    """A complete 3-node cell with operations 'b' and 'a': 2 ** 3 = 8 archs."""
    space = CellSpace(3, ["b", "a"])
    lines = [HEADER]
    for i, arch in enumerate(space.enumerate()):
        lines.append(f"{arch.key},{50 + i},{51 + i},{60 + i},{61 + i},{0.1 * (i + 1):.1f}")
    return write(tmp_path, "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def shipped() -> BenchmarkTable:
    return load_table()


@pytest.fixture(scope="module")
def evaluator() -> TabularEvaluator:
    return TabularEvaluator()


def test_shipped_table_has_the_nb201_shape() -> None:
    table = load_table(shipped_table_path())
    assert len(table) == 15_625
    assert table.n_nodes == 4
    assert table.ops == ("avg_pool_3x3", "none", "nor_conv_1x1", "nor_conv_3x3", "skip_connect")
    assert table.optimum == pytest.approx(94.3733)
    assert table.best_by_val() == pytest.approx(94.3733)
    assert table.test_acc_200.shape == table.val_acc_12.shape == (15_625,)
    with pytest.raises(ValueError):
        table.val_acc_12[0] = 0.0  # columns are read-only


def test_space_covers_the_table_and_keys_round_trip(shipped: BenchmarkTable) -> None:
    space = shipped.space()
    assert space.name == "nb201-table"
    assert space.size() == len(shipped)
    for key in shipped.keys[::997]:
        assert space.parse(key).key == key
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert space.sample(rng) in shipped


def test_lookup_by_key_and_arch(shipped: BenchmarkTable) -> None:
    key = "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|none~2|"
    row = shipped.lookup(key)
    assert row == {
        "val_acc_12": 46.226,
        "test_acc_12": 51.32,
        "val_acc_200": 65.1293,
        "test_acc_200": 70.28,
        "params_m": 0.073306,
    }
    assert shipped.lookup(shipped.space().parse(key)) == row
    assert shipped.find("|x~0|") is None


def test_evaluator_returns_every_column_and_picks_epochs(
    shipped: BenchmarkTable, evaluator: TabularEvaluator
) -> None:
    arch = evaluator.space().parse(shipped.keys[1])
    metrics = evaluator.evaluate(arch, TrialContext())
    assert set(metrics) == set(TabularEvaluator.metric_names)
    assert metrics["val_acc"] == metrics["val_acc_12"] == 46.226
    assert metrics["test_acc"] == metrics["test_acc_12"]
    long = TabularEvaluator(epochs=200).evaluate(arch, TrialContext())
    assert long["val_acc"] == long["val_acc_200"] and long["test_acc"] == long["test_acc_200"]
    override = evaluator.evaluate(arch, TrialContext(fidelity={"epochs": 200}))
    assert override["test_acc"] == metrics["test_acc_200"]


def test_evaluator_by_name_and_bad_epochs(evaluator: TabularEvaluator) -> None:
    assert isinstance(create_evaluator("tabular", epochs=200), TabularEvaluator)
    with pytest.raises(ConfigError, match="epochs must be 12 or 200, got 50"):
        TabularEvaluator(epochs=50)
    arch = evaluator.space().parse(evaluator.table_.keys[0])
    with pytest.raises(ConfigError, match="fidelity 'epochs'"):
        evaluator.evaluate(arch, TrialContext(fidelity={"epochs": 3}))


def test_curve_reports_the_shorter_training_lengths_as_steps(tmp_path: Path) -> None:
    evaluator = TabularEvaluator(str(tiny_table(tmp_path)), epochs=200, curve=True)
    arch = evaluator.space().parse(evaluator.table_.keys[2])
    seen: list[tuple[int, dict[str, float]]] = []
    ctx = TrialContext(reporter=lambda step, metrics: seen.append((step, metrics)))
    assert evaluator.evaluate(arch, ctx)["val_acc"] == 62.0
    assert seen == [
        (12, {"val_acc": 52.0, "params_m": 0.3}),
        (200, {"val_acc": 62.0, "params_m": 0.3}),
    ]
    assert evaluator.max_step({}) == 200 and evaluator.max_step({"epochs": 12}) == 12
    seen.clear()
    evaluator.evaluate(arch, TrialContext(fidelity={"epochs": 12}, reporter=ctx.reporter))
    assert seen == [(12, {"val_acc": 52.0, "params_m": 0.3})]
    assert TabularEvaluator(str(tiny_table(tmp_path)), epochs=200).max_step({}) is None
    with pytest.raises(ConfigError, match="curve must be true or false, got 'yes'"):
        TabularEvaluator(curve="yes")  # type: ignore[arg-type]


def test_evaluate_an_arch_the_table_lacks(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{ARCH_A},1,2,3,4,5\n")
    evaluator = TabularEvaluator(str(path))
    missing = evaluator.space().parse("|a~0|+|a~0|a~1|")
    with pytest.raises(TableError) as info:
        evaluator.evaluate(missing, TrialContext())
    message = str(info.value)
    assert "'|a~0|+|a~0|a~1|'" in message and str(path) in message and "\n" not in message


def test_user_table_with_other_ops_nodes_and_column_order(tmp_path: Path) -> None:
    path = tiny_table(tmp_path)
    table = load_table(path)
    assert (len(table), table.n_nodes, table.ops) == (8, 3, ("a", "b"))
    assert table.space().size() == 8
    assert all(arch in table for arch in table.space().enumerate())
    assert table.optimum == 68.0 and table.best_by_val() == 68.0
    # columns in another order, an extra column, spaces and a BOM are fine
    text = "\ufeffparams_m, arch ,note,test_acc_200,val_acc_200,test_acc_12,val_acc_12\n"
    text += f"0.5, {ARCH_A} ,hello,4,3,2,1\n\n"
    other = load_table(write(tmp_path, text, "other.csv"))
    assert other.lookup(ARCH_A) == {
        "val_acc_12": 1.0,
        "test_acc_12": 2.0,
        "val_acc_200": 3.0,
        "test_acc_200": 4.0,
        "params_m": 0.5,
    }


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("", ["the file is empty", "arch, val_acc_12"]),
        (f"{HEADER}\n", ["header but no rows"]),
        (
            "arch,val_acc_12,test_acc_12,val_acc_200,params_m\n|a~0|,1,2,3,4\n",
            ["missing column 'test_acc_200'", ", ".join(REQUIRED_COLUMNS)],
        ),
        (
            f"{HEADER}\n{ARCH_A},1,2,3,4,5\n|a~1|+|a~0|b~1|,1,2,3,4,5\n",
            ["line 3", "'|a~1|+|a~0|b~1|'"],
        ),
        (f"{HEADER}\n{ARCH_A},1,2,3,4,5\nconv3x3,1,2,3,4,5\n", ["line 3", "'conv3x3'"]),
        (f"{HEADER}\n{ARCH_A},1,2,3,4,5\n|a~0|,1,2,3,4,5\n", ["line 3", "2 nodes", "have 3"]),
        (f"{HEADER}\n{ARCH_A},1,2,abc,4,5\n", ["line 2", "column 'val_acc_200'", "'abc'"]),
        (f"{HEADER}\n{ARCH_A},1,2,3,nan,5\n", ["line 2", "column 'test_acc_200'", "'nan'"]),
        (f"{HEADER}\n{ARCH_A},1,2,3,4,\n", ["line 2", "column 'params_m'", "''"]),
        (f"{HEADER}\n{ARCH_A},1,2,3\n", ["line 2", "expected 6 fields, found 4"]),
        (
            f"{HEADER}\n{ARCH_A},1,2,3,4,5\n{ARCH_B},1,2,3,4,5\n{ARCH_A},6,7,8,9,1\n",
            ["line 4", "duplicate arch", ARCH_A, "first on line 2"],
        ),
    ],
)
def test_table_errors_are_one_line_and_name_file_and_problem(
    tmp_path: Path, text: str, pieces: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TableError) as info:
        load_table(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for piece in pieces:
        assert piece in message


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="file not found"):
        load_table(tmp_path / "nope.csv")
    with pytest.raises(TableError, match="cannot read it"):
        load_table(tmp_path)  # a folder
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(TableError, match="cannot read it"):
        load_table(binary)
    with pytest.raises(TableError, match="file not found"):
        TabularEvaluator(str(tmp_path / "nope.csv"))
