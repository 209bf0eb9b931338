from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasforge.bench import nb201_traces
from nasforge.bench.tables import noisy_table, permuted_ops_table, synthetic_table, write_table
from nasforge.errors import ConfigError
from nasforge.estimation.tabular import load_table
from nasforge.space import CellSpace


@pytest.fixture(scope="module")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-node table with a value per arch that depends on its operations."""
    space = CellSpace(3, ["none", "skip_connect", "nor_conv_3x3"])
    keys = [a.key for a in space.enumerate()]
    score = np.array([k.count("conv") * 10 + k.count("skip") for k in keys], dtype=float)
    columns = {
        "val_acc_12": score,
        "test_acc_12": score,
        "val_acc_200": score,
        "test_acc_200": score + 50,
        "params_m": score / 100,
    }
    return write_table(tmp_path_factory.mktemp("t") / "small.csv", keys, columns)


def test_permuted_ops_moves_every_name_and_keeps_the_values(
    small_source: Path, tmp_path: Path
) -> None:
    source = load_table(small_source)
    table = permuted_ops_table(tmp_path / "p.csv", seed=3, source=source)
    assert sorted(table.keys) == sorted(source.keys)
    for column in source.columns:
        assert sorted(table.columns[column]) == pytest.approx(sorted(source.columns[column]))
    # the all-conv cell's values now sit under another operation's name
    conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    assert table.lookup(conv)["test_acc_200"] != source.lookup(conv)["test_acc_200"]
    assert table.optimum == source.optimum


def test_noisy_table_changes_only_the_searched_column(small_source: Path, tmp_path: Path) -> None:
    source = load_table(small_source)
    table = noisy_table(tmp_path / "n.csv", sigma=2.0, seed=0, source=source)
    assert table.keys == source.keys
    assert np.array_equal(table.test_acc_200, source.test_acc_200)
    diff = table.val_acc_12 - source.val_acc_12
    assert 1.0 < diff.std() < 3.0 and not np.allclose(diff, 0)
    with pytest.raises(ConfigError, match="sigma"):
        noisy_table(tmp_path / "bad.csv", sigma=-1.0, source=source)


def test_synthetic_table_is_seeded_and_looks_like_nas_bench_201(tmp_path: Path) -> None:
    a = synthetic_table(tmp_path / "a.csv", seed=4, n_nodes=3)
    b = synthetic_table(tmp_path / "b.csv", seed=4, n_nodes=3)
    c = synthetic_table(tmp_path / "c.csv", seed=5, n_nodes=3)
    assert len(a) == 5**3 and a.n_nodes == 3
    assert np.array_equal(a.test_acc_200, b.test_acc_200)
    assert not np.array_equal(a.test_acc_200, c.test_acc_200)
    assert 80 < np.median(a.test_acc_200) < 95 and a.optimum < 100
    # the searched column is a good but imperfect guide
    rho = spearmanr(a.val_acc_12, a.test_acc_200)[0]
    assert 0.6 < rho < 0.99
    # params count the convolutions
    assert (
        a.lookup("|none~0|+|none~0|none~1|")["params_m"]
        < a.lookup("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|")["params_m"]
    )
    with pytest.raises(ConfigError, match="n_nodes"):
        synthetic_table(tmp_path / "bad.csv", n_nodes=1)


def test_the_protocol_runs_on_a_synthetic_table(tmp_path: Path) -> None:
    table = synthetic_table(tmp_path / "s.csv", seed=0, n_nodes=3)
    result = nb201_traces(["random", "pnas"], [10, 40], 2, table=table.path)
    for name in ("random", "pnas"):
        assert result.values(name, 40).max() <= table.optimum
        # the searched metric only grows; the test_acc_200 of the best arch by val_acc_12 need
        # not (val_acc_12 is a noisy copy here: a better one can be a worse arch)
        for trace in result.traces[name]:
            assert trace.val_acc_12[:40].max() >= trace.val_acc_12[:10].max()
