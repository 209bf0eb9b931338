"""``Storage``: experiments and trials in any SQLAlchemy database (a SQLite file by default)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from nasforge.errors import NasforgeError, NasforgeWarning, StorageError
from nasforge.space import Arch
from nasforge.storage._artifacts import ArtifactStore
from nasforge.storage._engine import make_engine, normalize_url, set_wal, sqlite_path
from nasforge.storage._open import open_store
from nasforge.storage._queries import TrialQueries
from nasforge.storage._rows import (
    clean,
    experiment_record,
    failure,
    first_difference,
    first_line,
    left_out,
    load_trials,
    now,
    problem,
    trial_row,
    trial_row_id,
)
from nasforge.storage.models import ExperimentRow, IntermediateRow, TrialRow
from nasforge.storage.records import ExperimentRecord
from nasforge.trial import Trial, TrialStatus

DEFAULT_STORAGE = "sqlite:///nasforge.db"
T = TypeVar("T")


class _ConflictError(StorageError):
    """A write broke a unique constraint: another process wrote the same thing first."""


def _reraise_stop(exc: BaseException) -> None:
    """Raise the Ctrl-C (or SIGTERM, which ``nasforge search`` turns into one) that ``exc``
    happened while handling, if any: a stop that lands inside a commit can make SQLAlchemy's
    clean-up fail (``This transaction is closed``), and the stop, not that failure, is what
    the search must see, so that it records its interrupted trial and exits 130."""
    seen = exc.__context__
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            raise seen
        seen = seen.__context__


class Storage(ArtifactStore, TrialQueries):
    """Reads and writes experiments, trials and intermediate values.

    ``url`` is any SQLAlchemy URL (``sqlite:///runs.db``, ``postgresql+psycopg://...``) or a
    file path (a SQLite file; an empty URL is refused); ``create=False`` refuses to create a
    missing SQLite file. A SQLite file the store writes runs in WAL mode with a busy timeout,
    so readers such as ``nasforge trials`` never block a running search; writes retry briefly
    when locked. ``read_only=True`` opens an existing store without writing anything (not
    even the schema check or the journal mode: a SQLite file stays byte for byte as it was):
    what a dashboard or a report beside a running search should use.

    A database holding other tables (another program's) is refused before anything is
    written, as is a damaged store. A store of an older schema is refused with a message
    naming ``nasforge storage upgrade`` unless ``upgrade=True``, which upgrades it in place; a
    newer one is always refused. A trial row that cannot be read (damaged) is left out of
    :meth:`trials` with a :class:`~nasforge.errors.NasforgeWarning` naming it.

    Example:
        >>> store = Storage("sqlite:///:memory:")
        >>> store.list_experiments()
        []
    """

    def __init__(
        self,
        url: str | Path = DEFAULT_STORAGE,
        create: bool = True,
        upgrade: bool = False,
        read_only: bool = False,
    ) -> None:
        self.url = normalize_url(url)
        self.read_only = read_only
        path = sqlite_path(self.url)
        if (not create or read_only) and path and not Path(path).expanduser().exists():
            raise StorageError(f"no store at {self.url!r}: the file {path!r} does not exist")
        try:
            self.engine: Engine = make_engine(self.url, read_only=read_only)
            #: the schema version this open upgraded the store from (``None``: no upgrade)
            self.upgraded_from = open_store(self.engine, self.url, read_only, upgrade)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise self._failed(exc, "cannot open storage") from None
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._wal = read_only  # switched to WAL before the first write (a read changes nothing)

    def __repr__(self) -> str:
        return f"Storage({self.url!r})"

    def close(self) -> None:
        """Close the store's connections (it opens new ones if used again); a SQLite file
        no other process has open is then left without its ``-wal`` and ``-shm`` files."""
        self.engine.dispose()

    # ---- plumbing -----------------------------------------------------------------------------

    def _write(self, fn: Callable[[Session], T], attempts: int = 20) -> T:
        """Run ``fn`` in a transaction, retrying while another writer holds the lock."""
        if self.read_only:
            raise StorageError(f"storage {self.url!r} was opened read-only")
        for attempt in range(attempts):
            try:
                if not self._wal:
                    set_wal(self.engine)  # a file this store writes: readers never block it
                    self._wal = True
                with self._session.begin() as session:
                    return fn(session)
            except IntegrityError as exc:
                _reraise_stop(exc)
                raise _ConflictError(f"storage {self.url!r}: {first_line(exc)}") from None
            except OperationalError as exc:
                _reraise_stop(exc)
                if "locked" not in str(exc).lower() or attempt == attempts - 1:
                    raise self._failed(exc) from None
                time.sleep(min(0.05 * 2**attempt, 2.0))
            except SQLAlchemyError as exc:
                _reraise_stop(exc)
                raise self._failed(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a session; a damaged store or row is a one-line ``StorageError``."""
        try:
            with self._session() as session:
                return fn(session)
        except NasforgeError:
            raise
        except (SQLAlchemyError, ValueError, TypeError, KeyError) as exc:
            _reraise_stop(exc)
            raise self._failed(exc) from None

    def _failed(self, exc: BaseException, what: str = "storage") -> StorageError:
        return failure(self.url, exc, what)

    # ---- experiments --------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        seed: int,
        objectives: Mapping[str, str],
        spec: Mapping[str, Any],
        versions: Mapping[str, str] | None = None,
    ) -> ExperimentRecord:
        """Store a new experiment. One of this name made with the same seed, objectives and
        spec (by another process an instant earlier, say) is returned as it is; one made with
        other settings is refused, naming the first that differs."""

        def create(session: Session) -> ExperimentRecord | None:
            if session.scalar(select(ExperimentRow.id).where(ExperimentRow.name == name)):
                return None
            row = ExperimentRow(
                name=name,
                created_at=now(),
                seed=seed,
                objectives=dict(objectives),
                spec=dict(spec),
                versions=dict(versions or {}),
            )
            session.add(row)
            session.flush()
            return experiment_record(row)

        try:
            made = self._write(create)
        except _ConflictError:  # created by another process between the check and the insert
            made = None
        if made is not None:
            return made
        record = self.get_experiment(name)
        difference = first_difference(record, seed, objectives, spec)
        if difference is not None:
            key, stored, this = difference
            raise StorageError(
                f"experiment {name!r} already exists in {self.url!r}, started with "
                f"{key}={stored!r}, not {this!r}; use the same settings to resume it, or "
                "another name"
            )
        return record

    def find_experiment(self, name: str) -> ExperimentRecord | None:
        def find(session: Session) -> ExperimentRecord | None:
            try:
                row = session.scalar(select(ExperimentRow).where(ExperimentRow.name == name))
                return experiment_record(row) if row else None
            except (ValueError, TypeError, KeyError) as exc:
                raise StorageError(
                    f"storage {self.url!r}: experiment {name!r} cannot be read: {problem(exc)}; "
                    "the store is damaged: restore it from a backup"
                ) from None

        return self._read(find)

    def get_experiment(self, name: str) -> ExperimentRecord:
        """The experiment called ``name``; the error lists the experiments that exist."""
        record = self.find_experiment(name)
        if record is None:
            names = [e.name for e in self.list_experiments()]
            known = ", ".join(repr(n) for n in names) if names else "none"
            raise StorageError(f"no experiment {name!r} in {self.url!r}; experiments: {known}")
        return record

    def list_experiments(self) -> list[ExperimentRecord]:
        def list_(session: Session) -> list[ExperimentRecord]:
            rows = session.scalars(select(ExperimentRow).order_by(ExperimentRow.id))
            return [experiment_record(r) for r in rows]

        return self._read(list_)

    # ---- trials -------------------------------------------------------------------------------
    # A trial is addressed by its experiment and its number (what users see and the CLI takes);
    # row ids stay inside the store.

    def start_trial(
        self,
        experiment_id: int,
        number: int,
        arch: Arch,
        seed: int,
        ask_seq: int | None = None,
        retry_of: int | None = None,
        worker: str | None = None,
    ) -> int:
        """Store a new ``running`` trial; returns its ``number``."""

        def start(session: Session) -> int:
            row = TrialRow(
                experiment_id=experiment_id,
                number=number,
                arch_key=arch.key,
                arch=arch.to_dict(),
                status=TrialStatus.RUNNING.value,
                seed=seed,
                metrics={},
                started_at=now(),
                worker=worker,
                retry_of=retry_of,
                ask_seq=ask_seq,
            )
            session.add(row)
            session.flush()
            return number

        try:
            return self._write(start)
        except _ConflictError as exc:  # another driver of the experiment took the number first
            raise self._number_taken(experiment_id, number, exc) from None

    def _number_taken(self, experiment_id: int, number: int, exc: StorageError) -> StorageError:
        """The refusal a driver gets when another one stored trial ``number`` first."""

        def holder(session: Session) -> tuple[str | None, Any]:
            name = session.scalar(
                select(ExperimentRow.name).where(ExperimentRow.id == experiment_id)
            )
            row = session.execute(
                select(TrialRow.worker).where(
                    TrialRow.experiment_id == experiment_id, TrialRow.number == number
                )
            ).first()
            return name, row

        name, row = self._read(holder)
        if row is None:
            return exc
        return StorageError(
            f"experiment {name!r} is being run by {row[0] or 'another process'} (it started "
            f"trial {number} at the same moment as this process); stop that process, then "
            "run again"
        )

    def report(
        self, experiment_id: int, number: int, step: int, metrics: Mapping[str, float]
    ) -> None:
        """Store an intermediate result; a repeated step replaces the earlier one."""

        def report_(session: Session) -> None:
            row_id = trial_row_id(session, experiment_id, number)
            row = session.scalar(
                select(IntermediateRow).where(
                    IntermediateRow.trial_id == row_id, IntermediateRow.step == step
                )
            )
            if row is None:
                session.add(IntermediateRow(trial_id=row_id, step=step, metrics=clean(metrics)))
            else:
                row.metrics = clean(metrics)

        self._write(report_)

    def finish_trial(
        self,
        experiment_id: int,
        number: int,
        status: TrialStatus,
        metrics: Mapping[str, float] | None = None,
        scores: Sequence[float] | None = None,
        error: str | None = None,
        tell_seq: int | None = None,
        worker: str | None = None,
    ) -> None:
        """Store how a trial ended (``worker``: where it ran, if not its driver)."""

        def finish(session: Session) -> None:
            row = trial_row(session, experiment_id, number)
            row.status = status.value
            row.metrics = clean(metrics or {})
            row.scores = list(scores) if scores is not None else None
            row.error = error
            row.tell_seq = tell_seq
            if worker is not None:
                row.worker = worker
            row.finished_at = now()
            if row.started_at is not None:
                row.duration_s = (row.finished_at - row.started_at).total_seconds()

        self._write(finish)

    def heartbeat(self, experiment_id: int, numbers: Sequence[int]) -> None:
        """Note that the workers of these ``running`` trials are alive."""
        if not numbers:
            return

        def beat(session: Session) -> None:
            session.execute(
                update(TrialRow)
                .where(TrialRow.experiment_id == experiment_id)
                .where(TrialRow.number.in_(list(numbers)))
                .where(TrialRow.status == TrialStatus.RUNNING.value)
                .values(heartbeat_at=now())
            )

        self._write(beat)

    def mark_interrupted(
        self,
        experiment_id: int,
        numbers: Sequence[int] | None = None,
        reason: str = "the process running this trial stopped before it finished",
    ) -> list[int]:
        """Mark ``running`` trials of the experiment ``interrupted``; return their numbers.

        All of them by default; only those with these trial numbers when given.
        """

        def mark(session: Session) -> list[int]:
            query = select(TrialRow).where(
                TrialRow.experiment_id == experiment_id,
                TrialRow.status == TrialStatus.RUNNING.value,
            )
            if numbers is not None:
                query = query.where(TrialRow.number.in_(list(numbers)))
            rows = session.scalars(query.order_by(TrialRow.number)).all()
            for row in rows:
                row.status = TrialStatus.INTERRUPTED.value
                row.finished_at = now()
                row.error = reason
            return [r.number for r in rows]

        return self._write(mark)

    def running_trials(self, experiment_id: int) -> list[tuple[int, str | None, datetime | None]]:
        """``(number, worker, last heartbeat or start)`` of each ``running`` trial."""

        def load(session: Session) -> list[tuple[int, str | None, datetime | None]]:
            rows = session.execute(
                select(
                    TrialRow.number, TrialRow.worker, TrialRow.heartbeat_at, TrialRow.started_at
                ).where(
                    TrialRow.experiment_id == experiment_id,
                    TrialRow.status == TrialStatus.RUNNING.value,
                )
            ).all()
            return [(n, worker, beat or started) for n, worker, beat, started in rows]

        return self._read(load)

    def trials(self, experiment_id: int, intermediate: bool = True) -> list[Trial]:
        """Every trial of the experiment, by number."""

        trials, bad = self._read(lambda s: load_trials(s, experiment_id, intermediate))
        if bad:
            warnings.warn(self._unreadable(experiment_id, bad), NasforgeWarning, stacklevel=2)
        return trials

    def unreadable_trials(self, experiment_id: int) -> dict[int, str]:
        """The numbers of the experiment's trials whose rows cannot be read (a damaged
        store), each with what is wrong with it; ``{}`` for a sound experiment."""
        return self._read(lambda s: load_trials(s, experiment_id, True))[1]

    def _unreadable(self, experiment_id: int, bad: Mapping[int, str]) -> str:
        """One line naming the trials :meth:`trials` leaves out, and why the first one."""
        name = self._read(
            lambda s: s.scalar(select(ExperimentRow.name).where(ExperimentRow.id == experiment_id))
        )
        return f"storage {self.url!r}, experiment {name!r}: {left_out(bad)}"
