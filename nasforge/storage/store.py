"""``Storage``: experiments and trials in any SQLAlchemy database (a SQLite file by default)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from nasforge.errors import StorageError
from nasforge.space import Arch
from nasforge.storage._artifacts import ArtifactStore
from nasforge.storage._queries import TrialQueries
from nasforge.storage._rows import (
    clean,
    experiment_record,
    first_line,
    make_engine,
    now,
    sqlite_path,
    trial_record,
    trial_row,
    trial_row_id,
)
from nasforge.storage.models import (
    SCHEMA_VERSION,
    Base,
    ExperimentRow,
    IntermediateRow,
    MetaRow,
    TrialRow,
)
from nasforge.storage.records import ExperimentRecord
from nasforge.trial import Trial, TrialStatus

DEFAULT_STORAGE = "sqlite:///nasforge.db"
T = TypeVar("T")


def normalize_url(url: str | Path) -> str:
    """Accept a SQLAlchemy URL, or a plain file path meaning a SQLite file."""
    text = str(url)
    if "://" in text:
        return text
    return f"sqlite:///{text}"


class Storage(ArtifactStore, TrialQueries):
    """Reads and writes experiments, trials and intermediate values.

    ``url`` is any SQLAlchemy URL (``sqlite:///runs.db``, ``postgresql+psycopg://...``) or a
    file path (a SQLite file); ``create=False`` refuses to create a missing SQLite file. SQLite
    runs in WAL mode with a busy timeout, so readers such as
    ``nasforge trials`` never block a running search; writes retry briefly when locked.
    ``read_only=True`` opens an existing store without writing anything (not even the schema
    check): what a dashboard or a report beside a running search should use.
    A store of an older schema is refused with a message naming ``nasforge storage upgrade``
    unless ``upgrade=True``, which upgrades it in place; a newer one is always refused.

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
            self.engine: Engine = make_engine(self.url)
            version = self._stored_version()
            self._check_version(version, upgrade and not read_only)  # before anything is written
            if not read_only:
                Base.metadata.create_all(self.engine)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise StorageError(f"cannot open storage {self.url!r}: {first_line(exc)}") from None
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.upgraded_from: int | None = None
        if not read_only:
            self._stamp_or_upgrade()

    def __repr__(self) -> str:
        return f"Storage({self.url!r})"

    # ---- plumbing -----------------------------------------------------------------------------

    def _write(self, fn: Callable[[Session], T], attempts: int = 20) -> T:
        """Run ``fn`` in a transaction, retrying while another writer holds the lock."""
        if self.read_only:
            raise StorageError(f"storage {self.url!r} was opened read-only")
        for attempt in range(attempts):
            try:
                with self._session.begin() as session:
                    return fn(session)
            except OperationalError as exc:
                if "locked" not in str(exc).lower() or attempt == attempts - 1:
                    raise StorageError(f"storage {self.url!r}: {first_line(exc)}") from None
                time.sleep(min(0.05 * 2**attempt, 2.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, fn: Callable[[Session], T]) -> T:
        with self._session() as session:
            return fn(session)

    def _stored_version(self) -> int | None:
        """The schema version the store records; ``None`` when it has no nasforge tables yet."""
        from sqlalchemy import inspect

        if not inspect(self.engine).has_table(MetaRow.__tablename__):
            return None
        with self.engine.connect() as conn:
            value = conn.execute(
                select(MetaRow.value).where(MetaRow.key == "schema_version")
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def _check_version(self, version: int | None, upgrade: bool) -> None:
        """Refuse a store of a newer schema, an older one unless upgrading, and (read-only) a
        database that is not a nasforge store."""
        if version is None:
            if self.read_only:
                raise StorageError(f"{self.url!r} is not a nasforge store (no schema version)")
            return
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"storage {self.url!r} has schema version {version}, written by a newer "
                f"nasforge; this one reads version {SCHEMA_VERSION}: upgrade nasforge"
            )
        if version < SCHEMA_VERSION and not upgrade:
            raise StorageError(
                f"storage {self.url!r} has schema version {version}, this nasforge uses "
                f"{SCHEMA_VERSION}; back it up, then run: nasforge storage upgrade "
                f"--storage {self.url}"
            )

    def _stamp_or_upgrade(self) -> None:
        """Record the schema version in a new store, or run the upgrade steps on an old one
        (``_check_version`` allowed it)."""
        from nasforge.storage.migrate import STEPS

        def stamp(session: Session) -> None:
            row = session.get(MetaRow, "schema_version")
            if row is None:
                session.add(MetaRow(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            version = int(row.value)
            for step in range(version, SCHEMA_VERSION):
                STEPS[step](session.connection())
            if version < SCHEMA_VERSION:
                row.value = str(SCHEMA_VERSION)
                self.upgraded_from = version

        self._write(stamp)

    # ---- experiments --------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        seed: int,
        objectives: Mapping[str, str],
        spec: Mapping[str, Any],
        versions: Mapping[str, str] | None = None,
    ) -> ExperimentRecord:
        def create(session: Session) -> ExperimentRecord:
            if session.scalar(select(ExperimentRow).where(ExperimentRow.name == name)):
                raise StorageError(f"experiment {name!r} already exists in {self.url!r}")
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

        return self._write(create)

    def find_experiment(self, name: str) -> ExperimentRecord | None:
        def find(session: Session) -> ExperimentRecord | None:
            row = session.scalar(select(ExperimentRow).where(ExperimentRow.name == name))
            return experiment_record(row) if row else None

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

        return self._write(start)

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

        def load(session: Session) -> list[Trial]:
            query = select(TrialRow).where(TrialRow.experiment_id == experiment_id)
            if intermediate:
                query = query.options(selectinload(TrialRow.intermediate))
            rows = session.scalars(query.order_by(TrialRow.number)).all()
            return [trial_record(r, intermediate) for r in rows]

        return self._read(load)
