from __future__ import annotations

import math
import sqlite3

import pytest

from nasforge.errors import StorageError
from nasforge.space import Arch
from nasforge.storage import SCHEMA_VERSION, Storage
from nasforge.trial import TrialStatus


@pytest.fixture
def store(tmp_path):
    return Storage(tmp_path / "runs.db")


def test_experiments_are_created_found_and_listed(store):
    a = store.create_experiment("a", 0, {"val_acc": "max"}, {"space": "x"}, {"python": "3"})
    store.create_experiment("b", 1, {"loss": "min"}, {})
    assert store.find_experiment("a") == a
    assert a.spec == {"space": "x"} and a.versions == {"python": "3"}
    assert [e.name for e in store.list_experiments()] == ["a", "b"]
    assert store.find_experiment("c") is None
    with pytest.raises(StorageError, match="already exists"):
        store.create_experiment("a", 0, {}, {})


def test_unknown_experiment_error_lists_what_exists(store):
    store.create_experiment("first", 0, {}, {})
    with pytest.raises(StorageError, match=r"no experiment 'nope' .* experiments: 'first'"):
        store.get_experiment("nope")


def test_trial_life_cycle_round_trips(store):
    exp = store.create_experiment("e", 0, {"val_acc": "max"}, {})
    arch = Arch({"op": "conv", "lr": 0.1}, key="op=conv,lr=0.1")
    assert store.start_trial(exp.id, 0, arch, seed=7, ask_seq=0, worker="w") == 0
    (running,) = store.trials(exp.id)
    assert running.status == TrialStatus.RUNNING and running.arch == arch and running.seed == 7
    store.report(exp.id, 0, 1, {"val_acc": 50.0})
    store.report(exp.id, 0, 2, {"val_acc": 60.0})
    store.report(exp.id, 0, 2, {"val_acc": 61.0})  # a repeated step replaces the earlier value
    store.finish_trial(
        exp.id, 0, TrialStatus.COMPLETE, {"val_acc": 61.0, "loss": math.nan}, [61.0], tell_seq=1
    )
    (done,) = store.trials(exp.id)
    assert done.status == TrialStatus.COMPLETE
    assert done.intermediate == {1: {"val_acc": 50.0}, 2: {"val_acc": 61.0}}
    assert done.metrics["val_acc"] == 61.0 and math.isnan(done.metrics["loss"])
    assert done.scores == (61.0,) and done.ask_seq == 0 and done.tell_seq == 1
    assert done.duration_s is not None and done.duration_s >= 0
    with pytest.raises(StorageError, match="has no trial 5"):
        store.report(exp.id, 5, 1, {"val_acc": 1.0})


def test_mark_interrupted_touches_only_running_trials(store):
    exp = store.create_experiment("e", 0, {}, {})
    a, b = Arch({"x": 1}), Arch({"x": 2})
    store.start_trial(exp.id, 0, a, 0)
    store.finish_trial(exp.id, 0, TrialStatus.COMPLETE, {"v": 1.0}, [1.0])
    store.start_trial(exp.id, 1, b, 0)
    assert store.mark_interrupted(exp.id) == [1]
    statuses = [t.status for t in store.trials(exp.id)]
    assert statuses == [TrialStatus.COMPLETE, TrialStatus.INTERRUPTED]


def test_store_survives_reopening(tmp_path):
    path = tmp_path / "runs.db"
    exp = Storage(path).create_experiment("e", 3, {"v": "max"}, {"k": [1, 2]})
    again = Storage(f"sqlite:///{path}").get_experiment("e")
    assert again == exp


def test_missing_file_is_refused_when_not_creating(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        Storage(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_other_schema_version_is_refused_with_a_message(tmp_path):
    path = tmp_path / "old.db"
    Storage(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE nasforge_meta SET value = ? WHERE key = 'schema_version'",
            (str(SCHEMA_VERSION + 1),),
        )
    with pytest.raises(StorageError, match="schema version"):
        Storage(path)


def test_bad_url_is_one_line_error():
    with pytest.raises(StorageError, match="cannot open storage"):
        Storage("nosuchdialect://x")


def test_a_stop_inside_a_commit_is_a_stop_not_a_storage_error(store):
    """Ctrl-C or SIGTERM landing inside a commit can make SQLAlchemy's clean-up fail with
    "This transaction is closed"; the search must see the stop (to record its interrupted
    trial and exit 130), not a storage error (exit 2)."""
    from sqlalchemy.exc import InvalidRequestError

    def commit_interrupted(session):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise InvalidRequestError("This transaction is closed")  # noqa: B904 - as SQLAlchemy

    with pytest.raises(KeyboardInterrupt):
        store._write(commit_interrupted)
    with pytest.raises(KeyboardInterrupt):
        store._read(commit_interrupted)

    def plain_failure(session):
        raise InvalidRequestError("This transaction is closed")

    with pytest.raises(StorageError, match="This transaction is closed"):
        store._write(plain_failure)  # without a stop, still a one-line storage error
