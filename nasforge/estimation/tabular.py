"""Tabular performance estimation: look accuracies up in a NAS-Bench-201-form table.

A table is a CSV file with the columns ``arch`` (a cell in NAS-Bench-201 string form),
``val_acc_12``, ``test_acc_12``, ``val_acc_200``, ``test_acc_200`` (percent) and ``params_m``
(millions of parameters); other columns are ignored. The NAS-Bench-201 CIFAR-10 table ships with
nasforge (:func:`shipped_table_path`), and any table of the same form loads: the cell's number of
nodes and its operations are read from the arch strings, not assumed.

Example:
    >>> table = load_table()
    >>> len(table), table.space().size()
    (15625, 15625)
    >>> round(table.optimum, 2)
    94.37
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import ConfigError, TableError
from nasforge.estimation.base import Evaluator, TrialContext
from nasforge.space import (
    Arch,
    CellSpace,
    CellStringError,
    Space,
    format_cell_string,
    parse_cell_string,
)

#: the numeric columns every table must have, in the order they are stored
VALUE_COLUMNS: tuple[str, ...] = (
    "val_acc_12",
    "test_acc_12",
    "val_acc_200",
    "test_acc_200",
    "params_m",
)
#: the value columns that need no training (what a search checks its constraints on first)
COST_COLUMNS: tuple[str, ...] = ("params_m",)
#: every column a table must have
REQUIRED_COLUMNS: tuple[str, ...] = ("arch", *VALUE_COLUMNS)
#: the training lengths a table has columns for
EPOCHS: tuple[int, ...] = (12, 200)
_SHIPPED = "nb201_cifar10.csv"


def shipped_table_path() -> Path:
    """The path of the NAS-Bench-201 CIFAR-10 table that ships with nasforge."""
    return Path(__file__).resolve().parent.parent / "_resources" / _SHIPPED


class BenchmarkTable:
    """A loaded benchmark table: one row per architecture, one read-only array per column.

    Made by :func:`load_table`. Row ``i`` is the architecture ``keys[i]`` (its canonical
    NAS-Bench-201 string) with the values ``columns[name][i]``.

    Attributes:
        path: the file the table was read from.
        keys: the canonical arch strings, in file order.
        columns: ``{column name: float array}`` for every name in :data:`VALUE_COLUMNS`.
        n_nodes: nodes of the cell (4 for NAS-Bench-201).
        ops: the operations that appear in the arch strings, sorted.
    """

    def __init__(
        self,
        path: Path,
        keys: tuple[str, ...],
        columns: Mapping[str, np.ndarray],
        n_nodes: int,
        ops: tuple[str, ...],
    ) -> None:
        self.path = path
        self.keys = keys
        self.columns = dict(columns)
        for values in self.columns.values():
            values.setflags(write=False)
        self.n_nodes = n_nodes
        self.ops = ops
        self._index = {key: i for i, key in enumerate(keys)}

    def __repr__(self) -> str:
        return f"BenchmarkTable({str(self.path)!r}, {len(self)} archs, {self.n_nodes} nodes)"

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, arch: object) -> bool:
        key = arch.key if isinstance(arch, Arch) else arch
        return key in self._index

    # ---- columns -----------------------------------------------------------------------------

    @property
    def val_acc_12(self) -> np.ndarray:
        return self.columns["val_acc_12"]

    @property
    def test_acc_12(self) -> np.ndarray:
        return self.columns["test_acc_12"]

    @property
    def val_acc_200(self) -> np.ndarray:
        return self.columns["val_acc_200"]

    @property
    def test_acc_200(self) -> np.ndarray:
        return self.columns["test_acc_200"]

    @property
    def params_m(self) -> np.ndarray:
        return self.columns["params_m"]

    @property
    def optimum(self) -> float:
        """The best ``test_acc_200`` in the table: what a perfect search would report."""
        return float(self.test_acc_200.max())

    def best_by_val(self, metric: str = "val_acc_12") -> float:
        """The ``test_acc_200`` of the arch with the best ``metric`` (the first row on a tie).

        With the default this is what the NAS-Bench-201 protocol reports for a search that has
        queried every arch of the table.
        """
        if metric not in self.columns:
            raise ConfigError(
                f"metric {metric!r} is not a column; columns: {', '.join(self.columns)}"
            )
        return float(self.test_acc_200[int(np.argmax(self.columns[metric]))])

    # ---- lookups -----------------------------------------------------------------------------

    def find(self, arch: Arch | str) -> int | None:
        """The row of ``arch`` (an ``Arch`` or its key), or ``None`` if the table lacks it."""
        return self._index.get(arch.key if isinstance(arch, Arch) else arch)

    def index(self, arch: Arch | str) -> int:
        """The row of ``arch``; raises :class:`TableError` naming the arch and the table."""
        row = self.find(arch)
        if row is None:
            key = arch.key if isinstance(arch, Arch) else arch
            raise TableError(f"arch {key!r} is not in table {str(self.path)!r} ({len(self)} archs)")
        return row

    def row(self, i: int) -> dict[str, float]:
        """The values of row ``i``: ``{column: value}`` for every value column."""
        return {name: float(values[i]) for name, values in self.columns.items()}

    def lookup(self, arch: Arch | str) -> dict[str, float]:
        """The values of ``arch``'s row; raises :class:`TableError` if the table lacks it."""
        return self.row(self.index(arch))

    def space(self, name: str = "nb201-table") -> CellSpace:
        """The smallest :class:`CellSpace` that holds every arch of the table.

        Its keys are the table's keys. A table that is a subset of its cell space (a user's
        partial table) leaves archs in the space that :meth:`find` does not know.
        """
        return CellSpace(n_nodes=self.n_nodes, ops=self.ops, name=name)


def load_table(path: str | os.PathLike[str] | None = None) -> BenchmarkTable:
    """Read a NAS-Bench-201-form CSV table (``None``: the shipped CIFAR-10 table).

    Raises:
        TableError: one line naming the file and the problem: the file is missing, unreadable
            or empty; a required column is missing; an arch string does not parse (line number);
            a value is not a finite number (line and column); an arch appears twice.
    """
    file = Path(path) if path is not None else shipped_table_path()
    where = str(file)
    if not file.exists():
        raise TableError(f"table {where!r}: file not found")
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"table {where!r}: cannot read it ({_one_line(exc)})") from None
    if not rows or not any(cell.strip() for cell in rows[0][1]):
        raise TableError(
            f"table {where!r}: the file is empty; expected a header row with the columns "
            f"{', '.join(REQUIRED_COLUMNS)}"
        )
    header = [cell.strip() for cell in rows[0][1]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise TableError(
            f"table {where!r}: missing column {missing[0]!r}; required columns: "
            f"{', '.join(REQUIRED_COLUMNS)}"
        )
    position = {name: header.index(name) for name in REQUIRED_COLUMNS}
    arch_at = position["arch"]
    value_at = [position[name] for name in VALUE_COLUMNS]

    keys: list[str] = []
    values: list[list[float]] = []
    first_line: dict[str, int] = {}
    n_nodes = 0
    ops: set[str] = set()
    for line, row in rows[1:]:
        if not row or not any(cell.strip() for cell in row):
            continue  # blank lines, e.g. a trailing one
        if len(row) < len(header):
            raise TableError(
                f"table {where!r}, line {line}: expected {len(header)} fields, found {len(row)}"
            )
        text = row[arch_at].strip()
        try:
            parsed = parse_cell_string(text)
        except CellStringError as exc:
            raise TableError(
                f"table {where!r}, line {line}: cannot parse arch {text!r}: {exc.reason}"
            ) from None
        nodes = len(parsed) + 1
        if n_nodes and nodes != n_nodes:
            raise TableError(
                f"table {where!r}, line {line}: arch {text!r} has {nodes} nodes; earlier rows "
                f"have {n_nodes}"
            )
        n_nodes = nodes
        key = format_cell_string(parsed)
        if key in first_line:
            raise TableError(
                f"table {where!r}, line {line}: duplicate arch {key!r} (first on line "
                f"{first_line[key]})"
            )
        first_line[key] = line
        for node in parsed:
            ops.update(node)
        numbers = []
        for name, at in zip(VALUE_COLUMNS, value_at, strict=True):
            cell = row[at].strip()
            try:
                number = float(cell)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise TableError(
                    f"table {where!r}, line {line}, column {name!r}: value {cell!r} is not a "
                    "finite number"
                )
            numbers.append(number)
        keys.append(key)
        values.append(numbers)
    if not keys:
        raise TableError(f"table {where!r}: the file has a header but no rows")
    array = np.asarray(values, dtype=np.float64)
    columns = {name: array[:, j].copy() for j, name in enumerate(VALUE_COLUMNS)}
    return BenchmarkTable(file, tuple(keys), columns, n_nodes, tuple(sorted(ops)))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class TabularEvaluator(Evaluator):
    """Evaluate an architecture by looking it up in a NAS-Bench-201-form table (no training).

    Returns ``val_acc`` and ``test_acc`` (the columns for ``epochs``) and every column of the
    row: ``val_acc_12``, ``test_acc_12``, ``val_acc_200``, ``test_acc_200`` and ``params_m``.
    The table is read when the evaluator is made, so a bad table is reported before a search
    starts rather than as a failed first trial.

    With ``curve=True`` a lookup also reports, as a learning curve, each training length of
    the table up to the trial's epochs: at 200 epochs step 12 with the 12-epoch
    ``val_acc`` and ``params_m``, then step 200 with the 200-epoch ones. An early-stopping
    scheduler can then stop a trial after 12 epochs (``max_step`` is the epochs), and the epochs
    a search spent are the last step of each trial's curve. NAS-Bench-201 trained its 12-epoch
    column as a run of its own (its own cosine schedule), so step 12 stands for the first
    part of the 200-epoch run as a low-fidelity proxy, not as a point measured on it.

    The columns that need no training (:data:`COST_COLUMNS`: ``params_m``) are its
    :attr:`cheap_metric_names`: a search with a hard constraint on one reads it alone first
    (:meth:`cheap_metrics`) and looks up the accuracies only of an arch that keeps it.

    Args:
        table: path of the CSV table; ``None`` for the shipped NAS-Bench-201 CIFAR-10 table.
        epochs: 12 or 200, which columns ``val_acc``/``test_acc`` report. A trial's
            ``ctx.fidelity["epochs"]`` overrides it.
        curve: report the table's training lengths up to the epochs as intermediate steps.

    Example:
        >>> ev = TabularEvaluator(epochs=200)
        >>> arch = ev.space().parse(ev.table_.keys[0])
        >>> ev.evaluate(arch, TrialContext())["test_acc"]
        49.02
    """

    metric_names = ("val_acc", "test_acc", *VALUE_COLUMNS)
    cheap_metric_names = COST_COLUMNS

    def __init__(self, table: str | None = None, epochs: int = 12, curve: bool = False) -> None:
        if not isinstance(curve, bool):
            raise ConfigError(f"tabular evaluator: curve must be true or false, got {curve!r}")
        self.table = table
        self.epochs = _check_epochs(epochs, "epochs")
        self.curve = curve
        self.table_ = load_table(table)

    def __repr__(self) -> str:
        return (
            f"TabularEvaluator(table={str(self.table_.path)!r}, epochs={self.epochs}, "
            f"curve={self.curve})"
        )

    def space(self, name: str = "nb201-table") -> CellSpace:
        """The cell space of the table's archs (see :meth:`BenchmarkTable.space`)."""
        return self.table_.space(name)

    def max_step(self, fidelity: Mapping[str, Any]) -> int | None:
        """The epochs with ``curve=True``; else ``None``: a lookup reports no intermediate
        steps (nothing for a scheduler to stop)."""
        if not self.curve:
            return None
        return self._epochs(fidelity)

    def check_fidelity(self, fidelity: Mapping[str, Any], space: Space) -> None:
        """Refuse a fidelity key other than ``epochs`` and epochs the table has no columns for
        (the check every lookup makes)."""
        for key, value in fidelity.items():
            if key != "epochs" and value is not None:
                raise ConfigError(f"fidelity has unknown key {key!r}; allowed: 'epochs'")
        if fidelity.get("epochs") is not None:
            _check_epochs(fidelity["epochs"], "fidelity 'epochs'")

    def fingerprint(self) -> dict[str, str]:
        """The table's file and a SHA-256 of its bytes."""
        import hashlib

        path = Path(self.table_.path)
        return {"data": str(path), "data_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

    def cheap_metrics(
        self, arch: Arch, ctx: TrialContext, names: Sequence[str]
    ) -> dict[str, float]:
        """The columns among ``names`` that need no training (``params_m``) of ``arch``'s row."""
        wanted = [name for name in self.cheap_metric_names if name in names]
        if not wanted:
            return {}
        row = self.table_.index(arch)
        return {name: float(self.table_.columns[name][row]) for name in wanted}

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        epochs = self._epochs(ctx.fidelity)
        metrics = self.table_.lookup(arch)
        if self.curve:
            for step in EPOCHS:
                if step <= epochs:  # a scheduler may stop the trial here (TrialPruned)
                    ctx.report(
                        step,
                        {"val_acc": metrics[f"val_acc_{step}"], "params_m": metrics["params_m"]},
                    )
        return {
            "val_acc": metrics[f"val_acc_{epochs}"],
            "test_acc": metrics[f"test_acc_{epochs}"],
            **metrics,
        }

    def _epochs(self, fidelity: Mapping[str, Any]) -> int:
        if fidelity.get("epochs") is not None:
            return _check_epochs(fidelity["epochs"], "fidelity 'epochs'")
        return self.epochs


def _check_epochs(value: Any, field: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or (value not in EPOCHS)
    ):
        allowed = " or ".join(map(str, EPOCHS))
        raise ConfigError(f"tabular evaluator: {field} must be {allowed}, got {value!r}")
    return int(value)


__all__ = [
    "COST_COLUMNS",
    "REQUIRED_COLUMNS",
    "VALUE_COLUMNS",
    "BenchmarkTable",
    "TabularEvaluator",
    "load_table",
    "shipped_table_path",
]
