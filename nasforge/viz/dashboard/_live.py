"""Each experiment's trials, column by column, kept in the dashboard's memory and refreshed by
asking the store only what changed since the last request.

The counts, the ranking, the history and the Pareto front all come from these columns: a trial
that has ended never changes again, so after the first request a refresh reads the running
trials and the new ones (:meth:`~nasforge.storage.Storage.trial_changes`: a few index
lookups), and what is derived from the columns is computed again only when they changed.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from nasforge.storage import ExperimentRecord, Storage
from nasforge.storage._queries import TrialColumns
from nasforge.trial import TrialStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    """The trials of one experiment as of one refresh; ``version`` changes when they do."""

    version: int
    cursor: str
    columns: TrialColumns

    def counts(self) -> dict[str, int]:
        """Trials per status, every status listed (zeros included)."""
        found = Counter(self.columns.status)
        return {s.value: found.get(s.value, 0) for s in TrialStatus}

    def top(self, k: int) -> list[int]:
        """Numbers of the ``k`` complete trials with the best scores, best first (ties: the
        lower number); a partial sort."""
        cols = self.columns
        complete = TrialStatus.COMPLETE.value
        scored = (
            (-score, n)
            for n, status, score in zip(cols.number, cols.status, cols.score, strict=True)
            if status == complete and score is not None
        )
        return [n for _, n in heapq.nsmallest(k, scored)]


@dataclass
class _Entry:
    """One experiment's trials as mutable columns, ``position`` mapping a number to its row."""

    objectives: list[str]
    cursor: str = ""
    number: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    finished_s: list[float | None] = field(default_factory=list)
    score: list[float | None] = field(default_factory=list)
    values: list[list[float | None]] = field(default_factory=list)
    reported: dict[int, float] = field(default_factory=dict)
    unreported: set[int] = field(default_factory=set)  # pruned, last report not read yet
    position: dict[int, int] = field(default_factory=dict)
    version: int = 0
    snapshot: Snapshot | None = None
    derived: dict[str, Any] = field(default_factory=dict)

    def load(self, cols: TrialColumns) -> None:
        """Every trial, as read (by number)."""
        self.number, self.status = list(cols.number), list(cols.status)
        self.finished_s, self.score = list(cols.finished_s), list(cols.score)
        self.values = [list(v) for v in cols.values] or [[] for _ in self.objectives]
        self.position = {n: i for i, n in enumerate(self.number)}
        self.reported, self.unreported = {}, set()

    def merge(self, cols: TrialColumns) -> list[int]:
        """Put in the trials of ``cols``; the numbers of those that changed."""
        changed = []
        for i, number in enumerate(cols.number):
            row = (cols.status[i], cols.finished_s[i], cols.score[i])
            values = [v[i] for v in cols.values]
            at = self.position.get(number)
            if at is None:
                if self.number and number < self.number[-1]:  # stored out of order: rare
                    at = bisect.bisect(self.number, number)
                    for column, item in zip(self._columns(), (number, *row), strict=True):
                        column.insert(at, item)
                    for column, value in zip(self.values, values, strict=True):
                        column.insert(at, value)
                    self.position = {n: k for k, n in enumerate(self.number)}
                else:
                    for column, item in zip(self._columns(), (number, *row), strict=True):
                        column.append(item)
                    for column, value in zip(self.values, values, strict=True):
                        column.append(value)
                    self.position[number] = len(self.number) - 1
            elif (self.status[at], self.finished_s[at], self.score[at]) == row and [
                v[at] for v in self.values
            ] == values:
                continue
            else:
                self.status[at], self.finished_s[at], self.score[at] = row
                for column, value in zip(self.values, values, strict=True):
                    column[at] = value
            changed.append(number)
        return changed

    def _columns(self) -> tuple[list[Any], ...]:
        return self.number, self.status, self.finished_s, self.score


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

    def reported(self, record: ExperimentRecord) -> dict[int, float]:
        """The last reported value of the first objective of each pruned trial (where it
        stopped), as of the last :meth:`snapshot`; read from the store the first time only."""
        with self._lock:
            entry = self._entries[(record.id, record.name)]
            if entry.unreported:
                many = len(entry.unreported) > 500  # then one pass over the pruned trials
                entry.reported.update(
                    self.store.last_reported(
                        record.id,
                        entry.objectives[0],
                        status=TrialStatus.PRUNED,
                        numbers=None if many else sorted(entry.unreported),
                    )
                )
                entry.unreported.clear()
            return dict(entry.reported)

    def _refresh(self, experiment_id: int, entry: _Entry) -> None:
        changes = self.store.trial_changes(experiment_id, entry.objectives, entry.cursor or None)
        if changes.full:
            entry.load(changes.trials)
            changed = entry.number
        else:
            changed = entry.merge(changes.trials)
        pruned = TrialStatus.PRUNED.value
        entry.unreported.update(n for n in changed if entry.status[entry.position[n]] == pruned)
        entry.cursor = changes.cursor
        if changes.full or changed:
            entry.version += 1
            entry.snapshot = None
            entry.derived.clear()
        elif entry.snapshot is not None and entry.snapshot.cursor != entry.cursor:
            entry.snapshot = replace(entry.snapshot, cursor=entry.cursor)


def _snapshot(entry: _Entry) -> Snapshot:
    columns = TrialColumns(
        tuple(entry.number),
        tuple(entry.status),
        tuple(entry.finished_s),
        tuple(entry.score),
        tuple(tuple(v) for v in entry.values),
    )
    return Snapshot(entry.version, entry.cursor, columns)


__all__ = ["LiveTrials", "Snapshot"]
