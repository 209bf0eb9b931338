"""A damaged store is one line naming the store and what is wrong, never a traceback; a bad
trial row leaves out that trial, not the experiment (issue 13). The damage is made with
``sqlite3`` directly, as a crash, a disk or another program would leave it."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import pytest

import nasforge as nf
from nasforge.errors import NasforgeWarning, StorageError
from nasforge.experiment import load_experiment
from nasforge.storage import Storage


def damage(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


def overwrite(path: Path, offset: int, size: int) -> None:
    """Overwrite ``size`` bytes of the file at ``offset`` (a torn write, a bad sector)."""
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(b"\xa5" * size)


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# ---- the whole store ---------------------------------------------------------------------


def test_a_file_whose_first_page_is_overwritten_is_one_line(filled: Path) -> None:
    overwrite(filled, 0, 4096)
    for read_only in (False, True):
        with pytest.raises(StorageError) as caught:
            Storage(filled, read_only=read_only)
        assert one_line(caught) == (
            f"cannot open storage 'sqlite:///{filled}': file is not a database; the store is "
            "damaged: restore it from a backup"
        )


def test_a_store_whose_trial_pages_are_overwritten_is_one_line(fill, tmp_path: Path) -> None:
    path = fill(tmp_path / "big.db", trials=300)
    pages = path.stat().st_size // 4096
    overwrite(path, (pages // 2) * 4096, 3 * 4096)  # the middle of the trials table
    with pytest.raises(StorageError) as caught:
        exp = load_experiment("e", path)
        exp.trials()
    text = one_line(caught)
    assert text.startswith(f"storage 'sqlite:///{path}': ")
    assert text.endswith("the store is damaged: restore it from a backup")


def test_a_dropped_column_is_one_line_naming_table_and_column(filled: Path) -> None:
    damage(filled, "ALTER TABLE trials DROP COLUMN worker")
    for read_only in (False, True):
        with pytest.raises(StorageError) as caught:
            Storage(filled, read_only=read_only)
        assert one_line(caught) == (
            f"storage 'sqlite:///{filled}' is damaged: table trials has no column worker "
            "(changed by another program?); restore it from a backup, or use another file"
        )


def test_a_dropped_table_is_one_line(filled: Path) -> None:
    damage(filled, "DROP TABLE intermediate_values")
    with pytest.raises(StorageError, match="is damaged: it has no table intermediate_values"):
        load_experiment("e", filled)


@pytest.mark.parametrize("value", ["two", "", "2.5x"])
def test_a_garbled_schema_version_is_one_line(filled: Path, value: str) -> None:
    damage(filled, f"UPDATE nasforge_meta SET value = '{value}'")
    with pytest.raises(StorageError) as caught:
        Storage(filled)
    assert one_line(caught) == (
        f"storage 'sqlite:///{filled}' is damaged: its schema version (table nasforge_meta) "
        f"is {value!r}, not a whole number; restore the store from a backup"
    )


def test_an_experiment_with_bad_json_is_one_line_naming_it(filled: Path) -> None:
    damage(filled, "UPDATE experiments SET spec = '{\"space\": ' WHERE name = 'e'")
    with pytest.raises(StorageError) as caught:
        load_experiment("e", filled)
    assert one_line(caught).startswith(
        f"storage 'sqlite:///{filled}': experiment 'e' cannot be read: a value is not valid JSON"
    )


# ---- one bad trial row ------------------------------------------------------------------------

BAD_ROWS = {
    "bad JSON": ("UPDATE trials SET metrics = '{\"v\": 3' WHERE number = 2", "not valid JSON"),
    "bad JSON in a curve": (
        "UPDATE intermediate_values SET metrics = 'nan]' WHERE trial_id = "
        "(SELECT id FROM trials WHERE number = 2)",
        "not valid JSON",
    ),
    "bad status": (
        "UPDATE trials SET status = 'finished' WHERE number = 2",
        "status is 'finished', not 'running', 'complete', 'pruned', 'failed' or 'interrupted'",
    ),
    "non-numeric metric": (
        'UPDATE trials SET metrics = \'{"v": "high"}\' WHERE number = 2',
        "metrics['v'] is 'high', not a number",
    ),
    "non-numeric score": (
        "UPDATE trials SET scores = '[\"high\"]' WHERE number = 2",
        "scores is ['high'], not a list of numbers",
    ),
    "bad arch": ("UPDATE trials SET arch = '[1, 2]' WHERE number = 2", "arch is [1, 2]"),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_one_bad_trial_row_leaves_out_that_trial_with_a_warning(filled: Path, kind: str) -> None:
    statement, why = BAD_ROWS[kind]
    damage(filled, statement)
    exp = load_experiment("e", filled)
    with pytest.warns(NasforgeWarning) as caught:
        trials = exp.trials()
    assert [t.number for t in trials] == [0, 1, 3]
    (warning,) = caught
    message = str(warning.message)
    assert message.startswith(
        f"storage 'sqlite:///{filled}', experiment 'e': trial 2 cannot be read and is left out "
        "(trial 2: "
    )
    assert why in message and "\n" not in message
    with warnings.catch_warnings():  # a bad curve alone does not keep the trial from ranking
        warnings.simplefilter("ignore", NasforgeWarning)
        best = exp.best()
    assert best is not None and best.number == 3
    assert Storage(filled).unreadable_trials(exp.record.id).keys() == {2}


def test_several_bad_rows_are_named_together(filled: Path) -> None:
    damage(
        filled,
        "UPDATE trials SET status = 'x' WHERE number = 0",
        "UPDATE trials SET metrics = '{' WHERE number = 3",
    )
    with pytest.warns(NasforgeWarning, match=r"trials 0, 3 cannot be read and are left out"):
        assert [t.number for t in load_experiment("e", filled).trials()] == [1, 2]


def test_a_search_does_not_resume_over_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    exp = nf.Experiment(
        nf.CellSpace(3, ["skip_connect", "conv"]),
        strategy="random",
        evaluator=lambda arch: {"convs": float(arch.key.count("conv"))},
        objectives={"convs": "max"},
        storage=path,
        name="e",
    )
    exp.run(max_trials=4, progress=False)
    damage(path, "UPDATE trials SET metrics = '{' WHERE number = 3")
    again = nf.Experiment(
        exp.space,
        strategy="random",
        evaluator=lambda arch: {"convs": float(arch.key.count("conv"))},
        objectives={"convs": "max"},
        storage=path,
        name="e",
    )
    with pytest.warns(NasforgeWarning), pytest.raises(StorageError) as caught:
        again.run(max_trials=6, progress=False)
    assert one_line(caught).startswith(
        f"experiment 'e' in 'sqlite:///{path}' cannot be resumed: the store cannot read trial 3 "
        "(trial 3: a value is not valid JSON"
    )
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM trials").fetchone() == (4,)
    conn.close()
