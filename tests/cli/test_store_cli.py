"""The commands on stores that are not what they should be (issue 13): a URL that keeps
nothing, another program's database, a damaged store. Each is one ``error:`` line and exit
status 2 before anything runs; a read command writes nothing; a trial row that cannot be read
is one ``warning:`` line and the others are shown."""

from __future__ import annotations

import gc
import hashlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasforge.cli.main import app

CONFIG = """\
name: tab
seed: 0
storage: {storage}
space: nb201
strategy: random
evaluator: {{name: tabular, options: {{epochs: 12}}}}
objectives: {{val_acc: max}}
budget: {{max_trials: 4}}
"""


def run(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.stdout, done.stderr


def config(tmp_path: Path, storage: str, name: str = "search") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(CONFIG.format(storage=storage))
    return path


def state(path: Path) -> tuple[str, int, list[str]]:
    beside = sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, beside


@pytest.fixture
def searched(tmp_path: Path) -> Path:
    """A store a finished ``nasforge search`` left (experiment ``tab``, 4 trials), in SQLite's
    default journal mode as a copy of it might be."""
    db = tmp_path / "runs.db"
    code, _, err = run("search", str(config(tmp_path, f"sqlite:///{db}")), "--quiet")
    assert code == 0, err
    gc.collect()  # the search ran in this process: close its store
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return db


# ---- nowhere to keep the results ------------------------------------------------------------


@pytest.mark.parametrize("storage", ["", "sqlite://", "sqlite:///:memory:"])
def test_search_refuses_a_store_that_keeps_nothing(tmp_path: Path, storage: str) -> None:
    yaml = config(tmp_path, f"sqlite:///{tmp_path / 'runs.db'}")
    code, out, err = run("search", str(yaml), "--storage", storage, "--quiet")
    assert code == 2 and "stored in" not in out
    if storage:
        assert err == (
            f"error: storage: {storage!r} is a database in memory, so the search's results "
            "would be lost when it ends; give a SQLite file (e.g. sqlite:///nasforge.db) or a "
            "database server URL\n"
        )
    else:
        assert err.startswith("error: storage: an empty URL names no store (an unset variable?)")
        assert err.count("\n") == 1
    assert not (tmp_path / "runs.db").exists()


@pytest.mark.parametrize("storage", ['""', "sqlite://"])
def test_search_refuses_such_a_store_in_the_file_too(tmp_path: Path, storage: str) -> None:
    code, out, err = run("search", str(config(tmp_path, storage)), "--quiet")
    assert code == 2 and "stored in" not in out
    assert err.startswith("error: storage: ") and err.count("\n") == 1


def test_read_commands_refuse_an_empty_store_url() -> None:
    for command in ("trials", "best", "report"):
        code, _, err = run(command, "tab", "--storage", "")
        assert code == 2
        assert err.startswith("error: storage: an empty URL names no store")


# ---- another program's database --------------------------------------------------------------


def test_every_command_refuses_another_programs_database(tmp_path: Path) -> None:
    db = tmp_path / "optuna.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
        conn.execute("CREATE TABLE trials (trial_id INTEGER PRIMARY KEY, study_id INTEGER)")
    conn.close()
    before = state(db)
    expected = (
        f"error: storage 'sqlite:///{db}' is not a nasforge store (it holds tables studies, "
        "trials); use another file\n"
    )
    commands = [
        ("trials", "tab", "--storage", str(db)),
        ("best", "tab", "--storage", str(db)),
        ("report", "tab", "--storage", str(db)),
        ("plot", "tab", "--storage", str(db), "--out", str(tmp_path / "a.png")),
        ("export", "tab", "--storage", str(db), "--format", "code", "--out", str(tmp_path / "m")),
        ("search", str(config(tmp_path, str(db))), "--quiet"),
        (
            "search",
            str(config(tmp_path, "x.db", "other")),
            "--storage",
            f"sqlite:///{db}",
            "--quiet",
        ),
    ]
    for command in commands:
        code, _, err = run(*command)
        assert (code, err) == (2, expected), command
        assert state(db) == before, command


# ---- reading writes nothing -------------------------------------------------------------------


def test_read_commands_leave_the_store_byte_for_byte(searched: Path, tmp_path: Path) -> None:
    before = state(searched)
    code, out, err = run("trials", "tab", "--storage", str(searched))
    assert code == 0 and err == "" and len(out.strip().splitlines()) >= 5
    code, out, err = run("best", "tab", "--storage", str(searched), "--json")
    assert code == 0 and '"experiment": "tab"' in out
    code, out, err = run("report", "tab", "--storage", str(searched))
    assert code == 2 and err.startswith("error: experiment 'tab' has no honesty report")
    code, out, err = run(
        "plot", "tab", "--storage", str(searched), "--out", str(tmp_path / "h.png")
    )
    assert code == 0, err
    out_file = tmp_path / "model.py"
    code, out, err = run(
        "export",
        "tab",
        "--storage",
        str(searched),
        "--format",
        "code",
        "--out",
        str(out_file),
        "--dataset",
        "digits",
    )
    assert code == 0, err
    gc.collect()  # export ran in this process: close its store (it leaves no -wal file then)
    assert state(searched) == before
    with sqlite3.connect(f"{searched.as_uri()}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


# ---- damaged stores ---------------------------------------------------------------------------


def damage(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(statement)
    conn.close()


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("UPDATE nasforge_meta SET value = 'x2'", "is damaged: its schema version"),
        ("ALTER TABLE trials DROP COLUMN seed", "is damaged: table trials has no column seed"),
        ("DROP TABLE intermediate_values", "is damaged: it has no table intermediate_values"),
        ("UPDATE experiments SET objectives = '{'", "experiment 'tab' cannot be read"),
    ],
)
def test_commands_on_a_damaged_store_print_one_line(
    searched: Path, tmp_path: Path, how: str, says: str
) -> None:
    damage(searched, how)
    for command in (
        ("trials", "tab", "--storage", str(searched)),
        ("best", "tab", "--storage", str(searched)),
        ("report", "tab", "--storage", str(searched)),
        ("plot", "tab", "--storage", str(searched), "--out", str(tmp_path / "p.png")),
        ("search", str(config(tmp_path, f"sqlite:///{searched}")), "--quiet"),
    ):
        code, _, err = run(*command)
        assert code == 2, (command, err)
        assert err.startswith("error: ") and err.count("\n") == 1, (command, err)
        assert says in err, (command, err)


def test_an_overwritten_file_is_one_line(searched: Path) -> None:
    with searched.open("r+b") as file:
        file.write(b"\x00" * 4096)
    code, _, err = run("trials", "tab", "--storage", str(searched))
    assert code == 2
    assert err == (
        f"error: cannot open storage 'sqlite:///{searched}': file is not a database; the store "
        "is damaged: restore it from a backup\n"
    )


def test_a_bad_trial_row_is_one_warning_and_the_others_are_shown(searched: Path) -> None:
    damage(searched, "UPDATE trials SET status = 'done' WHERE number = 1")
    code, out, err = run("trials", "tab", "--storage", str(searched), "--json")
    assert code == 0
    assert err == (
        f"warning: storage 'sqlite:///{searched}', experiment 'tab': trial 1 cannot be read "
        "and is left out (trial 1: status is 'done', not 'running', 'complete', 'pruned', "
        "'failed' or 'interrupted'); the store is damaged\n"
    )
    assert '"number": 0' in out and '"number": 1' not in out and '"number": 3' in out
    code, out, err = run("best", "tab", "--storage", str(searched))
    assert code == 0 and err.startswith("warning: ") and err.count("\n") == 1
