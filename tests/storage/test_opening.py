"""Opening a store: no URL that loses results, no writes to a database nasforge does not own,
and a read-only open that leaves the file as it was (issue 13)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

import nasforge as nf
from nasforge.errors import StorageError
from nasforge.experiment import load_experiment
from nasforge.space import Arch
from nasforge.storage import SCHEMA_VERSION, Storage, is_in_memory, refuse_in_memory
from nasforge.trial import TrialStatus

POSTGRES = os.environ.get("NASFORGE_TEST_POSTGRES")
Snapshot = Callable[[Path], tuple[str, int, list[str]]]


def _experiment(storage: object) -> nf.Experiment:
    return nf.Experiment(
        nf.CellSpace(3, ["skip_connect", "conv"]),
        strategy="random",
        evaluator=lambda arch: {"convs": float(arch.key.count("conv"))},
        objectives={"convs": "max"},
        storage=storage,  # type: ignore[arg-type]
    )


# ---- URLs that name no lasting store --------------------------------------------------------


@pytest.mark.parametrize("url", ["", "  ", Path("")])
def test_an_empty_url_is_refused_everywhere(url: str | Path) -> None:
    if isinstance(url, Path):  # Path("") is "." (the folder): not a store either
        with pytest.raises(StorageError, match="cannot open storage"):
            Storage(url)
        return
    with pytest.raises(StorageError, match="an empty URL names no store"):
        Storage(url)
    with pytest.raises(StorageError, match="an empty URL names no store"):
        _experiment(url)
    with pytest.raises(StorageError, match="an empty URL names no store"):
        load_experiment("e", url)


def test_in_memory_urls_are_recognised_and_refused_for_a_search() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:"):
        assert is_in_memory(url)
        with pytest.raises(StorageError, match=r"is a database in memory, so the search's"):
            refuse_in_memory(url)
    for url in ("runs.db", "sqlite:///runs.db", "postgresql+psycopg://u@h/db"):
        assert not is_in_memory(url)
        assert refuse_in_memory(url).endswith(("runs.db", "/db"))


def test_an_in_memory_store_still_works_from_python() -> None:
    store = Storage("sqlite:///:memory:")
    record = store.create_experiment("e", 0, {"v": "max"}, {})
    assert store.get_experiment("e") == record
    exp = _experiment("sqlite:///:memory:")
    exp.run(max_trials=3, progress=False)
    assert len(exp.trials()) == 3


# ---- another program's database -------------------------------------------------------------


def _optuna_like(path: Path) -> Path:
    """A SQLite file with the tables an Optuna study keeps (``trials`` among them)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('v3.2.0.a')")
        conn.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
        conn.execute(
            "CREATE TABLE trials (trial_id INTEGER PRIMARY KEY, number INTEGER, "
            "study_id INTEGER, state TEXT)"
        )
        conn.execute("INSERT INTO studies VALUES (1, 'mine')")
        conn.execute("INSERT INTO trials VALUES (1, 0, 1, 'COMPLETE')")
    conn.close()
    return path


@pytest.mark.parametrize(
    "open_",
    [
        lambda p: Storage(p),
        lambda p: Storage(p, create=False),
        lambda p: Storage(p, read_only=True),
        lambda p: load_experiment("e", p),
        lambda p: _experiment(p).trials(),
    ],
    ids=["create", "existing", "read-only", "load_experiment", "Experiment"],
)
def test_another_programs_database_is_refused_and_left_as_it_was(
    tmp_path: Path, snapshot: Snapshot, open_: Callable[[Path], object]
) -> None:
    path = _optuna_like(tmp_path / "optuna.db")
    before = snapshot(path)
    with pytest.raises(StorageError) as caught:
        open_(path)
    assert str(caught.value) == (
        f"storage 'sqlite:///{path}' is not a nasforge store (it holds tables "
        "alembic_version, studies, trials); use another file"
    )
    assert snapshot(path) == before


def test_a_real_optuna_study_is_refused(tmp_path: Path, snapshot: Snapshot) -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(storage=url, study_name="s")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    del study
    before = snapshot(tmp_path / "optuna.db")
    with pytest.raises(StorageError, match=r"not a nasforge store \(it holds tables "):
        Storage(url)
    assert snapshot(tmp_path / "optuna.db") == before
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 2


def test_a_database_with_a_table_of_a_nasforge_name_but_other_columns_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE experiments (id INTEGER PRIMARY KEY, title TEXT)")
    conn.close()
    with pytest.raises(StorageError, match=r"not a nasforge store \(its table experiments has"):
        Storage(path)


def test_an_empty_file_becomes_a_store_and_is_stamped(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(StorageError, match=r"not a nasforge store \(the database is empty\)"):
        Storage(path, read_only=True)
    assert path.stat().st_size == 0
    Storage(path).create_experiment("e", 0, {"v": "max"}, {})
    with sqlite3.connect(path) as conn:
        (version,) = conn.execute("SELECT value FROM nasforge_meta").fetchone()
    conn.close()
    assert version == str(SCHEMA_VERSION)


@pytest.mark.skipif(not POSTGRES, reason="NASFORGE_TEST_POSTGRES is not set")
def test_a_postgresql_database_of_another_program_is_refused() -> None:
    assert POSTGRES is not None
    schema = f"other_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        conn.execute(text(f"CREATE TABLE {schema}.studies (study_id INTEGER PRIMARY KEY)"))
    try:
        url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
        with pytest.raises(StorageError, match=r"not a nasforge store \(it holds tables studies\)"):
            Storage(url)
        assert inspect(admin).get_table_names(schema=schema) == ["studies"]
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# ---- reading writes nothing ------------------------------------------------------------------


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def _to_rollback_journal(path: Path) -> None:
    """Leave the file in SQLite's default journal mode, as a copy or another tool might."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_read_only_open_leaves_the_file_byte_for_byte(
    filled: Path, snapshot: Snapshot, journal: str
) -> None:
    if journal == "delete":
        _to_rollback_journal(filled)
    before = snapshot(filled)
    reader = Storage(filled, read_only=True)
    record = reader.get_experiment("e")
    assert [t.metrics["v"] for t in reader.trials(record.id)] == [1.0, 2.0, 3.0, 4.0]
    assert snapshot(filled) == before  # while it is open, too: no -wal or -shm left
    reader.close()
    assert snapshot(filled) == before
    assert _journal_mode(filled) == journal


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_load_experiment_writes_nothing(filled: Path, snapshot: Snapshot, journal: str) -> None:
    if journal == "delete":
        _to_rollback_journal(filled)
    before = snapshot(filled)
    exp = load_experiment("e", filled)
    assert len(exp.trials()) == 4 and exp.best() is not None
    assert exp.best().number == 3  # type: ignore[union-attr]
    assert snapshot(filled) == before
    assert _journal_mode(filled) == journal


def test_a_read_only_open_beside_a_writer_changes_nothing(
    tmp_path: Path, snapshot: Snapshot
) -> None:
    path = tmp_path / "runs.db"
    writer = Storage(path)  # stays open, its latest writes in the -wal file
    record = writer.create_experiment("e", 0, {"v": "max"}, {})
    writer.start_trial(record.id, 0, Arch({"x": 0}), 0)
    writer.finish_trial(record.id, 0, TrialStatus.COMPLETE, {"v": 1.0}, [1.0])
    wal = tmp_path / "runs.db-wal"
    before, wal_before = snapshot(path), wal.read_bytes()
    reader = Storage(path, read_only=True)
    assert [t.metrics["v"] for t in reader.trials(record.id)] == [1.0]
    assert load_experiment("e", path).best() is not None
    reader.close()
    assert snapshot(path) == before and wal.read_bytes() == wal_before
    writer.start_trial(record.id, 1, Arch({"x": 1}), 0)  # the writer goes on
    assert [t.number for t in Storage(path, read_only=True).trials(record.id)] == [0, 1]
    writer.close()


def test_the_dashboard_leaves_the_file_byte_for_byte(filled: Path, snapshot: Snapshot) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from nasforge.viz.dashboard import create_app

    _to_rollback_journal(filled)
    before = snapshot(filled)
    app = create_app(filled)
    client = TestClient(app, base_url="http://localhost")  # a host the dashboard serves
    assert [e["name"] for e in client.get("/api/experiments").json()] == ["e"]
    assert client.get("/api/experiments/e/trials").status_code == 200
    app.state.storage.close()
    assert snapshot(filled) == before
    assert _journal_mode(filled) == "delete"
