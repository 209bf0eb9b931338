"""Reads of what one view needs: counts and the best trials computed by the database, a page of
trials, one trial by its number, and the trials that changed since a cursor.

:meth:`Storage.trials` loads every trial with its curve; a dashboard polling a store of tens of
thousands of trials reads these instead, so a request costs what it shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Float, cast, func, select
from sqlalchemy.orm import Session, selectinload

from nasforge.errors import ConfigError
from nasforge.storage._rows import trial_record
from nasforge.storage.models import IntermediateRow, TrialRow
from nasforge.trial import Trial, TrialStatus

T = TypeVar("T")

#: columns a page of trials sorts by; ``"metric:NAME"`` sorts by a final metric
SORT_COLUMNS = ("number", "status", "duration_s", "started_at", "finished_at", "worker", "arch")
#: statuses a trial may still leave (an ``interrupted`` one may be given up as ``failed``)
_OPEN = (TrialStatus.RUNNING.value, TrialStatus.INTERRUPTED.value)
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class TrialStats:
    """Counts of an experiment's trials by status, computed by the database.

    ``revision`` changes whenever a trial starts, ends or (while running) reports a step;
    ``first_started_at`` is when the first stored trial started.
    """

    counts: dict[str, int]
    first_started_at: datetime | None
    revision: str

    @property
    def n_trials(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TrialPage:
    """One page of trials, and how many trials match the filter in all."""

    total: int
    trials: list[Trial]


@dataclass(frozen=True)
class TrialColumns:
    """Some trials column by column, by number (no object per trial: a view of 20,000 trials
    reads them in milliseconds): ``status`` as stored, when each finished in seconds since 1970
    (UTC), the primary ``score`` of a complete trial (larger is better) and ``values[k]``, the
    final value of the ``k``-th metric asked for (``None`` where missing or not finite); no arch
    and no curve."""

    number: tuple[int, ...]
    status: tuple[str, ...]
    finished_s: tuple[float | None, ...]
    score: tuple[float | None, ...]
    values: tuple[tuple[float | None, ...], ...]

    def __len__(self) -> int:
        return len(self.number)


@dataclass(frozen=True)
class TrialChanges:
    """The trials that may have changed since a cursor (all of them when ``full``) and the
    cursor to ask with next time."""

    full: bool
    trials: TrialColumns
    cursor: str


def _metric(name: str) -> ColumnElement[float]:
    return TrialRow.metrics[name].as_float()


def _score() -> ColumnElement[float]:
    """The primary score (the first of ``scores``; larger is better)."""
    return TrialRow.scores[0].as_float()


class TrialQueries:
    """The view-sized reads of :class:`~nasforge.storage.Storage` (which provides ``_read``)."""

    url: str

    def _read(self, fn: Callable[[Session], T]) -> T:
        raise NotImplementedError  # pragma: no cover - provided by Storage

    # ---- counts -------------------------------------------------------------------------------

    def trial_stats(self, experiment_id: int) -> TrialStats:
        """Counts by status (every status, zeros included), the first start and a revision."""

        def load(session: Session) -> TrialStats:
            where = TrialRow.experiment_id == experiment_id
            by_status = session.execute(
                select(TrialRow.status, func.count()).where(where).group_by(TrialRow.status)
            ).all()
            top_id = session.scalar(select(func.max(TrialRow.id)).where(where))
            first = session.scalar(
                select(TrialRow.started_at).where(where).order_by(TrialRow.id).limit(1)
            )
            # Only a running trial reports steps; any other change of a trial changes the
            # counts or, for a new trial, the largest id.
            reports = _running_reports(session, experiment_id)
            counts = {s.value: 0 for s in TrialStatus}
            counts.update({status: int(n) for status, n in by_status})
            token = f"{sorted(counts.items())}|{top_id}|{reports}"
            revision = hashlib.sha1(token.encode()).hexdigest()[:16]
            return TrialStats(counts, first, revision)

        return self._read(load)

    def first_started_at(self, experiment_id: int) -> datetime | None:
        """When the first stored trial of the experiment started."""
        query = (
            select(TrialRow.started_at)
            .where(TrialRow.experiment_id == experiment_id)
            .order_by(TrialRow.id)
            .limit(1)
        )
        return self._read(lambda session: session.scalar(query))

    # ---- trials -------------------------------------------------------------------------------

    def trial(self, experiment_id: int, number: int, intermediate: bool = True) -> Trial | None:
        """Trial ``number`` of the experiment (``None`` if it has none by that number)."""

        def load(session: Session) -> Trial | None:
            query = select(TrialRow).where(
                TrialRow.experiment_id == experiment_id, TrialRow.number == number
            )
            if intermediate:
                query = query.options(selectinload(TrialRow.intermediate))
            row = session.scalar(query)
            return None if row is None else trial_record(row, intermediate)

        return self._read(load)

    def trial_number_range(self, experiment_id: int) -> tuple[int, int] | None:
        """The lowest and highest trial number, ``None`` without trials."""

        def load(session: Session) -> tuple[int, int] | None:
            low, high = session.execute(
                select(func.min(TrialRow.number), func.max(TrialRow.number)).where(
                    TrialRow.experiment_id == experiment_id
                )
            ).one()
            return None if low is None else (int(low), int(high))

        return self._read(load)

    def best_trials(
        self, experiment_id: int, limit: int = 1, intermediate: bool = False
    ) -> list[Trial]:
        """Complete trials by their primary score, best first (ties: lower number)."""

        def load(session: Session) -> list[Trial]:
            ids = (
                select(TrialRow.id)
                .where(
                    TrialRow.experiment_id == experiment_id,
                    TrialRow.status == TrialStatus.COMPLETE.value,
                    _score().is_not(None),
                )
                .order_by(_score().desc(), TrialRow.number)
                .limit(limit)
            )
            return _rows_by_id(session, list(session.scalars(ids)), intermediate)

        return self._read(load)

    def trial_page(
        self,
        experiment_id: int,
        *,
        status: TrialStatus | None = None,
        sort: str = "number",
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
        intermediate: bool = False,
    ) -> TrialPage:
        """Trials ``offset`` to ``offset + limit`` of the experiment (of one ``status``), sorted
        by ``sort`` (one of :data:`SORT_COLUMNS` or ``"metric:NAME"``); missing values last,
        ties by number."""
        key = _sort_key(sort)

        def load(session: Session) -> TrialPage:
            where = [TrialRow.experiment_id == experiment_id]
            if status is not None:
                where.append(TrialRow.status == status.value)
            total = session.scalar(select(func.count()).select_from(TrialRow).where(*where))
            ids = (
                select(TrialRow.id)
                .where(*where)
                .order_by(key.is_(None), key.desc() if descending else key.asc(), TrialRow.number)
                .offset(offset)
                .limit(limit)
            )
            trials = _rows_by_id(session, list(session.scalars(ids)), intermediate)
            return TrialPage(int(total or 0), trials)

        return self._read(load)

    # ---- values and changes -------------------------------------------------------------------

    def trial_changes(
        self, experiment_id: int, metrics: Sequence[str], since: str | None = None
    ) -> TrialChanges:
        """Number, status, finishing time, primary score and final ``metrics`` (extracted by
        the database) of the trials that may have changed since the cursor ``since``, as
        columns; of every trial when ``since`` is ``None`` or no longer describes the store.

        The cursor marks the oldest trial then running: the trials stored before it had all
        ended and stay as they are, unless one of them has ended since (an ``interrupted`` one
        given up as ``failed``) or a trial appeared among them, which the counts in the cursor
        detect; the answer is then ``full``. Each part is an index lookup, so a poll of an
        unchanged store costs next to nothing however many trials it holds.
        """
        names = list(metrics)
        mark = _parse_cursor(since)

        def load(session: Session) -> TrialChanges:
            # the next cursor first: whatever changes after it is read is sent again next time
            cursor = _cursor(session, experiment_id)
            full = mark is None or _settled(session, experiment_id, mark[0]) != mark[1:]
            min_id = None if full or mark is None else mark[0]
            trials = _columns(session, experiment_id, names, min_id)
            return TrialChanges(full, trials, cursor)

        return self._read(load)

    def last_reported(
        self,
        experiment_id: int,
        metric: str,
        *,
        status: TrialStatus | None = None,
        numbers: Sequence[int] | None = None,
    ) -> dict[int, float]:
        """The last reported (finite) value of ``metric`` of each trial that reported one: of
        the trials of ``status`` and, if given, with these ``numbers``."""

        def load(session: Session) -> dict[int, float]:
            value = IntermediateRow.metrics[metric].as_float()
            query = (
                select(TrialRow.number, value)
                .join(TrialRow, IntermediateRow.trial_id == TrialRow.id)
                .where(value.is_not(None))
            )
            if numbers is not None or status is None:
                query = query.where(TrialRow.experiment_id == experiment_id)
            if numbers is not None:
                query = query.where(TrialRow.number.in_(list(numbers)))
                if status is not None:
                    query = query.where(TrialRow.status == status.value)
            elif status is not None:
                query = query.where(*_by_status(experiment_id, [status.value]))
            out: dict[int, float] = {}
            for number, v in session.connection().execute(query.order_by(IntermediateRow.step)):
                out[number] = float(v)  # by step: the last one stays
            return out

        return self._read(load)

    def trials_numbered(
        self, experiment_id: int, numbers: Sequence[int], intermediate: bool = False
    ) -> list[Trial]:
        """The experiment's trials with these numbers, in that order (those it lacks left out)."""

        def load(session: Session) -> list[Trial]:
            wanted = list(dict.fromkeys(numbers))
            if not wanted:
                return []
            query = select(TrialRow).where(
                TrialRow.experiment_id == experiment_id, TrialRow.number.in_(wanted)
            )
            if intermediate:
                query = query.options(selectinload(TrialRow.intermediate))
            rows = {row.number: row for row in session.scalars(query)}
            return [trial_record(rows[n], intermediate) for n in wanted if n in rows]

        return self._read(load)

    def running_reports(self, experiment_id: int) -> tuple[int, int | None]:
        """How many intermediate values the running trials hold, and the newest one's id: what
        changes when a running trial reports (found through the status index)."""

        return self._read(lambda session: _running_reports(session, experiment_id))


def _rows_by_id(session: Session, ids: list[int], intermediate: bool) -> list[Trial]:
    """The trials of these row ids, in that order (sorting ids, not whole rows, is cheap)."""
    if not ids:
        return []
    query = select(TrialRow).where(TrialRow.id.in_(ids))
    if intermediate:
        query = query.options(selectinload(TrialRow.intermediate))
    rows = {row.id: row for row in session.scalars(query)}
    return [trial_record(rows[i], intermediate) for i in ids]


def _by_status(experiment_id: int, statuses: Sequence[str]) -> list[ColumnElement[bool]]:
    """Trials of the experiment with one of ``statuses``, found through the status index:
    ``experiment_id + 0`` keeps a planner without statistics (SQLite) from scanning all the
    experiment's trials instead, for statuses that only a few trials have."""
    return [TrialRow.status.in_(list(statuses)), TrialRow.experiment_id + 0 == experiment_id]


def _running_reports(session: Session, experiment_id: int) -> tuple[int, int | None]:
    count, newest = session.execute(
        select(func.count(IntermediateRow.id), func.max(IntermediateRow.id))
        .join(TrialRow, IntermediateRow.trial_id == TrialRow.id)
        .where(*_by_status(experiment_id, [TrialStatus.RUNNING.value]))
    ).one()
    return int(count or 0), newest


def _cursor(session: Session, experiment_id: int) -> str:
    """``BOUNDARY-SETTLED-OPEN``: the id of the oldest running trial (past the newest trial if
    none runs), how many trials have a lower id, and how many of those have not ended."""
    boundary = session.scalar(
        select(func.min(TrialRow.id)).where(*_by_status(experiment_id, [TrialStatus.RUNNING.value]))
    )
    if boundary is None:
        top = session.scalar(
            select(func.max(TrialRow.id)).where(TrialRow.experiment_id == experiment_id)
        )
        boundary = (top or 0) + 1
    settled, still_open = _settled(session, experiment_id, boundary)
    return f"{boundary}-{settled}-{still_open}"


def _settled(session: Session, experiment_id: int, boundary: int) -> tuple[int, int]:
    """How many trials have an id below ``boundary``, and how many of those have not ended."""
    settled = session.scalar(
        select(func.count()).where(TrialRow.experiment_id == experiment_id, TrialRow.id < boundary)
    )
    still_open = session.scalar(
        select(func.count()).where(*_by_status(experiment_id, _OPEN), TrialRow.id < boundary)
    )
    return int(settled or 0), int(still_open or 0)


def _columns(
    session: Session, experiment_id: int, metrics: list[str], min_id: int | None
) -> TrialColumns:
    finished = _epoch_seconds(session, TrialRow.finished_at)
    extra = [_metric(m) for m in metrics]
    query = select(TrialRow.number, TrialRow.status, finished, _score(), *extra)
    query = query.where(TrialRow.experiment_id == experiment_id)
    if min_id is not None:
        query = query.where(TrialRow.id >= min_id)
    # through the Core connection: the ORM's handling of a plain select costs a third more
    rows = session.connection().execute(query.order_by(TrialRow.number)).all()
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) or [()] * (4 + len(extra))
    finished_s = columns[2]
    if isinstance(next((v for v in finished_s if v is not None), None), datetime):
        finished_s = tuple(_seconds(v) for v in finished_s)  # a database without a conversion
    return TrialColumns(columns[0], columns[1], finished_s, columns[3], tuple(columns[4:]))


def _epoch_seconds(session: Session, column: Any) -> Any:
    """``column`` (a naive UTC time) as seconds since 1970, computed by the database where it
    can (converting 20,000 datetimes in Python costs more than reading them)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), Float)
    return column


def _seconds(value: Any) -> float | None:
    return None if value is None else (value - _EPOCH).total_seconds()  # type: ignore[no-any-return]


def _sort_key(sort: str) -> ColumnElement[Any]:
    if sort.startswith("metric:") and len(sort) > len("metric:"):
        return _metric(sort[len("metric:") :])
    if sort in SORT_COLUMNS:
        column = TrialRow.arch_key if sort == "arch" else getattr(TrialRow, sort)
        return column.expression  # type: ignore[no-any-return]
    allowed = ", ".join([*SORT_COLUMNS, "metric:NAME"])
    raise ConfigError(f"sort: cannot sort trials by {sort!r}; allowed: {allowed}")


def _parse_cursor(since: str | None) -> tuple[int, int, int] | None:
    if since is None or since == "":
        return None
    parts = since.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"since: {since!r} is not a cursor this store gave (N-N-N)")
    boundary, settled, still_open = (int(p) for p in parts)
    return boundary, settled, still_open


__all__ = [
    "SORT_COLUMNS",
    "TrialChanges",
    "TrialColumns",
    "TrialPage",
    "TrialQueries",
    "TrialStats",
]
