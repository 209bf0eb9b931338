"""Each experiment's trials, column by column, kept in the dashboard's memory and refreshed by
asking the store only what changed since the last request.

The counts, the ranking, the history and the Pareto front all come from these columns: a trial
that has ended never changes again, so after the first request a refresh reads the running
trials and the new ones (:meth:`~nasforge.storage.Storage.trial_changes`: a few index
lookups), and what is derived from the columns is computed again only when they changed.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, TypeVar

from nasforge.storage import ExperimentRecord, Storage
from nasforge.storage._queries import TrialColumns
from nasforge.trial import TrialStatus

T = TypeVar("T")
#: one trial: status, finished (s since 1970), primary score, objective values, last report
_Row = tuple[str, float | None, float | None, tuple[float | None, ...], float | None]


@dataclass(frozen=True)
class Snapshot:
    """The trials of one experiment as of one refresh; ``version`` changes when they do.

    ``reported`` is the last reported value of the first objective of each pruned trial (where
    it stopped).
    """

    version: int
    cursor: str
    columns: TrialColumns
    reported: dict[int, float]

    def counts(self) -> dict[str, int]:
        """Trials per status, every status listed (zeros included)."""
        found = Counter(self.columns.status)
        return {s.value: found.get(s.value, 0) for s in TrialStatus}

    def ranking(self) -> list[int]:
        """Numbers of the complete trials with a score, best first (ties: lower number)."""
        cols = self.columns
        scored = [
            (-score, n)
            for n, status, score in zip(cols.number, cols.status, cols.score, strict=True)
            if status == TrialStatus.COMPLETE.value and score is not None
        ]
        return [n for _, n in sorted(scored)]


@dataclass
class _Entry:
    objectives: list[str]
    cursor: str = ""
    rows: dict[int, _Row] = field(default_factory=dict)
    version: int = 0
    snapshot: Snapshot | None = None
    derived: dict[str, Any] = field(default_factory=dict)


class LiveTrials:
    """The trial columns of each experiment of ``store``, refreshed on every :meth:`snapshot`."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self._entries: dict[tuple[int, str], _Entry] = {}
        self._lock = threading.Lock()  # requests run in a thread pool: one refresh at a time

    def snapshot(self, record: ExperimentRecord) -> Snapshot:
        """The experiment's trials as stored now."""
        objectives = list(record.objectives)
        key = (record.id, record.name)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.objectives != objectives:
                entry = self._entries[key] = _Entry(objectives)
            self._refresh(record.id, entry)
            if entry.snapshot is None:
                entry.snapshot = _snapshot(entry)
            return entry.snapshot

    def derived(
        self,
        record: ExperimentRecord,
        name: str,
        make: Callable[[Snapshot], T],
        snapshot: Snapshot | None = None,
    ) -> T:
        """``make(snapshot)``, computed again only when the trials changed since last time
        (``snapshot``: one this request took already, else a fresh one)."""
        snap = snapshot or self.snapshot(record)
        with self._lock:
            entry = self._entries[(record.id, record.name)]
            cached = entry.derived.get(name)
            if cached is not None and cached[0] == snap.version:
                return cached[1]  # type: ignore[no-any-return]
        value = make(snap)
        with self._lock:
            entry.derived[name] = (snap.version, value)
        return value

    def _refresh(self, experiment_id: int, entry: _Entry) -> None:
        changes = self.store.trial_changes(experiment_id, entry.objectives, entry.cursor or None)
        cols = changes.trials
        if changes.full:  # every trial: no comparison, columns to rows at C speed
            per_trial = zip(*cols.values, strict=True) if cols.values else repeat(())
            fresh: dict[int, _Row] = dict(
                zip(
                    cols.number,
                    zip(cols.status, cols.finished_s, cols.score, per_trial, repeat(None)),
                    strict=False,  # the second is as long as the first
                )
            )
            pruned = [n for n, row in fresh.items() if row[0] == TrialStatus.PRUNED.value]
            self._apply(experiment_id, entry, fresh, pruned, changes.cursor, True, True)
            return
        rows, touched, pruned = entry.rows, False, []
        for i, number in enumerate(cols.number):
            values = tuple(v[i] for v in cols.values)
            row: _Row = (cols.status[i], cols.finished_s[i], cols.score[i], values, None)
            old = rows.get(number)
            if old is not None and old[:4] == row[:4]:
                continue
            rows[number] = row
            touched = True
            if row[0] == TrialStatus.PRUNED.value:
                pruned.append(number)
        self._apply(experiment_id, entry, rows, pruned, changes.cursor, touched, False)

    def _apply(
        self,
        experiment_id: int,
        entry: _Entry,
        rows: dict[int, _Row],
        pruned: list[int],
        cursor: str,
        touched: bool,
        full: bool,
    ) -> None:
        """Add the last reports of the ``pruned`` trials to ``rows`` and keep them."""
        if pruned:
            reported = self.store.last_reported(
                experiment_id,
                entry.objectives[0],
                status=TrialStatus.PRUNED,
                numbers=None if full else pruned,
            )
            for number in pruned:
                status, finished, score, values, _ = rows[number]
                rows[number] = (status, finished, score, values, reported.get(number))
        entry.rows, entry.cursor = rows, cursor
        if touched:
            entry.version += 1
            entry.snapshot = None
            entry.derived.clear()
        elif entry.snapshot is not None and entry.snapshot.cursor != entry.cursor:
            entry.snapshot = Snapshot(
                entry.version, entry.cursor, entry.snapshot.columns, entry.snapshot.reported
            )


def _snapshot(entry: _Entry) -> Snapshot:
    numbers = sorted(entry.rows)
    rows = [entry.rows[n] for n in numbers]
    width = len(entry.objectives)
    if rows:
        status, finished, score, values, last = zip(*rows, strict=True)
        per_objective = tuple(zip(*values, strict=True)) if width else ()
    else:
        status = finished = score = last = ()
        per_objective = ((),) * width
    columns = TrialColumns(tuple(numbers), status, finished, score, per_objective)
    reported = {n: v for n, v in zip(numbers, last, strict=True) if v is not None}
    return Snapshot(entry.version, entry.cursor, columns, reported)


__all__ = ["LiveTrials", "Snapshot"]
