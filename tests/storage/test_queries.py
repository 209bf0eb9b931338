"""The view-sized reads (counts, the best, a page, one trial, what changed) on SQLite and
PostgreSQL, checked against what ``Storage.trials`` says of the same store."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch
from nasforge.storage import Storage
from nasforge.trial import TrialStatus

POSTGRES = os.environ.get("NASFORGE_TEST_POSTGRES")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not POSTGRES, reason="NASFORGE_TEST_POSTGRES is not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    url = POSTGRES if request.param == "postgresql" else f"sqlite:///{tmp_path / 'q.db'}"
    assert url is not None
    yield Storage(url)


def arch(i: int) -> Arch:
    return Arch({"op": f"op{i}"}, key=f"op=op{i}")


def new_experiment(store: Storage, objectives: dict[str, str] | None = None) -> int:
    name = f"q-{uuid.uuid4().hex[:10]}"
    return store.create_experiment(name, 0, objectives or {"acc": "max"}, {}).id


def fill(store: Storage, eid: int) -> None:
    """Trials 0-7: complete (acc 3, 5, 5, 1 by number 0, 2, 4, 6), pruned 1 and 5 (reports),
    failed 3, running 7 (one report)."""
    values = {0: 3.0, 2: 5.0, 4: 5.0, 6: 1.0}
    for n in range(8):
        store.start_trial(eid, n, arch(n), seed=n)
        if n in values:
            store.report(eid, n, 1, {"acc": values[n] / 2})
            store.finish_trial(
                eid, n, TrialStatus.COMPLETE, {"acc": values[n], "loss": -n}, [values[n]]
            )
        elif n in (1, 5):
            store.report(eid, n, 1, {"acc": 0.5 * n})
            store.report(eid, n, 2, {"acc": 0.7 * n, "loss": math.nan})
            store.finish_trial(eid, n, TrialStatus.PRUNED, {})
        elif n == 3:
            store.finish_trial(eid, n, TrialStatus.FAILED, {}, error="boom")
        else:
            store.report(eid, n, 1, {"acc": 9.0})


def test_counts_and_the_best_come_from_the_database(store: Storage) -> None:
    eid = new_experiment(store)
    fill(store, eid)
    stats = store.trial_stats(eid)
    assert stats.counts == {
        "running": 1,
        "complete": 4,
        "pruned": 2,
        "failed": 1,
        "interrupted": 0,
    }
    assert stats.n_trials == 8
    first = min(t.started_at for t in store.trials(eid) if t.started_at is not None)
    assert stats.first_started_at == first
    best = store.best_trials(eid, 3)
    assert [t.number for t in best] == [2, 4, 0]  # by score, ties by the lower number
    assert best[0].metrics["acc"] == 5.0 and best[0].intermediate == {}
    assert store.best_trials(eid, 1, intermediate=True)[0].intermediate == {1: {"acc": 2.5}}
    assert store.best_trials(new_experiment(store)) == []
    assert store.trial_number_range(eid) == (0, 7)
    assert store.first_started_at(eid) == first
    assert store.running_reports(eid)[0] == 1  # trial 7's one report


def test_one_trial_by_its_number(store: Storage) -> None:
    eid = new_experiment(store)
    fill(store, eid)
    every = {t.number: t for t in store.trials(eid)}
    for number in (1, 3, 7):
        assert store.trial(eid, number) == every[number]
    assert store.trial(eid, 8) is None
    assert store.trial(eid, 5, intermediate=False).intermediate == {}  # type: ignore[union-attr]


def test_a_page_of_trials_filtered_and_sorted(store: Storage) -> None:
    eid = new_experiment(store)
    fill(store, eid)
    page = store.trial_page(eid, sort="metric:acc", descending=True, limit=3)
    assert page.total == 8 and [t.number for t in page.trials] == [2, 4, 0]
    rest = store.trial_page(eid, sort="metric:acc", descending=True, offset=3, limit=10)
    assert [t.number for t in rest.trials] == [6, 1, 3, 5, 7]  # no value: last, by number
    up = store.trial_page(eid, sort="metric:acc", limit=10)
    assert [t.number for t in up.trials] == [6, 0, 2, 4, 1, 3, 5, 7]
    pruned = store.trial_page(eid, status=TrialStatus.PRUNED, sort="number", descending=True)
    assert pruned.total == 2 and [t.number for t in pruned.trials] == [5, 1]
    by_status = store.trial_page(eid, sort="status", limit=10)
    assert [t.status.value for t in by_status.trials] == sorted(
        t.status.value for t in store.trials(eid)
    )
    with_curves = store.trial_page(eid, offset=5, limit=1, intermediate=True)
    assert with_curves.trials == [store.trial(eid, 5)]
    with pytest.raises(ConfigError, match=r"sort: cannot sort trials by 'colour'; allowed: num"):
        store.trial_page(eid, sort="colour")


def test_the_last_report_and_the_recent_curves(store: Storage) -> None:
    eid = new_experiment(store)
    fill(store, eid)
    assert store.last_reported(eid, "acc", status=TrialStatus.PRUNED) == {1: 0.7, 5: 3.5}
    assert store.last_reported(eid, "acc", numbers=[0, 7]) == {0: 1.5, 7: 9.0}
    assert store.last_reported(eid, "loss") == {}  # NaN is stored as null: not a report
    every = {t.number: t for t in store.trials(eid)}
    assert store.trials_numbered(eid, [7, 0, 9, 7], intermediate=True) == [every[7], every[0]]
    assert store.trials_numbered(eid, [])[:1] == []


def test_changes_since_a_cursor(store: Storage) -> None:
    eid = new_experiment(store, {"acc": "max", "loss": "min"})
    fill(store, eid)
    first = store.trial_changes(eid, ["acc", "loss"])
    assert first.full and first.trials.number == tuple(range(8))
    assert first.trials.values[0][2:4] == (5.0, None) and first.trials.values[1][2] == -2.0
    assert first.trials.score[:4] == (3.0, None, 5.0, None)
    every = {t.number: t for t in store.trials(eid)}
    finished = every[2].finished_at
    assert finished is not None and first.trials.finished_s[7] is None
    epoch = (finished - datetime(1970, 1, 1)).total_seconds()
    assert first.trials.finished_s[2] == pytest.approx(epoch, abs=1e-3)
    still = store.trial_changes(eid, ["acc"], first.cursor)
    assert not still.full and still.trials.number == (7,)  # running: it may change
    store.finish_trial(eid, 7, TrialStatus.COMPLETE, {"acc": 9.0}, [9.0])
    store.start_trial(eid, 8, arch(8), seed=8)
    after = store.trial_changes(eid, ["acc"], still.cursor)
    assert not after.full and after.trials.number == (7, 8)
    assert after.trials.status == ("complete", "running") and after.trials.values == ((9.0, None),)
    store.finish_trial(eid, 8, TrialStatus.COMPLETE, {"acc": 1.0}, [1.0])
    done = store.trial_changes(eid, ["acc"], after.cursor)
    assert done.trials.number == (8,) and not done.full
    quiet = store.trial_changes(eid, ["acc"], done.cursor)
    assert not quiet.full and len(quiet.trials) == 0


def test_a_change_among_settled_trials_sends_everything_again(store: Storage) -> None:
    eid = new_experiment(store)
    store.start_trial(eid, 0, arch(0), seed=0)
    store.mark_interrupted(eid)
    store.start_trial(eid, 1, arch(1), seed=1)
    store.finish_trial(eid, 1, TrialStatus.COMPLETE, {"acc": 1.0}, [1.0])
    before = store.trial_changes(eid, ["acc"])
    store.finish_trial(eid, 0, TrialStatus.FAILED, {}, error="given up")  # as a resume does
    again = store.trial_changes(eid, ["acc"], before.cursor)
    assert again.full and again.trials.status == ("failed", "complete")
    with pytest.raises(ConfigError, match="since: 'x' is not a cursor"):
        store.trial_changes(eid, ["acc"], "x")


def test_the_revision_changes_when_a_trial_starts_reports_or_ends(store: Storage) -> None:
    eid = new_experiment(store)
    seen = [store.trial_stats(eid).revision]

    def changed() -> bool:
        now = store.trial_stats(eid).revision
        fresh = now != seen[-1]
        seen.append(now)
        return fresh

    store.start_trial(eid, 0, arch(0), seed=0)
    assert changed()
    store.report(eid, 0, 1, {"acc": 1.0})
    assert changed()
    assert not changed()  # nothing happened
    store.heartbeat(eid, [0])
    assert not changed()  # a heartbeat is not news
    store.finish_trial(eid, 0, TrialStatus.COMPLETE, {"acc": 2.0}, [2.0])
    assert changed()
