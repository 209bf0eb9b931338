"""Other tables in the NAS-Bench-201 column form, to check that a strategy tuned on one table
works on others.

A strategy tuned on the CIFAR-10 table may have learned that table rather than how to search:
that ``nor_conv_3x3`` is good, that the 12-epoch accuracy ranks archs almost exactly as the
200-epoch one does. Each function here writes a table of the same form whose landscape differs
in one known way, so a benchmark can tell the two apart:

- :func:`permuted_ops_table`: the CIFAR-10 values with the operation names swapped by a random
  bijection. Same landscape, different labels: any prior on what an operation name means is
  now wrong (e.g. "``skip_connect`` is a cheap, harmless filler").
- :func:`noisy_table`: the CIFAR-10 table with Gaussian noise of a given standard deviation
  added to ``val_acc_12``, the column searches see. The 12-epoch signal becomes a worse guide
  to the 200-epoch result; greedy strategies that trust single queries suffer.
- :func:`synthetic_table`: a landscape drawn at random: every (edge, operation) has an effect,
  every pair of them an interaction, and the sum passes through a saturating curve to give the
  200-epoch accuracy; the 12-epoch one is a noisy, compressed copy. Nothing about NAS-Bench-201
  carries over except the cell's shape.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "synthetic.csv"
    >>> table = synthetic_table(path, seed=1)
    >>> len(table), table.n_nodes
    (15625, 4)
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nasforge.errors import ConfigError
from nasforge.estimation.tabular import VALUE_COLUMNS, BenchmarkTable, load_table
from nasforge.space import CellSpace

#: the operations of NAS-Bench-201, in the order the synthetic table's names take
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def write_table(path: str | Path, keys: Sequence[str], columns: Mapping[str, np.ndarray]) -> Path:
    """Write a NAS-Bench-201-form CSV (``arch`` then the value columns) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(VALUE_COLUMNS)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["arch", *names])
        for i, key in enumerate(keys):
            out.writerow([key, *(f"{float(columns[n][i]):.4f}" for n in names)])
    return path


def permuted_ops_table(
    path: str | Path, seed: int = 0, source: BenchmarkTable | str | Path | None = None
) -> BenchmarkTable:
    """``source`` (default: the shipped CIFAR-10 table) with its operation names permuted.

    The permutation is drawn from ``seed`` among those that move every operation, so no name
    keeps its meaning.
    """
    table = source if isinstance(source, BenchmarkTable) else load_table(source)
    rng = np.random.default_rng(seed)
    ops = list(table.ops)
    if len(ops) < 2:
        raise ConfigError(f"table {str(table.path)!r} has one operation; nothing to permute")
    while True:
        order = rng.permutation(len(ops))
        if all(int(order[i]) != i for i in range(len(ops))):
            break
    rename = {ops[i]: ops[int(order[i])] for i in range(len(ops))}
    space = CellSpace(n_nodes=table.n_nodes, ops=table.ops)
    keys = []
    for key in table.keys:
        arch = space.parse(key)
        keys.append(space.make({k: rename[v] for k, v in arch.items()}).key)
    return _written(path, keys, table.columns)


def noisy_table(
    path: str | Path,
    sigma: float = 1.0,
    seed: int = 0,
    source: BenchmarkTable | str | Path | None = None,
) -> BenchmarkTable:
    """``source`` with N(0, ``sigma``²) noise on ``val_acc_12`` (clipped to [0, 100])."""
    if not sigma >= 0:
        raise ConfigError(f"sigma must be >= 0, got {sigma!r}")
    table = source if isinstance(source, BenchmarkTable) else load_table(source)
    rng = np.random.default_rng(seed)
    columns = dict(table.columns)
    noise = rng.normal(0.0, sigma, len(table))
    columns["val_acc_12"] = np.clip(table.val_acc_12 + noise, 0.0, 100.0)
    return _written(path, table.keys, columns)


def synthetic_table(
    path: str | Path,
    seed: int = 0,
    n_nodes: int = 4,
    ops: Sequence[str] = NB201_OPS,
    interaction: float = 0.5,
    noise: float = 2.0,
) -> BenchmarkTable:
    """A random landscape over every cell of ``n_nodes`` nodes and ``ops`` operations.

    Each (edge, operation) pair gets an effect ~ N(0, 1) and each pair of (edge, operation)
    pairs an interaction ~ N(0, ``interaction``²) (scaled by the number of pairs, so the
    interactions' share of the variance does not grow with the cell). The sum ``z`` of an arch,
    standardised, gives ``test_acc_200 = 45 + 50 * sigmoid(1.5 z + 2.5)`` plus N(0, 0.2²) seed
    noise: like CIFAR-10's, most cells are good (median about 91.7) and the best few crowd
    below the top (about 95). ``val_acc_12 = 15 + 70 * sigmoid(z + 1)`` plus N(0, ``noise``²)
    is a wider, noisier copy: with the default it ranks the better half of the cells about as
    well as CIFAR-10's 12-epoch column does (Spearman about 0.3-0.5 there). Parameters count
    the convolutions, as in NAS-Bench-201.
    """
    if n_nodes < 2 or len(ops) < 2:
        raise ConfigError(f"a table needs n_nodes >= 2 and two ops, got {n_nodes}, {list(ops)}")
    rng = np.random.default_rng(seed)
    space = CellSpace(n_nodes=n_nodes, ops=tuple(ops))
    n_edges, n_ops = len(space.dims), len(ops)
    archs = np.array(list(itertools.product(range(n_ops), repeat=n_edges)))
    effect = rng.normal(0.0, 1.0, (n_edges, n_ops))
    pair = rng.normal(0.0, interaction / np.sqrt(n_edges), (n_edges, n_ops, n_edges, n_ops))
    edges = np.arange(n_edges)
    z = effect[edges, archs].sum(axis=1)
    for a in range(n_edges):
        for b in range(a + 1, n_edges):
            z += pair[a, archs[:, a], b, archs[:, b]]
    z = (z - z.mean()) / z.std()
    test_200 = 45.0 + 50.0 / (1.0 + np.exp(-(1.5 * z + 2.5))) + rng.normal(0.0, 0.2, len(z))
    val_12 = 15.0 + 70.0 / (1.0 + np.exp(-(z + 1.0))) + rng.normal(0.0, noise, len(z))
    conv = np.array([("conv" in op) * (9.0 if "3x3" in op else 1.0) for op in ops])
    params = 0.07 + 0.0025 * conv[archs].sum(axis=1)
    columns = {
        "val_acc_12": np.clip(val_12, 0.0, 100.0),
        "test_acc_12": np.clip(val_12 + rng.normal(0.0, 0.5, len(z)), 0.0, 100.0),
        "val_acc_200": np.clip(test_200 + rng.normal(0.0, 0.3, len(z)), 0.0, 100.0),
        "test_acc_200": np.clip(test_200, 0.0, 100.0),
        "params_m": params,
    }
    keys = [
        space.make(dict(zip(space.names, (ops[i] for i in row), strict=True))).key for row in archs
    ]
    return _written(path, keys, columns)


def _written(
    path: str | Path, keys: Sequence[str], columns: Mapping[str, np.ndarray]
) -> BenchmarkTable:
    return load_table(write_table(path, keys, columns))
