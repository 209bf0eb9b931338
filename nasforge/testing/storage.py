"""Conformance suite for storage backends: what every database nasforge stores into must keep.

The suite runs against a URL (a SQLite file, a PostgreSQL database, any SQLAlchemy URL): subclass
:class:`StorageConformance` in a test module and give it a ``storage_url`` fixture::

    import pytest
    from nasforge.testing.storage import StorageConformance

    class TestSQLite(StorageConformance):
        @pytest.fixture()
        def storage_url(self, tmp_path) -> str:
            return f"sqlite:///{tmp_path / 'runs.db'}"

or call the ``check_*`` functions with a URL. Experiment names are unique per check, so the
checks can share one database (a PostgreSQL server used by other tests too).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import update

from nasforge.errors import NasforgeWarning, StorageError
from nasforge.space import Arch
from nasforge.storage import Storage
from nasforge.storage.models import TrialRow
from nasforge.trial import TrialStatus


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _arch(i: int) -> Arch:
    return Arch({"op": f"op{i}", "lr": 0.1 * (i + 1)}, key=f"op=op{i},lr={0.1 * (i + 1):.6g}")


def check_experiments(url: str) -> None:
    """Create, find, list and refuse duplicates; specs keep nested JSON and unicode."""
    store = Storage(url)
    name = _name("exp-ü")
    spec = {"space": "nb201", "options": {"nested": [1, 2.5, "x", None]}, "κ": True}
    record = store.create_experiment(name, 7, {"val_acc": "max", "params": "min"}, spec, {"v": "1"})
    found = store.get_experiment(name)
    assert found.id == record.id and found.seed == 7
    assert list(found.objectives.items()) == [("val_acc", "max"), ("params", "min")]
    assert found.spec == spec and found.versions == {"v": "1"}
    assert name in [r.name for r in store.list_experiments()]
    with pytest.raises(StorageError, match="already exists"):
        store.create_experiment(name, 0, {}, {})
    missing = _name("missing")
    assert store.find_experiment(missing) is None
    with pytest.raises(StorageError, match=f"no experiment {missing!r}"):
        store.get_experiment(missing)


def check_trial_life_cycle(url: str) -> None:
    """A trial is addressed by its number: start, reports (a repeated step replaces the earlier
    one), finish with scores, NaN metrics and the ask/tell sequence, all read back as written."""
    store = Storage(url)
    record = store.create_experiment(_name("life"), 0, {"val_acc": "max"}, {})
    assert store.start_trial(record.id, 0, _arch(0), seed=11, ask_seq=0, worker="host:1") == 0
    (running,) = store.trials(record.id)
    assert running.status == TrialStatus.RUNNING and running.arch == _arch(0)
    assert running.seed == 11 and running.worker == "host:1" and running.ask_seq == 0
    store.report(record.id, 0, 1, {"val_acc": 40.0})
    store.report(record.id, 0, 2, {"val_acc": 50.0})
    store.report(record.id, 0, 2, {"val_acc": 55.0, "loss": math.inf})
    store.finish_trial(
        record.id, 0, TrialStatus.COMPLETE, {"val_acc": 55.0, "loss": math.nan}, [55.0], None, 1
    )
    (done,) = store.trials(record.id)
    assert done.status == TrialStatus.COMPLETE and done.scores == (55.0,)
    assert done.metrics["val_acc"] == 55.0 and math.isnan(done.metrics["loss"])
    assert done.intermediate[1] == {"val_acc": 40.0} and done.intermediate[2]["val_acc"] == 55.0
    assert done.tell_seq == 1 and done.duration_s is not None and done.duration_s >= 0
    (light,) = store.trials(record.id, intermediate=False)
    assert light.intermediate == {} and light.metrics["val_acc"] == 55.0
    with pytest.raises(StorageError, match="has no trial 9"):
        store.report(record.id, 9, 1, {"val_acc": 1.0})
    with pytest.raises(StorageError, match="has no trial 9"):
        store.finish_trial(record.id, 9, TrialStatus.FAILED)


def check_trials_of_experiments_are_apart(url: str) -> None:
    """Two experiments' trials with the same numbers never mix."""
    store = Storage(url)
    a = store.create_experiment(_name("a"), 0, {"v": "max"}, {})
    b = store.create_experiment(_name("b"), 0, {"v": "max"}, {})
    for record, value in ((a, 1.0), (b, 2.0)):
        store.start_trial(record.id, 0, _arch(0), 0)
        store.report(record.id, 0, 1, {"v": value})
        store.finish_trial(record.id, 0, TrialStatus.COMPLETE, {"v": value}, [value])
    assert [t.metrics["v"] for t in store.trials(a.id)] == [1.0]
    assert [t.intermediate[1]["v"] for t in store.trials(b.id)] == [2.0]


def check_interruptions_and_heartbeats(url: str) -> None:
    """``mark_interrupted`` touches running trials only (all, or those numbered); heartbeats
    advance for running trials only."""
    store = Storage(url)
    record = store.create_experiment(_name("beat"), 0, {"v": "max"}, {})
    for number in range(3):
        store.start_trial(record.id, number, _arch(number), 0, worker="host:1")
    store.finish_trial(record.id, 0, TrialStatus.COMPLETE, {"v": 1.0}, [1.0])
    before = {n: last for n, _, last in store.running_trials(record.id)}
    assert sorted(before) == [1, 2]
    time.sleep(0.01)
    store.heartbeat(record.id, [0, 1, 2])
    after = {n: last for n, _, last in store.running_trials(record.id)}
    assert all(after[n] is not None and after[n] >= before[n] for n in (1, 2))  # type: ignore[operator]
    assert store.mark_interrupted(record.id, numbers=[2, 0], reason="test") == [2]
    assert store.mark_interrupted(record.id) == [1]
    statuses = [(t.status, t.error) for t in store.trials(record.id)]
    assert statuses[0] == (TrialStatus.COMPLETE, None)
    assert statuses[1][0] == statuses[2][0] == TrialStatus.INTERRUPTED
    assert statuses[2][1] == "test"


def check_artifacts(url: str) -> None:
    """Artifacts keep bytes and JSON, filter by trial and kind, and are deleted by kind."""
    store = Storage(url)
    record = store.create_experiment(_name("art"), 0, {"v": "max"}, {})
    first = store.add_artifact(record.id, 3, "retrain", seed=1, metrics={"acc": 1.0}, data=b"ab")
    store.add_artifact(record.id, None, "checkpoint", info={"step": 1}, data=b"\x00" * 1000)
    newest = store.add_artifact(record.id, None, "checkpoint", info={"step": 2}, data=b"cd")
    (retrained,) = store.artifacts(record.id, trial_number=3)
    assert retrained.id == first and retrained.seed == 1 and retrained.size == 2
    assert store.artifact_data(first) == b"ab" and retrained.metrics == {"acc": 1.0}
    checkpoints = store.artifacts(record.id, kind="checkpoint")
    assert [c.info["step"] for c in checkpoints] == [1, 2]
    assert store.count_artifacts(record.id, "checkpoint") == 2
    assert store.count_artifacts(record.id) == 3 and store.count_artifacts(record.id, "x") == 0
    assert store.delete_artifacts(record.id, "checkpoint", keep=[newest]) == 1
    assert [c.id for c in store.artifacts(record.id, kind="checkpoint")] == [newest]
    assert store.artifact_data(newest) == b"cd"
    assert [a.kind for a in store.artifacts(record.id)] == ["retrain", "checkpoint"]


def check_reopen_and_read_only(url: str) -> None:
    """What one ``Storage`` wrote another reads; a read-only one reads and refuses writes."""
    name = _name("reopen")
    writer = Storage(url)
    record = writer.create_experiment(name, 2, {"v": "min"}, {"k": 1})
    writer.start_trial(record.id, 0, _arch(0), 5)
    reader = Storage(url, read_only=True)
    assert reader.get_experiment(name).spec == {"k": 1}
    assert [t.seed for t in reader.trials(record.id)] == [5]
    with pytest.raises(StorageError, match="read-only"):
        reader.start_trial(record.id, 1, _arch(1), 0)
    with pytest.raises(StorageError, match="read-only"):
        reader.mark_interrupted(record.id)
    assert Storage(url, create=False).get_experiment(name).id == record.id


def check_concurrent_writers(url: str, threads: int = 4, per_thread: int = 6) -> None:
    """Several writers (threads, each with its own ``Storage``) lose nothing."""
    name = _name("many")
    record = Storage(url).create_experiment(name, 0, {"v": "max"}, {})
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        store = Storage(url)
        try:
            for i in range(per_thread):
                number = offset * per_thread + i
                store.start_trial(record.id, number, _arch(number), number)
                store.report(record.id, number, 1, {"v": float(number)})
                store.finish_trial(
                    record.id, number, TrialStatus.COMPLETE, {"v": float(number)}, [number]
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    trials = Storage(url).trials(record.id)
    assert [t.number for t in trials] == list(range(threads * per_thread))
    assert all(t.intermediate[1]["v"] == t.number for t in trials)


def check_create_experiment_again(url: str) -> None:
    """Creating an experiment that exists returns it when the settings are the same (two
    drivers started at once), and refuses other settings naming the first that differs."""
    store = Storage(url)
    name = _name("again")
    record = store.create_experiment(name, 7, {"v": "max"}, {"space": "s", "k": [1]})
    assert Storage(url).create_experiment(name, 7, {"v": "max"}, {"space": "s", "k": (1,)}) == (
        record
    )
    with pytest.raises(
        StorageError,
        match=f"experiment {name!r} already exists in .*, started "
        "with seed=7, not 8; use the same settings to resume it, or another name",
    ):
        store.create_experiment(name, 8, {"v": "max"}, {"space": "s", "k": [1]})
    with pytest.raises(StorageError, match=r"started with k=\[1\], not \[2\]"):
        store.create_experiment(name, 7, {"v": "max"}, {"space": "s", "k": [2]})


def check_taken_trial_number(url: str) -> None:
    """A trial number another driver stored first is the one-line "is being run by"
    refusal (the unique number per experiment is what catches two drivers at once)."""
    name = _name("taken")
    first, second = Storage(url), Storage(url)
    record = first.create_experiment(name, 0, {"v": "max"}, {})
    first.start_trial(record.id, 0, _arch(0), 0, worker="host-a:101")
    with pytest.raises(StorageError) as caught:
        second.start_trial(record.id, 0, _arch(1), 0, worker="host-b:202")
    assert str(caught.value) == (
        f"experiment {name!r} is being run by host-a:101 (it started trial 0 at the same "
        "moment as this process); stop that process, then run again"
    )
    assert [(t.number, t.worker) for t in second.trials(record.id)] == [(0, "host-a:101")]


def check_concurrent_creation(url: str, threads: int = 4) -> None:
    """Several openers creating the store and the same experiment at once all get it."""
    name = _name("at-once")
    barrier = threading.Barrier(threads)
    ids: list[int] = []
    errors: list[BaseException] = []

    def open_and_create() -> None:
        try:
            barrier.wait()
            store = Storage(url)
            ids.append(store.create_experiment(name, 1, {"v": "max"}, {"k": 1}).id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=open_and_create) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert len(ids) == threads and len(set(ids)) == 1


def check_unreadable_trial_is_left_out(url: str) -> None:
    """A trial row holding what nasforge never writes (here an unknown status) is left out
    with a :class:`~nasforge.errors.NasforgeWarning` naming it; the others read as written."""
    store = Storage(url)
    name = _name("bad-row")
    record = store.create_experiment(name, 0, {"v": "max"}, {})
    for number in range(3):
        store.start_trial(record.id, number, _arch(number), 0)
        store.finish_trial(record.id, number, TrialStatus.COMPLETE, {"v": 1.0}, [1.0])
    with store.engine.begin() as conn:
        conn.execute(
            update(TrialRow)
            .where(TrialRow.experiment_id == record.id, TrialRow.number == 1)
            .values(status="weird")
        )
    with pytest.warns(NasforgeWarning, match=f"experiment {name!r}: trial 1 cannot be read"):
        assert [t.number for t in store.trials(record.id)] == [0, 2]
    assert list(store.unreadable_trials(record.id)) == [1]


#: every check, by name (the conformance class runs each as a test)
CHECKS: dict[str, Callable[[str], None]] = {
    "experiments": check_experiments,
    "trial_life_cycle": check_trial_life_cycle,
    "trials_of_experiments_are_apart": check_trials_of_experiments_are_apart,
    "interruptions_and_heartbeats": check_interruptions_and_heartbeats,
    "artifacts": check_artifacts,
    "reopen_and_read_only": check_reopen_and_read_only,
    "concurrent_writers": check_concurrent_writers,
    "create_experiment_again": check_create_experiment_again,
    "taken_trial_number": check_taken_trial_number,
    "concurrent_creation": check_concurrent_creation,
    "unreadable_trial_is_left_out": check_unreadable_trial_is_left_out,
}


class StorageConformance:
    """Subclass with a ``storage_url`` fixture; every check runs as a test."""

    def test_experiments(self, storage_url: str) -> None:
        check_experiments(storage_url)

    def test_trial_life_cycle(self, storage_url: str) -> None:
        check_trial_life_cycle(storage_url)

    def test_trials_of_experiments_are_apart(self, storage_url: str) -> None:
        check_trials_of_experiments_are_apart(storage_url)

    def test_interruptions_and_heartbeats(self, storage_url: str) -> None:
        check_interruptions_and_heartbeats(storage_url)

    def test_artifacts(self, storage_url: str) -> None:
        check_artifacts(storage_url)

    def test_reopen_and_read_only(self, storage_url: str) -> None:
        check_reopen_and_read_only(storage_url)

    def test_concurrent_writers(self, storage_url: str) -> None:
        check_concurrent_writers(storage_url)

    def test_create_experiment_again(self, storage_url: str) -> None:
        check_create_experiment_again(storage_url)

    def test_taken_trial_number(self, storage_url: str) -> None:
        check_taken_trial_number(storage_url)

    def test_concurrent_creation(self, storage_url: str) -> None:
        check_concurrent_creation(storage_url)

    def test_unreadable_trial_is_left_out(self, storage_url: str) -> None:
        check_unreadable_trial_is_left_out(storage_url)


__all__ = [
    "CHECKS",
    "StorageConformance",
    "check_artifacts",
    "check_concurrent_creation",
    "check_concurrent_writers",
    "check_create_experiment_again",
    "check_experiments",
    "check_interruptions_and_heartbeats",
    "check_reopen_and_read_only",
    "check_taken_trial_number",
    "check_trial_life_cycle",
    "check_trials_of_experiments_are_apart",
    "check_unreadable_trial_is_left_out",
]
