"""The dashboard's in-memory trial columns: refreshed by what changed, they always equal a
fresh read of the whole store."""

from __future__ import annotations

from pathlib import Path

from nasforge.space import Arch
from nasforge.storage import Storage
from nasforge.trial import TrialStatus
from nasforge.viz.dashboard._live import LiveTrials, Snapshot


def arch(i: int) -> Arch:
    return Arch({"op": f"op{i}"}, key=f"op=op{i}")


def same(a: Snapshot, b: Snapshot) -> bool:
    return a.columns == b.columns


def test_an_incremental_refresh_equals_a_fresh_read(tmp_path: Path) -> None:
    store = Storage(tmp_path / "live.db")
    record = store.create_experiment("e", 0, {"acc": "max", "params": "min"}, {})
    eid = record.id
    live = LiveTrials(store)

    def check() -> Snapshot:
        snap = live.snapshot(record)
        fresh = LiveTrials(store)
        assert same(snap, fresh.snapshot(record))
        assert live.reported(record) == fresh.reported(record)
        return snap

    empty = check()
    assert len(empty.columns) == 0 and empty.counts()["complete"] == 0 and empty.top(3) == []
    for n in range(4):
        store.start_trial(eid, n, arch(n), seed=n)
    first = check()
    assert first.columns.status == ("running",) * 4 and first.version > empty.version
    assert check().version == first.version  # nothing changed: the same snapshot
    store.report(eid, 1, 1, {"acc": 0.25})
    store.report(eid, 1, 2, {"acc": 0.5})
    store.finish_trial(eid, 1, TrialStatus.PRUNED, {})
    store.finish_trial(eid, 0, TrialStatus.COMPLETE, {"acc": 2.0, "params": 3.0}, [2.0, -3.0])
    store.finish_trial(eid, 3, TrialStatus.COMPLETE, {"acc": 2.0, "params": 1.0}, [2.0, -1.0])
    snap = check()
    assert live.reported(record) == {1: 0.5}
    assert snap.top(5) == [0, 3] and snap.top(1) == [0]  # equal scores: the lower number first
    assert snap.columns.values == ((2.0, None, None, 2.0), (3.0, None, None, 1.0))
    store.mark_interrupted(eid, [2])
    store.start_trial(eid, 4, arch(4), seed=4)
    store.finish_trial(eid, 4, TrialStatus.COMPLETE, {"acc": 5.0, "params": 9.0}, [5.0, -9.0])
    snap = check()
    assert snap.counts() == {
        "running": 0,
        "complete": 3,
        "pruned": 1,
        "failed": 0,
        "interrupted": 1,
    }
    store.finish_trial(eid, 2, TrialStatus.FAILED, {}, error="given up")  # a settled trial
    snap = check()
    assert snap.columns.status[2] == "failed" and snap.top(3) == [4, 0, 3]
    store.start_trial(eid, 9, arch(9), seed=9)
    check()
    store.start_trial(eid, 7, arch(7), seed=7)  # a lower number stored later (another driver)
    store.finish_trial(eid, 7, TrialStatus.COMPLETE, {"acc": 6.0, "params": 1.0}, [6.0, -1.0])
    snap = check()
    assert snap.columns.number == (0, 1, 2, 3, 4, 7, 9) and snap.top(1) == [7]


def test_what_is_derived_is_computed_again_only_after_a_change(tmp_path: Path) -> None:
    store = Storage(tmp_path / "live.db")
    record = store.create_experiment("e", 0, {"acc": "max"}, {})
    live = LiveTrials(store)
    calls = []

    def count(snap: Snapshot) -> int:
        calls.append(snap.version)
        return len(snap.columns)

    assert live.derived(record, "n", count) == 0
    assert live.derived(record, "n", count) == 0 and len(calls) == 1
    store.start_trial(record.id, 0, arch(0), seed=0)
    assert live.derived(record, "n", count) == 1 and len(calls) == 2
    store.heartbeat(record.id, [0])
    assert live.derived(record, "n", count) == 1 and len(calls) == 2
