"""The rough edges a new user met on the command line (issue 14): ``--version``, a command
listing a store's experiments, plain flags in ``--help``, an error console that does not fold
at the terminal's width, table columns with one number format each, a dashboard port already
taken, and a PostgreSQL URL without its driver."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nasforge
from nasforge.cli import _common
from nasforge.cli._render import format_column, format_seconds
from nasforge.cli.main import app

CONFIG = """\
name: tab
seed: 0
storage: sqlite:///{db}
space: nb201
strategy: random
evaluator: {{name: tabular, options: {{epochs: 12}}}}
objectives: {{val_acc: max}}
budget: {{max_trials: 4}}
"""


def run(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.stdout, done.stderr


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store holding experiment ``tab``: 4 complete trials of a tabular random search."""
    db = tmp_path / "runs.db"
    (tmp_path / "search.yaml").write_text(CONFIG.format(db=db))
    code, _, err = run("search", str(tmp_path / "search.yaml"), "--quiet")
    assert code == 0, err
    gc.collect()  # the search ran in this process: close its store
    return db


# ---- --version --------------------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out == f"nasforge {_common.package_version()}\n"
    assert out.split()[1] == nasforge.__version__  # installed from this tree


def test_version_falls_back_to_the_module_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    monkeypatch.setattr(nasforge, "__version__", "9.8.7", raising=False)
    assert _common.package_version() == "9.8.7"


# ---- nasforge experiments ---------------------------------------------------------------------


def test_experiments_lists_each_experiment_of_a_store(store: Path) -> None:
    code, out, err = run("experiments", "--storage", str(store))
    assert code == 0, err
    row = next(line for line in out.splitlines() if " tab " in line)
    assert "random" in row and "val_acc (max)" in row and "4 (4 complete)" in row

    code, out, _ = run("experiments", "--storage", str(store), "--json")
    assert code == 0
    (listed,) = json.loads(out)
    assert listed["name"] == "tab" and listed["strategy"] == "random"
    assert listed["objectives"] == {"val_acc": "max"}
    assert listed["trials"]["complete"] == 4 and sum(listed["trials"].values()) == 4
    code, best, _ = run("best", "tab", "--storage", str(store), "--json")
    assert listed["best"] == {
        "number": json.loads(best)["number"],
        "metric": "val_acc",
        "value": json.loads(best)["metrics"]["val_acc"],
    }
    assert f"{listed['best']['value']:.2f}" in row
    assert listed["created_at"][:4].isdigit()


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    (tmp_path / "one.yaml").write_text(
        CONFIG.format(db=db).replace("max_trials: 4", "max_trials: 1")
    )
    code, out, err = run("search", str(tmp_path / "one.yaml"))
    assert code == 0, err
    assert "1 trial (1 complete)" in out and "best 1 trial" in out
    gc.collect()
    code, out, err = run("search", str(tmp_path / "one.yaml"), "--max-trials", "2")
    assert code == 0, err
    assert "resuming experiment tab (1 trial stored)" in out
    assert "2 trials (2 complete)" in out
    listed = run("experiments", "--storage", str(db))[1]
    assert "1 experiment" in listed and "1 experiments" not in listed
    shown = run("trials", "tab", "--storage", str(db))[1]
    assert "2 trials" in shown


def test_experiments_of_an_empty_or_missing_store(tmp_path: Path) -> None:
    from nasforge.storage import Storage

    empty = tmp_path / "empty.db"
    Storage(str(empty))  # a store with no experiment yet
    gc.collect()
    code, out, _ = run("experiments", "--storage", str(empty))
    assert code == 0 and out.startswith("no experiments in sqlite:///")
    assert run("experiments", "--storage", str(empty), "--json")[1] == "[]\n"

    code, out, err = run("experiments", "--storage", str(tmp_path / "none.db"))
    assert code == 2 and not out
    assert err.startswith("error: ") and err.count("\n") == 1


# ---- plain flags in --help --------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["trials"],
        ["experiments"],
        ["search"],
        ["bench", "nb201"],
        ["storage"],
        ["storage", "upgrade"],
    ],
)
def test_help_shows_boolean_flags_without_a_type(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "<bool>" not in out
    assert "--help" in out


def test_help_still_shows_the_type_of_an_option_with_a_value() -> None:
    out = run("trials", "--help")[1]
    json_line = next(line for line in out.splitlines() if "--json" in line)
    assert "<str>" in next(line for line in out.splitlines() if "--storage" in line)
    assert "<" not in json_line.split("Print")[0]


# ---- the error console ------------------------------------------------------------------------


def test_a_long_stderr_line_is_not_folded_at_a_narrow_terminal_width(tmp_path: Path) -> None:
    line = "interrupted: " + " ".join(["word"] * 30)
    script = f"from nasforge.cli._common import stderr_console; stderr_console().print({line!r})"
    env = {**os.environ, "COLUMNS": "20", "PYTHONPATH": str(Path(nasforge.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == line + "\n"


def test_the_error_console_is_as_wide_as_the_output_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    assert _common.stderr_console().width == _common.stdout_console().width == 240


# ---- number formats in tables -----------------------------------------------------------------


def test_a_column_of_metrics_has_one_number_of_decimals() -> None:
    assert format_column([99.0, 98.75, 97.5]) == ["99.00", "98.75", "97.50"]
    assert format_column([0.3443, 0.31, None, float("nan")]) == ["0.3443", "0.3100", "-", "-"]
    assert format_column([1.0, 2.0, 1500.0]) == ["1", "2", "1,500"]
    assert format_column([]) == []


def test_a_column_of_seconds_has_one_number_of_decimals() -> None:
    assert format_seconds([105.5, 86.53, 0.003137]) == ["105.5", "86.5", "0.0"]
    assert format_seconds([2.5, 0.25, None]) == ["2.50", "0.25", "-"]
    assert format_seconds([0.003137, 0.0095]) == ["0.0031", "0.0095"]


def test_the_trials_table_lines_its_numbers_up(store: Path) -> None:
    out = run("trials", "tab", "--storage", str(store))[1]
    rows = [line.split("│")[4:8] for line in out.splitlines() if "complete" in line]
    assert len(rows) == 4
    for column in zip(*rows, strict=True):
        decimals = {len(cell.strip().partition(".")[2]) for cell in column}
        assert len(decimals) == 1, column


# ---- a dashboard port already taken -----------------------------------------------------------


def test_dashboard_on_a_port_in_use_fails_in_one_line(store: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run("dashboard", "--storage", str(store), "--port", str(port))
    assert code == 2
    assert "nasforge dashboard on" not in out
    taken_line = f"port {port} on 127.0.0.1 is already in use; choose another with --port"
    assert err == f"error: --port: {taken_line}\n"


# ---- PostgreSQL without its driver ------------------------------------------------------------


def test_a_postgresql_url_without_the_driver_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` fails, as uninstalled
    code, out, err = run("experiments", "--storage", "postgresql+psycopg://nf@localhost/runs")
    assert code == 2 and not out
    assert err.count("\n") == 1
    assert "PostgreSQL driver is not installed" in err
    assert err.rstrip().endswith("install it with: pip install 'nasforge[postgres]'")
